//! The raw clients of the live abuse tests: HTTP requests and WebSocket joins from chosen
//! loopback addresses (each a different client for the per-address limits), frames as JSON
//! values, and reads of the gateway's SQLite file.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest};
use serde_json::Value;
use sqlx::{Connection as _, Row as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::process::Gateway;

/// How long a test waits for one expected frame.
pub const WAIT: Duration = Duration::from_secs(20);

/// A loopback source address (`127.0.0.<last>`): each is a different client for the
/// per-address limits.
pub fn lo(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A logged-in user of a gateway.
pub struct User {
    /// Client carrying the user's bearer token.
    pub client: livequiz_sdk::Client,
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
pub async fn quiz(author: &livequiz_sdk::Client, limits_ms: &[u32]) -> i64 {
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

/// The first frame a client sends for `query`'s credential (`nickname`, `token`, `pattern`,
/// `resume` or `host_token`), and the URL query that is left (the join code): the tests
/// name a join by one query-like string, the wire carries the credential in the first
/// frame.
fn split_credentials(query: &str) -> (String, Value) {
    let mut url = Vec::new();
    let mut join = serde_json::Map::new();
    let mut hello = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "nickname" | "token" | "pattern" => {
                join.insert(k.to_string(), Value::String(v));
            }
            "resume" => hello = Some(serde_json::json!({"type": "resume", "resume_token": v})),
            "host_token" => hello = Some(serde_json::json!({"type": "host", "host_token": v})),
            _ => url.push(pair.to_string()),
        }
    }
    let hello = hello.unwrap_or_else(|| {
        join.insert("type".into(), Value::String("join".into()));
        Value::Object(join)
    });
    (url.join("&"), hello)
}

/// Undoes [`query`]'s percent-encoding.
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens `/v1/live/ws?code=..` on `gw` from the address `from` and sends the credential
/// that `query` names (see [`split_credentials`]) as the first frame; the welcome, or why
/// not.
pub async fn join(gw: SocketAddr, from: IpAddr, query: &str) -> Result<Live, Refused> {
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::new(from, 0))
        .unwrap_or_else(|e| panic!("bind {from}: {e}"));
    let stream = sock.connect(gw).await.expect("connect to the gateway");
    let (query, hello) = split_credentials(query);
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
    live.ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .expect("send the first frame");
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
pub async fn sqlite_status(gw: &Gateway, session_id: i64) -> String {
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

pub const CLOSE_FINISHED: u16 = 4000;
pub const CLOSE_REMOVED: u16 = 4001;
pub const CLOSE_REFUSED: u16 = 4003;

/// Waits (at most 10 s) until the session's checkpoint in the SQLite database of `gw` holds
/// the lock and a banned player, so a crash now cannot lose them.
pub async fn until_lock_and_ban_are_checkpointed(gw: &Gateway, code: &str) {
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
