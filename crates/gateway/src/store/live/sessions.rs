//! Session rows (`live_sessions`) and final standings (`live_standings`), and what creating
//! a session reads: the quiz to play and whether its host may play it.

use livequiz_sdk::live::{ScoringRules, Standing};
use sqlx::{AnyConnection, Row};

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
        let row = NewSession {
            code,
            quiz_id,
            host_user_id,
            rules,
        };
        let mut conn = self.pool.acquire().await?;
        // MySQL: two concurrent quota checks of one host lock the same index range and one
        // of them is chosen as a deadlock victim (SQLSTATE 40001, nothing written): run it
        // again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match insert_session(&mut conn, &row, quota).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.code().as_deref() == Some("40001") && attempt < CREATE_ATTEMPTS => {}
                res => return res,
            }
        }
    }

    /// Records new live sessions (no host quota: the server's own sessions) in one
    /// transaction, one insert each, and returns their ids in the order of `rows`; nothing
    /// is recorded if any insert fails.
    pub async fn create_sessions(&self, rows: &[NewSession<'_>]) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let id = insert_session(&mut tx, row, None).await?.ok_or_else(|| {
                StoreError::Unexpected("a session insert without a quota wrote no row".into())
            })?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
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

/// A session row to record ([`LiveStore::create_sessions`]).
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// The join code.
    pub code: &'a str,
    /// The quiz played (0: questions drawn by the server).
    pub quiz_id: i64,
    /// The host's user id (0: the server runs it).
    pub host_user_id: i64,
    /// The scoring rules.
    pub rules: &'a ScoringRules,
}

/// Inserts one session row on `conn`; `None` when `quota` is given and the host is at it.
async fn insert_session(
    conn: &mut AnyConnection,
    row: &NewSession<'_>,
    quota: Option<HostQuota>,
) -> Result<Option<i64>, StoreError> {
    let scoring = serde_json::to_string(row.rules)?;
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
        .bind(row.code.to_string())
        .bind(row.quiz_id)
        .bind(row.host_user_id)
        .bind(scoring)
        .bind(now_ms());
    if let Some(quota) = quota {
        q = q
            .bind(row.host_user_id)
            .bind(quota.since_ms)
            .bind(i64::from(quota.max_running));
    }
    let res = q.execute(&mut *conn).await?;
    if res.rows_affected() == 0 {
        return Ok(None);
    }
    // Same connection: SQLite's last_insert_rowid() is per connection, MySQL's
    // LAST_INSERT_ID() comes with each insert's result.
    Ok(Some(crate::store::inserted_id(conn, &res).await?))
}
