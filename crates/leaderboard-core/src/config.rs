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
    /// How many op ids each partition remembers (FIFO). A retry arriving
    /// after this many newer op-id writes to the same partition is applied
    /// again, so size it to cover the retry horizon (writes/s x retry time).
    /// Costs ~150 bytes per remembered op id.
    pub dedupe_capacity: usize,
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
            dedupe_capacity: 16_384,
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

    /// Sets how many op ids each partition remembers (see the field).
    ///
    /// ```
    /// assert_eq!(leaderboard_core::BoardConfig::new().dedupe_capacity(64).dedupe_capacity, 64);
    /// ```
    pub fn dedupe_capacity(mut self, op_ids: usize) -> Self {
        self.dedupe_capacity = op_ids;
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
