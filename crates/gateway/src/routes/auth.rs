//! `POST /v1/auth/register`, `/v1/auth/login`, `/v1/auth/logout`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use sdk::types::{LoginRequest, RegisterRequest, Role, TokenResponse, User};
use sqlx::Row as _;

use crate::auth::{password, tokens, AuthUser};
use crate::db::now_ms;
use crate::error::{ApiError, Violations};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
}

fn validate_register(r: &RegisterRequest) -> Result<(), ApiError> {
    let mut v = Violations::new();
    let n = r.username.chars().count();
    if !(3..=32).contains(&n) {
        v.add("username", format!("must be 3-32 characters (got {n})"));
    } else if !r
        .username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        v.add(
            "username",
            "may contain only ASCII letters, digits, '_', '-' and '.'",
        );
    }
    let p = r.password.chars().count();
    if !(8..=128).contains(&p) {
        v.add("password", format!("must be 8-128 characters (got {p})"));
    }
    v.finish()
}

/// Loads a user row by id from `pool`.
pub async fn load_user(pool: &sqlx::AnyPool, id: i64) -> Result<Option<User>, ApiError> {
    let row = sqlx::query("SELECT id, username, role, created_at FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| user_from_row(&r)).transpose()
}

/// Maps a `users` row (id, username, role, created_at) to the API type.
pub fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, ApiError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        role: Role::parse(&role)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown role {role:?}")))?,
        created_at: r.try_get("created_at")?,
    })
}

/// Creates an account. The first account, or the one named by `ADMIN_USERNAME`, is an admin;
/// everyone else starts as a player.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 409, body = sdk::types::Problem, description = "username taken"),
              (status = 422, body = sdk::types::Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<User>), ApiError> {
    validate_register(&req)?;
    let hash = password::hash(
        req.password.clone(),
        state.config.argon2_memory_kib,
        state.config.argon2_iterations,
    )
    .await?;
    let now = now_ms();
    let is_named_admin = state
        .config
        .admin_username
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(&req.username));
    // Insert first (as a player), then decide the role inside the same transaction: the INSERT
    // takes SQLite's write lock up front (no read-to-write lock upgrade that could fail under
    // concurrency), and a user is the first one when no row with a smaller id exists. On MySQL
    // two racing registrations into an empty table may both become admin - harmless on a
    // brand-new install.
    let mut tx = state.db.primary().begin().await?;
    let res = sqlx::query(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(&req.username)
    .bind(&hash)
    .bind(Role::Player.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await;
    let res = match res {
        Err(e) => {
            let e = ApiError::from(e);
            if matches!(e, ApiError::Conflict(_)) {
                return Err(ApiError::Conflict(format!(
                    "the username {:?} is already taken",
                    req.username
                )));
            }
            return Err(e);
        }
        Ok(r) => r,
    };
    let id = crate::db::inserted_id(&mut tx, &res).await?;
    let earlier: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE id < ?")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    let role = if earlier == 0 || is_named_admin {
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(Role::Admin.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Role::Admin
    } else {
        Role::Player
    };
    tx.commit().await?;
    metrics::counter!("users_registered_total").increment(1);
    Ok((
        StatusCode::CREATED,
        ApiJson(User {
            id,
            username: req.username,
            role,
            created_at: now,
        }),
    ))
}

/// Exchanges username and password for a bearer token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = sdk::types::Problem),
              (status = 422, body = sdk::types::Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<TokenResponse>, ApiError> {
    let mut v = Violations::new();
    v.text("username", &req.username, 1, 64);
    v.text("password", &req.password, 1, 128);
    v.finish()?;
    let row = sqlx::query(
        "SELECT id, username, role, created_at, password_hash FROM users WHERE username = ?",
    )
    .bind(&req.username)
    .fetch_optional(state.db.primary())
    .await?;
    let bad = || ApiError::Unauthorized("wrong username or password".into());
    let Some(row) = row else {
        // Spend comparable time so response timing does not reveal which usernames exist.
        let _ = password::hash(
            req.password,
            state.config.argon2_memory_kib,
            state.config.argon2_iterations,
        )
        .await;
        return Err(bad());
    };
    let phc: String = row.try_get("password_hash")?;
    if !password::verify(req.password, phc).await? {
        metrics::counter!("logins_failed_total").increment(1);
        return Err(bad());
    }
    let user = user_from_row(&row)?;
    let token = tokens::new_token();
    state
        .tokens
        .insert(&token, user.id, state.config.token_ttl)
        .await?;
    Ok(ApiJson(TokenResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: state.config.token_ttl.as_secs(),
        user,
    }))
}

/// Revokes the caller's token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = sdk::types::Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    _user: AuthUser,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = crate::auth::bearer(&headers)?;
    state.tokens.remove(token).await?;
    Ok(StatusCode::NO_CONTENT)
}
