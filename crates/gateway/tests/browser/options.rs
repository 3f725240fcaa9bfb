//! The play options and accommodations through the host and player pages: question texts only
//! on the host's screen, accuracy-only scoring, per-player extra time set from the host's
//! roster, the player cap in the lobbies, and each player's live rank and percentile.

use serde_json::{json, Value};

use super::common::{make_quiz_with, Ctx};
use super::harness::{Browser, Driver};
use super::{create_game, host_page_login, join, pick_quiz, session_id, LIMIT_MS, ONE_AT_A_TIME};

/// The player id of `nickname` in the host page's roster.
async fn roster_id(h: &Browser, nickname: &str) -> i64 {
    h.js(&format!(
        "const li = [...document.querySelectorAll('#roster li')].find(li => \
         li.querySelector('.roster-name').textContent === {}); \
         return li ? Number(li.dataset.player) : null;",
        json!(nickname)
    ))
    .await
    .as_i64()
    .unwrap_or_else(|| panic!("{nickname} not in the host's roster"))
}

/// The host page's roster rows: `[name, confirmed extra time, the select's value]`.
async fn roster_rows(h: &Browser) -> Value {
    h.js(
        "return [...document.querySelectorAll('#roster li')].map(li => [\
          li.querySelector('.roster-name').textContent, \
          li.querySelector('.roster-extra').textContent, \
          li.querySelector('select').value]);",
    )
    .await
}

/// Picks `label` ("none", "x1.5", "x2", "x3") in the extra-time list of player `id` on the
/// host page, as a user would (a click on the option), and waits for the server's
/// confirmation to show on the row.
async fn give_extra_time(h: &Browser, id: i64, label: &str, percent: u32) {
    let select = h
        .client
        .find(fantoccini::Locator::Css(&format!(
            "#roster li[data-player=\"{id}\"] select"
        )))
        .await
        .expect("the row's extra-time list");
    select
        .select_by_label(label)
        .await
        .expect("pick the extra time");
    let shown = if percent > 100 {
        format!("{label} time")
    } else {
        String::new()
    };
    h.wait_js(
        &format!("extra time {label} confirmed"),
        &format!(
            "const li = document.querySelector('#roster li[data-player=\"{id}\"]'); \
             return !!li && li.dataset.extraTime === '{percent}' \
             && li.querySelector('.roster-extra').textContent === {} \
             && li.querySelector('.roster-row-error').textContent === '';",
            json!(shown)
        ),
    )
    .await;
}

/// Waits until the player page shows the hidden-texts question `index`: the host's-screen
/// note instead of the text, and three enabled buttons named by shape.
async fn wait_hidden_question(b: &Browser, index: usize) {
    b.wait_screen("question").await;
    b.wait_js(
        &format!("hidden question {index}"),
        &format!(
            "return document.getElementById('q-index').textContent.startsWith('Question {} of') \
             && document.getElementById('q-text').textContent === \"Look at the host's screen\" \
             && document.querySelectorAll('#choices button:not([disabled])').length === 3;",
            index + 1
        ),
    )
    .await;
}

/// The player's own deadline and time limit, as the page keeps them from the question frame.
async fn own_deadline(b: &Browser) -> (i64, i64) {
    let v = b
        .js("const d = document.getElementById('question').dataset; \
             return [Number(d.deadline), Number(d.timeLimit)];")
        .await;
    (
        v[0].as_i64().expect("deadline"),
        v[1].as_i64().expect("time limit"),
    )
}

/// Waits until the question's countdown on the page has moved `seconds` below `from`: the
/// answer then comes well after the full-points window, where speed scoring would take points
/// off.
async fn wait_countdown_below(b: &Browser, from: i64, seconds: i64) {
    b.wait_js(
        "the countdown to move",
        &format!(
            "return Number(document.getElementById('q-seconds').textContent) <= {};",
            from / 1000 - seconds
        ),
    )
    .await;
}

async fn wait_locked(b: &Browser) {
    b.wait_js(
        "answer locked",
        "return document.getElementById('q-status').textContent.startsWith('Answer locked in');",
    )
    .await;
}

/// "Rank r of n · top x% · ahead of p% of the others": what the standings imply for `name`
/// (competition ranks; `p` is the share of the other players with fewer points, rounded down).
fn standing_line(standings: &[livequiz_sdk::live::Standing], name: &str) -> (String, String) {
    let me = standings
        .iter()
        .find(|s| s.nickname == name)
        .unwrap_or_else(|| panic!("{name} not in {standings:?}"));
    let n = standings.len() as u64;
    let top = (100 * me.rank).div_ceil(n);
    let behind = standings.iter().filter(|s| s.score < me.score).count() as u64;
    let ahead = 100 * behind / (n - 1);
    (
        format!(
            "Rank {} of {n} · top {top}% · ahead of {ahead}% of the others",
            me.rank
        ),
        format!("Top {top}% · ahead of {ahead}% of the other players."),
    )
}

/// A host page creates a session with the texts only on its own screen and accuracy-only
/// scoring; two players join (both lobbies say "2 of 30"); the host gives Bo double time from
/// the roster (confirmed on the page). The players' pages show the shapes without texts, Bo's
/// with the extra-time note and a deadline one limit later than Ada's; late answers still earn
/// the full points; a reload of the host page mid-game brings the roster back (names and extra
/// time), and its extra-time control still works; each player's rank and percentile are the
/// ones the stored standings imply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_page_hides_texts_scores_accuracy_and_gives_extra_time() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = make_quiz_with(&ctx.host, &[LIMIT_MS, LIMIT_MS]).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();

    let h = driver.browser(1280, 900).await;
    host_page_login(&h, &base, "host", "host-password").await;
    pick_quiz(&h, quiz).await;
    h.fill("reveal-pause", "60").await;
    h.fill("max-players", "30").await;
    assert_eq!(
        h.js("return [document.getElementById('show-question').checked, document.getElementById('speed').checked];")
            .await,
        json!([true, true]),
        "both options are on by default"
    );
    h.click("#show-question").await;
    h.click("#scoring-box summary").await;
    h.click("#speed").await;
    assert_eq!(
        h.js("return document.getElementById('full-window').disabled;")
            .await,
        json!(true),
        "without points for speed the full-points window is off"
    );
    let code = create_game(&h).await;

    let ada = driver.browser(800, 900).await;
    join(&ada, &base, &code, "Ada").await;
    let bo = driver.browser(800, 900).await;
    join(&bo, &base, &code, "Bo").await;
    h.wait_js(
        "2 of 30 in the host's lobby",
        "return document.getElementById('lobby-count').textContent === '2 of 30 players joined' \
         && document.getElementById('players-summary').textContent === 'Players (2 of 30)';",
    )
    .await;
    for b in [&ada, &bo] {
        b.wait_js(
            "2 of 30 in the player's lobby",
            "return document.getElementById('lobby-count').textContent === '2 of 30 players joined';",
        )
        .await;
    }

    // Double time for Bo, from the roster.
    let bo_id = roster_id(&h, "Bo").await;
    assert_eq!(
        h.js(&format!(
            "return document.querySelector('#roster li[data-player=\"{bo_id}\"] select').getAttribute('aria-label');"
        ))
        .await,
        json!("Extra time for Bo")
    );
    // A value the protocol refuses (slipped into the list here) is not sent: the row says
    // why and keeps what the server has.
    h.js(&format!(
        "const o = document.createElement('option'); o.value = '500'; o.textContent = 'x5'; \
         document.querySelector('#roster li[data-player=\"{bo_id}\"] select').appendChild(o);"
    ))
    .await;
    h.client
        .find(fantoccini::Locator::Css(&format!(
            "#roster li[data-player=\"{bo_id}\"] select"
        )))
        .await
        .expect("Bo's extra-time list")
        .select_by_label("x5")
        .await
        .expect("pick x5");
    h.wait_js(
        "the row's error",
        &format!(
            "const li = document.querySelector('#roster li[data-player=\"{bo_id}\"]'); \
             return li.querySelector('.roster-row-error').textContent === \
                'extra time is a whole percent from 100 to 300' \
             && li.querySelector('select').value === '100';"
        ),
    )
    .await;
    give_extra_time(&h, bo_id, "x2", 200).await;
    assert_eq!(
        roster_rows(&h).await,
        json!([["Ada", "", "100"], ["Bo", "x2 time", "200"]])
    );
    h.click("#start").await;

    // Question 0: the host shows the texts, the players only the shapes.
    h.wait_screen("question").await;
    h.wait_js(
        "host question 0",
        "return document.getElementById('q-text').textContent === 'Live question 0?' \
         && document.getElementById('q-extra').textContent === \
            'Extra time: players who have it may answer up to 60 s more.';",
    )
    .await;
    for b in [&ada, &bo] {
        wait_hidden_question(b, 0).await;
        let buttons = b
            .js(
                "return [...document.querySelectorAll('#choices button')].map(e => [e.className, \
                 e.querySelector('.ctext').textContent, e.getAttribute('aria-label'), \
                 e.querySelector('svg.shape') !== null]);",
            )
            .await;
        assert_eq!(
            buttons,
            json!([
                ["choice c0", "Triangle", "Triangle, choice 1", true],
                ["choice c1", "Diamond", "Diamond, choice 2", true],
                ["choice c2", "Circle", "Circle, choice 3", true]
            ]),
            "colour, shape and name; no text"
        );
        let leaked = b
            .js(
                "const t = document.getElementById('question').textContent; \
                 return ['Live question', 'yes', 'maybe'].some(w => t.includes(w));",
            )
            .await;
        assert_eq!(
            leaked,
            json!(false),
            "no question or choice text on a device"
        );
    }
    bo.wait_js(
        "Bo's extra-time note",
        "const e = document.getElementById('q-extra'); \
         return !e.hidden && e.textContent === 'You have extra time (x2)';",
    )
    .await;
    assert_eq!(
        ada.js("return document.getElementById('q-extra').hidden;")
            .await,
        json!(true)
    );
    let (ada_deadline, ada_limit) = own_deadline(&ada).await;
    let (bo_deadline, bo_limit) = own_deadline(&bo).await;
    assert_eq!(ada_limit, i64::from(LIMIT_MS));
    assert_eq!(
        bo_limit,
        2 * i64::from(LIMIT_MS),
        "Bo's own limit is double"
    );
    assert_eq!(
        bo_deadline - ada_deadline,
        i64::from(LIMIT_MS),
        "Bo's deadline is one limit after Ada's (same opening)"
    );
    bo.shot("g-player-hidden").await;

    // Both answer right ("yes" is the diamond, key 2), seconds after the opening: more than
    // the full-points window, so speed scoring would have taken points off.
    wait_countdown_below(&ada, ada_limit, 2).await;
    ada.keys("2").await;
    wait_locked(&ada).await;
    wait_countdown_below(&bo, bo_limit, 2).await;
    bo.click("#choices button.c1").await;
    wait_locked(&bo).await;
    for b in [&ada, &bo] {
        b.wait_screen("reveal").await;
        b.wait_js(
            "verdict",
            "return document.getElementById('verdict-text').textContent.startsWith('Correct!');",
        )
        .await;
        assert_eq!(b.text("r-correct").await, "Correct: diamond (choice 2)");
        // Tied at 1000: both first of two, nobody behind.
        b.wait_js(
            "rank after question 0",
            "return document.getElementById('r-standing').textContent === \
             'Rank 1 of 2 · top 50% · ahead of 0% of the others' \
             && document.getElementById('r-score').textContent === '1000';",
        )
        .await;
    }
    h.wait_screen("reveal").await;
    h.click("#next").await;

    // Question 1; the host page reloads in the middle of it.
    h.wait_screen("question").await;
    h.wait_js(
        "host question 1",
        "return document.getElementById('q-text').textContent === 'Live question 1?';",
    )
    .await;
    for b in [&ada, &bo] {
        wait_hidden_question(b, 1).await;
        // The rank stays on the question screen.
        b.wait_js(
            "rank on the question screen",
            "return document.getElementById('q-standing').textContent === \
             'Rank 1 of 2 · top 50% · ahead of 0% of the others';",
        )
        .await;
    }
    h.client.refresh().await.expect("reload the host page");
    h.wait_screen("question").await;
    h.wait_js(
        "host question 1 after the reload",
        "return document.getElementById('q-text').textContent === 'Live question 1?' \
         && document.getElementById('q-extra').textContent.includes('up to 60 s more') \
         && !document.getElementById('players-box').hidden \
         && document.querySelectorAll('#roster li').length === 2;",
    )
    .await;
    // The roster came with the welcome: names and extra time, behind the Players disclosure.
    assert_eq!(
        roster_rows(&h).await,
        json!([["Ada", "", "100"], ["Bo", "x2 time", "200"]]),
        "the roster after the reload"
    );
    assert_eq!(h.text("players-summary").await, "Players (2 of 30)");
    h.click("#players-summary").await;
    // Extra time for Ada from the disclosure, mid-game: confirmed at once, in force from the
    // next question (the open one keeps her deadline).
    let ada_id = roster_id(&h, "Ada").await;
    give_extra_time(&h, ada_id, "x1.5", 150).await;
    assert_eq!(
        roster_rows(&h).await,
        json!([["Ada", "x1.5 time", "150"], ["Bo", "x2 time", "200"]])
    );
    h.shot("g-host-roster-extra-time").await;
    assert_eq!(own_deadline(&ada).await.1, i64::from(LIMIT_MS));

    // Ada answers wrong (the triangle, "no"), Bo right.
    ada.keys("1").await;
    wait_locked(&ada).await;
    bo.click("#choices button.c1").await;
    wait_locked(&bo).await;
    // 1000 for each right answer, whenever it came, and Bo's streak bonus (100): Bo 2100,
    // Ada 1000.
    bo.wait_js(
        "Bo's rank after question 1",
        "return document.getElementById('r-standing').textContent === \
         'Rank 1 of 2 · top 50% · ahead of 100% of the others';",
    )
    .await;
    ada.wait_js(
        "Ada's rank after question 1",
        "return document.getElementById('r-standing').textContent === \
         'Rank 2 of 2 · top 100% · ahead of 0% of the others';",
    )
    .await;
    bo.shot("g-player-rank-percentile").await;
    h.wait_screen("reveal").await;
    h.click("#next").await;
    h.wait_screen("finished").await;

    let session = session_id(&h).await;
    assert_eq!(
        ctx.answers_recorded(session).await,
        4,
        "every answer landed"
    );
    let standings = ctx.host.live_standings(session).await.expect("standings");
    let scores: Vec<(u64, &str, i64)> = standings
        .iter()
        .map(|s| (s.rank, s.nickname.as_str(), s.score))
        .collect();
    assert_eq!(
        scores,
        [(1, "Bo", 2100), (2, "Ada", 1000)],
        "the full 1000 points for every right answer, late or not (and Bo's streak bonus)"
    );
    for (b, name) in [(&ada, "Ada"), (&bo, "Bo")] {
        b.wait_screen("finished").await;
        let (line, last) = standing_line(&standings, name);
        assert_eq!(
            b.text("r-standing").await,
            line,
            "{name}'s rank line after the last reveal"
        );
        b.wait_js(
            "final percentile",
            &format!(
                "return document.getElementById('you-percentile').textContent === {};",
                json!(last)
            ),
        )
        .await;
    }
    for b in [ada, bo, h] {
        b.close().await;
    }
    ctx.finish().await;
}
