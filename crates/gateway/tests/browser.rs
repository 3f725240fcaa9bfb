//! The player page in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, `fantoccini`) against an in-process gateway on SQLite, with the host driven from
//! Rust through the SDK's `LiveClient`. Needs `chromium` and `chromium-driver` installed
//! (`scripts/stack up` installs them); a missing chromedriver fails the tests. Set
//! `SCREENSHOTS_DIR` to get a PNG of every page state.

#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;
#[path = "browser/harness.rs"]
mod harness;

use common::{connect_to, host_session, make_quiz_with, wait_msg, Ctx};
use harness::{Browser, Driver};
use sdk::live::{Credentials, LiveClient, ServerMsg};

/// One test at a time: each runs several Chromium processes on a small machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Question time limit: long, so that the browsers answer well in time; questions close early
/// when everyone has answered, or when the host skips.
const LIMIT_MS: u32 = 60_000;

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Opens the player page, joins `code` as `nickname` through the form and waits for the lobby.
async fn join(b: &Browser, base: &str, code: &str, nickname: &str) {
    b.client.goto(&format!("{base}/")).await.expect("open page");
    b.wait_screen("join").await;
    b.type_into("code", code).await;
    b.type_into("nickname", nickname).await;
    b.click("#join-button").await;
    b.wait_screen("lobby").await;
    assert_eq!(b.text("lobby-name").await, nickname);
}

/// Waits until the question screen shows question `index` (0-based) with its text.
async fn wait_question(b: &Browser, index: usize) {
    b.wait_screen("question").await;
    b.wait_js(
        &format!("question {index}"),
        &format!(
            "return document.getElementById('q-text').textContent === 'Live question {index}?' \
             && document.querySelectorAll('#choices button:not([disabled])').length === 3;"
        ),
    )
    .await;
}

/// Clicks the choice with the text `text`.
async fn click_choice(b: &Browser, text: &str) {
    let key = b.choice_key(text).await;
    b.click(&format!("#choices button:nth-child({key})")).await;
}

/// Presses the choice's key (1-6) on the keyboard.
async fn press_choice(b: &Browser, text: &str) {
    let key = b.choice_key(text).await;
    b.keys(&key.to_string()).await;
}

async fn wait_locked(b: &Browser) {
    b.wait_js(
        "answer locked",
        "return document.getElementById('q-status').textContent.startsWith('Answer locked in');",
    )
    .await;
}

async fn host(ctx: &Ctx, limits: &[u32]) -> (sdk::live::CreatedSession, LiveClient) {
    let quiz = make_quiz_with(&ctx.host, limits).await;
    let session = host_session(&ctx.host, quiz, 60_000).await;
    let host = connect_to(
        &ctx.server.base_url,
        &session.code,
        Credentials::Host(session.host_token.clone()),
    )
    .await;
    (session, host)
}

async fn host_waits_question(host: &mut LiveClient, index: u32) {
    wait_msg(host, "question", |m| match m {
        ServerMsg::Question(q) if q.index == index => Some(()),
        _ => None,
    })
    .await;
}

async fn host_waits_reveal(host: &mut LiveClient, index: u32) {
    wait_msg(host, "reveal", |m| match m {
        ServerMsg::Reveal { question, .. } if *question == index => Some(()),
        _ => None,
    })
    .await;
}

/// Three players, each in their own browser, play a two-question quiz to the podium; what each
/// page shows at the end is what the server stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_players_play_a_whole_quiz() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let driver = Driver::start().await;
    let (session, mut host) = host(&ctx, &[LIMIT_MS, LIMIT_MS]).await;
    let base = ctx.server.base_url.clone();
    let names = ["Ada", "Bo", "Cy"];
    let mut players = Vec::new();
    for name in names {
        let b = driver.browser(800, 900).await;
        join(&b, &base, &session.code, name).await;
        players.push(b);
    }
    players[0].shot("a-lobby").await;
    host.send(sdk::live::ClientMsg::Start).expect("start");

    // Who picks what: Ada and Bo click, Cy uses the keys 1-6.
    let picks = [["yes", "no", "yes"], ["no", "yes", "yes"]];
    for (qi, picks) in picks.iter().enumerate() {
        host_waits_question(&mut host, qi as u32).await;
        for b in &players {
            wait_question(b, qi).await;
        }
        players[2].shot(&format!("a-question-{qi}")).await;
        click_choice(&players[0], picks[0]).await;
        click_choice(&players[1], picks[1]).await;
        press_choice(&players[2], picks[2]).await;
        // Everyone answered: the question closes early and the reveal shows.
        host_waits_reveal(&mut host, qi as u32).await;
        for (b, pick) in players.iter().zip(picks) {
            b.wait_screen("reveal").await;
            let verdict = if *pick == "yes" {
                "Correct!"
            } else {
                "Not quite"
            };
            b.wait_js(
                "verdict",
                &format!(
                    "return document.getElementById('verdict-text').textContent.startsWith('{verdict}');"
                ),
            )
            .await;
            assert!(b.text("r-correct").await.contains("yes"));
        }
        players[0].shot(&format!("a-reveal-{qi}")).await;
        host.send(sdk::live::ClientMsg::Skip).expect("skip");
    }

    wait_msg(&mut host, "finished", |m| {
        matches!(m, ServerMsg::Finished { .. }).then_some(())
    })
    .await;
    let standings = ctx
        .host
        .live_standings(session.session_id)
        .await
        .expect("standings");
    assert_eq!(standings.len(), 3, "{standings:?}");
    for (b, name) in players.iter().zip(names) {
        b.wait_screen("finished").await;
        let me = standings
            .iter()
            .find(|s| s.nickname == name)
            .unwrap_or_else(|| panic!("{name} not in {standings:?}"));
        let line = format!(
            "You finished {} of 3 with {} points.",
            ordinal(me.rank),
            me.score
        );
        b.wait_js(
            "own place",
            &format!(
                "return document.getElementById('you').textContent === {};",
                serde_json::json!(line)
            ),
        )
        .await;
        let podium = b.text("podium").await;
        for s in standings.iter().filter(|s| s.rank <= 3) {
            assert!(
                podium.contains(&s.nickname) && podium.contains(&s.score.to_string()),
                "podium {podium:?} lacks {s:?}"
            );
        }
    }
    players[0].shot("a-finished").await;
    for b in players {
        b.close().await;
    }
    ctx.finish().await;
}
