//! Data access shared by several route modules: loading API objects from rows, validation of
//! inputs, and dynamic SQL helpers that work on both dialects.

pub mod bank;
pub mod in_play;
pub mod questions;
pub mod quizzes;
pub mod stats;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row as _};

/// `?, ?, ?` with `n` placeholders (n ≥ 1).
pub fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
}

/// Binds `args` in order.
pub fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    args: &[Arg],
) -> Query<'q, Any, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(*i),
            Arg::Text(s) => q.bind(s.clone()),
        };
    }
    q
}

/// One page of a filtered listing, newest first: the number of rows of
/// `FROM {from}` (`from` = tables, alias and `WHERE` clause, whose `?` take
/// `args`) and the page of `SELECT {select}` over it ordered by `{order}`
/// descending. Both statements share the filter, so the total and the
/// page always agree.
pub async fn listing(
    pool: &AnyPool,
    select: &str,
    from: &str,
    order: &str,
    args: &[Arg],
    limit: u32,
    offset: u64,
) -> Result<(i64, Vec<AnyRow>), sqlx::Error> {
    let total: i64 = bind_all(
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {from}")),
        args,
    )
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let mut page_args = args.to_vec();
    page_args.push(Arg::Int(i64::from(limit)));
    page_args.push(Arg::Int(offset as i64));
    let rows = bind_all(
        sqlx::query(&format!(
            "SELECT {select} FROM {from} ORDER BY {order} DESC LIMIT ? OFFSET ?"
        )),
        &page_args,
    )
    .fetch_all(pool)
    .await?;
    Ok((total, rows))
}
