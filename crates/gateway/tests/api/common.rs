//! Test context: a running gateway on one backend plus helpers.

use std::future::Future;
use std::time::Duration;

use gateway::config::Config;
use gateway::testing::{spawn, TestServer};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, RegisterRequest};
use livequiz_sdk::Client;

#[path = "../support/mysql.rs"]
mod mysql;

/// A gateway under test.
pub struct Ctx {
    pub server: TestServer,
    /// Unauthenticated client.
    pub anon: Client,
    pub backend: &'static str,
    _dir: tempfile::TempDir,
    mysql: Option<DropDb>,
}

/// Drops the throwaway MySQL database when the test ends, even when it panicked.
struct DropDb {
    url: String,
    name: String,
}

impl DropDb {
    async fn drop_now(&self) {
        mysql::drop_database(&self.url, &self.name).await;
    }
}

impl Drop for DropDb {
    fn drop(&mut self) {
        let (url, name) = (
            std::mem::take(&mut self.url),
            std::mem::take(&mut self.name),
        );
        if name.is_empty() {
            return;
        }
        // Drop runs inside the test's runtime: use a separate thread with its own runtime.
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

impl Ctx {
    /// Embedded backend in a temp dir.
    pub async fn sqlite() -> Ctx {
        Self::sqlite_with(|_| {}).await
    }

    /// Embedded backend with a tweaked configuration.
    pub async fn sqlite_with(tweak: impl FnOnce(&mut Config)) -> Ctx {
        init_logs();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests(dir.path());
        tweak(&mut config);
        let server = spawn(config).await.expect("spawn gateway (sqlite)");
        let anon = Client::new(&server.base_url).unwrap();
        Ctx {
            server,
            anon,
            backend: "sqlite",
            _dir: dir,
            mysql: None,
        }
    }

    /// MySQL primary + replica + Redis Cluster, fresh database.
    pub async fn mysql() -> Ctx {
        Self::mysql_with(|_| {}).await
    }

    /// MySQL backend with a tweaked configuration.
    pub async fn mysql_with(tweak: impl FnOnce(&mut Config)) -> Ctx {
        let fresh = FreshMysql::new(tweak).await;
        let server = spawn(fresh.config.clone())
            .await
            .expect("spawn gateway (mysql)");
        let anon = Client::new(&server.base_url).unwrap();
        Ctx {
            server,
            anon,
            backend: "mysql",
            _dir: fresh.dir,
            mysql: Some(fresh.db),
        }
    }

    /// Stops the server and drops the MySQL test database.
    pub async fn finish(self) {
        self.server.state.db.close().await;
        self.server.stop().await;
        if let Some(mut db) = self.mysql {
            db.drop_now().await;
            db.name.clear();
        }
    }

    /// Registers `name` (password `password-<name>`) and returns a logged-in client.
    pub async fn user(&self, name: &str) -> Client {
        let password = format!("password-{name}");
        self.anon
            .register(&RegisterRequest {
                username: name.into(),
                password: password.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("register {name}: {e}"));
        self.anon.login(name, &password).await.expect("login")
    }

    /// Admin (first user), an author (promoted by the admin) and a player.
    pub async fn cast(&self) -> (Client, Client, Client) {
        let admin = self.user("admin").await;
        let author = self.user("author").await;
        let player = self.user("player").await;
        let id = author.me().await.unwrap().id;
        admin
            .set_role(id, livequiz_sdk::types::Role::Author)
            .await
            .unwrap();
        (admin, author, player)
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Polls `f` until it returns `Some` (for reads served by the replica), for at most 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
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

/// A valid question with two choices (first correct).
pub fn question(text: &str, topic: &str, tags: &[&str]) -> QuestionInput {
    QuestionInput {
        text: text.into(),
        topic: topic.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        difficulty: 2,
        explanation: format!("because {text}"),
        choices: vec![choice("right", true), choice("wrong", false)],
    }
}

/// A new choice.
pub fn choice(text: &str, correct: bool) -> ChoiceInput {
    ChoiceInput {
        id: None,
        text: text.into(),
        correct,
    }
}

/// Asserts that `r` failed with `status`, returning the problem.
#[track_caller]
pub fn expect_status<T: std::fmt::Debug>(
    r: Result<T, livequiz_sdk::Error>,
    status: u16,
) -> livequiz_sdk::types::Problem {
    match r {
        Err(livequiz_sdk::Error::Api(p)) => {
            assert_eq!(p.status, status, "unexpected problem: {p:?}");
            assert!(p.kind.starts_with("/problems/"), "{p:?}");
            assert!(!p.detail.is_empty(), "{p:?}");
            p
        }
        other => panic!("expected HTTP {status} problem, got {other:?}"),
    }
}

/// The field names of a validation problem.
pub fn fields(p: &livequiz_sdk::types::Problem) -> Vec<String> {
    p.errors.iter().map(|e| e.field.clone()).collect()
}

/// A new, empty MySQL database (on the primary, replicated), dropped with this value, and a
/// gateway configuration for it (MySQL + Redis Cluster from the test stack).
pub struct FreshMysql {
    /// The configuration, `tweak` applied.
    pub config: Config,
    dir: tempfile::TempDir,
    db: DropDb,
}

impl FreshMysql {
    /// Creates the database and waits until it reached the replica.
    pub async fn new(tweak: impl FnOnce(&mut Config)) -> FreshMysql {
        init_logs();
        let db = mysql::FreshDb::create("quiz_t").await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests(dir.path());
        db.configure(&mut config);
        tweak(&mut config);
        FreshMysql {
            config,
            dir,
            db: DropDb {
                url: db.admin_url,
                name: db.name,
            },
        }
    }
}
