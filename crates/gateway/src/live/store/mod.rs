//! Durable records of live sessions: sessions, answers, final standings.
//!
//! [`LiveStore`] is implemented over SQL ([`SqlStore`]: MySQL primary in
//! cluster mode, SQLite on the embedded default); answers go through the
//! batched [`AnswerWriter`].

pub mod records;
mod sql;
pub mod writer;

use std::future::Future;
use std::pin::Pin;

use sdk::live::{ScoringRules, Standing};

pub use sql::SqlStore;
pub use writer::AnswerWriter;

use super::checkpoint::CheckpointStore;
use super::engine::{AnswerRecord, LiveQuestion, PendingAnswer};

/// Future returned by [`LiveStore`] methods.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A database operation failed.
#[derive(Debug, thiserror::Error)]
#[error("live store: {0}")]
pub struct StoreError(pub String);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// A final standing with the player's account, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalRow {
    /// Rank, score, player and nickname.
    pub standing: Standing,
    /// Account id for logged-in players.
    pub account_id: Option<i64>,
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

/// What decides whether a user may host a quiz (see `routes::live::create_session`): the host
/// sees every answer key at each reveal, so hosting needs the right to read them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRights {
    /// The quiz's author.
    pub quiz_author: i64,
    /// The user's role as stored (`admin`, `author`, `player`); `None` if the user is gone.
    pub role: Option<String>,
    /// Questions of the quiz written by someone other than the user.
    pub foreign_questions: u64,
}

/// The durable side of live sessions (and, without Redis Cluster, where
/// running sessions are checkpointed).
pub trait LiveStore: CheckpointStore {
    /// Loads a quiz's questions in order with their answer keys; `None` if
    /// the quiz does not exist.
    fn load_quiz(&self, quiz_id: i64) -> StoreFuture<'_, Option<Vec<LiveQuestion>>>;
    /// What decides whether `user_id` may host `quiz_id`; `None` if the quiz does not exist.
    fn host_rights(&self, quiz_id: i64, user_id: i64) -> StoreFuture<'_, Option<HostRights>>;
    /// Records a new live session and returns its id; `None` when the host
    /// already has `quota.max_running` unfinished sessions.
    fn create_session<'a>(
        &'a self,
        code: &'a str,
        quiz_id: i64,
        host_user_id: i64,
        rules: &'a ScoringRules,
        quota: Option<HostQuota>,
    ) -> StoreFuture<'a, Option<i64>>;
    /// Inserts answers, ignoring ones already recorded.
    fn insert_answers<'a>(&'a self, answers: &'a [PendingAnswer]) -> StoreFuture<'a, ()>;
    /// Stores final standings and marks the session finished.
    fn finish_session<'a>(&'a self, session_id: i64, rows: &'a [FinalRow]) -> StoreFuture<'a, ()>;
    /// Stored final standings, best first.
    fn standings(&self, session_id: i64) -> StoreFuture<'_, Vec<Standing>>;
    /// Every answer recorded for a session, by question then player (a
    /// gateway taking the session over recomputes scores from them). Read
    /// from the primary: it must see every acknowledged answer.
    fn answers(&self, session_id: i64) -> StoreFuture<'_, Vec<AnswerRecord>>;
    /// Number of answers recorded for a session (reports, tests, load generator checks).
    fn answer_count(&self, session_id: i64) -> StoreFuture<'_, u64>;
}
