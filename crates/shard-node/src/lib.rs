//! # shard-node
//!
//! The replicated home of leaderboards: a cluster of shard nodes hosting **shard groups**, each
//! an [openraft](https://docs.rs/openraft) Raft group (normally 3 replicas) whose state machine
//! is a set of [`leaderboard_core`] boards. A node is a binary (`shard-node run`) and this
//! library, which also holds the [`client`] the gateway uses.
//!
//! ## Design
//!
//! ```text
//!  gateway ── ShardClient ──QUIC (mTLS, bincode frames)──▶ node 1 ┐
//!     │  partition→group map, leader cache,                node 2 ├ group 0 (Raft), group 1 ...
//!     │  per-group batcher, fan-out + merge                node 3 ┘
//!     ▼
//!  Redis Cluster ◀── SPUBLISH lb:{board}:changes ── each group's leader (best effort)
//! ```
//!
//! * **Partitioning.** A board has `P` partitions (its `BoardConfig::partitions`); a member
//!   lives in `leaderboard_core::partition_of(member, P)`; group `g` of `G` owns the partitions
//!   `p % G == g` of every board ([`layout`]). Each group keeps a full leaderboard-core board per
//!   board, holding only its own members ([`state_machine::app`]); every group holds every board
//!   (creation is committed in each group).
//! * **Writes** are [`command::Command`]s committed through the owner group's Raft log before
//!   they are acknowledged. The client's per-group batcher packs concurrent writes into one
//!   request ([`client::batcher`]), and the leader's proposer merges the requests that arrive
//!   while earlier entries are in flight into one entry ([`raft::proposer`]: openraft 0.9
//!   appends one entry per fsync), which is what makes tens of thousands of committed writes
//!   per second possible. Every write may carry an op id; leaderboard-core answers a repeat from
//!   memory, so retries across leader changes are harmless (see "Exactly once" below).
//! * **Reads** fan out to every group in parallel and merge with `leaderboard_core::merge`
//!   (rank = 1 + Σ entries above; top N and pages = k-way merge; see [`client::ops`]). They are
//!   linearizable by default (the leader confirms leadership with a heartbeat round —
//!   openraft's `ensure_linearizable`, a read index — and serves after applying up to it); with
//!   [`client::ReadOptions::follower`] any replica answers from what it has applied.
//! * **Storage** follows openraft's seams, one type per storage trait so each is tested alone:
//!   [`types`] (type config), [`log_store`] (segmented log, one crc32 record per entry, torn
//!   tail cut on open and any other damage refused, one fsync per append, atomic vote and
//!   purge files), [`state_machine`] (apply; snapshots as files of bounded checksummed records,
//!   built, sent, received and restored record by record and replaced atomically; restore on
//!   start; applying, snapshot work and large queries run on tokio's blocking pool so the async
//!   workers always serve heartbeats), [`raft::network`] (Raft RPCs over the node's QUIC
//!   endpoint), one [`router`] for every group of a node.
//! * **Transport** ([`transport`]): one quinn endpoint per process; each RPC is one
//!   bidirectional stream carrying one request and one response frame:
//!   `len: u32 | version: u16 | bincode body`, capped at [`transport::frame::MAX_FRAME`] (or a
//!   lower configured cap), checked before allocation. Write batches are kept small enough that
//!   every log entry fits one frame, and an AppendEntries too large for a frame is split
//!   (openraft's `PayloadTooLarge`), so a lagging follower always catches up. Both sides
//!   present certificates from one cluster CA (`shard-node certs`), verified by rustls; each
//!   certificate binds one role (node `<id>`, admin, client) that every request is authorized
//!   against ([`auth`]). Bad frames get a typed [`Error`] reply.
//! * **Change feed** ([`publish`]): the leader of each group publishes applied changes as JSON
//!   to Redis Cluster with `SPUBLISH lb:{<board>}:changes`, through a bounded queue that drops
//!   (and counts) instead of blocking the apply path.
//! * **Operations**: `/metrics` (Prometheus), `/healthz`, `/readyz` on a separate HTTP port
//!   ([`http`]); SIGTERM/ctrl-c shut down gracefully; membership via the admin RPCs
//!   (`shard-node admin add-node` = add learner, wait for catch-up, promote; `remove-node`);
//!   groups are initialized once from the `bootstrap` list ([`node`], "Bootstrap, once").
//!
//! ## Using the client
//!
//! ```no_run
//! use leaderboard_core::{BoardConfig, OpId, RankStyle, Write};
//! use shard_node::client::{ClientConfig, ReadOptions, ShardClient};
//! use shard_node::layout::Layout;
//!
//! # async fn demo() -> shard_node::Result<()> {
//! // SHARD_NODES format: ID=CERTNAME@HOST:PORT[/GROUP+GROUP], comma separated.
//! let nodes = ClientConfig::parse_nodes("1=n1@127.0.0.1:7101,2=n2@127.0.0.1:7102,3=n3@127.0.0.1:7103")?;
//! // `shard-node certs --out certs --nodes n1,n2,n3` also writes certs/client.{pem,key} (reads
//! // and writes) and certs/admin.{pem,key} (membership changes, snapshots).
//! let cfg = ClientConfig::from_certs_dir(nodes, Layout::new(1), "certs".as_ref(), "client")?;
//! let client = ShardClient::connect(cfg).await?; // or ClientConfig::from_env()
//!
//! client.create_board("quiz-42", BoardConfig::default()).await?; // idempotent
//! let w = Write::new("alice", 800, 1_700_000_000_000).op_id(OpId::hashed("s1/q1/alice"));
//! let outcome = client.write("quiz-42", w).await?; // committed by a majority
//! assert!(outcome.applied);
//! let top = client.top("quiz-42", 10).await?;
//! let me = client.entry("quiz-42", "alice").await?; // Option<RankedEntry>
//! let near = client.around("quiz-42", "alice", 2, 2).await?;
//! let rank = client.rank("quiz-42", "alice", RankStyle::Competition).await?;
//! let fast = client.count_with("quiz-42", ReadOptions::follower()).await?;
//! # let _ = (top, me, near, rank, fast);
//! # Ok(()) }
//! ```
//!
//! Errors are one enum, [`Error`]; [`Error::is_retryable`] says whether trying again may help
//! (the client already retried for `ClientConfig::retry_for`), and leaderboard-core's own errors
//! arrive as [`Error::Leaderboard`] with their classifiers (`is_not_found`, `is_conflict`,
//! `is_invalid_input`).
//!
//! ## Exactly once
//!
//! A write with an op id is applied at most once, and a repeat gets the first outcome back
//! (`applied: false`), as long as the repeat is committed within the board's op-id horizon
//! (`BoardConfig::op_ids.horizon_ms`, default 60 s) of the first. The client retries a write for
//! `ClientConfig::retry_for` (10 s) plus one RPC timeout (3 s), well inside it, across leader
//! changes and whether or not the first attempt committed.
//!
//! * **Time.** The node that proposes a batch stamps its own wall clock into it
//!   ([`command::Batch::proposed_at_ms`]) before it enters the log; applying the batch moves the
//!   op-id clock of the partitions it writes to that stamp (if later), so every replica forgets
//!   the same ids at the same entry. An id is forgotten once a later stamp is more than the
//!   horizon past the stamp it was remembered at. Clock skew between leaders shortens the
//!   effective horizon by the skew (a new leader whose clock is behind only keeps ids longer).
//! * **Bound.** Each partition's op-id memory is bounded in bytes (`op_ids.max_bytes`, default
//!   128 MiB). When a new id does not fit and nothing is old enough to forget, that write is
//!   refused with `leaderboard_core::Error::OpIdMemoryFull` (retryable; nothing applied) instead
//!   of forgetting an id that may still be retried; writes without op ids are never refused.
//! * **Outcome.** The replica that proposed a write remembers its outcome with board-wide
//!   ranks; the others remember partition-local ranks (the entries are the same). A repeat
//!   answered by a new leader after a failover carries those local ranks when the board has more
//!   than one partition.
//! * **Cost.** ~200 bytes of memory per remembered id with short member ids, i.e. about 600 MB
//!   per replica for 50,000 op-id writes/s kept 60 s, and some apply time (`docs/PERFORMANCE.md`,
//!   "op-id memory"). `/metrics` shows `shard_opid_entries`, `shard_opid_bytes`,
//!   `shard_opid_refused_total` and `shard_opid_expired_total` per group.
//!
//! ## Invariants
//!
//! * A write is acknowledged only after its entry is committed (durable on a majority, fsync by
//!   default) and applied by the leader; a new leader has every committed entry, so no
//!   acknowledged write is lost while a majority survives.
//! * Apply is deterministic: commands carry the caller's time, batches the proposing leader's
//!   time (for op-id memory); nodes never read a clock on the apply path. Board state is
//!   identical on every replica; only the node that proposed an entry computes write outcomes
//!   (board-wide ranks) for it, since only its client waits for them; the others take
//!   leaderboard-core's cheaper `Board::apply` path. A write whose caller wants no outcome
//!   ([`command::Command::Apply`], `ShardClient::apply`) takes that path on every replica. A group's snapshot is a file of checksummed
//!   records: the group and layout it belongs to, then each board as leaderboard-core's
//!   versioned chunk stream, op-id memory (every remembered id with its time, and the op-id
//!   clock) included, so a retry answered from memory before a snapshot install or a restart is
//!   answered the same after it. Restoring into another group or layout is refused.
//! * Nothing received from the network panics: frames are size-checked, version-checked and
//!   decoded with a bounded bincode configuration; query sizes are capped
//!   ([`state_machine::app::MAX_QUERY_ROWS`]).
//!
//! ## Deliberately not implemented
//!
//! * Changing the number of groups (re-partitioning) of a live cluster.
//! * Board-wide reads are not one atomic cut across groups: each group's answer is linearizable
//!   on its own; a write racing a fan-out read may be seen by one group's answer and not
//!   another's.
//! * Outcome ranks of a write (`WriteOutcome::old/new.rank`) are relative to the member's group
//!   when there is more than one group; `top_changed` is then "may have changed". Ask
//!   [`client::ShardClient::rank`] for the board-wide rank.
//! * Boards with a reset schedule roll per group on writes; call [`client::ShardClient::roll`]
//!   from a timer so every group rolls together.
//! * The change feed is best effort (at most once per leader, duplicates possible around a
//!   leader change): a hint to refresh, not a record.
//! * Certificate revocation: a leaked key stays valid until the CA is replaced (re-issue every
//!   certificate from a new CA and restart the cluster).
#![warn(missing_docs)]

pub mod auth;
pub mod certs;
pub mod client;
pub mod codec;
pub mod command;
pub mod config;
pub mod error;
pub mod http;
pub mod layout;
pub mod log_store;
pub mod metrics;
pub mod node;
pub mod protocol;
pub mod publish;
pub mod raft;
pub mod router;
pub mod state_machine;
pub mod testing;
pub mod transport;
pub mod types;

pub use error::{ClientError, Error, Result};
