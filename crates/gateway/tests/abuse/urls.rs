//! No long-lived secret in a URL (docs/SECURITY.md, "Credentials in URLs"): the live
//! WebSocket URL carries only the join code, the credential travels in the client's first
//! frame, an old-style URL with a secret is refused loudly, and the shipped nginx access log
//! records no query string.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use livequiz_sdk::live::{close, CreateSession, CreatedSession, Credentials, LiveClient};
use livequiz_sdk::types::{RegisterRequest, Role};
use livequiz_sdk::Client;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::process::Gateway;

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// No `ADMIN_USERNAME`: the first account registered (`admin`) is the admin.
const ENV: &[(&str, &str)] = &[];

/// Headers of a browser's WebSocket upgrade request.
const UPGRADE: &[(&str, &str)] = &[
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

/// An admin (who hosts) and a player with an account, and a session of a one-question quiz.
struct Game {
    admin: Client,
    player: Client,
    session: CreatedSession,
}

async fn account(gw: &Gateway, name: &str) -> Client {
    let anon = gw.client();
    anon.register(&RegisterRequest {
        username: name.into(),
        password: format!("{name}-password"),
    })
    .await
    .unwrap_or_else(|e| panic!("register {name}: {e}"));
    anon.login(name, &format!("{name}-password"))
        .await
        .unwrap_or_else(|e| panic!("login {name}: {e}"))
}

async fn game(gw: &Gateway) -> Game {
    let admin = account(gw, "admin").await;
    let player = account(gw, "player").await;
    assert_eq!(admin.me().await.expect("me").role, Role::Admin);
    let q = admin
        .create_question(&livequiz_sdk::types::QuestionInput {
            text: "2+2?".into(),
            topic: "maths".into(),
            tags: vec![],
            difficulty: 1,
            explanation: String::new(),
            choices: ["3", "4"]
                .iter()
                .enumerate()
                .map(|(i, t)| livequiz_sdk::types::ChoiceInput {
                    id: None,
                    text: (*t).into(),
                    correct: i == 1,
                })
                .collect(),
        })
        .await
        .expect("question");
    let quiz = admin
        .create_quiz(&livequiz_sdk::types::QuizInput {
            title: "sums".into(),
            description: String::new(),
            questions: vec![livequiz_sdk::types::QuizItemInput {
                question_id: q.id,
                time_limit_ms: 60_000,
            }],
        })
        .await
        .expect("quiz");
    let session = admin
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            scoring: None,
            reveal_ms: None,
            top_n: None,
            ..Default::default()
        })
        .await
        .expect("session");
    Game {
        admin,
        player,
        session,
    }
}

fn bearer(c: &Client) -> String {
    format!("Bearer {}", c.token().expect("a logged-in client"))
}

fn assert_problem(r: &crate::process::RawResponse, status: u16) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{r:?}"
    );
    let p: Value = serde_json::from_str(&r.body).expect("a problem document");
    assert_eq!(p["status"], status, "{p}");
}

/// A WebSocket to `gw` whose URL carries only the join code.
pub(crate) async fn open(gw: &Gateway, code: &str) -> Ws {
    let url = format!("ws://{}/v1/live/ws?code={code}", gw.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket upgrade")
        .0
}

/// What the server sent next: a JSON frame, or the close (code) / end of the stream.
#[derive(Debug)]
pub(crate) enum Got {
    /// A JSON text frame.
    Frame(Value),
    /// The close frame's code (`None`: the stream just ended).
    Closed(Option<u16>),
}

pub(crate) async fn next(ws: &mut Ws) -> Got {
    let wait = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return Got::Frame(serde_json::from_str(t.as_str()).expect("json frame"))
                }
                Some(Ok(Message::Close(f))) => return Got::Closed(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(None),
            }
        }
    });
    wait.await.expect("the server answers within 30 s")
}

pub(crate) async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("send frame");
}

/// The first frame `frame` gets a welcome; returns it.
pub(crate) async fn welcomed(gw: &Gateway, code: &str, frame: Value) -> (Ws, Value) {
    let mut ws = open(gw, code).await;
    send(&mut ws, frame.clone()).await;
    match next(&mut ws).await {
        Got::Frame(w) if w["type"] == "welcome" => (ws, w),
        other => panic!("{frame} got {other:?}"),
    }
}

/// The connection is refused: an error frame with `code` (whose message contains `says`),
/// then a close with `close_code`.
async fn refused(ws: &mut Ws, code: &str, says: &str, close_code: u16) {
    match next(ws).await {
        Got::Frame(e) => {
            assert_eq!(
                (e["type"].as_str(), e["code"].as_str()),
                (Some("error"), Some(code)),
                "{e}"
            );
            let message = e["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{e}");
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    match next(ws).await {
        Got::Closed(c) => assert_eq!(c, Some(close_code)),
        other => panic!("expected a close, got {other:?}"),
    }
}

/// Players in the session, as its host sees them.
async fn players(gw: &Gateway, s: &CreatedSession) -> u32 {
    let h = LiveClient::connect(
        &gw.base_url,
        &s.code,
        Credentials::Host(s.host_token.clone()),
    )
    .await
    .expect("host connects");
    h.welcome().players
}

#[tokio::test]
async fn credentials_in_the_url_are_refused_with_problem_json() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    let login = g.player.token().expect("token").to_string();
    let code = &g.session.code;
    for (param, secret) in [
        ("token", login.as_str()),
        ("host_token", g.session.host_token.as_str()),
        ("resume", "0123456789abcdef0123456789abcdef"),
        ("nickname", "guest-zoe"),
    ] {
        let path = format!("/v1/live/ws?code={code}&{param}={secret}");
        let r = gw.raw_http("GET", &path, UPGRADE, "").await;
        assert_problem(&r, 400);
        assert!(r.body.contains("first frame"), "{param}: {}", r.body);
        assert!(!r.body.contains(secret), "{param}: the secret is echoed");
    }
    assert_eq!(players(&gw, &g.session).await, 0, "nobody joined");
}

#[tokio::test]
async fn bad_websocket_requests_get_problem_json() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    // No join code.
    let r = gw.raw_http("GET", "/v1/live/ws", UPGRADE, "").await;
    assert_problem(&r, 400);
    assert!(r.body.contains("code"), "{}", r.body);
    // Not an upgrade at all.
    let path = format!("/v1/live/ws?code={}", g.session.code);
    assert_problem(&gw.raw_http("GET", &path, &[], "").await, 400);
}

#[tokio::test]
async fn live_rest_errors_are_problem_json() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    let auth = bearer(&g.admin);
    let json = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = gw.raw_http("POST", "/v1/live/sessions", &json, "{").await;
    assert_problem(&r, 400);
    let r = gw
        .raw_http("POST", "/v1/live/sessions", &json, r#"{"quiz_id":"x"}"#)
        .await;
    assert_problem(&r, 422);
    let plain = [("Authorization", auth.as_str())];
    let r = gw
        .raw_http("POST", "/v1/live/sessions", &plain, r#"{"quiz_id":1}"#)
        .await;
    assert_problem(&r, 415);
    let r = gw
        .raw_http("GET", "/v1/live/sessions/abc/standings", &plain, "")
        .await;
    assert_problem(&r, 400);
    let r = gw
        .raw_http("GET", "/v1/live/sessions/1/standings", &[], "")
        .await;
    assert_problem(&r, 401);
}

#[tokio::test]
async fn the_first_frame_carries_the_credential() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    let code = &g.session.code;
    let (_host, w) = welcomed(
        &gw,
        code,
        json!({"type": "host", "host_token": g.session.host_token}),
    )
    .await;
    assert_eq!(w["role"], "host");
    let (guest, w) = welcomed(&gw, code, json!({"type": "join", "nickname": "ann"})).await;
    assert_eq!(
        (w["role"].as_str(), w["nickname"].as_str()),
        (Some("player"), Some("ann"))
    );
    let ann = w["player_id"].clone();
    let resume = w["resume_token"]
        .as_str()
        .expect("resume token")
        .to_string();
    let token = g.player.token().expect("token");
    let (_acct, w) = welcomed(&gw, code, json!({"type": "join", "token": token})).await;
    assert_eq!(
        w["nickname"], "player",
        "an account plays under its username"
    );
    drop(guest);
    let (_again, w) = welcomed(&gw, code, json!({"type": "resume", "resume_token": resume})).await;
    assert_eq!(w["player_id"], ann, "the same player again");
    // Wrong credentials in the first frame are refused as before.
    let mut ws = open(&gw, code).await;
    send(&mut ws, json!({"type": "host", "host_token": "not-it"})).await;
    refused(&mut ws, "unauthorized", "", close::JOIN_REFUSED).await;
    let mut ws = open(&gw, code).await;
    send(&mut ws, json!({"type": "join", "token": "not-a-login"})).await;
    refused(&mut ws, "unauthorized", "", close::JOIN_REFUSED).await;
    // The SDK does the same, and comes back with the resume token after a drop.
    let c = LiveClient::connect(&gw.base_url, code, Credentials::Guest("bob".into()))
        .await
        .expect("sdk join");
    assert_eq!(c.welcome().nickname.as_deref(), Some("bob"));
}

#[tokio::test]
async fn a_first_frame_that_is_not_a_credential_is_refused() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    let code = &g.session.code;
    for first in [
        Message::text(r#"{"type":"answer","question":0,"choices":[1]}"#),
        Message::text(r#"{"type":"ping"}"#),
        Message::text("hello"),
        Message::binary(vec![1u8, 2, 3]),
        Message::text(r#"{"type":"join"}"#),
    ] {
        let mut ws = open(&gw, code).await;
        ws.send(first.clone()).await.expect("send");
        let says = if first.to_text().is_ok_and(|t| t.contains("join")) {
            ("bad_nickname", "nickname")
        } else {
            ("bad_message", "first frame")
        };
        refused(&mut ws, says.0, says.1, close::JOIN_REFUSED).await;
    }
    assert_eq!(players(&gw, &g.session).await, 0, "nobody joined");
}

#[tokio::test]
async fn a_client_that_sends_no_credential_is_closed_after_the_timeout() {
    let gw = Gateway::sqlite(ENV).await;
    let g = game(&gw).await;
    let mut ws = open(&gw, &g.session.code).await;
    // Ping frames are not a credential: the wait does not start over.
    ws.send(Message::Ping(vec![1u8].into()))
        .await
        .expect("ping");
    refused(&mut ws, "bad_message", "within", close::JOIN_REFUSED).await;
}

#[tokio::test]
async fn the_first_frame_handshake_works_through_a_bridged_gateway() {
    let owner = Gateway::mysql(ENV).await;
    let relay = owner.peer(ENV).await;
    let g = game(&owner).await;
    let code = &g.session.code;
    let token = g.player.token().expect("token");
    let (_p, w) = welcomed(&relay, code, json!({"type": "join", "token": token})).await;
    assert_eq!(w["nickname"], "player");
    let resume = w["resume_token"]
        .as_str()
        .expect("resume token")
        .to_string();
    let (_h, w) = welcomed(
        &relay,
        code,
        json!({"type": "host", "host_token": g.session.host_token}),
    )
    .await;
    assert_eq!(w["role"], "host");
    let (_again, w) = welcomed(
        &relay,
        code,
        json!({"type": "resume", "resume_token": resume}),
    )
    .await;
    assert_eq!(w["nickname"], "player");
}

/// Variables of an nginx `log_format` that would write a query string (and with it any
/// secret a client still puts in a URL) to the access log.
const LEAKY: &[&str] = &["request", "request_uri", "args", "query_string", "is_args"];

#[test]
fn the_shipped_nginx_access_log_records_no_query_string() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nginx.conf");
    let conf = std::fs::read_to_string(path).expect("deploy/nginx.conf");
    // Directives end at `;` (blocks at `{`/`}`); comments are dropped first.
    let text: String = conf
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let directives: Vec<&str> = text.split([';', '{', '}']).map(str::trim).collect();
    let formats: Vec<&str> = directives
        .iter()
        .copied()
        .filter(|d| d.starts_with("log_format"))
        .collect();
    assert!(!formats.is_empty(), "nginx.conf defines its log format");
    for f in &formats {
        for var in f.split('$').skip(1) {
            let name: String = var
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                !LEAKY.contains(&name.as_str()) && !name.starts_with("arg_"),
                "log_format logs ${name}: {f}"
            );
        }
    }
    // Every access_log uses one of those formats (the default `combined` logs $request).
    for d in directives.iter().filter(|d| d.starts_with("access_log")) {
        let words: Vec<&str> = d.split_whitespace().collect();
        assert!(
            words.get(1) == Some(&"off")
                || words.get(2).is_some_and(|name| formats
                    .iter()
                    .any(|f| f.split_whitespace().nth(1) == Some(name))),
            "access_log without a safe format: {d}"
        );
    }
}
