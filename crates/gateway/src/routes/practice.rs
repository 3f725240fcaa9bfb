//! Practice mode: `POST /v1/questions/{id}/answer` and `GET /v1/me/progress`.

use axum::extract::State;
use sdk::types::{AnswerRequest, AnswerResult, Progress};
use sqlx::Row as _;

use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::{in_play, stats};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(answer))
        .routes(routes!(progress))
}

/// Longest accepted answer time (a day).
const MAX_TIME_MS: u64 = 86_400_000;

/// Answers a question: says whether it was right, which choices are correct and why, and
/// records the answer (with its selected choices, in one transaction). Within a quiz attempt
/// each question can be answered once (409 on a second answer). While a live session that is
/// not finished plays the question, answers are refused with 409: the response would give a
/// player the key before the reveal.
#[utoipa::path(post, path = "/v1/questions/{id}/answer", tag = "practice", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = AnswerRequest,
    responses((status = 200, body = AnswerResult), (status = 404, body = sdk::types::Problem),
              (status = 409, body = sdk::types::Problem), (status = 422, body = sdk::types::Problem)))]
pub async fn answer(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<ApiJson<AnswerResult>, ApiError> {
    let mut v = Violations::new();
    if req.choice_ids.is_empty() || req.choice_ids.len() > 6 {
        v.add("choice_ids", "select 1-6 choices");
    }
    let mut sorted = req.choice_ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != req.choice_ids.len() {
        v.add("choice_ids", "a choice is listed twice");
    }
    if req.time_ms.is_some_and(|t| t > MAX_TIME_MS) {
        v.add("time_ms", format!("must be at most {MAX_TIME_MS}"));
    }
    v.finish()?;
    let pool = state.db.primary();
    let q = sqlx::query("SELECT explanation FROM questions WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("question {id} not found")))?;
    let explanation: String = q.try_get("explanation")?;
    // The response shows the key: not while a live game plays the question (any gateway's).
    if in_play::session_playing(pool, id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "question {id} is in a live game that has not finished; practice answers show the \
             answer key, so they are refused until the game ends"
        )));
    }
    let rows = sqlx::query(
        "SELECT id, is_correct FROM choices WHERE question_id = ? ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut all = Vec::new();
    let mut correct_ids = Vec::new();
    for r in &rows {
        let cid: i64 = r.try_get("id")?;
        all.push(cid);
        if r.try_get::<i64, _>("is_correct")? != 0 {
            correct_ids.push(cid);
        }
    }
    let foreign: Vec<String> = req
        .choice_ids
        .iter()
        .filter(|c| !all.contains(c))
        .map(|c| c.to_string())
        .collect();
    if !foreign.is_empty() {
        return Err(ApiError::field(
            "choice_ids",
            format!("not choices of question {id}: {}", foreign.join(", ")),
        ));
    }
    if let Some(aid) = req.attempt_id {
        let row = sqlx::query(
            "SELECT a.user_id AS user_id, \
             (SELECT COUNT(*) FROM quiz_questions qq WHERE qq.quiz_id = a.quiz_id AND qq.question_id = ?) AS n \
             FROM quiz_attempts a WHERE a.id = ?",
        )
        .bind(id)
        .bind(aid)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("attempt {aid} not found")))?;
        if row.try_get::<i64, _>("user_id")? != user.id {
            return Err(ApiError::Forbidden(format!(
                "attempt {aid} belongs to another user"
            )));
        }
        if row.try_get::<i64, _>("n")? == 0 {
            return Err(ApiError::field(
                "attempt_id",
                format!("question {id} is not part of this attempt's quiz"),
            ));
        }
    }
    let mut sorted_correct = correct_ids.clone();
    sorted_correct.sort_unstable();
    let correct = sorted == sorted_correct;

    let mut tx = pool.begin().await?;
    let res = sqlx::query(
        "INSERT INTO practice_answers (user_id, question_id, attempt_id, correct, time_ms, answered_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(user.id)
    .bind(id)
    .bind(req.attempt_id)
    .bind(i64::from(correct))
    .bind(req.time_ms.map(|t| t as i64))
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict(_) if req.attempt_id.is_some() => {
            ApiError::Conflict(format!("question {id} was already answered in this attempt"))
        }
        other => other,
    })?;
    let answer_id = crate::db::inserted_id(&mut tx, &res).await?;
    for c in &req.choice_ids {
        sqlx::query("INSERT INTO answer_choices (answer_id, choice_id) VALUES (?, ?)")
            .bind(answer_id)
            .bind(c)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    metrics::counter!("practice_answers_total", "correct" => correct.to_string()).increment(1);
    Ok(ApiJson(AnswerResult {
        answer_id,
        question_id: id,
        correct,
        correct_choice_ids: correct_ids,
        explanation,
    }))
}

/// The caller's progress (from the primary, so an answer just given is counted): practice
/// answers, and in `live` the live sessions played while logged in (finished sessions only:
/// standings are stored when a session ends).
#[utoipa::path(get, path = "/v1/me/progress", tag = "practice", security(("bearer" = [])),
    responses((status = 200, body = Progress), (status = 401, body = sdk::types::Problem)))]
pub async fn progress(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<ApiJson<Progress>, ApiError> {
    let mut p = stats::progress(state.db.primary(), user.id).await?;
    p.live = Some(crate::live::store::records::progress(state.db.primary(), user.id).await?);
    Ok(ApiJson(p))
}
