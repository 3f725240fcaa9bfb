//! # leaderboard-core
//!
//! An embeddable, sharded, real-time leaderboard. No I/O, no clock, no
//! async runtime by default: add the crate, create a [`Leaderboards`]
//! registry, and call [`Board`] methods from any number of threads.
//!
//! ```
//! use leaderboard_core::{BoardConfig, Leaderboards, RankStyle, Write, WriteOp};
//! let boards = Leaderboards::new();
//! let quiz = boards.create("quiz-42", BoardConfig::new().default_op(WriteOp::Incr)).unwrap();
//! quiz.write(Write::new("alice", 800, 1_000)).unwrap();
//! quiz.write(Write::new("bob", 950, 1_200)).unwrap();
//! let out = quiz.write(Write::new("alice", 300, 2_000)).unwrap(); // incr
//! assert_eq!((out.old.unwrap().rank, out.new.rank, out.top_changed), (2, 1, true));
//! assert_eq!(quiz.rank("bob", RankStyle::Ordinal), Some(2));
//! ```
//!
//! ## Model
//!
//! - A [`Leaderboards`] registry holds boards by [`BoardId`]. Each [`Board`]
//!   has a [`BoardConfig`]: order ([`Order::HighFirst`] or `LowFirst`),
//!   partition count `P`, default [`WriteOp`], [`RankStyle`], optional
//!   [`ResetSchedule`], the N of "top N changed", the op-id memory's
//!   [`OpIdPolicy`] and the metadata cap.
//! - An [`Entry`] is a member id, an `i64` score (negatives allowed), an
//!   optional subscore, the time the score was reached (`at`, ms since the
//!   epoch, from the caller's clock) and optional small metadata.
//! - **Order** ([`SortKey`]): score (per board direction), then subscore in
//!   the *same* direction (higher subscore is better on `HighFirst`
//!   boards), then the earlier `at`, then the member id (bytewise). A
//!   missing subscore sorts exactly like `Some(0)`; the entry still reports
//!   `None`. The order is total, so ordinal ranks and cursors are exact.
//! - **Rank styles**: ordinal (1, 2, 3, 4) and competition (1, 2, 2, 4),
//!   where entries tie when score *and* subscore are equal (time and id
//!   then only order them in listings).
//! - **Writes** ([`Write`]): `Set` replaces; `Best` keeps the better of old
//!   and new (ties keep the old, reached earlier); `Incr`/`Decr` add or
//!   subtract (new members start from 0; overflow is
//!   [`Error::Overflow`] and changes nothing). A write may carry an
//!   [`OpId`]: a repeat is not applied again and returns the first
//!   outcome with `applied: false`. Exactly once holds for repeats within
//!   the op-id horizon (see below).
//! - **Op-id memory** ([`OpIdPolicy`]): each partition remembers its op ids
//!   and their outcomes for at least `horizon_ms` (default 60 s) of its
//!   *op-id clock*, the largest time it has been told: the write's `at`,
//!   or the `now_ms` of [`Board::write_at`] / [`Board::apply_at`], which a
//!   replicated deployment fills with one time stamped where the write is
//!   proposed, so every replica forgets the same ids. The memory is bounded
//!   in bytes per partition (`max_bytes`, default 128 MiB); a new op id
//!   that does not fit while every remembered one is younger than the
//!   horizon is refused with [`Error::OpIdMemoryFull`] (retryable, nothing
//!   applied) instead of forgetting an id a client may still retry. Writes
//!   without an op id are never refused. [`Board::op_id_stats`] reports
//!   ids held, bytes, refusals and expiries. Cost: ~200 bytes per
//!   remembered id with short member ids (see `docs/PERFORMANCE.md`).
//! - **Change feed**: every write returns a [`WriteOutcome`] with the old
//!   and new entry and rank and whether the top `top_n_watch` changed, so a
//!   server pushes only what changed. [`Board::apply`] is the same write
//!   without the board-wide ranks (one partition touched): for bulk
//!   ingestion, log replay and replicas that push nothing.
//! - **Queries** (on [`Board`] for the current window, on [`Standings`] for
//!   either window): [`Board::entry`] and [`Board::rank`] of a member,
//!   [`Board::ranks`] of many in one consistent read, [`Board::top`],
//!   [`Board::page`] by rank offset, [`Board::page_after`] by keyset
//!   [`Cursor`], [`Board::around`] a member, [`Board::count`],
//!   [`Board::percentile`].
//! - **Windows**: a board with a [`ResetSchedule`] (hourly, daily, weekly,
//!   monthly, fixed periods, or one explicit expiry; UTC) keeps the current
//!   window and the previous one. The window is chosen by each write's
//!   `at` (a later `at` rolls the board forward; `at` in the previous
//!   window is a late write into it) and by [`Board::roll`].
//! - **Snapshots**: [`Board::snapshot`] / [`Board::restore`] (and the same
//!   on [`Partition`] and [`Leaderboards`]) write serde + bincode behind a
//!   magic and a format version; unknown versions are rejected with
//!   [`Error::UnsupportedSnapshotVersion`]. [`Board::snapshot_chunks`]
//!   and [`BoardLoader`] write and rebuild a board a bounded chunk at a
//!   time, for boards too large to hold encoded in memory. Every form
//!   carries the whole op-id memory: each remembered id with its outcome
//!   and the clock it was remembered at, and each partition's op-id clock.
//!
//! ## Design
//!
//! A board is `P` [`Partition`]s per window. A member lives in partition
//! [`partition_of`]`(member, P)`: XXH3-64 of its UTF-8 bytes modulo `P`, a
//! frozen function, because a shard cluster maps partitions to Raft groups
//! and every process must agree. All operations on one member touch one
//! partition; each partition has its own `RwLock`, so writers to different
//! partitions never contend.
//!
//! Inside a partition (see `partition/tree.rs`):
//!
//! - each member has a *record* in a per-partition byte arena: score and
//!   time (16 bytes), id length and flags (2), the subscore only when set
//!   (8), then the id's bytes inline, rounded to 4 bytes and named by a
//!   `u32` *slot* (offset / 4). No separate string allocation, and the id a
//!   lookup compares sits in the record's own cache line. An
//!   open-addressing index maps member -> slot in 64-byte groups of 12
//!   (one-byte tags, an overflow count and the slots in one cache line, so
//!   a lookup costs one miss for the index and one for the record; ~5.3
//!   bytes per bucket, hashing through the arena);
//! - an **order-statistic B+tree** orders the slots. Leaves hold 128
//!   `(score, slot)` pairs as two parallel arrays (12 bytes per entry,
//!   scores contiguous for a cache-friendly binary search; only equal
//!   scores consult the slab). Inner nodes hold, per child, its exact
//!   minimum key and entry count, so one descent gives the number of
//!   entries above any key (rank) or the entry at any position (paging).
//!
//! **Why an order-statistic B+tree.** Every query is "position of a key"
//! or "key at a position", which needs subtree counts. A skip list
//! (Redis) spends 2-4 pointers and a span per entry and takes a dependent
//! cache miss per level (~log2 n of them); a `BTreeMap` has no subtree
//! counts, so ranks would be O(n); a Fenwick tree over a score histogram
//! needs a bounded score range and cannot break ties by time and id; a
//! sorted `Vec` is O(n) per write. A B+tree with wide nodes and counts in
//! the parents does both directions in one O(log n) descent touching 3-4
//! nodes at 10M entries, keeps neighbours in one leaf (top N, pages and
//! around-member are sequential reads of the leaf chain), and costs 12
//! bytes per entry in the leaves. The record (18 bytes + id, ~2 bytes of
//! rounding), the member index (5.3 bytes per bucket at 44-88% load) and leaf
//! slack add up to what `docs/PERFORMANCE.md` reports as measured with a
//! counting allocator: under the 48 bytes per entry beyond the id's own
//! bytes the issue set (a Redis sorted set: about 97 in the same run).
//!
//! **Memory latency is the cost.** On the 2-core VM this was tuned on a
//! random read from a 64 MB structure costs ~300 ns (4 KiB pages, so
//! most are TLB misses too), and even perfectly overlapped random lines
//! arrive no faster than one per ~26 ns. So the code counts dependent
//! misses and lines. A rank at `P = 1` is three dependent misses: the
//! index line, the record (for the key), the leaf. Inner nodes stay in
//! cache; descents request the next inner node's lines before searching
//! it, and a read descent requests only ~4 lines of the leaf, around the
//! position *interpolated* from the key range its parent knows, then
//! searches outward from there. A member's own key finds itself among
//! score ties by its slot, without reading the tied records; other ties
//! request all their records at once and are ordered one round later.
//! Board-wide seeks (rank, around, offset paging, the ranks of a write
//! outcome) descend all partitions *interleaved*, one level of each per
//! round, so their misses overlap instead of adding up. `around`
//! prefetches the neighbours' records before merging them.
//! [`Board::apply_batch`] is software-pipelined: while one write runs,
//! the index lines, records and leaves of the next few are being fetched
//! (see `partition/batch.rs`). [`Board::apply`] and `apply_batch` take
//! an allocation-free write path (`partition/quiet.rs`): nobody reads
//! their outcome, so no [`Entry`] values are built (writes with an op id
//! still build the outcome the op-id memory keeps).
//!
//! **Huge pages** (feature `huge-pages`, Linux): with 4 KiB pages every
//! random miss is a TLB miss too. A partition's member index table, once
//! 2 MiB or more, is allocated 2 MiB-aligned and `madvise(MADV_HUGEPAGE)`d
//! before first use; its record and leaf arenas, once they reach 2 MiB,
//! are copied into such huge pages at the same handles, and from then on
//! every further 2 MiB of ordinary chunks moves into a new page, so no
//! page is ever partly empty (memory per entry is unchanged). Smaller
//! partitions are unchanged. This made a rank at 1M members (`P = 1`)
//! ~15-20% faster on the test VM (`docs/PERFORMANCE.md`).
//!
//! Board-wide answers combine partitions with [`merge`]: global rank =
//! 1 + sum of each partition's count above the key; top N = k-way merge of
//! each partition's best N (lazily on the calling thread, or extracted on
//! the rayon pool when `N * P` is large, see [`Fanout`]); page by offset =
//! a multi-partition selection by bisection; keyset pages = per-partition
//! seek after the cursor key, then merge.
//!
//! [`Board::top`] keeps its last answer (n up to 1024) per window with the
//! key of its last entry; a write invalidates it only when the member's
//! old or new key ranks at or above that key. A live quiz reads the top
//! far more often than a write reaches it, so most `top` calls are a copy.
//! Writers check the cache under their partition's write lock and readers
//! fill it under every partition's read lock, so a cached answer is never
//! older than a completed write ([`Fanout::Sequential`] and
//! [`Fanout::Parallel`] bypass it). The same pieces are public so a
//! distributed deployment can hold partitions on different nodes.
//!
//! ## Invariants
//!
//! - A member is in at most one partition of a window, in exactly one tree
//!   position, and its slab record equals the key at that position.
//! - Inner nodes' per-child minimum and count are exact after every
//!   operation (checked after each step in the tests).
//! - An operation either succeeds completely or returns an error having
//!   changed nothing.
//! - An op id is answered from memory until the partition's op-id clock is
//!   more than `horizon_ms` past the clock when it was remembered, and is
//!   never forgotten earlier (a full memory refuses new ids instead); it is
//!   recorded under the same lock as the write, so concurrent retries never
//!   apply twice. The clock only moves forward.
//!
//! ## Deliberately not implemented
//!
//! - No I/O, persistence or clock: snapshots are bytes; durability is the
//!   embedder's (the shard nodes put a Raft log in front).
//! - Board-wide reads lock every partition of the window for reading;
//!   there is no MVCC. Write outcomes' global ranks are read just after the
//!   write, from a consistent cut of the other partitions: exact without
//!   concurrent writers, otherwise reflecting some interleaving. A retry
//!   that races the very first application of its op id may see
//!   partition-local ranks.
//! - Op ids are scoped to the member's partition: reusing one op id for a
//!   different member is a caller bug that is not detected across partitions.
//! - The op-id clock trusts the times it is told. A time far in the future
//!   ages every remembered id at once, and until real time catches up new
//!   ids all carry that time, so the memory fills and refuses instead of
//!   expiring; a replicated deployment must stamp times from clocks that
//!   agree to well within the horizon minus the clients' retry time. An
//!   embedded board told only the writes' `at` relies on the callers' clocks
//!   the same way.
//! - The byte bound is per partition, and what is counted is an estimate
//!   (the encoded outcome plus a fixed per-id overhead matching measured
//!   heap use), not the allocator's exact figure. Refusal and expiry
//!   counters restart when a partition is restored or its window dropped.
//! - Only two windows are kept; older ones are dropped on roll (snapshot
//!   before rolling if they must be archived). A write's `at` picks its
//!   window, so a retry goes to the window (and op-id memory) of its first
//!   attempt; once that window is dropped the retry fails with
//!   [`Error::WindowExpired`] instead of its first outcome.
//! - Deep `page(offset)` costs O(P² log n); use keyset cursors to scroll.
//! - The update and rank speed targets of the issue (1M updates/s, rank
//!   1 µs on one thread at 1M-10M members) are not reached on the 2-core
//!   test VM: a random update costs about five dependent cache misses
//!   (index line, record, the old and the new key's leaf, tied records)
//!   and ~25-30 cache lines (the shifted halves of two leaves), which
//!   bounds even the pipelined batch (~1.9 µs per write at 1M), and a
//!   rank is three dependent misses (~1.1-1.2 µs at 1M, `P = 1`, with
//!   huge pages). A cached top 100, around-member at `P = 1` and the
//!   memory goal are met. Numbers, Redis baseline and reasons:
//!   `docs/PERFORMANCE.md`.
//! - Huge pages only for buffers of 2 MiB or more, per partition: in a
//!   board of 1M members in 8 partitions only the first 2 MiB of each
//!   partition's records qualify (its leaves and index are smaller), so
//!   `P = 8` gains less than `P = 1`.
//! - Rank and around-member still cost more with larger `P` (one descent
//!   per partition, overlapped but not free); only `top` has a cache.
//! - The Redis backend (`RedisBoard`, feature `redis-cluster`) has no
//!   time windows (use one board id per window), no snapshots (Redis
//!   persists itself), remembers op ids by TTL instead of count, and its
//!   board-wide reads are not a consistent cut across partitions; deep
//!   `page(offset)` reads `offset + limit` keys per partition. `clear`
//!   leaves the small `{lb:<board>}:shape` key behind.
//!
//! ## Features
//!
//! - `huge-pages` (default): the transparent huge pages above (Linux
//!   only; elsewhere nothing changes but the page layout). Set the
//!   environment variable `LEADERBOARD_HUGE_PAGES=0` to turn the advice
//!   off at run time (read once per process), e.g. to measure without.
//! - `redis-cluster`: `RedisBoard`, the same operations (async) with each
//!   partition kept in Redis Cluster under its own hash tag
//!   `{lb:<board>:<p>}`: a sorted set whose members are order keys (score,
//!   subscore and time encoded big-endian so byte order is rank order,
//!   exact over the whole `i64` range, which a `f64` zset score is not)
//!   plus a hash of the stored values. Writes are computed in Rust with
//!   the same rules as [`Board`] and committed by a compare-and-set Lua
//!   script on the partition's slot (retried on conflict; op ids stored in
//!   the same script); reads send one command per partition concurrently
//!   and merge. Tested against a real cluster (`REDIS_CLUSTER_NODES`).
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod board;
mod config;
mod error;
mod hash;
mod key;
pub mod merge;
mod partition;
mod registry;
mod snapshot;
mod types;
mod window;

pub use board::{Board, BoardLoader, PARALLEL_TOP_THRESHOLD, PartitionReadGuard, Standings};
pub use config::{
    BoardConfig, BoardConfigV1, DEFAULT_OP_ID_HORIZON_MS, DEFAULT_OP_ID_MAX_BYTES,
    DEFAULT_PARTITIONS, OpIdPolicy, ResetSchedule,
};
pub use error::{Error, Result};
pub use hash::{member_hash, partition_of, partition_of_hash};
pub use key::{Cursor, SortKey};
pub use partition::{MemoryUsage, OpIdStats, Partition};
pub use registry::Leaderboards;
pub use snapshot::SNAPSHOT_VERSION;
pub use types::{
    BoardId, Entry, Fanout, MAX_MEMBER_BYTES, OpId, Order, Page, RankStyle, RankedEntry,
    RemoveOutcome, Window, Write, WriteOp, WriteOutcome, validate_member,
};
pub use window::WindowSpan;
#[cfg(feature = "redis-cluster")]
mod redis_cluster;
#[cfg(feature = "redis-cluster")]
pub use redis_cluster::RedisBoard;

/// The README's code blocks, compiled and run as doc tests so the quick start stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
