//! Checkpoints of running sessions in the database, for a gateway without Redis Cluster: the
//! restarted gateway resumes its sessions from them.
//!
//! `live_checkpoints` holds one row per session (its meta document and its phase document,
//! both JSON, and the time of the last write); `live_checkpoint_players` one row per player
//! (the player's record, JSON). The store keeps the documents as text: what is in them is the
//! live module's business. A checkpoint not written for `ttl` counts as gone, and is deleted
//! by the next [`LiveStore::create_checkpoint`].

use std::time::Duration;

use sqlx::Row;

use super::LiveStore;
use crate::db::{now_ms, Dialect};
use crate::store::{text_column, StoreError};

/// A session's checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRows {
    /// The meta document.
    pub meta: String,
    /// The phase document, if one was written.
    pub phase: Option<String>,
    /// Every player's record.
    pub players: Vec<String>,
}

/// One write to a session's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointWrite<'a> {
    /// Stores (or replaces) a player's record.
    Player {
        /// The player's id.
        id: u64,
        /// The record document.
        record: &'a str,
    },
    /// Forgets a player.
    Removed(u64),
    /// Replaces the phase document.
    Phase(&'a str),
    /// Deletes the whole checkpoint.
    Clear,
}

/// Unix ms before which a checkpoint last written counts as expired.
fn expired_before(ttl: Duration) -> i64 {
    now_ms().saturating_sub(ttl.as_millis().min(i64::MAX as u128) as i64)
}

/// Deletes `code`'s checkpoint (its players first), inside `tx`.
async fn clear(tx: &mut sqlx::Transaction<'_, sqlx::Any>, code: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM live_checkpoint_players WHERE code = ?")
        .bind(code)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM live_checkpoints WHERE code = ?")
        .bind(code)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl LiveStore {
    /// Whether a checkpoint written within `ttl` holds `code`.
    pub async fn checkpoint_exists(&self, code: &str, ttl: Duration) -> Result<bool, StoreError> {
        let codes = [code.to_string()];
        Ok(!self.checkpoints_existing(&codes, ttl).await?.is_empty())
    }

    /// Which of `codes` have an unexpired checkpoint, in one query per 500 codes.
    pub async fn checkpoints_existing(
        &self,
        codes: &[String],
        ttl: Duration,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in codes.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT code FROM live_checkpoints WHERE updated_at >= ? AND code IN ({marks})"
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(expired_before(ttl));
            for code in chunk {
                q = q.bind(code.clone());
            }
            found.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }

    /// Starts the checkpoint of a new session with its meta document, deleting expired
    /// checkpoints (and any leftover of this code: the caller checked it free) first.
    pub async fn create_checkpoint(
        &self,
        code: &str,
        meta: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.create_checkpoints(&[(code, meta)], ttl).await
    }

    /// [`LiveStore::create_checkpoint`] of several new sessions (code, meta document) in one
    /// transaction: all of them or none.
    pub async fn create_checkpoints(
        &self,
        sessions: &[(&str, &str)],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let expired = expired_before(ttl);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM live_checkpoint_players WHERE code IN \
             (SELECT code FROM live_checkpoints WHERE updated_at < ?)",
        )
        .bind(expired)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM live_checkpoints WHERE updated_at < ?")
            .bind(expired)
            .execute(&mut *tx)
            .await?;
        for &(code, meta) in sessions {
            clear(&mut tx, code).await?;
            sqlx::query(
                "INSERT INTO live_checkpoints (code, meta, phase, updated_at) \
                 VALUES (?, ?, NULL, ?)",
            )
            .bind(code)
            .bind(meta)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The checkpoint of `code` if one was written within `ttl`.
    pub async fn load_checkpoint(
        &self,
        code: &str,
        ttl: Duration,
    ) -> Result<Option<CheckpointRows>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT meta, phase FROM live_checkpoints WHERE code = ? AND updated_at >= ?",
        )
        .bind(code)
        .bind(expired_before(ttl))
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        // `meta` is MEDIUMTEXT on MySQL (a quiz of long questions outgrows a VARCHAR row),
        // which the Any driver reports as bytes.
        let meta = text_column(&row, "meta")?;
        let phase: Option<String> = row.try_get("phase")?;
        let players = sqlx::query("SELECT record FROM live_checkpoint_players WHERE code = ?")
            .bind(code)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("record"))
            .collect::<Result<_, _>>()?;
        Ok(Some(CheckpointRows {
            meta,
            phase,
            players,
        }))
    }

    /// Applies `writes` to the checkpoint of `code` in order, in one transaction, and marks it
    /// written now (unless it was cleared).
    pub async fn write_checkpoint(
        &self,
        code: &str,
        writes: &[CheckpointWrite<'_>],
    ) -> Result<(), StoreError> {
        let upsert = match self.dialect {
            Dialect::MySql => {
                "INSERT INTO live_checkpoint_players (code, player_id, record) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE record = VALUES(record)"
            }
            Dialect::Sqlite => {
                "INSERT OR REPLACE INTO live_checkpoint_players (code, player_id, record) \
                 VALUES (?, ?, ?)"
            }
        };
        let mut tx = self.pool.begin().await?;
        let mut cleared = false;
        for w in writes {
            match *w {
                CheckpointWrite::Player { id, record } => {
                    sqlx::query(upsert)
                        .bind(code)
                        .bind(id as i64)
                        .bind(record)
                        .execute(&mut *tx)
                        .await?;
                }
                CheckpointWrite::Removed(id) => {
                    sqlx::query(
                        "DELETE FROM live_checkpoint_players WHERE code = ? AND player_id = ?",
                    )
                    .bind(code)
                    .bind(id as i64)
                    .execute(&mut *tx)
                    .await?;
                }
                CheckpointWrite::Phase(phase) => {
                    sqlx::query("UPDATE live_checkpoints SET phase = ? WHERE code = ?")
                        .bind(phase)
                        .bind(code)
                        .execute(&mut *tx)
                        .await?;
                }
                CheckpointWrite::Clear => {
                    clear(&mut tx, code).await?;
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[tokio::test]
    async fn checkpoints_round_trip_in_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::Config::for_tests(dir.path());
        let db = crate::db::Db::connect(&config).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let store = LiveStore::new(&db);
        assert!(!store.checkpoint_exists("123456", DAY).await.unwrap());
        store
            .create_checkpoint("123456", r#"{"m":1}"#, DAY)
            .await
            .expect("create");
        assert!(store.checkpoint_exists("123456", DAY).await.unwrap());
        // Several codes asked at once: only those with a checkpoint come back.
        let asked: Vec<String> = ["654321", "123456", "000001"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let found = store.checkpoints_existing(&asked, DAY).await.unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), vec!["123456"]);
        assert!(store
            .checkpoints_existing(&[], DAY)
            .await
            .unwrap()
            .is_empty());
        let writes = [
            CheckpointWrite::Player {
                id: 1,
                record: "p1",
            },
            CheckpointWrite::Player {
                id: 2,
                record: "p2",
            },
            CheckpointWrite::Player {
                id: 3,
                record: "p3",
            },
            CheckpointWrite::Removed(2),
            CheckpointWrite::Phase("phase"),
            // A repeated record (an account rejoining) replaces the first.
            CheckpointWrite::Player {
                id: 3,
                record: "p3 again",
            },
        ];
        store
            .write_checkpoint("123456", &writes)
            .await
            .expect("write");
        let mut saved = store
            .load_checkpoint("123456", DAY)
            .await
            .unwrap()
            .expect("saved");
        saved.players.sort();
        assert_eq!(
            saved,
            CheckpointRows {
                meta: r#"{"m":1}"#.into(),
                phase: Some("phase".into()),
                players: vec!["p1".into(), "p3 again".into()],
            }
        );
        assert!(store
            .load_checkpoint("654321", DAY)
            .await
            .unwrap()
            .is_none());
        // Not written for longer than the lifetime: gone.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let short = Duration::from_millis(1);
        assert!(!store.checkpoint_exists("123456", short).await.unwrap());
        assert!(store
            .load_checkpoint("123456", short)
            .await
            .unwrap()
            .is_none());
        store
            .write_checkpoint("123456", &[CheckpointWrite::Clear])
            .await
            .expect("clear");
        assert!(store
            .load_checkpoint("123456", DAY)
            .await
            .unwrap()
            .is_none());
        assert!(!store.checkpoint_exists("123456", DAY).await.unwrap());
        db.close().await;
    }
}
