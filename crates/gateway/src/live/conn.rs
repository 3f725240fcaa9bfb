//! What a live connection is, to everything that handles one: the role it
//! attaches as, the session's handle on its outgoing queue, and the frames
//! that go through it. Shared by the WebSocket endpoint, the session actor
//! and the bridge between gateways, so none of them depends on another for
//! it.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use livequiz_sdk::live::{Capabilities, ErrorCode, ServerMsg};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Notify};

use crate::config::LiveTuningConfig;

/// Frames a connection may have queued before it counts as too slow (the
/// default of `LIVE_CONN_QUEUE`). A question, a reveal and a few
/// leaderboard frames per second are a handful; 256 is seconds of backlog.
pub const CONN_QUEUE: usize = 256;

/// Queue bound of a host connection (the default of `LIVE_HOST_QUEUE`): the
/// host receives one roster frame per join, so a burst of 10,000 joins must
/// fit.
pub const HOST_QUEUE: usize = 32_768;

/// What a connection asks to be, credentials already resolved. Crosses
/// gateways (see [`super::cluster`]), hence serialisable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The host, with the secret from session creation.
    Host {
        /// The host secret.
        host_token: String,
    },
    /// A player rejoining.
    Resume {
        /// The resume token.
        token: String,
        /// What the connection declared in its first frame (absent from
        /// gateways that predate it: nothing declared).
        #[serde(default, skip_serializing_if = "Capabilities::is_empty")]
        capabilities: Capabilities,
    },
    /// A new player.
    Join {
        /// Nickname (the username for accounts).
        nickname: String,
        /// Account id for logged-in players.
        account_id: Option<i64>,
        /// Two-step join pattern, if given.
        #[serde(default)]
        pattern: Option<String>,
        /// What the connection declared in its first frame (absent from
        /// gateways that predate it: nothing declared).
        #[serde(default, skip_serializing_if = "Capabilities::is_empty")]
        capabilities: Capabilities,
    },
}

impl Role {
    /// The queue bound of a connection in this role: the host gets a roster
    /// frame per join, so room for a burst of thousands
    /// (`LIVE_HOST_QUEUE`); players the normal bound (`LIVE_CONN_QUEUE`).
    pub fn queue_bound(&self, tuning: &LiveTuningConfig) -> usize {
        match self {
            Role::Host { .. } => tuning.host_queue,
            _ => tuning.conn_queue,
        }
    }
}

/// What a connection task writes to its socket.
#[derive(Debug, Clone)]
pub enum Out {
    /// A JSON text frame.
    Frame(Utf8Bytes),
    /// Close with this code and reason, then stop.
    Close(u16, &'static str),
}

/// The session's handle on one connection.
#[derive(Debug, Clone)]
pub struct ConnTx {
    /// Process-unique connection id (tells a stale connection from its replacement).
    pub id: u64,
    /// Bounded queue to the socket writer.
    pub tx: mpsc::Sender<Out>,
    /// Wakes the connection task to close it as too slow (the queue is full,
    /// so the close cannot go through it).
    pub kill: Arc<Notify>,
}

impl ConnTx {
    /// A handle with a fresh queue of `bound` frames; the receiver is the
    /// socket writer's.
    pub fn new(id: u64, bound: usize) -> (ConnTx, mpsc::Receiver<Out>) {
        let (tx, rx) = mpsc::channel(bound);
        let kill = Arc::new(Notify::new());
        (ConnTx { id, tx, kill }, rx)
    }

    /// Queues a frame; a full or closed queue drops the connection.
    pub fn push(&self, out: Out) -> bool {
        match self.tx.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("live_slow_consumers_dropped_total").increment(1);
                self.kill.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Serialises a frame (infallible for these types).
pub fn encode(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(msg).unwrap_or_else(|_| "{}".into()))
}

/// The human-readable message of an error code (the protocol crate keeps one per code, so a
/// new code cannot be added without its message).
pub fn describe(code: ErrorCode) -> &'static str {
    code.describe()
}
