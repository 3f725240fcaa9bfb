//! `/v1/quizzes`: create, get, replace, delete, list; `POST /v1/quizzes/{id}/attempts`.

use axum::extract::State;
use axum::http::StatusCode;
use livequiz_sdk::types::{Attempt, Page, Quiz, QuizFilter, QuizInput, QuizSummary};

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{page, paging};
use crate::state::AppState;
use crate::store::questions::KeyAccess;
use crate::store::quizzes as store;
use crate::store::{begin, commit, Tx};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, replace, delete))
        .routes(routes!(start_attempt))
}

/// Creates a quiz from existing questions (author/admin). The response shows the answer keys
/// of the caller's own questions only (admins: all), like `GET`.
#[utoipa::path(post, path = "/v1/quizzes", tag = "quizzes", security(("bearer" = [])),
    request_body = QuizInput,
    responses((status = 201, body = Quiz), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<QuizInput>,
) -> Result<(StatusCode, ApiJson<Quiz>), ApiError> {
    user.require_author()?;
    store::validate(&input)?;
    let mut tx = begin(state.db.primary()).await?;
    questions_exist(&mut tx, &input).await?;
    let id = store::create(&mut tx, user.id, &input).await?;
    commit(tx).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(store::load(state.db.primary(), id, KeyAccess::of(&user)).await?),
    ))
}

/// One quiz with its questions, from the primary. Answer keys are shown only for the
/// questions the caller wrote (admins: all), also in a quiz of the caller's own.
#[utoipa::path(get, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Quiz), (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<Quiz>, ApiError> {
    Ok(ApiJson(
        store::load(state.db.primary(), id, KeyAccess::of(&user)).await?,
    ))
}

/// 422 naming every listed question that does not exist.
async fn questions_exist(tx: &mut Tx, input: &QuizInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    for (i, id) in store::missing_questions(tx, input).await? {
        v.add(
            format!("questions[{i}].question_id"),
            format!("question {id} does not exist"),
        );
    }
    v.finish()
}

/// Replaces title, description and the question list (its author or an admin).
#[utoipa::path(put, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = QuizInput,
    responses((status = 200, body = Quiz), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<QuizInput>,
) -> Result<ApiJson<Quiz>, ApiError> {
    user.require_author()?;
    store::validate(&input)?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "quiz")?;
    questions_exist(&mut tx, &input).await?;
    store::update(&mut tx, id, &input).await?;
    commit(tx).await?;
    Ok(ApiJson(
        store::load(state.db.primary(), id, KeyAccess::of(&user)).await?,
    ))
}

/// Deletes a quiz with its attempts (its author or an admin). Questions stay.
#[utoipa::path(delete, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    user.require_author()?;
    let mut tx = begin(state.db.primary()).await?;
    let author = store::lock(&mut tx, id).await?;
    user.require_owner(author, "quiz")?;
    store::delete(&mut tx, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists quizzes, newest first (from the replica).
#[utoipa::path(get, path = "/v1/quizzes", tag = "quizzes", security(("bearer" = [])),
    params(QuizFilter),
    responses((status = 200, body = Page<QuizSummary>), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(f): ApiQuery<QuizFilter>,
) -> Result<ApiJson<Page<QuizSummary>>, ApiError> {
    let (limit, offset) = paging(f.limit, f.offset)?;
    let (total, items) = store::list(state.db.replica(), f.author_id, limit, offset).await?;
    Ok(ApiJson(page(items, total, limit, offset)))
}

/// Starts an attempt at a quiz; answer its questions with `attempt_id` (each once).
#[utoipa::path(post, path = "/v1/quizzes/{id}/attempts", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 201, body = Attempt), (status = 404, body = livequiz_sdk::types::Problem)))]
pub async fn start_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, ApiJson<Attempt>), ApiError> {
    let attempt = store::start_attempt(state.db.primary(), id, user.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("quiz {id} not found")))?;
    Ok((StatusCode::CREATED, ApiJson(attempt)))
}
