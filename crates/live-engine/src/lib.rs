//! # live-engine: one live quiz session as a pure state machine
//!
//! A [`Session`] is everything that decides a live quiz: who may join, which
//! question is open and until when, which answers count and for how many
//! points, every player's rank, and what each connection is told. It does no
//! I/O and has no async runtime: the crate depends on neither tokio nor a
//! socket, file or clock API (the SDK without its `client` feature is only
//! the protocol types), so the compiler keeps it that way. Its driver (the
//! gateway's session actor) owns the sockets, the timers, the database and
//! the checkpoints.
//!
//! ## Inputs and outputs
//!
//! Every method takes the time as a value, an [`Instant`] of the driver's
//! monotonic clock, plus the wall clock once at creation (frames carry server
//! time in ms since the epoch, derived from it: [`Session::epoch`]).
//! Randomness (two-step join patterns, generated nicknames) comes from a
//! generator seeded by the driver. So a test drives a whole game, hours of it,
//! by passing instants, and the same inputs give the same outputs.
//!
//! Methods change the state and queue [`Effect`]s, which the driver takes
//! with [`Session::take_effects`] and performs in order: frames to send
//! ([`Target`]: everyone, the host, the players, one player), connections to
//! close, score changes to copy to a mirror, and the end of the session.
//!
//! ## The state machine
//!
//! ```text
//!            start                deadline, all answered,         reveal_ms
//!   Lobby ─────────▶ Question(i) ──── skip or end ────▶ Reveal(i) ─────────▶ Question(i+1)
//!     │                 │      (once every accepted answer          │  (or Finished after
//!     │ end, lobby idle │       is durable: see `commit`)           │   the last one, or
//!     ▼    or lifetime  ▼                                           ▼   after an end)
//!  Finished ◀───────────────────────────────────────────────────────┘
//! ```
//!
//! - **Lobby**: players join ([`Session::join_with`], checked by
//!   [`guard`]: cap, lock, bans, two-step pattern, nickname rules) and
//!   attach; the host may lock, remove, ban, give extra time.
//! - **Question**: [`Session::answer`] accepts one answer per player,
//!   judged by the time the gateway *received* it against the player's
//!   deadline (extra time stretches it), and scores it ([`scoring`]). An
//!   accepted answer is pending until the driver reports it durable
//!   ([`Session::commit`]); only then is it acknowledged and counted in the
//!   host's view. Its points are **held**: they reach the totals and the
//!   board all together when the question closes, so nothing a player sees
//!   before the reveal depends on whether an answer was right.
//! - **Closing**: at the deadline (or a skip, or when everyone answered) the
//!   question stops taking answers received from then on, but the reveal
//!   waits for the pending ones; answers received before the deadline that
//!   reach the session late are still accepted until the reveal.
//! - **Reveal**: every player's result and the correct choices; the points
//!   go on the board; after `reveal_ms` the next question opens.
//! - **Finished**: [`Effect::Finished`] asks the driver to store
//!   [`Session::finished_frames`] and send them.
//!
//! Timers are the driver's: it calls [`Session::tick`] at
//! [`Session::next_wakeup`] (deadlines, reveal ends, pattern rotation,
//! lifetime) and [`Session::push`] when [`Session::push_due`].
//!
//! ## Ranks
//!
//! The session owns its board ([`ranks`]: a `leaderboard_core` board, also
//! pure), the only copy of the scores. A push ([`push`]) is a function of the
//! session state and the time: the top list and each connected player's own
//! rank, read in one ordered scan, coalesced to at most one push per 250 ms
//! and versioned. Every player whose rank, score, percentile or player count
//! changed gets it in the next push, however large the session.
//!
//! ## Failover
//!
//! [`restore`]: a session is rebuilt from its checkpoints (meta, players,
//! phase) and its durable answers, which are the truth for scores: every
//! acknowledged answer counts once, an open question keeps its deadline and
//! its held points, versions keep increasing.
//!
//! ## What the driver must guarantee
//!
//! - Perform effects in order; never wait on a slow connection.
//! - Stamp each answer when its frame arrives and pass that stamp; hand the
//!   session every message already received before calling `tick` at a
//!   deadline, so an answer received in time is never refused because the
//!   driver was busy.
//! - Report answers durable (`commit`) only once stored; the reveal waits.
#![warn(missing_docs)]

pub mod clock;
pub mod effects;
pub mod guard;
#[cfg(test)]
mod guard_tests;
pub mod hostless;
#[cfg(test)]
mod hostless_tests;
pub mod nickname;
#[cfg(test)]
mod options_tests;
pub mod pattern;
pub mod push;
pub mod quiz;
pub mod ranks;
pub mod restore;
pub mod roster;
pub mod scoring;
pub mod session;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use clock::Instant;
pub use effects::{Effect, PendingAnswer, ScoreWrite, Target};
pub use guard::{JoinRules, Lifetime, DEFAULT_MAX_PLAYERS};
pub use hostless::{Ghost, GhostAnswer, Hostless};
pub use nickname::NicknameFilter;
pub use quiz::{LiveQuestion, LiveQuiz};
pub use ranks::Ranked;
pub use restore::{AnswerRecord, PhaseCheckpoint, PhaseRecord, PlayerRecord, SessionMeta};
pub use session::Session;
