//! `/v1/questions`: create, get, replace (PUT), patch, delete, list with filters.

use axum::extract::State;
use axum::http::StatusCode;
use livequiz_sdk::types::{Page, Question, QuestionFilter, QuestionInput, QuestionPatch};

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::reindex::{remove_question, sync_question};
use crate::routes::{page, paging};
use crate::state::AppState;
use crate::store::questions::{self as store, MAX_EXPLANATION, MAX_TEXT, MAX_TOPIC};
use crate::store::{begin, commit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, replace, patch, delete))
}

/// Creates a question with its choices (author/admin).
#[utoipa::path(post, path = "/v1/questions", tag = "questions", security(("bearer" = [])),
    request_body = QuestionInput,
    responses((status = 201, body = Question), (status = 401, body = livequiz_sdk::types::Problem),
              (status = 403, body = livequiz_sdk::types::Problem), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<QuestionInput>,
) -> Result<(StatusCode, ApiJson<Question>), ApiError> {
    user.require_author()?;
    let tags = store::validate(&input)?;
    let mut tx = begin(state.db.primary()).await?;
    let id = store::insert(&mut tx, user.id, &input, &tags).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    metrics::counter!("questions_created_total").increment(1);
    let q = store::load_one(state.db.primary(), id, store::KeyAccess::All).await?;
    Ok((StatusCode::CREATED, ApiJson(q)))
}

/// One question (from the primary, so an author sees their edit at once). Only its author and
/// admins see the correct flags and the explanation; anyone else may be a player of a live
/// game of it.
#[utoipa::path(get, path = "/v1/questions/{id}", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Question), (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<Question>, ApiError> {
    Ok(ApiJson(
        store::load_one(state.db.primary(), id, store::KeyAccess::of(&user)).await?,
    ))
}

/// Replaces a question (its author or an admin). Choices listed with an `id` are kept (and
/// updated), choices without one are added, the others are deleted - all in one transaction.
#[utoipa::path(put, path = "/v1/questions/{id}", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = QuestionInput,
    responses((status = 200, body = Question), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<QuestionInput>,
) -> Result<ApiJson<Question>, ApiError> {
    user.require_author()?;
    let tags = store::validate(&input)?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    let existing = store::choice_keys(&mut tx, id).await?;
    let mut v = Violations::new();
    for (i, c) in input.choices.iter().enumerate() {
        if let Some(cid) = c.id {
            if !existing.iter().any(|(e, _)| *e == cid) {
                v.add(
                    format!("choices[{i}].id"),
                    format!("choice {cid} does not belong to question {id}"),
                );
            }
        }
    }
    v.finish()?;
    store::replace(&mut tx, id, &input, &existing, &tags).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    Ok(ApiJson(
        store::load_one(state.db.primary(), id, store::KeyAccess::All).await?,
    ))
}

/// Changes some fields of a question (its author or an admin).
#[utoipa::path(patch, path = "/v1/questions/{id}", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = QuestionPatch,
    responses((status = 200, body = Question), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<QuestionPatch>,
) -> Result<ApiJson<Question>, ApiError> {
    user.require_author()?;
    let mut v = Violations::new();
    if let Some(t) = &p.text {
        v.text("text", t, 1, MAX_TEXT);
    }
    if let Some(t) = &p.topic {
        v.text("topic", t, 1, MAX_TOPIC);
    }
    if let Some(e) = &p.explanation {
        v.text("explanation", e, 0, MAX_EXPLANATION);
    }
    if let Some(d) = p.difficulty {
        store::check_difficulty(d, "difficulty", &mut v);
    }
    let tags = p
        .tags
        .as_ref()
        .map(|t| store::clean_tags(t, "tags", &mut v));
    v.finish()?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    store::patch(&mut tx, id, &p, tags.as_deref()).await?;
    commit(tx).await?;
    sync_question(&state, id).await;
    Ok(ApiJson(
        store::load_one(state.db.primary(), id, store::KeyAccess::All).await?,
    ))
}

/// Deletes a question (its author or an admin); 409 while a quiz uses it. Its practice answers
/// are deleted with it.
#[utoipa::path(delete, path = "/v1/questions/{id}", tag = "questions", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 409, body = livequiz_sdk::types::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    user.require_author()?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "question")?;
    if let Some(quiz) = store::used_by(&mut tx, id).await? {
        return Err(ApiError::Conflict(format!(
            "question {id} is used by quiz {quiz}; remove it from the quiz first"
        )));
    }
    store::delete(&mut tx, id).await?;
    commit(tx).await?;
    remove_question(&state, id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists questions, newest first, with filters and paging (from the replica).
#[utoipa::path(get, path = "/v1/questions", tag = "questions", security(("bearer" = [])),
    params(QuestionFilter),
    responses((status = 200, body = Page<Question>), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(f): ApiQuery<QuestionFilter>,
) -> Result<ApiJson<Page<Question>>, ApiError> {
    let (limit, offset) = paging(f.limit, f.offset)?;
    let mut v = Violations::new();
    if let Some(d) = f.difficulty {
        store::check_difficulty(d, "difficulty", &mut v);
    }
    v.finish()?;
    let keys = store::KeyAccess::of(&user);
    let (total, items) = store::list(state.db.replica(), &f, keys, limit, offset).await?;
    Ok(ApiJson(page(items, total, limit, offset)))
}
