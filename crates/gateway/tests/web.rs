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
    // Ids are unique: the scripts find screens and fields by id, and a second element with the
    // same id (a form field named like a screen) would silently take the first one's place.
    let mut ids: Vec<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    ids.sort_unstable();
    let dupes: Vec<&str> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    assert!(dupes.is_empty(), "{path}: duplicate ids {dupes:?}");
    html
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_page_is_html_under_the_csp_without_inline_script_or_style() {
    let site = Site::start().await;
    assert_page_without_inline_code(&site, "/").await;
    site.server.stop().await;
}

/// The pages besides the player's: each is HTML under the CSP, loads its own script and
/// stylesheet, marks itself as the current page in the header's links, and talks to the API only
/// through the client module and the shared page helpers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_account_and_author_pages_are_html_under_the_csp_with_their_own_files() {
    let site = Site::start().await;
    for (path, name, label) in [
        ("/host", "host", "Host"),
        ("/account", "account", "Account"),
        ("/author", "author", "Author"),
        ("/match", "match", "Match"),
    ] {
        let html = assert_page_without_inline_code(&site, path).await;
        assert!(
            html.contains(&format!("src=\"/static/{name}.js\"")),
            "{path}"
        );
        assert!(
            html.contains(&format!("href=\"/static/{name}.css\"")),
            "{path}"
        );
        assert!(
            html.contains(&format!(
                r#"<a href="{path}" aria-current="page">{label}</a>"#
            )),
            "{path}: the header marks the page as the current one"
        );
        assert!(html.contains(r#"<a href="/">Play</a>"#), "{path}");
        let (status, _, js) = site.get(&format!("/static/{name}.js")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(js.contains("from \"/static/quiz-client.js\""), "{path}");
        assert!(js.contains("from \"/static/page.js\""), "{path}");
        assert!(
            !js.contains("innerHTML"),
            "{path}: the DOM is built with textContent"
        );
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
        ("/static/account.js", "text/javascript; charset=utf-8"),
        ("/static/account.css", "text/css; charset=utf-8"),
        ("/static/match.js", "text/javascript; charset=utf-8"),
        ("/static/match.css", "text/css; charset=utf-8"),
        ("/match", "text/html; charset=utf-8"),
        ("/host", "text/html; charset=utf-8"),
        ("/author", "text/html; charset=utf-8"),
        ("/account", "text/html; charset=utf-8"),
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
