//! Quizzes and attempts.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

use super::Question;

/// One question of a quiz as sent by authors.
///
/// ```
/// let item = livequiz_sdk::types::QuizItemInput { question_id: 7, time_limit_ms: 20_000 };
/// assert_eq!(item.time_limit_ms, 20_000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuizItemInput {
    /// An existing question.
    pub question_id: i64,
    /// Time to answer, 1000-600000 ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 1_000, maximum = 600_000))]
    pub time_limit_ms: u32,
}

/// Body of `POST /v1/quizzes` and `PUT /v1/quizzes/{id}`.
///
/// ```
/// use livequiz_sdk::types::{QuizInput, QuizItemInput};
/// let quiz = QuizInput {
///     title: "Warm-up".into(),
///     description: String::new(),
///     questions: vec![QuizItemInput { question_id: 7, time_limit_ms: 15_000 }],
/// };
/// assert_eq!(quiz.questions.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuizInput {
    /// 1-200 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    /// 1-100 distinct questions, in play order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub questions: Vec<QuizItemInput>,
}

/// One question of a quiz.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for item in client.get_quiz(3).await?.questions {
///     println!("{}. {} ({} ms)", item.position + 1, item.question.text, item.time_limit_ms);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuizItem {
    /// 0-based position.
    pub position: u32,
    /// Time to answer (ms).
    pub time_limit_ms: u32,
    /// The question (player view for players).
    pub question: Question,
}

/// A quiz with its questions.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let quiz: livequiz_sdk::types::Quiz = client.get_quiz(3).await?;
/// println!("{} by user {}", quiz.title, quiz.author_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Quiz {
    /// Quiz id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Questions in play order.
    pub questions: Vec<QuizItem>,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Last change (Unix ms).
    pub updated_at: i64,
}

/// A quiz in lists (without its questions).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for q in client.list_quizzes(&Default::default()).await?.items {
///     println!("{} {}", q.id, q.title);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuizSummary {
    /// Quiz id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Number of questions.
    pub question_count: u32,
    /// Creation time (Unix ms).
    pub created_at: i64,
}

/// Filters of `GET /v1/quizzes`.
///
/// ```
/// let f = livequiz_sdk::types::QuizFilter { author_id: Some(1), ..Default::default() };
/// assert_eq!(f.limit, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
pub struct QuizFilter {
    /// Author's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<i64>,
    /// Page size, 1-100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 100),
        schema(minimum = 1, maximum = 100)
    )]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(maximum = 1_000_000),
        schema(maximum = 1_000_000)
    )]
    pub offset: Option<u64>,
}

/// A started quiz attempt (`POST /v1/quizzes/{id}/attempts`).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let a: livequiz_sdk::types::Attempt = client.start_attempt(3).await?;
/// println!("attempt {} of quiz {}", a.id, a.quiz_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Attempt {
    /// Attempt id, passed as `attempt_id` when answering.
    pub id: i64,
    /// The quiz.
    pub quiz_id: i64,
    /// The player.
    pub user_id: i64,
    /// Start time (Unix ms).
    pub started_at: i64,
}
