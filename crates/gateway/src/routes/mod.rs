//! One module per route group. Each module's `router()` registers its handlers with
//! `utoipa-axum`'s `routes!`, which takes a handler's path and method from its
//! `#[utoipa::path]` annotation: the route and its OpenAPI operation are one declaration, so
//! the router ([`crate::app::router`]) and `/openapi.json` ([`crate::openapi`]) are built from
//! the same list, [`api`], and cannot drift.

pub mod auth;
pub mod bank;
pub mod bank_csv;
pub mod choices;
pub mod docs;
pub mod health;
pub mod leaderboards;
pub mod live;
pub mod practice;
pub mod questions;
pub mod quizzes;
pub mod reports;
pub mod search;
pub mod users;

use livequiz_sdk::types::Page;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, Violations};
use crate::state::AppState;

/// Every API route with its OpenAPI operation (the pages, `/docs` and `/openapi.json` are
/// added by [`crate::app::router`]).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(health::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(questions::router())
        .merge(bank::router())
        .merge(search::router())
        .merge(choices::router())
        .merge(practice::router())
        .merge(quizzes::router())
        .merge(reports::router())
        .merge(live::router())
        .merge(leaderboards::router())
}

/// Default and maximum page sizes of every list endpoint.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest accepted `limit`.
pub const MAX_LIMIT: u32 = 100;
/// Largest accepted `offset` (deep paging is what search and filters are for).
pub const MAX_OFFSET: u64 = 1_000_000;

/// Validated paging: `(limit, offset)`.
pub fn paging(limit: Option<u32>, offset: Option<u64>) -> Result<(u32, u64), ApiError> {
    let mut v = Violations::new();
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        v.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    let offset = offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        v.add("offset", format!("must be at most {MAX_OFFSET}"));
    }
    v.finish()?;
    Ok((limit, offset))
}

/// Builds a page.
pub fn page<T>(items: Vec<T>, total: i64, limit: u32, offset: u64) -> Page<T> {
    Page {
        items,
        total: total.max(0) as u64,
        limit,
        offset,
    }
}
