//! Plain data types shared by every layer: ids, entries, writes, outcomes.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::key::SortKey;
use crate::{Error, Result};

/// Longest accepted member id, in bytes. Ids are stored once per entry, so a
/// cap keeps one caller from bloating a board; 256 fits UUIDs, emails and
/// `tenant:user` ids with room to spare.
///
/// ```
/// use leaderboard_core::{validate_member, MAX_MEMBER_BYTES};
/// assert!(validate_member(&"x".repeat(MAX_MEMBER_BYTES)).is_ok());
/// assert!(validate_member(&"x".repeat(MAX_MEMBER_BYTES + 1)).is_err());
/// ```
pub const MAX_MEMBER_BYTES: usize = 256;

/// Name of a leaderboard. Cheap to clone (`Arc<str>`), because it is copied
/// into every outcome a server publishes.
///
/// ```
/// use leaderboard_core::BoardId;
/// let id = BoardId::from("quiz-42");
/// assert_eq!(id.as_str(), "quiz-42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BoardId(Arc<str>);

impl BoardId {
    /// Makes an id from any string.
    ///
    /// ```
    /// let id = leaderboard_core::BoardId::new("daily");
    /// assert_eq!(id.to_string(), "daily");
    /// ```
    pub fn new(id: impl AsRef<str>) -> Self {
        BoardId(Arc::from(id.as_ref()))
    }

    /// The id as a string slice.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::BoardId::new("a").as_str(), "a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for BoardId {
    fn from(s: &str) -> Self {
        BoardId::new(s)
    }
}

impl From<String> for BoardId {
    fn from(s: String) -> Self {
        BoardId(Arc::from(s))
    }
}

impl fmt::Display for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoardId({:?})", &*self.0)
    }
}

/// Operation id that makes a write idempotent: a write whose op id was
/// already applied (and is still remembered, see [`crate::OpIdPolicy`]) is
/// not applied again: the first outcome is returned with `applied: false`.
///
/// 128 bits so callers can hash a natural key (session, question, player)
/// into it with [`OpId::hashed`] and never worry about collisions.
///
/// ```
/// use leaderboard_core::OpId;
/// assert_eq!(OpId::hashed("s1/q3/alice"), OpId::hashed("s1/q3/alice"));
/// assert_ne!(OpId::hashed("s1/q3/alice"), OpId::hashed("s1/q3/bob"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpId(pub u128);

impl OpId {
    /// Stable 128-bit hash (XXH3-128) of any bytes: the same input gives the
    /// same id in every process and version.
    ///
    /// ```
    /// let id = leaderboard_core::OpId::hashed(b"answer:17");
    /// assert_ne!(id.0, 0);
    /// ```
    pub fn hashed(key: impl AsRef<[u8]>) -> Self {
        OpId(xxhash_rust::xxh3::xxh3_128(key.as_ref()))
    }
}

/// Which end of the score range ranks first. Deliberately exhaustive: a
/// range has two ends.
///
/// ```
/// use leaderboard_core::Order;
/// assert_eq!(Order::default(), Order::HighFirst);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Order {
    /// Higher score (then higher subscore) ranks first: points.
    #[default]
    HighFirst,
    /// Lower score (then lower subscore) ranks first: lap times, golf.
    LowFirst,
}

/// How tied entries are numbered (more styles, such as dense ranking, may be
/// added in minor releases).
///
/// Two entries are *tied* when they have the same score and the same
/// subscore; time and member id still order them in listings.
///
/// ```
/// use leaderboard_core::RankStyle;
/// assert_eq!(RankStyle::default(), RankStyle::Ordinal);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RankStyle {
    /// 1, 2, 3, 4: every entry has its own rank (ties broken by time, then id).
    #[default]
    Ordinal,
    /// 1, 2, 2, 4: tied entries share the best rank of their group.
    Competition,
}

/// How a write combines with the member's current entry (more operators may
/// be added in minor releases).
///
/// ```
/// use leaderboard_core::WriteOp;
/// assert_eq!(WriteOp::default(), WriteOp::Set);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WriteOp {
    /// Replace the entry with the write's values.
    #[default]
    Set,
    /// Keep whichever of old and new ranks better (score, then subscore);
    /// on a tie the old entry stays (it was reached earlier).
    Best,
    /// Add the write's score to the current score (0 for a new member).
    Incr,
    /// Subtract the write's score from the current score (0 for a new member).
    Decr,
}

/// One member's standing.
///
/// ```
/// use leaderboard_core::Entry;
/// let e = Entry::new("alice", 10, 1_000);
/// assert_eq!((e.member.as_str(), e.score, e.subscore, e.at), ("alice", 10, None, 1_000));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The member id (non-empty UTF-8, at most [`MAX_MEMBER_BYTES`]).
    pub member: String,
    /// The score; negatives allowed.
    pub score: i64,
    /// Optional second sort key, same direction as the score. A missing
    /// subscore sorts exactly like `Some(0)`.
    pub subscore: Option<i64>,
    /// When the score was reached, in ms since the Unix epoch (caller's clock).
    pub at: i64,
    /// Small opaque payload (display name, avatar id), capped per board.
    pub metadata: Option<Vec<u8>>,
}

impl Entry {
    /// An entry without subscore or metadata.
    ///
    /// ```
    /// let e = leaderboard_core::Entry::new("bob", -3, 7);
    /// assert_eq!(e.score, -3);
    /// ```
    pub fn new(member: impl Into<String>, score: i64, at: i64) -> Self {
        Entry {
            member: member.into(),
            score,
            subscore: None,
            at,
            metadata: None,
        }
    }

    /// The full sort key (score, subscore, time, member) of this entry.
    ///
    /// ```
    /// let k = leaderboard_core::Entry::new("bob", 5, 9).sort_key();
    /// assert_eq!((k.score, k.subscore, k.at, k.member.as_str()), (5, 0, 9, "bob"));
    /// ```
    pub fn sort_key(&self) -> SortKey {
        SortKey {
            score: self.score,
            subscore: self.subscore.unwrap_or(0),
            at: self.at,
            member: self.member.clone(),
        }
    }
}

/// An entry with its rank (1-based) in the style the query asked for.
///
/// ```
/// use leaderboard_core::{Entry, RankedEntry};
/// let r = RankedEntry { rank: 1, entry: Entry::new("a", 1, 0) };
/// assert_eq!(r.rank, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RankedEntry {
    /// 1-based rank.
    pub rank: u64,
    /// The entry.
    pub entry: Entry,
}

/// A score write. Build it with [`Write::new`] and the chained setters (the
/// fields are public for reading and assignment; new optional fields may be
/// added in minor releases, so it cannot be written as a literal outside this
/// crate).
///
/// Field semantics per operator: `score` is the new score for `Set`/`Best`
/// and the delta for `Incr`/`Decr`. `subscore: None` means "no subscore"
/// for `Set`/`Best` and "keep the current one" for `Incr`/`Decr`.
/// `metadata: None` keeps the current metadata; `Some(vec![])` clears it.
///
/// ```
/// use leaderboard_core::{OpId, Write, WriteOp};
/// let w = Write::new("alice", 100, 1_700_000_000_000)
///     .subscore(3)
///     .op(WriteOp::Incr)
///     .op_id(OpId(7))
///     .metadata(b"Alice".to_vec());
/// assert_eq!(w.op, Some(WriteOp::Incr));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Write {
    /// Member id.
    pub member: String,
    /// Score, or delta for `Incr`/`Decr`.
    pub score: i64,
    /// Subscore (see the type docs for `None`).
    pub subscore: Option<i64>,
    /// Time the score was reached, ms since the Unix epoch. Also picks the
    /// time window on boards with a reset schedule.
    pub at: i64,
    /// Operator; `None` uses the board's `default_op`.
    pub op: Option<WriteOp>,
    /// Idempotency key; a repeat is answered from memory, not re-applied.
    pub op_id: Option<OpId>,
    /// Optional small payload (see the type docs for `None`).
    pub metadata: Option<Vec<u8>>,
}

impl Write {
    /// A write with the board's default operator, no subscore, op id or metadata.
    ///
    /// ```
    /// let w = leaderboard_core::Write::new("a", 1, 0);
    /// assert!(w.op.is_none() && w.op_id.is_none());
    /// ```
    pub fn new(member: impl Into<String>, score: i64, at: i64) -> Self {
        Write {
            member: member.into(),
            score,
            subscore: None,
            at,
            op: None,
            op_id: None,
            metadata: None,
        }
    }

    /// Sets the subscore.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::Write::new("a", 1, 0).subscore(2).subscore, Some(2));
    /// ```
    pub fn subscore(mut self, subscore: i64) -> Self {
        self.subscore = Some(subscore);
        self
    }

    /// Overrides the board's default operator for this write.
    ///
    /// ```
    /// use leaderboard_core::{Write, WriteOp};
    /// assert_eq!(Write::new("a", 1, 0).op(WriteOp::Best).op, Some(WriteOp::Best));
    /// ```
    pub fn op(mut self, op: WriteOp) -> Self {
        self.op = Some(op);
        self
    }

    /// Sets the idempotency key.
    ///
    /// ```
    /// use leaderboard_core::{OpId, Write};
    /// assert_eq!(Write::new("a", 1, 0).op_id(OpId(1)).op_id, Some(OpId(1)));
    /// ```
    pub fn op_id(mut self, op_id: OpId) -> Self {
        self.op_id = Some(op_id);
        self
    }

    /// Sets the metadata (an empty vector clears the stored metadata).
    ///
    /// ```
    /// let w = leaderboard_core::Write::new("a", 1, 0).metadata(vec![1, 2]);
    /// assert_eq!(w.metadata, Some(vec![1, 2]));
    /// ```
    pub fn metadata(mut self, metadata: Vec<u8>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Checks the member id and metadata size; called by every write path
    /// before anything changes.
    ///
    /// ```
    /// use leaderboard_core::{Error, Write};
    /// assert_eq!(Write::new("", 1, 0).validate(256), Err(Error::EmptyMember));
    /// assert!(Write::new("a", 1, 0).validate(256).is_ok());
    /// ```
    pub fn validate(&self, max_metadata_bytes: usize) -> Result<()> {
        validate_member(&self.member)?;
        if let Some(m) = &self.metadata {
            if m.len() > max_metadata_bytes {
                return Err(Error::MetadataTooLarge {
                    len: m.len(),
                    max: max_metadata_bytes,
                });
            }
        }
        Ok(())
    }
}

/// Rejects empty and oversized member ids.
///
/// ```
/// use leaderboard_core::{validate_member, Error};
/// assert_eq!(validate_member(""), Err(Error::EmptyMember));
/// assert!(validate_member("bob").is_ok());
/// ```
pub fn validate_member(member: &str) -> Result<()> {
    if member.is_empty() {
        return Err(Error::EmptyMember);
    }
    if member.len() > MAX_MEMBER_BYTES {
        return Err(Error::MemberTooLong {
            len: member.len(),
            max: MAX_MEMBER_BYTES,
        });
    }
    Ok(())
}

/// What a write did: the change-feed record a server pushes to clients.
///
/// Ranks use the board's `rank_style`. Fields may be added in minor releases.
///
/// ```
/// use leaderboard_core::{BoardConfig, Leaderboards, Write};
/// let boards = Leaderboards::new();
/// let board = boards.create("b", BoardConfig::default()).unwrap();
/// let out = board.write(Write::new("alice", 10, 0)).unwrap();
/// assert!(out.applied && out.changed && out.top_changed);
/// assert_eq!(out.new.rank, 1);
/// assert!(out.old.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WriteOutcome {
    /// False when the op id was seen before: the write was not applied
    /// again and the other fields repeat the first outcome.
    pub applied: bool,
    /// Whether the stored entry changed (a `Best` that does not improve, or
    /// a `Set` of identical values, leaves it unchanged).
    pub changed: bool,
    /// The member's entry and rank before the write (`None` if new).
    pub old: Option<RankedEntry>,
    /// The member's entry and rank after the write.
    pub new: RankedEntry,
    /// Whether the board's top `top_n_watch` changed (membership, order or
    /// content), so a server knows to push a new top list.
    pub top_changed: bool,
}

/// What a removal did (fields may be added in minor releases).
///
/// ```
/// use leaderboard_core::{BoardConfig, Leaderboards, Write};
/// let board = Leaderboards::new().create("b", BoardConfig::default()).unwrap();
/// board.write(Write::new("a", 1, 0)).unwrap();
/// let out = board.remove("a").unwrap();
/// assert_eq!(out.removed.rank, 1);
/// assert!(out.top_changed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoveOutcome {
    /// The entry that was removed, with its rank just before removal.
    pub removed: RankedEntry,
    /// Whether the removal changed the top `top_n_watch`.
    pub top_changed: bool,
}

/// One page of a keyset-paginated listing (fields may be added in minor
/// releases; [`Page::new`] builds one).
///
/// ```
/// use leaderboard_core::{BoardConfig, Leaderboards, Write};
/// let board = Leaderboards::new().create("b", BoardConfig::default()).unwrap();
/// for (i, m) in ["a", "b", "c"].iter().enumerate() {
///     board.write(Write::new(*m, i as i64, 0)).unwrap();
/// }
/// let p1 = board.page_after(None, 2);
/// assert_eq!(p1.entries.len(), 2);
/// let p2 = board.page_after(p1.next_cursor.as_ref(), 2);
/// assert_eq!(p2.entries[0].entry.member, "a");
/// assert!(p2.next_cursor.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page {
    /// Entries in rank order.
    pub entries: Vec<RankedEntry>,
    /// Cursor for the next page; `None` when this page reached the end.
    pub next_cursor: Option<crate::Cursor>,
}

impl Page {
    /// A page of `entries`, with the cursor of the next page (`None` at the
    /// end): for code that assembles pages itself, e.g. from partitions held
    /// on several nodes.
    ///
    /// ```
    /// use leaderboard_core::Page;
    /// let empty = Page::new(Vec::new(), None);
    /// assert!(empty.entries.is_empty() && empty.next_cursor.is_none());
    /// ```
    pub fn new(entries: Vec<RankedEntry>, next_cursor: Option<crate::Cursor>) -> Self {
        Page {
            entries,
            next_cursor,
        }
    }
}

/// Which time window a query reads. Deliberately exhaustive: a board keeps
/// two windows.
///
/// ```
/// use leaderboard_core::Window;
/// assert_eq!(Window::default(), Window::Current);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Window {
    /// The window new writes go to.
    #[default]
    Current,
    /// The window before it (kept read-mostly after a reset).
    Previous,
}

/// Whether `top` merges partitions on the calling thread or fans out (more
/// strategies may be added in minor releases).
///
/// ```
/// use leaderboard_core::Fanout;
/// assert_eq!(Fanout::default(), Fanout::Auto);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Fanout {
    /// Parallel when `n * partitions` is large enough to pay for the
    /// thread hand-off (see `docs/PERFORMANCE.md`), else sequential.
    #[default]
    Auto,
    /// Lazy k-way merge on the calling thread.
    Sequential,
    /// Each partition's top n extracted on the rayon pool, then merged.
    Parallel,
}

impl std::borrow::Borrow<str> for BoardId {
    fn borrow(&self) -> &str {
        &self.0
    }
}
