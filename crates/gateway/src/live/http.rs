//! REST side of live sessions: create a session, read final standings.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sdk::live::{CreateSession, CreatedSession, Standing};

use super::service::{Account, CreateError, LiveService};

/// A problem+json error (same shape as the rest of the API).
#[derive(Debug)]
pub struct LiveHttpError {
    status: StatusCode,
    detail: String,
}

impl LiveHttpError {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        LiveHttpError { status, detail: detail.into() }
    }
}

impl IntoResponse for LiveHttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
        resp
    }
}

async fn caller(live: &LiveService, headers: &HeaderMap) -> Result<Account, LiveHttpError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| LiveHttpError::new(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    live.auth()
        .resolve(token.trim())
        .await
        .ok_or_else(|| LiveHttpError::new(StatusCode::UNAUTHORIZED, "invalid or expired token"))
}

/// `POST /v1/live/sessions`: an authenticated user hosts a quiz.
pub async fn create_session(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    body: Result<Json<CreateSession>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedSession>), LiveHttpError> {
    let host = caller(&live, &headers).await?;
    let Json(req) = body.map_err(|e| LiveHttpError::new(StatusCode::UNPROCESSABLE_ENTITY, e.body_text()))?;
    match live.create(&host, &req).await {
        Ok(created) => Ok((StatusCode::CREATED, Json(created))),
        Err(CreateError::Invalid(m)) => Err(LiveHttpError::new(StatusCode::UNPROCESSABLE_ENTITY, m)),
        Err(e @ CreateError::QuizNotFound(_)) => Err(LiveHttpError::new(StatusCode::NOT_FOUND, e.to_string())),
        Err(CreateError::Store(e)) => {
            tracing::error!(error = %e, "creating a live session failed");
            Err(LiveHttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

/// `GET /v1/live/sessions/{id}/standings`: stored final standings.
pub async fn standings(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Standing>>, LiveHttpError> {
    caller(&live, &headers).await?;
    live.store().standings(id).await.map(Json).map_err(|e| {
        tracing::error!(error = %e, "reading live standings failed");
        LiveHttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })
}
