//! The API console (`/docs`, Swagger UI served from the binary) in headless Chromium, under the
//! gateway's Content-Security-Policy: it renders every operation with its schemas, takes a
//! bearer token under "Authorize", and "Try it out" sends a request with it.

use serde_json::{json, Value};

use super::common::Ctx;
use super::harness::{Browser, Driver};
use super::ONE_AT_A_TIME;

/// Waits until the element matched by `css` exists and its text contains `part`.
async fn wait_css_text(b: &Browser, css: &str, part: &str) {
    b.wait_js(
        &format!("{css} to contain {part}"),
        &format!(
            "const e = document.querySelector({}); return !!e && e.textContent.includes({});",
            json!(css),
            json!(part)
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_authorizes_with_a_bearer_token_and_executes_a_call() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let token = ctx.host.token().expect("the host is logged in").to_string();
    let driver = Driver::start().await;
    let b = driver.browser(1200, 900).await;
    b.client
        .goto(&format!("{}/docs", ctx.server.base_url))
        .await
        .expect("open /docs");
    // Swagger UI's scripts ran: the operations of the document are listed, live ones too.
    b.wait_js(
        "the operations",
        "return document.querySelectorAll('.opblock').length >= 30;",
    )
    .await;
    for path in [
        "/v1/me",
        "/v1/live/sessions",
        "/v1/live/sessions/{id}/standings",
    ] {
        let listed = b
            .js(&format!(
                "return [...document.querySelectorAll('.opblock-summary-path')].some(e => e.dataset.path === {});",
                json!(path)
            ))
            .await;
        assert_eq!(listed, Value::Bool(true), "{path} is not in the console");
    }
    // Its stylesheet applies (a method badge is coloured, not the default transparent).
    let colour = b
        .js("return getComputedStyle(document.querySelector('.opblock-summary-method')).backgroundColor;")
        .await;
    assert_ne!(
        colour,
        json!("rgba(0, 0, 0, 0)"),
        "swagger-ui.css did not apply"
    );
    // From here on, anything the policy blocks is recorded.
    b.js("window.cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI)); return true;")
        .await;
    b.shot("docs-loaded").await;

    // Authorize with the bearer token.
    b.click(".auth-wrapper .authorize").await;
    b.wait_js(
        "the authorization dialog",
        "return !!document.querySelector('.auth-container input');",
    )
    .await;
    let input = b
        .client
        .find(fantoccini::Locator::Css(".auth-container input"))
        .await
        .expect("token input");
    input.send_keys(&token).await.expect("type the token");
    b.click(".auth-container .auth-btn-wrapper .authorize")
        .await;
    b.wait_js(
        "the token accepted",
        "return !!document.querySelector('.auth-container .auth-btn-wrapper .btn-done') && [...document.querySelectorAll('.auth-container button')].some(e => e.textContent.trim() === 'Logout');",
    )
    .await;
    b.shot("docs-authorized").await;
    b.click(".auth-container .auth-btn-wrapper .btn-done").await;

    // Try it out: GET /v1/me answers with the token's account.
    b.click("#operations-users-me .opblock-summary-control")
        .await;
    // "Try it out" is on from the start (the console's configuration): the form is editable
    // and "Execute" is there without a click.
    b.wait_js(
        "the execute button",
        "return !!document.querySelector('#operations-users-me .execute');",
    )
    .await;
    b.click("#operations-users-me .execute").await;
    wait_css_text(
        &b,
        "#operations-users-me .live-responses-table tr.response .response-col_status",
        "200",
    )
    .await;
    wait_css_text(
        &b,
        "#operations-users-me .live-responses-table tr.response .response-col_description",
        "\"username\": \"host\"",
    )
    .await;
    b.shot("docs-executed").await;
    let violations = b.js("return window.cspViolations;").await;
    assert_eq!(violations, json!([]), "the policy blocked something");
    b.close().await;
}
