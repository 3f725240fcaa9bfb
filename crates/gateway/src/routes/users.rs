//! `GET /v1/me`, `GET /v1/users` and `PUT /v1/users/{id}/role` (admin).

use axum::extract::State;
use livequiz_sdk::types::{Page, PageParams, SetRoleRequest, User};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{page, paging};
use crate::state::AppState;
use crate::store::users;
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
    responses((status = 200, body = User), (status = 401, body = livequiz_sdk::types::Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<ApiJson<User>, ApiError> {
    users::load(state.db.primary(), user.id)
        .await?
        .map(ApiJson)
        .ok_or_else(|| ApiError::NotFound("user not found".into()))
}

/// All users by id (admin only; from the replica).
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<User>), (status = 403, body = livequiz_sdk::types::Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<ApiJson<Page<User>>, ApiError> {
    user.require_admin()?;
    let (limit, offset) = paging(p.limit, p.offset)?;
    let (total, items) = users::list(state.db.replica(), limit, offset).await?;
    Ok(ApiJson(page(items, total, limit, offset)))
}

/// Changes a user's role (admin only). An admin cannot demote themself, so there is always at
/// least one admin.
#[utoipa::path(put, path = "/v1/users/{id}/role", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")), request_body = SetRoleRequest,
    responses((status = 200, body = User), (status = 403, body = livequiz_sdk::types::Problem),
              (status = 404, body = livequiz_sdk::types::Problem), (status = 409, body = livequiz_sdk::types::Problem)))]
pub async fn set_role(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SetRoleRequest>,
) -> Result<ApiJson<User>, ApiError> {
    user.require_admin()?;
    if id == user.id && req.role != livequiz_sdk::types::Role::Admin {
        return Err(ApiError::Conflict(
            "admins cannot demote themselves; ask another admin".into(),
        ));
    }
    users::set_role(state.db.primary(), id, req.role)
        .await?
        .map(ApiJson)
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))
}
