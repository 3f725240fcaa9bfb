//! # Quick match: the queue, the matchmaker and server-run matches
//!
//! A logged-in player opens `GET /v1/match/ws` and asks for a match (a topic
//! or any; a duel or a room of up to 8; the protocol is
//! `livequiz_sdk::matchmaking` and `docs/PROTOCOL.md`). The matchmaker
//! groups players of similar rating, widening the accepted gap with the
//! wait ([`pool`]: the curve, the bound and what happens at it), creates a
//! live session run by the server for the group (no host:
//! [`crate::live::engine::hostless`]) and tells each player its join code.
//! The players join it like any live session, with their login token; the
//! session starts once all are connected (or at the end of a short
//! countdown), plays the drawn questions with the usual scoring,
//! answer-once, deadlines and reveals, and a player who drops resumes with
//! the welcome's resume token. When it finishes, the result goes to the
//! [`RatingBook`] once per match.
//!
//! ## Layers
//!
//! - [`pool`]: the matcher, pure: tickets and a time in, groups out.
//! - [`draw`]: the question picker, pure: candidate pools and the players'
//!   recently seen questions in, each match's questions out.
//! - [`store`]: the tables (`mm_queue`, `mm_lease`, `mm_matches`,
//!   `mm_seen`, `match_results`) on the primary database.
//! - [`service::Matchmaker`]: one per gateway. It holds the sockets of the
//!   players queued on this gateway, refreshes their tickets' heartbeat and
//!   delivers the matches the authority made for them. One gateway at a
//!   time is the queue's **authority** (a lease row in `mm_lease`, renewed
//!   every tick, taken over by another gateway once it expires when its
//!   holder dies): it removes tickets whose gateway stopped refreshing them,
//!   forms the groups, draws the questions, creates the sessions and records
//!   finished matches.
//! - [`ws`]: the queue socket of one player.
//!
//! ## Invariants
//!
//! - One ticket per account (the queue's primary key), and a ticket is
//!   claimed for a match by one conditional `UPDATE ... WHERE match_id IS
//!   NULL` per member. All the groups of a turn are claimed in one
//!   transaction; a group is all or nothing inside it (when a member's
//!   update finds the ticket gone or taken, the members claimed so far are
//!   put back in the same transaction and the group is skipped): no player
//!   is ever in two matches, even with two authorities for a moment (a
//!   lease that expired during a pause) or concurrent requests.
//! - Database work per turn, not per match: one transaction claims every
//!   group of the turn; then, 64 matches at a time, a few reads draw their
//!   questions (a candidate pool per topic, the players' seen questions,
//!   the picked questions), one transaction records their sessions' rows,
//!   one writes their checkpoints (in Redis Cluster: one pipeline per
//!   session, all in flight), and one stores the started
//!   matches (codes, questions seen). Each session's join code is still
//!   checked free on its own (a few at a time).
//!   Finished matches are recorded in batches (up to 100 per turn: one
//!   transaction for the ghosts kept, one in the rating book for all the
//!   results, one statement marking them recorded).
//! - A player who leaves or drops is out of the queue: the socket's task
//!   deletes the ticket; if the gateway died, the authority deletes tickets
//!   whose heartbeat is older than `stale_after` (default 5 s).
//! - A match result reaches [`RatingBook::record_matches`] once it is
//!   finished and stored; `mm_matches.recorded_at` is set after the book
//!   accepted it, so a crash in between repeats the call with the same
//!   `match_id` (the book's contract: exactly once per match id). A member
//!   who never joined, or was not connected at the end, is `abandoned`.
//!
//! ## Deployment
//!
//! The queue is in the database in both modes: SQLite on the embedded
//! single gateway (which is then always the authority), the shared MySQL
//! primary with several gateways. The authority polls the queue every tick
//! (default 200 ms), so the time to match is at least a tick, and a
//! gateway learns of its players' matches on its next tick.
//!
//! ## Ghost duels
//!
//! When a duel ticket has waited `ghost_after_ms` (default: the wait
//! bound), its socket asks [`Matchmaker::ghost_for`] for a recorded player
//! of similar rating (within the ticket's current gap and at most
//! `ghost_max_gap`, 400 by default, away). With one, the ticket leaves the queue and the player
//! is offered that ghost; if they accept, [`Matchmaker::start_ghost`]
//! creates a host-less session whose second seat replays the recorded
//! player (the same questions, their answers at their recorded times,
//! scored by the engine as any answer: [`crate::live::engine::hostless`]).
//! Without one, nothing changes: the player waits on and times out at the
//! bound. Recording: every finished duel keeps a row per player present at
//! the end in `mm_ghosts` (the questions and the player's seat); the
//! answers themselves are read back from `live_answers`. The result of a
//! ghost duel is recorded like any match (once, by the authority) with
//! [`MatchRecord::ghost`] set: only the live player's rating changes. The
//! recording travels in the session's meta, so a ghost duel taken over by
//! another gateway re-derives the ghost's points (see the engine's
//! `hostless` docs).
//!
//! ## Not implemented (yet)
//!
//! - The matched players' sessions are created on the authority's gateway;
//!   players on other gateways are bridged to it as for any session.
//! - The drawn questions are not marked "in play" for the practice mode
//!   and search (they are in no stored quiz).

pub mod book;
pub mod draw;
pub mod pool;
pub mod service;
pub mod store;
pub mod ws;

use futures_util::future::BoxFuture;

use crate::store::StoreError;

pub use book::{RankedBook, ResultsBook};
pub use service::{ManualClock, MatchClock, MatchSettings, Matchmaker, SystemClock};

/// One player of a finished match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MatchPlayer {
    /// Account.
    pub user_id: i64,
    /// 1 = best; players with the same points share a placement; members
    /// who never joined share the last one.
    pub placement: u32,
    /// Points scored.
    pub points: i64,
    /// Never joined, or not connected when the match ended.
    pub abandoned: bool,
}

/// A finished match, for the ratings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MatchRecord {
    /// The match id (the key of exactly-once recording).
    pub match_id: String,
    /// The match's topic (`None`: mixed).
    pub topic: Option<String>,
    /// When it ended (ms since the epoch).
    pub ended_at_ms: i64,
    /// Every member.
    pub players: Vec<MatchPlayer>,
    /// A ghost duel: this member was replayed from a recorded game. The
    /// live player is rated against them; their own rating and points do
    /// not change (they did not play).
    #[serde(default)]
    pub ghost: Option<i64>,
}

/// What the matchmaker needs from the ratings.
pub trait RatingBook: Send + Sync + 'static {
    /// The display rating of each account, in the order asked.
    fn ratings(&self, user_ids: &[i64]) -> BoxFuture<'_, Result<Vec<f64>, StoreError>>;
    /// Records a finished match. Must take effect exactly once per
    /// `match_id`: the matchmaker calls it again after a crash between the
    /// call and its own bookkeeping.
    fn record_match(&self, rec: MatchRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Records several finished matches, each exactly once per `match_id`
    /// as [`RatingBook::record_match`]; the answer has one entry per record,
    /// in order (an `Err` entry is retried later). An outer `Err`: none of
    /// them was recorded. The default records them one by one; a book over
    /// a database overrides it to record them in one transaction (the
    /// authority sends every result of a turn at once).
    fn record_matches(
        &self,
        recs: Vec<MatchRecord>,
    ) -> BoxFuture<'_, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(recs.len());
            for rec in recs {
                out.push(self.record_match(rec).await);
            }
            Ok(out)
        })
    }
}
