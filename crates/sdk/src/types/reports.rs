//! User and quiz reports.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

use super::{Progress, User};

/// Format selector of report endpoints (`?format=csv`).
///
/// ```
/// let p = livequiz_sdk::types::ReportParams::default();
/// assert!(serde_json::to_string(&p).is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
pub struct ReportParams {
    /// `json` (default) or `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<super::BankFormat>), schema(value_type = Option<super::BankFormat>))]
    pub format: Option<String>,
}

/// One recorded answer (user report).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for a in client.user_report(1).await?.answers {
///     println!("{:?}", a);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnswerRecord {
    /// Answer id.
    pub answer_id: i64,
    /// Question id.
    pub question_id: i64,
    /// The question's topic.
    pub topic: String,
    /// Quiz attempt, if answered within one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<i64>,
    /// Whether it was right.
    pub correct: bool,
    /// Reported answer time (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
    /// When (Unix ms).
    pub answered_at: i64,
}

/// Report on one user (`GET /v1/users/{id}/report`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::UserReport = client.user_report(1).await?;
/// println!("{}: {} attempts", r.user.username, r.attempts);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserReport {
    /// The user.
    pub user: User,
    /// Totals, per topic and streaks.
    pub progress: Progress,
    /// Quiz attempts started.
    pub attempts: u64,
    /// The latest answers (at most 1000), newest first.
    pub answers: Vec<AnswerRecord>,
}

/// How often a choice was selected.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for q in client.quiz_report(3).await?.questions {
///     for c in &q.choices {
///         println!("{:?}", c);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChoiceStats {
    /// Choice id.
    pub choice_id: i64,
    /// Choice text.
    pub text: String,
    /// Whether it is correct; absent for questions whose key the reader may not see (another
    /// author's question in the reader's quiz: its author and admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
    /// Answers that selected it.
    pub selected: u64,
}

/// Statistics of one quiz question.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for q in client.quiz_report(3).await?.questions {
///     println!("{:?}", q);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuestionStats {
    /// 0-based position in the quiz.
    pub position: u32,
    /// Question id.
    pub question_id: i64,
    /// Question text.
    pub text: String,
    /// Answers given in attempts of this quiz.
    pub answers: u64,
    /// Correct answers.
    pub correct: u64,
    /// correct / answers (0 when none).
    pub accuracy: f64,
    /// Mean reported answer time (ms) over answers that reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_time_ms: Option<f64>,
    /// Answer distribution over the choices.
    pub choices: Vec<ChoiceStats>,
}

/// Report on one quiz (`GET /v1/quizzes/{id}/report`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::QuizReport = client.quiz_report(3).await?;
/// println!("{}: {} attempts", r.title, r.attempts);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuizReport {
    /// Quiz id.
    pub quiz_id: i64,
    /// Title.
    pub title: String,
    /// Attempts started.
    pub attempts: u64,
    /// Distinct players who started an attempt.
    pub players: u64,
    /// Answers given.
    pub answers: u64,
    /// Correct answers.
    pub correct: u64,
    /// correct / answers.
    pub accuracy: f64,
    /// Per question, in quiz order.
    pub questions: Vec<QuestionStats>,
}
