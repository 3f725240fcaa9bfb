//! The quick-match page (`/match`) in headless Chromium at phone width against an in-process
//! gateway on SQLite with its own rating book: two players in two browser sessions log in, see
//! their rating, have a topic without questions refused, queue for a duel (one for a topic, one
//! for any; one leaves and queues again first), are matched into the same server-run session,
//! land on the player page of that session and play it to the end; a third player then waits
//! for a duel, is offered a ghost of the recorded duel and plays it, and declines the next
//! offer. A second test drives the other screens: three players fill a room of 3 and play it,
//! a second window of an account already waiting is refused, and a lone player's wait ends at
//! the bound with the timeout screen. Needs `chromium` and `chromium-driver` (`scripts/stack up`
//! installs them).

#[allow(dead_code)]
#[path = "matchmaking/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "browser/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "live/common.rs"]
mod live_common;

use common::{short_settings, Ctx};
use gateway::matchmaking::pool::Curve;
use gateway::matchmaking::MatchSettings;
use harness::{Browser, Driver};

/// Opens `/match`, logs in as `name` (password `<name>-password`) and waits for the queue form.
async fn log_in(b: &Browser, base: &str, name: &str) {
    b.client
        .goto(&format!("{base}/match"))
        .await
        .expect("open /match");
    b.wait_screen("login").await;
    b.fill("username", name).await;
    b.fill("password", &format!("{name}-password")).await;
    b.click("#login-button").await;
    b.wait_screen("pick").await;
}

/// Queues from the form: `topic` typed (empty: any), a duel.
async fn queue_duel(b: &Browser, topic: &str) {
    queue_for(b, topic, 2).await;
    b.wait_screen("waiting").await;
}

/// Fills the form (`topic`, `size` players) and sends it, without waiting for a screen.
async fn queue_for(b: &Browser, topic: &str, size: u32) {
    b.fill("topic", topic).await;
    b.js(&format!(
        "const s = document.getElementById('size'); s.value = '{size}'; return true;"
    ))
    .await;
    b.click("#queue-button").await;
}

/// The join code in the address bar of a player page.
async fn page_code(b: &Browser) -> String {
    b.wait_js(
        "the player page of a match",
        "return location.pathname === '/' && /^[0-9]{6}$/.test(new URLSearchParams(location.search).get('code') || '');",
    )
    .await;
    b.js("return new URLSearchParams(location.search).get('code');")
        .await
        .as_str()
        .expect("code")
        .to_string()
}

/// Waits for question `n` (1-based) of `total` to be open, then picks its first choice.
async fn answer(b: &Browser, n: usize, total: usize) {
    b.wait_js(
        &format!("question {n} open"),
        &format!(
            "const s = document.getElementById('question'); \
             return !s.hidden && document.getElementById('q-index').textContent === 'Question {n} of {total}' \
             && document.querySelectorAll('#choices button:not([disabled])').length === 3;"
        ),
    )
    .await;
    b.click("#choices button:nth-child(1)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_queue_match_and_play_a_duel_then_a_ghost_duel() {
    let ctx = Ctx::sqlite_rated().await;
    // Long questions: they close when both players have answered, so the browsers are never
    // raced by a deadline.
    let settings = MatchSettings {
        questions: 2,
        time_limit_ms: 60_000,
        reveal_ms: 300,
        ..short_settings()
    };
    ctx.set_settings(settings.clone());
    let base = ctx.gw(0).base_url.clone();
    ctx.player("ann", 1500.0).await;
    ctx.player("bob", 1500.0).await;
    ctx.player("cid", 1500.0).await;

    let driver = Driver::start().await;
    let ann = driver.browser(390, 844).await;
    let bob = driver.browser(390, 844).await;
    log_in(&ann, &base, "ann").await;
    ann.wait_text("my-rating", "after 0 rated games").await;
    assert!(ann.fits_width().await, "no horizontal scrolling at 390 px");

    // A topic without questions is refused, on the form.
    ann.fill("topic", "no such topic").await;
    ann.click("#queue-button").await;
    ann.wait_text("queue-error", "no playable question").await;
    ann.wait_screen("pick").await;

    // Queue, see the estimate and the gap, leave, queue again.
    queue_duel(&ann, "mm").await;
    ann.wait_text("wait-estimate", "about").await;
    ann.wait_text("wait-gap", "±").await;
    ann.wait_text("wait-what", "A duel on “mm”").await;
    ann.shot("match-waiting").await;
    ann.click("#leave-button").await;
    ann.wait_screen("over").await;
    ann.wait_text("over-title", "You left the queue").await;
    ann.click("#again-button").await;
    ann.wait_screen("pick").await;
    queue_duel(&ann, "mm").await;
    ann.wait_text("wait-estimate", "about").await;

    // Bob asks for any topic: he joins ann's topic.
    log_in(&bob, &base, "bob").await;
    queue_duel(&bob, "").await;

    let (code_a, code_b) = (page_code(&ann).await, page_code(&bob).await);
    assert_eq!(code_a, code_b, "both players are in the same session");
    for b in [&ann, &bob] {
        b.wait_js(
            "the first question",
            "return document.getElementById('q-text').textContent.startsWith('mm question ');",
        )
        .await;
    }
    ann.shot("match-question").await;
    for n in 1..=2 {
        answer(&ann, n, 2).await;
        answer(&bob, n, 2).await;
    }
    for b in [&ann, &bob] {
        b.wait_screen("finished").await;
        b.wait_text("you", "of 2 with").await;
        assert_eq!(b.text("again").await, "Find another match");
    }
    ann.shot("match-finished").await;

    // The result is rated: back on /match, ann has played one rated game.
    ann.click("#again").await;
    ann.wait_screen("pick").await;
    ann.wait_text("my-rating", "after 1 rated game.").await;
    ann.close().await;
    bob.close().await;

    // Cid waits alone for a duel: soon offered a ghost of the recorded duel, and plays it.
    ctx.set_settings(MatchSettings {
        ghost_after_ms: Some(500),
        ..settings
    });
    let cid = driver.browser(390, 844).await;
    log_in(&cid, &base, "cid").await;
    queue_duel(&cid, "").await;
    cid.wait_screen("ghost").await;
    cid.wait_text("ghost-text", "played a duel").await;
    cid.shot("match-ghost").await;
    cid.click("#ghost-accept").await;
    let code_c = page_code(&cid).await;
    assert_ne!(code_c, code_a, "a new session for the ghost duel");
    for n in 1..=2 {
        answer(&cid, n, 2).await;
    }
    cid.wait_screen("finished").await;
    cid.wait_text("you", "of 2 with").await;

    // Offered the other recorded player next time, cid declines: out of the queue.
    cid.click("#again").await;
    cid.wait_screen("pick").await;
    queue_duel(&cid, "").await;
    cid.wait_screen("ghost").await;
    cid.click("#ghost-decline").await;
    cid.wait_screen("over").await;
    cid.wait_text("over-title", "You left the queue").await;
    cid.close().await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_fills_a_second_window_is_refused_and_a_lone_wait_times_out() {
    let ctx = Ctx::sqlite_rated().await;
    let settings = MatchSettings {
        questions: 2,
        time_limit_ms: 60_000,
        reveal_ms: 300,
        ..short_settings()
    };
    ctx.set_settings(settings.clone());
    let base = ctx.gw(0).base_url.clone();
    for name in ["ann", "bob", "cid", "dee"] {
        ctx.player(name, 1500.0).await;
    }
    let driver = Driver::start().await;

    // Three players ask for a room of 3: it starts as soon as it is full.
    let mut room = Vec::new();
    for name in ["ann", "bob", "cid"] {
        let b = driver.browser(390, 844).await;
        log_in(&b, &base, name).await;
        queue_for(&b, "mm", 3).await;
        b.wait_screen("waiting").await;
        b.wait_text("wait-what", "A room of up to 3 players on “mm”")
            .await;
        room.push(b);
    }
    let mut codes = Vec::new();
    for b in &room {
        codes.push(page_code(b).await);
    }
    assert!(
        codes.iter().all(|c| *c == codes[0]),
        "all three in one session: {codes:?}"
    );
    room[0].shot("match-room").await;
    for n in 1..=2 {
        for b in &room {
            answer(b, n, 2).await;
        }
    }
    for b in &room {
        b.wait_screen("finished").await;
        b.wait_text("you", "of 3 with").await;
    }
    for b in room {
        b.close().await;
    }

    // Dee waits alone, then opens a second window and queues again there: refused on the
    // form, the first window still waits. Then the wait bound is made short (the next turn
    // reads it): her wait ends on the timeout screen. (The bound is set only now so that a
    // slow machine opening the second browser cannot outlast it.)
    let first = driver.browser(390, 844).await;
    log_in(&first, &base, "dee").await;
    queue_duel(&first, "mm").await;
    first.wait_text("wait-estimate", "about").await;
    let second = driver.browser(390, 844).await;
    log_in(&second, &base, "dee").await;
    queue_for(&second, "mm", 2).await;
    second
        .wait_text("queue-error", "already waits in the queue")
        .await;
    second.wait_screen("pick").await;
    second.shot("match-already-queued").await;
    first.wait_screen("waiting").await;
    ctx.set_settings(MatchSettings {
        curve: Curve {
            max_wait_ms: 1_000,
            ..Curve::default()
        },
        ..settings
    });
    first.wait_screen("over").await;
    first.wait_text("over-title", "No match this time").await;
    first.wait_text("over-text", "Queue again").await;
    first.shot("match-timeout").await;
    first.close().await;
    second.close().await;
    ctx.finish().await;
}
