//! A gateway in its own process, as an operator runs it: started from the built binary with
//! environment variables, on the embedded default (SQLite in a temporary directory) or on
//! the real stack (a throwaway MySQL database on the primary and replica of `scripts/stack
//! env`, and its Redis Cluster). Killed and cleaned up on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
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
        Self::start(env, None, None).await
    }

    /// [`Gateway::sqlite`] in a process whose descriptor limit (`RLIMIT_NOFILE`, soft and
    /// hard) is `nofile`, set with `prlimit` as an operator's service manager would.
    pub async fn sqlite_with_nofile(env: &[(&str, &str)], nofile: u64) -> Gateway {
        Self::start(env, None, Some(nofile)).await
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
        Self::start(&all, Some((primary, name)), None).await
    }

    async fn start(
        env: &[(&str, &str)],
        mysql: Option<(String, String)>,
        nofile: Option<u64>,
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let bin = env!("CARGO_BIN_EXE_gateway");
        // prlimit execs the gateway in its own process, so the child's pid is the gateway's.
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = cmd
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_REPLICA_URL")
            .env_remove("REDIS_CLUSTER_NODES")
            .env_remove("SHARD_NODES")
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", dir.path())
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
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
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// An SDK client without credentials.
    pub fn client(&self) -> sdk::Client {
        sdk::Client::new(&self.base_url).expect("sdk client")
    }
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
