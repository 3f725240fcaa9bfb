//! Change publishing: applied leaderboard changes go to Redis Cluster over sharded pub/sub so
//! that every gateway can push them to its WebSocket clients.
//!
//! * **Channel**: `lb:{<board>}:changes` ([`channel`]). The hash tag puts every message of one
//!   board on one shard, so a gateway `SSUBSCRIBE`s once per board it serves, and messages of a
//!   board keep their order.
//! * **Payload**: one JSON [`ChangeEvent`] per applied command (a write's outcome, a removal, a
//!   roll, a board created or dropped), with the group and log index so a consumer can order and
//!   deduplicate.
//! * **Only the leader publishes.** Every replica applies every entry; the apply hook checks the
//!   group's leader flag (kept current from openraft's metrics) and followers stay quiet. Around
//!   a leader change a message may be published twice (old and new leader both believe they lead
//!   for a moment) or not at all (a follower that applied it was not the leader yet): consumers
//!   must treat the feed as a hint to refresh, not as the record. The record is the Raft log.
//! * **Best effort, bounded.** The hook only `try_send`s into a queue of [`QUEUE`] events; when
//!   Redis is slow or down, new events are dropped and counted (`publish_dropped`), never
//!   blocking the apply path. One task drains the queue, pipelining up to [`PIPELINE`] messages
//!   per board per round trip.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leaderboard_core::{BoardConfig, BoardId, RemoveOutcome, WriteOutcome};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::command::{Batch, BatchReply, Command, CommandOutcome};
use crate::error::{Error, Result};
use crate::state_machine::ApplyHook;
use crate::types::GroupId;

/// Events queued before new ones are dropped.
pub const QUEUE: usize = 65_536;
/// Most messages sent to Redis in one pipeline.
pub const PIPELINE: usize = 512;

/// The sharded pub/sub channel of a board.
pub fn channel(board: &str) -> String {
    format!("lb:{{{board}}}:changes")
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A score write (ranks are relative to the publishing group, see
    /// [`CommandOutcome::Written`]).
    Written {
        /// The outcome.
        outcome: WriteOutcome,
    },
    /// A write applied without an outcome (a [`Command::Apply`]: its caller asked for none, so
    /// no ranks were computed). The member's entry may have changed; read it for its rank.
    Applied {
        /// Member id.
        member: String,
    },
    /// A member was removed.
    Removed {
        /// The outcome.
        outcome: RemoveOutcome,
    },
    /// The board's windows rolled.
    Rolled {
        /// The caller time that rolled it.
        now: i64,
    },
    /// The board was created (published by every group; deduplicate by board).
    Created {
        /// Its configuration.
        config: BoardConfig,
    },
    /// The board was dropped.
    Dropped,
}

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Board id.
    pub board: BoardId,
    /// Publishing group.
    pub group: GroupId,
    /// Raft log index of the entry that applied it (increasing per group).
    pub index: u64,
    /// The change.
    pub change: Change,
}

/// Counters of the publisher (exported on `/metrics`).
#[derive(Debug, Default)]
pub struct PublishStats {
    /// Messages Redis accepted.
    pub sent: AtomicU64,
    /// Events dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Messages lost to Redis errors.
    pub failed: AtomicU64,
}

/// Where to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishConfig {
    /// Redis Cluster seed nodes, `host:port` or `redis://host:port`.
    pub nodes: Vec<String>,
}

impl PublishConfig {
    /// Parses `REDIS_CLUSTER_NODES`-style text (comma separated `host:port`).
    pub fn parse(text: &str) -> Result<Self> {
        let nodes: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with("redis://") {
                    s.to_string()
                } else {
                    format!("redis://{s}")
                }
            })
            .collect();
        if nodes.is_empty() {
            return Err(Error::Config("no redis cluster nodes given".into()));
        }
        Ok(Self { nodes })
    }
}

/// The node's publisher: a bounded queue and the task draining it into Redis.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<ChangeEvent>,
    stats: Arc<PublishStats>,
}

impl Publisher {
    /// Starts the publishing task. Connecting is lazy and retried, so a Redis outage at start
    /// does not stop the node.
    pub fn start(cfg: PublishConfig) -> Result<Self> {
        let client = redis::cluster::ClusterClient::builder(cfg.nodes.clone())
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Config(format!("redis cluster {:?}: {e}", cfg.nodes)))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(PublishStats::default());
        tokio::spawn(drain(client, rx, stats.clone()));
        Ok(Self { tx, stats })
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<PublishStats> {
        &self.stats
    }

    /// Queues an event without waiting; counts it as dropped when the queue is full.
    pub fn offer(&self, ev: ChangeEvent) {
        if self.tx.try_send(ev).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The apply hook of `group`: publishes the batch's successful changes while `is_leader`.
    pub fn hook(&self, group: GroupId, is_leader: Arc<AtomicBool>) -> ApplyHook {
        let this = self.clone();
        Arc::new(move |index: u64, batch: &Batch, reply: &BatchReply| {
            if !is_leader.load(Ordering::Relaxed) {
                return;
            }
            for (cmd, res) in batch.commands.iter().zip(&reply.results) {
                if let Some(change) = change_of(cmd, res) {
                    this.offer(ChangeEvent {
                        board: cmd.board().clone(),
                        group,
                        index,
                        change,
                    });
                }
            }
        })
    }
}

fn change_of(cmd: &Command, res: &Result<CommandOutcome>) -> Option<Change> {
    match (cmd, res.as_ref().ok()?) {
        (_, CommandOutcome::Written(o)) if o.applied && o.changed => {
            Some(Change::Written { outcome: o.clone() })
        }
        (Command::Apply { write, .. }, CommandOutcome::Replicated(true)) => Some(Change::Applied {
            member: write.member.clone(),
        }),
        (_, CommandOutcome::Removed(Some(o))) => Some(Change::Removed { outcome: o.clone() }),
        (Command::Roll { now, .. }, CommandOutcome::Rolled(true)) => {
            Some(Change::Rolled { now: *now })
        }
        (Command::CreateBoard { config, .. }, CommandOutcome::Created) => Some(Change::Created {
            config: config.clone(),
        }),
        (_, CommandOutcome::Dropped(true)) => Some(Change::Dropped),
        _ => None,
    }
}

async fn drain(
    client: redis::cluster::ClusterClient,
    mut rx: mpsc::Receiver<ChangeEvent>,
    stats: Arc<PublishStats>,
) {
    let mut conn: Option<redis::cluster_async::ClusterConnection> = None;
    let mut buf = Vec::with_capacity(PIPELINE);
    while rx.recv_many(&mut buf, PIPELINE).await > 0 {
        if conn.is_none() {
            match client.get_async_connection().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    warn!(
                        "redis cluster unreachable, dropping {} changes: {e}",
                        buf.len()
                    );
                    stats.failed.fetch_add(buf.len() as u64, Ordering::Relaxed);
                    buf.clear();
                    // Do not spin on a dead cluster; events arriving meanwhile queue (bounded).
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        // One pipeline per board: every message of a board maps to the same slot.
        let mut by_board: BTreeMap<BoardId, Vec<String>> = BTreeMap::new();
        for ev in buf.drain(..) {
            match serde_json::to_string(&ev) {
                Ok(json) => by_board.entry(ev.board.clone()).or_default().push(json),
                Err(e) => debug!("cannot encode change event: {e}"),
            }
        }
        for (board, msgs) in by_board {
            let ch = channel(board.as_str());
            let mut pipe = redis::pipe();
            for m in &msgs {
                pipe.cmd("SPUBLISH").arg(&ch).arg(m).ignore();
            }
            match pipe.query_async::<()>(c).await {
                Ok(()) => {
                    stats.sent.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    warn!("publishing {} changes of {board} failed: {e}", msgs.len());
                    stats.failed.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                    if e.is_io_error() || e.is_connection_dropped() {
                        conn = None;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_without_outcome_publish_their_member() {
        let board = BoardId::new("b");
        let apply = Command::Apply {
            board: board.clone(),
            write: leaderboard_core::Write::new("m", 1, 0),
        };
        assert_eq!(
            change_of(&apply, &Ok(CommandOutcome::Replicated(true))),
            Some(Change::Applied { member: "m".into() })
        );
        // A repeated op id changed nothing: nothing to publish.
        assert_eq!(
            change_of(&apply, &Ok(CommandOutcome::Replicated(false))),
            None
        );
        let json = serde_json::to_string(&Change::Applied { member: "m".into() }).unwrap();
        assert_eq!(json, r#"{"kind":"applied","member":"m"}"#);
    }

    #[test]
    fn channel_is_hash_tagged_per_board() {
        assert_eq!(channel("quiz-1"), "lb:{quiz-1}:changes");
        let c = PublishConfig::parse("127.0.0.1:7001, redis://h:2").unwrap();
        assert_eq!(c.nodes, ["redis://127.0.0.1:7001", "redis://h:2"]);
        assert!(PublishConfig::parse(" ").is_err());
    }
}
