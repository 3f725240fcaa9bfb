//! The leaderboards page (`/leaderboards`) in headless Chromium at phone width against an
//! in-process gateway pair on SQLite: log in, the caller's rank and percentile, the top list,
//! a past week, and the top updated live from the watch stream when a match is recorded.
//! Needs `chromium` and `chromium-driver` (`scripts/stack up` installs them).

#[allow(unused_macros, dead_code)]
#[macro_use]
#[path = "ranked/ctx.rs"]
mod ctx;
#[allow(dead_code)]
#[path = "browser/harness.rs"]
mod harness;

use ctx::{record, Ctx, DAY, MONDAY_10H};
use harness::Driver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_page_shows_ranks_past_weeks_and_live_updates() {
    let ctx = Ctx::sqlite().await;
    let (ann, _) = ctx.user("ann").await;
    let r = &ctx.a.state.ranked;
    // Last week: ann first with 90. This week: ann 40, player 1002 30.
    r.record_match(&record(
        "old",
        None,
        MONDAY_10H - 7 * DAY,
        &[(ann, 1, 90, false), (1001, 2, 10, false)],
    ))
    .await
    .unwrap();
    r.record_match(&record(
        "new",
        None,
        MONDAY_10H,
        &[(ann, 1, 40, false), (1002, 2, 30, false)],
    ))
    .await
    .unwrap();

    let driver = Driver::start().await;
    let b = driver.browser(390, 844).await;
    b.client
        .goto(&format!(
            "{}/leaderboards?board=points-week",
            ctx.a.base_url
        ))
        .await
        .unwrap();
    b.wait_screen("login").await;
    b.fill("username", "ann").await;
    b.fill("password", "password-ann").await;
    b.click("#login-button").await;
    b.wait_screen("boards").await;
    b.wait_text("me-line", "#1 of 2 with 40").await;
    b.wait_text("me-line", "100.0%").await;
    b.wait_text("my-rating", "2 rated games").await;
    b.wait_js(
        "the top list",
        "return [...document.querySelectorAll('#top li .name')].map(e => e.textContent).join(',') === 'ann,user 1002'",
    )
    .await;
    b.wait_js(
        "the live badge",
        "return document.getElementById('live').textContent === 'Live'",
    )
    .await;
    assert!(b.fits_width().await, "no horizontal scrolling at 390 px");

    // A match recorded on the other gateway moves player 1002 to the top: pushed live.
    ctx.b
        .state
        .ranked
        .record_match(&record(
            "push",
            None,
            MONDAY_10H + 1,
            &[(1002, 1, 50, false), (1003, 2, 1, false)],
        ))
        .await
        .unwrap();
    b.wait_js(
        "the pushed top",
        "return [...document.querySelectorAll('#top li .name')].map(e => e.textContent).join(',') === 'user 1002,ann,user 1003'",
    )
    .await;

    // Last week.
    b.js("const s = document.getElementById('period'); s.value = '1'; s.dispatchEvent(new Event('change')); return true;")
        .await;
    b.wait_text("me-line", "#1 of 2 with 90").await;
    b.wait_text("reset", "(closed)").await;
    b.wait_js(
        "last week's list",
        "return [...document.querySelectorAll('#top li .name')].map(e => e.textContent).join(',') === 'ann,user 1001'",
    )
    .await;
    b.shot("leaderboards").await;
    b.close().await;
    ctx.finish().await;
}
