//! Reports: `GET /v1/users/{id}/report` and `GET /v1/quizzes/{id}/report`, JSON or CSV
//! (`?format=csv`). Read from the replica: reports tolerate replication lag.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use livequiz_sdk::types::{QuizReport, ReportParams, UserReport};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::questions::KeyAccess;
use crate::store::stats::{self, csv_field};
use crate::store::{reports, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_report))
        .routes(routes!(quiz_report))
}

/// Answers listed in a user report.
const MAX_RECORDS: u32 = 1000;

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
              (status = 403, body = livequiz_sdk::types::Problem), (status = 404, body = livequiz_sdk::types::Problem)))]
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
    let subject = users::load(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))?;
    let progress = stats::progress(pool, id).await?;
    let report = UserReport {
        user: subject,
        progress,
        attempts: reports::attempt_count(pool, id).await?,
        answers: reports::latest_answers(pool, id, MAX_RECORDS).await?,
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
              (status = 403, body = livequiz_sdk::types::Problem), (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn quiz_report(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&p)?;
    user.require_author()?;
    let pool = state.db.replica();
    let (title, author) = reports::quiz_title(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("quiz {id} not found")))?;
    user.require_owner(author, "quiz")?;
    // The report is the quiz author's, but a quiz may hold other authors' questions, whose
    // keys stay theirs (see `KeyAccess`).
    let report = reports::quiz(pool, id, title, KeyAccess::of(&user)).await?;
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
