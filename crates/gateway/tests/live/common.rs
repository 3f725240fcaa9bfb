//! Live test context: an in-process gateway (embedded SQLite, or MySQL primary + replica with
//! Redis Cluster from `scripts/stack env`), a host account and a quiz.

use std::time::Duration;

use gateway::config::Config;
use gateway::testing::{spawn, TestServer};
use livequiz_sdk::live::{
    CreateSession, CreatedSession, Credentials, LiveClient, LiveEvent, ServerMsg,
};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest};
use livequiz_sdk::Client;
#[path = "../support/mysql.rs"]
mod mysql;

/// A gateway under test with a logged-in host and a quiz.
pub struct Ctx {
    pub server: TestServer,
    pub host: Client,
    pub quiz_id: i64,
    _dir: tempfile::TempDir,
    mysql: Option<(String, String)>,
}

/// Creates a fresh MySQL database for one test; returns (config, admin url, name).
pub async fn mysql_config(dir: &std::path::Path) -> (Config, String, String) {
    let db = mysql::FreshDb::create("quiz_live").await;
    let mut config = Config::for_tests(dir);
    db.configure(&mut config);
    (config, db.admin_url, db.name)
}

/// Gateways A and B on one fresh MySQL database and the stack's Redis Cluster; each has its
/// own local search index directory (everything shared is in the stack).
#[allow(dead_code)] // used by the two-gateway and matchmaking test binaries
pub struct MysqlPair {
    pub a: TestServer,
    pub b: TestServer,
    pub admin_url: String,
    pub db_name: String,
    /// A's and B's data directories.
    pub dirs: [tempfile::TempDir; 2],
}

#[allow(dead_code)] // used by the two-gateway and matchmaking test binaries
impl MysqlPair {
    /// Creates the database, then starts A and B on it.
    pub async fn start() -> MysqlPair {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, admin_url, db_name) = mysql_config(dir.path()).await;
        let a = spawn(config.clone()).await.expect("spawn gateway A");
        let dir_b = tempfile::tempdir().expect("tempdir");
        let mut config_b = config;
        config_b.data_dir = dir_b.path().to_path_buf();
        let b = spawn(config_b).await.expect("spawn gateway B");
        MysqlPair {
            a,
            b,
            admin_url,
            db_name,
            dirs: [dir, dir_b],
        }
    }

    /// Stops both gateways and drops the database.
    pub async fn stop(self) {
        self.a.state.db.close().await;
        self.b.state.db.close().await;
        self.a.stop().await;
        self.b.stop().await;
        drop_database(&self.admin_url, &self.db_name).await;
    }
}

impl Ctx {
    /// Embedded default.
    pub async fn sqlite() -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = spawn(Config::for_tests(dir.path()))
            .await
            .expect("spawn gateway");
        Self::with(server, dir, None).await
    }

    /// Real stack: MySQL primary + replica, Redis Cluster.
    pub async fn mysql() -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, admin_url, name) = mysql_config(dir.path()).await;
        let server = spawn(config).await.expect("spawn gateway (mysql)");
        Self::with(server, dir, Some((admin_url, name))).await
    }

    async fn with(
        server: TestServer,
        dir: tempfile::TempDir,
        mysql: Option<(String, String)>,
    ) -> Ctx {
        let host = register_host(&server.base_url).await;
        let quiz_id = make_quiz(&host, 3).await;
        Ctx {
            server,
            host,
            quiz_id,
            _dir: dir,
            mysql,
        }
    }

    /// Hosts a session with a short reveal pause.
    pub async fn session(&self, reveal_ms: u64) -> CreatedSession {
        host_session(&self.host, self.quiz_id, reveal_ms).await
    }

    /// Connects as `creds`.
    pub async fn connect(&self, code: &str, creds: Credentials) -> LiveClient {
        connect_to(&self.server.base_url, code, creds).await
    }

    /// Answers recorded in the database for a session.
    pub async fn answers_recorded(&self, session_id: i64) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) FROM live_answers WHERE session_id = ?")
            .bind(session_id)
            .fetch_one(self.server.state.db.primary())
            .await
            .expect("count answers")
            .try_get::<i64, _>(0)
            .unwrap()
    }

    /// Stops the server and drops the MySQL database.
    pub async fn finish(self) {
        self.server.state.db.close().await;
        self.server.stop().await;
        if let Some((url, name)) = self.mysql {
            drop_database(&url, &name).await;
        }
    }
}

/// Registers the account `host` (the first user of a fresh database: admin, so an author)
/// through the gateway at `base_url` and logs it in.
pub async fn register_host(base_url: &str) -> Client {
    let anon = Client::new(base_url).unwrap();
    anon.register(&RegisterRequest {
        username: "host".into(),
        password: "host-password".into(),
    })
    .await
    .expect("register host");
    anon.login("host", "host-password")
        .await
        .expect("login host")
}

/// Hosts a session of `quiz_id` (top 5, `reveal_ms` pause).
pub async fn host_session(host: &Client, quiz_id: i64, reveal_ms: u64) -> CreatedSession {
    let req = CreateSession {
        quiz_id,
        scoring: None,
        reveal_ms: Some(reveal_ms),
        top_n: Some(5),
        ..Default::default()
    };
    host.create_live_session(&req)
        .await
        .expect("create live session")
}

/// Connects to the gateway at `base` as `creds`; panics with the reason if refused.
pub async fn connect_to(base: &str, code: &str, creds: Credentials) -> LiveClient {
    LiveClient::connect(base, code, creds)
        .await
        .unwrap_or_else(|e| panic!("connect to {base}: {e}"))
}

pub use mysql::drop_database;

/// A quiz of `n` questions; choice 1 of 3 is correct; 1 s limits.
pub async fn make_quiz(author: &Client, n: usize) -> i64 {
    make_quiz_with(author, &vec![1_000; n]).await
}

/// A question of three choices, the second (choice 1) correct.
pub fn three_choices(text: &str, topic: &str, difficulty: u8) -> QuestionInput {
    let choice = |text: &str, correct| ChoiceInput {
        id: None,
        text: text.into(),
        correct,
    };
    QuestionInput {
        text: text.into(),
        topic: topic.into(),
        tags: vec![],
        difficulty,
        explanation: "because".into(),
        choices: vec![
            choice("no", false),
            choice("yes", true),
            choice("maybe", false),
        ],
    }
}

/// A quiz with one question per time limit (ms); choice 1 of 3 is correct.
pub async fn make_quiz_with(author: &Client, limits_ms: &[u32]) -> i64 {
    let mut items = Vec::new();
    for (i, &time_limit_ms) in limits_ms.iter().enumerate() {
        let q = author
            .create_question(&three_choices(&format!("Live question {i}?"), "live", 1))
            .await
            .expect("create question");
        items.push(QuizItemInput {
            question_id: q.id,
            time_limit_ms,
        });
    }
    author
        .create_quiz(&QuizInput {
            title: "live quiz".into(),
            description: String::new(),
            questions: items,
        })
        .await
        .expect("create quiz")
        .id
}

/// Waits (at most 10 s) for an event matching `f`, skipping others.
pub async fn wait_for<T>(
    c: &mut LiveClient,
    what: &str,
    mut f: impl FnMut(&LiveEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, c.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("connection ended while waiting for {what}"));
        if let Some(v) = f(&ev) {
            return v;
        }
    }
}

/// Waits for a server message matching `f`.
pub async fn wait_msg<T>(
    c: &mut LiveClient,
    what: &str,
    mut f: impl FnMut(&ServerMsg) -> Option<T>,
) -> T {
    wait_for(c, what, |ev| match ev {
        LiveEvent::Message(m) => f(m),
        _ => None,
    })
    .await
}

/// A TCP proxy in front of the gateway whose open connections can be cut
/// while it keeps accepting new ones: the way to make a real SDK client
/// lose its socket (as on a network change) and reconnect by itself.
pub struct Proxy {
    /// `http://` base URL of the proxy.
    pub base_url: String,
    cut: tokio::sync::watch::Sender<u64>,
    #[allow(dead_code)] // read by `retarget` (the failover test binary)
    upstream: std::sync::Arc<std::sync::Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

/// `host:port` of an `http://host:port` base URL.
fn authority(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

impl Proxy {
    /// Proxies to the gateway at `target` (`http://host:port`).
    pub async fn start(target: &str) -> Proxy {
        Self::start_with(target, None).await
    }

    /// Proxies to `primary`, and to `fallback` whenever `primary` refuses the connection (a
    /// stopped gateway's closed port), as a load balancer's "next upstream" does.
    #[allow(dead_code)] // used by the failover test binary only
    pub async fn with_fallback(primary: &str, fallback: &str) -> Proxy {
        Self::start_with(primary, Some(authority(fallback))).await
    }

    async fn start_with(target: &str, fallback: Option<String>) -> Proxy {
        let upstream = std::sync::Arc::new(std::sync::Mutex::new(authority(target)));
        let target = upstream.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let base_url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let (cut, generation) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = generation.clone();
                let born = *cut.borrow();
                let upstream = target.lock().expect("proxy target").clone();
                let fallback = fallback.clone();
                tokio::spawn(async move {
                    let outbound = match tokio::net::TcpStream::connect(&upstream).await {
                        Ok(s) => Ok(s),
                        Err(e) => match &fallback {
                            Some(next) => tokio::net::TcpStream::connect(next).await,
                            None => Err(e),
                        },
                    };
                    let Ok(mut outbound) = outbound else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|g| *g != born) => {}
                    }
                });
            }
        });
        Proxy {
            base_url,
            cut,
            upstream,
            task,
        }
    }

    /// Sends new connections to `target` (`http://host:port`), as a load
    /// balancer does when a backend dies.
    #[allow(dead_code)] // used by the failover test binary only
    pub fn retarget(&self, target: &str) {
        *self.upstream.lock().expect("proxy target") = authority(target);
    }

    /// Drops every connection open now (both directions), abruptly.
    pub fn cut(&self) {
        self.cut.send_modify(|g| *g += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Joins session `code` with a login token over a bare WebSocket (no SDK retries) and
/// returns the refusal: the error frame's code and the close code that followed it.
pub async fn raw_join(
    base: &str,
    code: &str,
    token: &str,
) -> (livequiz_sdk::live::ErrorCode, Option<u16>) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let url = format!("{}/v1/live/ws?code={code}", base.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("websocket upgrade");
    let hello = serde_json::json!({ "type": "join", "token": token }).to_string();
    ws.send(Message::text(hello)).await.expect("send hello");
    let mut error = None;
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("an answer to the hello")
    {
        match msg.expect("frame") {
            Message::Text(t) => match serde_json::from_str::<ServerMsg>(t.as_str()) {
                Ok(ServerMsg::Error { code, .. }) => error = Some(code),
                other => panic!("expected an error frame, got {other:?}"),
            },
            Message::Close(frame) => {
                return (
                    error.expect("an error frame before the close"),
                    frame.map(|f| u16::from(f.code)),
                )
            }
            _ => {}
        }
    }
    panic!("the connection ended without a close frame")
}

/// Answers every question with `choice`, `after` it arrived, until the session finishes; how
/// many questions it answered.
pub async fn answer_until_finished(c: &mut LiveClient, choice: u32, after: Duration) -> usize {
    let mut answered = 0;
    loop {
        let msg = wait_msg(c, "a question or the end", |m| match m {
            ServerMsg::Question(q) => Some(Some(q.index)),
            ServerMsg::Finished { .. } => Some(None),
            _ => None,
        })
        .await;
        let Some(index) = msg else {
            return answered;
        };
        if !after.is_zero() {
            tokio::time::sleep(after).await;
        }
        c.answer(index, vec![choice], None).expect("answer");
        answered += 1;
    }
}
