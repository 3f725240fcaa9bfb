//! The answer key of a live question stays secret until its reveal (docs/SECURITY.md, "Answer
//! key"): a player who reads the question's bank id, answers it in practice mode, reads it over
//! REST as another author, searches for it, or hosts their own session of it learns nothing;
//! nor do seats that answer different choices and watch their scores while the question is
//! open (points are held until the reveal, also in a session restored mid-question).

use std::time::Duration;

use livequiz_sdk::live::{
    ClientMsg, CreateSession, CreatedSession, Credentials, LiveClient, ServerMsg,
};
use livequiz_sdk::types::{
    AnswerRequest, ChoiceInput, Problem, Question, QuestionFilter, QuestionInput, Quiz, QuizInput,
    QuizItemInput, RegisterRequest, Role, SearchParams,
};
use livequiz_sdk::Client;
use serde_json::json;

use crate::process::Gateway;
use crate::urls::{next, send, welcomed, Got, Ws};

/// No `ADMIN_USERNAME`: the first account registered (`admin`) is the admin.
const ENV: &[(&str, &str)] = &[];

/// A word only the explanation of [`red_planet`] contains.
const SECRET_WORD: &str = "haematite";

/// The people of these tests: an admin, the question's author, another author (who plays in
/// the author's game) and a player.
struct Cast {
    admin: Client,
    author: Client,
    rival: Client,
    player: Client,
}

async fn account(gw: &Gateway, name: &str) -> (Client, i64) {
    let anon = gw.client();
    let user = anon
        .register(&RegisterRequest {
            username: name.into(),
            password: format!("{name}-password"),
        })
        .await
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
    let client = anon
        .login(name, &format!("{name}-password"))
        .await
        .unwrap_or_else(|e| panic!("login {name}: {e}"));
    (client, user.id)
}

async fn cast(gw: &Gateway) -> Cast {
    let (admin, _) = account(gw, "admin").await;
    let (author, author_id) = account(gw, "author").await;
    let (rival, rival_id) = account(gw, "rival").await;
    let (player, _) = account(gw, "player").await;
    for id in [author_id, rival_id] {
        admin.set_role(id, Role::Author).await.expect("make author");
    }
    Cast {
        admin,
        author,
        rival,
        player,
    }
}

/// A question of `author` (choice 1 of 3 is correct) in a quiz of `author`.
async fn red_planet(author: &Client) -> (Question, Quiz) {
    let choice = |text: &str, correct| ChoiceInput {
        id: None,
        text: text.into(),
        correct,
    };
    let q = author
        .create_question(&QuestionInput {
            text: "Which planet is red?".into(),
            topic: "space".into(),
            tags: vec![],
            difficulty: 1,
            explanation: format!("Its dust is rich in {SECRET_WORD}."),
            choices: vec![
                choice("Venus", false),
                choice("Mars", true),
                choice("Jupiter", false),
            ],
        })
        .await
        .expect("create question");
    let quiz = author
        .create_quiz(&quiz_of(&[q.id]))
        .await
        .expect("create quiz");
    (q, quiz)
}

fn quiz_of(ids: &[i64]) -> QuizInput {
    QuizInput {
        title: "planets".into(),
        description: String::new(),
        questions: ids
            .iter()
            .map(|&question_id| QuizItemInput {
                question_id,
                time_limit_ms: 60_000,
            })
            .collect(),
    }
}

async fn host(client: &Client, quiz_id: i64) -> Result<CreatedSession, livequiz_sdk::Error> {
    client
        .create_live_session(&CreateSession {
            quiz_id,
            scoring: None,
            reveal_ms: Some(0),
            top_n: None,
            ..Default::default()
        })
        .await
}

fn problem<T: std::fmt::Debug>(r: Result<T, livequiz_sdk::Error>, status: u16) -> Problem {
    match r {
        Err(livequiz_sdk::Error::Api(p)) if p.status == status => p,
        other => panic!("expected a {status} problem, got {other:?}"),
    }
}

/// Whether any choice flag or the explanation of `q` is visible.
fn shows_key(q: &Question) -> bool {
    q.explanation.is_some() || q.choices.iter().any(|c| c.correct.is_some())
}

/// Ends the session as its host and waits for the final standings.
async fn end_session(gw: &Gateway, s: &CreatedSession) {
    let mut h = LiveClient::connect(
        &gw.base_url,
        &s.code,
        Credentials::Host(s.host_token.clone()),
    )
    .await
    .expect("connect as host");
    h.send(ClientMsg::End).expect("send end");
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = h.next_message().await {
            if matches!(m, ServerMsg::Finished { .. }) {
                return;
            }
        }
    })
    .await
    .expect("the session finishes");
}

fn any_choice(q: &Question) -> AnswerRequest {
    AnswerRequest {
        choice_ids: vec![q.choices[0].id],
        ..AnswerRequest::default()
    }
}

/// Practice answers to a question in a game that is not finished, and after it finished.
async fn practice_refused_then_allowed(live_gw: &Gateway, practice_gw: &Gateway) {
    let c = cast(live_gw).await;
    let (q, quiz) = red_planet(&c.author).await;
    // Before any game the question is an ordinary practice question.
    let before = c.player.answer_with(q.id, &any_choice(&q)).await;
    assert!(before.is_ok(), "practice before the game: {before:?}");
    let s = host(&c.author, quiz.id).await.expect("host the quiz");
    let player = practice_gw
        .client()
        .login("player", "player-password")
        .await
        .expect("login on the practice gateway");
    let p = problem(player.answer_with(q.id, &any_choice(&q)).await, 409);
    assert!(
        p.detail.contains("live game"),
        "the refusal says why: {p:?}"
    );
    // Through a quiz attempt too (same endpoint, with attempt_id).
    let attempt = player.start_attempt(quiz.id).await.expect("start attempt");
    let mut req = any_choice(&q);
    req.attempt_id = Some(attempt.id);
    problem(player.answer_with(q.id, &req).await, 409);
    // The author and admins are refused as well: one rule, no exceptions to get wrong.
    problem(c.admin.answer_with(q.id, &any_choice(&q)).await, 409);
    // Nothing was recorded.
    assert_eq!(player.progress().await.expect("progress").answered, 1);

    end_session(live_gw, &s).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match player.answer_with(q.id, &any_choice(&q)).await {
            Ok(r) => {
                assert_eq!(r.correct_choice_ids, vec![q.choices[1].id]);
                break;
            }
            Err(e) => assert!(
                std::time::Instant::now() < deadline,
                "practice still refused after the game finished: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn practice_answers_are_refused_while_the_question_is_in_a_live_game() {
    let gw = Gateway::sqlite(ENV).await;
    practice_refused_then_allowed(&gw, &gw).await;
}

#[tokio::test]
async fn practice_refusal_holds_on_another_gateway_sharing_the_database() {
    let one = Gateway::mysql(ENV).await;
    let two = one.peer(ENV).await;
    practice_refused_then_allowed(&one, &two).await;
}

#[tokio::test]
async fn only_the_quiz_author_or_an_admin_may_host_it() {
    let gw = Gateway::sqlite(ENV).await;
    let c = cast(&gw).await;
    let (q, quiz) = red_planet(&c.author).await;
    for (who, client) in [("a player", &c.player), ("another author", &c.rival)] {
        let p = problem(host(client, quiz.id).await, 403);
        assert!(p.detail.contains("author"), "{who}: {p:?}");
    }
    // Another author's own quiz of the author's question: hosting it would reveal the key.
    let copy = c.rival.create_quiz(&quiz_of(&[q.id])).await.expect("quiz");
    let p = problem(host(&c.rival, copy.id).await, 403);
    assert!(p.detail.contains("other authors"), "{p:?}");
    problem(host(&c.player, 999_999).await, 404);
    host(&c.author, quiz.id).await.expect("the author hosts");
    host(&c.admin, quiz.id).await.expect("an admin hosts");
    host(&c.admin, copy.id)
        .await
        .expect("an admin hosts any quiz");
}

/// The next frame of type `kind` on a raw socket (other frames skipped).
async fn raw_frame(ws: &mut Ws, kind: &str) -> serde_json::Value {
    loop {
        match next(ws).await {
            Got::Frame(f) if f["type"] == kind => return f,
            Got::Frame(_) => continue,
            Got::Closed(c) => panic!("closed ({c:?}) before a {kind} frame"),
        }
    }
}

#[tokio::test]
async fn question_frames_carry_no_bank_id() {
    let gw = Gateway::sqlite(ENV).await;
    let c = cast(&gw).await;
    let (_, quiz) = red_planet(&c.author).await;
    let s = host(&c.author, quiz.id).await.expect("host");
    // Frames as they are on the wire, not as the SDK's types parse them.
    let (mut h, _) = welcomed(
        &gw,
        &s.code,
        json!({"type": "host", "host_token": s.host_token}),
    )
    .await;
    let (mut p, w) = welcomed(&gw, &s.code, json!({"type": "join", "nickname": "ann"})).await;
    let resume = w["resume_token"]
        .as_str()
        .expect("resume token")
        .to_string();
    send(&mut h, json!({"type": "start"})).await;
    for (who, ws) in [("player", &mut p), ("host", &mut h)] {
        let q = raw_frame(ws, "question").await;
        assert!(q.get("text").is_some(), "{q}");
        assert!(
            q.get("question_id").is_none(),
            "the {who}'s question frame names the bank question: {q}"
        );
    }
    // A player resuming mid-question gets the open question in its welcome.
    drop(p);
    let (_again, w) = welcomed(
        &gw,
        &s.code,
        json!({"type": "resume", "resume_token": resume}),
    )
    .await;
    let open = w.get("question").expect("the open question in the welcome");
    assert!(open.get("question_id").is_none(), "{w}");
}

#[tokio::test]
async fn another_author_reads_no_keys_on_any_rest_path() {
    let gw = Gateway::sqlite(ENV).await;
    let c = cast(&gw).await;
    let (q, quiz) = red_planet(&c.author).await;
    host(&c.author, quiz.id).await.expect("host");
    for (who, client) in [("another author", &c.rival), ("a player", &c.player)] {
        let got = client.get_question(q.id).await.expect("get question");
        assert!(!shows_key(&got), "{who}: GET question shows the key");
        let list = client
            .list_questions(&QuestionFilter::default())
            .await
            .expect("list");
        assert!(
            list.items.iter().all(|q| !shows_key(q)),
            "{who}: the question list shows the key"
        );
        let choices = client.list_choices(q.id).await.expect("choices");
        assert!(
            choices.iter().all(|c| c.correct.is_none()),
            "{who}: the choices endpoint shows the key"
        );
        let shown = client.get_quiz(quiz.id).await.expect("get quiz");
        assert!(
            shown.questions.iter().all(|i| !shows_key(&i.question)),
            "{who}: GET quiz shows the key"
        );
    }
    // The other author builds a quiz of the question: create, read back, replace, report.
    let mine = c.rival.create_quiz(&quiz_of(&[q.id])).await.expect("quiz");
    assert!(!shows_key(&mine.questions[0].question), "create response");
    let again = c.rival.get_quiz(mine.id).await.expect("get own quiz");
    assert!(!shows_key(&again.questions[0].question), "own quiz GET");
    let replaced = c
        .rival
        .replace_quiz(mine.id, &quiz_of(&[q.id]))
        .await
        .expect("replace");
    assert!(
        !shows_key(&replaced.questions[0].question),
        "replace response"
    );
    // The report is read raw: the typed report cannot show what it does not have.
    let token = format!("Bearer {}", c.rival.token().expect("token"));
    let raw = gw
        .raw_http(
            "GET",
            &format!("/v1/quizzes/{}/report", mine.id),
            &[("Authorization", &token)],
            "",
        )
        .await;
    assert_eq!(raw.status, 200, "{raw:?}");
    let report: serde_json::Value = serde_json::from_str(&raw.body).expect("report json");
    for choice in report["questions"][0]["choices"]
        .as_array()
        .expect("choices in the report")
    {
        assert!(
            choice.get("correct").is_none_or(|v| v.is_null()),
            "the quiz report shows the key: {choice}"
        );
    }
    let csv = c.rival.quiz_report_csv(mine.id).await.expect("csv report");
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols[cols.len() - 2], "", "choice_correct in {line:?}");
    }
    // The author and admins still see it.
    assert!(shows_key(
        &c.author.get_question(q.id).await.expect("author")
    ));
    assert!(shows_key(&c.admin.get_question(q.id).await.expect("admin")));
    let own = c
        .author
        .quiz_report(quiz.id)
        .await
        .expect("author's report");
    assert_eq!(own.questions[0].choices.len(), 3, "{own:?}");
    let own_csv = c
        .author
        .quiz_report_csv(quiz.id)
        .await
        .expect("author's csv");
    assert!(
        own_csv
            .lines()
            .nth(2)
            .is_some_and(|l| l.ends_with(",true,0")),
        "{own_csv}"
    );
}

#[tokio::test]
async fn search_does_not_find_a_live_question_for_players() {
    let gw = Gateway::sqlite(ENV).await;
    let c = cast(&gw).await;
    let (q, quiz) = red_planet(&c.author).await;
    let by_word = |client: Client| async move {
        client
            .search_questions(&SearchParams {
                q: SECRET_WORD.into(),
                ..SearchParams::default()
            })
            .await
            .expect("search")
    };
    // The explanation is searchable: before the game a search finds the question by it.
    assert_eq!(by_word(c.player.clone()).await.items.len(), 1);
    let s = host(&c.author, quiz.id).await.expect("host");
    // During the game a hit would confirm words of the hidden explanation (and scores rank
    // choices mentioned in it): players and other authors find nothing.
    for (who, client) in [("a player", &c.player), ("another author", &c.rival)] {
        let r = by_word(client.clone()).await;
        assert!(
            r.items.iter().all(|h| h.question.id != q.id),
            "{who} finds the live question: {r:?}"
        );
        let by_text = client
            .search_questions(&SearchParams {
                q: "red planet".into(),
                ..SearchParams::default()
            })
            .await
            .expect("search");
        assert!(by_text.items.iter().all(|h| h.question.id != q.id), "{who}");
    }
    assert_eq!(by_word(c.author.clone()).await.items.len(), 1, "the author");
    end_session(&gw, &s).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while by_word(c.player.clone()).await.items.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "found again after the game"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The frames a socket receives until it has been quiet for `quiet` (or closes).
async fn frames_until_quiet(ws: &mut Ws, quiet: Duration) -> Vec<serde_json::Value> {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::Message;
    let mut got = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(quiet, ws.next()).await {
        match m {
            Message::Text(t) => got.push(serde_json::from_str(t.as_str()).expect("json frame")),
            Message::Close(_) => break,
            _ => continue,
        }
    }
    got
}

/// Panics if a player's frame, received while the question is open, tells anything about the
/// correctness of an answer: a score other than the one before the question (`rank`,
/// `leaderboard`, `welcome`), a reveal, a result, points, or an ack with more than its
/// index, time and request id.
fn assert_tells_nothing(who: &str, f: &serde_json::Value) {
    let kind = f["type"].as_str().unwrap_or_default();
    for key in ["correct", "points", "result", "streak"] {
        assert!(
            f.get(key).is_none(),
            "{who} got {key:?} before the reveal: {f}"
        );
    }
    match kind {
        "rank" | "welcome" => {
            assert_eq!(f["score"], 0, "{who}'s score moved before the reveal: {f}")
        }
        "leaderboard" => {
            let top = f["top"].as_array().expect("top list");
            assert!(
                top.iter().all(|s| s["score"] == 0),
                "{who}'s top list shows points before the reveal: {f}"
            );
        }
        "answer_ack" => {
            let keys: Vec<&str> = f
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert!(
                keys.iter()
                    .all(|k| ["type", "question", "elapsed_ms", "req"].contains(k)),
                "{who}'s ack carries more than its receipt: {f}"
            );
        }
        "question" | "pong" => {}
        other => panic!("{who} got a {other} frame before the reveal: {f}"),
    }
}

/// Reads frames up to the reveal of question 0, checking each one before it; the reveal's
/// `result`.
async fn result_at_reveal(who: &str, ws: &mut Ws) -> serde_json::Value {
    loop {
        match next(ws).await {
            Got::Frame(f) if f["type"] == "reveal" => {
                assert_eq!(f["question"], 0, "{f}");
                return f["result"].clone();
            }
            Got::Frame(f) => assert_tells_nothing(who, &f),
            Got::Closed(c) => panic!("{who} closed ({c:?}) before the reveal"),
        }
    }
}

/// Three seats of one cheater in a game of [`red_planet`] (60 s to answer, a long reveal):
/// two guests `ann` and `bob` and the cheater's account, and the host's socket.
struct Seats {
    session: CreatedSession,
    host: Ws,
    ann: Ws,
    bob: Ws,
    main: Ws,
    /// How each seat comes back: ann's and bob's first frames `resume`, the account's `join`.
    hellos: [serde_json::Value; 3],
}

async fn seats(gw: &Gateway) -> Seats {
    let c = cast(gw).await;
    let (_, quiz) = red_planet(&c.author).await;
    let session = c
        .author
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            reveal_ms: Some(30_000),
            ..Default::default()
        })
        .await
        .expect("host the quiz");
    let code = &session.code;
    let (host, _) = welcomed(
        gw,
        code,
        json!({"type": "host", "host_token": session.host_token}),
    )
    .await;
    let resume =
        |w: serde_json::Value| json!({"type": "resume", "resume_token": w["resume_token"]});
    let (ann, w) = welcomed(gw, code, json!({"type": "join", "nickname": "ann"})).await;
    let ann_hello = resume(w);
    let (bob, w) = welcomed(gw, code, json!({"type": "join", "nickname": "bob"})).await;
    let bob_hello = resume(w);
    let main_hello = json!({"type": "join", "token": c.player.token().expect("token")});
    let (main, _) = welcomed(gw, code, main_hello.clone()).await;
    Seats {
        session,
        host,
        ann,
        bob,
        main,
        hellos: [ann_hello, bob_hello, main_hello],
    }
}

/// The host starts; `ann` answers Mars (right), `bob` Venus (wrong); both acks arrive and
/// every frame up to them tells nothing.
async fn two_guests_answer(s: &mut Seats) {
    send(&mut s.host, json!({"type": "start"})).await;
    for (who, ws, choice) in [("ann", &mut s.ann, 1), ("bob", &mut s.bob, 0)] {
        let q = raw_frame(ws, "question").await;
        assert_eq!(q["index"], 0);
        send(
            ws,
            json!({"type": "answer", "question": 0, "choices": [choice], "req": 7}),
        )
        .await;
        loop {
            match next(ws).await {
                Got::Frame(f) => {
                    assert_tells_nothing(who, &f);
                    if f["type"] == "answer_ack" {
                        break;
                    }
                }
                Got::Closed(c) => panic!("{who} closed ({c:?}) before the ack"),
            }
        }
    }
}

/// The cheater's account answers last (Jupiter, wrong), which closes the question: each seat
/// gets its own result at the reveal, and the next push shows ann's points.
async fn reveal_then_scores(s: &mut Seats) {
    send(
        &mut s.main,
        json!({"type": "answer", "question": 0, "choices": [2]}),
    )
    .await;
    let ann = result_at_reveal("ann", &mut s.ann).await;
    let bob = result_at_reveal("bob", &mut s.bob).await;
    let main = result_at_reveal("main", &mut s.main).await;
    assert_eq!(
        (&ann["answered"], &ann["correct"]),
        (&json!(true), &json!(true))
    );
    let points = ann["points"].as_i64().expect("points");
    assert!(points > 0, "{ann}");
    assert_eq!(ann["score"], points, "{ann}");
    for r in [&bob, &main] {
        assert_eq!(
            (&r["correct"], &r["points"], &r["score"]),
            (&json!(false), &json!(0), &json!(0))
        );
    }
    // The first push after the reveal carries the new scores.
    let rank = raw_frame(&mut s.ann, "rank").await;
    assert_eq!(
        (&rank["rank"], &rank["score"]),
        (&json!(1), &json!(points)),
        "{rank}"
    );
    raw_frame(&mut s.host, "reveal").await;
    for (who, ws) in [
        ("bob", &mut s.bob),
        ("main", &mut s.main),
        ("host", &mut s.host),
    ] {
        let top = raw_frame(ws, "leaderboard").await;
        assert_eq!(
            (&top["top"][0]["nickname"], &top["top"][0]["score"]),
            (&json!("ann"), &json!(points)),
            "{who}: {top}"
        );
    }
}

#[tokio::test]
async fn guest_seats_learn_nothing_about_correctness_before_the_reveal() {
    let gw = Gateway::sqlite(ENV).await;
    let mut s = seats(&gw).await;
    two_guests_answer(&mut s).await;
    // Several push intervals (250 ms each) pass while the question stays open.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (who, ws) in [
        ("ann", &mut s.ann),
        ("bob", &mut s.bob),
        ("main", &mut s.main),
    ] {
        for f in frames_until_quiet(ws, Duration::from_millis(500)).await {
            assert_tells_nothing(who, &f);
        }
    }
    // Resuming mid-question shows the score from before the question.
    let (ann, w) = welcomed(&gw, &s.session.code, s.hellos[0].clone()).await;
    assert_eq!(w["answered"], true, "{w}");
    assert_tells_nothing("ann's resume", &w);
    s.ann = ann;
    reveal_then_scores(&mut s).await;
}

#[tokio::test]
async fn a_session_restored_mid_question_still_holds_the_points_back() {
    let mut gw = Gateway::sqlite(ENV).await;
    let mut s = seats(&gw).await;
    two_guests_answer(&mut s).await;
    // The gateway crashes with both answers durable; the restarted one takes the session
    // over from its checkpoint and the stored answers when the seats come back.
    gw.restart().await;
    let code = s.session.code.clone();
    // Login tokens of the embedded default live in the process: the account logs in again
    // and comes back as the same player.
    let login = gw
        .client()
        .login("player", "player-password")
        .await
        .expect("login after the restart");
    s.hellos[2] = json!({"type": "join", "token": login.token().expect("token")});
    let mut back = Vec::new();
    for (who, hello) in ["ann", "bob", "main"].into_iter().zip(s.hellos.clone()) {
        let (ws, w) = welcomed(&gw, &code, hello).await;
        assert_eq!(w["phase"], "question", "{who}: {w}");
        assert_eq!(w["answered"], who != "main", "{who}: {w}");
        assert_tells_nothing(&format!("{who} after the takeover"), &w);
        back.push(ws);
    }
    let (host, _) = welcomed(
        &gw,
        &code,
        json!({"type": "host", "host_token": s.session.host_token}),
    )
    .await;
    s.host = host;
    s.main = back.pop().expect("main");
    s.bob = back.pop().expect("bob");
    s.ann = back.pop().expect("ann");
    // The restored session pushes its board to the returning seats: still no points.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (who, ws) in [
        ("ann", &mut s.ann),
        ("bob", &mut s.bob),
        ("main", &mut s.main),
    ] {
        for f in frames_until_quiet(ws, Duration::from_millis(500)).await {
            assert_tells_nothing(who, &f);
        }
    }
    reveal_then_scores(&mut s).await;
}
