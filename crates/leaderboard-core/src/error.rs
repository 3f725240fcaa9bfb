//! The crate's one error type.

use serde::{Deserialize, Serialize};

/// `Result` with this crate's [`Error`].
///
/// ```
/// fn parse(token: &str) -> leaderboard_core::Result<leaderboard_core::Cursor> {
///     leaderboard_core::Cursor::from_token(token)
/// }
/// assert!(parse("xyz").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `leaderboard-core`.
///
/// Every variant except [`Error::Backend`] means "the input was rejected and
/// nothing changed"; retrying the same call gives the same error, except
/// [`Error::OpIdMemoryFull`], which clears with time. Use the
/// classifiers instead of matching when you only need the category:
///
/// ```
/// use leaderboard_core::Error;
/// let e = Error::EmptyMember;
/// assert!(e.is_invalid_input());
/// assert!(!e.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Error {
    /// The member id was the empty string.
    #[error("member id must not be empty")]
    EmptyMember,
    /// The member id is longer than [`crate::MAX_MEMBER_BYTES`].
    #[error("member id is {len} bytes long; the limit is {max}")]
    MemberTooLong {
        /// Length of the rejected id in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The metadata is larger than the board's `max_metadata_bytes`.
    #[error("metadata is {len} bytes long; the board's limit is {max}")]
    MetadataTooLarge {
        /// Length of the rejected metadata in bytes.
        len: usize,
        /// The board's limit.
        max: usize,
    },
    /// `incr`/`decr` would leave the `i64` range; the entry is unchanged.
    #[error("score overflow: {current} {op} {delta} does not fit in i64")]
    Overflow {
        /// The member's current score (0 for a new member).
        current: i64,
        /// `"+"` or `"-"`.
        op: char,
        /// The requested change.
        delta: i64,
    },
    /// No board with this id in the registry.
    #[error("board {0:?} does not exist")]
    BoardNotFound(String),
    /// `create` was called for an id that is taken.
    #[error("board {0:?} already exists")]
    BoardExists(String),
    /// A [`crate::BoardConfig`] value is out of range.
    #[error("invalid board config: {0}")]
    InvalidConfig(String),
    /// The write's time falls before the previous window, which is no
    /// longer kept.
    #[error("write time {at} ms is before the oldest kept window (starts at {oldest_start} ms)")]
    WindowExpired {
        /// The write's `at`.
        at: i64,
        /// Start of the oldest window still kept.
        oldest_start: i64,
    },
    /// A snapshot was written by a format version this build cannot read.
    #[error(
        "snapshot format version {found} is not supported (this build reads versions up to {supported})"
    )]
    UnsupportedSnapshotVersion {
        /// Version found in the header.
        found: u16,
        /// Version this build writes (and the newest it reads).
        supported: u16,
    },
    /// A snapshot's bytes could not be decoded.
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(String),
    /// A page cursor could not be decoded.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A partition index outside `0..partitions`.
    #[error("partition {index} is out of range (the board has {partitions})")]
    PartitionOutOfRange {
        /// Requested index.
        index: u16,
        /// Number of partitions.
        partitions: u16,
    },
    /// The partition's op-id memory is full: remembering this write's op id
    /// would take it past [`crate::OpIdPolicy::max_bytes`], and every id it
    /// holds is younger than the horizon, so none may be forgotten yet (a
    /// client may still retry them). Nothing was applied. Retryable: room
    /// frees up as remembered ids age past the horizon.
    #[error(
        "op-id memory full: {used_bytes} of {limit_bytes} bytes in use, all younger than the \
         horizon; retry in about {retry_after_ms} ms"
    )]
    OpIdMemoryFull {
        /// Bytes the partition's op-id memory holds.
        used_bytes: u64,
        /// Its limit.
        limit_bytes: u64,
        /// Time until the oldest remembered id may be forgotten, in ms of the
        /// partition's op-id clock (the horizon when nothing is remembered).
        retry_after_ms: u64,
    },
    /// The storage backend (Redis) failed; the write may or may not have
    /// been applied, so retry it with the same op id.
    #[error("backend error: {message}")]
    Backend {
        /// What the backend said.
        message: String,
        /// Whether the backend classed it as transient (I/O, failover).
        retryable: bool,
    },
}

impl Error {
    /// True when the same call may succeed later (transient backend
    /// failures and a full op-id memory).
    ///
    /// ```
    /// use leaderboard_core::Error;
    /// let e = Error::Backend { message: "connection reset".into(), retryable: true };
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Backend {
                retryable: true,
                ..
            } | Error::OpIdMemoryFull { .. }
        )
    }

    /// True when the caller's input was rejected (map to HTTP 400/422).
    ///
    /// ```
    /// use leaderboard_core::Error;
    /// assert!(Error::MetadataTooLarge { len: 9000, max: 256 }.is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::EmptyMember
                | Error::MemberTooLong { .. }
                | Error::MetadataTooLarge { .. }
                | Error::Overflow { .. }
                | Error::InvalidConfig(_)
                | Error::WindowExpired { .. }
                | Error::InvalidCursor(_)
                | Error::PartitionOutOfRange { .. }
        )
    }

    /// True for "no such thing" errors (map to HTTP 404).
    ///
    /// ```
    /// use leaderboard_core::Error;
    /// assert!(Error::BoardNotFound("weekly".into()).is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::BoardNotFound(_))
    }

    /// True for "already exists" conflicts (map to HTTP 409).
    ///
    /// ```
    /// use leaderboard_core::Error;
    /// assert!(Error::BoardExists("weekly".into()).is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::BoardExists(_))
    }
}
