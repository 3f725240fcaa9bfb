//! Records of finished and running live sessions: the host's list and the session report.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

/// One hosted live session (`GET /v1/live/sessions`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for s in client.list_live_sessions(&Default::default()).await?.items {
///     println!("{} {} {}", s.id, s.status, s.quiz_title);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveSessionSummary {
    /// Session id.
    pub id: i64,
    /// Join code (reused by later sessions once this one finished).
    pub code: String,
    /// The quiz played.
    pub quiz_id: i64,
    /// Its title (empty if the quiz was deleted since).
    pub quiz_title: String,
    /// `lobby`, `running` or `finished` as stored.
    pub status: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
    /// When it finished (Unix ms), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Players who joined.
    pub players: u64,
}

/// Paging of `GET /v1/live/sessions`.
///
/// ```
/// let f = livequiz_sdk::types::LiveSessionFilter { limit: Some(10), ..Default::default() };
/// assert_eq!(f.offset, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct LiveSessionFilter {
    /// Page size (1-100, default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 100),
        schema(minimum = 1, maximum = 100)
    )]
    pub limit: Option<u32>,
    /// Rows to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(maximum = 1_000_000),
        schema(maximum = 1_000_000)
    )]
    pub offset: Option<u64>,
}

/// How often one choice of a live question was selected.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let report = client.live_session_report(7).await?;
/// for c in &report.questions[0].choices {
///     println!("{} {} chose {}", c.index, c.selected, c.text);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveChoiceStats {
    /// 0-based position among the question's choices.
    pub index: u32,
    /// Choice text as stored now.
    pub text: String,
    /// Whether it is correct (readers of a report may read every key of the session).
    pub correct: bool,
    /// Answers that selected it.
    pub selected: u64,
}

/// Statistics of one question of a live session.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for q in client.live_session_report(7).await?.questions {
///     println!("{} answers, {:.0} ms on average", q.answers, q.mean_time_ms);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveQuestionStats {
    /// 0-based index in the session.
    pub index: u32,
    /// Question id.
    pub question_id: i64,
    /// Question text as stored now.
    pub text: String,
    /// Answers received.
    pub answers: u64,
    /// Correct answers.
    pub correct: u64,
    /// correct / answers (0 without answers).
    pub accuracy: f64,
    /// Mean time from the question's start to the answer (ms; 0 without answers).
    pub mean_time_ms: f64,
    /// Per choice, in display order.
    pub choices: Vec<LiveChoiceStats>,
}

/// Result of one player of a live session.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for p in client.live_session_report(7).await?.players {
///     println!("{} {:?}", p.nickname, p.account_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LivePlayerResult {
    /// Player id within the session.
    pub player_id: u64,
    /// Display name.
    pub nickname: String,
    /// The player's account, if they were logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    /// Final score.
    pub score: i64,
    /// Final rank (equal scores share a rank).
    pub rank: u64,
    /// Questions answered.
    pub answered: u64,
    /// Correct answers.
    pub correct: u64,
}

/// `GET /v1/live/sessions/{id}/report`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::LiveSessionReport = client.live_session_report(7).await?;
/// println!("{}: {} players", r.session.quiz_title, r.players.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveSessionReport {
    /// The session.
    pub session: LiveSessionSummary,
    /// Per question, in session order.
    pub questions: Vec<LiveQuestionStats>,
    /// Per player, best rank first (empty until the session finished).
    pub players: Vec<LivePlayerResult>,
}

/// Live games of one account (`live` part of `GET /v1/me/progress`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let p = client.progress().await?;
/// println!("{:?}", p);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveProgress {
    /// Finished sessions the account played in.
    pub sessions: u64,
    /// Answers given in live sessions.
    pub answered: u64,
    /// Correct ones.
    pub correct: u64,
    /// correct / answered (0 when nothing answered).
    pub accuracy: f64,
}
