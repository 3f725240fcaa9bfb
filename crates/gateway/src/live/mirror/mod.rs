//! Where session scores are ranked: the [`ScoreBoard`] trait.
//!
//! The engine keeps each player's total itself (it is the authority for a
//! running session); the board ranks them. Two implementations:
//!
//! - [`LocalBoards`]: leaderboard-core in process (the embedded default and
//!   every gateway that owns a session without `SHARD_NODES`);
//! - [`ShardBoards`]: the shard-node cluster through its `ShardClient`, used
//!   when `SHARD_NODES` is set, so every gateway sees the same boards.
//!
//! Every write carries an op id derived from `(session, question, player)`,
//! so a retried write (a driver retry, a failover replaying answers) is
//! applied once.

mod local;
mod shard;

use std::future::Future;
use std::pin::Pin;

pub use local::LocalBoards;
pub use shard::{client_config, ShardBoards};

use leaderboard_core::{BoardConfig, RankStyle, WriteOp};

use super::engine::{BoardRank, ScoreWrite};

/// Future returned by [`ScoreBoard`] methods.
pub type BoardFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BoardError>> + Send + 'a>>;

/// A board operation failed (only the shard-node implementation fails).
#[derive(Debug, thiserror::Error)]
#[error("leaderboard: {0}")]
pub struct BoardError(pub String);

/// Ranks the players of live sessions, one board per session.
pub trait ScoreBoard: Send + Sync + 'static {
    /// Adds points (incr) with op ids; a new player is registered with 0.
    fn apply<'a>(&'a self, session: i64, writes: Vec<ScoreWrite>) -> BoardFuture<'a, ()>;
    /// Takes a player off the board.
    fn remove(&self, session: i64, player: u64) -> BoardFuture<'_, ()>;
    /// Best `n`, ranked (competition ranks).
    fn top(&self, session: i64, n: usize) -> BoardFuture<'_, Vec<BoardRank>>;
    /// Rank and score of each player given (absent players are skipped).
    fn ranks<'a>(&'a self, session: i64, players: &'a [u64]) -> BoardFuture<'a, Vec<BoardRank>>;
    /// Every entry, ranked, best first (final standings).
    fn all(&self, session: i64) -> BoardFuture<'_, Vec<BoardRank>>;
    /// Forgets a finished session's board.
    fn drop_session(&self, session: i64) -> BoardFuture<'_, ()>;
}

/// Board id of a session.
pub fn board_id(session: i64) -> String {
    format!("live:{session}")
}

/// Configuration of every session board, in process or on the shard
/// cluster: points are added (`incr`), equal scores share a rank.
pub fn session_board_config() -> BoardConfig {
    BoardConfig {
        default_op: WriteOp::Incr,
        rank_style: RankStyle::Competition,
        // A session has at most tens of thousands of players; a few
        // partitions keep writes parallel without making top-N merges wide.
        partitions: 4,
        ..BoardConfig::default()
    }
}

/// Member id of a player on the session's board.
pub fn member(player: u64) -> String {
    player.to_string()
}
