//! The player and host pages (and the API console at `/docs`) in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, `fantoccini`) against an in-process gateway on SQLite, one browser session per
//! player and one for the host page (or, in the tests about the player page, the host driven
//! from Rust through the SDK's `LiveClient`). Needs `chromium` and `chromium-driver` installed
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

#[path = "browser/docs.rs"]
mod docs;

#[path = "browser/options.rs"]
mod options;

use common::{connect_to, host_session, make_quiz_with, Ctx};
use harness::{Browser, Driver};
use livequiz_sdk::live::{Credentials, LiveClient, ServerMsg};

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

async fn host(ctx: &Ctx, limits: &[u32]) -> (livequiz_sdk::live::CreatedSession, LiveClient) {
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
        if let livequiz_sdk::live::LiveEvent::Message(m) = &ev {
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
    host.send(livequiz_sdk::live::ClientMsg::Start)
        .expect("start");

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
        host.send(livequiz_sdk::live::ClientMsg::Skip)
            .expect("skip");
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
    host.send(livequiz_sdk::live::ClientMsg::Start)
        .expect("start");

    host_waits_question(&mut host, 0).await;
    wait_question(&b, 0).await;
    click_choice(&b, "yes").await;
    wait_locked(&b).await;
    host.send(livequiz_sdk::live::ClientMsg::Skip)
        .expect("skip");
    host_waits_reveal(&mut host, 0).await;
    b.wait_screen("reveal").await;
    let first_score: i64 = b.text("r-score").await.parse().expect("score");
    assert!(first_score > 0, "a correct answer scores");
    host.send(livequiz_sdk::live::ClientMsg::Skip)
        .expect("skip");

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

    host.send(livequiz_sdk::live::ClientMsg::Skip)
        .expect("skip");
    host_waits_reveal(&mut host, 1).await;
    b.wait_screen("reveal").await;
    b.wait_js(
        "verdict",
        "return document.getElementById('verdict-text').textContent.startsWith('Correct!');",
    )
    .await;
    host.send(livequiz_sdk::live::ClientMsg::Skip)
        .expect("skip");
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

    host.send(livequiz_sdk::live::ClientMsg::Start)
        .expect("start");
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
    host_page_login(&h, &base, "host", "host-password").await;
    pick_quiz(&h, quiz).await;
    // A long pause after the reveal: the host moves on with Next.
    h.fill("reveal-pause", "60").await;
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
         && document.getElementById('lobby-count').textContent === '1 of 10,000 players joined';",
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
            ["yes✓ correct", "1", true, "100%"],
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

// ---- the host page ------------------------------------------------------------------------

/// Opens the host page and logs in as `user` through its form; waits for the quiz choice.
async fn host_page_login(h: &Browser, base: &str, user: &str, password: &str) {
    h.client
        .goto(&format!("{base}/host"))
        .await
        .expect("open host page");
    h.wait_screen("login").await;
    h.type_into("username", user).await;
    h.type_into("password", password).await;
    h.click("#login-button").await;
    h.wait_screen("setup").await;
}

/// Picks the quiz `quiz` on the host page's setup form.
async fn pick_quiz(h: &Browser, quiz: i64) {
    h.wait_js(
        "the host's quizzes",
        &format!("return !!document.querySelector('#quiz option[value=\"{quiz}\"]');"),
    )
    .await;
    h.click(&format!("#quiz option[value=\"{quiz}\"]")).await;
}

/// Creates the game on the host page and returns its join code, read off the lobby.
async fn create_game(h: &Browser) -> String {
    h.click("#create-button").await;
    h.wait_screen("lobby").await;
    h.wait_js(
        "join code",
        "return /^[0-9]{6}$/.test(document.getElementById('pin').textContent);",
    )
    .await;
    h.text("pin").await
}

/// Waits until the setup form shows the error `text` with the focus on the field `field`.
async fn wait_setup_error(h: &Browser, text: &str, field: &str) {
    h.wait_js(
        &format!("setup error on {field}"),
        &format!(
            "return document.getElementById('setup-error').textContent === {} \
             && document.activeElement && document.activeElement.id === '{field}' \
             && document.activeElement.getAttribute('aria-invalid') === 'true';",
            serde_json::json!(text)
        ),
    )
    .await;
}

/// The rows of the leaderboard `<ol>` with id `id`: `[rank, nickname, movement shown, movement
/// said to screen readers, score]` by nickname.
async fn board_rows(
    b: &Browser,
    id: &str,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let rows = b
        .js(&format!(
            "return [...document.querySelectorAll('#{id} li')].map(li => [li.value, \
             li.querySelector('.name').textContent, \
             li.querySelector('.move [aria-hidden]')?.textContent ?? null, \
             li.querySelector('.move .sr-only')?.textContent ?? null, \
             li.querySelector('.score').textContent]);"
        ))
        .await;
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| (r[1].as_str().expect("name").to_string(), r.clone()))
        .collect()
}

/// A host (on the host page) and three players, each in their own browser session, play a
/// whole quiz: the host sets the scoring and options on the form, creates the game, starts it,
/// shows every reveal and leaderboard (with the rank changes) and ends at the podium; the
/// players answer differently. The scores and ranks the pages show equal the REST standings,
/// and the scores are the ones the host's scoring settings give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_and_three_players_play_a_whole_quiz() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = make_quiz_with(&ctx.host, &[LIMIT_MS, LIMIT_MS, LIMIT_MS]).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();

    let h = driver.browser(1280, 900).await;
    host_page_login(&h, &base, "host", "host-password").await;
    pick_quiz(&h, quiz).await;
    h.fill("reveal-pause", "60").await;
    // Scoring: 800 points for a correct answer, all of them for any answer within the
    // (whole) 60 s limit, and a streak bonus of 50 per correct answer in a row after the first.
    h.click("#scoring-box summary").await;
    h.fill("max-points", "800").await;
    h.fill("full-window", "60").await;
    h.fill("streak-step", "50").await;
    h.fill("streak-cap", "500").await;
    h.fill("max-players", "10").await;
    h.shot("f-host-setup").await;
    let code = create_game(&h).await;

    let names = ["Ada", "Bo", "Cy"];
    let mut players = Vec::new();
    for name in names {
        let b = driver.browser(800, 900).await;
        join(&b, &base, &code, name).await;
        players.push(b);
    }
    h.wait_js(
        "three players in the lobby",
        "return document.getElementById('lobby-count').textContent === '3 of 10 players joined';",
    )
    .await;
    h.click("#start").await;

    // Who picks what ("yes" is right): the ranks move at every question.
    let picks = [
        ["yes", "no", "no"],
        ["no", "yes", "no"],
        ["yes", "yes", "yes"],
    ];
    for (qi, picks) in picks.iter().enumerate() {
        h.wait_screen("question").await;
        h.wait_js(
            &format!("host question {qi}"),
            &format!(
                "return document.getElementById('q-text').textContent === 'Live question {qi}?';"
            ),
        )
        .await;
        for b in &players {
            wait_question(b, qi).await;
        }
        if qi == 0 {
            // The host's tiles have the players' colours and shapes, choice by choice.
            let tiles = h
                .js("return [...document.querySelectorAll('#q-choices li')].map(li => [li.className, li.querySelector('svg.shape').innerHTML, li.textContent]);")
                .await;
            let buttons = players[0]
                .js("return [...document.querySelectorAll('#choices button')].map(b => [b.className.replace('choice ', ''), b.querySelector('svg.shape').innerHTML, b.querySelector('.ctext').textContent]);")
                .await;
            assert_eq!(tiles, buttons, "host tiles and player buttons");
            assert_eq!(tiles.as_array().map(Vec::len), Some(3));
            h.shot("f-host-question").await;
        }
        click_choice(&players[0], picks[0]).await;
        click_choice(&players[1], picks[1]).await;
        press_choice(&players[2], picks[2]).await;

        // Everyone answered: the question closes early and the host shows the distribution.
        h.wait_screen("reveal").await;
        h.wait_js(
            "answered 3 of 3",
            "return document.getElementById('r-answered').textContent === 'answered 3 of 3';",
        )
        .await;
        let yes = picks.iter().filter(|p| **p == "yes").count();
        let bars = h
            .js("return [...document.querySelectorAll('#bars li')].map(li => [li.querySelector('.bar-text').textContent, li.querySelector('.bar-count').textContent, li.querySelector('.bar-mark')?.textContent ?? '', li.querySelector('.swatch svg.shape') !== null]);")
            .await;
        assert_eq!(
            bars,
            serde_json::json!([
                ["no", (3 - yes).to_string(), "", true],
                ["yes", yes.to_string(), "✓ correct", true],
                ["maybe", "0", "", true]
            ]),
            "question {qi}: counts, the correct choice marked in words, a shape on every bar"
        );
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
        }
        if qi == 1 {
            h.shot("f-host-reveal").await;
        }
        match qi {
            0 => {
                // Straight on from the chart; the first board has nothing to compare with.
                assert!(board_rows(&h, "board")
                    .await
                    .values()
                    .all(|r| r[2].is_null()));
                h.click("#next").await;
            }
            1 => {
                h.click("#to-board").await;
                h.wait_screen("standings").await;
                // After question 0: Ada 800, Bo 0, Cy 0 (ranks 1, 2, 2); after question 1:
                // Ada 800, Bo 800, Cy 0 (ranks 1, 1, 3).
                h.wait_js(
                    "leaderboard after question 1",
                    "return [...document.querySelectorAll('#board li .score')].map(e => e.textContent).sort().join() === '0,800,800';",
                )
                .await;
                let rows = board_rows(&h, "board").await;
                assert_eq!(
                    rows["Ada"],
                    serde_json::json!([1, "Ada", "=", " (unchanged)", "800"])
                );
                assert_eq!(
                    rows["Bo"],
                    serde_json::json!([1, "Bo", "▲1", " (up 1 place)", "800"])
                );
                assert_eq!(
                    rows["Cy"],
                    serde_json::json!([3, "Cy", "▼1", " (down 1 place)", "0"])
                );
                h.shot("f-host-leaderboard").await;
                // The players' boards show the same moves; Cy's own row is marked.
                players[2]
                    .wait_js(
                        "Cy's board",
                        "const li = document.querySelector('#board li.me'); return !!li && li.textContent.includes('▼1');",
                    )
                    .await;
                let cy = board_rows(&players[2], "board").await;
                assert_eq!(cy, rows, "the player's board equals the host's");
                players[2].shot("f-player-leaderboard").await;
                h.click("#board-next").await;
            }
            _ => {
                h.click("#to-board").await;
                h.wait_screen("standings").await;
                assert_eq!(h.text("board-next").await, "Final results");
                h.click("#board-next").await;
            }
        }
    }

    h.wait_screen("finished").await;
    let standings = ctx
        .host
        .live_standings(session_id(&h).await)
        .await
        .expect("standings");
    // 800 a correct answer, +50 for the second in a row (Bo's last one).
    let scores: Vec<(u64, &str, i64)> = standings
        .iter()
        .map(|s| (s.rank, s.nickname.as_str(), s.score))
        .collect();
    assert_eq!(
        scores,
        [(1, "Bo", 1650), (2, "Ada", 1600), (3, "Cy", 800)],
        "the host's scoring settings"
    );
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
    }
    // The host's podium is the stored standings, with the moves of the last question.
    let podium = h
        .js("return [...document.querySelectorAll('#podium li')].map(li => [Number(li.querySelector('.place-rank').textContent), li.querySelector('.place-name').textContent, Number(li.querySelector('.place-score').textContent), li.querySelector('.move .sr-only')?.textContent ?? null]);")
        .await;
    let expected: Vec<serde_json::Value> = standings
        .iter()
        .zip([" (unchanged)", " (down 1 place)", " (unchanged)"])
        .map(|(s, mv)| serde_json::json!([s.rank, s.nickname, s.score, mv]))
        .collect();
    assert_eq!(podium, serde_json::Value::Array(expected), "host podium");
    h.shot("f-host-podium").await;
    players[0].shot("f-player-finished").await;
    for b in players {
        b.close().await;
    }
    h.close().await;
    ctx.finish().await;
}

/// Two-step join through both pages: the host page refuses bad settings (its own check and
/// the server's 422), creates a two-step game and shows the rotating pattern next to the code;
/// a player without the pattern is refused and asked for it, and joins with the pattern read
/// off the host page. The host then skips the unanswered question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_join_through_the_host_and_player_pages() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = make_quiz_with(&ctx.host, &[LIMIT_MS]).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();

    let h = driver.browser(1280, 900).await;
    host_page_login(&h, &base, "host", "host-password").await;
    pick_quiz(&h, quiz).await;
    // The page's own check, before any request: the field is marked, focused and shown.
    h.click("#scoring-box summary").await;
    h.fill("max-points", "0").await;
    h.click("#scoring-box summary").await; // closed again: the error opens it
    h.click("#create-button").await;
    wait_setup_error(
        &h,
        "The points for a correct answer are 1 to 100000.",
        "max-points",
    )
    .await;
    assert_eq!(
        h.js("return document.getElementById('scoring-box').open;")
            .await,
        serde_json::json!(true)
    );
    h.fill("max-points", "1000").await;
    // The server's limit on players (10,000 here) is not known to the page: its 422 is shown.
    h.fill("max-players", "20000").await;
    h.click("#create-button").await;
    h.wait_js(
        "the server's 422",
        "return document.getElementById('setup-error').textContent.startsWith('The server refused these settings: max_players') \
         && document.activeElement.id === 'max-players';",
    )
    .await;
    assert_eq!(
        h.js("return document.getElementById('setup').hidden;")
            .await,
        serde_json::json!(false),
        "still on the form"
    );
    h.fill("max-players", "5").await;
    h.click("#two-step").await;
    let code = create_game(&h).await;
    h.wait_js(
        "join pattern",
        "const b = document.getElementById('pattern-box'); \
         return !b.hidden && /^[1-6]{4}$/.test(document.getElementById('pattern').textContent) \
         && /^New pattern in [0-9]+ s$/.test(document.getElementById('pattern-rotation').textContent);",
    )
    .await;
    h.wait_js(
        "QR code image",
        "const q = document.getElementById('qr'); return q.complete && q.naturalWidth > 0;",
    )
    .await;
    h.shot("e-host-lobby").await;

    // The QR code's link prefills the code; without the pattern the server refuses the join
    // and the page asks for it.
    let p = driver.browser(800, 900).await;
    p.client
        .goto(&format!("{base}/?code={code}"))
        .await
        .expect("open player page");
    p.wait_screen("join").await;
    p.type_into("nickname", "Pat").await;
    p.click("#join-button").await;
    p.wait_js(
        "bad pattern",
        "return document.getElementById('join-error').textContent.length > 0 \
         && document.getElementById('pattern-box').open \
         && document.activeElement.id === 'pattern';",
    )
    .await;
    p.shot("e-player-asks-pattern").await;
    let pattern = h.text("pattern").await;
    p.type_into("pattern", &pattern).await;
    p.click("#join-button").await;
    p.wait_screen("lobby").await;
    assert_eq!(p.text("lobby-name").await, "Pat");
    h.wait_js(
        "Pat in the roster",
        "return document.getElementById('roster').textContent.includes('Pat') \
         && document.getElementById('lobby-count').textContent === '1 of 5 players joined';",
    )
    .await;
    // The pattern rotates and the page follows.
    h.wait_js(
        "a new pattern",
        &format!(
            "const t = document.getElementById('pattern').textContent; \
             return /^[1-6]{{4}}$/.test(t) && t !== {};",
            serde_json::json!(pattern)
        ),
    )
    .await;

    h.click("#start").await;
    h.wait_screen("question").await;
    wait_question(&p, 0).await;
    // Nobody answers: the host closes the question.
    h.click("#skip").await;
    h.wait_screen("reveal").await;
    p.wait_screen("reveal").await;
    assert_eq!(h.text("r-answered").await, "answered 0 of 1");
    h.click("#end").await;
    h.wait_screen("finished").await;
    p.wait_screen("finished").await;
    h.close().await;
    p.close().await;
    ctx.finish().await;
}

/// A tab that is logged in (here through the host page's form, which keeps the token for the
/// whole tab) is offered "Join as <username>" on the player page and joins with its login
/// token; the nickname typed for a guest is not used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_page_joins_as_the_logged_in_user() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let driver = Driver::start().await;
    let (session, mut host) = host(&ctx, &[LIMIT_MS]).await;
    let base = ctx.server.base_url.clone();
    livequiz_sdk::Client::new(&base)
        .expect("client")
        .register(&livequiz_sdk::types::RegisterRequest {
            username: "zoe".into(),
            password: "zoe-password-1".into(),
        })
        .await
        .expect("register zoe");

    let b = driver.browser(800, 900).await;
    host_page_login(&b, &base, "zoe", "zoe-password-1").await;
    b.client
        .goto(&format!("{base}/?code={}", session.code))
        .await
        .expect("open player page");
    b.wait_screen("join").await;
    b.wait_js(
        "join as zoe",
        "return !document.getElementById('as-box').hidden \
         && document.getElementById('as-account-label').textContent === 'Join as zoe' \
         && document.getElementById('as-account').checked \
         && document.getElementById('guest-fields').hidden;",
    )
    .await;
    b.shot("g-join-as-user").await;
    // A guest needs the nickname field; back to the account, the typed nickname is unused.
    b.click("#as-guest").await;
    assert_eq!(
        b.js("return document.getElementById('guest-fields').hidden;")
            .await,
        serde_json::json!(false)
    );
    b.type_into("nickname", "Someone").await;
    b.click("#as-account").await;
    b.click("#join-button").await;
    b.wait_screen("lobby").await;
    assert_eq!(b.text("lobby-name").await, "zoe");
    let joined = host_waits(&mut host, "roster", |m| match m {
        ServerMsg::Roster {
            nickname, event, ..
        } if event == "joined" => Some(nickname.clone()),
        _ => None,
    })
    .await;
    assert_eq!(joined, "zoe");
    host.send(livequiz_sdk::live::ClientMsg::End).expect("end");
    b.wait_screen("finished").await;
    let standings = ctx
        .host
        .live_standings(session.session_id)
        .await
        .expect("standings");
    assert_eq!(
        standings
            .iter()
            .map(|s| s.nickname.as_str())
            .collect::<Vec<_>>(),
        ["zoe"]
    );
    b.close().await;
    ctx.finish().await;
}

/// page.js's leaderboard renderer, run in the browser on made-up standings: each row's
/// movement since the previous standings (up, down, unchanged, new; ties share a rank), in
/// symbols and in words; no movement without previous standings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboard_renderer_shows_rank_changes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let driver = Driver::start().await;
    let b = driver.browser(800, 900).await;
    b.client
        .goto(&format!("{}/", ctx.server.base_url))
        .await
        .expect("open page");
    b.wait_screen("join").await;
    let out = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            import("/static/page.js").then((m) => {
              const p = (rank, player_id, nickname, score) => ({ rank, player_id, nickname, score });
              const before = [p(1, 1, "A", 300), p(2, 2, "B", 200), p(3, 3, "C", 100), p(4, 4, "D", 50)];
              const now = [p(1, 3, "C", 900), p(2, 1, "A", 400), p(2, 2, "B", 400), p(4, 5, "E", 60), p(5, 4, "D", 50)];
              const rows = (ol) => [...ol.children].map((li) => [li.value, li.textContent, li.className]);
              const ol = document.createElement("ol");
              m.renderBoard(ol, now, 2, before);
              const withMoves = rows(ol);
              m.renderBoard(ol, now, null);
              const without = rows(ol);
              m.renderBoard(ol, now, null, []);
              const fromEmpty = rows(ol).map((r) => r[1]);
              done({ withMoves, without, fromEmpty });
            }, (e) => done({ error: String(e) }));"#,
            vec![],
        )
        .await
        .expect("run page.js");
    assert_eq!(
        out["withMoves"],
        serde_json::json!([
            [1, "C▲2 (up 2 places)900", ""],
            [2, "A▼1 (down 1 place)400", ""],
            [2, "B= (unchanged)400", "me"],
            [4, "Enew (new on the board)60", ""],
            [5, "D▼1 (down 1 place)50", ""]
        ]),
        "{out}"
    );
    assert_eq!(
        out["without"],
        serde_json::json!([
            [1, "C900", ""],
            [2, "A400", ""],
            [2, "B400", ""],
            [4, "E60", ""],
            [5, "D50", ""]
        ])
    );
    assert!(out["fromEmpty"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|t| t.as_str().is_some_and(|t| t.contains("new"))));
    b.close().await;
    ctx.finish().await;
}

/// At 360x640 the host page's screens (the setup form with its groups open, the lobby with the
/// join pattern, the question tiles, the chart and the leaderboard) do not scroll sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_fits_a_narrow_window() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = make_quiz_with(&ctx.host, &[LIMIT_MS, LIMIT_MS]).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();
    let h = driver.browser(360, 640).await;
    host_page_login(&h, &base, "host", "host-password").await;
    pick_quiz(&h, quiz).await;
    h.click("#scoring-box summary").await;
    assert!(h.fits_width().await, "setup form scrolls sideways");
    h.fill("reveal-pause", "60").await;
    h.click("#two-step").await;
    h.shot("h-host-narrow-setup").await;
    let code = create_game(&h).await;
    h.wait_js(
        "join pattern",
        "return /^[1-6]{4}$/.test(document.getElementById('pattern').textContent);",
    )
    .await;
    let pattern = h.text("pattern").await;
    // A player with a long nickname joins with the pattern read off the page.
    let p = driver.browser(800, 900).await;
    p.client
        .goto(&format!("{base}/?code={code}"))
        .await
        .expect("open player page");
    p.wait_screen("join").await;
    p.type_into("nickname", "Wolfeschlegelsteinhausenbergerdo")
        .await;
    p.click("#pattern-box summary").await;
    p.type_into("pattern", &pattern).await;
    p.click("#join-button").await;
    p.wait_screen("lobby").await;
    h.wait_js(
        "the player in the roster",
        "return document.getElementById('lobby-count').textContent === '1 of 10,000 players joined';",
    )
    .await;
    h.shot("h-host-narrow-lobby").await;
    assert!(h.fits_width().await, "lobby scrolls sideways");
    h.click("#start").await;
    h.wait_screen("question").await;
    h.shot("h-host-narrow-question").await;
    assert!(h.fits_width().await, "question scrolls sideways");
    wait_question(&p, 0).await;
    click_choice(&p, "yes").await;
    h.wait_screen("reveal").await;
    h.shot("h-host-narrow-reveal").await;
    assert!(h.fits_width().await, "reveal scrolls sideways");
    h.click("#to-board").await;
    h.wait_screen("standings").await;
    h.wait_js(
        "the player on the board",
        "return document.getElementById('board').textContent.includes('Wolfe');",
    )
    .await;
    h.shot("h-host-narrow-leaderboard").await;
    assert!(h.fits_width().await, "leaderboard scrolls sideways");
    h.close().await;
    p.close().await;
    ctx.finish().await;
}
