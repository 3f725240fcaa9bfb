//! The messages carried in frames: Raft RPCs between nodes and client RPCs from gateways.
//!
//! One request frame and one response frame travel on their own QUIC bidirectional stream.
//! Every request names its group, so one endpoint serves all the groups a node hosts
//! (see [`crate::router`]).

use std::collections::BTreeSet;

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use crate::command::{Batch, BatchReply, Query, QueryReply};
use crate::error::Error;
use crate::types::{GroupId, NodeId, NodeInfo, TypeConfig};

/// A request frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RpcRequest {
    /// Raft traffic between the replicas of `group`.
    Raft {
        /// Target group.
        group: GroupId,
        /// The Raft message.
        rpc: RaftRequest,
    },
    /// A client (gateway or admin tool) request for `group`.
    Client {
        /// Target group.
        group: GroupId,
        /// The request.
        req: ClientRequest,
    },
}

/// Raft RPCs (openraft's own message types, serialized with serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RaftRequest {
    /// Log replication and heartbeats.
    Append(AppendEntriesRequest<TypeConfig>),
    /// Leader election.
    Vote(VoteRequest<NodeId>),
    /// One chunk of a snapshot.
    Snapshot(InstallSnapshotRequest<TypeConfig>),
}

/// Replies to [`RaftRequest`]s, with openraft's own error types.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftReply {
    /// Reply to [`RaftRequest::Append`].
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    /// Reply to [`RaftRequest::Vote`].
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    /// Reply to [`RaftRequest::Snapshot`].
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadConsistency {
    /// The leader confirms it is still leader (a heartbeat round, openraft's
    /// `ensure_linearizable`) and waits until its state machine has applied everything committed
    /// before that point. The default.
    #[default]
    Linearizable,
    /// Read whatever the contacted node (leader or follower) has applied; may be stale.
    Local,
}

/// Requests from clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Commit a batch of writes through Raft; the reply comes after it is applied.
    Write(Batch),
    /// Read the group's state machine.
    Read {
        /// What to read.
        query: Query,
        /// Freshness required.
        consistency: ReadConsistency,
    },
    /// Add `node` as a learner (it catches up by log or snapshot before it can vote).
    AddLearner {
        /// New node's id.
        id: NodeId,
        /// How to reach it.
        node: NodeInfo,
    },
    /// Replace the voter set. Nodes removed become learners when `retain` is true, else leave.
    ChangeMembership {
        /// The new voters.
        voters: BTreeSet<NodeId>,
        /// Keep removed voters as learners.
        retain: bool,
    },
    /// Promote these nodes (already learners) to voters, keeping the other voters.
    AddVoters {
        /// Nodes to promote.
        ids: BTreeSet<NodeId>,
    },
    /// Remove these voters from the group (they leave it entirely).
    RemoveVoters {
        /// Nodes to remove.
        ids: BTreeSet<NodeId>,
    },
    /// Initialize the group with these members (only on a fresh group; idempotent otherwise).
    Initialize {
        /// Initial voters.
        members: Vec<(NodeId, NodeInfo)>,
    },
    /// Report this replica's view of the group.
    Status,
    /// Build a snapshot now (admin and tests).
    TriggerSnapshot,
}

/// Replica status reported by [`ClientRequest::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// The replying node.
    pub node: NodeId,
    /// Group id.
    pub group: GroupId,
    /// Current leader, if known.
    pub leader: Option<NodeId>,
    /// Current term.
    pub term: u64,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last applied entry.
    pub last_applied: Option<u64>,
    /// Index covered by the latest snapshot this replica built or installed.
    pub snapshot: Option<u64>,
    /// Index of the last entry purged from the log (covered by a snapshot).
    pub purged: Option<u64>,
    /// Current voters.
    pub voters: BTreeSet<NodeId>,
    /// Current learners.
    pub learners: BTreeSet<NodeId>,
}

/// Successful client replies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClientReply {
    /// Result of [`ClientRequest::Write`], one outcome per write.
    Written(BatchReply),
    /// Result of [`ClientRequest::Read`].
    Read(QueryReply),
    /// Result of [`ClientRequest::Status`].
    Status(GroupStatus),
    /// The admin request succeeded.
    Done,
}

/// A response frame.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcResponse {
    /// Reply to a Raft RPC.
    Raft(RaftReply),
    /// Reply to a client RPC.
    Client(Result<ClientReply, Error>),
    /// The request could not be handled at all: bad frame, wrong version, unknown group,
    /// or the node refuses traffic (fault injection in tests).
    Failed(Error),
}
