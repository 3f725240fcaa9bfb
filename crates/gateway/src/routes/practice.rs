//! Practice mode: `POST /v1/questions/{id}/answer` and `GET /v1/me/progress`.

use axum::extract::State;
use livequiz_sdk::types::{AnswerRequest, AnswerResult, Progress};

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::practice::{self, NewAnswer};
use crate::store::{in_play, stats, StoreError};
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
    responses((status = 200, body = AnswerResult), (status = 404, body = livequiz_sdk::types::Problem),
              (status = 409, body = livequiz_sdk::types::Problem), (status = 422, body = livequiz_sdk::types::Problem)))]
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
    let key = practice::key(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("question {id} not found")))?;
    // The response shows the key: not while a live game plays the question (any gateway's).
    if in_play::session_playing(pool, id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "question {id} is in a live game that has not finished; practice answers show the \
             answer key, so they are refused until the game ends"
        )));
    }
    let all: Vec<i64> = key.choices.iter().map(|(cid, _)| *cid).collect();
    let correct_ids: Vec<i64> = key
        .choices
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(cid, _)| *cid)
        .collect();
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
        let attempt = practice::attempt(pool, aid, id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("attempt {aid} not found")))?;
        if attempt.user_id != user.id {
            return Err(ApiError::Forbidden(format!(
                "attempt {aid} belongs to another user"
            )));
        }
        if !attempt.holds_question {
            return Err(ApiError::field(
                "attempt_id",
                format!("question {id} is not part of this attempt's quiz"),
            ));
        }
    }
    let mut sorted_correct = correct_ids.clone();
    sorted_correct.sort_unstable();
    let correct = sorted == sorted_correct;

    let answer = NewAnswer {
        user_id: user.id,
        question_id: id,
        attempt_id: req.attempt_id,
        correct,
        time_ms: req.time_ms,
        choice_ids: &req.choice_ids,
    };
    let answer_id = match practice::record(pool, &answer).await {
        Err(StoreError::Conflict(_)) if req.attempt_id.is_some() => {
            return Err(ApiError::Conflict(format!(
                "question {id} was already answered in this attempt"
            )))
        }
        other => other?,
    };
    metrics::counter!("practice_answers_total", "correct" => correct.to_string()).increment(1);
    Ok(ApiJson(AnswerResult {
        answer_id,
        question_id: id,
        correct,
        correct_choice_ids: correct_ids,
        explanation: key.explanation,
    }))
}

/// The caller's progress (from the primary, so an answer just given is counted): practice
/// answers, and in `live` the live sessions played while logged in (finished sessions only:
/// standings are stored when a session ends).
#[utoipa::path(get, path = "/v1/me/progress", tag = "practice", security(("bearer" = [])),
    responses((status = 200, body = Progress), (status = 401, body = livequiz_sdk::types::Problem)))]
pub async fn progress(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<ApiJson<Progress>, ApiError> {
    let mut p = stats::progress(state.db.primary(), user.id).await?;
    p.live = Some(crate::store::live::records::progress(state.db.primary(), user.id).await?);
    Ok(ApiJson(p))
}
