//! The client library the gateway uses to talk to the shard cluster.
//!
//! * **Routing.** A member's partition is `partition_of(member, partitions)` (leaderboard-core's
//!   stable hash); the [`Layout`](crate::layout::Layout) maps it to a group.
//! * **Leaders.** The client remembers the last known leader of each group. A follower answers
//!   `NotLeader { leader }` and the client retries there at once; with no hint (election under
//!   way) or an unreachable node it tries the next replica after a short exponential backoff,
//!   until [`ClientConfig::retry_for`] runs out.
//! * **Batching.** Writes to one group queue in a per-group [`batcher`]: it takes every
//!   queued write (up to `max_batch`, and up to a byte budget derived from the frame cap) into
//!   one request, with at most `max_inflight` (default 2) batches in flight per group, so
//!   batches grow with load and a lone write is not delayed by a timer. The leader proposes a
//!   request as one Raft entry, or merges it with other requests that arrived meanwhile
//!   ([`crate::raft::proposer`]).
//! * **Reads** go to the leader and are linearizable by default; [`ReadConsistency::Local`]
//!   lets any replica answer (follower read, may be stale). Queries that span the board fan out to
//!   every group in parallel and are merged with leaderboard-core (see [`ops`]).

pub mod batcher;
pub mod config;
pub mod ops;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::{ClientConfig, NodeEntry};
pub use ops::ReadOptions;

use crate::error::{Error, Result};
use crate::protocol::{
    ClientReply, ClientRequest, GroupStatus, ReadConsistency, RpcRequest, RpcResponse,
};
use crate::transport::frame::check_max_frame;
use crate::transport::Transport;
use crate::types::{GroupId, NodeId, NodeInfo};

/// Which replica should serve a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The group's leader (writes, linearizable reads, membership changes).
    Leader,
    /// Any replica (follower reads).
    Any,
    /// This node exactly (status of one replica), no retries elsewhere.
    Node(NodeId),
}

impl From<ReadConsistency> for Target {
    fn from(c: ReadConsistency) -> Self {
        match c {
            ReadConsistency::Linearizable => Target::Leader,
            ReadConsistency::Local => Target::Any,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) cfg: ClientConfig,
    transport: Arc<Transport>,
    /// Last known leader per group. A std mutex: held for a map access, never across an await.
    leaders: Mutex<HashMap<GroupId, NodeId>>,
    /// Board configurations (immutable for a board's life), so a write is routed without a
    /// round trip. Filled by `create_board` and on first use; cleared when a board is dropped.
    pub(crate) boards: Mutex<HashMap<leaderboard_core::BoardId, leaderboard_core::BoardConfig>>,
    next: AtomicUsize,
}

/// Handle to the cluster; cheap to clone, all clones share connections, leader cache and batchers.
#[derive(Clone)]
pub struct ShardClient {
    pub(crate) inner: Arc<Inner>,
    pub(crate) batchers: Arc<Vec<batcher::Batcher>>,
}

impl ShardClient {
    /// Creates the client endpoint. Connections are opened lazily on first use.
    pub async fn connect(cfg: ClientConfig) -> Result<Self> {
        cfg.layout.validate()?;
        if cfg.nodes.is_empty() {
            return Err(Error::Config("no shard nodes configured".into()));
        }
        let max_frame = check_max_frame(cfg.max_frame)?;
        let transport = Transport::client(&cfg.tls)?;
        transport.set_max_frame(max_frame);
        let inner = Arc::new(Inner {
            cfg,
            transport,
            leaders: Mutex::new(HashMap::new()),
            boards: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
        });
        let batchers = inner
            .cfg
            .layout
            .group_ids()
            .map(|g| batcher::Batcher::spawn(inner.clone(), g))
            .collect();
        Ok(Self {
            inner,
            batchers: Arc::new(batchers),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// Sends `req` to `group`, following leader hints and retrying retryable errors.
    pub async fn call(
        &self,
        group: GroupId,
        req: ClientRequest,
        target: Target,
    ) -> Result<ClientReply> {
        self.inner.call(group, req, target).await
    }

    /// One replica's status of `group`.
    pub async fn status(&self, group: GroupId, node: NodeId) -> Result<GroupStatus> {
        match self
            .call(group, ClientRequest::Status, Target::Node(node))
            .await?
        {
            ClientReply::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Initializes `group` on `via` with `members` as its voters.
    pub async fn initialize(
        &self,
        group: GroupId,
        via: NodeId,
        members: Vec<(NodeId, NodeInfo)>,
    ) -> Result<()> {
        self.call(
            group,
            ClientRequest::Initialize { members },
            Target::Node(via),
        )
        .await
        .map(|_| ())
    }

    /// Adds a learner to `group` and waits until it has caught up.
    pub async fn add_learner(&self, group: GroupId, id: NodeId, node: NodeInfo) -> Result<()> {
        self.call(
            group,
            ClientRequest::AddLearner { id, node },
            Target::Leader,
        )
        .await
        .map(|_| ())
    }

    /// Replaces the voters of `group`.
    pub async fn change_membership(
        &self,
        group: GroupId,
        voters: std::collections::BTreeSet<NodeId>,
        retain: bool,
    ) -> Result<()> {
        self.call(
            group,
            ClientRequest::ChangeMembership { voters, retain },
            Target::Leader,
        )
        .await
        .map(|_| ())
    }

    /// Adds node `id` to `group` as a voter: first as a learner (this waits until it has caught
    /// up, by log or by snapshot), then promoted. Repeating it for a member is harmless.
    pub async fn add_node(&self, group: GroupId, id: NodeId, node: NodeInfo) -> Result<()> {
        self.add_learner(group, id, node).await?;
        self.call(
            group,
            ClientRequest::AddVoters { ids: [id].into() },
            Target::Leader,
        )
        .await
        .map(|_| ())
    }

    /// Removes node `id` from `group` (it stops receiving the group's log; its data stays on
    /// its disk until deleted by the operator).
    pub async fn remove_node(&self, group: GroupId, id: NodeId) -> Result<()> {
        self.call(
            group,
            ClientRequest::RemoveVoters { ids: [id].into() },
            Target::Leader,
        )
        .await
        .map(|_| ())
    }

    /// Asks the leader of `group` to build a snapshot now.
    pub async fn trigger_snapshot(&self, group: GroupId) -> Result<()> {
        self.call(group, ClientRequest::TriggerSnapshot, Target::Leader)
            .await
            .map(|_| ())
    }

    /// The cached leader of `group`, if any.
    pub fn cached_leader(&self, group: GroupId) -> Option<NodeId> {
        self.inner
            .leaders
            .lock()
            .expect("poisoned")
            .get(&group)
            .copied()
    }
}

pub(crate) fn unexpected(reply: &ClientReply) -> Error {
    Error::Malformed(format!("unexpected reply {reply:?}"))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((10u64 << attempt.min(6)).min(500))
}

impl Inner {
    fn node(&self, id: NodeId) -> Option<NodeEntry> {
        self.cfg.nodes.iter().find(|n| n.id == id).cloned()
    }

    fn pick(&self, group: GroupId, target: Target) -> Result<NodeEntry> {
        if let Target::Node(id) = target {
            return self
                .node(id)
                .ok_or_else(|| Error::Config(format!("node {id} is not configured")));
        }
        if target == Target::Leader {
            if let Some(l) = self.leaders.lock().expect("poisoned").get(&group).copied() {
                if let Some(n) = self.node(l) {
                    return Ok(n);
                }
            }
        }
        let members = self.cfg.members_of(group);
        if members.is_empty() {
            return Err(Error::Config(format!(
                "no configured node hosts group {group}"
            )));
        }
        Ok(members[self.next.fetch_add(1, Ordering::Relaxed) % members.len()].clone())
    }

    pub(crate) async fn call(
        &self,
        group: GroupId,
        req: ClientRequest,
        target: Target,
    ) -> Result<ClientReply> {
        let deadline = Instant::now() + self.cfg.retry_for;
        let mut attempt = 0u32;
        // Built once: a write batch is sent as is on every attempt, never cloned.
        let rpc = RpcRequest::Client { group, req };
        loop {
            let node = self.pick(group, target)?;
            let err = match self
                .transport
                .call(node.id, &node.info, &rpc, self.cfg.rpc_timeout)
                .await
            {
                Ok(RpcResponse::Client(Ok(reply))) => {
                    if target == Target::Leader {
                        self.leaders
                            .lock()
                            .expect("poisoned")
                            .insert(group, node.id);
                    }
                    return Ok(reply);
                }
                Ok(RpcResponse::Client(Err(e))) | Ok(RpcResponse::Failed(e)) | Err(e) => e,
                Ok(RpcResponse::Raft(_)) => {
                    Error::Malformed("raft reply to a client request".into())
                }
            };
            let retry = err.is_retryable() || matches!(err, Error::UnknownGroup(_));
            if !retry || matches!(target, Target::Node(_)) || Instant::now() >= deadline {
                return Err(err);
            }
            let follow_hint = {
                let mut leaders = self.leaders.lock().expect("poisoned");
                match err.leader_hint() {
                    Some(l) if l != node.id && self.node(l).is_some() => {
                        leaders.insert(group, l);
                        true
                    }
                    _ => {
                        if leaders.get(&group) == Some(&node.id) {
                            leaders.remove(&group);
                        }
                        false
                    }
                }
            };
            if follow_hint && attempt < 2 {
                attempt += 1;
                continue;
            }
            tracing::debug!(group, node = node.id, attempt, "retrying: {err}");
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }
}
