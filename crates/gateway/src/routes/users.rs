//! `GET /v1/me`, `GET /v1/users` and `PUT /v1/users/{id}/role` (admin).

use axum::extract::State;
use sdk::types::{Page, PageParams, SetRoleRequest, User};
use sqlx::Row as _;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::auth::{load_user, user_from_row};
use crate::routes::{page, paging};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users))
        .routes(routes!(set_role))
}

/// The caller's account (read from the primary: it reflects role changes immediately).
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = sdk::types::Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<ApiJson<User>, ApiError> {
    load_user(state.db.primary(), user.id)
        .await?
        .map(ApiJson)
        .ok_or_else(|| ApiError::NotFound("user not found".into()))
}

/// All users by id (admin only; from the replica).
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<User>), (status = 403, body = sdk::types::Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<ApiJson<Page<User>>, ApiError> {
    user.require_admin()?;
    let (limit, offset) = paging(p.limit, p.offset)?;
    let pool = state.db.replica();
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(
        "SELECT id, username, role, created_at FROM users ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(i64::from(limit))
    .bind(offset as i64)
    .fetch_all(pool)
    .await?;
    let items = rows.iter().map(user_from_row).collect::<Result<_, _>>()?;
    Ok(ApiJson(page(items, total, limit, offset)))
}

/// Changes a user's role (admin only). An admin cannot demote themself, so there is always at
/// least one admin.
#[utoipa::path(put, path = "/v1/users/{id}/role", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")), request_body = SetRoleRequest,
    responses((status = 200, body = User), (status = 403, body = sdk::types::Problem),
              (status = 404, body = sdk::types::Problem), (status = 409, body = sdk::types::Problem)))]
pub async fn set_role(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SetRoleRequest>,
) -> Result<ApiJson<User>, ApiError> {
    user.require_admin()?;
    if id == user.id && req.role != sdk::types::Role::Admin {
        return Err(ApiError::Conflict(
            "admins cannot demote themselves; ask another admin".into(),
        ));
    }
    let res = sqlx::query("UPDATE users SET role = ? WHERE id = ?")
        .bind(req.role.as_str())
        .bind(id)
        .execute(state.db.primary())
        .await?;
    if res.rows_affected() == 0 {
        // MySQL reports 0 affected rows when the value did not change; check existence.
        if load_user(state.db.primary(), id).await?.is_none() {
            return Err(ApiError::NotFound(format!("user {id} not found")));
        }
    }
    load_user(state.db.primary(), id)
        .await?
        .map(ApiJson)
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))
}
