//! A gateway in its own process, as an operator runs it: started from the built binary with
//! environment variables, on the embedded default (SQLite in a temporary directory) or on
//! the real stack (a throwaway MySQL database on the primary and replica of `scripts/stack
//! env`, and its Redis Cluster). Killed and cleaned up on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

#[path = "../support/mysql.rs"]
mod mysql;

/// A running gateway process.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its data directory (SQLite file, search index).
    pub dir: tempfile::TempDir,
    mysql: Option<(String, String)>,
    /// The database and Redis variables it was started with (MySQL mode), for [`Gateway::peer`].
    shared: Vec<(String, String)>,
    /// Every variable it was started with (on top of the common ones), for
    /// [`Gateway::restart`] and [`Gateway::run`].
    env: Vec<(String, String)>,
    /// The descriptor limit it runs under, if the test set one.
    nofile: Option<u64>,
}

/// An HTTP response read off the wire, as a client sees it.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header lines (`name: value`, names lowercased).
    pub headers: Vec<(String, String)>,
    /// The body (up to the connection's close).
    pub body: String,
}

impl RawResponse {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Gateway {
    /// The embedded default with `env` on top (cheap password hashing unless `env` says
    /// otherwise).
    pub async fn sqlite(env: &[(&str, &str)]) -> Gateway {
        Self::start(env, None, None).await
    }

    /// [`Gateway::sqlite`] in a process whose descriptor limit (`RLIMIT_NOFILE`, soft and
    /// hard) is `nofile`, set with `prlimit` as an operator's service manager would.
    pub async fn sqlite_with_nofile(env: &[(&str, &str)], nofile: u64) -> Gateway {
        Self::start(env, None, Some(nofile)).await
    }

    /// MySQL primary + replica and Redis Cluster, with `env` on top.
    pub async fn mysql(env: &[(&str, &str)]) -> Gateway {
        let db = mysql::FreshDb::create("quiz_abuse").await;
        let (primary_db, replica_db, redis) = (&db.primary, &db.replica, &db.redis);
        let mut all: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", primary_db),
            ("DATABASE_REPLICA_URL", replica_db),
            ("REDIS_CLUSTER_NODES", redis),
            ("MIGRATE_ON_START", "true"),
            ("DB_MAX_CONNECTIONS", "4"),
        ];
        let shared = all
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        all.extend_from_slice(env);
        let mut gw = Self::start(&all, Some((db.admin_url.clone(), db.name.clone())), None).await;
        gw.shared = shared;
        gw
    }

    /// A second gateway process on the same MySQL database and Redis Cluster (a cluster of
    /// two), with `env` on top; the database is dropped with `self`, not with the peer.
    pub async fn peer(&self, env: &[(&str, &str)]) -> Gateway {
        assert!(!self.shared.is_empty(), "peer() needs a Gateway::mysql");
        let mut all: Vec<(&str, &str)> = self
            .shared
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.retain(|(k, _)| *k != "MIGRATE_ON_START");
        all.extend_from_slice(env);
        Self::start(&all, None, None).await
    }

    async fn start(
        env: &[(&str, &str)],
        mysql: Option<(String, String)>,
        nofile: Option<u64>,
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, addr) = Self::spawn_child(&env, dir.path(), 0, nofile).await;
        let gw = Gateway {
            child,
            base_url: format!("http://{addr}"),
            addr,
            dir,
            mysql,
            shared: Vec::new(),
            env,
            nofile,
        };
        gw.wait_healthy().await;
        gw
    }

    /// Starts `gateway serve` bound to `port` (0: any free port) and returns it with the
    /// address it printed once bound. The address comes from the process itself: a port
    /// picked in advance could be taken meanwhile by another test's gateway, whose health
    /// check would then answer for this one (two tests once ran against one gateway so).
    async fn spawn_child(
        env: &[(String, String)],
        dir: &std::path::Path,
        port: u16,
        nofile: Option<u64>,
    ) -> (Child, SocketAddr) {
        let mut cmd = match nofile {
            // prlimit execs the gateway in the same process, so the child's pid is the
            // gateway's; the limit is what an operator's service manager would set.
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(env!("CARGO_BIN_EXE_gateway"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_gateway")),
        };
        let mut child = with_test_env(&mut cmd, dir, port, env)
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the gateway binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let addr = tokio::time::timeout(
            Duration::from_secs(60),
            crate::listening::listening_address(stdout),
        )
        .await
        .unwrap_or_else(|_| panic!("the gateway did not report its address within 60 s"))
        .unwrap_or_else(|| {
            let status = child.try_wait();
            panic!("the gateway exited before listening on port {port}: {status:?}")
        });
        (child, addr)
    }

    async fn wait_healthy(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !self.healthy().await {
            assert!(
                std::time::Instant::now() < deadline,
                "gateway process on {} never became healthy",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process (SIGKILL: a crash) and starts it again with the same variables, data
    /// directory and port, as a supervisor would.
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr) =
            Self::spawn_child(&self.env, self.dir.path(), self.addr.port(), self.nofile).await;
        assert_eq!(
            addr, self.addr,
            "the restarted gateway listens where it did"
        );
        self.child = child;
        self.wait_healthy().await;
    }

    /// Whether `GET /healthz` answers 200 on a fresh connection.
    pub async fn healthy(&self) -> bool {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let Ok(mut s) = tokio::net::TcpStream::connect(self.addr).await else {
            return false;
        };
        let req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let mut resp = Vec::new();
        s.write_all(req.as_bytes()).await.is_ok()
            && s.read_to_end(&mut resp).await.is_ok()
            && resp.starts_with(b"HTTP/1.1 200")
    }

    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory of the process now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib_of(self.pid()).expect("VmRSS in /proc/<pid>/status")
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs another command of the gateway binary (`args`, e.g. `["admin", "create", "ann"]`)
    /// against the same database, with `stdin` as its standard input and `extra_env` on top
    /// of this gateway's environment; waits for it to exit.
    pub fn run(&self, args: &[&str], extra_env: &[(&str, &str)], stdin: &str) -> Output {
        use std::io::Write as _;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateway"));
        let mut child = with_test_env(&mut cmd, self.dir.path(), self.addr.port(), &self.env)
            .args(args)
            .envs(extra_env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the gateway binary");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        child
            .wait_with_output()
            .expect("wait for the gateway command")
    }

    /// An SDK client without credentials.
    pub fn client(&self) -> livequiz_sdk::Client {
        livequiz_sdk::Client::new(&self.base_url).expect("sdk client")
    }

    /// Sends one HTTP/1.1 request (`Connection: close` unless `headers` name a `Connection`)
    /// with `headers` and `body` and reads
    /// the whole response: status, headers and body as the client sees them (content types
    /// included, which the SDK does not expose).
    pub async fn raw_http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> RawResponse {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect to the gateway");
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
        {
            req.push_str("Connection: close\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await.expect("send the request");
        let mut raw = Vec::new();
        // A kept-alive connection (a 101 upgrade, or a request naming its own `Connection`)
        // stays open: stop once the head and `Content-Length` bytes of body are in.
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            }
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                let upgraded = head.starts_with("http/1.1 101");
                if upgraded || length.is_some_and(|n| raw.len() >= end + 4 + n) {
                    break;
                }
            }
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status line in {text:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        RawResponse {
            status,
            headers,
            body: body.to_string(),
        }
    }
}

/// Resident memory of process `pid` now, in KiB (`None` once it is gone).
pub fn rss_kib_of(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// An HTTP client whose connections leave from `source` (any of 127.0.0.0/8 on Linux), so a
/// test can act as many client addresses.
pub fn http_from(source: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source)
        .build()
        .expect("reqwest client")
}

/// The `n`-th test client address: 127.0.0.2, 127.0.0.3, ... (127.0.0.1 is the default one).
pub fn loopback(n: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2u8.saturating_add(n)))
}

/// The gateway binary with `env` and nothing inherited that would point it elsewhere.
/// A gateway command with the test defaults (`dir`, `port`, cheap hashing, quiet logs) and
/// `env` on top; nothing of the test runner's own database or admin variables leaks in.
fn with_test_env<'c>(
    c: &'c mut Command,
    dir: &std::path::Path,
    port: u16,
    env: &[(String, String)],
) -> &'c mut Command {
    c.env_remove("DATABASE_URL")
        .env_remove("DATABASE_REPLICA_URL")
        .env_remove("REDIS_CLUSTER_NODES")
        .env_remove("SHARD_NODES")
        .env_remove("ADMIN_USERNAME")
        .env_remove("ADMIN_PASSWORD")
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir)
        .env("ARGON2_MEMORY_KIB", "1024")
        .env("ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((url, name)) = self.mysql.take() {
            // Drop runs inside a test runtime: a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(mysql::drop_database(&url, &name));
                }
            })
            .join();
        }
    }
}
