//! The answers of live sessions (`live_answers`, unique per session, question and player).
//!
//! Flushes can run on a pool of the native driver ([`LiveStore::with_answer_pool`]) instead
//! of `Any`: the rows are bound straight into the driver's arguments and the statements are a
//! few fixed-size multi-row INSERTs ([`CHUNKS`]) that stay prepared in the connection's
//! statement cache, instead of one freshly built statement with tens of thousands of
//! placeholders per flush. Each flush is one transaction: one commit (one fsync) however many
//! rows, so throughput grows with the batch instead of being capped by fsyncs. A row already
//! recorded (a retried batch, another gateway) is ignored by the unique key.
//!
//! Choices are stored as comma-separated 0-based positions (`"0,3"`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Row};

use super::{AnswerRow, LiveStore, StoredAnswer};
use crate::db::Dialect;
use crate::store::StoreError;

/// Rows per statement of an answer flush, largest first: a batch is cut
/// into as many statements of the largest size as fit, then the rest with
/// the smaller ones, so only these few statement texts exist and each is
/// prepared once per connection. 256 rows = 2,304 placeholders, well under
/// SQLite's 32,766 and MySQL's 65,535.
pub const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// The pool answer flushes run on.
#[derive(Clone)]
pub(super) enum AnswerPool {
    /// The shared `Any` primary pool (stores built with [`LiveStore::new`]).
    Any,
    /// A native SQLite pool (one connection: SQLite has one writer anyway).
    Sqlite(SqlitePool),
    /// A native MySQL pool on the primary.
    MySql(MySqlPool),
}

/// Cuts `rows` into pieces of the sizes in [`CHUNKS`], largest first, each with the index
/// of its size in [`CHUNKS`].
pub fn cut<T>(mut rows: &[T]) -> Vec<(usize, &[T])> {
    let mut pieces = Vec::new();
    for (i, &size) in CHUNKS.iter().enumerate() {
        while rows.len() >= size {
            let (piece, rest) = rows.split_at(size);
            pieces.push((i, piece));
            rows = rest;
        }
    }
    pieces
}

/// The INSERT statement of each of [`CHUNKS`] in `dialect`, in the same order.
pub(super) fn statements(dialect: Dialect) -> Vec<String> {
    let verb = match dialect {
        Dialect::MySql => "INSERT IGNORE INTO",
        Dialect::Sqlite => "INSERT OR IGNORE INTO",
    };
    CHUNKS
        .iter()
        .map(|&rows| {
            let mut sql = format!(
                "{verb} live_answers (session_id, question_index, player_id, question_id, choices, \
                 correct, points, elapsed_ms, answered_at) VALUES "
            );
            for i in 0..rows {
                sql.push_str(if i == 0 {
                    "(?,?,?,?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?,?,?,?)"
                });
            }
            sql
        })
        .collect()
}

/// The inverse of [`choices_text`] (unparsable parts are skipped).
pub(crate) fn parse_choices(text: &str) -> Vec<u32> {
    text.split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

fn choices_text(choices: &[u32]) -> String {
    let mut s = String::with_capacity(choices.len() * 2);
    for (i, c) in choices.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&c.to_string());
    }
    s
}

/// One flush on a pool: one transaction, the batch [`cut`] into pieces, each a cached
/// prepared statement.
macro_rules! insert_chunks {
    ($pool:expr, $sql:expr, $rows:expr) => {{
        let mut tx = $pool.begin().await?;
        for (size, chunk) in cut($rows) {
            let mut q = sqlx::query($sql[size].as_str());
            for a in chunk {
                q = q
                    .bind(a.session_id)
                    .bind(i64::from(a.question))
                    .bind(a.player as i64)
                    .bind(a.question_id)
                    .bind(choices_text(a.choices))
                    .bind(i64::from(a.correct))
                    .bind(i64::from(a.points))
                    .bind(i64::from(a.elapsed_ms))
                    .bind(a.answered_at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }};
}

impl LiveStore {
    /// Flushes answers on a native-driver pool for `url` (the same database as the `Any`
    /// pool: the primary), connecting lazily. SQLite gets one connection in WAL mode with the
    /// default `synchronous = FULL`, so a committed batch survives a power loss, not only a
    /// crash of the process; MySQL gets `mysql_connections`.
    pub fn with_answer_pool(
        mut self,
        url: &str,
        mysql_connections: u32,
    ) -> Result<Self, StoreError> {
        let bad = |e: sqlx::Error| StoreError::Database(e);
        self.answers = match self.dialect {
            Dialect::MySql => {
                let opts = MySqlConnectOptions::from_str(url)
                    .map_err(bad)?
                    .disable_statement_logging();
                AnswerPool::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(mysql_connections.max(1))
                        .acquire_timeout(Duration::from_secs(5))
                        .connect_lazy_with(opts),
                )
            }
            Dialect::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(bad)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5))
                    .disable_statement_logging();
                AnswerPool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(Duration::from_secs(5))
                        .connect_lazy_with(opts),
                )
            }
        };
        Ok(self)
    }

    /// Records answers in one transaction, ignoring ones already recorded.
    pub async fn insert_answers(&self, rows: &[AnswerRow<'_>]) -> Result<(), StoreError> {
        match &self.answers {
            AnswerPool::Sqlite(pool) => insert_chunks!(pool, self.answer_sql, rows),
            AnswerPool::MySql(pool) => insert_chunks!(pool, self.answer_sql, rows),
            AnswerPool::Any => insert_chunks!(self.pool, self.answer_sql, rows),
        }
    }

    /// Every answer recorded for a session, by question then player (a gateway taking the
    /// session over recomputes scores from them). From the primary: it must see every
    /// acknowledged answer.
    pub async fn answers(&self, session_id: i64) -> Result<Vec<StoredAnswer>, StoreError> {
        let rows = sqlx::query(
            "SELECT question_index, player_id, choices, correct, points, answered_at \
             FROM live_answers WHERE session_id = ? ORDER BY question_index, player_id",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let choices: String = r.try_get(2)?;
            out.push(StoredAnswer {
                question: r.try_get::<i64, _>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
                player: r.try_get::<i64, _>(1)?.max(0) as u64,
                choices: parse_choices(&choices),
                correct: r.try_get::<i64, _>(3)? != 0,
                points: r.try_get::<i64, _>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                answered_at: r.try_get(5)?,
            });
        }
        Ok(out)
    }

    /// Number of answers recorded for a session (reports, tests, load generator checks).
    pub async fn answer_count(&self, session_id: i64) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM live_answers WHERE session_id = ?")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_every_row_with_known_sizes() {
        for n in [0usize, 1, 3, 4, 5, 63, 64, 255, 256, 257, 700, 10_000] {
            let rows: Vec<usize> = (0..n).collect();
            let pieces = cut(&rows);
            let sizes: Vec<usize> = pieces
                .iter()
                .map(|(i, p)| {
                    assert_eq!(p.len(), CHUNKS[*i]);
                    p.len()
                })
                .collect();
            let again: Vec<usize> = pieces.iter().flat_map(|(_, p)| p.iter().copied()).collect();
            assert_eq!(again, rows, "every row once, in order (n={n})");
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest first");
        }
        let rows = [0u8; 700];
        let sizes: Vec<usize> = cut(&rows).iter().map(|(_, p)| p.len()).collect();
        assert_eq!(sizes, vec![256, 256, 64, 64, 16, 16, 16, 4, 4, 4]);
    }

    const CHOSEN: [u32; 2] = [1, 3];

    fn answer(player: u64) -> AnswerRow<'static> {
        AnswerRow {
            session_id: 1,
            question: 0,
            question_id: 10,
            player,
            choices: &CHOSEN,
            correct: player % 2 == 0,
            points: 500,
            elapsed_ms: 1200,
            answered_at: 1_700_000_000_000,
        }
    }

    #[tokio::test]
    async fn the_native_sqlite_writer_stores_every_chunk_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::Config::for_tests(dir.path());
        let db = crate::db::Db::connect(&config).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let store = LiveStore::new(&db)
            .with_answer_pool(&config.primary_url(), 1)
            .expect("native pool");
        // 301 rows = 256 + 2x16 + 3x4 + 1: every statement size but 64.
        let rows: Vec<AnswerRow<'_>> = (1..=301).map(answer).collect();
        store.insert_answers(&rows).await.expect("insert");
        // A retried batch overlapping the first one records nothing twice.
        let again: Vec<AnswerRow<'_>> = (290..=310).map(answer).collect();
        store.insert_answers(&again).await.expect("insert again");
        assert_eq!(store.answer_count(1).await.expect("count"), 310);
        let back = store.answers(1).await.expect("answers");
        assert_eq!(back.len(), 310);
        assert_eq!(
            back[41],
            StoredAnswer {
                question: 0,
                player: 42,
                choices: vec![1, 3],
                correct: true,
                points: 500,
                answered_at: 1_700_000_000_000,
            }
        );
        let row = sqlx::query(
            "SELECT choices, elapsed_ms FROM live_answers \
             WHERE session_id = 1 AND question_index = 0 AND player_id = 42",
        )
        .fetch_one(db.primary())
        .await
        .expect("row 42");
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "1,3");
        assert_eq!(row.try_get::<i64, _>(1).unwrap(), 1200);
        db.close().await;
    }

    #[test]
    fn choices_are_comma_separated() {
        assert_eq!(parse_choices(&choices_text(&[0, 2, 3])), vec![0, 2, 3]);
        assert_eq!(parse_choices(""), Vec::<u32>::new());
        assert_eq!(choices_text(&[]), "");
        assert_eq!(choices_text(&[2]), "2");
        assert_eq!(choices_text(&[0, 3, 11]), "0,3,11");
    }
}
