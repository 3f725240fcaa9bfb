//! The live-quiz WebSocket protocol, version [`PROTOCOL_VERSION`].
//!
//! Every frame is one JSON text message tagged by `"type"`. These types are
//! shared by the gateway (which serialises [`ServerMsg`] and parses
//! [`ClientMsg`]) and the SDK's [`LiveClient`](super::LiveClient), so the two
//! cannot drift. `docs/PROTOCOL.md` documents every message with examples.

use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Protocol version sent in [`Welcome::protocol`]. Incremented on any
/// incompatible change; additive fields do not bump it (clients must ignore
/// unknown fields). Version 2: credentials moved from the URL to the first
/// frame ([`Hello`]), and [`QuestionView`] lost `question_id`.
///
/// ```
/// assert_eq!(livequiz_sdk::live::PROTOCOL_VERSION, 2);
/// ```
pub const PROTOCOL_VERSION: u32 = 2;

/// Largest client frame the gateway accepts, in bytes. Client messages are
/// tiny (an answer is ~60 bytes), so anything bigger is abuse.
///
/// ```
/// let answer = r#"{"type":"answer","question":0,"choices":[1]}"#;
/// assert!(answer.len() < livequiz_sdk::live::MAX_CLIENT_FRAME);
/// ```
pub const MAX_CLIENT_FRAME: usize = 4 * 1024;

/// Request body of `POST /v1/live/sessions` (authenticated host).
///
/// The join settings (`max_players`, `two_step`, `generated_nicknames`,
/// `nickname_filter`) are a host's defences against join-bot floods and
/// offensive nicknames; they are fixed for the session's life (and survive a
/// failover). `Default` gives quiz 0 with every setting at its default, for
/// `..Default::default()` in struct literals.
///
/// ```
/// use livequiz_sdk::live::{CreateSession, ScoringRules};
/// let req = CreateSession {
///     quiz_id: 3,
///     scoring: Some(ScoringRules { speed: false, ..ScoringRules::default() }),
///     max_players: Some(30),
///     two_step: true,
///     ..CreateSession::default()
/// };
/// assert!(serde_json::to_string(&req).unwrap().contains("\"two_step\":true"));
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The quiz to play.
    pub quiz_id: i64,
    /// Scoring rules; defaults to [`ScoringRules::default`].
    #[serde(default)]
    pub scoring: Option<ScoringRules>,
    /// Pause between a reveal and the next question, in ms (default 5000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 60_000))]
    pub reveal_ms: Option<u64>,
    /// Number of entries in the pushed top list (default 10, max 100).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub top_n: Option<u32>,
    /// Most players the session admits (default and maximum: the server's
    /// `LIVE_MAX_PLAYERS_PER_SESSION`); a join beyond it is refused with
    /// [`ErrorCode::SessionFull`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_players: Option<u32>,
    /// Two-step join: a join must carry the pattern the host is shown in
    /// [`ServerMsg::JoinPattern`] frames (it rotates), so a bot that only
    /// knows the join code cannot get in ([`ErrorCode::BadPattern`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub two_step: bool,
    /// The server gives every player a friendly random nickname (unique in
    /// the session) and ignores the requested one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated_nicknames: bool,
    /// Refuse nicknames containing offensive words (a built-in list plus
    /// the server's `LIVE_NICKNAME_BLOCKLIST`), also in leetspeak, with
    /// [`ErrorCode::BadNickname`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nickname_filter: bool,
    /// Whether players' devices show the question and choice texts
    /// (default true). With `false` (classic play: the texts are on the
    /// host's shared screen) players' [`QuestionView`]s carry empty texts
    /// and `hidden: true`, so a device shows only the choices' colours and
    /// shapes by index; the host still gets the full texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_question_on_devices: Option<bool>,
}

/// Lowest per-player extra time, in percent of a question's time limit
/// ([`ClientMsg::ExtraTime`]): 100 is none.
///
/// ```
/// use livequiz_sdk::live::{EXTRA_TIME_MAX_PERCENT, EXTRA_TIME_MIN_PERCENT};
/// assert!((EXTRA_TIME_MIN_PERCENT..=EXTRA_TIME_MAX_PERCENT).contains(&150));
/// ```
pub const EXTRA_TIME_MIN_PERCENT: u32 = 100;

/// Highest per-player extra time, in percent (300: three times the limit).
///
/// ```
/// assert_eq!(livequiz_sdk::live::EXTRA_TIME_MAX_PERCENT, 300);
/// ```
pub const EXTRA_TIME_MAX_PERCENT: u32 = 300;

/// Response of `POST /v1/live/sessions`.
///
/// ```no_run
/// # async fn demo(host: livequiz_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use livequiz_sdk::live::{CreateSession, Credentials, LiveClient};
/// let s = host.create_live_session(&CreateSession { quiz_id: 3, ..Default::default() }).await?;
/// let live = LiveClient::connect(host.base_url(), &s.code, Credentials::Host(s.host_token)).await?;
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
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
/// `T`, earns `max_points` when `t < full_points_ms` or when `speed` is off,
/// else `round(max_points * (1 - (t/T)/2))`; plus, when `streak` is on,
/// `streak_step * (s - 1)` capped at `streak_cap`, where `s` is the number of
/// consecutive correct answers ending with this one. `T` is the player's own
/// limit when the host gave them extra time ([`ClientMsg::ExtraTime`]).
///
/// Every field is optional in JSON (a missing one takes its default), so
/// `{"speed": false}` alone asks for accuracy-only scoring.
///
/// ```
/// use livequiz_sdk::live::ScoringRules;
/// let accuracy_only: ScoringRules = serde_json::from_str(r#"{"speed": false}"#).unwrap();
/// assert_eq!(accuracy_only, ScoringRules { speed: false, ..ScoringRules::default() });
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoringRules {
    /// Points for an instant correct answer (default 1000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub max_points: u32,
    /// Answers faster than this get full points (default 500 ms).
    #[cfg_attr(feature = "openapi", schema(maximum = 60_000))]
    pub full_points_ms: u32,
    /// Whether the streak bonus applies (default true).
    pub streak: bool,
    /// Bonus per consecutive correct answer after the first (default 100).
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000))]
    pub streak_step: u32,
    /// Maximum streak bonus per answer (default 500).
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000))]
    pub streak_cap: u32,
    /// Whether answer speed counts (default true). `false` is
    /// accuracy-only scoring: a correct answer earns `max_points` whenever
    /// it arrives (the streak bonus still follows `streak`).
    pub speed: bool,
}

impl Default for ScoringRules {
    fn default() -> Self {
        ScoringRules {
            max_points: 1000,
            full_points_ms: 500,
            streak: true,
            streak_step: 100,
            streak_cap: 500,
            speed: true,
        }
    }
}

/// Messages a client sends.
///
/// ```
/// use livequiz_sdk::live::ClientMsg;
/// let answer = ClientMsg::Answer { question: 2, choices: vec![1], req: None };
/// assert_eq!(serde_json::to_string(&answer).unwrap(), r#"{"type":"answer","question":2,"choices":[1]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
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
    /// Host: remove (kick) a player: they are disconnected and their resume
    /// token stops working; they may join again as a new player (an account
    /// too). To keep them out, use [`ClientMsg::Ban`].
    Remove {
        /// The player to remove.
        player_id: u64,
    },
    /// Host: remove a player and keep them out for the rest of the session:
    /// their account (if they joined with a login token) and their resume
    /// token are refused with [`ErrorCode::Banned`]. A guest is known only by
    /// the resume token, so a banned guest can still join again under another
    /// nickname from a new connection; [`ClientMsg::Lock`] and two-step join
    /// stop that.
    Ban {
        /// The player to ban.
        player_id: u64,
    },
    /// Host: refuse new players ([`ErrorCode::Locked`]); players already in
    /// the session can still resume. Answered with [`ServerMsg::JoinsLocked`].
    Lock,
    /// Host: admit new players again. Answered with [`ServerMsg::JoinsLocked`].
    Unlock,
    /// Host: give one player extra time (an accommodation). Their questions
    /// get a personal deadline `opened_at + time_limit_ms * percent / 100`,
    /// their answers are accepted until it, and their speed points count
    /// against their own limit. `percent` is
    /// [`EXTRA_TIME_MIN_PERCENT`]..=[`EXTRA_TIME_MAX_PERCENT`] (100 = none,
    /// 150 = x1.5, 200 = x2); anything else is refused with
    /// [`ErrorCode::BadExtraTime`]. Applies from the next question that
    /// opens (not to one already open). Confirmed to the host with a
    /// [`ServerMsg::Roster`] frame whose `event` is `extra_time`.
    ExtraTime {
        /// The player.
        player_id: u64,
        /// Their time limit in percent of the question's.
        percent: u32,
    },
    /// Liveness probe; answered with [`ServerMsg::Pong`].
    Ping,
}

// ---- Handshake: the client's first frame -----------------------------------

/// How long the gateway waits, after the WebSocket upgrade, for the client's
/// first frame ([`Hello`]) before it refuses the connection.
///
/// ```
/// assert_eq!(livequiz_sdk::live::HELLO_TIMEOUT_SECS, 10);
/// ```
pub const HELLO_TIMEOUT_SECS: u64 = 10;

/// The first frame a client sends on a new connection (and only then): who it
/// is. Credentials travel here, never in the URL: URLs are written to proxy
/// access logs, browser history and `Referer` headers, and a login token or a
/// host secret there outlives the game.
///
/// ```
/// # use livequiz_sdk::live::{Hello, JoinHello};
/// let guest: Hello = serde_json::from_str(r#"{"type":"join","nickname":"ann"}"#).unwrap();
/// assert_eq!(guest, Hello::Join(JoinHello { nickname: Some("ann".into()), ..JoinHello::default() }));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
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
///
/// ```
/// use livequiz_sdk::live::{Hello, JoinHello};
/// let join = Hello::Join(JoinHello { nickname: Some("ann".into()), pattern: Some("3514".into()), ..JoinHello::default() });
/// assert!(serde_json::to_string(&join).unwrap().contains("\"pattern\":\"3514\""));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinHello {
    /// A guest's nickname (1-32 characters; ignored with `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// A logged-in user's bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The join pattern the host's screen shows, in sessions with two-step
    /// join (see [`ServerMsg::JoinPattern`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
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
            .field("pattern", &self.pattern)
            .finish()
    }
}

/// What a client declares about itself in its first frame, next to the
/// credential: fields of the same JSON object as the [`Hello`], for a join
/// or a resume (a host's are ignored). Every field is optional and false
/// when absent, so a first frame without them, from an older client, means
/// what it always meant; gateways that predate a field ignore it (unknown
/// fields of the first frame are ignored). They hold for one connection: a
/// client that resumes declares them again.
///
/// ```
/// use livequiz_sdk::live::{Capabilities, Hello, HelloFrame, JoinHello};
/// let frame = HelloFrame {
///     hello: Hello::Join(JoinHello { nickname: Some("ann".into()), ..JoinHello::default() }),
///     capabilities: Capabilities { reads_reveal_standing: true, ..Capabilities::default() },
/// };
/// assert_eq!(
///     serde_json::to_string(&frame).unwrap(),
///     r#"{"type":"join","nickname":"ann","reads_reveal_standing":true}"#
/// );
/// // An older client's first frame declares nothing.
/// let old: Capabilities = serde_json::from_str(r#"{"type":"resume","resume_token":"r"}"#).unwrap();
/// assert_eq!(old, Capabilities::default());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// The client takes its standing after a question (rank, percentile,
    /// player count, score) from the `reveal` frame ([`PlayerResult`]), so
    /// the gateway leaves out the `rank` frame of the next push that would
    /// only repeat it (a 30,000-player session sends 30,000 fewer frames per
    /// question). A `rank` frame whose content changed after the reveal is
    /// still sent. Without it, that repeating frame is sent, for clients
    /// that read their rank from `rank` frames only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reads_reveal_standing: bool,
}

impl Capabilities {
    /// Whether nothing is declared (what an older client's first frame says).
    ///
    /// ```
    /// use livequiz_sdk::live::Capabilities;
    /// assert!(Capabilities::default().is_empty());
    /// assert!(!Capabilities { reads_reveal_standing: true }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        *self == Capabilities::default()
    }
}

/// A client's first frame as one JSON object: the credential ([`Hello`])
/// and this connection's [`Capabilities`] side by side.
///
/// ```
/// use livequiz_sdk::live::{Capabilities, Hello, HelloFrame};
/// let text = r#"{"type":"resume","resume_token":"r3s","reads_reveal_standing":true}"#;
/// let frame: HelloFrame = serde_json::from_str(text).unwrap();
/// assert_eq!(frame.hello, Hello::Resume { resume_token: "r3s".into() });
/// assert!(frame.capabilities.reads_reveal_standing);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloFrame {
    /// Who the client is.
    #[serde(flatten)]
    pub hello: Hello,
    /// What it declares for this connection.
    #[serde(flatten)]
    pub capabilities: Capabilities,
}

// ---- End of the handshake ---------------------------------------------------

/// Role of a connection.
///
/// ```
/// use livequiz_sdk::live::Role;
/// assert_eq!(serde_json::to_string(&Role::Host).unwrap(), "\"host\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Runs the session.
    Host,
    /// Plays.
    Player,
}

/// Phase of a session.
///
/// ```
/// use livequiz_sdk::live::Phase;
/// let p: Phase = serde_json::from_str("\"reveal\"").unwrap();
/// assert_eq!(p, Phase::Reveal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
///
/// ```
/// let c: livequiz_sdk::live::ChoiceView = serde_json::from_str(r#"{"index":1,"text":"Paris"}"#).unwrap();
/// assert_eq!(c.index, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceView {
    /// 0-based index used in [`ClientMsg::Answer::choices`].
    pub index: u32,
    /// Text of the choice.
    pub text: String,
}

/// A question as sent to players: no answer key, and no question-bank id either (with the
/// id a player could look the question up over REST while it is open).
///
/// ```
/// let q: livequiz_sdk::live::QuestionView = serde_json::from_str(
///     r#"{"index":0,"total":5,"text":"?","choices":[],"multiple":false,"opened_at":0,"deadline":20000,"time_limit_ms":20000}"#,
/// ).unwrap();
/// assert_eq!(q.deadline - q.opened_at, i64::from(q.time_limit_ms));
/// ```
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
    /// The time limit, in ms (a player with extra time: their own).
    pub time_limit_ms: u32,
    /// True when the session hides the texts on players' devices
    /// ([`CreateSession::show_question_on_devices`] false): `text` and every
    /// choice's `text` are empty, and a device shows the choices by index
    /// (colour and shape). Absent (false) otherwise and for the host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// A player with extra time: their percent of the question's limit
    /// (`deadline` and `time_limit_ms` are already theirs). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_time_percent: Option<u32>,
    /// Host only, when players with extra time are in the session: the
    /// latest personal deadline, i.e. the longest the question may stay
    /// open (it closes earlier once those players have answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_deadline: Option<i64>,
}

/// One player in the host's [`Welcome::roster`].
///
/// ```
/// let r: livequiz_sdk::live::RosterEntry = serde_json::from_str(
///     r#"{"player_id":3,"nickname":"ann","connected":true,"extra_time_percent":100}"#,
/// ).unwrap();
/// assert!(r.connected);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// The player.
    pub player_id: u64,
    /// Display name.
    pub nickname: String,
    /// Whether a connection is attached now (false: away, may resume).
    pub connected: bool,
    /// Their extra time in percent (100: none; see [`ClientMsg::ExtraTime`]).
    pub extra_time_percent: u32,
}

/// Live answer counts of the open question, as in
/// [`ServerMsg::AnswerCounts`] (in the host's [`Welcome::answer_counts`]).
///
/// ```
/// let a: livequiz_sdk::live::AnswerCountsView =
///     serde_json::from_str(r#"{"question":0,"answered":2,"players":3,"counts":[1,1]}"#).unwrap();
/// assert_eq!(a.counts.iter().sum::<u32>(), a.answered);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerCountsView {
    /// Question index.
    pub question: u32,
    /// Players who answered so far (durably recorded answers).
    pub answered: u32,
    /// Players in the session.
    pub players: u32,
    /// How many answers chose each choice, by choice index.
    pub counts: Vec<u32>,
}

/// A player's result for one question, in a [`ServerMsg::Reveal`].
///
/// It carries the player's standing after the question (`rank`, `percentile`,
/// `players`), so the new score reaches the player with the reveal; the
/// next push sends no [`ServerMsg::Rank`] that would only repeat it.
///
/// ```
/// let r: livequiz_sdk::live::PlayerResult = serde_json::from_str(
///     r#"{"answered":true,"correct":true,"points":950,"streak":2,"score":1950}"#,
/// ).unwrap();
/// assert!(r.correct);
/// ```
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
    /// Rank after this question (competition style, as in
    /// [`ServerMsg::Rank::rank`]); absent from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u64>,
    /// Percentile after this question (as in [`ServerMsg::Rank::percentile`]);
    /// absent from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<u32>,
    /// Players in the session at the reveal (as in
    /// [`ServerMsg::Rank::players`]); absent from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
}

/// One row of a leaderboard.
///
/// ```
/// let s: livequiz_sdk::live::Standing =
///     serde_json::from_str(r#"{"rank":1,"player_id":3,"nickname":"ann","score":1950}"#).unwrap();
/// assert_eq!(s.rank, 1);
/// ```
#[cfg_attr(feature = "openapi", derive(ToSchema))]
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
///
/// ```
/// let w: livequiz_sdk::live::Welcome = serde_json::from_str(
///     r#"{"protocol":2,"session_id":1,"code":"123456","role":"player","phase":"lobby","players":1,"server_time":0}"#,
/// ).unwrap();
/// assert_eq!(w.protocol, livequiz_sdk::live::PROTOCOL_VERSION);
/// ```
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
    /// Whether the host locked the session (new players are refused).
    #[serde(default)]
    pub locked: bool,
    /// Most players the session admits (its `max_players`), for a
    /// "joined X of N" display; 0 from servers that predate it.
    #[serde(default)]
    pub max_players: u32,
    /// Players only: their extra time in percent (100: none; see
    /// [`ClientMsg::ExtraTime`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_time_percent: Option<u32>,
    /// Host only: every player now in the session, by id (so a reloaded
    /// host page rebuilds its roster without waiting for events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster: Option<Vec<RosterEntry>>,
    /// Host only, while a question is open: its answer counts so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_counts: Option<AnswerCountsView>,
}

/// Why a session finished, in [`ServerMsg::Finished::reason`].
///
/// ```
/// use livequiz_sdk::live::FinishReason;
/// assert_eq!(serde_json::to_string(&FinishReason::Host).unwrap(), "\"host\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// The last question was revealed.
    Completed,
    /// The host sent [`ClientMsg::End`].
    Host,
    /// The lobby saw no host activity for the server's `LIVE_LOBBY_IDLE_SECS`.
    LobbyIdle,
    /// The session reached the server's maximum lifetime (`LIVE_MAX_SESSION_SECS`).
    MaxDuration,
}

impl FinishReason {
    /// The wire name (`"completed"`, `"host"`, `"lobby_idle"`, `"max_duration"`).
    ///
    /// ```
    /// use livequiz_sdk::live::FinishReason;
    /// assert_eq!(FinishReason::LobbyIdle.as_str(), "lobby_idle");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Completed => "completed",
            FinishReason::Host => "host",
            FinishReason::LobbyIdle => "lobby_idle",
            FinishReason::MaxDuration => "max_duration",
        }
    }
}

/// Messages the server sends.
///
/// ```
/// use livequiz_sdk::live::ServerMsg;
/// let msg: ServerMsg = serde_json::from_str(r#"{"type":"pong","server_time":5}"#).unwrap();
/// match msg {
///     ServerMsg::Pong { server_time } => assert_eq!(server_time, 5),
///     _ => unreachable!(), // new message types may be added in minor releases
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
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
        /// Same sequence as [`ServerMsg::Leaderboard::version`]: the
        /// standing in `result` is as of this version, so a `rank` or
        /// `leaderboard` frame with a lower version is older than the reveal
        /// and dropped, and the next push carries a higher one. 0 from
        /// servers that predate it.
        #[serde(default)]
        version: u64,
        /// Server time (ms since the Unix epoch) the question's points were
        /// applied (as in [`ServerMsg::Rank::changed_at`]). 0 from servers
        /// that predate it.
        #[serde(default)]
        changed_at: i64,
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
        /// Share of the other players this player is strictly ahead of
        /// (fewer points), in percent rounded down, 0-100: 100 when every
        /// other player has fewer points (or the player is alone), 0 when
        /// nobody has fewer. Players with equal scores get the same value.
        /// See [`percentile`]. 0 from servers that predate it.
        #[serde(default)]
        percentile: u32,
    },
    /// Host only: a player joined, rejoined or left, or their extra time
    /// changed.
    Roster {
        /// The player.
        player_id: u64,
        /// Their nickname.
        nickname: String,
        /// `joined`, `left` (connection lost, may resume), `removed`,
        /// `banned` or `extra_time` (the host's [`ClientMsg::ExtraTime`]
        /// took effect).
        event: String,
        /// Players in the session.
        players: u32,
        /// The player's extra time in percent (100: none); absent from
        /// servers that predate it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra_time_percent: Option<u32>,
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
        /// Why the session ended (absent from servers that predate it, and
        /// after a failover that happened at the very end).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<FinishReason>,
        /// The receiving player's final percentile (as in
        /// [`ServerMsg::Rank::percentile`]); absent for the host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percentile: Option<u32>,
    },
    /// Host only, in two-step sessions: the pattern players must enter to
    /// join (`pattern=` with the join), sent when the host connects and each
    /// time it rotates. The previous pattern stays valid for a grace period
    /// after `expires_at`.
    JoinPattern {
        /// The symbols to show (digits 1-6).
        pattern: String,
        /// Server time (ms since the Unix epoch) the next pattern replaces it.
        expires_at: i64,
    },
    /// Host only: the session's lock state changed (after
    /// [`ClientMsg::Lock`] / [`ClientMsg::Unlock`]).
    JoinsLocked {
        /// Whether new players are refused.
        locked: bool,
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
///
/// ```
/// use livequiz_sdk::live::ErrorCode;
/// let code: ErrorCode = serde_json::from_str("\"too_late\"").unwrap();
/// assert_eq!(code, ErrorCode::TooLate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// The session has as many players as it admits (`max_players`).
    SessionFull,
    /// The host locked the session: no new players (resumes still work).
    Locked,
    /// The host banned this account or resume token from the session.
    Banned,
    /// Two-step join: the pattern is missing, wrong or expired.
    BadPattern,
    /// [`ClientMsg::ExtraTime`]: the percent is outside
    /// [`EXTRA_TIME_MIN_PERCENT`]..=[`EXTRA_TIME_MAX_PERCENT`].
    BadExtraTime,
    /// The session is a quick match run by the server: only the accounts
    /// the matchmaker put in it may join (with their login token).
    NotInMatch,
}

impl ErrorCode {
    /// A human-readable explanation of the code, in English (the gateway sends it as the
    /// `message` of its error frames; a client may show its own text instead).
    ///
    /// ```
    /// use livequiz_sdk::live::ErrorCode;
    /// assert_eq!(ErrorCode::AlreadyAnswered.describe(), "you already answered this question");
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "the frame is not a valid protocol message",
            ErrorCode::TooLarge => "the frame is too large",
            ErrorCode::UnknownSession => "no live session has this code",
            ErrorCode::NicknameTaken => "this nickname is already used in the session",
            ErrorCode::BadNickname => "nicknames are 1-32 characters without control characters",
            ErrorCode::BadResumeToken => "the resume token is not valid for this session",
            ErrorCode::Unauthorized => "missing or invalid token",
            ErrorCode::NotHost => "only the host can do this",
            ErrorCode::NotPlayer => "only players can answer",
            ErrorCode::NotOpen => "that question is not open",
            ErrorCode::TooLate => "the deadline has passed",
            ErrorCode::AlreadyAnswered => "you already answered this question",
            ErrorCode::BadChoice => "choices must be distinct indices of this question's choices",
            ErrorCode::WrongPhase => "not possible in the session's current phase",
            ErrorCode::UnknownPlayer => "no such player in this session",
            ErrorCode::Finished => "the session has finished",
            ErrorCode::Internal => "internal error; try again",
            ErrorCode::SessionFull => "the session has as many players as it admits",
            ErrorCode::Locked => "the host locked the session: no new players",
            ErrorCode::Banned => "the host banned you from this session",
            ErrorCode::BadPattern => {
                "enter the join pattern shown on the host's screen (it changes every few seconds)"
            }
            ErrorCode::BadExtraTime => {
                "extra time is a percent of the time limit from 100 (none) to 300 (three times)"
            }
            ErrorCode::NotInMatch => {
                "this quick match is only for the players the matchmaker put in it"
            }
        }
    }
}

/// The percentile of a player with `score` among `scores` (every player's
/// score, the player's own included, sorted ascending): the share of the
/// others with strictly fewer points, in percent rounded down; 100 for a
/// player alone. This is [`ServerMsg::Rank::percentile`]; a UI can say
/// "ahead of P% of the other players". For a "top X%" label use the rank
/// instead: `X = ceil(100 * rank / players)` (rank 1 of 10 is the top 10%).
///
/// ```
/// assert_eq!(livequiz_sdk::live::percentile(&[0, 200, 200, 300], 300), 100);
/// ```
pub fn percentile(sorted_scores: &[i64], score: i64) -> u32 {
    let others = sorted_scores.len().saturating_sub(1) as u64;
    if others == 0 {
        return 100;
    }
    let behind = sorted_scores.partition_point(|&s| s < score) as u64;
    (behind.min(others) * 100 / others) as u32
}

/// WebSocket close codes the gateway uses (4000-4999 are application codes).
///
/// ```
/// use livequiz_sdk::live::{close, LiveEvent};
/// let ended = LiveEvent::Closed { code: Some(close::SESSION_FINISHED), reason: String::new() };
/// assert!(matches!(ended, LiveEvent::Closed { code: Some(4000), .. }));
/// ```
pub mod close {
    /// The session finished normally.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::SESSION_FINISHED >= 1000);
    /// ```
    pub const SESSION_FINISHED: u16 = 4000;
    /// The host removed (or banned) this player.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::REMOVED >= 1000);
    /// ```
    pub const REMOVED: u16 = 4001;
    /// Unknown join code.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::UNKNOWN_SESSION >= 1000);
    /// ```
    pub const UNKNOWN_SESSION: u16 = 4004;
    /// Join refused: bad or taken nickname, bad resume token, bad auth,
    /// session full or locked, banned, bad two-step pattern.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::JOIN_REFUSED >= 1000);
    /// ```
    pub const JOIN_REFUSED: u16 = 4003;
    /// The same player connected again elsewhere; this connection is stale.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::REPLACED >= 1000);
    /// ```
    pub const REPLACED: u16 = 4009;
    /// The client did not read its frames fast enough and was dropped.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::TOO_SLOW >= 1000);
    /// ```
    pub const TOO_SLOW: u16 = 4008;
    /// A transient refusal (a join or resume refused with `internal`), or
    /// the session stopped here because another gateway holds its lease
    /// now. Reconnect with the resume token, with the usual backoff.
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::GOING_AWAY >= 1000);
    /// ```
    pub const GOING_AWAY: u16 = 1001;
    /// The session can be reached again right now: its gateway is shutting
    /// down and has handed it over (the answers it accepted stored and
    /// acknowledged, its checkpoint written, its lease released), or a
    /// gateway bridging the socket saw the session's owner change or go.
    /// Reconnect at once (no backoff before the first attempt) with the
    /// resume token (host: the host token).
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::RECONNECT_NOW >= 1000);
    /// ```
    pub const RECONNECT_NOW: u16 = 4010;
    /// A frame was larger than [`super::MAX_CLIENT_FRAME`].
    ///
    /// ```
    /// assert!(livequiz_sdk::live::close::TOO_BIG >= 1000);
    /// ```
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
        let ban = serde_json::to_string(&ClientMsg::Ban { player_id: 3 }).unwrap();
        assert_eq!(ban, r#"{"type":"ban","player_id":3}"#);
        let lock: ClientMsg = serde_json::from_str(r#"{"type":"lock"}"#).unwrap();
        assert_eq!(lock, ClientMsg::Lock);
        let unlock: ClientMsg = serde_json::from_str(r#"{"type":"unlock"}"#).unwrap();
        assert_eq!(unlock, ClientMsg::Unlock);
    }

    #[test]
    fn join_settings_default_off_and_stay_off_the_wire() {
        let req: CreateSession = serde_json::from_str(r#"{"quiz_id":4}"#).unwrap();
        assert_eq!(
            req,
            CreateSession {
                quiz_id: 4,
                ..Default::default()
            }
        );
        let on: CreateSession = serde_json::from_str(
            r#"{"quiz_id":4,"max_players":50,"two_step":true,"generated_nicknames":true,"nickname_filter":true}"#,
        )
        .unwrap();
        assert_eq!(on.max_players, Some(50));
        assert!(on.two_step && on.generated_nicknames && on.nickname_filter);
        let json = serde_json::to_string(&req).unwrap();
        assert!(
            !json.contains("two_step") && !json.contains("max_players"),
            "{json}"
        );
    }

    #[test]
    fn new_frames_and_codes_are_stable_snake_case() {
        let codes = [
            (ErrorCode::SessionFull, "session_full"),
            (ErrorCode::Locked, "locked"),
            (ErrorCode::Banned, "banned"),
            (ErrorCode::BadPattern, "bad_pattern"),
        ];
        for (code, name) in codes {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{name}\""));
        }
        let p = ServerMsg::JoinPattern {
            pattern: "3514".into(),
            expires_at: 9,
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"type":"join_pattern","pattern":"3514","expires_at":9}"#
        );
        let l = ServerMsg::JoinsLocked { locked: true };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"type":"joins_locked","locked":true}"#
        );
        let f = ServerMsg::Finished {
            top: vec![],
            you: None,
            players: 0,
            reason: Some(FinishReason::LobbyIdle),
            percentile: None,
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"finished","top":[],"players":0,"reason":"lobby_idle"}"#
        );
    }

    #[test]
    fn hello_frames_have_the_documented_shapes_and_hide_secrets_in_debug() {
        let cases = [
            (
                r#"{"type":"join","nickname":"ann"}"#,
                Hello::Join(JoinHello {
                    nickname: Some("ann".into()),
                    ..JoinHello::default()
                }),
            ),
            (
                r#"{"type":"join","token":"t0k"}"#,
                Hello::Join(JoinHello {
                    token: Some("t0k".into()),
                    ..JoinHello::default()
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
            serde_json::from_str(r#"{"type":"join","nickname":"ann","later_field":[1,2]}"#)
                .unwrap();
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
    fn a_first_frame_declares_capabilities_next_to_the_credential() {
        let declared = Capabilities {
            reads_reveal_standing: true,
        };
        let cases = [
            (
                r#"{"type":"join","nickname":"ann","reads_reveal_standing":true}"#,
                Hello::Join(JoinHello {
                    nickname: Some("ann".into()),
                    ..JoinHello::default()
                }),
                declared,
            ),
            (
                r#"{"type":"resume","resume_token":"r3s","reads_reveal_standing":true}"#,
                Hello::Resume {
                    resume_token: "r3s".into(),
                },
                declared,
            ),
            // Nothing declared: exactly the frame of a client that predates capabilities.
            (
                r#"{"type":"join","token":"t0k"}"#,
                Hello::Join(JoinHello {
                    token: Some("t0k".into()),
                    ..JoinHello::default()
                }),
                Capabilities::default(),
            ),
            (
                r#"{"type":"host","host_token":"h0st"}"#,
                Hello::Host {
                    host_token: "h0st".into(),
                },
                Capabilities::default(),
            ),
        ];
        for (text, hello, capabilities) in cases {
            let frame = HelloFrame {
                hello: hello.clone(),
                capabilities,
            };
            assert_eq!(serde_json::to_string(&frame).unwrap(), text);
            assert_eq!(serde_json::from_str::<HelloFrame>(text).unwrap(), frame);
            // A server that reads the credential alone (an older gateway) still parses it,
            // and the capabilities read alone from the same text.
            assert_eq!(serde_json::from_str::<Hello>(text).unwrap(), hello);
            assert_eq!(
                serde_json::from_str::<Capabilities>(text).unwrap(),
                capabilities
            );
            let debug = format!("{frame:?}");
            for secret in ["t0k", "r3s", "h0st"] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
        // Old first frames, and later unknown fields, still parse (as nothing declared).
        for old in [
            r#"{"type":"join","nickname":"ann"}"#,
            r#"{"type":"resume","resume_token":"r"}"#,
            r#"{"type":"join","nickname":"ann","later_field":[1,2]}"#,
        ] {
            let frame: HelloFrame = serde_json::from_str(old).unwrap();
            assert!(frame.capabilities.is_empty(), "{old}");
            assert_eq!(frame.hello, serde_json::from_str::<Hello>(old).unwrap());
        }
        let false_: Capabilities =
            serde_json::from_str(r#"{"type":"join","reads_reveal_standing":false}"#).unwrap();
        assert!(false_.is_empty());
        // A capability is a boolean.
        assert!(serde_json::from_str::<Capabilities>(
            r#"{"type":"join","nickname":"ann","reads_reveal_standing":"yes"}"#
        )
        .is_err());
    }

    #[test]
    fn session_options_are_optional_and_scoring_fields_default_one_by_one() {
        let req: CreateSession = serde_json::from_str(
            r#"{"quiz_id":4,"scoring":{"speed":false},"show_question_on_devices":false}"#,
        )
        .unwrap();
        assert_eq!(
            req.scoring,
            Some(ScoringRules {
                speed: false,
                ..ScoringRules::default()
            })
        );
        assert_eq!(req.show_question_on_devices, Some(false));
        let full: ScoringRules = serde_json::from_str(
            r#"{"max_points":1000,"full_points_ms":500,"streak":true,"streak_step":100,"streak_cap":500}"#,
        )
        .unwrap();
        assert_eq!(full, ScoringRules::default(), "speed defaults to on");
        let plain = serde_json::to_string(&CreateSession::default()).unwrap();
        assert!(!plain.contains("show_question"), "{plain}");
        assert!(
            serde_json::from_str::<CreateSession>(r#"{"quiz_id":1,"show_question":false}"#)
                .is_err()
        );
    }

    #[test]
    fn extra_time_and_the_new_fields_have_stable_shapes() {
        let msg: ClientMsg =
            serde_json::from_str(r#"{"type":"extra_time","player_id":3,"percent":150}"#).unwrap();
        assert_eq!(
            msg,
            ClientMsg::ExtraTime {
                player_id: 3,
                percent: 150
            }
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::BadExtraTime).unwrap(),
            r#""bad_extra_time""#
        );
        let roster = ServerMsg::Roster {
            player_id: 3,
            nickname: "Ann".into(),
            event: "extra_time".into(),
            players: 2,
            extra_time_percent: Some(150),
        };
        assert_eq!(
            serde_json::to_string(&roster).unwrap(),
            r#"{"type":"roster","player_id":3,"nickname":"Ann","event":"extra_time","players":2,"extra_time_percent":150}"#
        );
        // Frames of older servers still parse.
        let old_rank: ServerMsg = serde_json::from_str(
            r#"{"type":"rank","version":1,"rank":1,"score":0,"players":1,"changed_at":0}"#,
        )
        .unwrap();
        assert!(matches!(old_rank, ServerMsg::Rank { percentile: 0, .. }));
        let old_question: QuestionView = serde_json::from_str(
            r#"{"index":0,"total":1,"text":"?","choices":[],"multiple":false,"opened_at":0,"deadline":1,"time_limit_ms":1}"#,
        )
        .unwrap();
        assert!(!old_question.hidden && old_question.extra_time_percent.is_none());
        let json = serde_json::to_string(&old_question).unwrap();
        assert!(
            !json.contains("hidden") && !json.contains("extra_time") && !json.contains("latest"),
            "{json}"
        );
        let old_welcome: Welcome = serde_json::from_str(
            r#"{"protocol":2,"session_id":1,"code":"123456","role":"host","phase":"lobby","players":0,"server_time":0}"#,
        )
        .unwrap();
        assert_eq!(old_welcome.max_players, 0);
        assert!(old_welcome.roster.is_none() && old_welcome.answer_counts.is_none());
    }

    #[test]
    fn reveals_carry_the_standing_and_old_ones_still_parse() {
        // A reveal of an older server: no standing, no version.
        let old: ServerMsg = serde_json::from_str(
            r#"{"type":"reveal","question":1,"correct":[0],"counts":[2,1],"result":{"answered":true,"correct":true,"points":950,"streak":2,"score":1950}}"#,
        )
        .unwrap();
        let ServerMsg::Reveal {
            result: Some(r),
            version,
            changed_at,
            ..
        } = &old
        else {
            panic!("{old:?}");
        };
        assert_eq!((r.rank, r.percentile, r.players), (None, None, None));
        assert_eq!((*version, *changed_at), (0, 0));
        // Written back, an absent standing stays absent.
        let json = serde_json::to_string(r).unwrap();
        assert_eq!(
            json,
            r#"{"answered":true,"correct":true,"points":950,"streak":2,"score":1950}"#
        );
        // A new reveal round-trips with every field.
        let new = ServerMsg::Reveal {
            question: 1,
            correct: vec![0],
            counts: vec![2, 1],
            result: Some(PlayerResult {
                answered: true,
                correct: true,
                points: 950,
                streak: 2,
                score: 1950,
                rank: Some(1),
                percentile: Some(100),
                players: Some(3),
            }),
            version: 7,
            changed_at: 1_700_000_000_000,
        };
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(
            json,
            r#"{"type":"reveal","question":1,"correct":[0],"counts":[2,1],"result":{"answered":true,"correct":true,"points":950,"streak":2,"score":1950,"rank":1,"percentile":100,"players":3},"version":7,"changed_at":1700000000000}"#
        );
        assert_eq!(serde_json::from_str::<ServerMsg>(&json).unwrap(), new);
        // The host's reveal has no result.
        let host: ServerMsg = serde_json::from_str(
            r#"{"type":"reveal","question":0,"correct":[1],"counts":[0,1],"version":3,"changed_at":5}"#,
        )
        .unwrap();
        assert!(matches!(
            host,
            ServerMsg::Reveal {
                result: None,
                version: 3,
                changed_at: 5,
                ..
            }
        ));
    }

    #[test]
    fn percentiles_count_the_others_strictly_behind() {
        let scores = [0, 200, 200, 300];
        assert_eq!(percentile(&scores, 300), 100);
        assert_eq!(percentile(&scores, 200), 33);
        assert_eq!(percentile(&scores, 0), 0);
        assert_eq!(percentile(&[5], 5), 100, "alone");
        assert_eq!(percentile(&[], 5), 100);
        assert_eq!(percentile(&[7, 7, 7], 7), 0, "all tied");
        assert_eq!(percentile(&[1, 2], 2), 100);
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
