//! Matchmaking test context: one gateway (SQLite) or two sharing MySQL and Redis Cluster, a
//! small question bank, player accounts, and a rating book that keeps results in the test's
//! database (`match_results`, via the gateway's `ResultsBook`) with ratings set by the test.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use gateway::config::Config;
use gateway::matchmaking::store::MatchStore;
use gateway::matchmaking::{MatchClock, MatchRecord, MatchSettings, RatingBook, ResultsBook};
use gateway::store::StoreError;
use gateway::testing::{spawn, TestServer};
use livequiz_sdk::matchmaking::{MatchClient, QueueRequest};
use livequiz_sdk::types::RegisterRequest;
use livequiz_sdk::Client;

use crate::live_common::{drop_database, register_host, three_choices, MysqlPair};

/// Ratings set by the test; results recorded by the gateway's `ResultsBook` (in the test's
/// database) and counted.
pub struct TestBook {
    inner: ResultsBook,
    pub ratings: Mutex<HashMap<i64, f64>>,
    pub calls: AtomicUsize,
    pub records: Mutex<Vec<MatchRecord>>,
}

impl RatingBook for TestBook {
    fn ratings(&self, ids: &[i64]) -> BoxFuture<'_, Result<Vec<f64>, StoreError>> {
        let r = self.ratings.lock().unwrap();
        let out = ids
            .iter()
            .map(|i| r.get(i).copied().unwrap_or(1500.0))
            .collect();
        Box::pin(async move { Ok(out) })
    }

    fn record_match(&self, rec: MatchRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.records.lock().unwrap().push(rec.clone());
            self.inner.record_match(rec).await
        })
    }
}

/// One or two gateways with the test book and short games.
pub struct Ctx {
    pub gateways: Vec<TestServer>,
    pub book: Arc<TestBook>,
    _host: Client,
    _dirs: Vec<tempfile::TempDir>,
    mysql: Option<(String, String)>,
}

/// Short games: 2 questions of 3 s, a 50 ms reveal, a 10 s countdown, 50 ms ticks.
pub fn short_settings() -> MatchSettings {
    MatchSettings {
        questions: 2,
        time_limit_ms: 3_000,
        reveal_ms: 50,
        countdown_ms: 10_000,
        tick: Duration::from_millis(50),
        lease_ms: 1_000,
        stale_after_ms: 2_000,
        status_every: Duration::from_millis(100),
        ..MatchSettings::default()
    }
}

impl Ctx {
    /// The embedded default: one gateway.
    pub async fn sqlite() -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = spawn(Config::for_tests(dir.path()))
            .await
            .expect("spawn gateway");
        Self::with(vec![server], vec![dir], None, true).await
    }

    /// [`Ctx::sqlite`] with the gateway's own rating book (ratings and leaderboards), not the
    /// test's.
    pub async fn sqlite_rated() -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = spawn(Config::for_tests(dir.path()))
            .await
            .expect("spawn gateway");
        Self::with(vec![server], vec![dir], None, false).await
    }

    /// The real stack: two gateways on one MySQL database and Redis Cluster.
    pub async fn mysql() -> Ctx {
        Self::mysql_with(true).await
    }

    /// [`Ctx::mysql`] with the gateways' own rating book (ratings and leaderboards).
    pub async fn mysql_rated() -> Ctx {
        Self::mysql_with(false).await
    }

    async fn mysql_with(test_book: bool) -> Ctx {
        let MysqlPair {
            a,
            b,
            admin_url,
            db_name,
            dirs,
        } = MysqlPair::start().await;
        Self::with(
            vec![a, b],
            Vec::from(dirs),
            Some((admin_url, db_name)),
            test_book,
        )
        .await
    }

    async fn with(
        gateways: Vec<TestServer>,
        dirs: Vec<tempfile::TempDir>,
        mysql: Option<(String, String)>,
        test_book: bool,
    ) -> Ctx {
        let store = MatchStore::new(&gateways[0].state.db);
        let book = Arc::new(TestBook {
            inner: ResultsBook::new(store),
            ratings: Mutex::new(HashMap::new()),
            calls: AtomicUsize::new(0),
            records: Mutex::new(Vec::new()),
        });
        for g in &gateways {
            if test_book {
                g.state.matchmaking.set_book(book.clone());
            }
            g.state.matchmaking.set_settings(short_settings());
        }
        let host = register_host(&gateways[0].base_url).await;
        for topic in ["mm", "other"] {
            for i in 0..3 {
                make_question(&host, topic, i).await;
            }
        }
        Ctx {
            gateways,
            book,
            _host: host,
            _dirs: dirs,
            mysql,
        }
    }

    /// Gateway `i` modulo the number of gateways (players alternate between them).
    pub fn gw(&self, i: usize) -> &TestServer {
        &self.gateways[i % self.gateways.len()]
    }

    /// Uses `clock` for every gateway's queue.
    pub fn set_clock(&self, clock: Arc<dyn MatchClock>) {
        for g in &self.gateways {
            g.state.matchmaking.set_clock(clock.clone());
        }
    }

    /// Changes every gateway's settings.
    pub fn set_settings(&self, s: MatchSettings) {
        for g in &self.gateways {
            g.state.matchmaking.set_settings(s.clone());
        }
    }

    /// Registers `name` with `rating`; its user id and login token.
    pub async fn player(&self, name: &str, rating: f64) -> (i64, String) {
        let anon = Client::new(&self.gateways[0].base_url).unwrap();
        let user = anon
            .register(&RegisterRequest {
                username: name.into(),
                password: format!("{name}-password"),
            })
            .await
            .expect("register player");
        let c = anon
            .login(name, &format!("{name}-password"))
            .await
            .expect("login player");
        self.book.ratings.lock().unwrap().insert(user.id, rating);
        (user.id, c.token().expect("token").to_string())
    }

    /// Queues `token` on gateway `gw`.
    pub async fn queue(&self, gw: usize, token: &str, req: QueueRequest) -> MatchClient {
        MatchClient::queue(&self.gw(gw).base_url, token, req)
            .await
            .unwrap_or_else(|e| panic!("queue: {e}"))
    }

    /// Rows in the shared queue.
    pub async fn queued_rows(&self) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM mm_queue")
            .fetch_one(self.gateways[0].state.db.primary())
            .await
            .expect("count queue")
            .try_get::<i64, _>("n")
            .unwrap()
    }

    /// Rows of `match_results` for a match.
    pub async fn results_rows(&self, match_id: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM match_results WHERE match_id = ?")
            .bind(match_id.to_string())
            .fetch_one(self.gateways[0].state.db.primary())
            .await
            .expect("count results")
            .try_get::<i64, _>("n")
            .unwrap()
    }

    /// Waits (at most 20 s) until the book got a record of `match_id`.
    pub async fn record_of(&self, match_id: &str) -> MatchRecord {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(r) = self
                .book
                .records
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.match_id == match_id)
            {
                return r.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no record of match {match_id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the gateways and drops the MySQL database.
    pub async fn finish(self) {
        for g in self.gateways {
            g.state.db.close().await;
            g.stop().await;
        }
        if let Some((url, name)) = self.mysql {
            drop_database(&url, &name).await;
        }
    }
}

/// A question on `topic`; choice 1 of 3 is correct.
async fn make_question(author: &Client, topic: &str, i: usize) {
    author
        .create_question(&three_choices(&format!("{topic} question {i}?"), topic, 3))
        .await
        .expect("create question");
}
