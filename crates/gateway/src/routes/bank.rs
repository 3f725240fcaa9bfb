//! `/v1/questions/import` and `/v1/questions/export`: the question bank in bulk.
//!
//! An import is all or nothing: every question is validated with the rules of
//! `POST /v1/questions` before anything is written, and a bad one anywhere fails the request
//! with every problem named (`questions[17].choices`, or `row 18` in CSV). A good batch is one
//! transaction of multi-row inserts followed by one search-index commit for all of it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use livequiz_sdk::types::{
    BankFormat, ExportParams, FieldError, ImportResult, QuestionBatch, QuestionInput,
};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{decode_json, ApiJson, ApiQuery};
use crate::routes::bank_csv;
use crate::search::QuestionDoc;
use crate::state::AppState;
use crate::store::{bank, questions};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import))
        .routes(routes!(export))
}

/// Whether the body is CSV (`text/csv`) or JSON (`application/json`), parameters allowed;
/// 415 for anything else, as on every JSON route.
fn is_csv(headers: &HeaderMap) -> Result<bool, ApiError> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("text/csv") => Ok(true),
        Some("application/json") => Ok(false),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the import as `Content-Type: application/json` or `text/csv`".into(),
        )),
    }
}

/// Validates every question; the cleaned tags of each, or every violation of every question
/// together with `errors` found before (fields prefixed `questions[i].` for JSON, `row N` for
/// CSV, where `rows[i]` is the row of question `i`).
fn validate_all(
    qs: &[QuestionInput],
    rows: Option<&[usize]>,
    mut errors: Vec<FieldError>,
) -> Result<Vec<Vec<String>>, ApiError> {
    let mut all_tags = Vec::with_capacity(qs.len());
    for (i, q) in qs.iter().enumerate() {
        match questions::validate(q) {
            Ok(tags) => all_tags.push(tags),
            Err(ApiError::Validation(fields)) => {
                for f in fields {
                    errors.push(if let Some(rows) = rows {
                        FieldError {
                            field: format!("row {}", rows.get(i).copied().unwrap_or(i + 1)),
                            message: format!("{}: {}", f.field, f.message),
                        }
                    } else {
                        FieldError {
                            field: format!("questions[{i}].{}", f.field),
                            message: f.message,
                        }
                    });
                }
            }
            Err(other) => return Err(other),
        }
    }
    if errors.is_empty() {
        Ok(all_tags)
    } else {
        // Row numbers in order, whichever step found the problem (stable: a row's reading
        // problems stay before its validation problems).
        if rows.is_some() {
            errors.sort_by_key(|e| row_number(&e.field));
        }
        Err(ApiError::Validation(errors))
    }
}

/// The `N` of a `row N` field (0 for anything else, e.g. `header`).
fn row_number(field: &str) -> usize {
    field
        .strip_prefix("row ")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The schema of a JSON import: a [`QuestionBatch`] of at least one question (the type is
/// shared with the export, which may be empty).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documentation only: the body is decoded as a `QuestionBatch`.
struct QuestionImport {
    /// The questions, each validated like `POST /v1/questions`.
    #[schema(min_items = 1)]
    questions: Vec<QuestionInput>,
}

/// Imports questions (author/admin) from JSON (`{"questions":[...]}`) or CSV (`text/csv`),
/// all or nothing. The body may be up to `IMPORT_MAX_BYTES` and hold up to
/// `IMPORT_MAX_QUESTIONS` questions.
#[utoipa::path(post, path = "/v1/questions/import", tag = "questions", security(("bearer" = [])),
    request_body(content(
        (QuestionImport = "application/json"),
        (String = "text/csv")
    )),
    responses((status = 201, body = ImportResult), (status = 400, body = livequiz_sdk::types::Problem),
              (status = 401, body = livequiz_sdk::types::Problem), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 413, body = livequiz_sdk::types::Problem), (status = 415, body = livequiz_sdk::types::Problem),
              (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn import(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, ApiJson<ImportResult>), ApiError> {
    user.require_author()?;
    let csv = is_csv(&headers)?;
    let max_bytes = state.config.import_max_bytes;
    let bytes = axum::body::to_bytes(body, max_bytes).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!(
            "an import body may be at most {max_bytes} bytes (IMPORT_MAX_BYTES)"
        ))
    })?;
    let (qs, rows, errors) = if csv {
        let parsed = bank_csv::parse(&bytes).map_err(ApiError::Validation)?;
        let (rows, qs): (Vec<usize>, Vec<QuestionInput>) = parsed.questions.into_iter().unzip();
        (qs, Some(rows), parsed.errors)
    } else {
        let qs = decode_json::<QuestionBatch>(&bytes)?.questions;
        (qs, None, Vec::new())
    };
    let max_questions = state.config.import_max_questions;
    if qs.len() > max_questions {
        return Err(ApiError::PayloadTooLarge(format!(
            "an import may hold at most {max_questions} questions (got {}; IMPORT_MAX_QUESTIONS)",
            qs.len()
        )));
    }
    if qs.is_empty() && errors.is_empty() {
        return Err(ApiError::field(
            "questions",
            "must hold at least one question",
        ));
    }
    let tags = validate_all(&qs, rows.as_deref(), errors)?;
    let ids = bank::import(state.db.primary(), state.db.dialect(), user.id, &qs, &tags).await?;
    metrics::counter!("questions_created_total").increment(ids.len() as u64);
    let docs = qs
        .iter()
        .zip(&tags)
        .zip(&ids)
        .map(|((q, t), id)| QuestionDoc {
            id: *id,
            text: q.text.trim().into(),
            choices: q.choices.iter().map(|c| c.text.trim().into()).collect(),
            topic: q.topic.trim().into(),
            tags: t.clone(),
            difficulty: q.difficulty.to_string(),
            explanation: q.explanation.trim().into(),
        })
        .collect();
    crate::reindex::sync_batch(&state, docs).await;
    Ok((
        StatusCode::CREATED,
        ApiJson(ImportResult {
            imported: ids.len() as u64,
            ids,
        }),
    ))
}

/// Exports the caller's questions (all questions for admins), oldest first, with their
/// answer keys, as JSON in the import's shape or as CSV (`?format=csv`).
#[utoipa::path(get, path = "/v1/questions/export", tag = "questions", security(("bearer" = [])),
    params(ExportParams),
    responses((status = 200, description = "JSON, or CSV with `?format=csv`",
                content((QuestionBatch = "application/json"), (String = "text/csv"))),
              (status = 401, body = livequiz_sdk::types::Problem), (status = 403, body = livequiz_sdk::types::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    user.require_author()?;
    let author = (user.role != livequiz_sdk::types::Role::Admin).then_some(user.id);
    let questions = bank::export(state.db.replica(), author).await?;
    match p.format.unwrap_or_default() {
        BankFormat::Json => Ok(ApiJson(QuestionBatch { questions }).into_response()),
        BankFormat::Csv => {
            let bytes = bank_csv::write(&questions)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("csv export: {e}")))?;
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
        }
        other => Err(ApiError::BadRequest(format!(
            "export format {other:?} is not supported by this gateway"
        ))),
    }
}
