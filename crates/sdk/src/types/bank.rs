//! Bulk import and export of the question bank.
//!
//! The JSON export has the shape of the import body, so what one gateway exports another (or
//! the same one) imports unchanged; the CSV layout is documented on [`CSV_HEADER`].

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use utoipa::{IntoParams, ToSchema};

use super::QuestionInput;

/// The header row of the CSV format (import and export), in column order.
///
/// One question per row: `tags` are `;`-separated, `difficulty` is 1-5, `choice_1` ..
/// `choice_6` are the choice texts (empty cells after the last choice), and `correct` lists the
/// numbers of the correct choices separated by `;` (e.g. `1;3`). Cells follow RFC 4180 quoting,
/// so texts may contain commas, quotes and line breaks. The header row is required, so a file
/// whose columns were reordered is refused instead of being read wrongly.
///
/// ```
/// assert_eq!(livequiz_sdk::types::CSV_HEADER.join(",").split(',').next(), Some("text"));
/// ```
pub const CSV_HEADER: [&str; 12] = [
    "text",
    "topic",
    "tags",
    "difficulty",
    "explanation",
    "choice_1",
    "choice_2",
    "choice_3",
    "choice_4",
    "choice_5",
    "choice_6",
    "correct",
];

/// Body of `POST /v1/questions/import` as JSON, and the JSON export of
/// `GET /v1/questions/export`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let batch: livequiz_sdk::types::QuestionBatch = client.export_questions().await?;
/// println!("{}", serde_json::to_string_pretty(&batch).unwrap());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuestionBatch {
    /// The questions, each validated like `POST /v1/questions`.
    pub questions: Vec<QuestionInput>,
}

/// Answer of a successful import: every question was stored.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r: livequiz_sdk::types::ImportResult = client.import_questions_csv("text,topic,...").await?;
/// assert_eq!(r.imported as usize, r.ids.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportResult {
    /// Number of questions stored.
    pub imported: u64,
    /// Their ids, in the order of the input.
    pub ids: Vec<i64>,
}

/// Wire format of an export.
///
/// ```
/// use livequiz_sdk::types::{BankFormat, ExportParams};
/// let p = ExportParams { format: Some(BankFormat::Csv) };
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"format":"csv"}"#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BankFormat {
    /// `{"questions":[...]}` (default).
    #[default]
    Json,
    /// The [`CSV_HEADER`] layout.
    Csv,
}

/// Query of `GET /v1/questions/export`.
///
/// ```
/// let p = livequiz_sdk::types::ExportParams::default();
/// assert!(p.format.is_none()); // JSON
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default) or `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<BankFormat>,
}
