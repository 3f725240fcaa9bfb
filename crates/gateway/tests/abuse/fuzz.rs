//! Fuzzing the network input of one real gateway process: every REST write endpoint gets
//! valid bodies with fields removed, added and retyped, random JSON, random bytes, huge
//! numbers, deep nesting and odd Unicode, with odd path ids and callers; the live WebSocket
//! gets mutated frames. Whatever arrives, the answer is never a 5xx other than 503, the
//! process stays up, and what was acknowledged before (a question, a quiz, an account) is
//! still there, unchanged, afterwards.
//!
//! proptest generates the cases (a fixed number per endpoint, so the run is bounded) and
//! shrinks a failing one to a small body before reporting it.

use std::time::Duration;

use livequiz_sdk::{Client, Method};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use super::input::{accounts, question_input, quiz};
use super::process::Gateway;

/// Cases per REST endpoint.
const CASES: u32 = 120;
/// WebSocket connections fuzzed, each with a short run of frames.
const WS_CASES: u32 = 40;

/// Who sends a fuzzed request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Anon,
    Player,
    Author,
    Admin,
    /// A bearer token that was never issued.
    Forged,
}

/// One write endpoint: how to call it validly.
struct Target {
    method: Method,
    /// The path with `{}` where the fuzzed id goes (if any).
    path: String,
    /// The id that makes the path valid.
    id: Option<i64>,
    body: Value,
    caller: Caller,
}

/// Path segments where a numeric id belongs.
const ODD_IDS: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999",
    "1e3",
    "0x10",
    "abc",
    "%00",
    "%F0%9F%98%80",
    "..%2F..%2Fetc",
    "1;2",
    "%20",
];

/// Literal numbers that fit no integer or float type.
const HUGE_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "0.0000000000000000000000000000001",
    "-0",
    "1.5",
];

/// An edit of a valid body at one of its JSON pointers.
#[derive(Debug, Clone)]
enum Edit {
    Remove,
    Replace(Value),
    Add(String, Value),
}

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                pointers(
                    child,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(v: &mut Value, pointer: &str, edit: Edit) {
    match edit {
        Edit::Replace(new) => {
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = new;
            }
        }
        Edit::Add(key, new) => match v.pointer_mut(pointer) {
            Some(Value::Object(m)) => {
                m.insert(key, new);
            }
            Some(Value::Array(a)) => a.push(new),
            _ => {}
        },
        Edit::Remove => {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return;
            };
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Any JSON value: scalars of every type (odd strings included), nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[\\u{0}-\\u{7f}]{0,12}".prop_map(Value::from),
        (1usize..70_000).prop_map(|n| Value::from("x".repeat(n))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Remove),
        json_value().prop_map(Edit::Replace),
        (any::<String>(), json_value()).prop_map(|(k, v)| Edit::Add(k, v)),
        // Plausible names a prober tries.
        (
            prop::sample::select(vec![
                "id",
                "role",
                "author_id",
                "correct",
                "admin",
                "user_id"
            ]),
            json_value()
        )
            .prop_map(|(k, v)| Edit::Add(k.to_string(), v)),
    ]
}

/// A valid body with one to three edits.
fn mutated(valid: Value) -> impl Strategy<Value = Value> {
    let mut ptrs = Vec::new();
    pointers(&valid, String::new(), &mut ptrs);
    let n = ptrs.len();
    prop::collection::vec((0..n, edit()), 1..4).prop_map(move |edits| {
        let mut v = valid.clone();
        for (i, e) in edits {
            apply(&mut v, &ptrs[i], e);
        }
        v
    })
}

/// A valid body whose value at one pointer is a number no type holds.
fn huge_number(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    let mut ptrs = Vec::new();
    pointers(&valid, String::new(), &mut ptrs);
    let n = ptrs.len();
    (0..n, prop::sample::select(HUGE_NUMBERS)).prop_map(move |(i, lit)| {
        let mut v = valid.clone();
        apply(
            &mut v,
            &ptrs[i],
            Edit::Replace(Value::from("\u{1}HUGE\u{1}")),
        );
        v.to_string()
            .replace("\"\\u0001HUGE\\u0001\"", lit)
            .into_bytes()
    })
}

/// Arrays or objects nested `depth` deep (serde's recursion limit is 128).
fn deep() -> impl Strategy<Value = Vec<u8>> {
    (1usize..20_000, any::<bool>()).prop_map(|(depth, arrays)| {
        if arrays {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        } else {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes()
        }
    })
}

/// Every kind of body the fuzzer sends to an endpoint whose valid body is `valid`.
fn body(valid: Value) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => mutated(valid.clone()).prop_map(|v| v.to_string().into_bytes()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..600),
        1 => huge_number(valid.clone()),
        1 => deep(),
        // Valid JSON text with invalid escapes, lone surrogates, or cut short.
        1 => (prop::sample::select(vec!["\\ud800", "\\u00", "\\x41", "\u{202e}", "\\u0000"]),
              any::<bool>())
            .prop_map(move |(bad, cut)| {
                let text = valid.to_string();
                let mut s = text.replacen(":\"", &format!(":\"{bad}"), 1);
                if cut {
                    let mut at = s.len() / 2;
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    s.truncate(at);
                }
                s.into_bytes()
            }),
    ]
}

/// One request: body, path id, caller, content type.
fn request(
    valid: Value,
    caller: Caller,
) -> impl Strategy<Value = (Vec<u8>, Option<String>, Caller, &'static str)> {
    (
        body(valid),
        prop_oneof![6 => Just(None), 1 => prop::sample::select(ODD_IDS).prop_map(|s| Some(s.to_string()))],
        prop_oneof![
            8 => Just(caller),
            // Never another real account's token: a fuzzed logout would revoke it.
            1 => prop::sample::select(vec![Caller::Anon, Caller::Forged]),
        ],
        prop_oneof![
            8 => Just("application/json"),
            1 => prop::sample::select(vec!["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", ""]),
        ],
    )
}

/// The accounts and content the fuzzing runs against.
struct Fixture {
    anon: Client,
    forged: Client,
    admin: Client,
    author: Client,
    player: Client,
    /// Acknowledged before fuzzing and out of reach of the fuzzed callers (the admin's).
    kept_question: livequiz_sdk::types::Question,
    kept_quiz: livequiz_sdk::types::Quiz,
    targets: Vec<Target>,
    live_code: String,
}

impl Fixture {
    async fn new(gw: &Gateway) -> Fixture {
        let a = accounts(gw).await;
        let (kept_question, kept_quiz) = quiz(&a.admin).await;
        let (q, own_quiz) = quiz(&a.author).await;
        let spare = gw
            .client()
            .register(&livequiz_sdk::types::RegisterRequest {
                username: "edge_spare".into(),
                password: "correct horse battery".into(),
            })
            .await
            .expect("register a spare user");
        let session = super::input::live_session(&a.author).await;
        let qid = q.id;
        let cid = q.choices[0].id;
        let question = serde_json::to_value(question_input("Fuzzed?")).expect("json");
        let quiz_body = json!({
            "title": "fuzzed quiz",
            "description": "",
            "questions": [{"question_id": qid, "time_limit_ms": 5000}],
        });
        let t = |method: Method, path: &str, id: Option<i64>, body: Value, caller| Target {
            method,
            path: path.to_string(),
            id,
            body,
            caller,
        };
        let targets = vec![
            t(
                Method::POST,
                "/v1/auth/register",
                None,
                json!({"username": "fuzzed", "password": "long enough pw"}),
                Caller::Anon,
            ),
            t(
                Method::POST,
                "/v1/auth/login",
                None,
                json!({"username": "edge_player", "password": "correct horse battery"}),
                Caller::Anon,
            ),
            t(
                Method::POST,
                "/v1/auth/logout",
                None,
                json!({}),
                Caller::Forged,
            ),
            t(
                Method::POST,
                "/v1/questions",
                None,
                question.clone(),
                Caller::Author,
            ),
            // Before the edits below replace the question's choices.
            t(
                Method::POST,
                "/v1/questions/{}/answer",
                Some(qid),
                json!({"choice_ids": [cid], "time_ms": 1200}),
                Caller::Player,
            ),
            t(
                Method::PUT,
                &format!("/v1/questions/{qid}/choices/{{}}"),
                Some(cid),
                json!({"text": "right", "correct": true}),
                Caller::Author,
            ),
            t(
                Method::POST,
                "/v1/questions/{}/choices",
                Some(qid),
                json!({"text": "another", "correct": false}),
                Caller::Author,
            ),
            t(
                Method::PATCH,
                "/v1/questions/{}",
                Some(qid),
                json!({"text": "patched", "tags": ["a"], "difficulty": 3}),
                Caller::Author,
            ),
            t(
                Method::PUT,
                "/v1/questions/{}",
                Some(qid),
                question,
                Caller::Author,
            ),
            t(
                Method::POST,
                "/v1/quizzes",
                None,
                quiz_body.clone(),
                Caller::Author,
            ),
            t(
                Method::PUT,
                "/v1/quizzes/{}",
                Some(own_quiz.id),
                quiz_body,
                Caller::Author,
            ),
            t(
                Method::POST,
                "/v1/quizzes/{}/attempts",
                Some(own_quiz.id),
                json!({}),
                Caller::Player,
            ),
            t(
                Method::PUT,
                "/v1/users/{}/role",
                Some(spare.id),
                json!({"role": "author"}),
                Caller::Admin,
            ),
            t(
                Method::POST,
                "/v1/live/sessions",
                None,
                json!({"quiz_id": own_quiz.id, "reveal_ms": 1000, "top_n": 5}),
                Caller::Author,
            ),
            // Deletes last: a valid one removes what the others write to.
            t(
                Method::DELETE,
                &format!("/v1/questions/{qid}/choices/{{}}"),
                Some(cid),
                json!({}),
                Caller::Author,
            ),
            t(
                Method::DELETE,
                "/v1/quizzes/{}",
                Some(own_quiz.id),
                json!({}),
                Caller::Author,
            ),
            t(
                Method::DELETE,
                "/v1/questions/{}",
                Some(qid),
                json!({}),
                Caller::Author,
            ),
        ];
        Fixture {
            anon: unpooled(gw, None),
            forged: unpooled(gw, Some("forged-token-never-issued")),
            admin: unpooled(gw, a.admin.token()),
            author: unpooled(gw, a.author.token()),
            player: unpooled(gw, a.player.token()),
            kept_question,
            kept_quiz,
            targets,
            live_code: session.code,
        }
    }

    fn client(&self, c: Caller) -> &Client {
        match c {
            Caller::Anon => &self.anon,
            Caller::Player => &self.player,
            Caller::Author => &self.author,
            Caller::Admin => &self.admin,
            Caller::Forged => &self.forged,
        }
    }
}

/// A client that opens a new connection per request: the gateway closes a connection whose
/// request body it refused unread (413, 415), and a pooled client could race that close with
/// its next request and report a transport error the gateway did not cause.
fn unpooled(gw: &Gateway, token: Option<&str>) -> Client {
    let c = Client::builder(&gw.base_url)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    match token {
        Some(t) => c.with_token(t),
        None => c,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn mutated_requests_never_break_the_gateway_or_what_it_acknowledged() {
    let rt = runtime();
    let mut gw = rt.block_on(Gateway::sqlite(&[
        // The fuzzer is one address sending thousands of requests: rate limits would only
        // turn most cases into 429s.
        ("LOGIN_PER_IP_PER_MIN", "0"),
        ("LOGIN_PER_USER_PER_MIN", "0"),
        ("REGISTER_PER_IP_PER_MIN", "0"),
        ("JOIN_PER_IP_PER_MIN", "0"),
    ]));
    let fx = rt.block_on(Fixture::new(&gw));
    for target in &fx.targets {
        let mut runner = TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = request(target.body.clone(), target.caller);
        let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
        let result = runner.run(&strategy, |(body, id, caller, ctype)| {
            let id = id.or_else(|| target.id.map(|i| i.to_string()));
            let path = match id {
                Some(id) => target.path.replace("{}", &id),
                None => target.path.clone(),
            };
            let client = fx.client(caller);
            let sent = rt.block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(30),
                    client.raw(target.method, &path, ctype, body.clone()),
                )
                .await
            });
            let (status, text) = match sent {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    return Err(TestCaseError::fail(format!(
                        "{} {path}: no answer: {e}",
                        target.method
                    )))
                }
                Err(_) => {
                    return Err(TestCaseError::fail(format!(
                        "{} {path}: no answer within 30 s",
                        target.method
                    )))
                }
            };
            *statuses.borrow_mut().entry(status).or_default() += 1;
            prop_assert!(
                status < 500 || status == 503,
                "{} {path} answered {status}: {text}\nbody: {}",
                target.method,
                String::from_utf8_lossy(&body[..body.len().min(400)])
            );
            if status >= 400 {
                prop_assert!(
                    serde_json::from_str::<livequiz_sdk::types::Problem>(&text).is_ok(),
                    "{} {path}: {status} is not a problem: {text}",
                    target.method
                );
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{} {}: {e}", target.method, target.path);
        }
        eprintln!(
            "fuzzed {} {}: {:?}",
            target.method,
            target.path,
            statuses.borrow()
        );
        statuses.borrow_mut().clear();
        assert!(gw.alive(), "the gateway died fuzzing {}", target.path);
    }

    fuzz_live_socket(&rt, &gw, &fx.live_code);

    assert!(gw.alive(), "the gateway process died");
    assert!(rt.block_on(gw.healthy()), "/healthz fails after fuzzing");
    rt.block_on(async {
        let q = fx
            .admin
            .get_question(fx.kept_question.id)
            .await
            .expect("the acknowledged question is gone");
        assert_eq!(q, fx.kept_question, "the acknowledged question changed");
        let quiz = fx
            .admin
            .get_quiz(fx.kept_quiz.id)
            .await
            .expect("the acknowledged quiz is gone");
        assert_eq!(quiz, fx.kept_quiz, "the acknowledged quiz changed");
        for name in ["edge_admin", "edge_author", "edge_player"] {
            fx.anon
                .login(name, "correct horse battery")
                .await
                .unwrap_or_else(|e| panic!("{name} can no longer log in: {e}"));
        }
    });
}

/// A frame sent on the live socket.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn frame() -> impl Strategy<Value = Frame> {
    let answer = json!({"type": "answer", "question": 0, "choices": [0], "req": 1});
    prop_oneof![
        4 => mutated(answer).prop_map(|v| Frame::Text(v.to_string())),
        2 => json_value().prop_map(|v| Frame::Text(v.to_string())),
        1 => prop::sample::select(vec!["start", "skip", "end", "ping", "remove", "welcome", ""])
            .prop_map(|t| Frame::Text(json!({"type": t, "player_id": u64::MAX}).to_string())),
        1 => any::<String>().prop_map(Frame::Text),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Frame::Binary),
        1 => (4_000usize..70_000).prop_map(|n| Frame::Text(format!("{{\"type\":\"ping\",\"x\":\"{}\"}}", "y".repeat(n)))),
        1 => deep().prop_map(|b| Frame::Text(String::from_utf8_lossy(&b).into_owned())),
    ]
}

/// The WebSocket part, kept to itself: joins as a guest (the `join` first frame) and sends runs
/// of mutated frames; after each run the socket still answers a ping or was closed by the
/// server, and at the end a new guest still joins and gets its pong.
fn fuzz_live_socket(rt: &tokio::runtime::Runtime, gw: &Gateway, code: &str) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let url = format!("ws://{}/v1/live/ws?code={code}", gw.addr);
    let hello =
        |n: u64| Message::text(json!({"type": "join", "nickname": format!("fuzz{n}")}).to_string());
    let guest = std::cell::Cell::new(0u64);
    let mut runner = TestRunner::new(Config {
        cases: WS_CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(frame(), 1..12), |frames| {
        guest.set(guest.get() + 1);
        rt.block_on(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .map_err(|e| TestCaseError::fail(format!("join failed: {e}")))?;
            ws.send(hello(guest.get()))
                .await
                .map_err(|e| TestCaseError::fail(format!("join frame: {e}")))?;
            for f in &frames {
                let msg = match f {
                    Frame::Text(t) => Message::text(t.clone()),
                    Frame::Binary(b) => Message::binary(b.clone()),
                };
                if ws.send(msg).await.is_err() {
                    // The server closed the socket (e.g. after an oversized frame): allowed.
                    return Ok(());
                }
            }
            let _ = ws.send(Message::text(r#"{"type":"ping"}"#)).await;
            let answered = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(m) = ws.next().await {
                    match m {
                        Ok(Message::Text(t)) if t.contains("\"pong\"") => return,
                        Ok(Message::Close(_)) | Err(_) => return,
                        _ => continue,
                    }
                }
            })
            .await;
            prop_assert!(
                answered.is_ok(),
                "the socket neither answered a ping nor closed after {frames:?}"
            );
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("live WebSocket: {e}");
    }
    rt.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("a new guest joins after the fuzzing");
        ws.send(hello(guest.get() + 1))
            .await
            .expect("send the join frame");
        ws.send(Message::text(r#"{"type":"ping"}"#))
            .await
            .expect("send a ping");
        let pong = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if t.contains("\"pong\"") {
                        return true;
                    }
                }
            }
            false
        })
        .await;
        assert!(
            matches!(pong, Ok(true)),
            "no pong for a new guest after the fuzzing"
        );
    });
}
