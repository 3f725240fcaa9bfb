//! Request and response types of the gateway's REST API (`/v1`).
//!
//! The gateway serializes exactly these structs, so the client and the server can never disagree on
//! the wire format. With the `openapi` feature every type also derives `utoipa::ToSchema`, which is
//! how the gateway publishes them in `/openapi.json`.
//!
//! Conventions: ids are `i64`; timestamps are Unix milliseconds (`i64`); optional fields are
//! omitted from responses when absent.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// What a user may do. Players answer; authors also manage questions and quizzes; admins also
/// manage users' roles and see every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers questions.
    Player,
    /// Creates and edits questions and quizzes (their own).
    Author,
    /// Everything, including other users' content and roles.
    Admin,
}

impl Role {
    /// The lowercase name stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    /// Parses the lowercase name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "player" => Some(Role::Player),
            "author" => Some(Role::Author),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may create and edit questions and quizzes.
    pub fn can_author(self) -> bool {
        matches!(self, Role::Author | Role::Admin)
    }
}

/// Body of `POST /v1/auth/register`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterRequest {
    /// 3-32 characters: ASCII letters, digits, `_`, `-`, `.`; unique ignoring case.
    pub username: String,
    /// 8-128 characters.
    pub password: String,
}

/// Body of `POST /v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    /// The registered username (any case).
    pub username: String,
    /// The password.
    pub password: String,
}

/// A user account as the API shows it (never includes the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    /// User id.
    pub id: i64,
    /// Username as registered.
    pub username: String,
    /// Current role.
    pub role: Role,
    /// Registration time (Unix ms).
    pub created_at: i64,
}

/// Response of a successful login: an opaque bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The logged-in user.
    pub user: User,
}

/// Body of `PUT /v1/users/{id}/role` (admin only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SetRoleRequest {
    /// The new role.
    pub role: Role,
}

/// Paging parameters (`?limit=&offset=`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
pub struct PageParams {
    /// Page size, 1-100 (default 20).
    pub limit: Option<u32>,
    /// Items to skip (default 0).
    pub offset: Option<u64>,
}

/// One page of a list, with the total number of matching items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Number of items matching the filters (all pages).
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// A choice as sent by authors when creating or editing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChoiceInput {
    /// When editing a question with `PUT`: the id of an existing choice to keep (answers that
    /// selected it stay linked). Omit for a new choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// 1-500 characters.
    pub text: String,
    /// Whether selecting this choice is (part of) the right answer.
    pub correct: bool,
}

/// A choice as the API shows it. `correct` is present only for authors and admins.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuestionInput {
    /// 1-2000 characters.
    pub text: String,
    /// 1-100 characters.
    pub topic: String,
    /// Up to 10 tags of 1-32 characters; stored lowercased, duplicates removed.
    #[serde(default)]
    pub tags: Vec<String>,
    /// 1 (easiest) to 5 (hardest).
    pub difficulty: u8,
    /// Shown after answering; up to 4000 characters.
    #[serde(default)]
    pub explanation: String,
    /// 2-6 choices, at least one correct.
    pub choices: Vec<ChoiceInput>,
}

/// Body of `PATCH /v1/questions/{id}`: only the given fields change (choices have their own
/// sub-resource).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuestionPatch {
    /// New text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// New topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// New tags (replace all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New difficulty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    /// New explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// A question. Players see neither `explanation` nor which choices are correct (they learn both
/// by answering).
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
pub struct QuestionFilter {
    /// Exact topic, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Questions carrying this tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Difficulty 1-5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    /// Author's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<i64>,
    /// Page size, 1-100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// Parameters of `GET /v1/questions/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
pub struct SearchParams {
    /// Free text; typos are tolerated. Empty lists by filters only.
    #[serde(default)]
    pub q: String,
    /// Exact topic filter, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Comma-separated tags; every one must be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Page size, 1-100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Items to skip (at most 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SearchHit {
    /// Relevance (higher is better; 0 for filter-only listings).
    pub score: f32,
    /// The question.
    pub question: Question,
}

/// Response of `GET /v1/questions/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SearchResponse {
    /// Number of matches (all pages).
    pub total: u64,
    /// This page, best first.
    pub items: Vec<SearchHit>,
}

/// Body of `POST /v1/questions/{id}/answer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnswerRequest {
    /// The selected choices (1-6 distinct ids of this question).
    pub choice_ids: Vec<i64>,
    /// Milliseconds the player took (0-86400000), used by reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
    /// Answer within a quiz attempt (`POST /v1/quizzes/{id}/attempts`); each question once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<i64>,
}

/// Result of answering.
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
}

/// One question of a quiz as sent by authors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuizItemInput {
    /// An existing question.
    pub question_id: i64,
    /// Time to answer, 1000-600000 ms.
    pub time_limit_ms: u32,
}

/// Body of `POST /v1/quizzes` and `PUT /v1/quizzes/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct QuizInput {
    /// 1-200 characters.
    pub title: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    /// 1-100 distinct questions, in play order.
    pub questions: Vec<QuizItemInput>,
}

/// One question of a quiz.
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
pub struct QuizFilter {
    /// Author's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<i64>,
    /// Page size, 1-100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Items to skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// A started quiz attempt (`POST /v1/quizzes/{id}/attempts`).
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

/// Format selector of report endpoints (`?format=csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams))]
pub struct ReportParams {
    /// `json` (default) or `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// One recorded answer (user report).
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChoiceStats {
    /// Choice id.
    pub choice_id: i64,
    /// Choice text.
    pub text: String,
    /// Whether it is correct.
    pub correct: bool,
    /// Answers that selected it.
    pub selected: u64,
}

/// Statistics of one quiz question.
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

/// `problem+json` error body (RFC 9457) returned by every failing request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Per-field validation messages (empty for other problems).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FieldError {
    /// JSON path of the field, e.g. `choices[2].text`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Result of one readiness check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Check {
    /// Dependency name (`db_primary`, `db_replica`, `redis`, `search`).
    pub name: String,
    /// Whether it answered.
    pub ok: bool,
    /// The failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `/readyz` (status 200 when ready, 503 otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Readiness {
    /// All checks passed.
    pub ready: bool,
    /// Individual checks.
    pub checks: Vec<Check>,
}

/// Body of `/healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    /// Always `"ok"`.
    pub status: String,
}
