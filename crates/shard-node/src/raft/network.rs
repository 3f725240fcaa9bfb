//! openraft's network seam: Raft RPCs of one group sent over the node's shared QUIC endpoint.
//!
//! A [`NetworkFactory`] exists per group (it stamps the group id on every frame); all of them
//! share the node's one [`Transport`], hence one connection per peer for all groups.
//! Connection failures become `Unreachable` (openraft then backs off before retrying that peer),
//! a broken exchange becomes `Network`, and an error returned by the peer's Raft is handed back
//! as `RemoteError` so openraft sees higher terms and conflicts exactly as if it were local.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::faults::Faults;
use crate::error::Error;
use crate::protocol::{RaftReply, RaftRequest, RpcRequest, RpcResponse};
use crate::transport::Transport;
use crate::types::{GroupId, NodeId, NodeInfo, TypeConfig};

/// Creates a [`Network`] per peer for one group.
#[derive(Clone)]
pub struct NetworkFactory {
    /// The node's endpoint, shared by every group.
    pub transport: Arc<Transport>,
    /// The group whose traffic this factory carries.
    pub group: GroupId,
    /// Fault injection (tests): peers this node must not talk to.
    pub faults: Arc<Faults>,
}

/// A connection to one peer for one group.
pub struct Network {
    transport: Arc<Transport>,
    group: GroupId,
    faults: Arc<Faults>,
    target: NodeId,
    node: NodeInfo,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> Network {
        Network {
            transport: self.transport.clone(),
            group: self.group,
            faults: self.faults.clone(),
            target,
            node: node.clone(),
        }
    }
}

type RpcErr<E = openraft::error::Infallible> = RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>;

impl Network {
    async fn send<E: std::error::Error>(
        &self,
        rpc: RaftRequest,
        ttl: Duration,
    ) -> Result<RaftReply, RpcErr<E>> {
        if self.faults.is_blocked(self.target) {
            return Err(RPCError::Unreachable(Unreachable::new(
                &Error::Unavailable(format!(
                    "link to node {} cut by fault injection",
                    self.target
                )),
            )));
        }
        let req = RpcRequest::Raft {
            group: self.group,
            rpc,
        };
        match self
            .transport
            .call(self.target, &self.node, &req, ttl)
            .await
        {
            Ok(RpcResponse::Raft(reply)) => Ok(reply),
            Ok(RpcResponse::Failed(e)) => Err(RPCError::Network(NetworkError::new(&e))),
            Ok(other) => Err(RPCError::Network(NetworkError::new(&Error::Malformed(
                format!("unexpected reply to a raft rpc: {other:?}"),
            )))),
            Err(e @ Error::Unavailable(_)) => Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }

    fn unexpected<E: std::error::Error>(&self, what: &str) -> RpcErr<E> {
        RPCError::Network(NetworkError::new(&Error::Malformed(format!(
            "peer answered a {what} with another kind"
        ))))
    }
}

impl RaftNetwork<TypeConfig> for Network {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        match self
            .send(RaftRequest::Append(rpc), option.hard_ttl())
            .await?
        {
            RaftReply::Append(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected("append")),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcErr<InstallSnapshotError>> {
        match self
            .send(RaftRequest::Snapshot(rpc), option.hard_ttl())
            .await?
        {
            RaftReply::Snapshot(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected("snapshot")),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcErr> {
        match self.send(RaftRequest::Vote(rpc), option.hard_ttl()).await? {
            RaftReply::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected("vote")),
        }
    }
}
