//! What the pure session core asks its driver to do.

use livequiz_sdk::live::ServerMsg;

use crate::clock::Instant;

/// Who receives a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The host and every player.
    All,
    /// The host's connection(s).
    Host,
    /// Every player (not the host).
    Players,
    /// One player.
    Player(u64),
}

/// One score change, already applied to the session's own board; the
/// driver may copy it to a mirror (another board, elsewhere), where the op
/// key makes a retried copy count once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreWrite {
    /// Player id.
    pub player: u64,
    /// Points to add (0 registers a new player on the board).
    pub delta: i64,
    /// Idempotency key: `"<session>:<question>:<player>"` for answers,
    /// `"<session>:join:<player>"` for joins, so retries apply once.
    pub op_key: String,
    /// Server time (ms since the epoch) the score was reached.
    pub at: i64,
}

/// An accepted answer waiting for its durable write before it is
/// acknowledged. `correct` and `points` are for the database and the
/// close of the question, never for a frame before the reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAnswer {
    /// Session id.
    pub session_id: i64,
    /// Question index.
    pub question: u32,
    /// Question id in the bank.
    pub question_id: i64,
    /// Player id.
    pub player: u64,
    /// Chosen choices, normalised.
    pub choices: Vec<u32>,
    /// Whether it is correct.
    pub correct: bool,
    /// Points it earns.
    pub points: u32,
    /// ms after the question opened.
    pub elapsed_ms: u32,
    /// Server time (ms since the epoch) it was received.
    pub answered_at: i64,
    /// Client correlation id.
    pub req: Option<u64>,
    /// When the gateway received it (the time it was judged by, and the
    /// start of the driver's commit latency metric).
    pub accepted: Instant,
}

/// An instruction from the core.
// Most effects are `Send`s; boxing the message would add an allocation per
// frame to save space in a short-lived Vec.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a frame.
    Send(Target, ServerMsg),
    /// Send every player `shared`, except the players listed in `personal`,
    /// who get their own frame instead (a question opening with players who
    /// have extra time: each of them sees their own deadline). `shared` is
    /// serialised once.
    SendPlayers {
        /// The frame of every player not in `personal`.
        shared: ServerMsg,
        /// Players with a frame of their own, by player id.
        personal: Vec<(u64, ServerMsg)>,
    },
    /// Close the target's connections with a close code.
    Close(Target, u16),
    /// Score changes the session applied to its board (joins register a
    /// player with 0, a reveal adds the question's points): for a mirror.
    Score(Vec<ScoreWrite>),
    /// A removed player left the session's board: for a mirror.
    Unscore(u64),
    /// The session is over: take the final standings
    /// ([`Session::finished_frames`](crate::Session::finished_frames)), store
    /// them, and send them.
    Finished,
}
