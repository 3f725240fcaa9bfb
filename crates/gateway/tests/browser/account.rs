//! The account page (`/account`) in headless Chromium at phone width: registering (a field
//! error beside its field, a taken name), logging out and in, practising a quiz one question at
//! a time (by mouse and by keyboard, with the verdict and the explanation after each answer),
//! the progress chart against `GET /v1/me/progress`, a practice answer refused while a live
//! game plays the question, and a registration refused by the rate limit with its wait.

use fantoccini::Locator;
use gateway::config::Config;
use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput};
use serde_json::{json, Value};

use super::common::Ctx;
use super::harness::Browser;
use super::harness::Driver;
use super::ONE_AT_A_TIME;

const PASSWORD: &str = "learner-password";

/// The chart's track, in % of its width (`CHART.track` in account.js).
const TRACK_PERCENT: f64 = 80.0;

/// One practice question: text, topic, explanation and choices (text, correct).
struct Seed {
    text: &'static str,
    topic: &'static str,
    explanation: &'static str,
    choices: &'static [(&'static str, bool)],
}

const SEEDS: [Seed; 3] = [
    Seed {
        text: "What is 2 + 3?",
        topic: "arithmetic",
        explanation: "Counting on from 2 by 3 gives 5.",
        choices: &[("6", false), ("5", true), ("23", false)],
    },
    Seed {
        text: "Which of these numbers are prime?",
        topic: "arithmetic",
        explanation: "2 and 7 have no divisors but 1 and themselves; 4 = 2 x 2 and 9 = 3 x 3.",
        choices: &[("2", true), ("4", false), ("7", true), ("9", false)],
    },
    Seed {
        text: "What is the capital of France?",
        topic: "geography",
        explanation: "Paris has been the capital for most of the last thousand years.",
        choices: &[("Lyon", false), ("Paris", true), ("Nice", false)],
    },
];

/// Creates the three questions and a quiz of them as `author`; returns the quiz id.
async fn seed_quiz(author: &livequiz_sdk::Client) -> i64 {
    let mut items = Vec::new();
    for s in &SEEDS {
        let q = author
            .create_question(&QuestionInput {
                text: s.text.into(),
                topic: s.topic.into(),
                tags: vec![],
                difficulty: 1,
                explanation: s.explanation.into(),
                choices: s
                    .choices
                    .iter()
                    .map(|(text, correct)| ChoiceInput {
                        id: None,
                        text: (*text).into(),
                        correct: *correct,
                    })
                    .collect(),
            })
            .await
            .expect("create question");
        items.push(QuizItemInput {
            question_id: q.id,
            time_limit_ms: 30_000,
        });
    }
    author
        .create_quiz(&QuizInput {
            title: "Numbers and places".into(),
            description: String::new(),
            questions: items,
        })
        .await
        .expect("create quiz")
        .id
}

/// Waits until the screen `id` shows with its data loaded (`aria-busy` off).
async fn wait_loaded(b: &Browser, id: &str) {
    b.wait_screen(id).await;
    b.wait_js(
        &format!("{id} loaded"),
        &format!("return document.getElementById('{id}').getAttribute('aria-busy') === 'false';"),
    )
    .await;
}

/// Waits until the element with the id `id` has the keyboard focus.
async fn wait_focus(b: &Browser, id: &str) {
    b.wait_js(
        &format!("focus on {id}"),
        &format!("return !!document.activeElement && document.activeElement.id === '{id}';"),
    )
    .await;
}

/// Opens the practice picker and starts quiz `quiz`.
async fn start_practice(b: &Browser, quiz: i64) {
    b.click("#nav-practice").await;
    wait_loaded(b, "practice").await;
    b.client
        .find(Locator::Id("quiz"))
        .await
        .expect("quiz select")
        .select_by_value(&quiz.to_string())
        .await
        .expect("select the quiz");
    b.click("#start-button").await;
    b.wait_screen("pq").await;
}

/// Waits for the practice question `text`, unanswered.
async fn wait_practice_question(b: &Browser, text: &str) {
    b.wait_js(
        "practice question",
        &format!(
            "return document.getElementById('pq-text').textContent === {} \
             && !document.getElementById('pq-fieldset').disabled;",
            json!(text)
        ),
    )
    .await;
}

/// Clicks the practice choice labelled `text`.
async fn click_practice_choice(b: &Browser, text: &str) {
    let i = b
        .js(&format!(
            "return [...document.querySelectorAll('#pq-choices .ctext')].findIndex(e => e.textContent === {});",
            json!(text)
        ))
        .await
        .as_i64()
        .expect("choice index");
    assert!(i >= 0, "no practice choice {text:?}");
    b.click(&format!("#pq-choices label:nth-child({})", i + 1))
        .await;
}

/// The practice choices as [text, marked correct, marked as a wrong pick].
async fn practice_marks(b: &Browser) -> Value {
    b.js("return [...document.querySelectorAll('#pq-choices label')].map(l => [l.querySelector('.ctext').textContent, l.classList.contains('is-correct'), l.classList.contains('is-wrong')]);")
        .await
}

/// Waits for the verdict and checks it and the explanation.
async fn expect_result(b: &Browser, verdict: &str, explanation: &str) {
    b.wait_js(
        "practice result",
        &format!(
            "return !document.getElementById('pq-result').hidden \
             && document.getElementById('pq-verdict-text').textContent === {};",
            json!(verdict)
        ),
    )
    .await;
    assert_eq!(b.text("pq-explanation").await, explanation);
}

/// Register (a field error first, then a taken name), log out, log in, practise a three-question
/// quiz through the page, and find the accuracy per topic REST reports in the SVG chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_page_registers_practises_and_charts_progress() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let quiz = seed_quiz(&ctx.host).await;
    let driver = Driver::start().await;
    let base = ctx.server.base_url.clone();
    let b = driver.browser(360, 740).await;

    // ---- register: the server's field error shows beside the field ----
    b.client
        .goto(&format!("{base}/account"))
        .await
        .expect("open the account page");
    b.wait_screen("login").await;
    assert!(b.fits_width().await, "login screen scrolls sideways");
    b.type_into("reg-username", "x").await;
    b.type_into("reg-password", PASSWORD).await;
    b.click("#register-button").await;
    b.wait_text("reg-username-error", "3-32 characters").await;
    assert_eq!(
        b.js("return document.getElementById('reg-username').getAttribute('aria-invalid');")
            .await,
        json!("true")
    );
    assert_eq!(
        b.text("reg-password-error").await,
        "",
        "the password was fine"
    );
    b.shot("e-register-error").await;
    assert!(b.fits_width().await, "register errors scroll sideways");

    // A taken name (the host's) is a 409, shown beside the username too.
    b.fill("reg-username", "host").await;
    b.click("#register-button").await;
    b.wait_text("reg-username-error", "already taken").await;

    b.fill("reg-username", "learner").await;
    b.click("#register-button").await;
    wait_loaded(&b, "progress").await;
    assert_eq!(b.text("who").await, "learner", "registered and logged in");
    assert_eq!(b.text("who-role").await, "(player)");
    assert_eq!(
        b.js("return document.querySelectorAll('#chart .chart-row').length;")
            .await,
        json!(0),
        "no practice yet"
    );

    // ---- log out, log in ----
    b.click("#logout").await;
    b.wait_screen("login").await;
    b.wait_text("login-status", "logged out").await;
    assert_eq!(
        b.js("return document.getElementById('account-bar').hidden;")
            .await,
        json!(true)
    );
    assert_eq!(
        b.js("return sessionStorage.getItem('quiz:token');").await,
        Value::Null,
        "the shared token is forgotten"
    );
    b.type_into("username", "learner").await;
    b.type_into("password", PASSWORD).await;
    b.click("#login-button").await;
    wait_loaded(&b, "progress").await;
    assert_eq!(b.text("who").await, "learner");

    // ---- practice ----
    start_practice(&b, quiz).await;
    // 1: one answer, by mouse, right.
    wait_practice_question(&b, SEEDS[0].text).await;
    assert_eq!(b.text("pq-index").await, "Question 1 of 3");
    click_practice_choice(&b, "5").await;
    b.click("#submit-answer").await;
    expect_result(&b, "Correct!", SEEDS[0].explanation).await;
    assert_eq!(
        practice_marks(&b).await,
        json!([
            ["6", false, false],
            ["5", true, false],
            ["23", false, false]
        ])
    );
    b.shot("e-practice-explanation").await;
    assert!(b.fits_width().await, "the practice result scrolls sideways");
    b.click("#next-button").await;

    // 2: several answers (checkboxes), one of them wrong.
    wait_practice_question(&b, SEEDS[1].text).await;
    assert_eq!(
        b.js("return [...document.querySelectorAll('#pq-choices input')].every(i => i.type === 'checkbox');")
            .await,
        json!(true),
        "a multiple-answer question has checkboxes"
    );
    click_practice_choice(&b, "2").await;
    click_practice_choice(&b, "4").await;
    b.click("#submit-answer").await;
    expect_result(&b, "Not quite.", SEEDS[1].explanation).await;
    assert_eq!(
        practice_marks(&b).await,
        json!([
            ["2", true, false],
            ["4", false, true],
            ["7", true, false],
            ["9", false, false]
        ])
    );
    b.click("#next-button").await;

    // 3: by keyboard only: Tab into the radio group, arrow to "Paris", Tab to Submit, Enter;
    // the focus lands on the next button, Enter again for the summary.
    wait_practice_question(&b, SEEDS[2].text).await;
    wait_focus(&b, "pq-text").await;
    b.keys("\u{E004}").await;
    wait_focus(&b, "pc-0").await;
    b.keys("\u{E015}").await;
    wait_focus(&b, "pc-1").await;
    b.keys("\u{E004}").await;
    wait_focus(&b, "submit-answer").await;
    b.keys("\u{E007}").await;
    expect_result(&b, "Correct!", SEEDS[2].explanation).await;
    wait_focus(&b, "next-button").await;
    assert_eq!(b.text("next-button").await, "See the summary");
    b.keys("\u{E007}").await;
    b.wait_screen("summary").await;
    assert_eq!(b.text("summary-score").await, "2 of 3 right");
    b.shot("e-practice-summary").await;

    // ---- progress: the chart shows what REST reports ----
    let learner = livequiz_sdk::Client::new(&base)
        .expect("client")
        .login("learner", PASSWORD)
        .await
        .expect("log in over REST");
    let progress = learner.progress().await.expect("progress");
    assert_eq!((progress.answered, progress.correct), (3, 2));
    let topics: Vec<_> = progress
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.accuracy))
        .collect();
    assert_eq!(topics, [("arithmetic", 0.5), ("geography", 1.0)]);

    b.click("#to-progress").await;
    wait_loaded(&b, "progress").await;
    let rows = b
        .js(
            "return [...document.querySelectorAll('#chart .chart-row')].map(g => ({ \
               topic: g.getAttribute('data-topic'), \
               accuracy: Number(g.getAttribute('data-accuracy')), \
               width: g.querySelector('.chart-fill').getAttribute('width'), \
               drawn: g.querySelector('.chart-fill').getBoundingClientRect().width, \
               label: g.getAttribute('aria-label'), \
               title: g.querySelector('title').textContent, \
               value: g.querySelector('.chart-value').textContent }));",
        )
        .await;
    let rows = rows.as_array().expect("chart rows").clone();
    assert_eq!(
        rows.len(),
        progress.topics.len(),
        "a bar per topic: {rows:?}"
    );
    for (row, t) in rows.iter().zip(&progress.topics) {
        assert_eq!(row["topic"], json!(t.topic));
        let shown = row["accuracy"].as_f64().expect("accuracy");
        assert!(
            (shown - t.accuracy).abs() < 1e-9,
            "{}: chart {shown}, REST {}",
            t.topic,
            t.accuracy
        );
        assert_eq!(
            row["width"],
            json!(format!("{:.2}%", t.accuracy * TRACK_PERCENT)),
            "{}: bar width",
            t.topic
        );
        let pct = format!("{}%", (t.accuracy * 100.0).round());
        assert_eq!(row["value"], json!(pct));
        let label = format!(
            "{}: {pct} correct ({} of {})",
            t.topic, t.correct, t.answered
        );
        assert_eq!(row["label"], json!(label), "text equivalent of the bar");
        assert_eq!(row["title"], json!(label));
    }
    let arithmetic = rows[0]["drawn"].as_f64().expect("drawn width");
    let geography = rows[1]["drawn"].as_f64().expect("drawn width");
    assert!(
        arithmetic > 0.0 && geography > arithmetic,
        "bars drawn to scale: {arithmetic} px for 50%, {geography} px for 100%"
    );
    assert_eq!(b.text("t-answered").await, "3");
    assert_eq!(b.text("t-correct").await, "2");
    assert_eq!(b.text("t-accuracy").await, "67%");
    let live = progress.live.clone().unwrap_or_default();
    assert_eq!(b.text("l-sessions").await, live.sessions.to_string());
    assert_eq!(
        b.js("return [...document.querySelectorAll('#topic-rows tr')].map(r => r.textContent);")
            .await,
        json!(["arithmetic2150%", "geography11100%"]),
        "the table repeats the chart"
    );
    b.shot("e-progress-chart").await;
    assert!(b.fits_width().await, "the progress page scrolls sideways");

    // ---- a question of a quiz with a live game running: the 409 is shown ----
    let _session = ctx.session(60_000).await;
    start_practice(&b, ctx.quiz_id).await;
    wait_practice_question(&b, "Live question 0?").await;
    click_practice_choice(&b, "yes").await;
    b.click("#submit-answer").await;
    b.wait_text("pq-error", "live game").await;
    assert_eq!(b.text("next-button").await, "Skip to the next question");
    b.shot("e-practice-live-game").await;
    assert_eq!(
        learner.progress().await.expect("progress").answered,
        3,
        "the refused answer is not counted"
    );

    b.close().await;
    ctx.finish().await;
}

/// A registration over the address's limit shows the server's wait (Retry-After) and keeps
/// the button off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_page_shows_the_registration_rate_limit() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::for_tests(dir.path());
    // One registration a minute from an address: the second, seconds later, is refused.
    config.limits.register_per_ip_per_min = 1;
    let server = gateway::testing::spawn(config)
        .await
        .expect("spawn gateway");
    let driver = Driver::start().await;
    let b = driver.browser(360, 740).await;
    b.client
        .goto(&format!("{}/account", server.base_url))
        .await
        .expect("open the account page");
    b.wait_screen("login").await;
    b.type_into("reg-username", "first").await;
    b.type_into("reg-password", PASSWORD).await;
    b.click("#register-button").await;
    wait_loaded(&b, "progress").await;
    b.click("#logout").await;
    b.wait_screen("login").await;

    b.type_into("reg-username", "second").await;
    b.type_into("reg-password", PASSWORD).await;
    b.click("#register-button").await;
    b.wait_js(
        "rate limit message",
        "return /^Too many new accounts from this address\\. Try again in [0-9]+ s\\.$/\
         .test(document.getElementById('register-error').textContent);",
    )
    .await;
    assert_eq!(
        b.js("return document.getElementById('register-button').disabled;")
            .await,
        json!(true),
        "no retry before the wait is over"
    );
    b.shot("e-register-rate-limited").await;
    b.close().await;
    server.state.db.close().await;
    server.stop().await;
}
