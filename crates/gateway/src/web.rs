//! The browser client, served by the gateway itself from files embedded in the binary.
//!
//! A player needs nothing but the gateway's address: `/` is the player page, and its
//! script, module and stylesheet are under `/static/` (as are those of the host page, `/host`,
//! the author page, `/author`, the account and leaderboards pages, and the quick-match page,
//! `/match`). The files live in `crates/gateway/web` and are compiled in
//! with `include_str!`, so there is no build step, no Node toolchain and no CDN, and the page
//! always matches the protocol of the gateway that serves it.
//!
//! Every file has no inline script or style, so the gateway's Content-Security-Policy
//! ([`crate::browser`]) applies unchanged. Responses carry a strong `ETag` (a hash of the
//! content) and `Cache-Control: no-cache`: browsers keep a copy but revalidate it, getting a
//! `304` until a new gateway version changes a file, so an upgrade never leaves a player with
//! a stale script talking to a newer server.

use std::sync::LazyLock;

use axum::extract::RawQuery;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use qrcode::render::svg;
use qrcode::QrCode;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// One embedded file: where it is served, its media type and its content.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every file of the browser client. Only these paths are routed; anything else under
/// `/static/` falls through to the gateway's problem+json 404.
const ASSETS: [Asset; 20] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/player.html"),
    },
    Asset {
        path: "/static/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/app.css"),
    },
    Asset {
        path: "/static/player.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/player.js"),
    },
    Asset {
        path: "/static/quiz-client.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/quiz-client.js"),
    },
    // DOM helpers both pages share (screens, storage, leaderboard and podium lists).
    Asset {
        path: "/static/page.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/page.js"),
    },
    Asset {
        path: "/host",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/host.html"),
    },
    Asset {
        path: "/static/host.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/host.js"),
    },
    Asset {
        path: "/static/host.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/host.css"),
    },
    // The account page: register, log in, progress, practice.
    Asset {
        path: "/account",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/account.html"),
    },
    Asset {
        path: "/static/account.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/account.js"),
    },
    Asset {
        path: "/static/account.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/account.css"),
    },
    // The author page: question bank, editor, quiz builder, import and export.
    Asset {
        path: "/author",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/author.html"),
    },
    Asset {
        path: "/static/author.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/author.js"),
    },
    Asset {
        path: "/static/author.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/author.css"),
    },
    // The leaderboards page: global boards, past periods, the caller's rank, live top.
    Asset {
        path: "/leaderboards",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/leaderboards.html"),
    },
    Asset {
        path: "/static/leaderboards.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/leaderboards.js"),
    },
    Asset {
        path: "/static/leaderboards.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/leaderboards.css"),
    },
    // The quick-match page: queue for a duel or a room, then play on the player page.
    Asset {
        path: "/match",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../web/match.html"),
    },
    Asset {
        path: "/static/match.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/match.js"),
    },
    Asset {
        path: "/static/match.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/match.css"),
    },
];

/// How many of [`ASSETS`] (from the start) make up the player page; the host, account and
/// author pages' files follow them and are not counted against the player page's weight budget.
#[cfg(test)]
const PLAYER_ASSETS: usize = 5;

/// The ETag of each asset, in the order of [`ASSETS`] (computed once, on first use).
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body.as_bytes());
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            HeaderValue::from_str(&format!("\"{hex}\""))
                .unwrap_or(HeaderValue::from_static("\"0\""))
        })
        .collect()
});

/// Routes of the browser client (`GET` and `HEAD` of each embedded file, and the join QR code).
pub fn router() -> Router<AppState> {
    let mut router = Router::new().route("/qr.svg", get(join_qr));
    for (i, asset) in ASSETS.iter().enumerate() {
        router = router.route(asset.path, get(move |h: HeaderMap| serve(i, h)));
    }
    router
}

/// Serves asset `i`, or `304 Not Modified` when the browser's copy is current.
async fn serve(i: usize, request: HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let etag = ETAGS[i].clone();
    let cached = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let headers = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        headers,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response()
}

/// `GET /qr.svg?code=123456`: the QR code of the join URL `<origin>/?code=123456` as SVG, for
/// the host page's lobby (a projector shows it; phones scan it and land on the prefilled
/// player page).
///
/// The page cannot draw it itself without a QR library in JavaScript, and an `<img>` of a
/// same-origin SVG is allowed by the Content-Security-Policy. The origin is the request's
/// `Host` (with `https` when a proxy says `X-Forwarded-Proto: https`), i.e. the address the host
/// page was opened at, which is the address players can reach too. Only a 6-digit code is
/// accepted, so the route cannot be used to render arbitrary content under the gateway's name.
async fn join_qr(RawQuery(query): RawQuery, request: HeaderMap) -> Result<Response, ApiError> {
    let url = join_url(query.as_deref(), &request)?;
    let svg = QrCode::new(url.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("cannot encode the join URL: {e}")))?
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        svg,
    )
        .into_response())
}

/// The join URL for the query string of `/qr.svg` (`code=` a 6-digit code) and the request's
/// headers (`Host`, `X-Forwarded-Proto`); a 400 for anything else.
fn join_url(query: Option<&str>, request: &HeaderMap) -> Result<String, ApiError> {
    let code = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .filter(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::BadRequest("code must be the 6-digit join code".into()))?;
    let host = request
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| ApiError::BadRequest("missing or malformed Host header".into()))?;
    let https = request
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    Ok(format!(
        "{}://{host}/?code={code}",
        if https { "https" } else { "http" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The player page must stay light for phones on poor networks: HTML, CSS and both
    /// scripts together under 100 KB uncompressed.
    #[test]
    fn player_page_is_under_100_kb() {
        let total: usize = ASSETS[..PLAYER_ASSETS].iter().map(|a| a.body.len()).sum();
        assert!(total < 100 * 1024, "player page weighs {total} bytes");
    }

    #[test]
    fn etags_differ_per_file() {
        let tags: std::collections::HashSet<_> = ETAGS.iter().collect();
        assert_eq!(tags.len(), ASSETS.len());
    }

    #[test]
    fn join_url_is_the_player_page_at_the_requested_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("quiz.example:8080"));
        let url = join_url(Some("code=493021"), &h).map_err(|e| e.to_string());
        assert_eq!(url, Ok("http://quiz.example:8080/?code=493021".to_string()));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let url = join_url(Some("x=1&code=000007"), &h).map_err(|e| e.to_string());
        assert_eq!(
            url,
            Ok("https://quiz.example:8080/?code=000007".to_string())
        );
        assert!(join_url(Some("code=49302"), &h).is_err());
        assert!(join_url(None, &h).is_err());
        h.insert(header::HOST, HeaderValue::from_static("evil.example/x?"));
        assert!(
            join_url(Some("code=493021"), &h).is_err(),
            "a Host with a path"
        );
    }

    #[test]
    fn player_assets_are_the_player_page() {
        let paths: Vec<_> = ASSETS[..PLAYER_ASSETS].iter().map(|a| a.path).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/static/app.css",
                "/static/player.js",
                "/static/quiz-client.js",
                "/static/page.js"
            ]
        );
    }
}
