//! The live-quiz WebSocket protocol, version [`PROTOCOL_VERSION`].
//!
//! Every frame is one JSON text message tagged by `"type"`. These types are
//! shared by the gateway (which serialises [`ServerMsg`] and parses
//! [`ClientMsg`]) and the SDK's [`LiveClient`](super::LiveClient), so the two
//! cannot drift. `docs/PROTOCOL.md` documents every message with examples.

use serde::{Deserialize, Serialize};

/// Protocol version sent in [`Welcome::protocol`]. Incremented on any
/// incompatible change; additive fields do not bump it (clients must ignore
/// unknown fields). Version 2: credentials moved from the URL to the first
/// frame ([`Hello`]), and [`QuestionView`] lost `question_id`.
pub const PROTOCOL_VERSION: u32 = 2;

/// Largest client frame the gateway accepts, in bytes. Client messages are
/// tiny (an answer is ~60 bytes), so anything bigger is abuse.
pub const MAX_CLIENT_FRAME: usize = 4 * 1024;

/// Request body of `POST /v1/live/sessions` (authenticated host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateSession {
    /// The quiz to play.
    pub quiz_id: i64,
    /// Scoring rules; defaults to [`ScoringRules::default`].
    #[serde(default)]
    pub scoring: Option<ScoringRules>,
    /// Pause between a reveal and the next question, in ms (default 5000).
    #[serde(default)]
    pub reveal_ms: Option<u64>,
    /// Number of entries in the pushed top list (default 10, max 100).
    #[serde(default)]
    pub top_n: Option<u32>,
}

/// Response of `POST /v1/live/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedSession {
    /// Database id of the session.
    pub session_id: i64,
    /// 6-digit join code, unique among live sessions.
    pub code: String,
    /// Secret that makes a WebSocket connection the host: its first frame is
    /// [`Hello::Host`] with this token.
    pub host_token: String,
}

/// Per-session scoring rules (the issue's formula, with its knobs).
///
/// A correct answer given `t` ms after the question opened, with time limit
/// `T`, earns `max_points` when `t < full_points_ms`, else
/// `round(max_points * (1 - (t/T)/2))`; plus, when `streak` is on,
/// `streak_step * (s - 1)` capped at `streak_cap`, where `s` is the number of
/// consecutive correct answers ending with this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringRules {
    /// Points for an instant correct answer (default 1000).
    pub max_points: u32,
    /// Answers faster than this get full points (default 500 ms).
    pub full_points_ms: u32,
    /// Whether the streak bonus applies (default true).
    pub streak: bool,
    /// Bonus per consecutive correct answer after the first (default 100).
    pub streak_step: u32,
    /// Maximum streak bonus per answer (default 500).
    pub streak_cap: u32,
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules {
            max_points: 1000,
            full_points_ms: 500,
            streak: true,
            streak_step: 100,
            streak_cap: 500,
        }
    }
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Answer the open question with the chosen choice indices (0-based;
    /// several for multiple-answer questions). Players only.
    Answer {
        /// Question index the answer is for (guards against late frames).
        question: u32,
        /// Chosen choice indices.
        choices: Vec<u32>,
        /// Optional client correlation id echoed in the ack or error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
    },
    /// Host: open the first question.
    Start,
    /// Host: close the open question now (reveal), or during a reveal go to
    /// the next question at once.
    Skip,
    /// Host: finish the session now with the current standings.
    End,
    /// Host: remove a player (they are disconnected and cannot rejoin).
    Remove {
        /// The player to remove.
        player_id: u64,
    },
    /// Liveness probe; answered with [`ServerMsg::Pong`].
    Ping,
}

// ---- Handshake: the client's first frame -----------------------------------

/// How long the gateway waits, after the WebSocket upgrade, for the client's
/// first frame ([`Hello`]) before it refuses the connection.
pub const HELLO_TIMEOUT_SECS: u64 = 10;

/// The first frame a client sends on a new connection (and only then): who it
/// is. Credentials travel here, never in the URL: URLs are written to proxy
/// access logs, browser history and `Referer` headers, and a login token or a
/// host secret there outlives the game.
///
/// ```
/// # use sdk::live::{Hello, JoinHello};
/// let guest: Hello = serde_json::from_str(r#"{"type":"join","nickname":"ann"}"#).unwrap();
/// assert_eq!(guest, Hello::Join(JoinHello { nickname: Some("ann".into()), ..JoinHello::default() }));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Hello {
    /// A new player: a guest with `nickname`, or an account with its login
    /// `token` (`{"type":"join","token":"..."}`; the nickname is then the
    /// username, and the same account rejoins as the same player).
    Join(JoinHello),
    /// A player coming back with the `resume_token` of an earlier welcome.
    Resume {
        /// [`Welcome::resume_token`].
        resume_token: String,
    },
    /// The host, with the secret from session creation.
    Host {
        /// [`CreatedSession::host_token`].
        host_token: String,
    },
}

/// Fields of [`Hello::Join`]. All optional, so that later versions can add
/// fields without breaking older servers (unknown fields are ignored).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinHello {
    /// A guest's nickname (1-32 characters; ignored with `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// A logged-in user's bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Secrets are never printed (a `Hello` in a log line would put them back in
/// a log file).
impl std::fmt::Debug for Hello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hello::Join(j) => f.debug_tuple("Join").field(j).finish(),
            Hello::Resume { .. } => f.write_str("Resume { resume_token: <secret> }"),
            Hello::Host { .. } => f.write_str("Host { host_token: <secret> }"),
        }
    }
}

impl std::fmt::Debug for JoinHello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHello")
            .field("nickname", &self.nickname)
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

// ---- End of the handshake ---------------------------------------------------

/// Role of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the session.
    Host,
    /// Plays.
    Player,
}

/// Phase of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the host to start; players may join.
    Lobby,
    /// A question is open for answers.
    Question,
    /// The last question's answer is shown.
    Reveal,
    /// Final standings are out; the session is over.
    Finished,
}

/// One choice as shown to players (never says whether it is correct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceView {
    /// 0-based index used in [`ClientMsg::Answer::choices`].
    pub index: u32,
    /// Text of the choice.
    pub text: String,
}

/// A question as sent to players: no answer key, and no question-bank id either (with the
/// id a player could look the question up over REST while it is open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionView {
    /// 0-based position in the quiz.
    pub index: u32,
    /// Number of questions in the quiz.
    pub total: u32,
    /// Question text.
    pub text: String,
    /// Choices in display order.
    pub choices: Vec<ChoiceView>,
    /// True when more than one choice is correct (all must be chosen).
    pub multiple: bool,
    /// Server time (ms since the Unix epoch) the question opened.
    pub opened_at: i64,
    /// Server time (ms since the Unix epoch) after which answers are refused.
    pub deadline: i64,
    /// The time limit, in ms.
    pub time_limit_ms: u32,
}

/// A player's result for one question, in a [`ServerMsg::Reveal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerResult {
    /// Whether the player answered at all.
    pub answered: bool,
    /// Whether the answer was correct.
    pub correct: bool,
    /// Points earned for this question (speed points + streak bonus).
    pub points: u32,
    /// Consecutive correct answers ending here (0 after a miss).
    pub streak: u32,
    /// Total score after this question.
    pub score: i64,
}

/// One row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Rank (competition style: equal scores share a rank).
    pub rank: u64,
    /// The player.
    pub player_id: u64,
    /// Display name.
    pub nickname: String,
    /// Total score.
    pub score: i64,
}

/// First frame on every connection: who you are and where the session is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// [`PROTOCOL_VERSION`] of the server.
    pub protocol: u32,
    /// Session id.
    pub session_id: i64,
    /// Join code.
    pub code: String,
    /// Host or player.
    pub role: Role,
    /// The player's id (players only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player_id: Option<u64>,
    /// The player's nickname (players only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Token to rejoin as the same player (the first frame [`Hello::Resume`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    /// Current phase.
    pub phase: Phase,
    /// The open question, when `phase` is `question` (for resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionView>,
    /// Whether this player already answered the open question.
    #[serde(default)]
    pub answered: bool,
    /// The player's current score.
    #[serde(default)]
    pub score: i64,
    /// Number of players in the session.
    pub players: u32,
    /// Server time now (ms since the Unix epoch), to estimate clock skew.
    pub server_time: i64,
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First frame of every connection.
    Welcome(Welcome),
    /// A question opened.
    Question(QuestionView),
    /// Answer durably recorded (sent only after the database write).
    AnswerAck {
        /// Question index.
        question: u32,
        /// Milliseconds after the question opened that the server received it.
        elapsed_ms: u32,
        /// Echo of the client's `req`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
    },
    /// Host only: live answer counts for the open question (coalesced).
    AnswerCounts {
        /// Question index.
        question: u32,
        /// Players who answered so far.
        answered: u32,
        /// Players in the session.
        players: u32,
        /// How many answers chose each choice, by choice index.
        counts: Vec<u32>,
    },
    /// The question closed: the correct choices and, for a player, their result.
    Reveal {
        /// Question index.
        question: u32,
        /// Correct choice indices.
        correct: Vec<u32>,
        /// How many answers chose each choice.
        counts: Vec<u32>,
        /// The receiving player's result (absent for the host).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<PlayerResult>,
    },
    /// Top N changed (broadcast, coalesced to at most 4 per second).
    Leaderboard {
        /// Monotonic per session; drop frames older than the last seen.
        version: u64,
        /// Best players first.
        top: Vec<Standing>,
        /// Number of players on the board.
        players: u32,
        /// Server time (ms since the Unix epoch) of the oldest change this
        /// frame carries.
        changed_at: i64,
        /// Server time (ms since the Unix epoch) the push was built: receipt
        /// time minus this is the delivery latency, without the coalescing
        /// wait that `changed_at` includes. 0 from servers that predate it.
        #[serde(default)]
        pushed_at: i64,
    },
    /// The receiving player's own rank or score changed (coalesced with
    /// the leaderboard, same version sequence).
    Rank {
        /// Same sequence as [`ServerMsg::Leaderboard::version`].
        version: u64,
        /// Rank (competition style).
        rank: u64,
        /// Total score.
        score: i64,
        /// Number of players on the board.
        players: u32,
        /// Server time of the oldest change this frame carries.
        changed_at: i64,
        /// Server time the push was built (see [`ServerMsg::Leaderboard`]).
        #[serde(default)]
        pushed_at: i64,
    },
    /// Host only: a player joined, rejoined or left.
    Roster {
        /// The player.
        player_id: u64,
        /// Their nickname.
        nickname: String,
        /// `joined`, `left` (connection lost, may resume) or `removed`.
        event: String,
        /// Players in the session.
        players: u32,
    },
    /// Final standings; the session is over and the socket closes with 4000.
    Finished {
        /// Top N final standings.
        top: Vec<Standing>,
        /// The receiving player's final standing (absent for the host).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        you: Option<Standing>,
        /// Number of players.
        players: u32,
    },
    /// A request failed; nothing changed.
    Error {
        /// Stable machine-readable code (see [`ErrorCode`]).
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Echo of the client's `req`, if the failing message had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
    },
    /// Reply to [`ClientMsg::Ping`].
    Pong {
        /// Server time (ms since the Unix epoch).
        server_time: i64,
    },
}

/// Error codes of [`ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or not a known message.
    BadMessage,
    /// The frame exceeds [`MAX_CLIENT_FRAME`].
    TooLarge,
    /// No live session has this code.
    UnknownSession,
    /// Another player in the session already uses this nickname.
    NicknameTaken,
    /// The nickname is empty, too long or has control characters.
    BadNickname,
    /// The resume token is unknown or belongs to a removed player.
    BadResumeToken,
    /// The token or host token is missing or invalid.
    Unauthorized,
    /// Only the host may do this.
    NotHost,
    /// Only players may do this.
    NotPlayer,
    /// No question is open, or the answer names another question.
    NotOpen,
    /// The deadline passed before the server received the answer.
    TooLate,
    /// This player already answered this question.
    AlreadyAnswered,
    /// A choice index is out of range, repeated or the list is empty.
    BadChoice,
    /// The command does not fit the current phase (e.g. start twice).
    WrongPhase,
    /// No such player.
    UnknownPlayer,
    /// The session has finished.
    Finished,
    /// The server failed; retry later.
    Internal,
}

/// WebSocket close codes the gateway uses (4000-4999 are application codes).
pub mod close {
    /// The session finished normally.
    pub const SESSION_FINISHED: u16 = 4000;
    /// The host removed this player.
    pub const REMOVED: u16 = 4001;
    /// Unknown join code.
    pub const UNKNOWN_SESSION: u16 = 4004;
    /// Join refused: bad or taken nickname, bad resume token, bad auth.
    pub const JOIN_REFUSED: u16 = 4003;
    /// The same player connected again elsewhere; this connection is stale.
    pub const REPLACED: u16 = 4009;
    /// The client did not read its frames fast enough and was dropped.
    pub const TOO_SLOW: u16 = 4008;
    /// Server is shutting down (reconnect with the resume token).
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was larger than [`super::MAX_CLIENT_FRAME`].
    pub const TOO_BIG: u16 = 1009;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_round_trip_with_snake_case_tags() {
        let answer: ClientMsg =
            serde_json::from_str(r#"{"type":"answer","question":2,"choices":[1],"req":7}"#)
                .unwrap();
        assert_eq!(
            answer,
            ClientMsg::Answer {
                question: 2,
                choices: vec![1],
                req: Some(7)
            }
        );
        let start: ClientMsg = serde_json::from_str(r#"{"type":"start"}"#).unwrap();
        assert_eq!(start, ClientMsg::Start);
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"launch"}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"answer","question":"x"}"#).is_err());
        let remove = serde_json::to_string(&ClientMsg::Remove { player_id: 3 }).unwrap();
        assert_eq!(remove, r#"{"type":"remove","player_id":3}"#);
    }

    #[test]
    fn hello_frames_have_the_documented_shapes_and_hide_secrets_in_debug() {
        let cases = [
            (
                r#"{"type":"join","nickname":"ann"}"#,
                Hello::Join(JoinHello {
                    nickname: Some("ann".into()),
                    token: None,
                }),
            ),
            (
                r#"{"type":"join","token":"t0k"}"#,
                Hello::Join(JoinHello {
                    nickname: None,
                    token: Some("t0k".into()),
                }),
            ),
            (
                r#"{"type":"resume","resume_token":"r3s"}"#,
                Hello::Resume {
                    resume_token: "r3s".into(),
                },
            ),
            (
                r#"{"type":"host","host_token":"h0st"}"#,
                Hello::Host {
                    host_token: "h0st".into(),
                },
            ),
        ];
        for (text, hello) in cases {
            assert_eq!(serde_json::from_str::<Hello>(text).unwrap(), hello);
            assert_eq!(serde_json::to_string(&hello).unwrap(), text);
            let debug = format!("{hello:?}");
            for secret in ["t0k", "r3s", "h0st"] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
        // Later fields of a join are ignored by this version.
        let more: Hello =
            serde_json::from_str(r#"{"type":"join","nickname":"ann","pattern":[1,2]}"#).unwrap();
        assert!(matches!(
            more,
            Hello::Join(JoinHello {
                nickname: Some(_),
                ..
            })
        ));
        // In-game messages are not hellos.
        assert!(serde_json::from_str::<Hello>(r#"{"type":"answer","question":0}"#).is_err());
        assert!(serde_json::from_str::<Hello>(r#"{"type":"host"}"#).is_err());
    }

    #[test]
    fn server_errors_serialise_with_stable_codes() {
        let msg = ServerMsg::Error {
            code: ErrorCode::AlreadyAnswered,
            message: "once".into(),
            req: None,
        };
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"type":"error","code":"already_answered","message":"once"}"#
        );
    }
}
