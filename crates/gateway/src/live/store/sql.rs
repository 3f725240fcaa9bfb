//! [`LiveStore`] over SQL (`sqlx::AnyPool`: MySQL primary or SQLite).
//!
//! Tables are created by `migrations/{mysql,sqlite}/0100_live.sql`. Writes
//! go to the primary pool given here; the quiz is read from the primary
//! too, because a host creates a session right after editing the quiz
//! (read-your-own-write).

use sdk::live::{ScoringRules, Standing};
use sqlx::{AnyPool, Row};

use super::{FinalRow, LiveStore, StoreError, StoreFuture};
use crate::live::engine::{LiveQuestion, PendingAnswer};

/// Rows per multi-row INSERT: 9 placeholders each stays under SQLite's
/// 32,766 and MySQL's 65,535 placeholder limits.
const ROWS_PER_STATEMENT: usize = 3_000;

/// SQL-backed store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    mysql: bool,
}

impl SqlStore {
    /// A store over `pool`; `mysql` selects the dialect (`INSERT IGNORE`
    /// vs `INSERT OR IGNORE`).
    pub fn new(pool: AnyPool, mysql: bool) -> Self {
        SqlStore { pool, mysql }
    }

    fn insert_ignore(&self) -> &'static str {
        if self.mysql {
            "INSERT IGNORE INTO"
        } else {
            "INSERT OR IGNORE INTO"
        }
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
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
        let mut tx = self.pool.begin().await?;
        for chunk in answers.chunks(ROWS_PER_STATEMENT) {
            let mut sql = format!(
                "{} live_answers (session_id, question_index, player_id, question_id, choices, \
                 correct, points, elapsed_ms, answered_at) VALUES ",
                self.insert_ignore()
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?,?,?,?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?,?,?,?)"
                });
            }
            let mut q = sqlx::query(&sql);
            for a in chunk {
                let choices: Vec<String> = a.choices.iter().map(u32::to_string).collect();
                q = q
                    .bind(a.session_id)
                    .bind(i64::from(a.question))
                    .bind(a.player as i64)
                    .bind(a.question_id)
                    .bind(choices.join(","))
                    .bind(i64::from(a.correct))
                    .bind(i64::from(a.points))
                    .bind(i64::from(a.elapsed_ms))
                    .bind(a.answered_at);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
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
            .bind(Self::now_ms())
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

    fn create_session<'a>(
        &'a self,
        code: &'a str,
        quiz_id: i64,
        host_user_id: i64,
        rules: &'a ScoringRules,
    ) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let scoring = serde_json::to_string(rules).map_err(|e| StoreError(e.to_string()))?;
            let mut conn = self.pool.acquire().await?;
            let res = sqlx::query(
                "INSERT INTO live_sessions (code, quiz_id, host_user_id, status, scoring, created_at) \
                 VALUES (?, ?, ?, 'live', ?, ?)",
            )
            .bind(code.to_string())
            .bind(quiz_id)
            .bind(host_user_id)
            .bind(scoring)
            .bind(Self::now_ms())
            .execute(&mut *conn)
            .await?;
            // Same connection: SQLite's last_insert_rowid() is per connection.
            Ok(crate::db::inserted_id(&mut conn, &res).await?)
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
