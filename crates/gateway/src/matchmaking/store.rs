//! The matchmaking tables (`migrations/*/0210_matchmaking.sql`,
//! `0220_ghosts.sql`): the shared queue, the authority's lease, formed
//! matches, questions seen, the default rating book's results, and the
//! recorded duels offered as ghosts. Every statement runs on both dialects.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyPool, Row as _};

use crate::db::{Db, Dialect};
use crate::store::quizzes::PlayableQuestion;
use crate::store::{placeholders, StoreError};

/// A queued ticket as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedRow {
    /// Account.
    pub user_id: i64,
    /// Ticket id (tells a ticket from a later one of the same account).
    pub ticket: String,
    /// Topic or any.
    pub topic: Option<String>,
    /// Players wanted.
    pub size: u32,
    /// Rating when queued.
    pub rating: f64,
    /// When queued (ms, the matchmaker's clock).
    pub enqueued_at: i64,
}

/// A ticket the authority put in a match whose session exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// Account.
    pub user_id: i64,
    /// Ticket id.
    pub ticket: String,
    /// Match id.
    pub match_id: String,
    /// The match's join code.
    pub code: String,
    /// The match's details (JSON of `MatchDetails`).
    pub details: String,
}

/// A formed match whose session finished and whose result is not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Match id.
    pub match_id: String,
    /// Its session.
    pub session_id: i64,
    /// Topic or mixed.
    pub topic: Option<String>,
    /// JSON of `MatchDetails`.
    pub details: String,
    /// When the session finished (ms).
    pub finished_at: i64,
}

/// A final standing of a match's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalStanding {
    /// Account.
    pub account_id: i64,
    /// Rank (1 = best; ties share it).
    pub rank: u32,
    /// Points.
    pub score: i64,
    /// Not connected at the end.
    pub left: bool,
}

/// A recorded duel player that can be replayed as a ghost.
#[derive(Debug, Clone, PartialEq)]
pub struct GhostRow {
    /// The recorded match.
    pub match_id: String,
    /// The recorded player.
    pub user_id: i64,
    /// Their rating when they queued for it.
    pub rating: f64,
    /// Their nickname in it.
    pub nickname: String,
    /// Its topic (`None`: mixed).
    pub topic: Option<String>,
    /// Its live session (the answers are read back from it).
    pub session_id: i64,
    /// Their player id in that session.
    pub player_id: i64,
    /// The question ids, in order.
    pub questions: Vec<i64>,
}

/// One answer of a recorded player, read back from `live_answers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    /// The question.
    pub question_id: i64,
    /// The choices.
    pub choices: Vec<u32>,
    /// When, ms after the question opened.
    pub elapsed_ms: u32,
}

/// A group the authority wants to put in a match ([`MatchStore::claim_many`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The new match's id.
    pub match_id: String,
    /// Its members' `(account, ticket)`.
    pub members: Vec<(i64, String)>,
    /// Topic or mixed.
    pub topic: Option<String>,
    /// JSON of `MatchDetails`.
    pub details: String,
}

/// A claimed match whose session now exists ([`MatchStore::started_many`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Match id.
    pub match_id: String,
    /// Its session.
    pub session_id: i64,
    /// The session's join code.
    pub code: String,
    /// The final details (JSON of `MatchDetails`, with the drawn questions).
    pub details: String,
    /// The members (they have now seen `questions`).
    pub users: Vec<i64>,
    /// The drawn questions.
    pub questions: Vec<i64>,
}

/// A result for the default rating book's `match_results`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// Match id (recorded once).
    pub match_id: String,
    /// Topic or mixed.
    pub topic: Option<String>,
    /// When it ended (ms).
    pub ended_at: i64,
    /// JSON of the players' results.
    pub players: String,
}

/// A finished duel's player to keep as a ghost ([`MatchStore::keep_ghosts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KeepGhost {
    /// The recorded match.
    pub match_id: String,
    /// The player.
    pub user_id: i64,
    /// Who they played.
    pub opponent_id: i64,
    /// Their rating when queued.
    pub rating: f64,
    /// Topic or mixed.
    pub topic: Option<String>,
    /// The match's session (their seat and answers are read from it).
    pub session_id: i64,
    /// The questions (JSON array of ids).
    pub questions: String,
}

/// The matchmaking tables on the primary. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MatchStore {
    pool: AnyPool,
    dialect: Dialect,
}

impl MatchStore {
    /// The store over `db`'s primary.
    pub fn new(db: &Db) -> Self {
        MatchStore {
            pool: db.primary().clone(),
            dialect: db.dialect(),
        }
    }

    /// The pool (for the default rating book).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn insert_ignore(&self) -> &'static str {
        match self.dialect {
            Dialect::MySql => "INSERT IGNORE INTO",
            Dialect::Sqlite => "INSERT OR IGNORE INTO",
        }
    }

    /// Queues a ticket; false when the account already has one that is
    /// alive (heartbeat at or after `stale_before`). A stale one is replaced.
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue(
        &self,
        row: &QueuedRow,
        gateway: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM mm_queue WHERE user_id = ? AND heartbeat_ms < ?")
            .bind(row.user_id)
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        let res = sqlx::query(&format!(
            "{} mm_queue (user_id, ticket, topic, size, rating, enqueued_at, gateway, \
             heartbeat_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.insert_ignore()
        ))
        .bind(row.user_id)
        .bind(row.ticket.clone())
        .bind(row.topic.clone())
        .bind(i64::from(row.size))
        .bind(row.rating)
        .bind(row.enqueued_at)
        .bind(gateway.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Takes a ticket out of the queue if no match claimed it; false when
    /// one did (the player gets that match).
    pub async fn leave(&self, user_id: i64, ticket: &str) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "DELETE FROM mm_queue WHERE user_id = ? AND ticket = ? AND match_id IS NULL",
        )
        .bind(user_id)
        .bind(ticket.to_string())
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Removes a ticket whatever its state (its socket is gone, or its
    /// match was delivered).
    pub async fn remove(&self, user_id: i64, ticket: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mm_queue WHERE user_id = ? AND ticket = ?")
            .bind(user_id)
            .bind(ticket.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes this gateway's tickets of the given matches (delivered).
    pub async fn remove_matched(
        &self,
        gateway: &str,
        match_ids: &[String],
    ) -> Result<(), StoreError> {
        if match_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM mm_queue WHERE gateway = ? AND match_id IN ({})",
            placeholders(match_ids.len())
        );
        let mut q = sqlx::query(&sql).bind(gateway.to_string());
        for m in match_ids {
            q = q.bind(m.clone());
        }
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Refreshes the heartbeat of every ticket this gateway holds.
    pub async fn heartbeat(&self, gateway: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE mm_queue SET heartbeat_ms = ? WHERE gateway = ?")
            .bind(now)
            .bind(gateway.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// This gateway's tickets that a match with a session claimed.
    pub async fn assigned(&self, gateway: &str) -> Result<Vec<Assigned>, StoreError> {
        let rows = sqlx::query(
            "SELECT q.user_id AS user_id, q.ticket AS ticket, q.match_id AS match_id, \
             q.code AS code, m.members AS details FROM mm_queue q \
             JOIN mm_matches m ON m.match_id = q.match_id \
             WHERE q.gateway = ? AND q.code IS NOT NULL",
        )
        .bind(gateway.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Assigned {
                    user_id: r.try_get("user_id")?,
                    ticket: r.try_get("ticket")?,
                    match_id: r.try_get("match_id")?,
                    code: r.try_get("code")?,
                    details: crate::store::text_column(r, "details")?,
                })
            })
            .collect()
    }

    /// Removes tickets whose gateway stopped refreshing them (it died) and
    /// returns the waiting ones (no match yet).
    pub async fn waiting(&self, stale_before: i64) -> Result<Vec<QueuedRow>, StoreError> {
        sqlx::query("DELETE FROM mm_queue WHERE heartbeat_ms < ?")
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT user_id, ticket, topic, size, rating, enqueued_at FROM mm_queue \
             WHERE match_id IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueuedRow {
                    user_id: r.try_get("user_id")?,
                    ticket: r.try_get("ticket")?,
                    topic: r.try_get("topic")?,
                    size: r.try_get::<i64, _>("size")?.clamp(0, 64) as u32,
                    rating: r.try_get("rating")?,
                    enqueued_at: r.try_get("enqueued_at")?,
                })
            })
            .collect()
    }

    /// Claims every ticket of a group for `match_id` and records the match,
    /// in one transaction; false (nothing changed) when any ticket is gone
    /// or already claimed - so no ticket is ever in two matches, whoever
    /// runs this concurrently.
    pub async fn claim(
        &self,
        match_id: &str,
        members: &[(i64, String)],
        topic: Option<&str>,
        details: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        for (user, ticket) in members {
            let res = sqlx::query(
                "UPDATE mm_queue SET match_id = ? WHERE user_id = ? AND ticket = ? \
                 AND match_id IS NULL",
            )
            .bind(match_id.to_string())
            .bind(*user)
            .bind(ticket.clone())
            .execute(&mut *tx)
            .await?;
            if res.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        insert_match(&mut tx, match_id, topic, details, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// [`MatchStore::claim`] for several groups in one transaction (one
    /// commit for a whole matchmaker turn). Each group is still all or
    /// nothing: its tickets are claimed one by one with the same conditional
    /// update, and if one is gone or already claimed, the tickets of that
    /// group claimed so far are put back (same transaction) and its match is
    /// not recorded. Returns, per group in order, whether it was claimed.
    /// Groups sharing a ticket: the first claims it, the later fail.
    pub async fn claim_many(&self, claims: &[Claim], now: i64) -> Result<Vec<bool>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(claims.len());
        for c in claims {
            let mut taken = 0;
            for (user, ticket) in &c.members {
                let res = sqlx::query(
                    "UPDATE mm_queue SET match_id = ? WHERE user_id = ? AND ticket = ? \
                     AND match_id IS NULL",
                )
                .bind(c.match_id.clone())
                .bind(*user)
                .bind(ticket.clone())
                .execute(&mut *tx)
                .await?;
                if res.rows_affected() != 1 {
                    break;
                }
                taken += 1;
            }
            if taken < c.members.len() {
                for (user, ticket) in &c.members[..taken] {
                    sqlx::query(
                        "UPDATE mm_queue SET match_id = NULL WHERE user_id = ? AND ticket = ? \
                         AND match_id = ?",
                    )
                    .bind(*user)
                    .bind(ticket.clone())
                    .bind(c.match_id.clone())
                    .execute(&mut *tx)
                    .await?;
                }
                out.push(false);
                continue;
            }
            insert_match(&mut tx, &c.match_id, c.topic.as_deref(), &c.details, now).await?;
            out.push(true);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// [`MatchStore::started`] and [`MatchStore::mark_seen`] for several
    /// matches, in one transaction.
    pub async fn started_many(&self, started: &[Started], now: i64) -> Result<(), StoreError> {
        if started.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for m in started {
            sqlx::query(
                "UPDATE mm_matches SET session_id = ?, code = ?, members = ? WHERE match_id = ?",
            )
            .bind(m.session_id)
            .bind(m.code.clone())
            .bind(m.details.clone())
            .bind(m.match_id.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE mm_queue SET code = ? WHERE match_id = ?")
                .bind(m.code.clone())
                .bind(m.match_id.clone())
                .execute(&mut *tx)
                .await?;
            self.seen_on(&mut tx, &m.users, &m.questions, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The match's session exists: its details are final (with the drawn
    /// questions) and its tickets get the code.
    pub async fn started(
        &self,
        match_id: &str,
        session_id: i64,
        code: &str,
        details: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE mm_matches SET session_id = ?, code = ?, members = ? WHERE match_id = ?",
        )
        .bind(session_id)
        .bind(code.to_string())
        .bind(details.to_string())
        .bind(match_id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE mm_queue SET code = ? WHERE match_id = ?")
            .bind(code.to_string())
            .bind(match_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The match could not start: its tickets wait again, the match is gone.
    pub async fn unclaim(&self, match_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE mm_queue SET match_id = NULL WHERE match_id = ?")
            .bind(match_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mm_matches WHERE match_id = ?")
            .bind(match_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`;
    /// whether `holder` holds it now.
    pub async fn lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query(&format!(
            "{} mm_lease (name, holder, expires_ms) VALUES (?, ?, ?)",
            self.insert_ignore()
        ))
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(now + ttl_ms)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "UPDATE mm_lease SET holder = ?, expires_ms = ? WHERE name = ? \
             AND (holder = ? OR expires_ms < ?)",
        )
        .bind(holder.to_string())
        .bind(now + ttl_ms)
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT holder, expires_ms FROM mm_lease WHERE name = ?")
            .bind(name.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => {
                r.try_get::<String, _>("holder")? == holder
                    && r.try_get::<i64, _>("expires_ms")? > now
            }
            None => false,
        })
    }

    /// Gives the lease up (the next gateway takes it at once).
    pub async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE mm_lease SET expires_ms = 0 WHERE name = ? AND holder = ?")
            .bind(name.to_string())
            .bind(holder.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Matches whose session finished and whose result is not recorded yet.
    pub async fn finished(&self) -> Result<Vec<Finished>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.match_id AS match_id, m.session_id AS session_id, m.topic AS topic, \
             m.members AS details, s.finished_at AS finished_at FROM mm_matches m \
             JOIN live_sessions s ON s.id = m.session_id \
             WHERE m.recorded_at IS NULL AND s.status = 'finished' LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Finished {
                    match_id: r.try_get("match_id")?,
                    session_id: r.try_get("session_id")?,
                    topic: r.try_get("topic")?,
                    details: crate::store::text_column(r, "details")?,
                    finished_at: r.try_get::<Option<i64>, _>("finished_at")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// The final standings of a session's accounts.
    pub async fn standings(&self, session_id: i64) -> Result<Vec<FinalStanding>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, final_rank, score, left_match FROM live_standings \
             WHERE session_id = ? AND account_id IS NOT NULL ORDER BY final_rank",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FinalStanding {
                    account_id: r.try_get("account_id")?,
                    rank: r
                        .try_get::<i64, _>("final_rank")?
                        .clamp(1, i64::from(u32::MAX)) as u32,
                    score: r.try_get("score")?,
                    left: r.try_get::<i64, _>("left_match")? != 0,
                })
            })
            .collect()
    }

    /// The final standings of several sessions, by session.
    pub async fn standings_of(
        &self,
        session_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<FinalStanding>>, StoreError> {
        let mut out: std::collections::HashMap<i64, Vec<FinalStanding>> =
            std::collections::HashMap::new();
        for chunk in session_ids.chunks(200) {
            let sql = format!(
                "SELECT session_id, account_id, final_rank, score, left_match FROM live_standings \
                 WHERE session_id IN ({}) AND account_id IS NOT NULL ORDER BY final_rank",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.entry(r.try_get("session_id")?)
                    .or_default()
                    .push(FinalStanding {
                        account_id: r.try_get("account_id")?,
                        rank: r
                            .try_get::<i64, _>("final_rank")?
                            .clamp(1, i64::from(u32::MAX)) as u32,
                        score: r.try_get("score")?,
                        left: r.try_get::<i64, _>("left_match")? != 0,
                    });
            }
        }
        Ok(out)
    }

    /// The results of these matches reached the rating book (one statement).
    pub async fn mark_recorded_many(
        &self,
        match_ids: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        for chunk in match_ids.chunks(200) {
            let sql = format!(
                "UPDATE mm_matches SET recorded_at = ? WHERE recorded_at IS NULL \
                 AND match_id IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(now);
            for m in chunk {
                q = q.bind(m.clone());
            }
            q.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// [`MatchStore::record_result`] for several results in one
    /// transaction; per result, whether it was new (false: its match id
    /// was recorded before and nothing changed).
    pub async fn record_results(&self, rows: &[ResultRow]) -> Result<Vec<bool>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} match_results (match_id, topic, ended_at, players) VALUES (?, ?, ?, ?)",
            self.insert_ignore()
        );
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let res = sqlx::query(&sql)
                .bind(r.match_id.clone())
                .bind(r.topic.clone())
                .bind(r.ended_at)
                .bind(r.players.clone())
                .execute(&mut *tx)
                .await?;
            out.push(res.rows_affected() == 1);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// [`MatchStore::keep_ghost`] for several players, in one transaction.
    pub async fn keep_ghosts(&self, ghosts: &[KeepGhost], now: i64) -> Result<(), StoreError> {
        if ghosts.is_empty() {
            return Ok(());
        }
        let sql = self.keep_ghost_sql();
        let mut tx = self.pool.begin().await?;
        for g in ghosts {
            sqlx::query(&sql)
                .bind(g.match_id.clone())
                .bind(g.user_id)
                .bind(g.opponent_id)
                .bind(g.rating)
                .bind(g.topic.clone())
                .bind(g.session_id)
                .bind(g.questions.clone())
                .bind(now)
                .bind(g.session_id)
                .bind(g.user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn keep_ghost_sql(&self) -> String {
        format!(
            "{} mm_ghosts (match_id, user_id, opponent_id, rating, nickname, topic, session_id, \
             player_id, questions, created_at) SELECT ?, ?, ?, ?, nickname, ?, ?, player_id, ?, ? \
             FROM live_standings WHERE session_id = ? AND account_id = ?",
            self.insert_ignore()
        )
    }

    /// The match's result reached the rating book.
    pub async fn mark_recorded(&self, match_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mm_matches SET recorded_at = ? WHERE match_id = ? AND recorded_at IS NULL",
        )
        .bind(now)
        .bind(match_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ids of playable candidates: the topic (or any), difficulty within
    /// `difficulty`, at most `limit`.
    pub async fn candidates(
        &self,
        topic: Option<&str>,
        difficulty: (u8, u8),
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let mut sql = String::from(
            "SELECT q.id AS id FROM questions q WHERE q.difficulty BETWEEN ? AND ? \
             AND EXISTS (SELECT 1 FROM choices c WHERE c.question_id = q.id AND c.is_correct <> 0)",
        );
        if topic.is_some() {
            sql.push_str(" AND q.topic = ?");
        }
        sql.push_str(" LIMIT ?");
        let mut q = sqlx::query(&sql)
            .bind(i64::from(difficulty.0))
            .bind(i64::from(difficulty.1));
        if let Some(t) = topic {
            q = q.bind(t.to_string());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>("id")?))
            .collect()
    }

    /// A pool of playable candidates of the topic (or any), with their
    /// difficulty (1-5): the whole bank when it has at most `limit`, else
    /// `limit` of them with consecutive ids from a point `start` (0-1) of
    /// the way between the topic's lowest and highest id, wrapping around.
    ///
    /// The window keeps the cost the same at any bank size (two index range
    /// reads of `limit` rows), where a random order would read and sort the
    /// topic's whole bank for every chunk of matches; a random `start` per
    /// chunk still spreads the draws over the whole bank, and a window of
    /// thousands leaves enough questions unseen by any one chunk's players.
    pub async fn candidate_pool(
        &self,
        topic: Option<&str>,
        limit: u32,
        start: f64,
    ) -> Result<Vec<(i64, u8)>, StoreError> {
        let on_topic = if topic.is_some() {
            " AND q.topic = ?"
        } else {
            ""
        };
        let bounds = format!(
            "SELECT MIN(q.id) AS lo, MAX(q.id) AS hi FROM questions q WHERE 1 = 1{on_topic}"
        );
        let mut q = sqlx::query(&bounds);
        if let Some(t) = topic {
            q = q.bind(t.to_string());
        }
        let row = q.fetch_one(&self.pool).await?;
        let (Some(lo), Some(hi)) = (
            row.try_get::<Option<i64>, _>("lo")?,
            row.try_get::<Option<i64>, _>("hi")?,
        ) else {
            return Ok(Vec::new());
        };
        let from = lo + ((hi - lo) as f64 * start.clamp(0.0, 1.0)) as i64;
        let part = |cmp: &str| {
            format!(
                "SELECT id, difficulty FROM (SELECT q.id AS id, q.difficulty AS difficulty \
                 FROM questions q WHERE q.id {cmp} ?{on_topic} AND q.difficulty BETWEEN 1 AND 5 \
                 AND EXISTS (SELECT 1 FROM choices c WHERE c.question_id = q.id \
                 AND c.is_correct <> 0) ORDER BY q.id LIMIT ?)"
            )
        };
        let sql = format!("{} w1 UNION ALL {} w2", part(">="), part("<"));
        let mut q = sqlx::query(&sql).bind(from);
        if let Some(t) = topic {
            q = q.bind(t.to_string());
        }
        q = q.bind(i64::from(limit)).bind(from);
        if let Some(t) = topic {
            q = q.bind(t.to_string());
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        let mut pool = rows
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let d: i64 = r.try_get("difficulty")?;
                Ok((id, d.clamp(1, 5) as u8))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // From `from` up, then the wrapped part from the lowest id.
        pool.sort_by_key(|&(id, _)| (id < from, id));
        pool.truncate(limit as usize);
        Ok(pool)
    }

    /// The questions each of `users` saw at or after `since` (a user who
    /// saw none has no entry).
    pub async fn seen_by(
        &self,
        users: &[i64],
        since: i64,
    ) -> Result<HashMap<i64, HashSet<i64>>, StoreError> {
        let mut seen: HashMap<i64, HashSet<i64>> = HashMap::new();
        if users.is_empty() {
            return Ok(seen);
        }
        let sql = format!(
            "SELECT user_id, question_id FROM mm_seen WHERE user_id IN ({}) AND seen_at >= ?",
            placeholders(users.len())
        );
        let mut q = sqlx::query(&sql);
        for u in users {
            q = q.bind(*u);
        }
        for r in q.bind(since).fetch_all(&self.pool).await? {
            seen.entry(r.try_get("user_id")?)
                .or_default()
                .insert(r.try_get("question_id")?);
        }
        Ok(seen)
    }

    /// The questions `ids` with their choices and keys, in the order given.
    pub async fn playable(
        &self,
        ids: &[i64],
        time_limit_ms: u32,
    ) -> Result<Vec<PlayableQuestion>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT q.id AS id, q.text AS text, c.text AS choice, c.is_correct AS is_correct \
             FROM questions q JOIN choices c ON c.question_id = q.id WHERE q.id IN ({}) \
             ORDER BY q.id, c.position, c.id",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut by_id: std::collections::HashMap<i64, PlayableQuestion> =
            std::collections::HashMap::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let e = by_id.entry(id).or_insert_with(|| PlayableQuestion {
                question_id: id,
                text: String::new(),
                choices: Vec::new(),
                correct: Vec::new(),
                time_limit_ms,
            });
            if e.choices.is_empty() {
                e.text = crate::store::text_column(r, "text")?;
            }
            if r.try_get::<i64, _>("is_correct")? != 0 {
                e.correct.push(e.choices.len() as u32);
            }
            e.choices.push(crate::store::text_column(r, "choice")?);
        }
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|q| q.choices.len() >= 2 && !q.correct.is_empty())
            .collect())
    }

    /// Remembers that `users` got `questions` at `now`.
    pub async fn mark_seen(
        &self,
        users: &[i64],
        questions: &[i64],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        self.seen_on(&mut conn, users, questions, now).await
    }

    async fn seen_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        users: &[i64],
        questions: &[i64],
        now: i64,
    ) -> Result<(), StoreError> {
        if users.is_empty() || questions.is_empty() {
            return Ok(());
        }
        let n = users.len() * questions.len();
        let values = vec!["(?, ?, ?)"; n].join(", ");
        let sql = match self.dialect {
            Dialect::MySql => format!(
                "INSERT INTO mm_seen (user_id, question_id, seen_at) VALUES {values} \
                 ON DUPLICATE KEY UPDATE seen_at = VALUES(seen_at)"
            ),
            Dialect::Sqlite => format!(
                "INSERT INTO mm_seen (user_id, question_id, seen_at) VALUES {values} \
                 ON CONFLICT (user_id, question_id) DO UPDATE SET seen_at = excluded.seen_at"
            ),
        };
        let mut q = sqlx::query(&sql);
        for u in users {
            for qid in questions {
                q = q.bind(*u).bind(*qid).bind(now);
            }
        }
        q.execute(&mut *conn).await?;
        Ok(())
    }

    /// Records a match result once (the default rating book): false when
    /// `match_id` was recorded before.
    pub async fn record_result(
        &self,
        match_id: &str,
        topic: Option<&str>,
        ended_at: i64,
        players: &str,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query(&format!(
            "{} match_results (match_id, topic, ended_at, players) VALUES (?, ?, ?, ?)",
            self.insert_ignore()
        ))
        .bind(match_id.to_string())
        .bind(topic.map(str::to_string))
        .bind(ended_at)
        .bind(players.to_string())
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records a match that has no tickets (a ghost duel).
    pub async fn open_match(
        &self,
        match_id: &str,
        topic: Option<&str>,
        details: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_match(&mut conn, match_id, topic, details, now).await
    }

    /// Keeps a finished duel's player as a ghost (once per match and
    /// player): their seat in the session's standings, their rating when
    /// queued, the questions (JSON array of ids).
    #[allow(clippy::too_many_arguments)]
    pub async fn keep_ghost(
        &self,
        match_id: &str,
        user_id: i64,
        opponent_id: i64,
        rating: f64,
        topic: Option<&str>,
        session_id: i64,
        questions: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(&self.keep_ghost_sql())
            .bind(match_id.to_string())
            .bind(user_id)
            .bind(opponent_id)
            .bind(rating)
            .bind(topic.map(str::to_string))
            .bind(session_id)
            .bind(questions.to_string())
            .bind(now)
            .bind(session_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The recorded player closest in rating to `rating` for `user_id`, at
    /// most `max_gap` away (their rating when recorded): not themself,
    /// nobody they played (live or as a ghost) at or after `since`, on
    /// `topic` (any topic when `None`).
    pub async fn pick_ghost(
        &self,
        user_id: i64,
        rating: f64,
        max_gap: f64,
        topic: Option<&str>,
        since: i64,
    ) -> Result<Option<GhostRow>, StoreError> {
        let mut sql = String::from(
            "SELECT g.match_id AS match_id, g.user_id AS user_id, g.rating AS rating, \
             g.nickname AS nickname, g.topic AS topic, g.session_id AS session_id, \
             g.player_id AS player_id, g.questions AS questions FROM mm_ghosts g \
             WHERE g.user_id <> ? \
             AND g.user_id NOT IN (SELECT o.user_id FROM mm_ghosts o \
               WHERE o.opponent_id = ? AND o.created_at >= ?) \
             AND g.user_id NOT IN (SELECT r.ghost_user_id FROM mm_ghost_runs r \
               WHERE r.user_id = ? AND r.played_at >= ?) \
             AND g.rating BETWEEN ? AND ?",
        );
        if topic.is_some() {
            sql.push_str(" AND g.topic = ?");
        }
        sql.push_str(" ORDER BY ABS(g.rating - ?), g.created_at DESC LIMIT 1");
        let mut q = sqlx::query(&sql)
            .bind(user_id)
            .bind(user_id)
            .bind(since)
            .bind(user_id)
            .bind(since)
            .bind(rating - max_gap)
            .bind(rating + max_gap);
        if let Some(t) = topic {
            q = q.bind(t.to_string());
        }
        let Some(r) = q.bind(rating).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let questions = crate::store::text_column(&r, "questions")?;
        Ok(Some(GhostRow {
            match_id: r.try_get("match_id")?,
            user_id: r.try_get("user_id")?,
            rating: r.try_get("rating")?,
            nickname: crate::store::text_column(&r, "nickname")?,
            topic: r.try_get("topic")?,
            session_id: r.try_get("session_id")?,
            player_id: r.try_get("player_id")?,
            questions: serde_json::from_str(&questions)?,
        }))
    }

    /// Which of the questions `ids` `user_id` saw at or after `since`.
    pub async fn seen_among(
        &self,
        user_id: i64,
        ids: &[i64],
        since: i64,
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let sql = format!(
            "SELECT question_id FROM mm_seen WHERE user_id = ? AND seen_at >= ? \
             AND question_id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql).bind(user_id).bind(since);
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("question_id").map_err(StoreError::from))
            .collect()
    }

    /// A recorded player's answers, read back from the session's answers.
    pub async fn recorded_answers(
        &self,
        session_id: i64,
        player_id: i64,
    ) -> Result<Vec<RecordedAnswer>, StoreError> {
        let rows = sqlx::query(
            "SELECT question_id, choices, elapsed_ms FROM live_answers \
             WHERE session_id = ? AND player_id = ? ORDER BY question_index",
        )
        .bind(session_id)
        .bind(player_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordedAnswer {
                    question_id: r.try_get("question_id")?,
                    choices: crate::store::live::answers::parse_choices(
                        &crate::store::text_column(r, "choices")?,
                    ),
                    elapsed_ms: r
                        .try_get::<i64, _>("elapsed_ms")?
                        .clamp(0, i64::from(u32::MAX)) as u32,
                })
            })
            .collect()
    }

    /// `user_id` played `ghost_user_id`'s ghost at `now`.
    pub async fn ghost_played(
        &self,
        user_id: i64,
        ghost_user_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let sql = match self.dialect {
            Dialect::MySql => {
                "INSERT INTO mm_ghost_runs (user_id, ghost_user_id, played_at) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE played_at = VALUES(played_at)"
            }
            Dialect::Sqlite => {
                "INSERT INTO mm_ghost_runs (user_id, ghost_user_id, played_at) VALUES (?, ?, ?) \
                 ON CONFLICT (user_id, ghost_user_id) DO UPDATE SET played_at = excluded.played_at"
            }
        };
        sqlx::query(sql)
            .bind(user_id)
            .bind(ghost_user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The `mm_matches` row of a new match (claimed, or a ghost duel without tickets).
async fn insert_match(
    conn: &mut sqlx::AnyConnection,
    match_id: &str,
    topic: Option<&str>,
    details: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mm_matches (match_id, topic, members, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(match_id.to_string())
    .bind(topic.map(str::to_string))
    .bind(details.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
