//! The data layer: every SQL statement of the gateway, behind typed functions that return
//! [`StoreError`] (never an HTTP error): loading API objects from rows, validation of inputs,
//! the live sessions' records and checkpoints ([`live`]), and dynamic SQL helpers that work on
//! both dialects.

pub mod bank;
pub mod in_play;
pub mod live;
pub mod practice;
pub mod questions;
pub mod quizzes;
pub mod ranked;
pub mod reports;
pub mod stats;
pub mod users;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Row as _};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row has this key; the text names it (`quiz 7`).
    #[error("{0} not found")]
    NotFound(String),
    /// The write conflicts with stored rows: a unique key is taken, a row is still referenced,
    /// or a reference points at a missing row. The text says which, in words for a client.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached right now (no connection within the pool's timeout,
    /// connection lost, pool closed): worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database: {0}")]
    Database(#[source] sqlx::Error),
    /// The database holds or returned what the store does not expect: a document that does
    /// not parse, text that is not UTF-8, an unknown role, ids out of sequence.
    #[error("unexpected data in the database: {0}")]
    Unexpected(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(
                        "a resource with the same key already exists".into(),
                    )
                }
                sqlx::error::ErrorKind::ForeignKeyViolation => {
                    return StoreError::Conflict(
                        "the resource is referenced by another resource or refers to a missing one"
                            .into(),
                    )
                }
                _ => {}
            }
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(e)
            }
            e => StoreError::Database(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Unexpected(e.to_string())
    }
}

/// A text column of `row`, whatever type the driver reports it as: the `Any` driver hands
/// MySQL's `TEXT` family (`MEDIUMTEXT` documents) over as bytes, SQLite's `TEXT` as text.
pub fn text_column(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    match row.try_get::<String, _>(column) {
        Ok(s) => Ok(s),
        Err(text_err) => match row.try_get::<Vec<u8>, _>(column) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|e| StoreError::Unexpected(format!("column {column}: {e}"))),
            Err(_) => Err(text_err.into()),
        },
    }
}

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

/// A transaction on the primary, for a caller that checks something (who owns a row) between
/// the store functions it runs in it.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Starts a transaction on `pool`.
pub async fn begin(pool: &AnyPool) -> Result<Tx, StoreError> {
    Ok(pool.begin().await?)
}

/// Commits `tx`.
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Whether `pool` answers a trivial query (readiness checks).
pub async fn ping(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// The id generated by the `INSERT` that produced `res`, run on `conn`.
///
/// The Any driver reports `last_insert_id` for MySQL but not for SQLite, so on SQLite this asks
/// the same connection with `SELECT last_insert_rowid()` (per-connection, hence race-free).
pub async fn inserted_id(
    conn: &mut AnyConnection,
    res: &AnyQueryResult,
) -> Result<i64, StoreError> {
    if let Some(id) = res.last_insert_id() {
        return Ok(id);
    }
    Ok(sqlx::query("SELECT last_insert_rowid() AS id")
        .fetch_one(&mut *conn)
        .await?
        .try_get("id")?)
}
