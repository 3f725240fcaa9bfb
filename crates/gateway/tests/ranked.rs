//! Ratings and global leaderboards (`gateway::ranked`, `/v1/leaderboards`), each scenario on
//! two gateways sharing one database: a SQLite file (`<name>::sqlite`) and MySQL primary +
//! replica with Redis Cluster (`<name>::mysql`, env from `scripts/stack env`). The boards'
//! clock is a `ManualClock` shared by both gateways, so windows roll over without waiting.

#[macro_use]
#[path = "ranked/ctx.rs"]
mod ctx;
#[path = "ranked/scenarios.rs"]
mod scenarios;

both!(crate::scenarios::exactly_once, exactly_once);
both!(crate::scenarios::duel_and_room, duel_and_room);
both!(crate::scenarios::windows_roll_over, windows_roll_over);
both!(crate::scenarios::paging_rank_around, paging_rank_around);
both!(
    crate::scenarios::gateways_agree_and_watch,
    gateways_agree_and_watch
);
both!(crate::scenarios::bad_input, bad_input);
both!(crate::scenarios::batch_of_results, batch_of_results);
both!(crate::scenarios::sdk_methods, sdk_methods);

/// The leaderboards page: HTML under the CSP without inline code, its own script and
/// stylesheet (revalidated by ETag), marked as the current page, REST through the shared
/// client module, the DOM built with textContent, the live top read from the watch stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_page_is_served_under_the_csp() {
    let ctx = ctx::Ctx::sqlite().await;
    let get = |path: &str| {
        let url = format!("{}{path}", ctx.a.base_url);
        let http = ctx.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let r = get("/leaderboards").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(csp, gateway::browser::CONTENT_SECURITY_POLICY);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    let lower = html.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        lower.matches("></script>").count()
    );
    assert!(!lower.contains("<style") && !lower.contains(" style="));
    assert!(html.contains(r#"<script type="module" src="/static/leaderboards.js"></script>"#));
    assert!(html.contains(r#"href="/static/leaderboards.css""#));
    assert!(html.contains(r#"<a href="/leaderboards" aria-current="page">Leaderboards</a>"#));
    for (path, ct) in [
        ("/static/leaderboards.js", "text/javascript; charset=utf-8"),
        ("/static/leaderboards.css", "text/css; charset=utf-8"),
    ] {
        let r = get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], ct);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let again = ctx
            .http
            .get(format!("{}{path}", ctx.a.base_url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let js = get("/static/leaderboards.js").await.text().await.unwrap();
    assert!(js.contains("from \"/static/quiz-client.js\""));
    assert!(js.contains("from \"/static/page.js\""));
    assert!(!js.contains("innerHTML"));
    assert!(js.contains("/watch?limit="));
    ctx.finish().await;
}

/// MySQL only: SQLite has one writer, so its sequence numbers commit in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commit_is_not_missed_mysql() {
    let ctx = ctx::Ctx::mysql().await;
    scenarios::slow_commit_is_not_missed(&ctx).await;
    ctx.finish().await;
}
