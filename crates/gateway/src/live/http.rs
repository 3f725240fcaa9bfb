//! REST side of live sessions: create a session, read final standings.
//! Errors are the gateway's [`ApiError`] problem documents.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use sdk::live::{CreateSession, CreatedSession, Standing};

use super::service::{Account, CreateError, LiveService};
use crate::error::ApiError;

async fn caller(live: &LiveService, headers: &HeaderMap) -> Result<Account, ApiError> {
    let token = crate::auth::bearer(headers)?;
    live.auth().resolve(token).await.ok_or_else(|| {
        ApiError::Unauthorized("the token is invalid or has expired; log in again".into())
    })
}

/// `POST /v1/live/sessions`: an authenticated user hosts a quiz.
pub async fn create_session(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    body: Result<Json<CreateSession>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedSession>), ApiError> {
    let host = caller(&live, &headers).await?;
    let Json(req) = body.map_err(|e| ApiError::Unprocessable(e.body_text()))?;
    match live.create(&host, &req).await {
        Ok(created) => Ok((StatusCode::CREATED, Json(created))),
        Err(CreateError::Invalid(m)) => Err(ApiError::Unprocessable(m)),
        Err(e @ CreateError::QuizNotFound(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(CreateError::Store(e)) => Err(ApiError::Internal(anyhow::anyhow!(e))),
        Err(CreateError::Cluster(e)) => Err(e.into()),
        Err(e @ CreateError::Checkpoint(_)) => Err(ApiError::Internal(anyhow::anyhow!(e))),
        // A running session ends within the lobby idle time or its lifetime.
        Err(e @ CreateError::TooManySessions(_)) => Err(ApiError::RateLimited(
            e.to_string(),
            std::time::Duration::from_secs(60),
        )),
        Err(e @ CreateError::NoFreeCode) => Err(ApiError::Overloaded(
            e.to_string(),
            std::time::Duration::from_secs(30),
        )),
    }
}

/// `GET /v1/live/sessions/{id}/standings`: stored final standings (any
/// logged-in user; empty until the session finishes).
pub async fn standings(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Standing>>, ApiError> {
    caller(&live, &headers).await?;
    live.store()
        .standings(id)
        .await
        .map(Json)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}
