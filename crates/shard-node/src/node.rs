//! The node runtime: one QUIC endpoint, one router, one openraft instance per hosted group.
//!
//! Data layout: `DATA_DIR/group-<id>/log` (the [log store](crate::log_store)) and
//! `DATA_DIR/group-<id>/sm` (the [state machine](crate::state_machine) snapshot file). Reopening the
//! same directories restores every group: the state machine from its snapshot, then openraft
//! re-applies committed log entries after it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tracing::info;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::log_store::{LogOptions, LogStore};
use crate::publish::{PublishConfig, PublishStats, Publisher};
use crate::raft::{Faults, NetworkFactory};
use crate::router::{Group, Router};
use crate::state_machine::{AppState, ApplyHook, StateMachine};
use crate::transport::{TlsIdentity, Transport};
use crate::types::{GroupId, NodeId, NodeInfo, Raft};

/// Keeps `flag` equal to "this node is the group's leader" (read by the publisher's hook on the
/// apply path, where awaiting openraft's metrics is not possible).
async fn watch_leadership(
    mut rx: tokio::sync::watch::Receiver<openraft::RaftMetrics<NodeId, NodeInfo>>,
    me: NodeId,
    flag: Arc<AtomicBool>,
) {
    loop {
        let leader = {
            let m = rx.borrow_and_update();
            m.current_leader == Some(me) && m.state == openraft::ServerState::Leader
        };
        flag.store(leader, Ordering::Relaxed);
        if rx.changed().await.is_err() {
            flag.store(false, Ordering::Relaxed);
            return;
        }
    }
}

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
    /// Bytes of a snapshot sent per InstallSnapshot RPC (one frame each; must stay well below
    /// the frame cap).
    pub snapshot_chunk_bytes: u64,
    /// Target payload of a snapshot file record: building, storing and restoring a snapshot
    /// hold about one record besides the state.
    pub snapshot_record_bytes: u64,
    /// Time allowed for one InstallSnapshot RPC (ms). The follower restores the whole state
    /// inside the RPC that carries the last chunk, so this must cover restoring the largest
    /// group (about 0.5 s per million members on a 2-core machine, see docs/PERFORMANCE.md) or
    /// the leader gives up and starts over.
    pub install_snapshot_timeout_ms: u64,
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
            snapshot_chunk_bytes: 4 << 20,
            snapshot_record_bytes: 1 << 20,
            install_snapshot_timeout_ms: 60_000,
        }
    }
}

impl RaftTuning {
    /// Fast timings for tests on loopback.
    pub fn fast() -> Self {
        Self {
            heartbeat_ms: 50,
            // Wide enough that a loaded 2-core test machine does not hold spurious elections.
            election_min_ms: 300,
            election_max_ms: 600,
            ..Self::default()
        }
    }

    /// Largest accepted [`RaftTuning::snapshot_chunk_bytes`]: half the frame cap.
    pub const MAX_SNAPSHOT_CHUNK: u64 = (crate::transport::frame::MAX_FRAME / 2) as u64;

    /// Largest accepted [`RaftTuning::snapshot_record_bytes`] (records are checked against the
    /// log's record limit on read).
    pub const MAX_SNAPSHOT_RECORD: u64 = 64 << 20;

    /// The state machine's snapshot settings.
    pub fn snapshot_options(&self) -> crate::state_machine::SnapshotOptions {
        crate::state_machine::SnapshotOptions {
            record_bytes: self.snapshot_record_bytes as usize,
        }
    }

    /// The openraft configuration.
    pub fn to_config(&self) -> Result<Arc<openraft::Config>> {
        if !(1..=Self::MAX_SNAPSHOT_CHUNK).contains(&self.snapshot_chunk_bytes) {
            return Err(Error::Config(format!(
                "snapshot_chunk_bytes must be 1..={}, got {}",
                Self::MAX_SNAPSHOT_CHUNK,
                self.snapshot_chunk_bytes
            )));
        }
        if !(1..=Self::MAX_SNAPSHOT_RECORD).contains(&self.snapshot_record_bytes) {
            return Err(Error::Config(format!(
                "snapshot_record_bytes must be 1..={}, got {}",
                Self::MAX_SNAPSHOT_RECORD,
                self.snapshot_record_bytes
            )));
        }
        let cfg = openraft::Config {
            cluster_name: "leaderboard".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_logs),
            max_in_snapshot_log_to_keep: self.keep_logs,
            max_payload_entries: self.max_payload_entries,
            snapshot_max_chunk_size: self.snapshot_chunk_bytes,
            install_snapshot_timeout: self.install_snapshot_timeout_ms,
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
    /// Extra apply hook per group (tests observe applied batches with it); `None` for none.
    pub hook: Option<Arc<dyn Fn(GroupId) -> ApplyHook + Send + Sync>>,
    /// Publish applied changes to Redis Cluster (sharded pub/sub) from each group's leader;
    /// `None` publishes nothing.
    pub publish: Option<PublishConfig>,
}

impl NodeOptions {
    /// Options with default tuning, durable log, no hook and no publishing.
    pub fn new(id: NodeId, listen: SocketAddr, data_dir: PathBuf, tls: TlsIdentity) -> Self {
        Self {
            id,
            listen,
            data_dir,
            groups: vec![0],
            layout: Layout::default(),
            raft: RaftTuning::default(),
            log: LogOptions::default(),
            tls,
            hook: None,
            publish: None,
        }
    }
}

/// Composes two optional apply hooks.
fn both(a: Option<ApplyHook>, b: Option<ApplyHook>) -> Option<ApplyHook> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Arc::new(move |i, batch, reply| {
            a(i, batch, reply);
            b(i, batch, reply);
        })),
        (a, b) => a.or(b),
    }
}

/// A running shard node.
pub struct ShardNode {
    id: NodeId,
    addr: SocketAddr,
    transport: Arc<Transport>,
    router: Arc<Router>,
    faults: Arc<Faults>,
    publisher: Option<Publisher>,
    serve: JoinHandle<()>,
    watchers: Vec<JoinHandle<()>>,
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
        let publisher = opts.publish.clone().map(Publisher::start).transpose()?;
        let mut watchers = Vec::new();
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
            let is_leader = Arc::new(AtomicBool::new(false));
            let hook = both(
                opts.hook.as_ref().map(|h| h(g)),
                publisher.as_ref().map(|p| p.hook(g, is_leader.clone())),
            );
            // Restoring a large snapshot takes seconds: off the async workers, which serve the
            // groups started before this one.
            let (sm_dir, sm_opts) = (dir.join("sm"), opts.raft.snapshot_options());
            let (sm, handle) = tokio::task::spawn_blocking(move || {
                StateMachine::open_with(&sm_dir, app, hook, sm_opts)
            })
            .await
            .map_err(|e| Error::Io(format!("state machine open task: {e}")))??;
            sm.set_node(opts.id);
            let network = NetworkFactory {
                transport: transport.clone(),
                group: g,
                faults: faults.clone(),
            };
            let raft = Raft::new(opts.id, config.clone(), network, log, sm)
                .await
                .map_err(|e| Error::Raft(e.to_string()))?;
            watchers.push(tokio::spawn(watch_leadership(
                raft.metrics(),
                opts.id,
                is_leader,
            )));
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
            publisher,
            serve,
            watchers,
        })
    }

    /// The change publisher's counters, when publishing is configured.
    pub fn publish_stats(&self) -> Option<&Arc<PublishStats>> {
        self.publisher.as_ref().map(|p| p.stats())
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
        for w in self.watchers {
            w.abort();
        }
        info!(node = self.id, "shard node stopped");
    }
}
