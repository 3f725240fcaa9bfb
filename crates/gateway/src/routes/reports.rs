//! Reports: `GET /v1/users/{id}/report` and `GET /v1/quizzes/{id}/report`, JSON or CSV
//! (`?format=csv`). Read from the replica: reports tolerate replication lag.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sdk::types::{AnswerRecord, ChoiceStats, QuestionStats, QuizReport, ReportParams, UserReport};
use sqlx::Row as _;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::auth::load_user;
use crate::state::AppState;
use crate::store::questions::KeyAccess;
use crate::store::stats::{self, csv_field, ratio};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_report))
        .routes(routes!(quiz_report))
}

/// Answers listed in a user report.
const MAX_RECORDS: i64 = 1000;

fn wants_csv(p: &ReportParams) -> Result<bool, ApiError> {
    match p.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::field(
            "format",
            format!("must be `json` or `csv` (got {other:?})"),
        )),
    }
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A user's totals, per-topic accuracy, streaks and latest answers (the user or an admin).
#[utoipa::path(get, path = "/v1/users/{id}/report", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path), ReportParams),
    responses((status = 200, description = "JSON, or CSV with `?format=csv`", content((UserReport = "application/json"), (String = "text/csv"))),
              (status = 403, body = sdk::types::Problem), (status = 404, body = sdk::types::Problem)))]
pub async fn user_report(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&p)?;
    if user.id != id {
        user.require_admin()?;
    }
    let pool = state.db.replica();
    let subject = load_user(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))?;
    let progress = stats::progress(pool, id).await?;
    let attempts: i64 = sqlx::query("SELECT COUNT(*) AS n FROM quiz_attempts WHERE user_id = ?")
        .bind(id)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(
        "SELECT a.id AS id, a.question_id AS question_id, q.topic AS topic, a.attempt_id AS attempt_id, \
         a.correct AS correct, a.time_ms AS time_ms, a.answered_at AS answered_at \
         FROM practice_answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.user_id = ? ORDER BY a.id DESC LIMIT ?",
    )
    .bind(id)
    .bind(MAX_RECORDS)
    .fetch_all(pool)
    .await?;
    let mut answers = Vec::with_capacity(rows.len());
    for r in &rows {
        answers.push(AnswerRecord {
            answer_id: r.try_get("id")?,
            question_id: r.try_get("question_id")?,
            topic: r.try_get("topic")?,
            attempt_id: r.try_get("attempt_id")?,
            correct: r.try_get::<i64, _>("correct")? != 0,
            time_ms: r
                .try_get::<Option<i64>, _>("time_ms")?
                .map(|t| t.max(0) as u64),
            answered_at: r.try_get("answered_at")?,
        });
    }
    let report = UserReport {
        user: subject,
        progress,
        attempts: attempts as u64,
        answers,
    };
    if !csv {
        return Ok(ApiJson(report).into_response());
    }
    let mut out =
        String::from("answer_id,question_id,topic,attempt_id,correct,time_ms,answered_at\n");
    for a in &report.answers {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            a.answer_id,
            a.question_id,
            csv_field(&a.topic),
            a.attempt_id.map(|x| x.to_string()).unwrap_or_default(),
            a.correct,
            a.time_ms.map(|x| x.to_string()).unwrap_or_default(),
            a.answered_at
        ));
    }
    Ok(csv_response(&format!("user-{id}-report.csv"), out))
}

/// Attempts, accuracy and, per question, the answer distribution and mean time of a quiz
/// (its author or an admin). Correct flags of choices only for the caller's own questions
/// (admins: all).
#[utoipa::path(get, path = "/v1/quizzes/{id}/report", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path), ReportParams),
    responses((status = 200, description = "JSON, or CSV with `?format=csv`", content((QuizReport = "application/json"), (String = "text/csv"))),
              (status = 403, body = sdk::types::Problem), (status = 404, body = sdk::types::Problem)))]
pub async fn quiz_report(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&p)?;
    user.require_author()?;
    let pool = state.db.replica();
    let quiz = sqlx::query("SELECT title, author_id FROM quizzes WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("quiz {id} not found")))?;
    user.require_owner(quiz.try_get("author_id")?, "quiz")?;
    let att = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS p FROM quiz_attempts WHERE quiz_id = ?",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let items = sqlx::query(
        "SELECT qq.position AS position, qq.question_id AS question_id, q.text AS text, \
         q.author_id AS author_id FROM quiz_questions qq JOIN questions q ON q.id = qq.question_id \
         WHERE qq.quiz_id = ? ORDER BY qq.position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let answers = sqlx::query(
        "SELECT a.question_id AS question_id, a.correct AS correct, a.time_ms AS time_ms \
         FROM practice_answers a JOIN quiz_attempts t ON t.id = a.attempt_id WHERE t.quiz_id = ?",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let choices = sqlx::query(
        "SELECT c.id AS id, c.question_id AS question_id, c.text AS text, c.is_correct AS is_correct \
         FROM choices c JOIN quiz_questions qq ON qq.question_id = c.question_id \
         WHERE qq.quiz_id = ? ORDER BY c.question_id, c.position, c.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let selected = sqlx::query(
        "SELECT ac.choice_id AS choice_id, COUNT(*) AS n FROM answer_choices ac \
         JOIN practice_answers a ON a.id = ac.answer_id JOIN quiz_attempts t ON t.id = a.attempt_id \
         WHERE t.quiz_id = ? GROUP BY ac.choice_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;

    // question id -> (answers, correct, time sum, timed answers)
    let mut agg: HashMap<i64, (u64, u64, i64, u64)> = HashMap::new();
    for r in &answers {
        let e = agg.entry(r.try_get("question_id")?).or_default();
        e.0 += 1;
        if r.try_get::<i64, _>("correct")? != 0 {
            e.1 += 1;
        }
        if let Some(t) = r.try_get::<Option<i64>, _>("time_ms")? {
            e.2 = e.2.saturating_add(t);
            e.3 += 1;
        }
    }
    let mut picks: HashMap<i64, u64> = HashMap::new();
    for r in &selected {
        picks.insert(r.try_get("choice_id")?, r.try_get::<i64, _>("n")? as u64);
    }
    // The report is the quiz author's, but a quiz may hold other authors' questions, whose
    // keys stay theirs (see `KeyAccess`).
    let keys = KeyAccess::of(&user);
    let mut shown: HashMap<i64, bool> = HashMap::new();
    for r in &items {
        shown.insert(
            r.try_get("question_id")?,
            keys.reveals(r.try_get("author_id")?),
        );
    }
    let mut by_q: HashMap<i64, Vec<ChoiceStats>> = HashMap::new();
    for r in &choices {
        let qid: i64 = r.try_get("question_id")?;
        let reveal = shown.get(&qid).copied().unwrap_or(false);
        let cid: i64 = r.try_get("id")?;
        by_q.entry(qid).or_default().push(ChoiceStats {
            choice_id: cid,
            text: r.try_get("text")?,
            correct: reveal.then_some(r.try_get::<i64, _>("is_correct")? != 0),
            selected: picks.get(&cid).copied().unwrap_or(0),
        });
    }
    let mut questions = Vec::with_capacity(items.len());
    let (mut total, mut total_ok) = (0u64, 0u64);
    for r in &items {
        let qid: i64 = r.try_get("question_id")?;
        let (n, ok, tsum, timed) = agg.get(&qid).copied().unwrap_or_default();
        total += n;
        total_ok += ok;
        questions.push(QuestionStats {
            position: r.try_get::<i64, _>("position")? as u32,
            question_id: qid,
            text: r.try_get("text")?,
            answers: n,
            correct: ok,
            accuracy: ratio(ok, n),
            mean_time_ms: (timed > 0).then(|| tsum as f64 / timed as f64),
            choices: by_q.remove(&qid).unwrap_or_default(),
        });
    }
    let report = QuizReport {
        quiz_id: id,
        title: quiz.try_get("title")?,
        attempts: att.try_get::<i64, _>("n")? as u64,
        players: att.try_get::<i64, _>("p")? as u64,
        answers: total,
        correct: total_ok,
        accuracy: ratio(total_ok, total),
        questions,
    };
    if !csv {
        return Ok(ApiJson(report).into_response());
    }
    let mut out = String::from(
        "position,question_id,question,answers,correct,accuracy,mean_time_ms,choice_id,choice,choice_correct,selected\n",
    );
    for q in &report.questions {
        for c in &q.choices {
            out.push_str(&format!(
                "{},{},{},{},{},{:.4},{},{},{},{},{}\n",
                q.position,
                q.question_id,
                csv_field(&q.text),
                q.answers,
                q.correct,
                q.accuracy,
                q.mean_time_ms
                    .map(|m| format!("{m:.1}"))
                    .unwrap_or_default(),
                c.choice_id,
                csv_field(&c.text),
                c.correct.map(|b| b.to_string()).unwrap_or_default(),
                c.selected
            ));
        }
    }
    Ok(csv_response(&format!("quiz-{id}-report.csv"), out))
}
