//! # Live quiz sessions over WebSocket
//!
//! The quiz's author (or an admin) creates a session from a quiz
//! (`POST /v1/live/sessions`) and gets a 6-digit join code and a host secret;
//! everyone connects to `GET /v1/live/ws?code=..` and says who they are in
//! the first frame: players as guests (a nickname) or with their login token,
//! the host with the host secret (credentials never travel in URLs). The wire protocol
//! (every message, error code and close code) is in `docs/PROTOCOL.md`; its
//! types are `livequiz_sdk::live`, shared with the SDK's client.
//!
//! ## Layers
//!
//! ```text
//!   ws ──▶ handshake          (who the socket is: the first frame)
//!    │
//!    └──▶ route ──▶ service   (where the code's session runs: here, taken over, or bridged)
//!           │          │
//!           │          ├──▶ actor ──▶ engine   (the session: pure, its own crate)
//!           │          │      ├──▶ writer     (answers, batched into crate::store)
//!           │          │      ├──▶ checkpoint (failover state)
//!           │          │      └──▶ mirror     (scores on the shard cluster, written behind)
//!           └──────────┴──▶ mesh ◀── cluster  (the other gateways, behind a trait)
//! ```
//!
//! - [`engine`] (the `live-engine` crate): the pure session state machine
//!   (lobby -> question -> reveal -> ... -> finished), scoring, roster, join
//!   rules, and the ranks: each session owns a leaderboard-core board, the
//!   only copy of its scores, so a push (top list and every player's own
//!   rank) is a function of the session and the time. No tokio, no I/O: the
//!   time is a value ([`engine::Instant`], converted by [`clock`]) and it
//!   queues [`engine::Effect`]s. Its crate docs describe the state machine.
//! - [`actor`]: one task per session owns the engine, runs its timers (the
//!   question deadline is the server's clock), performs effects, and fans
//!   frames out to bounded per-connection queues (slow consumers are
//!   dropped, never waited on). The fan-out is paced: frames go through a
//!   backlog delivered 128 connections per actor turn, with a yield in
//!   between, while answer acks and error frames skip it - so an ack never
//!   waits behind a 10,000-socket push. Leaderboard pushes have their own
//!   lane, served alternately with questions/reveals (except that a push
//!   queued after a reveal waits for it: it carries the points the reveal
//!   explains), and each actor turn takes every ready command (up to 512;
//!   all of them when a deadline may pass). The actor awaits nothing on an
//!   answer's way but the database commit.
//! - [`conn`]: what a connection is to everyone handling one (its
//!   [`conn::Role`], the session's [`conn::ConnTx`] on its queue, frames).
//! - [`route`]: [`LiveService::route`], the one place that decides where a
//!   join code's session runs; [`mesh`]: the two narrow traits between this
//!   gateway's sessions and the other gateways, so [`service`], [`ws`] and
//!   [`cluster`] never import one another.
//! - [`mirror`]: with `SHARD_NODES`, every score change is copied to the
//!   shard-node cluster behind the game (bounded queue, its own task, op
//!   ids, retries, dropped changes counted and resynced), for readers
//!   outside the session; nothing in a game waits for it.
//! - [`writer`]: accepted answers become durable through a batching
//!   writer on its own thread and runtime; the SQL is the store layer's
//!   ([`crate::store::live`]: `live_sessions`, `live_answers` unique on
//!   `(session, question, player)`, `live_standings`, checkpoints), which
//!   flushes on a native-driver pool (not `Any`) with a few fixed-size
//!   prepared multi-row INSERTs.
//! - [`ws`]: the connection task of an upgraded WebSocket; [`handshake`]:
//!   its first frame, which carries the credential. The HTTP endpoints
//!   (session creation, the upgrade, standings and records) are with the
//!   other routes in `crate::routes::live`. The WebSocket reader stamps each
//!   frame as it arrives: an answer is judged by when the gateway received
//!   it, not by when its session got to it.
//! - [`admission`]: what a stranger may cost the gateway. Per host
//!   account, a quota of unfinished sessions (counted in the database, so
//!   across gateways); per client address, join attempts
//!   (`JOIN_PER_IP_PER_MIN`, checked before the upgrade, unknown codes
//!   included); per session, a player cap; per gateway, a bound on live
//!   WebSockets (`LIVE_MAX_WS_CONNECTIONS`: 503 with `Retry-After` before
//!   the upgrade). Bounded join-code allocation (a clear 503 when none is
//!   free). The per-session rules - lock, bans,
//!   two-step join pattern, generated or filtered nicknames, lobby idle
//!   expiry and maximum lifetime - live in the engine
//!   ([`engine::guard`]), so they are pure, tested with explicit times,
//!   and checkpointed with the session (docs/SECURITY.md).
//! - [`cluster`]: several gateways, one session, as the [`mesh::Mesh`]
//!   over Redis Cluster. The creating gateway owns the session (a lease on
//!   `live:{<code>}:owner`) and any other gateway bridges its sockets for
//!   that code to the owner over sharded pub/sub; the owner's actor stays
//!   the single authority, so answer-once, deadlines and scoring are the
//!   same as on one gateway. On the embedded default nothing is bridged.
//!   [`relay`]: the owner's frames for bridged sockets and their compact
//!   envelope (frames carried raw, a shared frame once per gateway).
//! - [`checkpoint`] and [`engine::restore`]: failover. The owner keeps a
//!   checkpoint of each session (quiz, players, phase) in Redis Cluster,
//!   or in the database on a single gateway; when it dies (and its lease
//!   expires) or restarts, the first gateway a client reconnects to takes
//!   the session over, recomputing scores and streaks from the durable
//!   answers.
//! - [`lifecycle`]: how the module stops. Every task it starts (session
//!   actors, checkpoint writers, the mirror, the mesh's dispatcher, lease
//!   keepers and relays, WebSocket connections) runs under one
//!   [`lifecycle::Lifecycle`]: a stop token and a task tracker. On
//!   [`LiveService::shutdown`] (the gateway got SIGTERM) each session is
//!   handed over: the answers it accepted stored and acknowledged, its
//!   checkpoint written, its lease released, and only then its clients sent
//!   to reconnect at once (close 4010), so another gateway takes it over
//!   without waiting for the lease; then the remaining tasks end and the
//!   answer writer flushes and stops.
//!
//! Every size, interval and timeout the live path tunes itself with (the
//! numbers below are their defaults) is a setting of
//! [`crate::config::LiveTuningConfig`], checked at start.
//!
//! ## Invariants
//!
//! - One answer per player per question: the engine refuses a second one
//!   (`already_answered`), and the table's primary key makes it final even
//!   if a record were written twice.
//! - Nothing acknowledged is lost: an answer is accepted and scored
//!   (deadline, once), written to the database by the batch writer, and
//!   only then acknowledged (`answer_ack`). A database outage delays acks
//!   and the reveal (the reveal waits for accepted answers to become
//!   durable); it never drops an accepted answer.
//! - An answer received before its deadline is accepted whatever the
//!   server's delays: it is stamped when the gateway reads its frame (a
//!   bridged one carries the bridging gateway's stamp), the actor hands the
//!   engine every queued command before a deadline may pass, and a closing
//!   question takes answers received in time until it is revealed. A
//!   shard-node outage delays nothing in a game: the scores the game shows
//!   are the engine's, the cluster only mirrors them.
//! - Nobody but the host learns anything about correctness before the
//!   reveal: the points of the open question are held in the session,
//!   off the players' totals and the board, and applied all together when
//!   the question closes (deadline, all answered, skip, end). So the
//!   leaderboard changes at each reveal; during a question only joins and
//!   removals change it, and no `rank`, `leaderboard`, `answer_ack` or
//!   resume `welcome` depends on whether an answer is right. The reveal
//!   carries each player's result; the first push after it (never before
//!   it) the new scores. A restore holds the open question's points the
//!   same way.
//! - Leaderboard frames carry a per-session monotonic `version`; they are
//!   coalesced to at most one push per 250 ms per session. Every push gives
//!   every player whose rank or score changed their new rank (the top list,
//!   if theirs is out of date, right before it: both leave in one write),
//!   and every player count change, whatever the session's size. The actor
//!   builds the next push only once the last one's frames have left its
//!   paced backlog, so a session too large for 4 pushes a second gets fewer,
//!   current ones. The host gets every top-list change.
//! - Each connection task writes every frame already queued before one
//!   flush: at 10,000 sockets the CPU goes to `send` syscalls.
//! - The answer writer flushes one transaction per batch (one commit and
//!   fsync whatever the size, SQLite keeps `synchronous = FULL`), so under
//!   a burst batches grow rather than the queue. A flush is ~2-5 ms on
//!   SQLite; at 10,000 players the limit is the CPU spent writing and
//!   reading frames on 2 cores, not the database (see docs/PERFORMANCE.md).
//!
//! - A welcome means the player can resume after a crash: the player's
//!   record is in the checkpoint before the welcome is sent (like an ack,
//!   which means the answer is stored).
//! - A session taken over continues with exactly the durable state: every
//!   acknowledged answer counts once (an open question's points still held
//!   until it closes), an open question keeps its deadline, leaderboard
//!   versions keep increasing (see [`engine::restore`]).
//! - A stopping gateway lets nobody go before the next owner can take over
//!   with everything they were told: an answer it accepted is stored and
//!   acknowledged (or, after 5 s of database outage, never acknowledged),
//!   the checkpoint is written and the lease released before the first
//!   client is told to reconnect; a renewal of the lease never runs after
//!   its release. Once [`LiveService::shutdown`] returns, no task of the
//!   module runs ([`lifecycle::Lifecycle::running`] is 0) unless a step
//!   gave up after its bound.
//!
//! ## Deliberately not implemented (yet)
//!
//! - The session's timer and scores run in one gateway at a time, not in
//!   Redis: other gateways relay (see [`cluster`]); the relay is
//!   at-most-once pub/sub, so a frame lost in a Redis failover is only
//!   recovered by the client resuming.
//! - A crash loses what was only in the owner's memory: answers accepted
//!   but not yet stored (never acknowledged; the player may answer again)
//!   and frames in flight. Takeover needs a client to reconnect (the SDK
//!   does it by itself); a session nobody reconnects to stays parked in
//!   Redis until its checkpoint expires (a day). A graceful stop loses
//!   neither, but a frame a client sends while its session is being handed
//!   over is not taken (its answer gets no ack; the player answers again on
//!   the next owner), and a session created by a request in flight at that
//!   moment is handed over before anyone joins it.
//! - A stop during a database outage: a session waits 5 s for its accepted
//!   answers, then lets its clients go without their acks and releases its
//!   lease; if the writer still stores those answers before it gives up,
//!   the next owner (which read the answers when it took over) does not
//!   count them, though the database holds them.
//! - The shard-node mirror is eventually consistent: while the cluster is
//!   down its copy lags (changes are retried for a minute, then dropped and
//!   the session resynced once the queue has room), and a change in flight
//!   when the gateway dies is lost until the session's next takeover resets
//!   the mirror. Readers needing the exact live standings ask the session.

pub mod actor;
pub mod admission;
pub mod checkpoint;
pub mod clock;
pub mod cluster;
mod codes;
pub mod conn;
pub mod handshake;
pub mod lifecycle;
pub mod mesh;
pub mod mirror;
pub mod relay;
pub mod route;
pub mod service;
pub mod wiring;
pub mod writer;
pub mod ws;

/// The pure session engine (the `live-engine` crate): state machine,
/// scoring, roster, ranks, pushes.
pub use live_engine as engine;
pub use service::{Account, LiveService};
