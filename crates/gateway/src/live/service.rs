//! [`LiveService`]: the registry of sessions this gateway runs, join-code
//! allocation, and session creation.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use sdk::live::{CreateSession, CreatedSession};
use tokio::sync::mpsc;

use super::actor::{self, ActorDeps, Cmd, CMD_QUEUE};
use super::cluster::Cluster;
use super::engine::scoring::validate_rules;
use super::engine::{LiveQuiz, Session};
use super::score::ScoreBoard;
use super::store::{AnswerWriter, LiveStore, StoreError};

/// A logged-in account as the live module needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User id.
    pub id: i64,
    /// Username (the nickname when joining with a token).
    pub username: String,
}

/// Resolves login tokens (implemented by the gateway's auth module).
pub trait Authenticator: Send + Sync + 'static {
    /// The account of a token, or `None` if it is invalid or expired.
    fn resolve<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<Account>> + Send + 'a>>;
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The request is invalid (message says which field).
    #[error("{0}")]
    Invalid(String),
    /// No such quiz.
    #[error("quiz {0} does not exist")]
    QuizNotFound(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis Cluster (session ownership) failed.
    #[error("redis: {0}")]
    Cluster(#[from] redis::RedisError),
}

/// A running session as seen by connections.
#[derive(Clone)]
pub struct SessionHandle {
    /// Session id.
    pub id: i64,
    /// Secret of the host.
    pub host_token: String,
    /// The actor's queue.
    pub tx: mpsc::Sender<Cmd>,
}

/// The live-quiz service of one gateway process.
pub struct LiveService {
    sessions: Arc<Mutex<HashMap<String, SessionHandle>>>,
    deps: ActorDeps,
    auth: Arc<dyn Authenticator>,
    next_conn: AtomicU64,
    cluster: OnceLock<Arc<Cluster>>,
}

impl LiveService {
    /// A service over a board, a store and an authenticator. Spawns the
    /// answer writer, so call it inside a tokio runtime.
    pub fn new(
        board: Arc<dyn ScoreBoard>,
        store: Arc<dyn LiveStore>,
        auth: Arc<dyn Authenticator>,
    ) -> Arc<Self> {
        let writer = AnswerWriter::spawn(store.clone());
        Arc::new(LiveService {
            sessions: Arc::new(Mutex::new(HashMap::new())),
            deps: ActorDeps {
                board,
                store,
                writer,
            },
            auth,
            next_conn: AtomicU64::new(1),
            cluster: OnceLock::new(),
        })
    }

    /// Joins the gateways sharing sessions through Redis Cluster, given its
    /// seed node URLs ([`crate::config::Config::redis_urls`]); see
    /// [`super::cluster`]. Without it sessions are process-local.
    pub async fn join_cluster(self: &Arc<Self>, nodes: &[String]) -> anyhow::Result<()> {
        let cluster = Cluster::connect(nodes, Arc::downgrade(self)).await?;
        let _ = self.cluster.set(cluster);
        Ok(())
    }

    /// The Redis Cluster mesh, when joined.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    /// The store (for reading standings back).
    pub fn store(&self) -> &Arc<dyn LiveStore> {
        &self.deps.store
    }

    /// The authenticator.
    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The running session with this code.
    pub fn session(&self, code: &str) -> Option<SessionHandle> {
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .get(code)
            .cloned()
    }

    /// Number of running sessions.
    pub fn running(&self) -> usize {
        self.sessions.lock().expect("live registry poisoned").len()
    }

    /// Creates a session from a quiz for `host` and starts its actor.
    pub async fn create(
        &self,
        host: &Account,
        req: &CreateSession,
    ) -> Result<CreatedSession, CreateError> {
        let rules = req.scoring.unwrap_or_default();
        validate_rules(&rules).map_err(CreateError::Invalid)?;
        let reveal_ms = req.reveal_ms.unwrap_or(5_000);
        if reveal_ms > 60_000 {
            return Err(CreateError::Invalid(
                "reveal_ms must be at most 60000".into(),
            ));
        }
        let top_n = req.top_n.unwrap_or(10);
        if !(1..=100).contains(&top_n) {
            return Err(CreateError::Invalid("top_n must be 1..=100".into()));
        }
        let questions = self
            .deps
            .store
            .load_quiz(req.quiz_id)
            .await?
            .ok_or(CreateError::QuizNotFound(req.quiz_id))?;
        if questions.is_empty() {
            return Err(CreateError::Invalid("the quiz has no questions".into()));
        }
        if questions
            .iter()
            .any(|q| q.correct.is_empty() || q.choices.len() < 2)
        {
            return Err(CreateError::Invalid(
                "every question needs 2+ choices and a correct one".into(),
            ));
        }
        let quiz = Arc::new(LiveQuiz {
            quiz_id: req.quiz_id,
            questions,
            rules,
            reveal_ms,
            top_n: top_n as usize,
        });
        let (code, tx, rx) = loop {
            let (code, tx, rx) = self.reserve_code();
            let Some(cluster) = self.cluster() else {
                break (code, tx, rx);
            };
            match cluster.claim(&code).await {
                Ok(true) => break (code, tx, rx),
                Ok(false) => self.forget(&code), // another gateway's session
                Err(e) => {
                    self.forget(&code);
                    return Err(e.into());
                }
            }
        };
        let id = match self
            .deps
            .store
            .create_session(&code, req.quiz_id, host.id, &rules)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                // The code's lease (if any) expires by itself.
                self.forget(&code);
                return Err(e.into());
            }
        };
        let host_token = actor::new_token();
        self.spawn(id, code.clone(), quiz, host_token.clone(), tx, rx);
        Ok(CreatedSession {
            session_id: id,
            code,
            host_token,
        })
    }

    fn forget(&self, code: &str) {
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .remove(code);
    }

    /// Reserves a fresh 6-digit code with a placeholder entry.
    fn reserve_code(&self) -> (String, mpsc::Sender<Cmd>, mpsc::Receiver<Cmd>) {
        let (tx, rx) = mpsc::channel(CMD_QUEUE);
        let mut map = self.sessions.lock().expect("live registry poisoned");
        loop {
            let code = format!("{:06}", rand::random_range(0..1_000_000u32));
            if !map.contains_key(&code) {
                // Placeholder until the id is known; connections see the
                // session only once `spawn` fills in the real handle.
                map.insert(
                    code.clone(),
                    SessionHandle {
                        id: 0,
                        host_token: String::new(),
                        tx: tx.clone(),
                    },
                );
                return (code, tx, rx);
            }
        }
    }

    fn spawn(
        &self,
        id: i64,
        code: String,
        quiz: Arc<LiveQuiz>,
        host_token: String,
        tx: mpsc::Sender<Cmd>,
        rx: mpsc::Receiver<Cmd>,
    ) {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let session = Session::new(id, code.clone(), quiz, tokio::time::Instant::now(), epoch);
        if let Some(cluster) = self.cluster() {
            cluster.hold(code.clone(), tx.clone());
        }
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .insert(code.clone(), SessionHandle { id, host_token, tx });
        let sessions = self.sessions.clone();
        let deps = self.deps.clone();
        tokio::spawn(actor::run(session, deps, rx, move || {
            sessions
                .lock()
                .expect("live registry poisoned")
                .remove(&code);
        }));
        metrics::counter!("live_sessions_created_total").increment(1);
    }
}
