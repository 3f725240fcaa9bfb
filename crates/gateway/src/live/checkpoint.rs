//! Session checkpoints in Redis Cluster, so another gateway can take a
//! session over when its owner dies (see [`super::cluster`]).
//!
//! Keys (one hash tag per code, so they share a slot and a pipeline):
//!
//! - `live:{<code>}:meta`: [`SessionMeta`] as JSON, written before the
//!   session's code is returned to the host;
//! - `live:{<code>}:players`: hash of player id -> [`PlayerRecord`] JSON,
//!   written before the player's welcome (a welcome means the player can
//!   resume on any gateway), removed when the host removes the player;
//! - `live:{<code>}:phase`: [`PhaseCheckpoint`] JSON, written after each
//!   phase change.
//!
//! Scores are not here: they are recomputed from the durable answers. The
//! keys expire a day after the last write and are deleted once the final
//! standings are stored.

use std::collections::HashMap;
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use tokio::sync::{mpsc, oneshot};

use super::engine::{PhaseCheckpoint, PlayerRecord, SessionMeta};

/// Lifetime of checkpoint keys after their last write.
const TTL_SECS: i64 = 86_400;

/// Tries per checkpoint pipeline (~6 s with the backoff).
const WRITE_ATTEMPTS: u32 = 8;

/// Most checkpoint writes sent in one pipeline.
const BATCH: usize = 256;

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

/// Writes the fixed part of a new session.
pub async fn save_meta(conn: &ClusterConnection, meta: &SessionMeta) -> redis::RedisResult<()> {
    let json = serde_json::to_string(meta).unwrap_or_default();
    let mut c = conn.clone();
    redis::cmd("SET")
        .arg(key(&meta.code, "meta"))
        .arg(json)
        .arg("EX")
        .arg(TTL_SECS)
        .query_async::<()>(&mut c)
        .await
}

/// Reads a session's checkpoints; `None` if there is no session under `code`.
pub async fn load(conn: &ClusterConnection, code: &str) -> redis::RedisResult<Option<Saved>> {
    let mut c = conn.clone();
    let (meta, players, phase): (Option<String>, HashMap<String, String>, Option<String>) =
        redis::pipe()
            .get(key(code, "meta"))
            .hgetall(key(code, "players"))
            .get(key(code, "phase"))
            .query_async(&mut c)
            .await?;
    let Some(meta) = meta.and_then(|m| serde_json::from_str::<SessionMeta>(&m).ok()) else {
        return Ok(None);
    };
    let mut players: Vec<PlayerRecord> = players
        .values()
        .filter_map(|p| serde_json::from_str(p).ok())
        .collect();
    players.sort_by_key(|p| p.id);
    let phase = phase
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or(PhaseCheckpoint {
            phase: super::engine::PhaseRecord::Lobby,
            end_requested: false,
        });
    Ok(Some(Saved {
        meta,
        players,
        phase,
    }))
}

/// One write to a session's checkpoint.
#[derive(Debug)]
enum Write {
    /// A player joined (acknowledged with its id once stored).
    Player(PlayerRecord),
    /// The host removed a player.
    Removed(u64),
    /// The phase changed.
    Phase(PhaseCheckpoint),
    /// The session is over and its standings stored: delete everything.
    Clear(oneshot::Sender<()>),
}

/// The checkpoint writer of one session: writes go out in order, batched
/// into pipelines, retried until Redis takes them.
#[derive(Clone)]
pub struct Checkpointer {
    tx: mpsc::UnboundedSender<Write>,
}

impl Checkpointer {
    /// Starts the writer for `code`; the receiver gets the id of every
    /// player whose record is stored.
    pub fn spawn(conn: ClusterConnection, code: String) -> (Self, mpsc::UnboundedReceiver<u64>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(conn, code, rx, ack_tx));
        (Checkpointer { tx }, ack_rx)
    }

    /// Stores a player; its id comes back on the acknowledgement channel.
    pub fn player(&self, record: PlayerRecord) {
        let _ = self.tx.send(Write::Player(record));
    }

    /// Forgets a removed player.
    pub fn removed(&self, player: u64) {
        let _ = self.tx.send(Write::Removed(player));
    }

    /// Stores the phase.
    pub fn phase(&self, phase: PhaseCheckpoint) {
        let _ = self.tx.send(Write::Phase(phase));
    }

    /// Deletes the checkpoint once everything before it is written.
    pub async fn clear(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Write::Clear(done)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(
    conn: ClusterConnection,
    code: String,
    mut rx: mpsc::UnboundedReceiver<Write>,
    acks: mpsc::UnboundedSender<u64>,
) {
    let (players, phase, meta) = (
        key(&code, "players"),
        key(&code, "phase"),
        key(&code, "meta"),
    );
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut joined = Vec::new();
        let mut cleared = Vec::new();
        for w in batch.drain(..) {
            match w {
                Write::Player(p) => {
                    let json = serde_json::to_string(&p).unwrap_or_default();
                    pipe.hset(&players, p.id, json).ignore();
                    joined.push(p.id);
                }
                Write::Removed(id) => {
                    pipe.hdel(&players, id).ignore();
                }
                Write::Phase(ck) => {
                    let json = serde_json::to_string(&ck).unwrap_or_default();
                    pipe.set_ex(&phase, json, TTL_SECS as u64).ignore();
                }
                Write::Clear(done) => {
                    pipe.del(&[&meta, &players, &phase]).ignore();
                    cleared.push(done);
                }
            }
        }
        if cleared.is_empty() {
            pipe.expire(&players, TTL_SECS).ignore();
        }
        // A Redis outage delays joins (the welcome waits) for a few
        // seconds; after that the game goes on without failover safety
        // rather than stalling.
        let mut backoff = Duration::from_millis(20);
        for attempt in 1..=WRITE_ATTEMPTS {
            let mut c = conn.clone();
            match pipe.query_async::<()>(&mut c).await {
                Ok(()) => break,
                Err(e) if attempt == WRITE_ATTEMPTS => {
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
        for done in cleared {
            let _ = done.send(());
        }
    }
}
