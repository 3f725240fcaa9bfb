//! One module per route group; each has a `router()` merged by [`crate::app::router`].

pub mod auth;
pub mod bank;
pub mod bank_csv;
pub mod choices;
pub mod docs;
pub mod health;
pub mod practice;
pub mod questions;
pub mod quizzes;
pub mod reports;
pub mod search;
pub mod users;

use livequiz_sdk::types::Page;

use crate::error::{ApiError, Violations};

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
