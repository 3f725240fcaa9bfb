//! Session rows (`live_sessions`) and final standings (`live_standings`), and what creating
//! a session reads: the quiz to play and whether its host may play it.

use livequiz_sdk::live::{ScoringRules, Standing};
use sqlx::Row;

use super::{FinalRow, HostQuota, HostRights, LiveStore};
use crate::db::now_ms;
use crate::store::quizzes::{playable, PlayableQuestion};
use crate::store::StoreError;

/// Tries of a session insert that MySQL chose as a deadlock victim.
const CREATE_ATTEMPTS: u32 = 5;

impl LiveStore {
    /// The questions of quiz `quiz_id` with their answer keys, in play order (one query, see
    /// [`playable`]); `None` if the quiz does not exist.
    pub async fn quiz(&self, quiz_id: i64) -> Result<Option<Vec<PlayableQuestion>>, StoreError> {
        playable(&self.pool, quiz_id).await
    }

    /// What decides whether `user_id` may host `quiz_id`; `None` if the quiz does not exist.
    pub async fn host_rights(
        &self,
        quiz_id: i64,
        user_id: i64,
    ) -> Result<Option<HostRights>, StoreError> {
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
    }

    /// Records a new live session and returns its id; `None` when the host already has
    /// `quota.max_running` unfinished sessions (checked in the same statement).
    pub async fn create_session(
        &self,
        code: &str,
        quiz_id: i64,
        host_user_id: i64,
        rules: &ScoringRules,
        quota: Option<HostQuota>,
    ) -> Result<Option<i64>, StoreError> {
        let scoring = serde_json::to_string(rules)?;
        let mut conn = self.pool.acquire().await?;
        // MySQL: two concurrent quota checks of one host lock the same index range and one
        // of them is chosen as a deadlock victim (SQLSTATE 40001, nothing written): run it
        // again.
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
                    if e.code().as_deref() == Some("40001") && attempt < CREATE_ATTEMPTS => {}
                Err(e) => return Err(e.into()),
            }
        };
        if res.rows_affected() == 0 {
            return Ok(None);
        }
        // Same connection: SQLite's last_insert_rowid() is per connection.
        Ok(Some(crate::store::inserted_id(&mut conn, &res).await?))
    }

    /// Stores final standings and marks the session finished, in one transaction.
    pub async fn finish_session(
        &self,
        session_id: i64,
        rows: &[FinalRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(500) {
            let mut sql = format!(
                "{} live_standings (session_id, player_id, nickname, account_id, final_rank, \
                 score, left_match) VALUES ",
                self.insert_ignore()
            );
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 {
                    "(?,?,?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?,?,?)"
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
                    .bind(r.standing.score)
                    .bind(i64::from(r.left));
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE live_sessions SET status = 'finished', finished_at = ?, players = ? \
             WHERE id = ?",
        )
        .bind(now_ms())
        .bind(rows.len() as i64)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stored final standings of a session, best first (empty until it finishes).
    pub async fn standings(&self, session_id: i64) -> Result<Vec<Standing>, StoreError> {
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
                rank: r.try_get::<i64, _>(0)?.max(0) as u64,
                player_id: r.try_get::<i64, _>(1)?.max(0) as u64,
                nickname: r.try_get(2)?,
                score: r.try_get(3)?,
            });
        }
        Ok(out)
    }
}
