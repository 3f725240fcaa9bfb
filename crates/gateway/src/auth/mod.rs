//! Authentication and authorization.
//!
//! Every credential is checked by one function, [`Authenticator::resolve`]: it looks a bearer
//! token up in the [`tokens::TokenStore`] and loads its user from the primary (so a role change
//! or a deleted account takes effect on the next request). REST requests reach it through the
//! [`AuthUser`] extractor (`Authorization: Bearer <token>`); a live WebSocket, which cannot set
//! headers in browsers, through the token of its first frame (`crate::live::handshake`). [`password`] hashes with a bound on concurrent argon2 work; [`admin`] decides who
//! becomes admin on a fresh install.

pub mod admin;
pub mod password;
pub mod tokens;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use livequiz_sdk::types::Role;

use crate::db::Db;
use crate::error::{ApiError, Violations};
use crate::state::AppState;
use tokens::TokenStore;

/// Checks a new account's username and password (registration, `gateway admin create`):
/// every bad field is listed.
pub fn validate_credentials(username: &str, password: &str) -> Result<(), ApiError> {
    let mut v = Violations::new();
    let n = username.chars().count();
    if !(3..=32).contains(&n) {
        v.add("username", format!("must be 3-32 characters (got {n})"));
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        v.add(
            "username",
            "may contain only ASCII letters, digits, '_', '-' and '.'",
        );
    }
    let p = password.chars().count();
    if !(8..=128).contains(&p) {
        v.add("password", format!("must be 8-128 characters (got {p})"));
    }
    v.finish()
}

/// The key a username's login attempts are counted under: trimmed and lowercased, so
/// spellings the database treats as one account share one limit.
pub fn login_limit_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthUser {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Role at the time of the request.
    pub role: Role,
}

impl AuthUser {
    /// 403 unless the caller is an author or admin.
    pub fn require_author(&self) -> Result<(), ApiError> {
        if self.role.can_author() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this action needs the author or admin role".into(),
            ))
        }
    }

    /// 403 unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this action needs the admin role".into(),
            ))
        }
    }

    /// 403 unless the caller owns the resource (`owner_id`) or is an admin.
    pub fn require_owner(&self, owner_id: i64, what: &str) -> Result<(), ApiError> {
        if self.role == Role::Admin || (self.id == owner_id && self.role.can_author()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "only the {what}'s author or an admin may do this"
            )))
        }
    }
}

/// Resolves login tokens to users: the one path of every credential check, REST and
/// WebSocket alike. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Authenticator {
    tokens: TokenStore,
    db: Db,
}

impl Authenticator {
    /// Resolves through `tokens` and the users table of `db`'s primary.
    pub fn new(tokens: TokenStore, db: Db) -> Authenticator {
        Authenticator { tokens, db }
    }

    /// The user of a bearer token: 401 if the token is malformed, unknown, expired or its
    /// user gone; 503 (or 500) when the token store or the database fails.
    pub async fn resolve(&self, token: &str) -> Result<AuthUser, ApiError> {
        resolve(&self.tokens, &self.db, token).await
    }
}

async fn resolve(tokens: &TokenStore, db: &Db, token: &str) -> Result<AuthUser, ApiError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(ApiError::Unauthorized("invalid token".into()));
    }
    let Some(uid) = tokens.get(token).await? else {
        return Err(ApiError::Unauthorized(
            "the token is invalid or has expired; log in again".into(),
        ));
    };
    let Some(user) = crate::store::users::load(db.primary(), uid).await? else {
        return Err(ApiError::Unauthorized(
            "the token's user no longer exists".into(),
        ));
    };
    Ok(AuthUser {
        id: user.id,
        username: user.username,
        role: user.role,
    })
}

/// The bearer token of a request, if it has a well-formed `Authorization` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    let h = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("missing `Authorization: Bearer <token>` header".into())
        })?;
    let h = h
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match h.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must use the Bearer scheme".into(),
        )),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        state.auth.resolve(token).await
    }
}
