//! `/openapi.json` and a self-contained `/docs` page (no CDN, no build-time downloads).
//!
//! The page has no inline style or script: its stylesheet is served at `/docs.css`, so the
//! gateway's Content-Security-Policy (`style-src 'self'`, see [`crate::browser`]) needs no
//! `unsafe-inline` exception that injected markup could use.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .route("/docs.css", get(docs_css))
}

/// The stylesheet of `/docs`.
const DOCS_CSS: &str =
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}\n\
code{background:#f3f3f3;padding:0 .3em}\n\
.m{display:inline-block;width:4.5em;font-weight:bold}\n\
li{margin:.3em 0}\n";

async fn docs_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        DOCS_CSS,
    )
}

async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}

/// Renders the operations of the OpenAPI document as a plain HTML page, with the raw JSON linked.
async fn docs() -> Html<String> {
    let spec = crate::openapi::document();
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Quiz gateway API</title>\
         <link rel=\"stylesheet\" href=\"/docs.css\"></head><body><h1>Quiz gateway API</h1>\
         <p>Machine-readable spec: <a href=\"/openapi.json\">/openapi.json</a>. \
         Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> from \
         <code>POST /v1/auth/login</code>. Errors are <code>application/problem+json</code>.</p><ul>",
    );
    for (path, item) in spec.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (m, op) in ops {
            if let Some(op) = op {
                let summary = op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<li><span class=\"m\">{m}</span><code>{}</code> {}</li>",
                    escape(path),
                    escape(&summary)
                ));
            }
        }
    }
    out.push_str("</ul></body></html>");
    Html(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
