//! The application state of one group: leaderboard-core boards holding the members this group
//! owns.
//!
//! Each group keeps a full [`leaderboard_core::Board`] per board (same configuration, same `P`
//! partitions) but only members whose partition belongs to the group are ever written to it, so
//! the group's partitions are exactly the partitions the [`Layout`] assigns it and the other
//! partitions stay empty (an empty partition costs a few hundred bytes). This keeps all of
//! leaderboard-core's rules — operators, op-id dedupe, windows, validation — in one place, and
//! the per-group query answers are plain leaderboard-core calls.
//!
//! Pure and synchronous: no I/O, no clock, so it is deterministic and testable without a
//! runtime. The async state machine around it owns durability.

use leaderboard_core::{
    Board, Cursor, Leaderboards, OpIdStats, RankStyle, SortKey, Standings, Window,
};
use serde::{Deserialize, Serialize};

use crate::command::{Batch, BatchReply, Command, CommandOutcome, Query, QueryReply};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::types::GroupId;

/// Largest `n` a single query may ask one group for; bounds the reply frame.
pub const MAX_QUERY_ROWS: usize = 100_000;

/// The boards of one group.
#[derive(Debug)]
pub struct AppState {
    group: GroupId,
    layout: Layout,
    boards: Leaderboards,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    group: GroupId,
    layout: Layout,
    boards: Vec<u8>,
}

impl AppState {
    /// Empty state of `group` under `layout`.
    pub fn new(group: GroupId, layout: Layout) -> Self {
        Self {
            group,
            layout,
            boards: Leaderboards::new(),
        }
    }

    /// The group id.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// The boards (read access for metrics and tests).
    pub fn boards(&self) -> &Leaderboards {
        &self.boards
    }

    /// Applies a batch: one result per command, in order.
    pub fn apply(&mut self, batch: &Batch) -> BatchReply {
        self.apply_as(batch, true)
    }

    /// Applies a batch; with `outcomes == false` score writes take leaderboard-core's fast path
    /// (`Board::apply`, no board-wide ranks) and answer [`CommandOutcome::Replicated`]
    /// ([`Command::Apply`] always takes it: its caller wants no outcome). Used on
    /// replicas whose replies no client waits for (entries another node proposed). The board
    /// state is the same either way; only the outcome remembered for an op id differs (a later
    /// retry of it is answered with partition-local ranks).
    ///
    /// Writes are applied at the batch's [`Batch::proposed_at_ms`] on the op-id clock
    /// (`Board::write_at`): remembered op ids age by the leader's stamps, so every replica keeps,
    /// refuses and forgets the same ids. An unstamped batch leaves the clock where it is.
    pub fn apply_as(&mut self, batch: &Batch, outcomes: bool) -> BatchReply {
        let now = batch.proposed_at_ms.unwrap_or(i64::MIN);
        BatchReply {
            results: batch
                .commands
                .iter()
                .map(|c| self.apply_one(c, outcomes, now))
                .collect(),
        }
    }

    /// Op-id memory of every board of the group, summed.
    pub fn op_id_stats(&self) -> OpIdStats {
        self.boards
            .ids()
            .iter()
            .filter_map(|id| self.boards.get(id.as_str()))
            .fold(OpIdStats::default(), |acc, b| acc.add(&b.op_id_stats()))
    }

    fn board(&self, id: &str) -> Result<std::sync::Arc<Board>> {
        Ok(self.boards.require(id)?)
    }

    fn check_owner(&self, member: &str, board: &Board) -> Result<()> {
        let owner = self
            .layout
            .group_of_member(member, board.config().partitions);
        if owner != self.group {
            return Err(Error::WrongGroup {
                group: self.group,
                member: member.to_string(),
                owner,
            });
        }
        Ok(())
    }

    fn apply_one(&mut self, cmd: &Command, outcomes: bool, now: i64) -> Result<CommandOutcome> {
        match cmd {
            Command::CreateBoard { board, config } => match self.boards.get(board.as_str()) {
                Some(b) if b.config() == config => Ok(CommandOutcome::Created),
                Some(_) => Err(leaderboard_core::Error::BoardExists(board.to_string()).into()),
                None => {
                    self.boards.create(board.clone(), config.clone())?;
                    Ok(CommandOutcome::Created)
                }
            },
            Command::DropBoard { board } => Ok(CommandOutcome::Dropped(
                self.boards.drop_board(board.as_str()).is_some(),
            )),
            Command::Write { board, write } => {
                let b = self.board(board.as_str())?;
                // Validate before the ownership check so that an empty member id reports as such.
                leaderboard_core::validate_member(&write.member)?;
                self.check_owner(&write.member, &b)?;
                if outcomes {
                    Ok(CommandOutcome::Written(b.write_at(write.clone(), now)?))
                } else {
                    Ok(CommandOutcome::Replicated(b.apply_at(write.clone(), now)?))
                }
            }
            Command::Apply { board, write } => {
                let b = self.board(board.as_str())?;
                leaderboard_core::validate_member(&write.member)?;
                self.check_owner(&write.member, &b)?;
                // The caller asked for no outcome: the fast path on every replica.
                Ok(CommandOutcome::Replicated(b.apply_at(write.clone(), now)?))
            }
            Command::Remove { board, member } => {
                let b = self.board(board.as_str())?;
                leaderboard_core::validate_member(member)?;
                self.check_owner(member, &b)?;
                Ok(CommandOutcome::Removed(b.remove(member)))
            }
            Command::Roll { board, now } => Ok(CommandOutcome::Rolled(
                self.board(board.as_str())?.roll(*now),
            )),
        }
    }

    fn standings(
        &self,
        board: &str,
        window: Window,
    ) -> Result<Option<(std::sync::Arc<Standings>, u16)>> {
        let b = self.board(board)?;
        Ok(b.standings(window).map(|s| (s, b.config().partitions)))
    }

    /// Answers a query from this group's partitions.
    pub fn query(&self, q: &Query) -> Result<QueryReply> {
        let rows = |n: usize| -> Result<usize> {
            if n > MAX_QUERY_ROWS {
                return Err(Error::Rejected(format!(
                    "at most {MAX_QUERY_ROWS} rows per query, asked for {n}"
                )));
            }
            Ok(n)
        };
        Ok(match q {
            Query::BoardConfig { board } => {
                QueryReply::BoardConfig(self.boards.get(board.as_str()).map(|b| b.config().clone()))
            }
            Query::Boards => QueryReply::Boards(self.boards.ids()),
            Query::Count { board, window } => QueryReply::Count(
                self.standings(board.as_str(), *window)?
                    .map_or(0, |(s, _)| s.count()),
            ),
            Query::Entry {
                board,
                member,
                window,
            } => {
                let b = self.board(board.as_str())?;
                let p = leaderboard_core::partition_of(member, b.config().partitions);
                let entry = match b.standings(*window) {
                    Some(s) => s.partition(p)?.get(member),
                    None => None,
                };
                QueryReply::Entry(entry)
            }
            Query::CountAbove {
                board,
                key,
                style,
                window,
            } => {
                let above = match self.standings(board.as_str(), *window)? {
                    Some((s, parts)) => count_above(&s, parts, key, *style)?,
                    None => 0,
                };
                QueryReply::CountAbove(above)
            }
            Query::After {
                board,
                after,
                n,
                window,
            } => {
                let n = rows(*n)?;
                match self.standings(board.as_str(), *window)? {
                    Some((s, parts)) => {
                        let cursor = after.clone().map(Cursor::from_key);
                        let page = s.page_after(cursor.as_ref(), n);
                        let at_or_before = match after {
                            Some(k) => at_or_before(&s, parts, k)?,
                            None => 0,
                        };
                        QueryReply::After {
                            entries: page.entries.into_iter().map(|r| r.entry).collect(),
                            at_or_before,
                        }
                    }
                    None => QueryReply::After {
                        entries: Vec::new(),
                        at_or_before: 0,
                    },
                }
            }
            Query::Before {
                board,
                key,
                n,
                window,
            } => {
                let n = rows(*n)?;
                let b = self.board(board.as_str())?;
                let order = b.config().order;
                let mut out = Vec::new();
                if let Some(s) = b.standings(*window) {
                    for p in 0..b.config().partitions {
                        out.extend(s.partition(p)?.before(key, n));
                    }
                }
                // Nearest first: the worst-ranked entries above `key` come first.
                out.sort_by(|a, b| b.sort_key().cmp_in(&a.sort_key(), order));
                out.truncate(n);
                QueryReply::Before(out)
            }
        })
    }

    /// The layout the group belongs to.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Hands every board to `sink` as a stream of chunks of about `max_chunk` bytes
    /// (leaderboard-core's `Board::snapshot_chunks`), boards in id order, one chunk in memory at a
    /// time. Returns the number of boards written.
    pub fn write_snapshot<E>(
        &self,
        max_chunk: usize,
        mut sink: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut n = 0;
        for id in self.boards.ids() {
            if let Some(board) = self.boards.get(id.as_str()) {
                board.snapshot_chunks(max_chunk, &mut sink)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds a board rebuilt from a snapshot stream; a board id seen twice is corruption.
    pub fn insert_board(&mut self, board: Board) -> Result<()> {
        self.boards
            .insert(board)
            .map_err(|e| Error::Corrupt(format!("snapshot: {e}")))?;
        Ok(())
    }

    /// Encodes the whole state in the format-1 layout (one buffer; kept to test the conversion
    /// of old snapshots).
    pub fn legacy_snapshot(&self) -> Result<Vec<u8>> {
        crate::codec::encode(&Snapshot {
            group: self.group,
            layout: self.layout,
            boards: self.boards.snapshot(),
        })
    }

    /// Replaces the state with a format-1 snapshot (the encoded state a format-1 node wrote or
    /// sent), read whole.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        let config =
            bincode::config::standard().with_limit::<{ super::snapfile::LEGACY_LIMIT as usize }>();
        let (snap, used): (Snapshot, usize) = bincode::serde::decode_from_slice(bytes, config)?;
        if used != bytes.len() {
            return Err(Error::Corrupt(
                "trailing bytes after a format-1 snapshot".into(),
            ));
        }
        if snap.group != self.group || snap.layout != self.layout {
            return Err(Error::Corrupt(format!(
                "snapshot of group {} under {:?} cannot be restored into group {} under {:?}",
                snap.group, snap.layout, self.group, self.layout
            )));
        }
        self.boards = Leaderboards::from_snapshot(&snap.boards)?;
        Ok(())
    }
}

/// Entries above `key` (or above its tie group for competition ranks) in every partition.
fn count_above(s: &Standings, parts: u16, key: &SortKey, style: RankStyle) -> Result<u64> {
    let key = match style {
        RankStyle::Ordinal => key.clone(),
        RankStyle::Competition => key.tie_floor(),
        // A style a newer leaderboard-core adds needs its count here first.
        other => {
            return Err(leaderboard_core::Error::InvalidConfig(format!(
                "rank style {other:?} is not supported by the shard node"
            ))
            .into());
        }
    };
    let mut n = 0;
    for p in 0..parts {
        n += s.partition(p)?.count_above(&key);
    }
    Ok(n)
}

/// Entries ranking above `key`, plus the entry with exactly that key if present.
fn at_or_before(s: &Standings, parts: u16, key: &SortKey) -> Result<u64> {
    let mut n = count_above(s, parts, key, RankStyle::Ordinal)?;
    let p = leaderboard_core::partition_of(&key.member, parts);
    if s.partition(p)?.key_of(&key.member).as_ref() == Some(key) {
        n += 1;
    }
    Ok(n)
}
