//! Per-board configuration.

use serde::{Deserialize, Serialize};

use crate::{Error, Order, RankStyle, Result, WriteOp};

/// Default partitions per board: enough to spread writers over cores and
/// over shard groups, few enough that the `P` descents of a global rank
/// stay cheap (see `docs/PERFORMANCE.md`).
///
/// ```
/// use leaderboard_core::{BoardConfig, DEFAULT_PARTITIONS};
/// assert_eq!(BoardConfig::default().partitions, DEFAULT_PARTITIONS);
/// ```
pub const DEFAULT_PARTITIONS: u16 = 8;

/// When a board's standings start over.
///
/// All calendar schedules are in UTC; weeks start on Monday 00:00.
///
/// ```
/// use leaderboard_core::ResetSchedule;
/// let s = ResetSchedule::Every { period_ms: 60_000, origin_ms: 0 };
/// assert_eq!(s.window_of(61_000), (60_000, 120_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResetSchedule {
    /// Every hour on the hour.
    Hourly,
    /// Every day at 00:00 UTC.
    Daily,
    /// Every Monday at 00:00 UTC.
    Weekly,
    /// On the first of every month at 00:00 UTC.
    Monthly,
    /// Fixed periods of `period_ms`, aligned to `origin_ms`.
    Every {
        /// Window length in ms (> 0).
        period_ms: i64,
        /// Any window boundary.
        origin_ms: i64,
    },
    /// One window that ends at `at_ms`; after it, one open-ended window.
    ExpiresAt {
        /// The expiry time in ms since the epoch.
        at_ms: i64,
    },
}

/// Default [`OpIdPolicy::horizon_ms`]: a minute, several times the
/// longest a client keeps retrying one write (the shard-node client retries
/// for 10 s plus one 3 s attempt), so a retry is answered from memory even
/// after a leader change and a few seconds of clock skew between leaders.
pub const DEFAULT_OP_ID_HORIZON_MS: u64 = 60_000;

/// Default [`OpIdPolicy::max_bytes`] per partition: 128 MiB, about 600,000
/// remembered op ids of short member ids, which covers ~10,000 op-id writes
/// per second to one partition for the default horizon.
pub const DEFAULT_OP_ID_MAX_BYTES: u64 = 128 << 20;

/// How a partition remembers op ids (what makes a retried write apply
/// exactly once).
///
/// An op id is remembered, with the outcome of its write, for at least
/// `horizon_ms` after it was applied, measured on the partition's op-id
/// clock: the largest time the partition has been told (a write's `at`, or
/// the time given to [`crate::Board::write_at`] and friends). The
/// partition has no clock of its own, so replicas that are told the same
/// times forget the same ids. Older ids are forgotten, oldest first, when
/// the clock moves on.
///
/// The memory is bounded: it takes at most `max_bytes` (as accounted, see
/// [`OpIdStats::bytes`](crate::OpIdStats)). When a new op id does not fit
/// and no remembered id is old enough to forget, the write is refused with
/// [`Error::OpIdMemoryFull`] (retryable, nothing applied) rather than
/// forgetting an id a client may still retry. Writes without an op id are
/// never refused.
///
/// ```
/// use leaderboard_core::{BoardConfig, OpIdPolicy};
/// let cfg = BoardConfig { op_ids: OpIdPolicy { horizon_ms: 30_000, max_bytes: 1 << 20 }, ..Default::default() };
/// assert!(cfg.validate().is_ok());
/// assert_eq!(OpIdPolicy::default().horizon_ms, 60_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpIdPolicy {
    /// Shortest time an applied op id is remembered, in ms of the op-id
    /// clock (default [`DEFAULT_OP_ID_HORIZON_MS`]). Size it above the
    /// longest time a client may retry a write, plus the clock skew between
    /// the nodes that stamp times.
    pub horizon_ms: u64,
    /// Most bytes one partition's op-id memory may take (default
    /// [`DEFAULT_OP_ID_MAX_BYTES`]; 0 refuses every write that carries an
    /// op id).
    pub max_bytes: u64,
}

impl Default for OpIdPolicy {
    fn default() -> Self {
        OpIdPolicy {
            horizon_ms: DEFAULT_OP_ID_HORIZON_MS,
            max_bytes: DEFAULT_OP_ID_MAX_BYTES,
        }
    }
}

/// Configuration of one board; fixed when the board is created.
///
/// ```
/// use leaderboard_core::{BoardConfig, Order, WriteOp};
/// let cfg = BoardConfig { order: Order::LowFirst, default_op: WriteOp::Best, ..BoardConfig::default() };
/// assert!(cfg.validate().is_ok());
/// assert_eq!(cfg.partitions, 8);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardConfig {
    /// Which end of the score range ranks first.
    pub order: Order,
    /// Number of score partitions (1..=4096). Members are spread by
    /// [`crate::partition_of`]; writes to different partitions never contend.
    pub partitions: u16,
    /// Operator for writes that do not name one.
    pub default_op: WriteOp,
    /// Rank style of ranks the board reports without being asked for one
    /// (write outcomes, listings, [`crate::Board::entry`]).
    pub rank_style: RankStyle,
    /// Time windows; `None` means one window forever.
    pub reset: Option<ResetSchedule>,
    /// N of "did the top N change" in write outcomes.
    pub top_n_watch: usize,
    /// How long each partition remembers op ids, and how many bytes that
    /// memory may take (see [`OpIdPolicy`]).
    #[serde(default)]
    pub op_ids: OpIdPolicy,
    /// Largest metadata accepted per entry, in bytes (at most 65,536).
    pub max_metadata_bytes: usize,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            order: Order::HighFirst,
            partitions: DEFAULT_PARTITIONS,
            default_op: WriteOp::Set,
            rank_style: RankStyle::Ordinal,
            reset: None,
            top_n_watch: 10,
            op_ids: OpIdPolicy::default(),
            max_metadata_bytes: 256,
        }
    }
}

impl BoardConfig {
    /// Checks ranges; every constructor calls it.
    ///
    /// ```
    /// use leaderboard_core::BoardConfig;
    /// let bad = BoardConfig { partitions: 0, ..BoardConfig::default() };
    /// assert!(bad.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.partitions == 0 || self.partitions > 4096 {
            return Err(Error::InvalidConfig(format!(
                "partitions must be in 1..=4096, got {}",
                self.partitions
            )));
        }
        if self.max_metadata_bytes > 65_536 {
            return Err(Error::InvalidConfig(format!(
                "max_metadata_bytes must be at most 65536, got {}",
                self.max_metadata_bytes
            )));
        }
        if let Some(ResetSchedule::Every { period_ms, .. }) = self.reset {
            if period_ms <= 0 {
                return Err(Error::InvalidConfig(format!(
                    "reset period must be > 0 ms, got {period_ms}"
                )));
            }
        }
        Ok(())
    }
}

/// A [`BoardConfig`] as snapshot format 1 (and data written by releases of
/// that format, such as shard-node logs) stored it: the op-id memory was a
/// count of ids instead of an [`OpIdPolicy`]. Only for reading such data:
/// convert it with `BoardConfig::from`, which gives the board the default
/// op-id policy (the old count does not translate into a time).
///
/// ```
/// use leaderboard_core::{BoardConfig, BoardConfigV1, Order, WriteOp, RankStyle};
/// let old = BoardConfigV1 {
///     order: Order::LowFirst, partitions: 4, default_op: WriteOp::Incr,
///     rank_style: RankStyle::Ordinal, reset: None, top_n_watch: 10,
///     dedupe_capacity: 16_384, max_metadata_bytes: 256,
/// };
/// let cfg = BoardConfig::from(old);
/// assert_eq!((cfg.order, cfg.partitions, cfg.op_ids), (Order::LowFirst, 4, Default::default()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardConfigV1 {
    /// [`BoardConfig::order`].
    pub order: Order,
    /// [`BoardConfig::partitions`].
    pub partitions: u16,
    /// [`BoardConfig::default_op`].
    pub default_op: WriteOp,
    /// [`BoardConfig::rank_style`].
    pub rank_style: RankStyle,
    /// [`BoardConfig::reset`].
    pub reset: Option<ResetSchedule>,
    /// [`BoardConfig::top_n_watch`].
    pub top_n_watch: usize,
    /// How many op ids each partition remembered (first in, first out).
    pub dedupe_capacity: usize,
    /// [`BoardConfig::max_metadata_bytes`].
    pub max_metadata_bytes: usize,
}

impl From<BoardConfigV1> for BoardConfig {
    fn from(c: BoardConfigV1) -> Self {
        BoardConfig {
            order: c.order,
            partitions: c.partitions,
            default_op: c.default_op,
            rank_style: c.rank_style,
            reset: c.reset,
            top_n_watch: c.top_n_watch,
            op_ids: OpIdPolicy::default(),
            max_metadata_bytes: c.max_metadata_bytes,
        }
    }
}
