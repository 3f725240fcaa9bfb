//! The browser client served by the gateway: the player page at `/`, the host page at `/host`,
//! the account page at `/account`, the author page at `/author`, their files under `/static/` and
//! the join QR code at `/qr.svg`, checked over HTTP against an in-process gateway.
//!
//! Serving these files touches no database, so this runs on the embedded backend only.

use gateway::browser::CONTENT_SECURITY_POLICY;
use gateway::config::Config;
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_SECURITY_POLICY as CSP, CONTENT_TYPE};
use reqwest::StatusCode;

struct Site {
    server: gateway::testing::TestServer,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = gateway::testing::spawn(Config::for_tests(dir.path()))
            .await
            .expect("spawn gateway");
        Site {
            server,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.server.base_url))
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.expect("body"))
    }
}

fn header(h: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Every `<tag ...>` opening of `name` in `html` (attributes text, lowercased).
fn tags(html: &str, name: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let end = after.find('>').expect("tag is closed");
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// Checks that `path` is an HTML page under the CSP with only external module scripts and no
/// inline script, style or event handler (the CSP would block them in a browser).
async fn assert_page_without_inline_code(site: &Site, path: &str) -> String {
    let (status, headers, html) = site.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    assert_eq!(header(&headers, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&headers, CSP), CONTENT_SECURITY_POLICY);
    assert!(!header(&headers, "etag").is_empty());
    assert_eq!(header(&headers, CACHE_CONTROL), "no-cache");

    let scripts = tags(&html, "script");
    assert!(!scripts.is_empty(), "the page loads its script");
    for s in &scripts {
        assert!(
            s.contains("src=\"/static/"),
            "script without src: <script{s}>"
        );
        assert!(
            s.contains("type=\"module\""),
            "script not a module: <script{s}>"
        );
    }
    let lower = html.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        lower.matches("></script>").count(),
        "every script element is empty (no inline code)"
    );
    assert!(!lower.contains("<style"), "no inline style block");
    assert!(!lower.contains(" style="), "no inline style attribute");
    let handler = lower.split(" on").skip(1).find(|rest| {
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    });
    assert!(handler.is_none(), "no inline event handler attribute");
    assert!(!lower.contains("javascript:"), "no javascript: URL");
    assert!(lower.contains("href=\"/static/app.css\""));
    html
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_page_is_html_under_the_csp_without_inline_script_or_style() {
    let site = Site::start().await;
    assert_page_without_inline_code(&site, "/").await;
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_is_html_under_the_csp_without_inline_script_or_style() {
    let site = Site::start().await;
    let html = assert_page_without_inline_code(&site, "/host").await;
    let lower = html.to_ascii_lowercase();
    assert!(lower.contains("src=\"/static/host.js\""));
    assert!(lower.contains("href=\"/static/host.css\""));
    // The host script and stylesheet are served, and the script talks through the client.
    let (status, headers, js) = site.get("/static/host.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(js.contains("from \"/static/quiz-client.js\""));
    let (status, headers, _) = site.get("/static/host.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, CONTENT_TYPE), "text/css; charset=utf-8");
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_page_is_html_under_the_csp_and_its_files_revalidate() {
    let site = Site::start().await;
    let html = assert_page_without_inline_code(&site, "/account").await;
    let lower = html.to_ascii_lowercase();
    assert!(lower.contains("src=\"/static/account.js\""));
    assert!(lower.contains("href=\"/static/account.css\""));
    assert!(
        lower.contains("<a href=\"/account\" aria-current=\"page\">account</a>"),
        "the header marks the account page as the current one"
    );
    for (path, content_type) in [
        ("/static/account.js", "text/javascript; charset=utf-8"),
        ("/static/account.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, body) = site.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, CONTENT_TYPE), content_type, "{path}");
        assert_eq!(header(&headers, CSP), CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, CACHE_CONTROL), "no-cache", "{path}");
        assert!(!body.is_empty(), "{path}");
        let etag = header(&headers, "etag").to_string();
        assert!(
            etag.starts_with('"') && etag.len() > 2,
            "{path}: etag {etag}"
        );
        let again = site
            .http
            .get(format!("{}{path}", site.server.base_url))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("request");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    // The script talks to the API through the client module and shares the login helpers.
    let (_, _, js) = site.get("/static/account.js").await;
    assert!(js.contains("from \"/static/quiz-client.js\""));
    assert!(js.contains("from \"/static/page.js\""));
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn author_page_is_html_under_the_csp_without_inline_script_or_style() {
    let site = Site::start().await;
    let html = assert_page_without_inline_code(&site, "/author").await;
    let lower = html.to_ascii_lowercase();
    assert!(lower.contains("src=\"/static/author.js\""));
    assert!(lower.contains("href=\"/static/author.css\""));
    // The header links the pages like the others, with this one marked as the current page.
    assert!(
        html.contains(r#"<a href="/author" aria-current="page">Author</a>"#),
        "the Author link is the current page"
    );
    assert!(html.contains(r#"<a href="/host">Host</a>"#));
    // The script talks through the client module and the shared page helpers.
    let (status, headers, js) = site.get("/static/author.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert!(js.contains("from \"/static/quiz-client.js\""));
    assert!(js.contains("from \"/static/page.js\""));
    assert!(
        !js.contains("innerHTML"),
        "the DOM is built with textContent"
    );
    let (status, headers, _) = site.get("/static/author.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, CONTENT_TYPE), "text/css; charset=utf-8");
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_qr_code_is_svg_and_a_bad_code_is_a_problem_400() {
    let site = Site::start().await;
    let (status, headers, svg) = site.get("/qr.svg?code=493021").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, CONTENT_TYPE), "image/svg+xml");
    assert_eq!(header(&headers, CSP), CONTENT_SECURITY_POLICY);
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("</svg>"));
    // Another code is another picture.
    let (_, _, other) = site.get("/qr.svg?code=493022").await;
    assert_ne!(svg, other);

    for path in [
        "/qr.svg",
        "/qr.svg?code=",
        "/qr.svg?code=12345",
        "/qr.svg?code=1234567",
        "/qr.svg?code=12a456",
        "/qr.svg?code=%3Cscript%3E",
        "/qr.svg?url=http://evil.example/",
    ] {
        let (status, headers, body) = site.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            header(&headers, CONTENT_TYPE),
            "application/problem+json",
            "{path}"
        );
        assert!(body.contains("\"status\":400"), "{path}: {body}");
    }
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_have_their_content_types_and_revalidate_with_etags() {
    let site = Site::start().await;
    for (path, content_type) in [
        ("/static/quiz-client.js", "text/javascript; charset=utf-8"),
        ("/static/page.js", "text/javascript; charset=utf-8"),
        ("/static/player.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
        ("/static/host.js", "text/javascript; charset=utf-8"),
        ("/static/host.css", "text/css; charset=utf-8"),
        ("/static/author.js", "text/javascript; charset=utf-8"),
        ("/static/author.css", "text/css; charset=utf-8"),
        ("/author", "text/html; charset=utf-8"),
    ] {
        let (status, headers, body) = site.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, CONTENT_TYPE), content_type, "{path}");
        assert_eq!(header(&headers, CSP), CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert!(!body.is_empty(), "{path}");
        let etag = header(&headers, "etag").to_string();
        assert!(
            etag.starts_with('"') && etag.len() > 2,
            "{path}: etag {etag}"
        );

        let again = site
            .http
            .get(format!("{}{path}", site.server.base_url))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("request");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.text().await.expect("body"), "");
    }
    // The page's script imports the client from the same origin.
    let (_, _, player) = site.get("/static/player.js").await;
    assert!(player.contains("from \"/static/quiz-client.js\""));
    site.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_stay_problem_json_404s() {
    let site = Site::start().await;
    for path in [
        "/static/missing.js",
        "/static/",
        "/v1/nope",
        "/index.html",
        "/author/",
        "/static/author.html",
    ] {
        let (status, headers, body) = site.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&headers, CONTENT_TYPE),
            "application/problem+json",
            "{path}"
        );
        assert!(body.contains("\"status\":404"), "{path}: {body}");
    }
    let resp = site
        .http
        .post(format!("{}/", site.server.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        header(resp.headers(), CONTENT_TYPE),
        "application/problem+json"
    );
    site.server.stop().await;
}
