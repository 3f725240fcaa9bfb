//! `/v1/quizzes`: create, get, replace, delete, list; `POST /v1/quizzes/{id}/attempts`.

use axum::extract::State;
use axum::http::StatusCode;
use sdk::types::{Attempt, Page, Quiz, QuizFilter, QuizInput, QuizSummary};
use sqlx::Row as _;

use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{page, paging};
use crate::state::AppState;
use crate::store::questions::KeyAccess;
use crate::store::quizzes as store;
use crate::store::{listing, Arg};
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
    responses((status = 201, body = Quiz), (status = 403, body = sdk::types::Problem),
              (status = 422, body = sdk::types::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<QuizInput>,
) -> Result<(StatusCode, ApiJson<Quiz>), ApiError> {
    user.require_author()?;
    store::validate(&input)?;
    let now = now_ms();
    let mut tx = state.db.primary().begin().await?;
    let res = sqlx::query(
        "INSERT INTO quizzes (author_id, title, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user.id)
    .bind(input.title.trim())
    .bind(input.description.trim())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let id = crate::db::inserted_id(&mut tx, &res).await?;
    store::check_questions_exist(&mut tx, &input).await?;
    store::write_items(&mut tx, id, &input).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(store::load(state.db.primary(), id, KeyAccess::of(&user)).await?),
    ))
}

/// One quiz with its questions, from the primary. Answer keys are shown only for the
/// questions the caller wrote (admins: all), also in a quiz of the caller's own.
#[utoipa::path(get, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Quiz), (status = 404, body = sdk::types::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<Quiz>, ApiError> {
    Ok(ApiJson(
        store::load(state.db.primary(), id, KeyAccess::of(&user)).await?,
    ))
}

async fn lock_quiz(conn: &mut sqlx::AnyConnection, id: i64) -> Result<i64, ApiError> {
    let res = sqlx::query("UPDATE quizzes SET updated_at = ? WHERE id = ?")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if res.rows_affected() == 0 {
        return Err(ApiError::NotFound(format!("quiz {id} not found")));
    }
    Ok(sqlx::query("SELECT author_id FROM quizzes WHERE id = ?")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("author_id")?)
}

/// Replaces title, description and the question list (its author or an admin).
#[utoipa::path(put, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = QuizInput,
    responses((status = 200, body = Quiz), (status = 403, body = sdk::types::Problem),
              (status = 404, body = sdk::types::Problem), (status = 422, body = sdk::types::Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<QuizInput>,
) -> Result<ApiJson<Quiz>, ApiError> {
    user.require_author()?;
    store::validate(&input)?;
    let mut tx = state.db.primary().begin().await?;
    let author = lock_quiz(&mut tx, id).await?;
    user.require_owner(author, "quiz")?;
    store::check_questions_exist(&mut tx, &input).await?;
    sqlx::query("UPDATE quizzes SET title = ?, description = ? WHERE id = ?")
        .bind(input.title.trim())
        .bind(input.description.trim())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    store::write_items(&mut tx, id, &input).await?;
    tx.commit().await?;
    Ok(ApiJson(
        store::load(state.db.primary(), id, KeyAccess::of(&user)).await?,
    ))
}

/// Deletes a quiz with its attempts (its author or an admin). Questions stay.
#[utoipa::path(delete, path = "/v1/quizzes/{id}", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = sdk::types::Problem),
              (status = 404, body = sdk::types::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    user.require_author()?;
    let mut tx = state.db.primary().begin().await?;
    let author = lock_quiz(&mut tx, id).await?;
    user.require_owner(author, "quiz")?;
    sqlx::query("DELETE FROM quizzes WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists quizzes, newest first (from the replica).
#[utoipa::path(get, path = "/v1/quizzes", tag = "quizzes", security(("bearer" = [])),
    params(QuizFilter),
    responses((status = 200, body = Page<QuizSummary>), (status = 422, body = sdk::types::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(f): ApiQuery<QuizFilter>,
) -> Result<ApiJson<Page<QuizSummary>>, ApiError> {
    let (limit, offset) = paging(f.limit, f.offset)?;
    let (from, args) = match f.author_id {
        Some(a) => ("quizzes z WHERE z.author_id = ?", vec![Arg::Int(a)]),
        None => ("quizzes z", vec![]),
    };
    let select = "z.id AS id, z.author_id AS author_id, z.title AS title, \
         z.description AS description, z.created_at AS created_at, \
         (SELECT COUNT(*) FROM quiz_questions qq WHERE qq.quiz_id = z.id) AS n";
    let pool = state.db.replica();
    let (total, rows) = listing(pool, select, from, "z.id", &args, limit, offset).await?;
    let items = rows
        .iter()
        .map(store::summary_from_row)
        .collect::<Result<_, _>>()?;
    Ok(ApiJson(page(items, total, limit, offset)))
}

/// Starts an attempt at a quiz; answer its questions with `attempt_id` (each once).
#[utoipa::path(post, path = "/v1/quizzes/{id}/attempts", tag = "quizzes", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 201, body = Attempt), (status = 404, body = sdk::types::Problem)))]
pub async fn start_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, ApiJson<Attempt>), ApiError> {
    let now = now_ms();
    let exists = sqlx::query("SELECT id FROM quizzes WHERE id = ?")
        .bind(id)
        .fetch_optional(state.db.primary())
        .await?;
    if exists.is_none() {
        return Err(ApiError::NotFound(format!("quiz {id} not found")));
    }
    let mut conn = state.db.primary().acquire().await?;
    let res =
        sqlx::query("INSERT INTO quiz_attempts (quiz_id, user_id, started_at) VALUES (?, ?, ?)")
            .bind(id)
            .bind(user.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    let aid = crate::db::inserted_id(&mut conn, &res).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(Attempt {
            id: aid,
            quiz_id: id,
            user_id: user.id,
            started_at: now,
        }),
    ))
}
