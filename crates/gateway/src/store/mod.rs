//! Data access shared by several route modules: loading API objects from rows, validation of
//! inputs, and dynamic SQL helpers that work on both dialects.

pub mod questions;
pub mod quizzes;
pub mod stats;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

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
