//! # gateway: the quiz backend's REST (and live WebSocket) server
//!
//! An axum server in front of a SQL system of record, a token store, and a search index.
//!
//! ## Parts
//!
//! * [`config::Config`] - everything from environment variables; no variables at all gives the
//!   **embedded default**: SQLite in `DATA_DIR`, tantivy index in `DATA_DIR/index`, in-process
//!   token store. `DATABASE_URL`/`DATABASE_REPLICA_URL` (MySQL/MariaDB), `REDIS_CLUSTER_NODES`
//!   and `ELASTICSEARCH_URL` switch each part to its real service; behaviour is the same.
//! * [`db::Db`] - two `sqlx::AnyPool`s. **Writes and read-your-own-write reads** (get after
//!   create/edit, `/v1/me`, progress right after answering, everything inside a transaction) use
//!   `primary()`; **lag-tolerant reads** (lists, search hydration, reports, admin listings) use
//!   `replica()`. One query text serves both dialects (see `db` for the subset used).
//! * [`store`] - the data layer: every SQL statement, behind typed functions that return
//!   [`store::StoreError`] (not found, conflict, unavailable, ...), never an HTTP error; the
//!   live sessions' tables and checkpoints are [`store::live`]. Handlers and the live module
//!   call the store and map its errors ([`error::ApiError`] has the one mapping).
//! * [`auth`] - argon2id password hashes, opaque random bearer tokens whose SHA-256 is stored
//!   with an expiry (Redis Cluster `SET EX`, or an in-process map), and one token check,
//!   [`auth::Authenticator::resolve`], behind the [`auth::AuthUser`] extractor and the live
//!   WebSocket's join frame alike. Roles: player < author < admin.
//! * [`routes`] - one module and one `router()` per route group under `/v1` (the live
//!   endpoints included), plus `/healthz`, `/readyz`, `/metrics`. Each route is registered with
//!   its OpenAPI operation (`utoipa-axum`), so [`openapi`] (`/openapi.json`) is built from the
//!   same list as the router; `/docs` is a Swagger UI console over it, served from the binary.
//!   Request and response types are `livequiz_sdk::types`, shared with the client; the document states
//!   the rules the handlers enforce (lengths, ranges, counts, patterns, every status and content
//!   type), and `scripts/api-conformance` checks it against a running gateway.
//! * [`live`] - live quiz sessions over WebSocket: one actor per session around the pure
//!   session engine (the `live-engine` crate, which owns each session's ranks), answers stored
//!   before they are acknowledged, sessions shared and taken over across gateways through Redis
//!   Cluster, scores mirrored to the shard-node cluster when `SHARD_NODES` is set. Its module
//!   docs are the map.
//! * [`ranked`] - ratings (Weng-Lin) recorded exactly once per rated match, and the global
//!   leaderboards (rating, points per week, day and topic) on `leaderboard-core`, with every
//!   past period kept in the database; REST and a watch stream in [`routes::leaderboards`].
//! * [`search::SearchIndex`] - tantivy or Elasticsearch; kept in sync after each committed
//!   question change ([`reindex`]), rebuilt by `gateway reindex`.
//! * [`server`] - the accept loop: HTTP/1.1 with a header-read timeout, per-address and global
//!   connection caps (the global one derived from the descriptor limit), graceful shutdown.
//!   [`app::serve`] returns once the listener is closed, the requests in flight have finished
//!   and the live module has stopped: its sessions handed over to the other gateways (answers
//!   stored and acknowledged, checkpoint written, lease released, clients told to reconnect at
//!   once) and every one of its tasks ended ([`live::lifecycle`]).
//! * [`browser`] - CORS for `CORS_ALLOWED_ORIGINS` and the security headers of every response;
//!   [`uniform_errors`] - framework errors (405, extractor rejections) as problem+json.
//! * [`error::ApiError`] - the only handler error; `application/problem+json` with per-field
//!   messages; server-side detail is logged, never sent.
//!
//! ## Invariants
//!
//! * Multi-row writes (question + choices + tags, quiz + items, answer + selected choices) run
//!   in one transaction: an error leaves nothing half-written.
//! * Players never see `is_correct` or explanations through reads; only answering reveals them.
//! * Nothing panics on request input; a panicking handler is still caught and answered 500.
//!
//! ## Deliberately not done
//!
//! * The search index is updated after the database commit, not transactionally with it; a
//!   failed index write is logged and counted, and `gateway reindex` repairs it.
//! * Login and registration limits are kept per gateway process: behind N gateways an address gets N times the budget.
//! * Deleting a question deletes its practice answers (a question used by a quiz cannot be
//!   deleted at all: 409). Quiz deletion keeps the questions.
//! * Players learn `multiple_correct` (so a client can show checkboxes), not which choices.
//! * Topic filters compare `LOWER(topic)`: on SQLite that folds ASCII letters only, on MySQL all
//!   of Unicode; tags are lowercased in Rust on write, so tag filters behave the same on both.
//! * Paging is limit/offset with a `total`; no cursors.
//! * The Elasticsearch backend's request building and response parsing are unit-tested, but it
//!   has not run against a live Elasticsearch server (none is installable on the build machine).
#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod browser;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod ranked;
pub mod reindex;
pub mod routes;
pub mod search;
pub mod server;
pub mod state;
pub mod store;
pub mod testing;
pub mod uniform_errors;
pub mod web;
