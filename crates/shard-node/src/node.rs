//! The node runtime: one QUIC endpoint, one router, one openraft instance per hosted group.
//!
//! Data layout: `DATA_DIR/group-<id>/log` (the [log store](crate::log_store)) and
//! `DATA_DIR/group-<id>/sm` (the [state machine](crate::state_machine) snapshot). Reopening the
//! same directories restores every group: the state machine from its snapshot, then openraft
//! re-applies committed log entries after it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tracing::info;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::log_store::{LogOptions, LogStore};
use crate::raft::{Faults, NetworkFactory};
use crate::router::{Group, Router};
use crate::state_machine::{AppState, ApplyHook, StateMachine};
use crate::transport::{TlsIdentity, Transport};
use crate::types::{GroupId, NodeId, NodeInfo, Raft};

/// Raft timing and snapshot policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RaftTuning {
    /// Leader heartbeat interval (ms).
    pub heartbeat_ms: u64,
    /// Election timeout range (ms); must exceed the heartbeat by a few round trips.
    pub election_min_ms: u64,
    /// Upper end of the randomized election timeout (ms).
    pub election_max_ms: u64,
    /// Build a snapshot after this many entries since the last one; the log behind it is purged.
    pub snapshot_logs: u64,
    /// Entries kept in the log behind a snapshot (lets a slightly lagging follower catch up by
    /// log instead of by snapshot).
    pub keep_logs: u64,
    /// Max entries per AppendEntries RPC.
    pub max_payload_entries: u64,
}

impl Default for RaftTuning {
    fn default() -> Self {
        Self {
            heartbeat_ms: 100,
            election_min_ms: 400,
            election_max_ms: 800,
            snapshot_logs: 20_000,
            keep_logs: 1_000,
            max_payload_entries: 512,
        }
    }
}

impl RaftTuning {
    /// Fast timings for tests on loopback.
    pub fn fast() -> Self {
        Self {
            heartbeat_ms: 50,
            election_min_ms: 200,
            election_max_ms: 400,
            ..Self::default()
        }
    }

    /// The openraft configuration.
    pub fn to_config(&self) -> Result<Arc<openraft::Config>> {
        let cfg = openraft::Config {
            cluster_name: "leaderboard".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_logs),
            max_in_snapshot_log_to_keep: self.keep_logs,
            max_payload_entries: self.max_payload_entries,
            // Chunks stay far below the frame cap (16 MiB).
            snapshot_max_chunk_size: 4 << 20,
            install_snapshot_timeout: 5_000,
            ..Default::default()
        };
        Ok(Arc::new(
            cfg.validate().map_err(|e| Error::Config(e.to_string()))?,
        ))
    }
}

/// Everything a node needs to start.
#[derive(Clone)]
pub struct NodeOptions {
    /// This node's id (unique in the cluster, stable across restarts).
    pub id: NodeId,
    /// QUIC listen address.
    pub listen: SocketAddr,
    /// Where the groups' logs and snapshots live.
    pub data_dir: PathBuf,
    /// Groups hosted here.
    pub groups: Vec<GroupId>,
    /// The cluster's partition layout.
    pub layout: Layout,
    /// Raft timings.
    pub raft: RaftTuning,
    /// Log durability.
    pub log: LogOptions,
    /// Certificates.
    pub tls: TlsIdentity,
    /// Called with each applied batch (change publishing); `None` to publish nothing.
    pub hook: Option<Arc<dyn Fn(GroupId) -> ApplyHook + Send + Sync>>,
}

/// A running shard node.
pub struct ShardNode {
    id: NodeId,
    addr: SocketAddr,
    transport: Arc<Transport>,
    router: Arc<Router>,
    faults: Arc<Faults>,
    serve: JoinHandle<()>,
}

impl ShardNode {
    /// Opens every group's storage, starts Raft and begins serving.
    pub async fn start(opts: NodeOptions) -> Result<Self> {
        opts.layout.validate()?;
        let config = opts.raft.to_config()?;
        let transport = Transport::bind(opts.listen, &opts.tls)?;
        let addr = transport.local_addr()?;
        let faults = Arc::new(Faults::default());
        let router = Arc::new(Router::new(opts.id, faults.clone()));
        for &g in &opts.groups {
            if g >= opts.layout.groups {
                return Err(Error::Config(format!(
                    "group {g} outside layout of {} groups",
                    opts.layout.groups
                )));
            }
            let dir = opts.data_dir.join(format!("group-{g}"));
            let log = LogStore::open(&dir.join("log"), opts.log)?;
            let app = AppState::new(g, opts.layout);
            let hook = opts.hook.as_ref().map(|h| h(g));
            let (sm, handle) = StateMachine::open(&dir.join("sm"), app, hook)?;
            let network = NetworkFactory {
                transport: transport.clone(),
                group: g,
                faults: faults.clone(),
            };
            let raft = Raft::new(opts.id, config.clone(), network, log, sm)
                .await
                .map_err(|e| Error::Raft(e.to_string()))?;
            router.add(Group {
                id: g,
                raft,
                sm: handle,
            });
        }
        let serve = transport.serve(router.clone());
        info!(node = opts.id, %addr, groups = ?opts.groups, "shard node started");
        Ok(Self {
            id: opts.id,
            addr,
            transport,
            router,
            faults,
            serve,
        })
    }

    /// Node id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The bound QUIC address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The router (groups, status, direct client calls in tests).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Fault injection handle.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    /// The Raft instance of `group`, if hosted here.
    pub fn raft(&self, group: GroupId) -> Option<Raft> {
        self.router.group(group).map(|g| g.raft)
    }

    /// Initializes `group` with `members` as voters (once, on a fresh cluster; repeating it is
    /// harmless).
    pub async fn initialize(&self, group: GroupId, members: Vec<(NodeId, NodeInfo)>) -> Result<()> {
        let g = self.router.group(group).ok_or(Error::UnknownGroup(group))?;
        self.router
            .client(&g, crate::protocol::ClientRequest::Initialize { members })
            .await
            .map(|_| ())
    }

    /// Stops Raft in every group and closes the endpoint.
    pub async fn shutdown(self) {
        for g in self.router.groups() {
            let _ = tokio::time::timeout(Duration::from_secs(5), g.raft.shutdown()).await;
        }
        self.transport.close();
        self.transport.wait_idle(Duration::from_secs(2)).await;
        self.serve.abort();
        let _ = self.serve.await;
        info!(node = self.id, "shard node stopped");
    }
}
