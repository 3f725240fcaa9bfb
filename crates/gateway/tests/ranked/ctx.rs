//! Two gateways sharing one database (a SQLite file, or a throwaway MySQL database on the
//! stack's primary + replica with Redis Cluster), one injected clock, and HTTP helpers.

use std::sync::Arc;
use std::time::Duration;

use gateway::config::Config;
use gateway::ranked::{ManualClock, MatchPlayer, MatchRecord};
use gateway::testing::{spawn, TestServer};
use serde_json::Value;

#[path = "../support/mysql.rs"]
mod mysql;

/// Monday 2026-11-30 10:00 UTC.
pub const MONDAY_10H: i64 = 1_796_032_800_000;
pub const DAY: i64 = 86_400_000;

/// A user's bearer tokens on gateway A and B.
#[derive(Debug, Clone)]
pub struct Tok {
    pub a: String,
    pub b: String,
}

impl Tok {
    /// A token no gateway issued.
    pub fn bad() -> Tok {
        Tok {
            a: "not-a-token".into(),
            b: "not-a-token".into(),
        }
    }
}

pub struct Ctx {
    pub a: TestServer,
    pub b: TestServer,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub backend: &'static str,
    _dirs: Vec<tempfile::TempDir>,
    mysql: Option<(String, String)>,
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

impl Ctx {
    /// Two gateways on one SQLite file.
    pub async fn sqlite() -> Ctx {
        init_logs();
        let shared = tempfile::tempdir().unwrap();
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let url = format!(
            "sqlite://{}?mode=rwc",
            shared.path().join("quiz.db").display()
        );
        let mut ca = Config::for_tests(da.path());
        ca.database_url = Some(url.clone());
        let mut cb = Config::for_tests(db.path());
        cb.database_url = Some(url);
        Self::start(ca, cb, "sqlite", vec![shared, da, db], None).await
    }

    /// Two gateways on one MySQL database (primary + replica) and Redis Cluster.
    pub async fn mysql() -> Ctx {
        init_logs();
        let fresh = mysql::FreshDb::create("quiz_t").await;
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let config = |dir: &tempfile::TempDir| {
            let mut c = Config::for_tests(dir.path());
            fresh.configure(&mut c);
            c
        };
        let (ca, cb) = (config(&da), config(&db));
        let admin = Some((fresh.admin_url.clone(), fresh.name.clone()));
        Self::start(ca, cb, "mysql", vec![da, db], admin).await
    }

    async fn start(
        ca: Config,
        cb: Config,
        backend: &'static str,
        dirs: Vec<tempfile::TempDir>,
        mysql: Option<(String, String)>,
    ) -> Ctx {
        let a = spawn(ca).await.expect("spawn gateway A");
        let b = spawn(cb).await.expect("spawn gateway B");
        let clock = Arc::new(ManualClock::new(MONDAY_10H));
        a.state.ranked.set_clock(clock.clone()).await.unwrap();
        b.state.ranked.set_clock(clock.clone()).await.unwrap();
        Ctx {
            a,
            b,
            clock,
            http: reqwest::Client::new(),
            backend,
            _dirs: dirs,
            mysql,
        }
    }

    pub async fn finish(self) {
        self.a.stop().await;
        self.b.stop().await;
        if let Some((url, name)) = self.mysql {
            mysql::drop_database(&url, &name).await;
        }
    }

    /// Registers `name` and logs in on both gateways (SQLite gateways keep tokens in
    /// process); returns (user id, tokens).
    pub async fn user(&self, name: &str) -> (i64, Tok) {
        let body = serde_json::json!({"username": name, "password": format!("password-{name}")});
        let r = self
            .http
            .post(format!("{}/v1/auth/register", self.a.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "register {name}: {}", r.status());
        let mut tokens = Vec::new();
        for base in [&self.a.base_url, &self.b.base_url] {
            let r: Value = self
                .http
                .post(format!("{base}/v1/auth/login"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens.push(r["token"].as_str().expect("token").to_string());
        }
        let tok = Tok {
            a: tokens[0].clone(),
            b: tokens[1].clone(),
        };
        let me: Value = self.ok(&self.a.base_url, "/v1/me", &tok).await;
        (me["id"].as_i64().expect("id"), tok)
    }

    /// `GET base+path` with `token`: (status, content type, JSON body).
    pub async fn get(&self, base: &str, path: &str, tok: &Tok) -> (u16, String, Value) {
        let token = if base == self.a.base_url {
            &tok.a
        } else {
            &tok.b
        };
        let r = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, ct, body)
    }

    /// `GET` that must answer 200.
    pub async fn ok(&self, base: &str, path: &str, token: &Tok) -> Value {
        let (s, _, v) = self.get(base, path, token).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Polls `f` until it returns `Some` (the other gateway applies a match within one poll
    /// interval), for at most 10 s.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET` on `base` until `pred` holds for the 200 body; returns it.
    pub async fn ok_until(
        &self,
        base: &str,
        path: &str,
        token: &Tok,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let pred = &pred;
        self.eventually(&format!("GET {base}{path}"), || async move {
            let v = self.ok(base, path, token).await;
            pred(&v).then_some(v)
        })
        .await
    }
}

/// A match of `players` as (user, placement, points, abandoned), ended now on `clock`.
pub fn record(
    id: &str,
    topic: Option<&str>,
    at: i64,
    players: &[(i64, u32, i64, bool)],
) -> MatchRecord {
    MatchRecord {
        match_id: id.to_string(),
        topic: topic.map(str::to_string),
        ended_at_ms: at,
        players: players
            .iter()
            .map(|&(user_id, placement, points, abandoned)| MatchPlayer {
                user_id,
                placement,
                points,
                abandoned,
            })
            .collect(),
    }
}

/// Runs one scenario on SQLite and on MySQL.
macro_rules! both {
    ($scenario:path, $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let ctx = crate::ctx::Ctx::sqlite().await;
                $scenario(&ctx).await;
                ctx.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let ctx = crate::ctx::Ctx::mysql().await;
                $scenario(&ctx).await;
                ctx.finish().await;
            }
        }
    };
}
