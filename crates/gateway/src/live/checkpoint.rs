//! Session checkpoints, so a session outlives the gateway process that runs
//! it: another gateway (Redis Cluster mode, see [`super::cluster`]) or the
//! restarted one (single gateway) takes it over from here.
//!
//! What is saved (behind [`CheckpointStore`]):
//!
//! - the [`SessionMeta`], written before the session's code is returned to
//!   the host;
//! - one [`PlayerRecord`] per player, written before the player's welcome
//!   (a welcome means the player can resume), rewritten when the host
//!   changes their extra time, removed when the host removes the player,
//!   kept marked banned when the host bans them;
//! - the [`PhaseCheckpoint`], written after each phase change and each
//!   lock or unlock.
//!
//! Scores are not here: they are recomputed from the durable answers. A
//! checkpoint expires `LIVE_CHECKPOINT_TTL_SECS` (a day) after its last
//! write and is deleted once the final standings are stored.
//!
//! Stores: [`RedisCheckpoints`] (keys `live:{<code>}:meta`, `:players` (a
//! hash by player id) and `:phase`, one hash tag per code so they share a
//! slot and a pipeline) when the gateway is in Redis Cluster mode, else the
//! database ([`SqlCheckpoints`] over the tables of
//! [`crate::store::live::LiveStore`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use tokio::sync::{mpsc, oneshot};

use super::engine::{PhaseCheckpoint, PhaseRecord, PlayerRecord, SessionMeta};
use super::lifecycle::Lifecycle;
use crate::store::live::{CheckpointWrite, LiveStore};

fn key(code: &str, part: &str) -> String {
    format!("live:{{{code}}}:{part}")
}

/// A session's saved state.
#[derive(Debug)]
pub struct Saved {
    /// The fixed part.
    pub meta: SessionMeta,
    /// Every player that got a welcome.
    pub players: Vec<PlayerRecord>,
    /// The last phase written (the lobby if none was).
    pub phase: PhaseCheckpoint,
}

/// Future of a [`CheckpointStore`] operation.
pub type CheckpointFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// Where checkpoints are kept.
pub trait CheckpointStore: Send + Sync + 'static {
    /// Whether a (possibly parked) session holds `code`.
    fn exists<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, bool>;
    /// Which of `codes` have a checkpoint; the stores override it to ask once for all of
    /// them instead of one after the other.
    fn existing<'a>(&'a self, codes: &'a [String]) -> CheckpointFuture<'a, HashSet<String>> {
        Box::pin(async move {
            let mut found = HashSet::new();
            for code in codes {
                if self.exists(code).await? {
                    found.insert(code.clone());
                }
            }
            Ok(found)
        })
    }
    /// Saves the fixed part of a new session.
    fn create<'a>(&'a self, meta: &'a SessionMeta) -> CheckpointFuture<'a, ()>;
    /// Saves the fixed parts of several new sessions; the stores override it to write them
    /// together (one transaction, one pipeline) instead of one after the other.
    fn create_many<'a>(&'a self, metas: &'a [SessionMeta]) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            for meta in metas {
                self.create(meta).await?;
            }
            Ok(())
        })
    }
    /// A session's checkpoint; `None` if there is none (or it expired).
    fn load<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, Option<Saved>>;
    /// Applies writes in order, atomically where the store can.
    fn write<'a>(&'a self, code: &'a str, writes: &'a [Write]) -> CheckpointFuture<'a, ()>;
}

/// The lobby, for a checkpoint whose phase was never written.
pub fn lobby() -> PhaseCheckpoint {
    PhaseCheckpoint {
        phase: PhaseRecord::Lobby,
        end_requested: false,
        locked: false,
    }
}

/// Checkpoints in Redis Cluster.
pub struct RedisCheckpoints {
    conn: ClusterConnection,
    /// Key lifetime after the last write, in seconds.
    ttl_secs: u64,
}

impl RedisCheckpoints {
    /// Checkpoints on this connection, expiring `ttl` after their last write.
    pub fn new(conn: ClusterConnection, ttl: Duration) -> Self {
        RedisCheckpoints {
            conn,
            ttl_secs: ttl.as_secs().max(1),
        }
    }
}

impl CheckpointStore for RedisCheckpoints {
    fn exists<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, bool> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let n: i64 = redis::cmd("EXISTS")
                .arg(key(code, "meta"))
                .query_async(&mut c)
                .await?;
            Ok(n > 0)
        })
    }

    fn create<'a>(&'a self, meta: &'a SessionMeta) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            let json = serde_json::to_string(meta)?;
            let code = &meta.code;
            let mut c = self.conn.clone();
            // The code was checked free: leftovers of an expired session go.
            redis::pipe()
                .del(&[key(code, "players"), key(code, "phase")])
                .ignore()
                .set_ex(key(code, "meta"), json, self.ttl_secs)
                .ignore()
                .query_async::<()>(&mut c)
                .await?;
            Ok(())
        })
    }

    fn create_many<'a>(&'a self, metas: &'a [SessionMeta]) -> CheckpointFuture<'a, ()> {
        // A cluster pipeline stays within one slot, and each code has its own: one pipeline
        // per session, all of them in flight at once on the multiplexed connection.
        Box::pin(async move {
            futures_util::future::try_join_all(metas.iter().map(|m| self.create(m))).await?;
            Ok(())
        })
    }

    fn load<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, Option<Saved>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let (meta, players, phase): (Option<String>, HashMap<String, String>, Option<String>) =
                redis::pipe()
                    .get(key(code, "meta"))
                    .hgetall(key(code, "players"))
                    .get(key(code, "phase"))
                    .query_async(&mut c)
                    .await?;
            Ok(parse_saved(
                meta.as_deref(),
                players.values().map(String::as_str),
                phase.as_deref(),
            ))
        })
    }

    fn write<'a>(&'a self, code: &'a str, writes: &'a [Write]) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            let (players, phase, meta) =
                (key(code, "players"), key(code, "phase"), key(code, "meta"));
            let mut pipe = redis::pipe();
            let mut cleared = false;
            for w in writes {
                match w {
                    Write::Player(p) => {
                        pipe.hset(&players, p.id, serde_json::to_string(p)?)
                            .ignore();
                    }
                    Write::Removed(id) => {
                        pipe.hdel(&players, id).ignore();
                    }
                    Write::Phase(ck) => {
                        let json = serde_json::to_string(ck)?;
                        pipe.set_ex(&phase, json, self.ttl_secs).ignore();
                    }
                    Write::Clear => {
                        pipe.del(&[&meta, &players, &phase]).ignore();
                        cleared = true;
                    }
                }
            }
            if !cleared {
                let ttl = i64::try_from(self.ttl_secs).unwrap_or(i64::MAX);
                pipe.expire(&players, ttl).ignore();
                pipe.expire(&meta, ttl).ignore();
            }
            let mut c = self.conn.clone();
            pipe.query_async::<()>(&mut c).await?;
            Ok(())
        })
    }
}

/// Checkpoints in the database (a gateway without Redis Cluster): the
/// restarted gateway resumes its sessions from them.
pub struct SqlCheckpoints {
    store: LiveStore,
    ttl: Duration,
}

impl SqlCheckpoints {
    /// Checkpoints in `store`'s tables, expiring `ttl` after their last write.
    pub fn new(store: LiveStore, ttl: Duration) -> Self {
        SqlCheckpoints { store, ttl }
    }
}

impl CheckpointStore for SqlCheckpoints {
    fn exists<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, bool> {
        Box::pin(async move {
            let codes = [code.to_string()];
            Ok(!self
                .store
                .checkpoints_existing(&codes, self.ttl)
                .await?
                .is_empty())
        })
    }

    fn existing<'a>(&'a self, codes: &'a [String]) -> CheckpointFuture<'a, HashSet<String>> {
        Box::pin(async move { Ok(self.store.checkpoints_existing(codes, self.ttl).await?) })
    }

    fn create<'a>(&'a self, meta: &'a SessionMeta) -> CheckpointFuture<'a, ()> {
        self.create_many(std::slice::from_ref(meta))
    }

    fn create_many<'a>(&'a self, metas: &'a [SessionMeta]) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            let docs = metas
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()?;
            let rows: Vec<(&str, &str)> = metas
                .iter()
                .zip(&docs)
                .map(|(m, doc)| (m.code.as_str(), doc.as_str()))
                .collect();
            Ok(self.store.create_checkpoints(&rows, self.ttl).await?)
        })
    }

    fn load<'a>(&'a self, code: &'a str) -> CheckpointFuture<'a, Option<Saved>> {
        Box::pin(async move {
            let Some(rows) = self.store.load_checkpoint(code, self.ttl).await? else {
                return Ok(None);
            };
            Ok(parse_saved(
                Some(&rows.meta),
                rows.players.iter().map(String::as_str),
                rows.phase.as_deref(),
            ))
        })
    }

    fn write<'a>(&'a self, code: &'a str, writes: &'a [Write]) -> CheckpointFuture<'a, ()> {
        Box::pin(async move {
            // The documents first, then the rows borrowing them.
            let docs = writes
                .iter()
                .map(|w| match w {
                    Write::Player(p) => serde_json::to_string(p).map(Some),
                    Write::Phase(ck) => serde_json::to_string(ck).map(Some),
                    Write::Removed(_) | Write::Clear => Ok(None),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let rows: Vec<CheckpointWrite<'_>> = writes
                .iter()
                .zip(&docs)
                .map(|(w, doc)| {
                    let doc = doc.as_deref().unwrap_or_default();
                    match w {
                        Write::Player(p) => CheckpointWrite::Player {
                            id: p.id,
                            record: doc,
                        },
                        Write::Phase(_) => CheckpointWrite::Phase(doc),
                        Write::Removed(id) => CheckpointWrite::Removed(*id),
                        Write::Clear => CheckpointWrite::Clear,
                    }
                })
                .collect();
            Ok(self.store.write_checkpoint(code, &rows).await?)
        })
    }
}

/// Builds a [`Saved`] from stored JSON (unreadable player records are skipped).
pub fn parse_saved<'a>(
    meta: Option<&str>,
    players: impl Iterator<Item = &'a str>,
    phase: Option<&str>,
) -> Option<Saved> {
    let meta = serde_json::from_str::<SessionMeta>(meta?).ok()?;
    let mut players: Vec<PlayerRecord> = players
        .filter_map(|p| serde_json::from_str(p).ok())
        .collect();
    players.sort_by_key(|p| p.id);
    let phase = phase
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(lobby);
    Some(Saved {
        meta,
        players,
        phase,
    })
}

/// One write to a session's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A player joined.
    Player(PlayerRecord),
    /// The host removed a player.
    Removed(u64),
    /// The phase changed.
    Phase(PhaseCheckpoint),
    /// The session is over and its standings stored: delete everything.
    Clear,
}

/// A queued write and who waits for it.
enum Queued {
    /// Acknowledged on the player channel with the player's id.
    Player(PlayerRecord),
    /// Not acknowledged.
    Plain(Write),
    /// The final clear; the sender is told once it is done.
    Clear(oneshot::Sender<()>),
    /// Nothing to write: the sender is told once everything before is.
    Flush(oneshot::Sender<()>),
}

/// The checkpoint writer of one session: writes go out in order, batched
/// (`LIVE_CHECKPOINT_BATCH` per pipeline or transaction), retried with
/// backoff up to `LIVE_CHECKPOINT_ATTEMPTS` times.
#[derive(Clone)]
pub struct Checkpointer {
    tx: mpsc::UnboundedSender<Queued>,
}

impl Checkpointer {
    /// Starts the writer for `code`, sending at most `batch` writes at once
    /// and trying each batch `attempts` times, as a task of `life` (it ends
    /// once every handle is dropped and its queue written); the receiver
    /// gets the id of every player whose record is stored.
    pub fn spawn(
        store: Arc<dyn CheckpointStore>,
        code: String,
        batch: usize,
        attempts: u32,
        life: &Lifecycle,
    ) -> (Self, mpsc::UnboundedReceiver<u64>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let limits = (batch.max(1), attempts.max(1));
        life.spawn(write_loop(store, code, rx, ack_tx, limits));
        (Checkpointer { tx }, ack_rx)
    }

    /// Stores a player; its id comes back on the acknowledgement channel.
    pub fn player(&self, record: PlayerRecord) {
        let _ = self.tx.send(Queued::Player(record));
    }

    /// Forgets a removed player.
    pub fn removed(&self, player: u64) {
        let _ = self.tx.send(Queued::Plain(Write::Removed(player)));
    }

    /// Replaces a banned player's record with `record` (marked banned), so
    /// the ban survives a takeover. Not acknowledged.
    pub fn banned(&self, record: PlayerRecord) {
        self.update(record);
    }

    /// Replaces a player's record (their extra time changed). Not
    /// acknowledged.
    pub fn update(&self, record: PlayerRecord) {
        let _ = self.tx.send(Queued::Plain(Write::Player(record)));
    }

    /// Stores the phase.
    pub fn phase(&self, phase: PhaseCheckpoint) {
        let _ = self.tx.send(Queued::Plain(Write::Phase(phase)));
    }

    /// Deletes the checkpoint once everything before it is written.
    pub async fn clear(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Queued::Clear(done)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Waits until every write queued before is done (or given up).
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Queued::Flush(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(
    store: Arc<dyn CheckpointStore>,
    code: String,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    acks: mpsc::UnboundedSender<u64>,
    (max_batch, attempts): (usize, u32),
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let mut writes = Vec::with_capacity(batch.len());
        let mut joined = Vec::new();
        // Told once this batch is written (a clear, a flush).
        let mut waiting = Vec::new();
        for q in batch.drain(..) {
            match q {
                Queued::Player(p) => {
                    joined.push(p.id);
                    writes.push(Write::Player(p));
                }
                Queued::Plain(w) => writes.push(w),
                Queued::Clear(done) => {
                    writes.push(Write::Clear);
                    waiting.push(done);
                }
                Queued::Flush(done) => waiting.push(done),
            }
        }
        // A store outage delays joins (the welcome waits) for a few
        // seconds; after that the game goes on without failover safety
        // rather than stalling.
        let mut backoff = Duration::from_millis(20);
        for attempt in 1..=attempts {
            if writes.is_empty() {
                break;
            }
            match store.write(&code, &writes).await {
                Ok(()) => break,
                Err(e) if attempt == attempts => {
                    tracing::error!(error = %e, code, "live checkpoint write failed; giving up: this session cannot fail over");
                }
                Err(e) => {
                    tracing::warn!(error = %e, code, "live checkpoint write failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        for id in joined {
            let _ = acks.send(id);
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::engine::LiveQuiz;
    use livequiz_sdk::live::ScoringRules;

    #[tokio::test]
    async fn checkpoints_round_trip_in_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::Config::for_tests(dir.path());
        let db = crate::db::Db::connect(&config).await.expect("sqlite");
        db.migrate().await.expect("migrate");
        let store = SqlCheckpoints::new(LiveStore::new(&db), Duration::from_secs(86_400));
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
            hostless: None,
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
        let saved = store.load("123456").await.unwrap().expect("saved");
        assert_eq!(saved.meta, meta);
        assert_eq!(saved.players, vec![player(1), player(3)]);
        assert_eq!(saved.phase, phase);
        assert!(store.load("654321").await.unwrap().is_none());
        store.write("123456", &[Write::Clear]).await.expect("clear");
        assert!(store.load("123456").await.unwrap().is_none());
        assert!(!store.exists("123456").await.unwrap());
        db.close().await;
    }
}
