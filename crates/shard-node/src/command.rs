//! What a group's log carries (commands) and what its state machine answers (queries).
//!
//! A Raft entry is a [`Batch`] of [`Command`]s; applying it yields one
//! `Result<CommandOutcome, Error>` per command, in order, so one failed write (empty member id,
//! overflow...) fails alone and the rest of its batch still applies. Every command is a pure
//! function of the state and its own fields (the time of a write is the caller's `at`, never the
//! node's clock), which is what makes replicas identical.
//!
//! Queries are the per-group halves of board-wide reads: each group answers for the partitions
//! it owns and the client merges the answers with `leaderboard_core::merge` (see
//! [`crate::client`]).

use serde::{Deserialize, Serialize};

use leaderboard_core::{
    BoardConfig, BoardId, Entry, RankStyle, RemoveOutcome, SortKey, Window, Write, WriteOutcome,
};

use crate::error::Error;

/// One replicated operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a board in this group. Committed in every group by the client; repeating it with
    /// the same configuration succeeds (so a half-done creation can simply be retried).
    CreateBoard {
        /// Board id.
        board: BoardId,
        /// Its configuration (fixed for the board's life).
        config: BoardConfig,
    },
    /// Drop a board (committed in every group).
    DropBoard {
        /// Board id.
        board: BoardId,
    },
    /// A score write for a member this group owns.
    Write {
        /// Board id.
        board: BoardId,
        /// The write (op id inside makes retries idempotent).
        write: Write,
    },
    /// Remove a member this group owns from the current window.
    Remove {
        /// Board id.
        board: BoardId,
        /// Member id.
        member: String,
    },
    /// Roll the board's windows forward to `now` (ms since the epoch, from the caller's clock,
    /// so that every replica rolls identically).
    Roll {
        /// Board id.
        board: BoardId,
        /// The caller's time.
        now: i64,
    },
}

impl Command {
    /// The board the command is about.
    pub fn board(&self) -> &BoardId {
        match self {
            Command::CreateBoard { board, .. }
            | Command::DropBoard { board }
            | Command::Write { board, .. }
            | Command::Remove { board, .. }
            | Command::Roll { board, .. } => board,
        }
    }
}

/// The result of one applied [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandOutcome {
    /// The board exists (created now or before with the same configuration).
    Created,
    /// Whether a board was dropped.
    Dropped(bool),
    /// A write's change record. Entries and `applied`/`changed` are exact; ranks and
    /// `top_changed` are relative to the answering group (exact when the layout has one group;
    /// otherwise `top_changed` is true whenever the board-wide top may have changed).
    Written(WriteOutcome),
    /// A write applied on a replica that did not propose it (no client waits for this reply,
    /// so no outcome ranks were computed): whether it was applied (false for a repeated op id).
    Replicated(bool),
    /// What a removal did (`None`: the member was absent). Ranks are group-relative.
    Removed(Option<RemoveOutcome>),
    /// Whether the windows rolled.
    Rolled(bool),
}

/// A batch of commands committed as one Raft entry.
///
/// The commands sit behind an `Arc` because openraft clones entries (from the log cache into
/// each follower's AppendEntries, into the apply queue); a batch of a thousand writes is then
/// copied by reference, not deeply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Commands, applied in order.
    pub commands: std::sync::Arc<[Command]>,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl Batch {
    /// A batch of `commands`.
    pub fn new(commands: Vec<Command>) -> Self {
        Self {
            commands: commands.into(),
        }
    }
}

/// One result per command of a batch, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReply {
    /// Results.
    pub results: Vec<Result<CommandOutcome, Error>>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.commands.len())
    }
}

/// A read of one group's state. Board-wide answers are assembled by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// The board's configuration (`None` if the board does not exist).
    BoardConfig {
        /// Board id.
        board: BoardId,
    },
    /// Board ids, sorted.
    Boards,
    /// Number of entries this group holds.
    Count {
        /// Board id.
        board: BoardId,
        /// Window.
        window: Window,
    },
    /// A member's entry (asked of the member's group).
    Entry {
        /// Board id.
        board: BoardId,
        /// Member id.
        member: String,
        /// Window.
        window: Window,
    },
    /// Entries of this group ranking strictly above `key`; with [`RankStyle::Competition`]
    /// strictly above the key's tie group.
    CountAbove {
        /// Board id.
        board: BoardId,
        /// The key.
        key: SortKey,
        /// Rank style.
        style: RankStyle,
        /// Window.
        window: Window,
    },
    /// The best `n` entries ranking strictly after `after` (from the top if `None`), plus how
    /// many entries of this group rank at or before `after`.
    After {
        /// Board id.
        board: BoardId,
        /// Position to continue from.
        after: Option<SortKey>,
        /// How many.
        n: usize,
        /// Window.
        window: Window,
    },
    /// Up to `n` entries ranking strictly before `key`, nearest first.
    Before {
        /// Board id.
        board: BoardId,
        /// The key.
        key: SortKey,
        /// How many.
        n: usize,
        /// Window.
        window: Window,
    },
}

/// Answers to [`Query`]s, in the same order of variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryReply {
    /// Answer to [`Query::BoardConfig`].
    BoardConfig(Option<BoardConfig>),
    /// Answer to [`Query::Boards`].
    Boards(Vec<BoardId>),
    /// Answer to [`Query::Count`].
    Count(u64),
    /// Answer to [`Query::Entry`].
    Entry(Option<Entry>),
    /// Answer to [`Query::CountAbove`].
    CountAbove(u64),
    /// Answer to [`Query::After`].
    After {
        /// Entries after the position, best first.
        entries: Vec<Entry>,
        /// Entries of this group at or before the position.
        at_or_before: u64,
    },
    /// Answer to [`Query::Before`]: nearest first.
    Before(Vec<Entry>),
}
