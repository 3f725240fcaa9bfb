//! A gateway in its own process, as an operator runs it: started from the built binary with
//! environment variables, on the embedded default (SQLite in a temporary directory) or on
//! the real stack (a throwaway MySQL database on the primary and replica of `scripts/stack
//! env`, and its Redis Cluster). Killed and cleaned up on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sqlx::Connection as _;

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
    /// The environment it was started with (on top of the common one), for [`Gateway::run`].
    env: Vec<(String, String)>,
}

fn env_or_panic(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with scripts/test (it starts MariaDB and Redis Cluster)")
    })
}

fn with_db(url: &str, db: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{db}")
}

impl Gateway {
    /// The embedded default with `env` on top (cheap password hashing unless `env` says
    /// otherwise).
    pub async fn sqlite(env: &[(&str, &str)]) -> Gateway {
        Self::start(env, None).await
    }

    /// MySQL primary + replica and Redis Cluster, with `env` on top.
    pub async fn mysql(env: &[(&str, &str)]) -> Gateway {
        let primary = env_or_panic("DATABASE_URL");
        let replica = env_or_panic("DATABASE_REPLICA_URL");
        let redis = env_or_panic("REDIS_CLUSTER_NODES");
        let name = format!("quiz_abuse_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::MySqlConnection::connect(&primary)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL={primary}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let replica_db = with_db(&replica, &name);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while sqlx::MySqlConnection::connect(&replica_db).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "database {name} never reached the replica"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let primary_db = with_db(&primary, &name);
        let mut all: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", &primary_db),
            ("DATABASE_REPLICA_URL", &replica_db),
            ("REDIS_CLUSTER_NODES", &redis),
            ("MIGRATE_ON_START", "true"),
            ("DB_MAX_CONNECTIONS", "4"),
        ];
        all.extend_from_slice(env);
        Self::start(&all, Some((primary, name))).await
    }

    async fn start(env: &[(&str, &str)], mysql: Option<(String, String)>) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut all: Vec<(String, String)> = vec![
            ("BIND".into(), format!("127.0.0.1:{port}")),
            ("DATA_DIR".into(), dir.path().display().to_string()),
            ("ARGON2_MEMORY_KIB".into(), "1024".into()),
            ("ARGON2_ITERATIONS".into(), "1".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let child = gateway_command(&all)
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the gateway binary");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let gw = Gateway {
            child,
            base_url: format!("http://{addr}"),
            addr,
            dir,
            mysql,
            env: all,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !gw.healthy().await {
            assert!(
                std::time::Instant::now() < deadline,
                "gateway process on port {port} never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        gw
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
        let mut child = gateway_command(&self.env)
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
    pub fn client(&self) -> sdk::Client {
        sdk::Client::new(&self.base_url).expect("sdk client")
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
fn gateway_command(env: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gateway"));
    c.env_remove("DATABASE_URL")
        .env_remove("DATABASE_REPLICA_URL")
        .env_remove("REDIS_CLUSTER_NODES")
        .env_remove("SHARD_NODES")
        .env_remove("ADMIN_USERNAME")
        .env_remove("ADMIN_PASSWORD")
        .envs(env.iter().map(|(k, v)| (k, v)));
    c
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
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::MySqlConnection::connect(&url).await {
                            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                                .execute(&mut c)
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
