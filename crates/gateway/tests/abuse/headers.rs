//! Browser-facing headers: no cross-origin access unless the operator lists the origin in
//! `CORS_ALLOWED_ORIGINS`, and HTML pages carry a Content-Security-Policy without inline
//! script or style plus the usual anti-framing and anti-sniffing headers.

use reqwest::header::HeaderMap;
use reqwest::Method;

use super::process::Gateway;

/// The policy every HTML page carries.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// A CORS preflight of `POST /v1/questions` with a bearer token and a JSON body from `origin`.
async fn preflight(gw: &Gateway, origin: &str) -> (u16, HeaderMap) {
    let resp = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/v1/questions", gw.base_url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    (resp.status().as_u16(), resp.headers().clone())
}

/// `GET path` with an `Origin` header: status and headers.
async fn get_with_origin(gw: &Gateway, path: &str, origin: &str) -> (u16, HeaderMap) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", gw.base_url))
        .header("origin", origin)
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.headers().clone())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_no_origin_gets_cross_origin_access() {
    let gw = Gateway::sqlite(&[]).await;
    let (_, h) = preflight(&gw, "http://evil.example").await;
    assert_eq!(header(&h, "access-control-allow-origin"), None, "{h:?}");
    let (status, h) = get_with_origin(&gw, "/healthz", "http://evil.example").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "access-control-allow-origin"), None, "{h:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_origins_are_allowed_and_others_are_not() {
    let gw = Gateway::sqlite(&[(
        "CORS_ALLOWED_ORIGINS",
        "http://a.example, https://b.example:8443",
    )])
    .await;
    let (status, h) = preflight(&gw, "http://a.example").await;
    assert!((200..300).contains(&status), "preflight answered {status}");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://a.example")
    );
    let methods = header(&h, "access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{m} not allowed: {methods}");
    }
    let headers = header(&h, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for want in ["authorization", "content-type"] {
        assert!(headers.contains(want), "{want} not allowed: {headers}");
    }
    let (_, h) = get_with_origin(&gw, "/healthz", "https://b.example:8443").await;
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("https://b.example:8443")
    );

    for other in [
        "http://c.example",
        "http://a.example.evil.example",
        "https://a.example",
    ] {
        let (_, h) = preflight(&gw, other).await;
        assert_eq!(
            header(&h, "access-control-allow-origin"),
            None,
            "{other}: {h:?}"
        );
        let (_, h) = get_with_origin(&gw, "/healthz", other).await;
        assert_eq!(
            header(&h, "access-control-allow-origin"),
            None,
            "{other}: {h:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cors_origin_that_is_not_an_origin_is_refused_at_start() {
    for bad in ["*", "a.example", "http://a.example/path", "ftp://a.example"] {
        super::connections::assert_refused_at_start("CORS_ALLOWED_ORIGINS", bad, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_pages_carry_a_strict_policy_and_every_response_no_sniffing() {
    let gw = Gateway::sqlite(&[]).await;
    let resp = reqwest::get(format!("{}/docs", gw.base_url))
        .await
        .expect("/docs");
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers().clone();
    let body = resp.text().await.expect("body");
    assert_eq!(header(&h, "content-security-policy"), Some(CSP));
    assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&h, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&h, "x-frame-options"), Some("DENY"));
    // The policy forbids inline style and script: the page has neither, only files of its own.
    assert!(!body.contains("<style"), "inline style left in /docs");
    assert!(!body.contains(" style="), "inline style attribute in /docs");
    let scripts = body.matches("<script").count();
    assert!(scripts > 0, "the console has no script");
    assert_eq!(
        body.matches("<script src=\"/docs/").count(),
        scripts,
        "a script in /docs is inline or from elsewhere: {body}"
    );
    assert!(
        body.contains("href=\"/docs/swagger-ui.css\""),
        "no stylesheet link"
    );

    for (file, kind) in [
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-initializer.js", "javascript"),
    ] {
        let resp = reqwest::get(format!("{}/docs/{file}", gw.base_url))
            .await
            .expect(file);
        assert_eq!(resp.status().as_u16(), 200, "{file}");
        assert!(
            header(resp.headers(), "content-type")
                .unwrap_or_default()
                .contains(kind),
            "{file}: {:?}",
            header(resp.headers(), "content-type")
        );
        assert_eq!(
            header(resp.headers(), "x-content-type-options"),
            Some("nosniff")
        );
    }
    // Only the console's own page: Swagger UI's sample pages (one with inline script) are not
    // served.
    for file in ["index.html", "oauth2-redirect.html"] {
        let resp = reqwest::get(format!("{}/docs/{file}", gw.base_url))
            .await
            .expect(file);
        assert_eq!(resp.status().as_u16(), 404, "{file}");
    }

    for path in ["/healthz", "/v1/nope", "/openapi.json"] {
        let (_, h) = get_with_origin(&gw, path, "http://x.example").await;
        assert_eq!(
            header(&h, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}
