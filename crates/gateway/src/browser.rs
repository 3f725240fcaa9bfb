//! Headers for browsers: which other origins may call the API (CORS), and the security
//! headers that keep pages the gateway serves (`/docs`, and any HTML added later) from being
//! framed, sniffed, or made to run injected script.
//!
//! * **CORS** is off unless `CORS_ALLOWED_ORIGINS` lists origins: a page on another site
//!   cannot read any response, and its preflights fail (405), so only same-origin pages use
//!   the API. Listed origins may send `Authorization` and `Content-Type` with the API's
//!   methods; credentials are bearer tokens, never cookies, so no `Allow-Credentials`.
//! * **Security headers** go on every response (harmless on JSON, and no HTML page can be
//!   forgotten): a Content-Security-Policy that allows only the gateway's own scripts,
//!   styles and connections (no inline script or style, no framing, no `<base>`), `nosniff`
//!   so nothing is interpreted as another type than it is declared, no referrer (URLs may
//!   carry join codes), and `X-Frame-Options: DENY` for browsers without CSP frame-ancestors.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// `router` with the security headers, and CORS for `allowed_origins` when there are any
/// (entries are validated by the configuration).
pub fn layers(router: Router, allowed_origins: &[String]) -> Router {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    // CORS inside the security headers, so its preflight answers carry them too.
    let mut router = match cors(allowed_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// The CORS layer for `origins`, or `None` when none are allowed.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::RETRY_AFTER])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
