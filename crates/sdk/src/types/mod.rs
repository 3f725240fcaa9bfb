//! Request and response types of the gateway's REST API (`/v1`).
//!
//! The gateway serializes exactly these structs, so the client and the server can never disagree on
//! the wire format. With the `openapi` feature every type also derives `utoipa::ToSchema`, which is
//! how the gateway publishes them in `/openapi.json`.
//!
//! Conventions: ids are `i64`; timestamps are Unix milliseconds (`i64`); optional fields are
//! omitted from responses when absent. Request bodies deny unknown fields: the gateway
//! answers a field it does not know with 422 naming it, rather than ignoring it.

use serde::{Deserialize, Serialize};

mod bank;
mod leaderboards;
mod live_records;
mod ops;
mod practice;
mod questions;
mod quizzes;
mod reports;

pub use bank::*;
pub use leaderboards::*;
pub use live_records::*;
pub use ops::*;
pub use practice::*;
pub use questions::*;
pub use quizzes::*;
pub use reports::*;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// What a user may do. Players answer; authors also manage questions and quizzes; admins also
/// manage users' roles and see every report.
///
/// ```
/// use livequiz_sdk::types::Role;
/// assert_eq!(Role::parse("author"), Some(Role::Author));
/// assert!(Role::Admin.can_author() && !Role::Player.can_author());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Answers questions.
    Player,
    /// Creates and edits questions and quizzes (their own).
    Author,
    /// Everything, including other users' content and roles.
    Admin,
}

impl Role {
    /// The lowercase name stored in the database and used on the wire.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::types::Role::Admin.as_str(), "admin");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    /// Parses the lowercase name; `None` for anything else.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::types::Role::parse("root"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "player" => Some(Role::Player),
            "author" => Some(Role::Author),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may create and edit questions and quizzes.
    ///
    /// ```
    /// assert!(livequiz_sdk::types::Role::Author.can_author());
    /// ```
    pub fn can_author(self) -> bool {
        matches!(self, Role::Author | Role::Admin)
    }
}

/// Body of `POST /v1/auth/register`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::RegisterRequest;
/// client.register(&RegisterRequest { username: "ada".into(), password: "correct horse 1".into() }).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3-32 characters: ASCII letters, digits, `_`, `-`, `.`; unique ignoring case.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}$")
    )]
    pub username: String,
    /// 8-128 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
}

/// Body of `POST /v1/auth/login`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::LoginRequest;
/// let t = client.login_token(&LoginRequest { username: "ada".into(), password: "correct horse 1".into() }).await?;
/// println!("{}", t.token_type);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The registered username (any case).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub username: String,
    /// The password.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub password: String,
}

/// A user account as the API shows it (never includes the password hash).
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let me: livequiz_sdk::types::User = client.me().await?;
/// println!("{} since {}", me.username, me.created_at);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    /// User id.
    pub id: i64,
    /// Username as registered.
    pub username: String,
    /// Current role.
    pub role: Role,
    /// Registration time (Unix ms).
    pub created_at: i64,
}

/// Response of a successful login: an opaque bearer token.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::LoginRequest;
/// let t = client.login_token(&LoginRequest { username: "ada".into(), password: "pw".into() }).await?;
/// let ada = client.with_token(t.token);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The logged-in user.
    pub user: User,
}

/// Body of `PUT /v1/users/{id}/role` (admin only).
///
/// ```
/// use livequiz_sdk::types::{Role, SetRoleRequest};
/// let body = serde_json::to_string(&SetRoleRequest { role: Role::Author }).unwrap();
/// assert_eq!(body, r#"{"role":"author"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRoleRequest {
    /// The new role.
    pub role: Role,
}

/// Paging parameters (`?limit=&offset=`).
///
/// ```
/// let p = livequiz_sdk::types::PageParams { limit: Some(100), offset: Some(200) };
/// assert_eq!(p.limit, Some(100));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, IntoParams), into_params(parameter_in = Query))]
pub struct PageParams {
    /// Page size, 1-100 (default 20).
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 100),
        schema(minimum = 1, maximum = 100)
    )]
    pub limit: Option<u32>,
    /// Items to skip (default 0, at most 1000000).
    #[cfg_attr(
        feature = "openapi",
        param(maximum = 1_000_000),
        schema(maximum = 1_000_000)
    )]
    pub offset: Option<u64>,
}

/// One page of a list, with the total number of matching items.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let page: livequiz_sdk::types::Page<livequiz_sdk::types::Question> = client.list_questions(&Default::default()).await?;
/// println!("{} of {} (offset {})", page.items.len(), page.total, page.offset);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Number of items matching the filters (all pages).
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}
