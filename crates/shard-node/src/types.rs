//! openraft type configuration and the small identifiers shared by every module.
//!
//! One [`TypeConfig`] serves every group: a group is told apart by its [`GroupId`], which
//! travels in each network frame, never inside Raft itself.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::{Batch, BatchReply};

/// Raft node id. Stable for the life of a node's data directory.
pub type NodeId = u64;

/// Shard group id. Group `g` of `n` owns the partitions `p` with `p % n == g`.
pub type GroupId = u32;

/// How to reach a node: its QUIC address and the name its certificate is issued for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeInfo {
    /// `host:port` of the node's QUIC endpoint.
    pub addr: String,
    /// TLS server name (a DNS SAN of the node's certificate), e.g. `n1`.
    pub name: String,
}

impl NodeInfo {
    /// Builds a node address.
    pub fn new(addr: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            addr: addr.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.addr)
    }
}

openraft::declare_raft_types!(
    /// The openraft type configuration of every shard group: entries carry a [`Batch`] of
    /// leaderboard commands, applying one yields a [`BatchReply`].
    pub TypeConfig:
        D = Batch,
        R = BatchReply,
        NodeId = NodeId,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = crate::state_machine::SnapshotData,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft instance of one group.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id.
pub type LogId = openraft::LogId<NodeId>;
/// A vote.
pub type Vote = openraft::Vote<NodeId>;
/// Membership as stored in the log and snapshots.
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;
/// openraft's storage error.
pub type StorageError = openraft::StorageError<NodeId>;
