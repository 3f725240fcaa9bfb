//! openraft's network seam: Raft RPCs of one group sent over the node's shared QUIC endpoint.
//!
//! A [`NetworkFactory`] exists per group (it stamps the group id on every frame); all of them
//! share the node's one [`Transport`], hence one connection per peer for all groups.
//! Connection failures become `Unreachable` (openraft then backs off before retrying that peer),
//! a broken exchange becomes `Network`, and an error returned by the peer's Raft is handed back
//! as `RemoteError` so openraft sees higher terms and conflicts exactly as if it were local.
//!
//! An AppendEntries whose frame exceeds the cap — found while encoding it here, or refused by a
//! peer with a lower cap — becomes `PayloadTooLarge` with a hint of how many entries fit, so
//! openraft retries at once with fewer entries. As a network error it would be retried with the
//! same entries forever and the follower would never catch up. The same happens below the frame
//! cap when an AppendEntries of several entries exceeds
//! [`max_append_bytes`](crate::node::RaftTuning::max_append_bytes): openraft allows an
//! AppendEntries one heartbeat interval, and one that cannot be sent and stored in that time
//! would time out on every retry; for the same reason an AppendEntries of several entries that
//! does not complete in three quarters of that interval is reported as `PayloadTooLarge` with
//! half as many entries (a slow link or a busy follower then gets smaller requests, down to one
//! entry). Nodes keep every entry below the frame cap
//! ([`max_entry_bytes`](crate::transport::frame::max_entry_bytes)), so one entry always fits; an
//! entry that does not (written under a larger cap) stays a network error.

use std::sync::Arc;

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
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
    /// Bytes an AppendEntries with more than one entry may carry
    /// ([`RaftTuning::max_append_bytes`](crate::node::RaftTuning::max_append_bytes)).
    pub max_append_bytes: usize,
}

/// A connection to one peer for one group.
pub struct Network {
    transport: Arc<Transport>,
    group: GroupId,
    faults: Arc<Faults>,
    max_append_bytes: usize,
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
            max_append_bytes: self.max_append_bytes,
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
        option: &RPCOption,
    ) -> Result<RaftReply, RpcErr<E>> {
        if self.faults.is_blocked(self.target) {
            return Err(RPCError::Unreachable(Unreachable::new(
                &Error::Unavailable(format!(
                    "link to node {} cut by fault injection",
                    self.target
                )),
            )));
        }
        let entries = match &rpc {
            RaftRequest::Append(r) => Some(r.entries.len() as u64),
            _ => None,
        };
        // One entry must go whatever its size (below the frame cap); more than one may be split,
        // by size here, and by time: openraft drops an AppendEntries after `hard_ttl` (one
        // heartbeat interval) and would send the same one again, so a slow one is given up a
        // little earlier and sent as fewer entries.
        let (limit, ttl) = match entries {
            Some(n) if n > 1 => (self.max_append_bytes, option.soft_ttl()),
            _ => (usize::MAX, option.hard_ttl()),
        };
        let req = RpcRequest::Raft {
            group: self.group,
            rpc,
        };
        let call = self
            .transport
            .call_limited(self.target, &self.node, &req, ttl, limit);
        let (e, from_peer) = match call.await {
            Ok(RpcResponse::Raft(reply)) => return Ok(reply),
            Ok(RpcResponse::Failed(e)) => (e, true),
            Ok(other) => {
                return Err(RPCError::Network(NetworkError::new(&Error::Malformed(
                    format!("unexpected reply to a raft rpc: {other:?}"),
                ))))
            }
            Err(e) => (e, false),
        };
        if let Some(hint) = too_large(&e, entries).or_else(|| too_slow(&e, entries)) {
            return Err(RPCError::PayloadTooLarge(
                PayloadTooLarge::new_entries_hint(hint).with_source_error(&e),
            ));
        }
        Err(match e {
            Error::Unavailable(_) if !from_peer => RPCError::Unreachable(Unreachable::new(&e)),
            e => RPCError::Network(NetworkError::new(&e)),
        })
    }

    fn unexpected<E: std::error::Error>(&self, what: &str) -> RpcErr<E> {
        RPCError::Network(NetworkError::new(&Error::Malformed(format!(
            "peer answered a {what} with another kind"
        ))))
    }
}

/// How many entries to send instead, when `e` says that an AppendEntries of `entries` entries
/// did not fit a frame (our own cap or the peer's). `None` when `e` is another error, the
/// request was not an AppendEntries, or it held one entry and cannot be split.
///
/// The hint scales the count by `limit / size` with a tenth to spare, since entries differ in
/// size; if the smaller request still does not fit, the next attempt scales it down again. It
/// is always below `entries`, so the retries shrink to a request that fits.
fn too_large(e: &Error, entries: Option<u64>) -> Option<u64> {
    let Error::FrameTooLarge { size, limit } = e else {
        return None;
    };
    let n = entries.filter(|n| *n > 1)?;
    let scaled = (n as u128 * *limit as u128 * 9 / 10 / (*size).max(1) as u128) as u64;
    Some(scaled.clamp(1, n - 1))
}

/// Half as many entries, when `e` says that an AppendEntries of `entries` (more than one)
/// entries did not complete in time.
fn too_slow(e: &Error, entries: Option<u64>) -> Option<u64> {
    match (e, entries) {
        (Error::Timeout(_), Some(n)) if n > 1 => Some(n / 2),
        _ => None,
    }
}

impl RaftNetwork<TypeConfig> for Network {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        match self.send(RaftRequest::Append(rpc), &option).await? {
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
        match self.send(RaftRequest::Snapshot(rpc), &option).await? {
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
        match self.send(RaftRequest::Vote(rpc), &option).await? {
            RaftReply::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(self.unexpected("vote")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(size: usize, limit: usize) -> Error {
        Error::FrameTooLarge { size, limit }
    }

    #[test]
    fn oversized_appends_get_an_entries_hint_that_shrinks() {
        // 512 entries in 40 MiB against a 16 MiB cap: about a third of them, less a tenth.
        assert_eq!(too_large(&big(40 << 20, 16 << 20), Some(512)), Some(184));
        // Barely over: still strictly fewer entries than before.
        assert_eq!(too_large(&big(1001, 1000), Some(3)), Some(2));
        assert_eq!(too_large(&big(1001, 1000), Some(2)), Some(1));
        // Far over: at least one entry.
        assert_eq!(too_large(&big(usize::MAX, 1 << 20), Some(512)), Some(1));
        // Repeated refusals converge on a request that fits.
        let (mut n, per_entry, cap) = (512u64, 100_000usize, 1usize << 20);
        while n as usize * per_entry > cap {
            n = too_large(&big(n as usize * per_entry, cap), Some(n)).unwrap();
        }
        assert!(n >= 1);
        // Nothing to split, or not a size problem.
        assert_eq!(too_large(&big(2 << 20, 1 << 20), Some(1)), None);
        assert_eq!(too_large(&big(2 << 20, 1 << 20), None), None);
        assert_eq!(too_large(&Error::Unavailable("x".into()), Some(10)), None);
    }

    #[test]
    fn slow_appends_are_halved_down_to_one_entry() {
        let t = Error::Timeout("slow".into());
        assert_eq!(too_slow(&t, Some(512)), Some(256));
        assert_eq!(too_slow(&t, Some(3)), Some(1));
        assert_eq!(too_slow(&t, Some(1)), None);
        assert_eq!(too_slow(&t, None), None);
        assert_eq!(too_slow(&Error::Unavailable("x".into()), Some(8)), None);
    }
}
