//! Quick match: the matchmaking queue's WebSocket protocol
//! (`GET /v1/match/ws`, see `docs/PROTOCOL.md`) and, with the `client`
//! feature, [`MatchClient`].
//!
//! A logged-in player connects, asks for a match ([`MatchClientMsg::Queue`]:
//! a topic or any, a duel or a room of up to [`MAX_ROOM`] players), gets
//! [`MatchServerMsg::Queued`] with the estimated wait and the rating gap the
//! matchmaker allows right now (again every second while waiting), and
//! eventually [`MatchServerMsg::Matched`]: the join code of a live session
//! the server runs. The player joins it like any live session, with the same
//! login token ([`crate::live::Credentials::Account`]). Closing the socket
//! (or [`MatchClientMsg::Leave`]) leaves the queue. A duel player who
//! reaches the wait bound may be offered a recorded game of a similar-rated
//! player instead ([`MatchServerMsg::GhostOffer`], taken with
//! [`MatchClientMsg::AcceptGhost`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), livequiz_sdk::matchmaking::MatchError> {
//! use livequiz_sdk::matchmaking::{MatchClient, QueueRequest};
//! let mut queue = MatchClient::queue("http://127.0.0.1:8080", "login-token", QueueRequest::duel(None)).await?;
//! println!("about {} ms to wait", queue.status().estimated_wait_ms);
//! let matched = queue.wait().await?;
//! println!("play at join code {}", matched.code);
//! # Ok(()) }
//! ```

#[cfg(feature = "client")]
mod client;

#[cfg(feature = "client")]
pub use client::{match_ws_url, MatchClient, MatchError};

use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Largest room a player may ask for.
///
/// ```
/// assert_eq!(livequiz_sdk::matchmaking::MAX_ROOM, 8);
/// ```
pub const MAX_ROOM: u32 = 8;

/// What a player asks the queue for.
///
/// ```
/// use livequiz_sdk::matchmaking::QueueRequest;
/// let r = QueueRequest::room(Some("history".into()), 4);
/// assert_eq!(r.size, 4);
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRequest {
    /// The login token (as for REST requests).
    pub token: String,
    /// A topic of the question bank, or `null` for any.
    #[serde(default)]
    pub topic: Option<String>,
    /// Players in the match: 2 (a duel) up to [`MAX_ROOM`] (a room).
    #[serde(default = "duel_size")]
    pub size: u32,
}

fn duel_size() -> u32 {
    2
}

impl QueueRequest {
    /// A duel (token filled in by the client).
    pub fn duel(topic: Option<String>) -> Self {
        QueueRequest {
            token: String::new(),
            topic,
            size: 2,
        }
    }

    /// A room of `size` players (token filled in by the client).
    pub fn room(topic: Option<String>, size: u32) -> Self {
        QueueRequest {
            token: String::new(),
            topic,
            size,
        }
    }
}

/// A frame from the client.
///
/// ```
/// use livequiz_sdk::matchmaking::MatchClientMsg;
/// let m: MatchClientMsg = serde_json::from_str(r#"{"type":"leave"}"#).unwrap();
/// assert_eq!(m, MatchClientMsg::Leave);
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MatchClientMsg {
    /// The first frame: join the queue.
    Queue(QueueRequest),
    /// Leave the queue (answered with [`MatchServerMsg::Left`]), or
    /// decline a [`MatchServerMsg::GhostOffer`].
    Leave,
    /// Take the [`MatchServerMsg::GhostOffer`] just made: answered with
    /// [`MatchServerMsg::Matched`] for a duel against the recorded game.
    AcceptGhost,
}

/// A player of a formed match.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedPlayer {
    /// Account id.
    pub user_id: i64,
    /// Rating when queued.
    pub rating: f64,
}

/// The queue's state for one waiting player.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueStatus {
    /// Ticket id.
    pub ticket: String,
    /// The player's rating as the matchmaker uses it.
    pub rating: f64,
    /// Time already waited (ms).
    pub waited_ms: u64,
    /// Estimated total wait (ms), from recent matches of this size.
    pub estimated_wait_ms: u64,
    /// The largest rating difference accepted right now; `null` once any
    /// opponent is accepted.
    pub rating_gap: Option<f64>,
    /// When the wait ends without a match ([`MatchServerMsg::Timeout`]), ms
    /// after queueing.
    pub max_wait_ms: u64,
}

/// A formed match.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matched {
    /// The match id (ratings are recorded under it).
    pub match_id: String,
    /// Join code of the match's live session: join it with the login token.
    pub code: String,
    /// Topic of the questions, `null` for mixed.
    pub topic: Option<String>,
    /// Everyone in the match.
    pub players: Vec<MatchedPlayer>,
    /// Server time (ms) at which the match starts with whoever joined.
    pub start_by: i64,
    /// Time waited in the queue (ms).
    pub waited_ms: u64,
}

/// A recorded game offered in place of waiting.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GhostOffer {
    /// The recorded player's account id.
    pub user_id: i64,
    /// Their nickname in the recorded game.
    pub nickname: String,
    /// Their rating when they played it (the result is rated against it).
    pub rating: f64,
    /// Time waited in the queue (ms).
    pub waited_ms: u64,
    /// How long the offer stands (ms).
    pub expires_ms: u64,
}

/// Error codes of the queue socket.
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchErrorCode {
    /// The frame is not a queue message, or a field is out of range.
    BadMessage,
    /// The token is missing or invalid.
    Unauthorized,
    /// This account already waits in the queue (on another socket).
    AlreadyQueued,
    /// The server failed; try again.
    Internal,
}

/// A frame from the server.
///
/// ```
/// use livequiz_sdk::matchmaking::MatchServerMsg;
/// let m: MatchServerMsg = serde_json::from_str(r#"{"type":"left"}"#).unwrap();
/// assert_eq!(m, MatchServerMsg::Left);
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MatchServerMsg {
    /// In the queue (sent at once, then every second).
    Queued(QueueStatus),
    /// A match formed: join its session. The socket closes after it.
    Matched(Matched),
    /// Left the queue on request. The socket closes after it.
    Left,
    /// Nobody compatible turned up within `max_wait_ms`; the player is out
    /// of the queue (queue again, maybe for any topic). The socket closes.
    Timeout {
        /// Time waited (ms).
        waited_ms: u64,
    },
    /// The wait bound (or the server's `ghost_after`) passed in a duel
    /// queue: the player is out of the queue and may play a recorded duel
    /// of a similar-rated player (a ghost) instead. Answer
    /// [`MatchClientMsg::AcceptGhost`] (then [`MatchServerMsg::Matched`]
    /// follows) or [`MatchClientMsg::Leave`] (then [`MatchServerMsg::Left`]).
    /// Not answered within `expires_ms`, the offer lapses with
    /// [`MatchServerMsg::Timeout`]. Without a recorded game to offer, the
    /// wait ends with a plain [`MatchServerMsg::Timeout`].
    GhostOffer(GhostOffer),
    /// A refusal; the socket closes after it.
    Error {
        /// What went wrong.
        code: MatchErrorCode,
        /// In words.
        message: String,
    },
}
