//! A leaderboard: configuration, time windows, and the write path.

mod current;
mod query;
mod snapshot;
mod standings;
mod stream;
mod top_cache;
mod view;

use std::sync::Arc;

use parking_lot::RwLock;

pub use query::PARALLEL_TOP_THRESHOLD;
pub(crate) use snapshot::BoardStateBytes;
pub use standings::{PartitionReadGuard, Standings};
pub use stream::BoardLoader;

use crate::{
    BoardConfig, BoardId, Entry, Error, OpIdStats, RemoveOutcome, Result, Window, WindowSpan,
    Write, WriteOutcome,
};

/// The current window and the one before it.
struct Windows {
    current: Arc<Standings>,
    previous: Option<Arc<Standings>>,
}

/// One leaderboard: `P` partitions per time window, thread-safe (`&self`
/// everywhere; share it with `Arc`).
///
/// Writes lock one partition; board-wide reads lock all partitions of a
/// window for reading, so a listing is a consistent cut. Write outcomes'
/// ranks are read right after the write, one partition at a time: exact
/// when no other write runs concurrently, otherwise each rank reflects
/// some interleaving of concurrent writes.
///
/// ```
/// use leaderboard_core::{Board, BoardConfig, Write};
/// let board = Board::new("quiz", BoardConfig::default()).unwrap();
/// board.write(Write::new("alice", 300, 1)).unwrap();
/// board.write(Write::new("bob", 500, 2)).unwrap();
/// assert_eq!(board.top(1)[0].entry.member, "bob");
/// assert_eq!(board.entry("alice").unwrap().rank, 2);
/// ```
pub struct Board {
    id: BoardId,
    config: Arc<BoardConfig>,
    /// Swapped only when a window rolls over; writes and reads hold the
    /// read side for the duration of one operation.
    windows: RwLock<Windows>,
}

impl Board {
    /// A new empty board. Its first window is the one containing time 0
    /// until the first write or [`Board::roll`] moves it forward.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardConfig};
    /// assert!(Board::new("b", BoardConfig::new().partitions(0)).is_err());
    /// ```
    pub fn new(id: impl Into<BoardId>, config: BoardConfig) -> Result<Board> {
        config.validate()?;
        let config = Arc::new(config);
        let span = Self::span_for(&config, 0);
        Ok(Board {
            id: id.into(),
            windows: RwLock::new(Windows {
                current: Arc::new(Standings::new(span, config.clone())),
                previous: None,
            }),
            config,
        })
    }

    fn span_for(config: &BoardConfig, at: i64) -> WindowSpan {
        config
            .reset
            .map_or(WindowSpan::forever(), |r| r.span_of(at))
    }

    /// The board's id.
    ///
    /// ```
    /// let b = leaderboard_core::Board::new("b", Default::default()).unwrap();
    /// assert_eq!(b.id().as_str(), "b");
    /// ```
    pub fn id(&self) -> &BoardId {
        &self.id
    }

    /// The board's configuration.
    ///
    /// ```
    /// let b = leaderboard_core::Board::new("b", Default::default()).unwrap();
    /// assert_eq!(b.config().partitions, 8);
    /// ```
    pub fn config(&self) -> &BoardConfig {
        &self.config
    }

    /// The standings of a window (`None` for `Previous` before the first
    /// reset). The handle stays readable after the window rolls away.
    ///
    /// ```
    /// use leaderboard_core::{Board, Window};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// assert!(b.standings(Window::Current).is_some());
    /// assert!(b.standings(Window::Previous).is_none());
    /// ```
    pub fn standings(&self, window: Window) -> Option<Arc<Standings>> {
        let w = self.windows.read();
        match window {
            Window::Current => Some(w.current.clone()),
            Window::Previous => w.previous.clone(),
        }
    }

    /// The standings of the window before the current one, if any.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardConfig, ResetSchedule, Write};
    /// let cfg = BoardConfig::new().reset(ResetSchedule::Every { period_ms: 10, origin_ms: 0 });
    /// let b = Board::new("b", cfg).unwrap();
    /// b.write(Write::new("a", 1, 5)).unwrap();
    /// b.write(Write::new("a", 2, 15)).unwrap(); // rolls into [10, 20)
    /// assert_eq!(b.previous_window().unwrap().entry("a").unwrap().entry.score, 1);
    /// assert_eq!(b.entry("a").unwrap().entry.score, 2);
    /// ```
    pub fn previous_window(&self) -> Option<Arc<Standings>> {
        self.standings(Window::Previous)
    }

    /// The span of the current window.
    ///
    /// ```
    /// use leaderboard_core::{Board, WindowSpan};
    /// assert_eq!(Board::new("b", Default::default()).unwrap().current_window(), WindowSpan::forever());
    /// ```
    pub fn current_window(&self) -> WindowSpan {
        self.windows.read().current.span
    }

    /// Rolls the windows forward if `now` is past the current window:
    /// the current window becomes the previous one (or, if more than one
    /// period passed, an empty window just before `now`'s becomes it).
    /// Returns whether it rolled. Writes roll automatically by their `at`;
    /// call this from a timer so reads see the reset without a write.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardConfig, ResetSchedule, Write};
    /// let cfg = BoardConfig::new().reset(ResetSchedule::Hourly);
    /// let b = Board::new("b", cfg).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert!(b.roll(3_600_000));
    /// assert_eq!(b.count(), 0);
    /// assert_eq!(b.previous_window().unwrap().count(), 1);
    /// assert!(!b.roll(3_600_001));
    /// ```
    pub fn roll(&self, now: i64) -> bool {
        let Some(reset) = self.config.reset else {
            return false;
        };
        let mut w = self.windows.write();
        if w.current.span.contains(now) || now < w.current.span.start {
            return false;
        }
        let span = reset.span_of(now);
        let old = w.current.clone();
        let previous = if old.span.end == span.start {
            old
        } else {
            Arc::new(Standings::new(
                reset.span_of(span.start.saturating_sub(1)),
                self.config.clone(),
            ))
        };
        w.current = Arc::new(Standings::new(span, self.config.clone()));
        w.previous = Some(previous);
        true
    }

    /// Applies a write and reports what changed (the change-feed record).
    ///
    /// The write goes to the window containing `write.at`: the current one;
    /// a later one (rolling the board forward first); or the previous one
    /// (late arrivals are accepted while it is kept). Earlier times fail
    /// with [`Error::WindowExpired`]. A repeated op id returns the first
    /// outcome with `applied: false` while it is remembered (see
    /// [`crate::OpIdPolicy`]; the write's `at` is its time for the op-id
    /// memory, [`Board::write_at`] takes another). A new op id that does not
    /// fit the op-id memory fails with [`Error::OpIdMemoryFull`]. Errors
    /// change nothing.
    ///
    /// ```
    /// use leaderboard_core::{Board, OpId, Write, WriteOp};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("bob", 50, 0)).unwrap();
    /// let out = b.write(Write::new("alice", 70, 1).op_id(OpId(1))).unwrap();
    /// assert_eq!((out.new.rank, out.applied), (1, true));
    /// let retry = b.write(Write::new("alice", 70, 1).op_id(OpId(1))).unwrap();
    /// assert!(!retry.applied);
    /// assert_eq!(retry.new, out.new);
    /// let up = b.write(Write::new("bob", 30, 2).op(WriteOp::Incr)).unwrap();
    /// assert_eq!((up.old.unwrap().rank, up.new.rank, up.new.entry.score), (2, 1, 80));
    /// ```
    pub fn write(&self, write: Write) -> Result<WriteOutcome> {
        write.validate(self.config.max_metadata_bytes)?;
        self.target(write.at)?.write(&write, None)
    }

    /// [`Board::write`] at time `now_ms` of the op-id clock instead of the
    /// write's `at` (which still picks the window). The partition's op-id
    /// clock moves to `now_ms` if that is later, ids older than the horizon
    /// are forgotten, and a new op id is stamped with the clock. This is
    /// what a replicated deployment calls, with one time chosen where the
    /// write is proposed and carried in the replicated command, so every
    /// replica remembers and forgets the same op ids whatever its own clock
    /// and whatever the callers put in `at`.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardConfig, OpId, OpIdPolicy, Write, WriteOp};
    /// let cfg = BoardConfig::new().partitions(1).op_ids(OpIdPolicy::new().horizon_ms(60_000));
    /// let b = Board::new("b", cfg).unwrap();
    /// let w = Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1));
    /// assert!(b.write_at(w.clone(), 1_000).unwrap().applied);
    /// assert!(!b.write_at(w.clone(), 61_000).unwrap().applied); // a minute later: remembered
    /// b.write_at(Write::new("x", 1, 0), 61_001).unwrap();
    /// assert!(b.write_at(w, 61_001).unwrap().applied); // past the horizon: forgotten
    /// ```
    pub fn write_at(&self, write: Write, now_ms: i64) -> Result<WriteOutcome> {
        write.validate(self.config.max_metadata_bytes)?;
        self.target(write.at)?.write(&write, Some(now_ms))
    }

    /// Applies a write like [`Board::write`] but without the change-feed
    /// ranks: it locks and touches only the member's partition and never
    /// counts across partitions, so it is the fast path for bulk
    /// ingestion, replays and replicas that do not push updates. Returns
    /// whether the write was applied (`false` for a remembered op id). A
    /// later [`Board::write`] retry of an op id first seen here is answered
    /// with partition-local ranks.
    ///
    /// ```
    /// use leaderboard_core::{Board, OpId, Write, WriteOp};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// let w = Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1));
    /// assert!(b.apply(w.clone()).unwrap());
    /// assert!(!b.apply(w).unwrap());
    /// assert_eq!(b.entry("a").unwrap().entry.score, 5);
    /// ```
    pub fn apply(&self, write: Write) -> Result<bool> {
        write.validate(self.config.max_metadata_bytes)?;
        self.target(write.at)?.apply(&write, None)
    }

    /// [`Board::apply`] at time `now_ms` of the op-id clock (see
    /// [`Board::write_at`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, OpId, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// let w = Write::new("a", 5, 0).op_id(OpId(1));
    /// assert!(b.apply_at(w.clone(), 1_000).unwrap());
    /// assert!(!b.apply_at(w, 2_000).unwrap());
    /// ```
    pub fn apply_at(&self, write: Write, now_ms: i64) -> Result<bool> {
        write.validate(self.config.max_metadata_bytes)?;
        self.target(write.at)?.apply(&write, Some(now_ms))
    }

    /// Size and counters of the op-id memory of every partition of both
    /// kept windows.
    ///
    /// ```
    /// use leaderboard_core::{Board, OpId, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.apply(Write::new("a", 5, 0).op_id(OpId(1))).unwrap();
    /// b.apply(Write::new("a", 5, 0)).unwrap();
    /// assert_eq!(b.op_id_stats().entries, 1);
    /// ```
    pub fn op_id_stats(&self) -> OpIdStats {
        let w = self.windows.read();
        std::iter::once(&w.current)
            .chain(w.previous.as_ref())
            .flat_map(|s| s.partitions.iter())
            .fold(OpIdStats::default(), |acc, p| {
                acc.add(&p.read().op_id_stats())
            })
    }

    /// [`Board::apply`] for many writes: one result per write, in order (a
    /// failed write does not stop the rest; writes to one member apply in
    /// the order given). Each partition is locked once for all its writes,
    /// and large partitions warm the cache for groups of writes at once
    /// (see [`Partition::apply_batch`](crate::Partition::apply_batch)): the
    /// fast way to ingest a stream of scores.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write, WriteOp};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// let out = b.apply_batch(vec![
    ///     Write::new("a", 1, 0),
    ///     Write::new("", 1, 0),
    ///     Write::new("a", 4, 0).op(WriteOp::Incr),
    /// ]);
    /// assert!(out[0].is_ok() && out[1].is_err() && out[2].is_ok());
    /// assert_eq!(b.entry("a").unwrap().entry.score, 5);
    /// ```
    pub fn apply_batch(&self, writes: Vec<Write>) -> Vec<Result<bool>> {
        let mut out: Vec<Option<Result<bool>>> = (0..writes.len()).map(|_| None).collect();
        let mut groups: Vec<(Arc<Standings>, Vec<usize>)> = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            let target = w
                .validate(self.config.max_metadata_bytes)
                .and_then(|()| self.target(w.at));
            match target {
                Err(e) => out[i] = Some(Err(e)),
                Ok(s) => match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, &s)) {
                    Some((_, idx)) => idx.push(i),
                    None => groups.push((s, vec![i])),
                },
            }
        }
        for (standings, idx) in groups {
            let ws: Vec<&Write> = idx.iter().map(|&i| &writes[i]).collect();
            for (&i, r) in idx.iter().zip(standings.apply_batch(&ws, None)) {
                out[i] = Some(r);
            }
        }
        out.into_iter()
            .map(|r| r.expect("every write answered"))
            .collect()
    }

    /// Applies writes in order; one result per write (a failed write does
    /// not stop the rest).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// let out = b.write_batch(vec![Write::new("a", 1, 0), Write::new("", 1, 0)]);
    /// assert!(out[0].is_ok() && out[1].is_err());
    /// ```
    pub fn write_batch(&self, writes: Vec<Write>) -> Vec<Result<WriteOutcome>> {
        writes.into_iter().map(|w| self.write(w)).collect()
    }

    /// The window a write at `at` belongs to, rolling forward if needed.
    fn target(&self, at: i64) -> Result<Arc<Standings>> {
        loop {
            {
                let w = self.windows.read();
                if w.current.span.contains(at) {
                    return Ok(w.current.clone());
                }
                if at < w.current.span.start {
                    return match &w.previous {
                        Some(p) if p.span.contains(at) => Ok(p.clone()),
                        Some(p) => Err(Error::WindowExpired {
                            at,
                            oldest_start: p.span.start,
                        }),
                        None => Err(Error::WindowExpired {
                            at,
                            oldest_start: w.current.span.start,
                        }),
                    };
                }
            }
            self.roll(at);
        }
    }

    /// Removes a member from the current window.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.remove("a").unwrap().removed.entry.member, "a");
    /// assert!(b.remove("a").is_none());
    /// ```
    pub fn remove(&self, member: &str) -> Option<RemoveOutcome> {
        self.current().remove(member)
    }

    /// Replaces the current window's entries with `entries` in one sorted
    /// bulk build per partition (in parallel): the fast way to load
    /// millions of entries. Op-id memory is kept.
    ///
    /// ```
    /// use leaderboard_core::{Board, Entry};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.bulk_load((0..1000).map(|i| Entry::new(format!("m{i}"), i, 0)).collect()).unwrap();
    /// assert_eq!(b.count(), 1000);
    /// assert_eq!(b.top(1)[0].entry.member, "m999");
    /// ```
    pub fn bulk_load(&self, entries: Vec<Entry>) -> Result<()> {
        self.current().load(entries)
    }

    pub(crate) fn current(&self) -> Arc<Standings> {
        self.windows.read().current.clone()
    }
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("window", &self.current_window())
            .finish_non_exhaustive()
    }
}
