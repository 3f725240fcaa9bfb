//! [`LiveStore`] over SQL (`sqlx::AnyPool`: MySQL primary or SQLite).
//!
//! Tables are created by `migrations/{mysql,sqlite}/0100_live.sql`. Writes
//! go to the primary pool given here; the quiz is read from the primary
//! too, because a host creates a session right after editing the quiz
//! (read-your-own-write).
//!
//! Answer flushes are the hot path of a large session (thousands of rows a
//! second, every ack waits for one), so they can run on a pool of the
//! native driver ([`SqlStore::with_answer_pool`]) instead of `Any`: the
//! rows are bound straight into the driver's arguments and the statements
//! are a few fixed-size multi-row INSERTs ([`CHUNKS`]) that stay prepared
//! in the connection's statement cache, instead of one freshly built
//! statement with tens of thousands of placeholders per flush.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sdk::live::{ScoringRules, Standing};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{AnyPool, ConnectOptions, Row};

use super::{FinalRow, HostQuota, HostRights, LiveStore, StoreError, StoreFuture};
use crate::db::now_ms;
use crate::live::checkpoint::{
    parse_saved, CheckpointFuture, CheckpointStore, Saved, Write, TTL_SECS,
};
use crate::live::engine::{AnswerRecord, LiveQuestion, PendingAnswer};

/// Rows per statement of an answer flush, largest first: a batch is cut
/// into as many statements of the largest size as fit, then the rest with
/// the smaller ones, so only these few statement texts exist and each is
/// prepared once per connection. 256 rows = 2,304 placeholders, well under
/// SQLite's 32,766 and MySQL's 65,535.
pub const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// The pool answer flushes run on.
#[derive(Clone)]
enum AnswerPool {
    /// The shared `Any` primary pool (stores built with [`SqlStore::new`]).
    Any,
    /// A native SQLite pool (one connection: SQLite has one writer anyway).
    Sqlite(SqlitePool),
    /// A native MySQL pool on the primary.
    MySql(MySqlPool),
}

/// SQL-backed store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    mysql: bool,
    answers: AnswerPool,
    /// `(rows, statement)` for each of [`CHUNKS`].
    answer_sql: Arc<Vec<(usize, String)>>,
}

/// Cuts `n` rows into chunk sizes from [`CHUNKS`] (largest first).
pub fn chunk_plan(mut n: usize) -> Vec<usize> {
    let mut plan = Vec::new();
    for size in CHUNKS {
        while n >= size {
            plan.push(size);
            n -= size;
        }
    }
    plan
}

fn answer_sql(verb: &str) -> Vec<(usize, String)> {
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
            (rows, sql)
        })
        .collect()
}

/// The inverse of [`choices_text`] (unparsable parts are skipped).
fn parse_choices(text: &str) -> Vec<u32> {
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

/// One flush on a native pool: one transaction, the batch cut by
/// [`chunk_plan`], each piece a cached prepared statement.
macro_rules! insert_native {
    ($pool:expr, $sql:expr, $answers:expr) => {{
        let mut tx = $pool.begin().await?;
        let mut rest: &[PendingAnswer] = $answers;
        for size in chunk_plan(rest.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = &$sql
                .iter()
                .find(|(rows, _)| *rows == size)
                .expect("chunk_plan only uses CHUNKS")
                .1;
            let mut q = sqlx::query(sql.as_str());
            for a in chunk {
                q = q
                    .bind(a.session_id)
                    .bind(i64::from(a.question))
                    .bind(a.player as i64)
                    .bind(a.question_id)
                    .bind(choices_text(&a.choices))
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

impl SqlStore {
    /// A store over `pool`; `mysql` selects the dialect (`INSERT IGNORE`
    /// vs `INSERT OR IGNORE`). Answers are flushed on `pool` too; see
    /// [`SqlStore::with_answer_pool`] for the faster native path.
    pub fn new(pool: AnyPool, mysql: bool) -> Self {
        let verb = if mysql {
            "INSERT IGNORE INTO"
        } else {
            "INSERT OR IGNORE INTO"
        };
        SqlStore {
            pool,
            mysql,
            answers: AnswerPool::Any,
            answer_sql: Arc::new(answer_sql(verb)),
        }
    }

    /// Flushes answers on a native-driver pool for `url` (the same
    /// database as the `Any` pool: the primary). The pool connects lazily.
    /// SQLite gets one connection in WAL mode with the default
    /// `synchronous = FULL`, so a committed batch survives a power loss,
    /// not only a crash of the process; MySQL gets two connections.
    pub fn with_answer_pool(mut self, url: &str) -> Result<Self, StoreError> {
        let bad = |e: sqlx::Error| StoreError(format!("answer pool for {url}: {e}"));
        self.answers = if self.mysql {
            let opts = MySqlConnectOptions::from_str(url)
                .map_err(bad)?
                .disable_statement_logging();
            AnswerPool::MySql(
                MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with(opts),
            )
        } else {
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
        };
        Ok(self)
    }

    fn insert_ignore(&self) -> &'static str {
        if self.mysql {
            "INSERT IGNORE INTO"
        } else {
            "INSERT OR IGNORE INTO"
        }
    }

    async fn load(&self, quiz_id: i64) -> Result<Option<Vec<LiveQuestion>>, StoreError> {
        let exists = sqlx::query("SELECT id FROM quizzes WHERE id = ?")
            .bind(quiz_id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT q.id, q.text, qq.time_limit_ms FROM quiz_questions qq \
             JOIN questions q ON q.id = qq.question_id WHERE qq.quiz_id = ? ORDER BY qq.position",
        )
        .bind(quiz_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let question_id: i64 = row.try_get(0)?;
            let text: String = row.try_get(1)?;
            let limit: i64 = row.try_get(2)?;
            let choices = sqlx::query(
                "SELECT text, is_correct FROM choices WHERE question_id = ? ORDER BY position, id",
            )
            .bind(question_id)
            .fetch_all(&self.pool)
            .await?;
            let mut texts = Vec::with_capacity(choices.len());
            let mut correct = Vec::new();
            for (i, c) in choices.iter().enumerate() {
                texts.push(c.try_get::<String, _>(0)?);
                let flag: i64 = c
                    .try_get::<i64, _>(1)
                    .or_else(|_| c.try_get::<bool, _>(1).map(i64::from))?;
                if flag != 0 {
                    correct.push(i as u32);
                }
            }
            out.push(LiveQuestion {
                question_id,
                text,
                choices: texts,
                correct,
                time_limit_ms: limit.clamp(1, i64::from(u32::MAX)) as u32,
            });
        }
        Ok(Some(out))
    }

    async fn insert(&self, answers: &[PendingAnswer]) -> Result<(), StoreError> {
        // One transaction per flush: one commit (one fsync) however many rows,
        // so throughput grows with the batch instead of being capped by fsyncs.
        match &self.answers {
            AnswerPool::Sqlite(pool) => insert_native!(pool, self.answer_sql, answers),
            AnswerPool::MySql(pool) => insert_native!(pool, self.answer_sql, answers),
            AnswerPool::Any => insert_native!(self.pool, self.answer_sql, answers),
        }
    }

    async fn finish(&self, session_id: i64, rows: &[FinalRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(500) {
            let mut sql = format!(
                "{} live_standings (session_id, player_id, nickname, account_id, final_rank, score) VALUES ",
                self.insert_ignore()
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?)"
                });
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(session_id)
                    .bind(r.standing.player_id as i64)
                    .bind(r.standing.nickname.clone())
                    .bind(r.account_id)
                    .bind(r.standing.rank as i64)
                    .bind(r.standing.score);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE live_sessions SET status = 'finished', finished_at = ?, players = ? WHERE id = ?")
            .bind(now_ms())
            .bind(rows.len() as i64)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl LiveStore for SqlStore {
    fn load_quiz(&self, quiz_id: i64) -> StoreFuture<'_, Option<Vec<LiveQuestion>>> {
        Box::pin(self.load(quiz_id))
    }

    fn host_rights(&self, quiz_id: i64, user_id: i64) -> StoreFuture<'_, Option<HostRights>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT z.author_id AS author_id, \
                 (SELECT u.role FROM users u WHERE u.id = ?) AS role, \
                 (SELECT COUNT(*) FROM quiz_questions qq JOIN questions q ON q.id = qq.question_id \
                  WHERE qq.quiz_id = z.id AND q.author_id <> ?) AS foreign_n \
                 FROM quizzes z WHERE z.id = ?",
            )
            .bind(user_id)
            .bind(user_id)
            .bind(quiz_id)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(HostRights {
                quiz_author: row.try_get("author_id")?,
                role: row.try_get("role")?,
                foreign_questions: row.try_get::<i64, _>("foreign_n")?.max(0) as u64,
            }))
        })
    }

    fn create_session<'a>(
        &'a self,
        code: &'a str,
        quiz_id: i64,
        host_user_id: i64,
        rules: &'a ScoringRules,
        quota: Option<HostQuota>,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            let scoring = serde_json::to_string(rules).map_err(|e| StoreError(e.to_string()))?;
            let mut conn = self.pool.acquire().await?;
            // MySQL: two concurrent quota checks of one host lock the same
            // index range and one of them is chosen as a deadlock victim
            // (SQLSTATE 40001, nothing written): run it again.
            let mut attempt = 0;
            let res = loop {
                attempt += 1;
                let q = match quota {
                    None => sqlx::query(
                        "INSERT INTO live_sessions (code, quiz_id, host_user_id, status, scoring, \
                         created_at) VALUES (?, ?, ?, 'live', ?, ?)",
                    ),
                    Some(_) => sqlx::query(
                        "INSERT INTO live_sessions (code, quiz_id, host_user_id, status, scoring, \
                         created_at) SELECT ?, ?, ?, 'live', ?, ? FROM (SELECT COUNT(*) AS n \
                         FROM live_sessions WHERE host_user_id = ? AND status = 'live' \
                         AND created_at >= ?) running WHERE running.n < ?",
                    ),
                };
                let mut q = q
                    .bind(code.to_string())
                    .bind(quiz_id)
                    .bind(host_user_id)
                    .bind(scoring.clone())
                    .bind(now_ms());
                if let Some(quota) = quota {
                    q = q
                        .bind(host_user_id)
                        .bind(quota.since_ms)
                        .bind(i64::from(quota.max_running));
                }
                match q.execute(&mut *conn).await {
                    Ok(res) => break res,
                    Err(sqlx::Error::Database(e))
                        if e.code().as_deref() == Some("40001") && attempt < 5 => {}
                    Err(e) => return Err(e.into()),
                }
            };
            if res.rows_affected() == 0 {
                return Ok(None);
            }
            // Same connection: SQLite's last_insert_rowid() is per connection.
            Ok(Some(crate::db::inserted_id(&mut conn, &res).await?))
        })
    }

    fn insert_answers<'a>(&'a self, answers: &'a [PendingAnswer]) -> StoreFuture<'a, ()> {
        Box::pin(self.insert(answers))
    }

    fn finish_session<'a>(&'a self, session_id: i64, rows: &'a [FinalRow]) -> StoreFuture<'a, ()> {
        Box::pin(self.finish(session_id, rows))
    }

    fn standings(&self, session_id: i64) -> StoreFuture<'_, Vec<Standing>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT final_rank, player_id, nickname, score FROM live_standings \
                 WHERE session_id = ? ORDER BY final_rank, player_id",
            )
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(Standing {
                    rank: r.try_get::<i64, _>(0)? as u64,
                    player_id: r.try_get::<i64, _>(1)? as u64,
                    nickname: r.try_get(2)?,
                    score: r.try_get(3)?,
                });
            }
            Ok(out)
        })
    }

    fn answers(&self, session_id: i64) -> StoreFuture<'_, Vec<AnswerRecord>> {
        Box::pin(async move {
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
                out.push(AnswerRecord {
                    question: r.try_get::<i64, _>(0)? as u32,
                    player: r.try_get::<i64, _>(1)? as u64,
                    choices: parse_choices(&choices),
                    correct: r.try_get::<i64, _>(3)? != 0,
                    points: r.try_get::<i64, _>(4)?.max(0) as u32,
                    answered_at: r.try_get(5)?,
                });
            }
            Ok(out)
        })
    }

    fn answer_count(&self, session_id: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let row = sqlx::query("SELECT COUNT(*) FROM live_answers WHERE session_id = ?")
                .bind(session_id)
                .fetch_one(&self.pool)
                .await?;
            Ok(row.try_get::<i64, _>(0)? as u64)
        })
    }
}

/// Checkpoints in the database (a gateway without Redis Cluster): the
/// restarted gateway resumes its sessions from them.
impl CheckpointStore for SqlStore {
    fn exists<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, bool> {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT 1 FROM live_checkpoints WHERE code = ? AND updated_at >= ?")
                    .bind(code)
                    .bind(now_ms() - TTL_SECS * 1000)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.is_some())
        })
    }

    fn create<'a>(
        &'a self,
        meta: &'a crate::live::engine::SessionMeta,
    ) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            let json = serde_json::to_string(meta)?;
            let now = now_ms();
            let mut tx = self.pool.begin().await?;
            // Expired checkpoints (and one with this code: it was checked free) go first.
            sqlx::query(
                "DELETE FROM live_checkpoint_players WHERE code = ? OR code IN \
                 (SELECT code FROM live_checkpoints WHERE updated_at < ?)",
            )
            .bind(&meta.code)
            .bind(now - TTL_SECS * 1000)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM live_checkpoints WHERE code = ? OR updated_at < ?")
                .bind(&meta.code)
                .bind(now - TTL_SECS * 1000)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO live_checkpoints (code, meta, phase, updated_at) VALUES (?, ?, NULL, ?)",
            )
            .bind(&meta.code)
            .bind(json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn load<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, Option<Saved>> {
        Box::pin(async move {
            let Some(row) = sqlx::query(
                "SELECT meta, phase FROM live_checkpoints WHERE code = ? AND updated_at >= ?",
            )
            .bind(code)
            .bind(now_ms() - TTL_SECS * 1000)
            .fetch_optional(&self.pool)
            .await?
            else {
                return Ok(None);
            };
            let meta: String = row.try_get(0)?;
            let phase: Option<String> = row.try_get(1)?;
            let players: Vec<String> =
                sqlx::query("SELECT record FROM live_checkpoint_players WHERE code = ?")
                    .bind(code)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
            Ok(parse_saved(
                Some(&meta),
                players.iter().map(String::as_str),
                phase.as_deref(),
            ))
        })
    }

    fn write<'a>(&'a self, code: &'a str, writes: &'a [Write]) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            let upsert = if self.mysql {
                "INSERT INTO live_checkpoint_players (code, player_id, record) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE record = VALUES(record)"
            } else {
                "INSERT OR REPLACE INTO live_checkpoint_players (code, player_id, record) \
                 VALUES (?, ?, ?)"
            };
            let mut tx = self.pool.begin().await?;
            let mut cleared = false;
            for w in writes {
                match w {
                    Write::Player(p) => {
                        sqlx::query(upsert)
                            .bind(code)
                            .bind(p.id as i64)
                            .bind(serde_json::to_string(p)?)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Write::Removed(id) => {
                        sqlx::query(
                            "DELETE FROM live_checkpoint_players WHERE code = ? AND player_id = ?",
                        )
                        .bind(code)
                        .bind(*id as i64)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Write::Phase(ck) => {
                        sqlx::query("UPDATE live_checkpoints SET phase = ? WHERE code = ?")
                            .bind(serde_json::to_string(ck)?)
                            .bind(code)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Write::Clear => {
                        for table in ["live_checkpoint_players", "live_checkpoints"] {
                            sqlx::query(&format!("DELETE FROM {table} WHERE code = ?"))
                                .bind(code)
                                .execute(&mut *tx)
                                .await?;
                        }
                        cleared = true;
                    }
                }
            }
            if !cleared {
                sqlx::query("UPDATE live_checkpoints SET updated_at = ? WHERE code = ?")
                    .bind(now_ms())
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_plan_covers_every_row_with_known_sizes() {
        for n in [0usize, 1, 3, 4, 5, 63, 64, 255, 256, 257, 700, 10_000] {
            let plan = chunk_plan(n);
            assert_eq!(plan.iter().sum::<usize>(), n, "n={n}");
            assert!(plan.iter().all(|s| CHUNKS.contains(s)));
            assert!(plan.windows(2).all(|w| w[0] >= w[1]), "largest first");
        }
        assert_eq!(chunk_plan(700), vec![256, 256, 64, 64, 16, 16, 16, 4, 4, 4]);
    }

    fn answer(player: u64) -> PendingAnswer {
        PendingAnswer {
            session_id: 1,
            question: 0,
            question_id: 10,
            player,
            choices: vec![1, 3],
            correct: player % 2 == 0,
            points: 500,
            elapsed_ms: 1200,
            answered_at: 1_700_000_000_000,
            req: None,
            accepted: crate::live::engine::Instant::ZERO,
        }
    }

    #[tokio::test]
    async fn checkpoints_round_trip_in_sqlite() {
        use crate::live::engine::{
            LiveQuiz, PhaseCheckpoint, PhaseRecord, PlayerRecord, SessionMeta,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::Config::for_tests(dir.path());
        let db = crate::db::Db::connect(&config).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let store = SqlStore::new(db.primary().clone(), false);
        let meta = SessionMeta {
            session_id: 3,
            code: "123456".into(),
            host_token: "secret".into(),
            quiz: LiveQuiz {
                quiz_id: 1,
                questions: Vec::new(),
                rules: ScoringRules::default(),
                reveal_ms: 100,
                top_n: 5,
                hide_text_on_devices: true,
            },
            join: Default::default(),
            created_at: 1,
        };
        assert!(!store.exists("123456").await.unwrap());
        store.create(&meta).await.expect("create");
        assert!(store.exists("123456").await.unwrap());
        let player = |id: u64| PlayerRecord {
            id,
            nickname: format!("p{id}"),
            account_id: None,
            resume_token: format!("t{id}"),
            joined_at: 1,
            banned: false,
            extra_time_percent: if id == 3 { 200 } else { 100 },
        };
        let phase = PhaseCheckpoint {
            phase: PhaseRecord::Question {
                index: 2,
                opened_at: 99,
                closing: false,
                extra_time: vec![(3, 150)],
            },
            end_requested: true,
            locked: true,
        };
        let writes = [
            Write::Player(player(1)),
            Write::Player(player(2)),
            Write::Player(player(3)),
            Write::Removed(2),
            Write::Phase(phase.clone()),
            // A repeated record (an account rejoining) replaces the first.
            Write::Player(player(3)),
        ];
        store.write("123456", &writes).await.expect("write");
        let saved = CheckpointStore::load(&store, "123456")
            .await
            .unwrap()
            .expect("saved");
        assert_eq!(saved.meta, meta);
        assert_eq!(saved.players, vec![player(1), player(3)]);
        assert_eq!(saved.phase, phase);
        assert!(CheckpointStore::load(&store, "654321")
            .await
            .unwrap()
            .is_none());
        store.write("123456", &[Write::Clear]).await.expect("clear");
        assert!(CheckpointStore::load(&store, "123456")
            .await
            .unwrap()
            .is_none());
        assert!(!store.exists("123456").await.unwrap());
    }

    #[tokio::test]
    async fn the_native_sqlite_writer_stores_every_chunk_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::Config::for_tests(dir.path());
        let db = crate::db::Db::connect(&config).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let store = SqlStore::new(db.primary().clone(), false)
            .with_answer_pool(&config.primary_url())
            .expect("native pool");
        // 301 rows = 256 + 2x16 + 3x4 + 1: every statement size but 64.
        let rows: Vec<PendingAnswer> = (1..=301).map(answer).collect();
        store.insert(&rows).await.expect("insert");
        // A retried batch overlapping the first one records nothing twice.
        let again: Vec<PendingAnswer> = (290..=310).map(answer).collect();
        store.insert(&again).await.expect("insert again");
        assert_eq!(store.answer_count(1).await.expect("count"), 310);
        let row = sqlx::query(
            "SELECT choices, correct, points, elapsed_ms FROM live_answers \
             WHERE session_id = 1 AND question_index = 0 AND player_id = 42",
        )
        .fetch_one(db.primary())
        .await
        .expect("row 42");
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "1,3");
        assert_eq!(row.try_get::<i64, _>(1).unwrap(), 1);
        assert_eq!(row.try_get::<i64, _>(2).unwrap(), 500);
        assert_eq!(row.try_get::<i64, _>(3).unwrap(), 1200);
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
