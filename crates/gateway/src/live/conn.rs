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

/// A local connection's queue, as the session and the socket's task hold
/// it.
#[derive(Debug, Clone)]
pub struct LocalTx {
    /// Bounded queue to the socket writer.
    pub tx: mpsc::Sender<Out>,
    /// Wakes the connection task to close it as too slow (the queue is full,
    /// so the close cannot go through it).
    pub kill: Arc<Notify>,
}

impl LocalTx {
    /// A fresh queue of `bound` frames; the receiver is the socket writer's.
    pub fn new(bound: usize) -> (LocalTx, mpsc::Receiver<Out>) {
        let (tx, rx) = mpsc::channel(bound);
        let kill = Arc::new(Notify::new());
        (LocalTx { tx, kill }, rx)
    }
}

/// Where the frames of a connection on another gateway go (implemented by
/// the bridge between gateways, see [`super::cluster`]): the same contract
/// as a local queue, without a queue or a task per connection.
pub trait Relay: Send + Sync + std::fmt::Debug {
    /// Queues `out` for the socket: false if the connection is closed or
    /// gone, or has just been dropped as too slow.
    fn push(self: Arc<Self>, out: Out) -> bool;

    /// Drops the connection as too slow (close code 4008).
    fn kill(self: Arc<Self>);
}

/// Where a connection's frames go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// A socket of this gateway: its bounded queue.
    Local(LocalTx),
    /// A socket of another gateway, bridged to a session here.
    Remote(Arc<dyn Relay>),
}

/// The session's handle on one connection.
#[derive(Debug, Clone)]
pub struct ConnTx {
    /// Process-unique connection id (tells a stale connection from its replacement).
    pub id: u64,
    /// Where its frames go.
    pub sink: Sink,
}

impl ConnTx {
    /// A handle with a fresh queue of `bound` frames; the receiver is the
    /// socket writer's.
    pub fn new(id: u64, bound: usize) -> (ConnTx, mpsc::Receiver<Out>) {
        let (local, rx) = LocalTx::new(bound);
        (ConnTx::local(id, local), rx)
    }

    /// A handle on a local queue.
    pub fn local(id: u64, local: LocalTx) -> ConnTx {
        ConnTx {
            id,
            sink: Sink::Local(local),
        }
    }

    /// A handle on a socket of another gateway.
    pub fn remote(id: u64, relay: Arc<dyn Relay>) -> ConnTx {
        ConnTx {
            id,
            sink: Sink::Remote(relay),
        }
    }

    /// Queues a frame; a full or closed queue drops the connection.
    pub fn push(&self, out: Out) -> bool {
        let local = match &self.sink {
            Sink::Local(local) => local,
            Sink::Remote(relay) => return relay.clone().push(out),
        };
        match local.tx.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("live_slow_consumers_dropped_total").increment(1);
                local.kill.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Closes the connection as too slow, without waiting for its queue.
    pub fn kill(&self) {
        match &self.sink {
            Sink::Local(local) => local.kill.notify_one(),
            Sink::Remote(relay) => relay.clone().kill(),
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
