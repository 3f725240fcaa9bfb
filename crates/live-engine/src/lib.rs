//! The pure session engine: state machine, scoring, roster, coalescing.
//! No I/O; driven by [`crate::live::actor`].

pub mod effects;
pub mod guard;
#[cfg(test)]
mod guard_tests;
pub mod nickname;
#[cfg(test)]
mod options_tests;
pub mod pattern;
pub mod push;
pub mod quiz;
pub mod restore;
pub mod roster;
pub mod scoring;
pub mod session;
#[cfg(test)]
mod tests;

pub use effects::{Effect, PendingAnswer, ScoreWrite, Target};
pub use guard::{JoinRules, Lifetime, DEFAULT_MAX_PLAYERS};
pub use nickname::NicknameFilter;
pub use push::BoardRank;
pub use quiz::{LiveQuestion, LiveQuiz};
pub use restore::{AnswerRecord, PhaseCheckpoint, PhaseRecord, PlayerRecord, SessionMeta};
pub use session::Session;
