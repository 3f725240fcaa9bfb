//! One router per node: every group this node hosts, behind the node's single QUIC endpoint.
//!
//! Every request is first authorized against the role of the certificate it came with
//! ([`crate::auth`]). Each request frame names its group; the router looks the group up and hands Raft RPCs to
//! that group's `Raft`, and client requests to [`Router::client`], which turns openraft's
//! errors into the crate's [`Error`] (`ForwardToLeader` becomes `NotLeader` with the hint the
//! client needs to retry at the right node).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use openraft::error::{CheckIsLeaderError, ClientWriteError, InitializeError, RaftError};
use openraft::ChangeMembers;

use tracing::debug;

use crate::auth::{self, Peer};
use crate::codec;
use crate::error::Error;
use crate::metrics::NodeMetrics;
use crate::protocol::{
    ClientReply, ClientRequest, GroupStatus, RaftReply, RaftRequest, ReadConsistency, RpcRequest,
    RpcResponse,
};
use crate::raft::{Faults, Proposer};
use crate::state_machine::StateMachineHandle;
use crate::transport::frame::{max_entry_bytes, MAX_FRAME};
use crate::transport::Handler;
use crate::types::{GroupId, NodeId, NodeInfo, Raft};

/// A group hosted on this node.
#[derive(Clone)]
pub struct Group {
    /// Group id.
    pub id: GroupId,
    /// Its Raft instance.
    pub raft: Raft,
    /// Read access to its state machine.
    pub sm: StateMachineHandle,
    /// Merges concurrent client write requests into entries (see [`crate::raft::proposer`]).
    pub proposer: Proposer,
}

/// Dispatches frames to groups.
pub struct Router {
    node: NodeId,
    metrics: NodeMetrics,
    groups: RwLock<BTreeMap<GroupId, Group>>,
    faults: Arc<Faults>,
    max_entry: usize,
}

/// A client-facing error for an openraft write error of `group`.
pub(crate) fn write_err(
    group: GroupId,
    e: RaftError<NodeId, ClientWriteError<NodeId, NodeInfo>>,
) -> Error {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => Error::NotLeader {
            group,
            leader: f.leader_id,
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => {
            Error::Membership(c.to_string())
        }
        RaftError::Fatal(f) => Error::Raft(f.to_string()),
    }
}

fn read_err(group: GroupId, e: RaftError<NodeId, CheckIsLeaderError<NodeId, NodeInfo>>) -> Error {
    match e {
        RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)) => Error::NotLeader {
            group,
            leader: f.leader_id,
        },
        RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(q)) => {
            Error::Unavailable(q.to_string())
        }
        RaftError::Fatal(f) => Error::Raft(f.to_string()),
    }
}

/// This node's wall clock in ms since the epoch (0 if it is set before 1970).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Router {
    /// An empty router for node `node`.
    pub fn new(node: NodeId, faults: Arc<Faults>) -> Self {
        Self {
            node,
            metrics: NodeMetrics::default(),
            groups: RwLock::new(BTreeMap::new()),
            faults,
            max_entry: max_entry_bytes(MAX_FRAME),
        }
    }

    /// Refuses write batches whose encoding exceeds `limit` bytes (default: what fits a frame of
    /// [`MAX_FRAME`]). Every entry must fit one AppendEntries frame, or a follower that needs it
    /// could never be sent it.
    pub fn with_max_entry_bytes(mut self, limit: usize) -> Self {
        self.max_entry = limit;
        self
    }

    /// Registers a group.
    pub fn add(&self, group: Group) {
        self.groups
            .write()
            .expect("poisoned")
            .insert(group.id, group);
    }

    /// Request counters.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// Looks a group up.
    pub fn group(&self, id: GroupId) -> Option<Group> {
        self.groups.read().expect("poisoned").get(&id).cloned()
    }

    /// Every hosted group, in id order.
    pub fn groups(&self) -> Vec<Group> {
        self.groups
            .read()
            .expect("poisoned")
            .values()
            .cloned()
            .collect()
    }

    async fn raft(&self, g: &Group, rpc: RaftRequest) -> RpcResponse {
        if auth::raft_sender(&rpc).is_some_and(|n| self.faults.is_blocked(n)) {
            return RpcResponse::Failed(Error::Unavailable("link cut by fault injection".into()));
        }
        RpcResponse::Raft(match rpc {
            RaftRequest::Append(r) => RaftReply::Append(g.raft.append_entries(r).await),
            RaftRequest::Vote(r) => RaftReply::Vote(g.raft.vote(r).await),
            RaftRequest::Snapshot(r) => RaftReply::Snapshot(g.raft.install_snapshot(r).await),
        })
    }

    /// Serves one client request for group `g`.
    pub async fn client(&self, g: &Group, req: ClientRequest) -> Result<ClientReply, Error> {
        let r = self.client_inner(g, req).await;
        let m = &self.metrics;
        match &r {
            Ok(ClientReply::Written(b)) => {
                m.write_batches.fetch_add(1, Ordering::Relaxed);
                m.write_commands
                    .fetch_add(b.results.len() as u64, Ordering::Relaxed);
            }
            Ok(ClientReply::Read(_)) => {
                m.reads.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(_) => {
                m.client_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        r
    }

    /// Membership changes are for the leader. openraft validates a change against the local
    /// membership before it checks leadership, so a replica without state (a wiped node) would
    /// refuse it as an invalid change instead of pointing at the leader; answer `NotLeader`
    /// first so that the client moves on.
    fn leader_only(&self, g: &Group) -> Result<(), Error> {
        let (state, leader) = {
            let m = g.raft.metrics();
            let m = m.borrow();
            (m.state, m.current_leader)
        };
        if state == openraft::ServerState::Leader {
            return Ok(());
        }
        Err(Error::NotLeader {
            group: g.id,
            leader: leader.filter(|l| *l != self.node),
        })
    }

    async fn client_inner(&self, g: &Group, req: ClientRequest) -> Result<ClientReply, Error> {
        let id = g.id;
        if matches!(
            req,
            ClientRequest::AddLearner { .. }
                | ClientRequest::ChangeMembership { .. }
                | ClientRequest::AddVoters { .. }
                | ClientRequest::RemoveVoters { .. }
        ) {
            self.leader_only(g)?;
        }
        match req {
            ClientRequest::Write(batch) => {
                // The time every replica will apply the batch at (op-id memory): stamped here,
                // once, so that it is in the log; replicas never read their own clocks.
                let batch = batch.proposed_at(now_ms());
                let size = codec::encoded_len(&batch)?;
                if size > self.max_entry {
                    return Err(Error::Rejected(format!(
                        "a batch of {} writes encodes to {size} bytes, more than the {} bytes a \
                         log entry may hold; send fewer or smaller writes per batch",
                        batch.commands.len(),
                        self.max_entry
                    )));
                }
                Ok(ClientReply::Written(g.proposer.propose(batch, size).await?))
            }
            ClientRequest::Read { query, consistency } => {
                if consistency == ReadConsistency::Linearizable {
                    g.raft
                        .ensure_linearizable()
                        .await
                        .map_err(|e| read_err(id, e))?;
                }
                Ok(ClientReply::Read(g.sm.query(query).await?))
            }
            ClientRequest::AddLearner {
                id: node,
                node: info,
            } => {
                g.raft
                    .add_learner(node, info, true)
                    .await
                    .map_err(|e| write_err(id, e))?;
                Ok(ClientReply::Done)
            }
            ClientRequest::ChangeMembership { voters, retain } => {
                g.raft
                    .change_membership(ChangeMembers::ReplaceAllVoters(voters), retain)
                    .await
                    .map_err(|e| write_err(id, e))?;
                Ok(ClientReply::Done)
            }
            ClientRequest::AddVoters { ids } => {
                g.raft
                    .change_membership(ChangeMembers::AddVoterIds(ids), false)
                    .await
                    .map_err(|e| write_err(id, e))?;
                Ok(ClientReply::Done)
            }
            ClientRequest::RemoveVoters { ids } => {
                g.raft
                    .change_membership(ChangeMembers::RemoveVoters(ids), false)
                    .await
                    .map_err(|e| write_err(id, e))?;
                Ok(ClientReply::Done)
            }
            ClientRequest::Initialize { members } => {
                let members: BTreeMap<NodeId, NodeInfo> = members.into_iter().collect();
                match g.raft.initialize(members).await {
                    Ok(()) => Ok(ClientReply::Done),
                    // Not success: the caller must learn that its members were not applied.
                    Err(RaftError::APIError(InitializeError::NotAllowed(e))) => Err(
                        Error::Membership(format!("group {id} is already initialized: {e}")),
                    ),
                    Err(RaftError::APIError(e)) => Err(Error::Membership(e.to_string())),
                    Err(RaftError::Fatal(f)) => Err(Error::Raft(f.to_string())),
                }
            }
            ClientRequest::Status => Ok(ClientReply::Status(self.status(g))),
            ClientRequest::TriggerSnapshot => {
                g.raft
                    .trigger()
                    .snapshot()
                    .await
                    .map_err(|e| Error::Raft(e.to_string()))?;
                Ok(ClientReply::Done)
            }
        }
    }

    /// This replica's view of group `g`.
    pub fn status(&self, g: &Group) -> GroupStatus {
        let m = g.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let learners: BTreeSet<NodeId> = membership.learner_ids().collect();
        GroupStatus {
            node: self.node,
            group: g.id,
            leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            last_applied: m.last_applied.map(|l| l.index),
            snapshot: m.snapshot.map(|l| l.index).max(g.sm.snapshot_index()),
            purged: m.purged.map(|l| l.index),
            voters,
            learners,
        }
    }
}

impl Handler for Router {
    fn bad_frame(&self, _error: &Error) {
        self.metrics.bad_frames.fetch_add(1, Ordering::Relaxed);
    }

    async fn handle(&self, peer: &Peer, req: RpcRequest) -> RpcResponse {
        if let Err(e) = auth::authorize(peer, &req) {
            self.metrics.forbidden.fetch_add(1, Ordering::Relaxed);
            debug!("refused a request from {peer}: {e}");
            return RpcResponse::Failed(e);
        }
        let group_id = match &req {
            RpcRequest::Raft { group, .. } | RpcRequest::Client { group, .. } => *group,
        };
        let Some(g) = self.group(group_id) else {
            return RpcResponse::Failed(Error::UnknownGroup(group_id));
        };
        match req {
            RpcRequest::Raft { rpc, .. } => self.raft(&g, rpc).await,
            RpcRequest::Client { req, .. } => RpcResponse::Client(self.client(&g, req).await),
        }
    }
}
