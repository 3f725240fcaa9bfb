//! Practice answers and progress.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /v1/questions/{id}/answer`.
///
/// ```
/// let req = livequiz_sdk::types::AnswerRequest { choice_ids: vec![12, 14], time_ms: Some(3_500), ..Default::default() };
/// assert!(req.attempt_id.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The selected choices (1-6 distinct ids of this question).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 6))]
    pub choice_ids: Vec<i64>,
    /// Milliseconds the player took (0-86400000), used by reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 86_400_000))]
    pub time_ms: Option<u64>,
    /// Answer within a quiz attempt (`POST /v1/quizzes/{id}/attempts`); each question once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<i64>,
}

/// Result of answering.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::AnswerResult = client.answer(7, &[12]).await?;
/// println!("{} ({})", r.correct, r.explanation);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnswerResult {
    /// Id of the recorded answer.
    pub answer_id: i64,
    /// The question.
    pub question_id: i64,
    /// True when exactly the correct choices were selected.
    pub correct: bool,
    /// The correct choices.
    pub correct_choice_ids: Vec<i64>,
    /// The question's explanation.
    pub explanation: String,
}

/// Accuracy on one topic.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for t in client.progress().await?.topics {
///     println!("{}: {:.0}%", t.topic, 100.0 * t.accuracy);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TopicProgress {
    /// Topic.
    pub topic: String,
    /// Answers given.
    pub answered: u64,
    /// Correct answers.
    pub correct: u64,
    /// correct / answered (0 when nothing answered).
    pub accuracy: f64,
}

/// A user's progress (`GET /v1/me/progress`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let p: livequiz_sdk::types::Progress = client.progress().await?;
/// println!("streak {} (best {})", p.current_streak, p.best_streak);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Progress {
    /// The user.
    pub user_id: i64,
    /// Answers given.
    pub answered: u64,
    /// Correct answers.
    pub correct: u64,
    /// correct / answered (0 when nothing answered).
    pub accuracy: f64,
    /// Correct answers in a row, ending with the latest answer.
    pub current_streak: u64,
    /// Longest run of correct answers.
    pub best_streak: u64,
    /// Per topic, sorted by topic.
    pub topics: Vec<TopicProgress>,
    /// Live games (`GET /v1/me/progress` only; absent in user reports). Kept apart from the
    /// practice totals above: live answers are timed and scored differently, and mixing them
    /// would change what `accuracy` and the streaks mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<super::LiveProgress>,
}
