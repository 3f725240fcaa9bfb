//! `/openapi.json` and `/docs`, an interactive console over it (Swagger UI): every operation
//! with its parameters, body and response schemas, and "Try it out" requests sent with the
//! bearer token entered under "Authorize".
//!
//! Swagger UI's files come from the `utoipa-swagger-ui` crate built with its `vendored`
//! feature: they are inside a crate from the registry, embedded in the binary, so nothing is
//! downloaded at build or run time and the console works offline. The page is ours
//! (`INDEX`): external scripts and stylesheets only, no inline script or style, so it runs
//! under the gateway's Content-Security-Policy unchanged ([`crate::browser`]). Swagger UI sets
//! element styles from script through the DOM, which `style-src 'self'` allows; its icons are
//! `data:` images, which `img-src` allows; its requests go to this origin (`connect-src
//! 'self'`). The spec validator badge (an image from another site) is turned off.

use std::sync::{Arc, OnceLock};

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::state::AppState;

/// Routes of this module (pages, not API operations: they are not in the document), serving
/// `openapi_json`, the document of this gateway ([`crate::openapi::json`]).
pub fn router(openapi_json: String) -> Router<AppState> {
    let openapi_json: Arc<str> = openapi_json.into();
    Router::new()
        .route("/openapi.json", get(move || openapi(openapi_json.clone())))
        .route("/docs", get(index))
        .route("/docs/", get(index))
        .route("/docs/{file}", get(asset))
}

/// The console's page: Swagger UI's stylesheet and scripts, its configuration last.
const INDEX: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Quiz gateway API</title>\
<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\
<link rel=\"icon\" type=\"image/png\" href=\"/docs/favicon-32x32.png\" sizes=\"32x32\">\
</head><body><main id=\"swagger-ui\"></main>\
<script src=\"/docs/swagger-ui-bundle.js\"></script>\
<script src=\"/docs/swagger-ui-standalone-preset.js\"></script>\
<script src=\"/docs/swagger-initializer.js\"></script>\
</body></html>\n";

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

async fn openapi(json: Arc<str>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
}

/// Swagger UI's settings, written into `swagger-initializer.js`.
fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new(["/openapi.json"])
                    // No top bar: the console shows this API only.
                    .use_base_layout()
                    .try_it_out_enabled(true)
                    .display_request_duration(true)
                    .filter(true)
                    // No badge fetched from the validator's site (offline, and the CSP
                    // allows no other origin's images).
                    .validator_url("none"),
            )
        })
        .clone()
}

/// A file of Swagger UI's distribution (scripts, stylesheet, icons).
async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    match utoipa_swagger_ui::serve(&file, config()) {
        Ok(Some(f)) if file != "index.html" && !file.ends_with(".html") => Ok((
            [
                (header::CONTENT_TYPE, f.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
            ],
            f.bytes.into_owned(),
        )
            .into_response()),
        Ok(_) => Err(ApiError::NotFound(format!("no route for /docs/{file}"))),
        Err(e) => Err(ApiError::Internal(anyhow::anyhow!(
            "swagger ui file {file}: {e}"
        ))),
    }
}
