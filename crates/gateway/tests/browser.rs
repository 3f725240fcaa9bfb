//! The player page in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, `fantoccini`) against an in-process gateway on SQLite, with the host driven from
//! Rust through the SDK's `LiveClient`. Needs `chromium` and `chromium-driver` installed
//! (`scripts/stack up` installs them); a missing chromedriver fails the tests. Set
//! `SCREENSHOTS_DIR` to get a PNG of every page state.

#[path = "browser/author.rs"]
mod author;
#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;
#[path = "browser/harness.rs"]
mod harness;

#[path = "browser/account.rs"]
mod account;

use common::{connect_to, host_session, make_quiz_with, Ctx};
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

/// Waits (generously: the browsers share a small machine) for a host frame matching `f`.
async fn host_waits<T>(
    host: &mut LiveClient,
    what: &str,
    mut f: impl FnMut(&ServerMsg) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let ev = tokio::time::timeout_at(deadline, host.next())
            .await
            .unwrap_or_else(|_| panic!("host: timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("host: connection ended while waiting for {what}"));
        if let sdk::live::LiveEvent::Message(m) = &ev {
            if let Some(v) = f(m) {
                return v;
            }
        }
    }
}

async fn host_waits_question(host: &mut LiveClient, index: u32) {
    host_waits(host, "question", |m| match m {
        ServerMsg::Question(q) if q.index == index => Some(()),
        _ => None,
    })
    .await;
}

async fn host_waits_reveal(host: &mut LiveClient, index: u32) {
    host_waits(host, "reveal", |m| match m {
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

    host_waits(&mut host, "finished", |m| {
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

/// A player who reloads the page after answering comes back as the same player, with the
/// answer still locked (and marked) and the score kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_mid_question_keeps_player_score_and_answer() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let driver = Driver::start().await;
    let (session, mut host) = host(&ctx, &[LIMIT_MS, LIMIT_MS]).await;
    let base = ctx.server.base_url.clone();
    let b = driver.browser(800, 900).await;
    join(&b, &base, &session.code, "Dee").await;
    // A second player who never answers keeps each question open until the host skips.
    let _quiet = connect_to(&base, &session.code, Credentials::Guest("Quiet".into())).await;
    host.send(sdk::live::ClientMsg::Start).expect("start");

    host_waits_question(&mut host, 0).await;
    wait_question(&b, 0).await;
    click_choice(&b, "yes").await;
    wait_locked(&b).await;
    host.send(sdk::live::ClientMsg::Skip).expect("skip");
    host_waits_reveal(&mut host, 0).await;
    b.wait_screen("reveal").await;
    let first_score: i64 = b.text("r-score").await.parse().expect("score");
    assert!(first_score > 0, "a correct answer scores");
    host.send(sdk::live::ClientMsg::Skip).expect("skip");

    host_waits_question(&mut host, 1).await;
    wait_question(&b, 1).await;
    click_choice(&b, "yes").await;
    wait_locked(&b).await;
    b.client.refresh().await.expect("reload");
    b.wait_screen("question").await;
    wait_locked(&b).await;
    b.shot("b-after-reload").await;
    assert_eq!(b.text("q-text").await, "Live question 1?");
    assert_eq!(b.text("lobby-name").await, "Dee");
    let state = b
        .js("return [...document.querySelectorAll('#choices button')].map(e => [e.querySelector('.ctext').textContent, e.disabled, e.classList.contains('picked')]);")
        .await;
    assert_eq!(
        state,
        serde_json::json!([
            ["no", true, false],
            ["yes", true, true],
            ["maybe", true, false]
        ]),
        "after the reload every choice is locked and the sent one is marked"
    );

    host.send(sdk::live::ClientMsg::Skip).expect("skip");
    host_waits_reveal(&mut host, 1).await;
    b.wait_screen("reveal").await;
    b.wait_js(
        "verdict",
        "return document.getElementById('verdict-text').textContent.startsWith('Correct!');",
    )
    .await;
    host.send(sdk::live::ClientMsg::Skip).expect("skip");
    b.wait_screen("finished").await;
    let standings = ctx
        .host
        .live_standings(session.session_id)
        .await
        .expect("standings");
    assert_eq!(
        standings.len(),
        2,
        "the reload made no new player: {standings:?}"
    );
    let dee = standings
        .iter()
        .find(|s| s.nickname == "Dee")
        .expect("Dee in the standings");
    assert!(dee.score > first_score, "both answers count: {dee:?}");
    let line = format!("You finished 1st of 2 with {} points.", dee.score);
    b.wait_js(
        "own place",
        &format!(
            "return document.getElementById('you').textContent === {};",
            serde_json::json!(line)
        ),
    )
    .await;
    b.close().await;
    ctx.finish().await;
}

/// At 360x640 the page never scrolls sideways, and a player joins and answers with the
/// keyboard only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrow_phone_window_keyboard_only() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let driver = Driver::start().await;
    let (session, mut host) = host(&ctx, &[LIMIT_MS]).await;
    let b = driver.browser(360, 640).await;
    b.client
        .goto(&format!("{}/", ctx.server.base_url))
        .await
        .expect("open page");
    b.wait_screen("join").await;
    let width = b.js("return window.innerWidth;").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 360),
        "window is {width} px wide"
    );
    assert!(b.fits_width().await, "join form scrolls sideways");
    b.shot("c-join").await;

    // The page focuses the PIN field; Tab goes to the nickname, Enter submits.
    b.wait_js(
        "focus on the PIN",
        "return document.activeElement && document.activeElement.id === 'code';",
    )
    .await;
    b.keys(&session.code).await;
    b.keys("\u{E004}").await;
    b.wait_js(
        "focus on the nickname",
        "return document.activeElement && document.activeElement.id === 'nickname';",
    )
    .await;
    // The longest nickname allowed (32 characters) with no place to break: it must wrap,
    // not push the lobby, the board or the podium past the screen's edge.
    let nickname = "Wolfeschlegelsteinhausenbergerdo";
    b.keys(nickname).await;
    b.keys("\u{E007}").await;
    b.wait_screen("lobby").await;
    b.shot("c-lobby").await;
    assert!(b.fits_width().await, "lobby scrolls sideways");

    host.send(sdk::live::ClientMsg::Start).expect("start");
    wait_question(&b, 0).await;
    b.shot("c-question").await;
    assert!(b.fits_width().await, "question screen scrolls sideways");
    press_choice(&b, "yes").await;
    host_waits_reveal(&mut host, 0).await;
    b.wait_screen("reveal").await;
    b.wait_js(
        "verdict",
        "return document.getElementById('verdict-text').textContent.startsWith('Correct!');",
    )
    .await;
    b.shot("c-reveal").await;
    assert!(b.fits_width().await, "reveal scrolls sideways");
    b.close().await;
    ctx.finish().await;
}

/// The host page in one browser and a player in another play a one-question quiz to the
/// podium: the host logs in, picks the quiz, creates the game and reads the code off the page;
/// the page shows the player joining, "answered 1 of 1", the distribution and the podium, and
/// hands out the session report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_runs_a_one_question_game() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = make_quiz_with(&ctx.host, &[LIMIT_MS]).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();

    let h = driver.browser(1280, 900).await;
    h.client
        .goto(&format!("{base}/host"))
        .await
        .expect("open host page");
    h.wait_screen("login").await;
    h.type_into("username", "host").await;
    h.type_into("password", "host-password").await;
    h.click("#login-button").await;
    h.wait_screen("setup").await;
    h.wait_js(
        "the host's quizzes",
        &format!("return !!document.querySelector('#quiz option[value=\"{quiz}\"]');"),
    )
    .await;
    h.click(&format!("#quiz option[value=\"{quiz}\"]")).await;
    // A long pause after the reveal: the host moves on with Next.
    let reveal = h
        .client
        .find(fantoccini::Locator::Id("reveal"))
        .await
        .expect("reveal input");
    reveal.clear().await.expect("clear reveal");
    reveal.send_keys("60").await.expect("type reveal");
    h.shot("d-host-setup").await;
    h.click("#create-button").await;
    h.wait_screen("lobby").await;
    h.wait_js(
        "join code",
        "return /^[0-9]{6}$/.test(document.getElementById('pin').textContent);",
    )
    .await;
    let code = h.text("pin").await;
    assert_eq!(
        h.text("join-url").await,
        format!("{base}/?code={code}"),
        "the join URL is this origin's player page with the code"
    );
    h.wait_js(
        "QR code image",
        "const q = document.getElementById('qr'); return q.complete && q.naturalWidth > 0;",
    )
    .await;

    let p = driver.browser(800, 900).await;
    join(&p, &base, &code, "Ada").await;
    h.wait_js(
        "player in the roster",
        "return document.getElementById('roster').textContent.includes('Ada') \
         && document.getElementById('lobby-count').textContent === '1 player joined';",
    )
    .await;
    h.shot("d-host-lobby").await;
    h.click("#start").await;

    h.wait_screen("question").await;
    wait_question(&p, 0).await;
    assert_eq!(h.text("q-text").await, "Live question 0?");
    h.shot("d-host-question").await;
    click_choice(&p, "yes").await;

    // The only player answered: the question closes early and the host sees the reveal.
    h.wait_screen("reveal").await;
    h.wait_js(
        "answered 1 of 1",
        "return document.getElementById('r-answered').textContent === 'answered 1 of 1';",
    )
    .await;
    let bars = h
        .js("return [...document.querySelectorAll('#bars li')].map(li => [li.querySelector('.bar-label').textContent, li.querySelector('.bar-count').textContent, li.classList.contains('correct'), li.querySelector('.bar-fill').style.width]);")
        .await;
    assert_eq!(
        bars,
        serde_json::json!([
            ["no", "0", false, "0%"],
            ["✓ yes", "1", true, "100%"],
            ["maybe", "0", false, "0%"]
        ]),
        "the distribution marks the correct choice; widths set through the CSSOM stick under the CSP"
    );
    let drawn = h
        .js("return document.querySelector('#bars li.correct .bar-fill').getBoundingClientRect().width > 50;")
        .await;
    assert_eq!(drawn, serde_json::json!(true), "the full bar is drawn wide");
    h.wait_js(
        "leaderboard",
        "return document.getElementById('board').textContent.includes('Ada');",
    )
    .await;
    h.shot("d-host-reveal").await;

    h.click("#next").await;
    h.wait_screen("finished").await;
    p.wait_screen("finished").await;
    let standings = ctx
        .host
        .live_standings(session_id(&h).await)
        .await
        .expect("standings");
    let ada = standings
        .iter()
        .find(|s| s.nickname == "Ada")
        .expect("Ada in the standings");
    h.wait_js(
        "podium",
        &format!(
            "const t = document.getElementById('podium').textContent; \
             return t.includes('Ada') && t.includes('{}');",
            ada.score
        ),
    )
    .await;
    h.shot("d-host-podium").await;

    // The report comes through the bearer token as a Blob URL.
    h.click("#report").await;
    h.wait_js(
        "report link",
        "const a = document.getElementById('report-link'); return !a.hidden && a.href.startsWith('blob:');",
    )
    .await;
    // The page's CSP keeps scripts from reading a blob: URL back; the page notes the Blob's
    // size, which must be the size of the report the API serves.
    let csv = ctx
        .host
        .live_session_report_csv(session_id(&h).await)
        .await
        .expect("report csv");
    assert!(csv.contains("Ada"), "report: {csv}");
    let size = h
        .js("return Number(document.getElementById('report-link').dataset.bytes);")
        .await;
    assert_eq!(size.as_u64(), Some(csv.len() as u64), "report size");
    h.close().await;
    p.close().await;
    ctx.finish().await;
}

/// The id of the session the host page created (the page keeps it on its final screen as
/// `data-session`, for the report).
async fn session_id(h: &Browser) -> i64 {
    let v = h
        .js("return Number(document.getElementById('finished').dataset.session || 0);")
        .await;
    v.as_i64()
        .filter(|id| *id > 0)
        .expect("session id on the page")
}
