//! Questions, choices and search.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

/// A choice as sent by authors when creating or editing.
///
/// ```
/// let keep = livequiz_sdk::types::ChoiceInput { id: Some(31), text: "Paris".into(), correct: true };
/// assert_eq!(serde_json::to_value(&keep).unwrap()["id"], 31);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChoiceInput {
    /// When editing a question with `PUT`: the id of an existing choice to keep (answers that
    /// selected it stay linked). Omit for a new choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// 1-500 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 500))]
    pub text: String,
    /// Whether selecting this choice is (part of) the right answer.
    pub correct: bool,
}

/// A choice as the API shows it. `correct` is present only for authors and admins.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for c in client.list_choices(7).await? {
///     println!("{} {} {:?}", c.id, c.text, c.correct);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Choice {
    /// Choice id.
    pub id: i64,
    /// Choice text.
    pub text: String,
    /// Present for authors and admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

/// Body of `POST /v1/questions` and `PUT /v1/questions/{id}` (full replacement).
///
/// ```
/// use livequiz_sdk::types::{ChoiceInput, QuestionInput};
/// let q = QuestionInput {
///     text: "Capital of France?".into(),
///     topic: "Geography".into(),
///     tags: vec!["europe".into()],
///     difficulty: 1,
///     explanation: String::new(),
///     choices: vec![
///         ChoiceInput { id: None, text: "Paris".into(), correct: true },
///         ChoiceInput { id: None, text: "Lyon".into(), correct: false },
///     ],
/// };
/// assert_eq!(q.choices.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    /// 1-2000 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub text: String,
    /// 1-100 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub topic: String,
    /// Up to 10 tags of 1-32 characters; stored lowercased, duplicates removed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub tags: Vec<String>,
    /// 1 (easiest) to 5 (hardest).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub difficulty: u8,
    /// Shown after answering; up to 4000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub explanation: String,
    /// 2-6 choices, at least one correct.
    #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 6))]
    pub choices: Vec<ChoiceInput>,
}

/// Body of `PATCH /v1/questions/{id}`: only the given fields change (choices have their own
/// sub-resource).
///
/// ```
/// let p = livequiz_sdk::types::QuestionPatch { topic: Some("History".into()), ..Default::default() };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"topic":"History"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuestionPatch {
    /// New text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2000))]
    pub text: Option<String>,
    /// New topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub topic: Option<String>,
    /// New tags (replace all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub tags: Option<Vec<String>>,
    /// New difficulty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub difficulty: Option<u8>,
    /// New explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub explanation: Option<String>,
}

/// A question. Players see neither `explanation` nor which choices are correct (they learn both
/// by answering).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let q: livequiz_sdk::types::Question = client.get_question(7).await?;
/// println!("{} [{}] {} choices", q.text, q.topic, q.choices.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Question {
    /// Question id.
    pub id: i64,
    /// Author's user id.
    pub author_id: i64,
    /// Question text.
    pub text: String,
    /// Topic.
    pub topic: String,
    /// Tags (lowercase).
    pub tags: Vec<String>,
    /// 1-5.
    pub difficulty: u8,
    /// Whether more than one choice is correct (so the client shows checkboxes).
    pub multiple_correct: bool,
    /// Present for authors and admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Choices in display order.
    pub choices: Vec<Choice>,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Last change (Unix ms).
    pub updated_at: i64,
}

/// Filters of `GET /v1/questions`.
///
/// ```
/// let f = livequiz_sdk::types::QuestionFilter { tag: Some("basics".into()), difficulty: Some(1), ..Default::default() };
/// assert_eq!(f.limit, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
pub struct QuestionFilter {
    /// Exact topic, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Questions carrying this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Difficulty 1-5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 5),
        schema(minimum = 1, maximum = 5)
    )]
    pub difficulty: Option<u8>,
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

/// Parameters of `GET /v1/questions/search`.
///
/// ```
/// let p = livequiz_sdk::types::SearchParams { q: "consensus".into(), tags: Some("raft,distributed".into()), ..Default::default() };
/// assert_eq!(p.offset, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
pub struct SearchParams {
    /// Free text; typos are tolerated. Empty lists by filters only.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(max_length = 512), schema(max_length = 512))]
    pub q: String,
    /// Exact topic filter, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Comma-separated tags; every one must be present (at most 10 entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(pattern = "^[^,]*(,[^,]*){0,9}$"),
        schema(pattern = "^[^,]*(,[^,]*){0,9}$")
    )]
    pub tags: Option<String>,
    /// Page size, 1-100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 100),
        schema(minimum = 1, maximum = 100)
    )]
    pub limit: Option<u32>,
    /// Items to skip (at most 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 10_000), schema(maximum = 10_000))]
    pub offset: Option<u64>,
}

/// One search result.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::SearchParams;
/// let best = client.search_questions(&SearchParams { q: "rust".into(), ..Default::default() }).await?.items.into_iter().next();
/// if let Some(hit) = best { println!("{:.2} {}", hit.score, hit.question.text); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SearchHit {
    /// Relevance (higher is better; 0 for filter-only listings).
    pub score: f32,
    /// The question.
    pub question: Question,
}

/// Response of `GET /v1/questions/search`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::SearchParams;
/// let r = client.search_questions(&SearchParams { q: "rust".into(), ..Default::default() }).await?;
/// println!("{} matches", r.total);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SearchResponse {
    /// Number of matches (all pages).
    pub total: u64,
    /// This page, best first.
    pub items: Vec<SearchHit>,
}
