//! [`ApiError`]: the one error type of every handler, rendered as `application/problem+json`.
//!
//! One status mapping lives here. Server-side failures (database, search, Redis) are logged with
//! their detail and answered with a generic message, so internals never leak to clients. The
//! store's errors ([`crate::store::StoreError`]) map as: not found 404, conflict (a unique key
//! taken, a row still in use) 409, database unreachable 503, anything else 500; so callers can
//! tell "you sent something wrong" from "we failed".

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use livequiz_sdk::types::{FieldError, Problem};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Fields failed validation (422) - every bad field is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request could not be parsed (400): malformed JSON, bad query string, bad path.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body was parsed but does not fit the schema (422).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// Missing, invalid or expired credentials (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such resource (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// Duplicate or in-use resource (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request body exceeds the size limit (413).
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// Unsupported media type (415).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A dependency is down (503); the detail is logged, not sent.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The caller sent too many requests of this kind (429 with `Retry-After`); the message
    /// says which limit was hit.
    #[error("rate limited: {0}")]
    RateLimited(String, std::time::Duration),
    /// The server is at capacity for this kind of work (503 with `Retry-After`), e.g. every
    /// password-hashing slot and its short queue are taken. Nothing was done.
    #[error("overloaded: {0}")]
    Overloaded(String, std::time::Duration),
    /// A server-side failure (500); the detail is logged, not sent.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A validation error about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// How long the client should wait before trying again (`Retry-After`), for refusals that
    /// pass with time.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ApiError::RateLimited(_, d) | ApiError::Overloaded(_, d) => Some(*d),
            _ => None,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) | ApiError::Overloaded(..) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, title, detail, errors) = match self {
            ApiError::Validation(errs) => {
                let detail = errs
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                ("validation", "Invalid input", detail, errs.clone())
            }
            ApiError::BadRequest(d) => ("bad-request", "Bad request", d.clone(), vec![]),
            ApiError::Unprocessable(d) => ("invalid-body", "Invalid body", d.clone(), vec![]),
            ApiError::Unauthorized(d) => ("unauthorized", "Unauthorized", d.clone(), vec![]),
            ApiError::Forbidden(d) => ("forbidden", "Forbidden", d.clone(), vec![]),
            ApiError::NotFound(d) => ("not-found", "Not found", d.clone(), vec![]),
            ApiError::Conflict(d) => ("conflict", "Conflict", d.clone(), vec![]),
            ApiError::PayloadTooLarge(d) => ("too-large", "Payload too large", d.clone(), vec![]),
            ApiError::UnsupportedMediaType(d) => {
                ("media-type", "Unsupported media type", d.clone(), vec![])
            }
            ApiError::RateLimited(d, _) => ("rate-limited", "Too many requests", d.clone(), vec![]),
            ApiError::Overloaded(d, _) => ("overloaded", "Server busy", d.clone(), vec![]),
            ApiError::Unavailable(_) => (
                "unavailable",
                "Service unavailable",
                "a backing service is unavailable; retry later".to_string(),
                vec![],
            ),
            ApiError::Internal(_) => (
                "internal",
                "Internal server error",
                "the server failed to handle the request; it has been logged".to_string(),
                vec![],
            ),
        };
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(e) => tracing::error!(error = %format!("{e:#}"), "request failed"),
            ApiError::Unavailable(e) => tracing::warn!(error = %e, "dependency unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (
            self.status(),
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(after) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_value(after));
        }
        resp
    }
}

/// `Retry-After` in whole seconds, rounded up and at least 1 (the header has no fractions).
fn retry_after_value(d: std::time::Duration) -> axum::http::HeaderValue {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    axum::http::HeaderValue::from(secs.max(1))
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            StoreError::Unavailable(e) => ApiError::Unavailable(format!("database: {e}")),
            e @ (StoreError::Database(_) | StoreError::Unexpected(_)) => {
                ApiError::Internal(anyhow::Error::new(e))
            }
        }
    }
}

impl From<crate::search::SearchError> for ApiError {
    fn from(e: crate::search::SearchError) -> Self {
        if e.is_retryable() {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(anyhow::Error::new(e).context("search"))
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        ApiError::Unavailable(format!("redis: {e}"))
    }
}

/// Collects field errors and turns them into one [`ApiError::Validation`].
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Checks a text's length in characters and records a message if outside: at least `min`
    /// once trimmed (whitespace alone is no text), at most `max` as sent. Both are what the
    /// OpenAPI document states (`minLength` with a not-blank `pattern`, and `maxLength`,
    /// which counts the characters sent), so a value the schema accepts is accepted here.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let trimmed = value.trim().chars().count();
        let n = value.chars().count();
        if trimmed < min {
            if min == 1 {
                self.add(field, "must not be empty");
            } else {
                self.add(field, format!("must be at least {min} characters"));
            }
        } else if n > max {
            self.add(field, format!("must be at most {max} characters (got {n})"));
        }
    }

    /// `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Violations) -> Vec<String> {
        match v.finish() {
            Ok(()) => vec![],
            Err(ApiError::Validation(errs)) => errs.into_iter().map(|e| e.message).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    /// What the document states: not blank (at least `min` characters once trimmed) and at
    /// most `max` characters as sent, spaces included.
    #[test]
    fn text_is_not_blank_and_at_most_max_as_sent() {
        let check = |value: &str| {
            let mut v = Violations::new();
            v.text("t", value, 1, 5);
            fields(v)
        };
        assert!(check("abcde").is_empty());
        assert!(check(" abc ").is_empty());
        assert_eq!(check(" \u{3000}\t"), ["must not be empty"]);
        assert_eq!(check("abcd  "), ["must be at most 5 characters (got 6)"]);
    }
}
