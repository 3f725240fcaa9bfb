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
/// All calendar schedules are in UTC; weeks start on Monday 00:00. More schedules may be added
/// in minor releases (match with a `_` arm).
///
/// ```
/// use leaderboard_core::ResetSchedule;
/// let s = ResetSchedule::Every { period_ms: 60_000, origin_ms: 0 };
/// assert_eq!(s.window_of(61_000), (60_000, 120_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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
/// Build it with [`OpIdPolicy::new`] (the defaults) and the setters; more
/// settings may be added in minor releases.
///
/// ```
/// use leaderboard_core::{BoardConfig, OpIdPolicy};
/// let cfg = BoardConfig::new().op_ids(OpIdPolicy::new().horizon_ms(30_000).max_bytes(1 << 20));
/// assert!(cfg.validate().is_ok());
/// assert_eq!(OpIdPolicy::default().horizon_ms, 60_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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

impl OpIdPolicy {
    /// The default policy ([`DEFAULT_OP_ID_HORIZON_MS`],
    /// [`DEFAULT_OP_ID_MAX_BYTES`]); usable in constants.
    ///
    /// ```
    /// use leaderboard_core::OpIdPolicy;
    /// const KEEP_ALL: OpIdPolicy = OpIdPolicy::new().horizon_ms(u64::MAX).max_bytes(u64::MAX);
    /// assert_eq!(OpIdPolicy::new(), OpIdPolicy::default());
    /// assert_eq!(KEEP_ALL.max_bytes, u64::MAX);
    /// ```
    pub const fn new() -> Self {
        OpIdPolicy {
            horizon_ms: DEFAULT_OP_ID_HORIZON_MS,
            max_bytes: DEFAULT_OP_ID_MAX_BYTES,
        }
    }

    /// Sets the shortest time an applied op id is remembered (ms of the
    /// op-id clock).
    ///
    /// ```
    /// assert_eq!(leaderboard_core::OpIdPolicy::new().horizon_ms(5_000).horizon_ms, 5_000);
    /// ```
    pub const fn horizon_ms(mut self, ms: u64) -> Self {
        self.horizon_ms = ms;
        self
    }

    /// Sets the most bytes one partition's op-id memory may take.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::OpIdPolicy::new().max_bytes(1 << 20).max_bytes, 1 << 20);
    /// ```
    pub const fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }
}

impl Default for OpIdPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// Configuration of one board; fixed when the board is created.
///
/// Build it with [`BoardConfig::new`] (or `default()`) and the chained setters; the fields stay
/// public for reading and for assignment. New settings may be added in minor releases (with
/// defaults that keep today's behaviour), which is why the struct cannot be written as a literal
/// outside this crate.
///
/// ```
/// use leaderboard_core::{BoardConfig, Order, WriteOp};
/// let cfg = BoardConfig::new().order(Order::LowFirst).default_op(WriteOp::Best);
/// assert!(cfg.validate().is_ok());
/// assert_eq!(cfg.partitions, 8);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// The default configuration: high scores first, [`DEFAULT_PARTITIONS`]
    /// partitions, `Set` writes, ordinal ranks, no reset, top 10 watched.
    /// Change it with the chained setters below.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Order, RankStyle, ResetSchedule, WriteOp};
    /// let cfg = BoardConfig::new()
    ///     .order(Order::LowFirst)
    ///     .partitions(1)
    ///     .default_op(WriteOp::Best)
    ///     .rank_style(RankStyle::Competition)
    ///     .reset(ResetSchedule::Weekly)
    ///     .top_n_watch(3)
    ///     .max_metadata_bytes(64);
    /// assert!(cfg.validate().is_ok());
    /// assert_eq!(BoardConfig::new(), BoardConfig::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets which end of the score range ranks first.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Order};
    /// assert_eq!(BoardConfig::new().order(Order::LowFirst).order, Order::LowFirst);
    /// ```
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Sets the number of partitions (1..=4096, checked when a board is
    /// created). One is fastest for reads on one machine; more let writers
    /// on different cores proceed in parallel.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::BoardConfig::new().partitions(1).partitions, 1);
    /// ```
    pub fn partitions(mut self, partitions: u16) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets the operator of writes that do not name one.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, WriteOp};
    /// assert_eq!(BoardConfig::new().default_op(WriteOp::Incr).default_op, WriteOp::Incr);
    /// ```
    pub fn default_op(mut self, op: WriteOp) -> Self {
        self.default_op = op;
        self
    }

    /// Sets the rank style of ranks the board reports unasked.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, RankStyle};
    /// let cfg = BoardConfig::new().rank_style(RankStyle::Competition);
    /// assert_eq!(cfg.rank_style, RankStyle::Competition);
    /// ```
    pub fn rank_style(mut self, style: RankStyle) -> Self {
        self.rank_style = style;
        self
    }

    /// Makes the board start over on `schedule` (it keeps the previous
    /// window readable).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, ResetSchedule};
    /// let cfg = BoardConfig::new().reset(ResetSchedule::Daily);
    /// assert_eq!(cfg.reset, Some(ResetSchedule::Daily));
    /// ```
    pub fn reset(mut self, schedule: ResetSchedule) -> Self {
        self.reset = Some(schedule);
        self
    }

    /// Sets the N of "did the top N change" in write outcomes.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::BoardConfig::new().top_n_watch(3).top_n_watch, 3);
    /// ```
    pub fn top_n_watch(mut self, n: usize) -> Self {
        self.top_n_watch = n;
        self
    }

    /// Sets how long partitions remember op ids and how many bytes that
    /// memory may take.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, OpIdPolicy};
    /// let cfg = BoardConfig::new().op_ids(OpIdPolicy::new().horizon_ms(30_000));
    /// assert_eq!(cfg.op_ids.horizon_ms, 30_000);
    /// ```
    pub fn op_ids(mut self, policy: OpIdPolicy) -> Self {
        self.op_ids = policy;
        self
    }

    /// Sets the largest metadata accepted per entry, in bytes (at most
    /// 65,536, checked when a board is created).
    ///
    /// ```
    /// assert_eq!(leaderboard_core::BoardConfig::new().max_metadata_bytes(0).max_metadata_bytes, 0);
    /// ```
    pub fn max_metadata_bytes(mut self, bytes: usize) -> Self {
        self.max_metadata_bytes = bytes;
        self
    }

    /// Checks ranges; every constructor calls it.
    ///
    /// ```
    /// use leaderboard_core::BoardConfig;
    /// let bad = BoardConfig::new().partitions(0);
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
/// op-id policy (the old count does not translate into a time). Deliberately
/// exhaustive: it mirrors a stored format that no longer changes.
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
