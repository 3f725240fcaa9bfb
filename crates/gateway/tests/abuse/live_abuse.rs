//! Live session abuse against a real gateway process: sessions without end (per-user limit,
//! lobby expiry, maximum lifetime), join-code exhaustion, join-code enumeration (per-address
//! join limit), player caps, lock, ban, two-step join, generated nicknames and the nickname
//! word filter. Also the raw WebSocket and HTTP helpers the join-flood test uses.
//!
//! Frames are read as JSON values and sent as raw text, so what is asserted is the wire
//! protocol of docs/PROTOCOL.md, whatever the Rust types are called.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest};
use serde_json::{json, Value};
use sqlx::{Connection as _, Row as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::process::Gateway;

/// How long a test waits for one expected frame.
const WAIT: Duration = Duration::from_secs(20);

/// A loopback source address (`127.0.0.<last>`): each is a different client for the
/// per-address limits.
pub fn lo(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A logged-in user of a gateway.
pub struct User {
    /// Client carrying the user's bearer token.
    pub client: sdk::Client,
    /// The bearer token.
    pub token: String,
}

/// Registers and logs in `username` (the first user of a database is admin, so an author).
pub async fn user(gw: &Gateway, username: &str) -> User {
    let anon = gw.client();
    anon.register(&RegisterRequest {
        username: username.into(),
        password: "long-enough-password".into(),
    })
    .await
    .unwrap_or_else(|e| panic!("register {username}: {e}"));
    let client = anon
        .login(username, "long-enough-password")
        .await
        .unwrap_or_else(|e| panic!("login {username}: {e}"));
    let token = client.token().expect("logged in").to_string();
    User { client, token }
}

/// A quiz with one question per time limit (ms); choice 1 of 3 is correct.
pub async fn quiz(author: &sdk::Client, limits_ms: &[u32]) -> i64 {
    let mut items = Vec::new();
    for (i, &time_limit_ms) in limits_ms.iter().enumerate() {
        let choice = |text: &str, correct| ChoiceInput {
            id: None,
            text: text.into(),
            correct,
        };
        let q = author
            .create_question(&QuestionInput {
                text: format!("Abuse question {i}?"),
                topic: "live".into(),
                tags: vec![],
                difficulty: 1,
                explanation: "because".into(),
                choices: vec![
                    choice("no", false),
                    choice("yes", true),
                    choice("maybe", false),
                ],
            })
            .await
            .expect("create question");
        items.push(QuizItemInput {
            question_id: q.id,
            time_limit_ms,
        });
    }
    author
        .create_quiz(&QuizInput {
            title: "abuse quiz".into(),
            description: String::new(),
            questions: items,
        })
        .await
        .expect("create quiz")
        .id
}

/// An HTTP response read off the wire.
#[derive(Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` if it is not JSON).
    pub body: Value,
}

impl HttpReply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an `application/problem+json` refusal with `status` and a `Retry-After`.
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(
            self.header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some(),
            "Retry-After: {self:?}"
        );
    }
}

/// `POST /v1/live/sessions` with a raw JSON body, over a fresh connection.
pub async fn create(gw: &Gateway, token: &str, body: &Value) -> HttpReply {
    let body = body.to_string();
    let req = format!(
        "POST /v1/live/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        gw.addr,
        body.len()
    );
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    s.write_all(req.as_bytes()).await.expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    // Small bodies: not chunked in practice, but tolerate a chunk-size line.
    let json = serde_json::from_str(body)
        .or_else(|_| serde_json::from_str(body.lines().nth(1).unwrap_or_default()))
        .unwrap_or(Value::Null);
    HttpReply {
        status,
        headers,
        body: json,
    }
}

/// A created session: `(code, host_token, session_id)`.
pub async fn session(gw: &Gateway, token: &str, body: Value) -> (String, String, i64) {
    let r = create(gw, token, &body).await;
    assert_eq!(r.status, 201, "create session: {r:?}");
    (
        r.body["code"].as_str().expect("code").to_string(),
        r.body["host_token"]
            .as_str()
            .expect("host_token")
            .to_string(),
        r.body["session_id"].as_i64().expect("session_id"),
    )
}

/// Percent-encodes query pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Why a WebSocket join did not produce a welcome.
#[derive(Debug)]
pub enum Refused {
    /// Refused before the upgrade.
    Http(HttpReply),
    /// Upgraded, then an error frame and a close.
    Frame {
        /// The error frame's `code`.
        code: String,
        /// The close code that followed.
        close: Option<u16>,
    },
}

impl Refused {
    /// The error code of a refusal by frame (panics on an HTTP refusal).
    pub fn frame(&self) -> (&str, Option<u16>) {
        match self {
            Refused::Frame { code, close } => (code.as_str(), *close),
            Refused::Http(r) => panic!("expected an error frame, got HTTP {r:?}"),
        }
    }
}

/// What the next read gave.
#[derive(Debug)]
pub enum Next {
    /// A frame.
    Msg(Value),
    /// The socket closed (with this code).
    Closed(Option<u16>),
}

/// A live WebSocket connection from a chosen loopback address.
pub struct Live {
    ws: WebSocketStream<TcpStream>,
    /// The first frame.
    pub welcome: Value,
}

/// Opens `/v1/live/ws?<query>` on `gw` from the address `from`; the welcome, or why not.
pub async fn join(gw: SocketAddr, from: IpAddr, query: &str) -> Result<Live, Refused> {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::new(from, 0))
        .unwrap_or_else(|e| panic!("bind {from}: {e}"));
    let stream = sock.connect(gw).await.expect("connect to the gateway");
    let url = format!("ws://{gw}/v1/live/ws?{query}");
    let ws = match tokio_tungstenite::client_async(url, stream).await {
        Ok((ws, _)) => ws,
        Err(tungstenite::Error::Http(resp)) => {
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let body = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            return Err(Refused::Http(HttpReply {
                status: resp.status().as_u16(),
                headers,
                body,
            }));
        }
        Err(e) => panic!("websocket handshake failed: {e}"),
    };
    let mut live = Live {
        ws,
        welcome: Value::Null,
    };
    match live.next().await {
        Next::Msg(m) if m["type"] == "welcome" => {
            live.welcome = m;
            Ok(live)
        }
        Next::Msg(m) if m["type"] == "error" => {
            let code = m["code"].as_str().unwrap_or_default().to_string();
            let close = live.closed().await;
            Err(Refused::Frame { code, close })
        }
        other => panic!("expected welcome or error, got {other:?}"),
    }
}

/// [`join`] that must succeed.
pub async fn joined(gw: SocketAddr, from: IpAddr, query: &str) -> Live {
    match join(gw, from, query).await {
        Ok(l) => l,
        Err(r) => panic!("join {query:?} from {from} refused: {r:?}"),
    }
}

/// [`join`] that must be refused.
pub async fn refused(gw: SocketAddr, from: IpAddr, query: &str) -> Refused {
    match join(gw, from, query).await {
        Ok(l) => panic!("join {query:?} from {from} was welcomed: {}", l.welcome),
        Err(r) => r,
    }
}

impl Live {
    /// Sends one JSON frame.
    pub async fn send(&mut self, msg: Value) {
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("send frame");
    }

    /// The next frame or the close (panics after [`WAIT`]).
    pub async fn next(&mut self) -> Next {
        loop {
            let item = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame");
            match item {
                Some(Ok(Message::Text(t))) => {
                    return Next::Msg(serde_json::from_str(t.as_str()).expect("JSON frame"))
                }
                Some(Ok(Message::Close(f))) => return Next::Closed(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Next::Closed(None),
            }
        }
    }

    /// Skips frames until one of type `kind`; panics if the socket closes first.
    pub async fn wait(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Next::Msg(m) if m["type"] == kind => return m,
                Next::Msg(_) => continue,
                Next::Closed(c) => panic!("closed ({c:?}) while waiting for {kind}"),
            }
        }
    }

    /// Skips frames until the socket closes; the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Next::Closed(c) = self.next().await {
                return c;
            }
        }
    }

    /// The player id of the welcome.
    pub fn player_id(&self) -> u64 {
        self.welcome["player_id"].as_u64().expect("player id")
    }

    /// The resume token of the welcome.
    pub fn resume_token(&self) -> String {
        self.welcome["resume_token"]
            .as_str()
            .expect("resume token")
            .to_string()
    }
}

/// The status of a session's record in the SQLite database of `gw`.
async fn sqlite_status(gw: &Gateway, session_id: i64) -> String {
    let url = format!(
        "sqlite://{}?mode=ro",
        gw.dir.path().join("quiz.db").display()
    );
    let mut c = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the gateway's SQLite file");
    sqlx::query("SELECT status FROM live_sessions WHERE id = ?")
        .bind(session_id)
        .fetch_one(&mut c)
        .await
        .expect("session row")
        .get(0)
}

const CLOSE_FINISHED: u16 = 4000;
const CLOSE_REMOVED: u16 = 4001;
const CLOSE_REFUSED: u16 = 4003;

/// The per-user limit: the third session is a 429 problem naming the limit, other users
/// are not affected, and ending a session frees a slot. `peer`: where the third try goes
/// (another gateway on the same database in cluster mode).
async fn per_user_limit(gw: &Gateway, peer: &Gateway) {
    let host = user(gw, "host").await;
    let other = user(gw, "other").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let body = json!({"quiz_id": quiz_id});
    let (code, host_token, _) = session(gw, &host.token, body.clone()).await;
    session(gw, &host.token, body.clone()).await;
    let refused = create(peer, &host.token, &body).await;
    refused.assert_problem(429);
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains('2') && detail.contains("LIVE_MAX_SESSIONS_PER_USER"),
        "the refusal names the limit: {detail}"
    );
    session(peer, &other.token, body.clone()).await;
    // The host ends one session: a slot is free again.
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    h.send(json!({"type": "end"})).await;
    h.wait("finished").await;
    session(peer, &host.token, body).await;
}

#[tokio::test]
async fn running_sessions_per_user_are_limited_sqlite() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_SESSIONS_PER_USER", "2")]).await;
    per_user_limit(&gw, &gw).await;
}

#[tokio::test]
async fn running_sessions_per_user_are_limited_across_gateways_mysql() {
    let env = [("LIVE_MAX_SESSIONS_PER_USER", "2")];
    let gw = Gateway::mysql(&env).await;
    let peer = gw.peer(&env).await;
    per_user_limit(&gw, &peer).await;
}

/// A lobby nobody hosts ends by itself: its players get `finished` (reason `lobby_idle`)
/// and close 4000, the record is finished, the code is free and the host's slot too.
#[tokio::test]
async fn an_idle_lobby_expires() {
    let gw = Gateway::sqlite(&[
        ("LIVE_LOBBY_IDLE_SECS", "2"),
        ("LIVE_MAX_SESSIONS_PER_USER", "1"),
    ])
    .await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, id) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let mut ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    let finished = ann.wait("finished").await;
    assert_eq!(finished["reason"], "lobby_idle", "{finished}");
    assert_eq!(ann.closed().await, Some(CLOSE_FINISHED));
    assert_eq!(sqlite_status(&gw, id).await, "finished");
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    assert_eq!(r.frame().0, "unknown_session");
    session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
}

/// A running game ends at the maximum lifetime: the open question is revealed with the
/// answers given, then everyone gets `finished` (reason `max_duration`) and the standings
/// are stored.
#[tokio::test]
async fn a_session_ends_at_its_maximum_lifetime() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_SESSION_SECS", "3")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[60_000, 60_000]).await;
    let (code, host_token, id) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    let mut ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    let _bob = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    h.send(json!({"type": "start"})).await;
    let q = ann.wait("question").await;
    ann.send(json!({"type": "answer", "question": q["index"], "choices": [1]}))
        .await;
    ann.wait("answer_ack").await;
    let reveal = ann.wait("reveal").await;
    let points = reveal["result"]["points"].as_i64().expect("points");
    assert!(points > 0, "{reveal}");
    let finished = ann.wait("finished").await;
    assert_eq!(finished["reason"], "max_duration", "{finished}");
    assert_eq!(finished["you"]["score"], points);
    assert_eq!(ann.closed().await, Some(CLOSE_FINISHED));
    assert_eq!(h.wait("finished").await["reason"], "max_duration");
    assert_eq!(sqlite_status(&gw, id).await, "finished");
    let stored = host.client.live_standings(id).await.expect("standings");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].nickname, "ann");
    assert_eq!(stored[0].score, points);
}

/// With every join code taken, creating a session is a 503 problem, not an endless loop
/// (the code space is shrunk to one digit for the test).
#[tokio::test]
async fn no_free_join_code_is_a_clear_error() {
    let gw = Gateway::sqlite(&[
        ("LIVE_CODE_DIGITS", "1"),
        ("LIVE_MAX_SESSIONS_PER_USER", "20"),
    ])
    .await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let mut codes = std::collections::HashSet::new();
    for _ in 0..10 {
        let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
        assert_eq!(code.len(), 1);
        codes.insert(code);
    }
    assert_eq!(codes.len(), 10);
    let full = tokio::time::timeout(WAIT, create(&gw, &host.token, &json!({"quiz_id": quiz_id})))
        .await
        .expect("creating a session with no free code must answer");
    full.assert_problem(503);
    assert!(
        full.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no free join code"),
        "{full:?}"
    );
}

/// Join attempts are limited per client address before the upgrade, unknown codes
/// included (enumeration); other addresses are not affected.
#[tokio::test]
async fn join_attempts_per_address_are_limited() {
    // 6 a minute, bursts of 3.
    let gw = Gateway::sqlite(&[("JOIN_PER_IP_PER_MIN", "6")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    for guess in ["999999x", "99999y", "9999z"] {
        let r = refused(
            gw.addr,
            lo(2),
            &query(&[("code", guess), ("nickname", "enum")]),
        )
        .await;
        assert_eq!(r.frame().0, "unknown_session");
    }
    match refused(
        gw.addr,
        lo(2),
        &query(&[("code", &code), ("nickname", "bot")]),
    )
    .await
    {
        Refused::Http(r) => r.assert_problem(429),
        other => panic!("expected 429 before the upgrade, got {other:?}"),
    }
    joined(
        gw.addr,
        lo(3),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
}

/// `max_players` caps a session (`session_full`, close 4003); it cannot exceed
/// `LIVE_MAX_PLAYERS_PER_SESSION`, which is also the default.
#[tokio::test]
async fn a_session_is_capped_at_max_players() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_PLAYERS_PER_SESSION", "3")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let too_many = create(
        &gw,
        &host.token,
        &json!({"quiz_id": quiz_id, "max_players": 4}),
    )
    .await;
    assert_eq!(too_many.status, 422, "{too_many:?}");
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "max_players": 2}),
    )
    .await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    let _a = joined(gw.addr, lo(1), &q("ann")).await;
    let _b = joined(gw.addr, lo(1), &q("bob")).await;
    let r = refused(gw.addr, lo(1), &q("cy")).await;
    assert_eq!(r.frame(), ("session_full", Some(CLOSE_REFUSED)));
    // The default cap is the operator's maximum.
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    let mut held = Vec::new();
    for n in ["a", "b", "c"] {
        held.push(joined(gw.addr, lo(1), &q(n)).await);
    }
    assert_eq!(
        refused(gw.addr, lo(1), &q("d")).await.frame().0,
        "session_full"
    );
}

/// A locked session refuses new players (`locked`) but lets existing ones resume;
/// unlocking lets new players in again. The host sees the lock state.
#[tokio::test]
async fn a_locked_session_takes_no_new_players() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |k: &str, v: &str| query(&[("code", &code), (k, v)]);
    let mut h = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    let ann = joined(gw.addr, lo(1), &q("nickname", "ann")).await;
    let token = ann.resume_token();
    drop(ann);
    h.send(json!({"type": "lock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], true);
    let r = refused(gw.addr, lo(1), &q("nickname", "bob")).await;
    assert_eq!(r.frame(), ("locked", Some(CLOSE_REFUSED)));
    let back = joined(gw.addr, lo(1), &q("resume", &token)).await;
    assert_eq!(back.welcome["nickname"], "ann");
    // A host that reconnects sees the lock.
    let h2 = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    assert_eq!(h2.welcome["locked"], true);
    h.send(json!({"type": "unlock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], false);
    joined(gw.addr, lo(1), &q("nickname", "bob")).await;
}

/// A banned account cannot rejoin (login token or resume token), a banned guest's resume
/// token is dead; `remove` only kicks (the account may join again).
#[tokio::test]
async fn a_banned_player_stays_out() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let eve = user(&gw, "eve").await;
    let kim = user(&gw, "kim").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |k: &str, v: &str| query(&[("code", &code), (k, v)]);
    let mut h = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    let mut e = joined(gw.addr, lo(1), &q("token", &eve.token)).await;
    let mut m = joined(gw.addr, lo(1), &q("nickname", "mallory")).await;
    let mut k = joined(gw.addr, lo(1), &q("token", &kim.token)).await;
    let (e_token, m_token) = (e.resume_token(), m.resume_token());
    for p in [e.player_id(), m.player_id()] {
        h.send(json!({"type": "ban", "player_id": p})).await;
        loop {
            let r = h.wait("roster").await;
            if r["player_id"] == p && r["event"] == "banned" {
                break;
            }
        }
    }
    assert_eq!(e.closed().await, Some(CLOSE_REMOVED));
    assert_eq!(m.closed().await, Some(CLOSE_REMOVED));
    for (key, value) in [
        ("token", eve.token.as_str()),
        ("resume", &e_token),
        ("resume", &m_token),
    ] {
        let r = refused(gw.addr, lo(1), &q(key, value)).await;
        assert_eq!(r.frame(), ("banned", Some(CLOSE_REFUSED)), "{key}");
    }
    // A kicked account may come back (as a new player).
    h.send(json!({"type": "remove", "player_id": k.player_id()}))
        .await;
    assert_eq!(k.closed().await, Some(CLOSE_REMOVED));
    joined(gw.addr, lo(1), &q("token", &kim.token)).await;
    // A guest is known only by its resume token: under a new nickname it gets in
    // (docs/SECURITY.md: lock, two-step join and the address limits are the answer).
    joined(gw.addr, lo(1), &q("nickname", "mallory2")).await;
}

/// Two-step join: the host gets a pattern; a join without it or with a wrong one is
/// refused (`bad_pattern`), with it welcomed.
#[tokio::test]
async fn two_step_join_needs_the_pattern() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "two_step": true}),
    )
    .await;
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    let frame = h.wait("join_pattern").await;
    let pattern = frame["pattern"].as_str().expect("pattern").to_string();
    assert_eq!(pattern.chars().count(), 4, "{frame}");
    assert!(frame["expires_at"].as_i64().is_some(), "{frame}");
    let wrong: String = pattern
        .chars()
        .map(|c| if c == '1' { '2' } else { '1' })
        .collect();
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    assert_eq!(r.frame(), ("bad_pattern", Some(CLOSE_REFUSED)));
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann"), ("pattern", &wrong)]),
    )
    .await;
    assert_eq!(r.frame().0, "bad_pattern");
    // The pattern just shown is valid at least until its rotation plus a grace period.
    let ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann"), ("pattern", &pattern)]),
    )
    .await;
    assert_eq!(ann.welcome["nickname"], "ann");
}

/// Generated nicknames: the server picks a friendly unique name, whatever was asked.
#[tokio::test]
async fn generated_nicknames_replace_requested_ones() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "generated_nicknames": true}),
    )
    .await;
    let mut names = std::collections::HashSet::new();
    let mut held = Vec::new();
    for i in 0..30 {
        let asked = format!("Sh1t {i}");
        let p = joined(
            gw.addr,
            lo(1),
            &query(&[("code", &code), ("nickname", &asked)]),
        )
        .await;
        let got = p.welcome["nickname"]
            .as_str()
            .expect("nickname")
            .to_string();
        assert_ne!(got, asked);
        assert!(!got.is_empty() && got.chars().count() <= 32, "{got}");
        assert!(names.insert(got.to_lowercase()), "{got} given twice");
        held.push(p);
    }
}

/// The nickname word filter refuses listed words, in leetspeak and spaced out too, and the
/// operator's extra words; innocent names that contain a short listed word pass.
#[tokio::test]
async fn offensive_nicknames_are_refused_when_filtered() {
    let gw = Gateway::sqlite(&[("LIVE_NICKNAME_BLOCKLIST", "grumpkin, =zorp")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "nickname_filter": true}),
    )
    .await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    for bad in [
        "Sh1t head",
        "F.U.C.K",
        "fuuuck",
        "$h!t",
        "GRUMPKIN99",
        "zorp",
    ] {
        let r = refused(gw.addr, lo(1), &q(bad)).await;
        assert_eq!(r.frame(), ("bad_nickname", Some(CLOSE_REFUSED)), "{bad}");
    }
    let mut held = Vec::new();
    for ok in ["Classic Ann", "zorpy", "Bob"] {
        held.push(joined(gw.addr, lo(1), &q(ok)).await);
    }
    // Without the setting the filter is off.
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "grumpkin")]),
    )
    .await;
}

/// Waits (at most 10 s) until the session's checkpoint in the SQLite database of `gw` holds
/// the lock and a banned player, so a crash now cannot lose them.
async fn until_lock_and_ban_are_checkpointed(gw: &Gateway, code: &str) {
    let url = format!(
        "sqlite://{}?mode=ro",
        gw.dir.path().join("quiz.db").display()
    );
    let mut c = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the gateway's SQLite file");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let locked: i64 = sqlx::query(
            "SELECT COUNT(*) FROM live_checkpoints WHERE code = ? AND phase LIKE '%\"locked\":true%'",
        )
        .bind(code)
        .fetch_one(&mut c)
        .await
        .expect("read checkpoint")
        .get(0);
        let banned: i64 = sqlx::query(
            "SELECT COUNT(*) FROM live_checkpoint_players WHERE code = ? \
             AND record LIKE '%\"banned\":true%'",
        )
        .bind(code)
        .fetch_one(&mut c)
        .await
        .expect("read checkpoint players")
        .get(0);
        if locked == 1 && banned == 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lock and ban never reached the checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A session taken over after a crash (the single gateway restarts on its data directory)
/// keeps its cap, lock, bans and two-step join.
#[tokio::test]
async fn join_rules_lock_and_bans_survive_a_crash() {
    let mut gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let eve = user(&gw, "eve").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "max_players": 3, "two_step": true}),
    )
    .await;
    let host_q = query(&[("code", &code), ("host_token", &host_token)]);
    let with = |k: &str, v: &str, p: &str| query(&[("code", &code), (k, v), ("pattern", p)]);
    let mut h = joined(gw.addr, lo(1), &host_q).await;
    let p = h.wait("join_pattern").await["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    let e = joined(gw.addr, lo(1), &with("token", &eve.token, &p)).await;
    let ann = joined(gw.addr, lo(1), &with("nickname", "ann", &p)).await;
    let (eve_id, ann_token) = (e.player_id(), ann.resume_token());
    h.send(json!({"type": "ban", "player_id": eve_id})).await;
    h.send(json!({"type": "lock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], true);
    until_lock_and_ban_are_checkpointed(&gw, &code).await;
    drop((h, e, ann));

    gw.restart().await;
    // The host's reconnect brings the session back from its checkpoint.
    let mut h = joined(gw.addr, lo(1), &host_q).await;
    assert_eq!(h.welcome["locked"], true, "{}", h.welcome);
    let p = h.wait("join_pattern").await["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    // Login tokens of the embedded default live in the process: eve logs in again.
    let eve = gw
        .client()
        .login("eve", "long-enough-password")
        .await
        .expect("login eve");
    let eve_token = eve.token().expect("token");
    let r = refused(gw.addr, lo(1), &with("token", eve_token, &p)).await;
    assert_eq!(r.frame().0, "banned");
    let r = refused(gw.addr, lo(1), &with("nickname", "bob", &p)).await;
    assert_eq!(r.frame().0, "locked");
    let back = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("resume", &ann_token)]),
    )
    .await;
    assert_eq!(back.welcome["nickname"], "ann");
    h.send(json!({"type": "unlock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], false);
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    assert_eq!(r.frame().0, "bad_pattern");
    let _bob = joined(gw.addr, lo(1), &with("nickname", "bob", &p)).await;
    let _cy = joined(gw.addr, lo(1), &with("nickname", "cy", &p)).await;
    let r = refused(gw.addr, lo(1), &with("nickname", "dan", &p)).await;
    assert_eq!(r.frame().0, "session_full");
}

/// Bad live-session settings stop the gateway at start with an error naming the variable.
#[test]
fn bad_live_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, value) in [
        ("LIVE_MAX_SESSIONS_PER_USER", "-1"),
        ("LIVE_LOBBY_IDLE_SECS", "0"),
        ("LIVE_MAX_SESSION_SECS", "90000"),
        ("LIVE_MAX_PLAYERS_PER_SESSION", "0"),
        ("LIVE_CODE_DIGITS", "7"),
        ("LIVE_NICKNAME_BLOCKLIST_FILE", "/nonexistent/words.txt"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_CLUSTER_NODES")
            .env("BIND", "127.0.0.1:0")
            .env("DATA_DIR", dir.path())
            .env(name, value)
            .output()
            .expect("run the gateway binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} was accepted");
        assert!(stderr.contains(name), "{name}={value}: {stderr}");
    }
}
