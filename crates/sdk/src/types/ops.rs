//! Errors (problem+json) and operational endpoints.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

/// `problem+json` error body (RFC 9457) returned by every failing request.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// if let Err(e) = client.get_question(0).await {
///     if let Some(p) = e.problem() {
///         println!("{} {}: {}", p.status, p.title, p.detail);
///     }
/// }
/// # Ok(()) }
/// ```
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
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::QuizInput;
/// let bad = QuizInput { title: String::new(), description: String::new(), questions: vec![] };
/// if let Err(e) = client.create_quiz(&bad).await {
///     for f in e.problem().map(|p| p.errors.as_slice()).unwrap_or_default() {
///         println!("{}: {}", f.field, f.message);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FieldError {
    /// JSON path of the field, e.g. `choices[2].text`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Result of one readiness check.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for c in client.ready().await?.checks {
///     println!("{} {}", c.name, if c.ok { "ok" } else { "down" });
/// }
/// # Ok(()) }
/// ```
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
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::Readiness = client.ready().await?;
/// if !r.ready { eprintln!("not ready"); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Readiness {
    /// All checks passed.
    pub ready: bool,
    /// Individual checks.
    pub checks: Vec<Check>,
}

/// Body of `/healthz`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let h: livequiz_sdk::types::Health = client.health().await?;
/// assert_eq!(h.status, "ok");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Health {
    /// Always `"ok"`.
    pub status: String,
}
