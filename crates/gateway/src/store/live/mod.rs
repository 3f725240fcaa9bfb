//! The durable side of live sessions: the session rows, the answers, the final standings
//! (tables of `migrations/{mysql,sqlite}/0100_live.sql`), the checkpoints a gateway without
//! Redis Cluster resumes its sessions from (`0101_live_checkpoints.sql`), and the hosts'
//! reports over them ([`records`]).
//!
//! [`LiveStore`] works on the primary: the live module writes there, and reads there what it
//! must see at once (the quiz a host just edited, every acknowledged answer on a takeover).
//! Answer flushes are the hot path of a large session (thousands of rows a second, every ack
//! waits for one), so they can run on a pool of the native driver
//! ([`LiveStore::with_answer_pool`]) instead of `Any`; see [`answers`].
//!
//! The store knows rows, not the game: it takes and returns its own plain types
//! ([`AnswerRow`], [`StoredAnswer`], [`FinalRow`], checkpoint documents as JSON text), which
//! the live module converts from and to its engine's types.

pub mod answers;
mod checkpoints;
pub mod records;
mod sessions;

use std::sync::Arc;

use livequiz_sdk::live::Standing;
use sqlx::AnyPool;

pub use checkpoints::{CheckpointRows, CheckpointWrite};
pub use sessions::NewSession;

use crate::db::{Db, Dialect};

/// The live sessions' tables on the primary. Cheap to clone.
#[derive(Clone)]
pub struct LiveStore {
    pool: AnyPool,
    dialect: Dialect,
    answers: answers::AnswerPool,
    /// The INSERT statement of each of [`answers::CHUNKS`], in its order.
    answer_sql: Arc<Vec<String>>,
}

impl std::fmt::Debug for LiveStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveStore")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl LiveStore {
    /// The store over `db`'s primary. Answers are flushed on the same `Any` pool; see
    /// [`LiveStore::with_answer_pool`] for the faster native path.
    pub fn new(db: &Db) -> Self {
        Self::on(db.primary().clone(), db.dialect())
    }

    /// The store over `pool`, which speaks `dialect`.
    pub fn on(pool: AnyPool, dialect: Dialect) -> Self {
        LiveStore {
            pool,
            dialect,
            answers: answers::AnswerPool::Any,
            answer_sql: Arc::new(answers::statements(dialect)),
        }
    }

    /// `INSERT IGNORE` in this dialect.
    fn insert_ignore(&self) -> &'static str {
        match self.dialect {
            Dialect::MySql => "INSERT IGNORE INTO",
            Dialect::Sqlite => "INSERT OR IGNORE INTO",
        }
    }
}

/// One accepted answer to record (borrowed from the writer's queue: a flush copies nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerRow<'a> {
    /// The session's id.
    pub session_id: i64,
    /// 0-based index of the question in the session.
    pub question: u32,
    /// The player's id in the session.
    pub player: u64,
    /// The question's id in the bank.
    pub question_id: i64,
    /// Chosen choice positions.
    pub choices: &'a [u32],
    /// Whether the answer is right.
    pub correct: bool,
    /// Points scored.
    pub points: u32,
    /// Time taken to answer (ms).
    pub elapsed_ms: u32,
    /// When it was answered (Unix ms).
    pub answered_at: i64,
}

/// An answer as recorded, read back when a gateway takes a session over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// 0-based index of the question in the session.
    pub question: u32,
    /// The player's id in the session.
    pub player: u64,
    /// Chosen choice positions.
    pub choices: Vec<u32>,
    /// Whether the answer is right.
    pub correct: bool,
    /// Points scored.
    pub points: u32,
    /// When it was answered (Unix ms).
    pub answered_at: i64,
}

/// A final standing with the player's account, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalRow {
    /// Rank, score, player and nickname.
    pub standing: Standing,
    /// Account id for logged-in players.
    pub account_id: Option<i64>,
    /// The player was not connected when the session finished.
    pub left: bool,
}

/// A host's quota of running sessions, checked in the same statement as the
/// insert of a new one, so concurrent creates (on any gateway: the count is
/// in the shared database) cannot both take the last slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostQuota {
    /// Most unfinished sessions the host may have.
    pub max_running: u32,
    /// Unfinished sessions created before this server time (ms) do not
    /// count: they are past the maximum session lifetime, so their gateway
    /// died and nobody took them over (their record was never finished).
    pub since_ms: i64,
}

/// What decides whether a user may host a quiz: the host sees every answer key at each
/// reveal, so hosting needs the right to read them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRights {
    /// The quiz's author.
    pub quiz_author: i64,
    /// The user's role as stored (`admin`, `author`, `player`); `None` if the user is gone.
    pub role: Option<String>,
    /// Questions of the quiz written by someone other than the user.
    pub foreign_questions: u64,
}
