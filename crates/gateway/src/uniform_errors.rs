//! One error format for every response: a middleware that turns any 4xx/5xx response that
//! is not JSON into `application/problem+json` with the same status.
//!
//! Handlers already answer with [`ApiError`]; what remains are responses the framework makes
//! itself: 405 Method Not Allowed (an empty body), rejections of axum's own extractors
//! (plain text, e.g. a non-numeric path parameter or a WebSocket request without an upgrade),
//! and whatever a future layer produces. A client then needs one error parser, and nothing
//! is ever sent as `text/plain` that a browser might sniff into something else.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use livequiz_sdk::types::Problem;

use crate::error::ApiError;

/// Longest framework error text kept as the problem's detail.
const MAX_DETAIL: usize = 1024;

/// Middleware: see the module docs.
pub async fn problem_json(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&resp) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, MAX_DETAIL).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let allow = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut out = problem_for(status, &method, &path, text, allow.as_deref());
    // Keep what the framework said besides the body (`Allow`, `Retry-After`, CORS, ...).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
                || (essence.len() > 5 && essence[essence.len() - 5..].eq_ignore_ascii_case("+json"))
        })
        .unwrap_or(false)
}

/// The problem response for a framework error of `status` whose body said `text`.
fn problem_for(
    status: StatusCode,
    method: &Method,
    path: &str,
    text: String,
    allow: Option<&str>,
) -> Response {
    let detail = |fallback: &str| {
        if text.is_empty() {
            fallback.to_string()
        } else {
            text.clone()
        }
    };
    let known = match status {
        StatusCode::BAD_REQUEST => Some(ApiError::BadRequest(detail("the request is malformed"))),
        StatusCode::NOT_FOUND => Some(ApiError::NotFound(format!("no route for {path}"))),
        StatusCode::PAYLOAD_TOO_LARGE => Some(ApiError::PayloadTooLarge(
            "the request body exceeds the size limit".into(),
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some(ApiError::UnsupportedMediaType(detail(
            "unsupported media type",
        ))),
        StatusCode::UNPROCESSABLE_ENTITY => Some(ApiError::Unprocessable(detail("invalid body"))),
        // Server-side text is never sent to clients.
        StatusCode::INTERNAL_SERVER_ERROR => Some(ApiError::Internal(anyhow::anyhow!(
            "framework error on {method} {path}: {text}"
        ))),
        _ => None,
    };
    if let Some(e) = known {
        return e.into_response();
    }
    let (kind, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed".to_string(),
            match allow {
                Some(a) => format!("{method} is not allowed on {path}; allowed: {a}"),
                None => format!("{method} is not allowed on {path}"),
            },
        ),
        s if s.is_server_error() => (
            format!("http-{}", s.as_u16()),
            "the server could not handle the request; retry later".to_string(),
        ),
        s => (
            format!("http-{}", s.as_u16()),
            detail(s.canonical_reason().unwrap_or("request failed")),
        ),
    };
    let problem = Problem {
        kind: format!("/problems/{kind}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors: vec![],
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}
