//! `/v1/questions/{id}/choices`: the choices sub-resource (list, add, update, delete). Every
//! change keeps the invariants of a question: 2-6 choices, at least one correct.

use axum::extract::State;
use axum::http::StatusCode;
use livequiz_sdk::types::{Choice, ChoiceInput};

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath};
use crate::reindex::sync_question;
use crate::state::AppState;
use crate::store::questions::{self as store, MAX_CHOICE, MAX_CHOICES, MIN_CHOICES};
use crate::store::{begin, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(update, delete))
}

fn validate(c: &ChoiceInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    v.text("text", &c.text, 1, MAX_CHOICE);
    v.finish()
}

/// The choices of a question in display order (correct flags for its author and admins only).
#[utoipa::path(get, path = "/v1/questions/{id}/choices", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Choice>), (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<Vec<Choice>>, ApiError> {
    let q = store::load_one(state.db.primary(), id, store::KeyAccess::of(&user)).await?;
    Ok(ApiJson(q.choices))
}

/// Adds a choice at the end (author of the question or admin); 409 when it already has 6.
#[utoipa::path(post, path = "/v1/questions/{id}/choices", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ChoiceInput,
    responses((status = 201, body = Choice), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 409, body = livequiz_sdk::types::Problem),
              (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn add(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(c): ApiJson<ChoiceInput>,
) -> Result<(StatusCode, ApiJson<Choice>), ApiError> {
    user.require_author()?;
    validate(&c)?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    let existing = store::choice_keys(&mut tx, id).await?;
    if existing.len() >= MAX_CHOICES {
        return Err(ApiError::Conflict(format!(
            "question {id} already has {MAX_CHOICES} choices, the maximum"
        )));
    }
    if store::choice_texts(&mut tx, id, None)
        .await?
        .contains(&c.text.trim().to_lowercase())
    {
        return Err(ApiError::field(
            "text",
            "duplicates another choice of this question",
        ));
    }
    let cid = store::add_choice(&mut tx, id, &c).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    Ok((
        StatusCode::CREATED,
        ApiJson(Choice {
            id: cid,
            text: c.text.trim().to_string(),
            correct: Some(c.correct),
        }),
    ))
}

/// Changes a choice's text and correctness; 409 if that would leave no correct choice.
#[utoipa::path(put, path = "/v1/questions/{id}/choices/{choice_id}", tag = "questions",
    security(("bearer" = [])), params(("id" = i64, Path), ("choice_id" = i64, Path)),
    request_body = ChoiceInput,
    responses((status = 200, body = Choice), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 409, body = livequiz_sdk::types::Problem),
              (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, choice_id)): ApiPath<(i64, i64)>,
    ApiJson(c): ApiJson<ChoiceInput>,
) -> Result<ApiJson<Choice>, ApiError> {
    user.require_author()?;
    validate(&c)?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    let existing = store::choice_keys(&mut tx, id).await?;
    if !existing.iter().any(|(e, _)| *e == choice_id) {
        return Err(ApiError::NotFound(format!(
            "choice {choice_id} not found in question {id}"
        )));
    }
    if !c.correct && !existing.iter().any(|(e, ok)| *ok && *e != choice_id) {
        return Err(ApiError::Conflict(
            "this is the only correct choice; mark another one correct first".into(),
        ));
    }
    if store::choice_texts(&mut tx, id, Some(choice_id))
        .await?
        .contains(&c.text.trim().to_lowercase())
    {
        return Err(ApiError::field(
            "text",
            "duplicates another choice of this question",
        ));
    }
    store::update_choice(&mut tx, choice_id, &c).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    Ok(ApiJson(Choice {
        id: choice_id,
        text: c.text.trim().to_string(),
        correct: Some(c.correct),
    }))
}

/// Deletes a choice; 409 if that would leave fewer than 2 choices or no correct one.
#[utoipa::path(delete, path = "/v1/questions/{id}/choices/{choice_id}", tag = "questions",
    security(("bearer" = [])), params(("id" = i64, Path), ("choice_id" = i64, Path)),
    responses((status = 204), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 409, body = livequiz_sdk::types::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, choice_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    user.require_author()?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    let existing = store::choice_keys(&mut tx, id).await?;
    if !existing.iter().any(|(e, _)| *e == choice_id) {
        return Err(ApiError::NotFound(format!(
            "choice {choice_id} not found in question {id}"
        )));
    }
    if existing.len() <= MIN_CHOICES {
        return Err(ApiError::Conflict(format!(
            "a question needs at least {MIN_CHOICES} choices"
        )));
    }
    if !existing.iter().any(|(e, ok)| *ok && *e != choice_id) {
        return Err(ApiError::Conflict(
            "this is the only correct choice; mark another one correct first".into(),
        ));
    }
    store::delete_choice(&mut tx, choice_id).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    Ok(StatusCode::NO_CONTENT)
}
