//! The node runtime: one QUIC endpoint, one router, one openraft instance per hosted group.
//!
//! Data layout: `DATA_DIR/group-<id>/log` (the [log store](crate::log_store)),
//! `DATA_DIR/group-<id>/sm` (the [state machine](crate::state_machine) snapshot file) and
//! `DATA_DIR/group-<id>/initialized`, a marker written once this replica has seen a membership
//! of the group (see [`Bootstrap`]). Reopening the same directories restores every group: the
//! state machine from its snapshot, then openraft re-applies committed log entries after it.
//!
//! ## Bootstrap, once
//!
//! A cluster started with a `bootstrap` list forms without an admin step: the node with the
//! lowest id in the list initializes each group ([`Bootstrap::run`]), but only when all of these
//! hold for the group:
//!
//! * its `initialized` marker is absent (a marker next to an empty log means the data was lost:
//!   the node refuses and says so);
//! * its Raft storage is empty (no log, no snapshot, no vote);
//! * every other bootstrap member answered and none reports a membership of the group (it waits
//!   for members that do not answer yet; one that reports a membership means the group exists
//!   and this node lost its state).
//!
//! A node whose disk was wiped therefore never forms a second, empty group under the old name:
//! it starts without state, logs `this node has no state; join it with shard-node admin
//! add-node`, and the operator removes the old replica (`admin remove-node`) and adds the node
//! again (`admin add-node`), after which it catches up by snapshot and log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::log_store::{LogOptions, LogStore};
use crate::protocol::{ClientReply, ClientRequest, RpcRequest, RpcResponse};
use crate::publish::{PublishConfig, PublishStats, Publisher};
use crate::raft::{Faults, NetworkFactory, Proposer};
use crate::router::{Group, Router};
use crate::state_machine::{AppState, ApplyHook, StateMachine};
use crate::transport::frame::{check_max_frame, max_entry_bytes, MAX_FRAME};
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

/// Name of the per-group marker file written once the replica has seen a membership.
pub const INITIALIZED_MARKER: &str = "initialized";

/// The marker path of group `g` under `data_dir`.
pub fn marker_path(data_dir: &Path, g: GroupId) -> PathBuf {
    data_dir.join(format!("group-{g}")).join(INITIALIZED_MARKER)
}

/// Writes `path` atomically (temporary file, fsync, rename, fsync of the directory).
fn write_marker(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes the group's `initialized` marker the first time this replica's Raft state shows a
/// membership (from `initialize`, a replicated membership entry or an installed snapshot), then
/// returns.
async fn watch_membership(
    mut rx: tokio::sync::watch::Receiver<openraft::RaftMetrics<NodeId, NodeInfo>>,
    me: NodeId,
    group: GroupId,
    marker: PathBuf,
) {
    loop {
        let member = rx.borrow_and_update().membership_config.log_id().is_some();
        if member {
            if marker.exists() {
                return;
            }
            let path = marker.clone();
            let text = format!("node {me} group {group}\n");
            match tokio::task::spawn_blocking(move || write_marker(&path, &text)).await {
                Ok(Ok(())) => info!(group, "wrote {}", marker.display()),
                Ok(Err(e)) => warn!(group, "cannot write {}: {e}", marker.display()),
                Err(e) => warn!(group, "marker writer failed: {e}"),
            }
            return;
        }
        if rx.changed().await.is_err() {
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
    /// Bytes an AppendEntries RPC with more than one entry may carry (besides the frame cap);
    /// a larger one is sent as fewer entries. openraft gives an AppendEntries one heartbeat
    /// interval to be sent, stored and answered, so this must take well under `heartbeat_ms`
    /// on the slowest link (1 MiB: ~8 ms at 1 Gbit/s). One entry always travels, whatever its
    /// size below the frame cap.
    pub max_append_bytes: u64,
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
    /// Entries the leader keeps proposed for client writes and not yet answered; client write
    /// requests that arrive meanwhile are merged into the next entry, up to
    /// `max_append_bytes` and [`RaftTuning::max_entry_commands`] (see
    /// [`crate::raft::proposer`]: openraft appends one entry per fsync).
    pub proposals_in_flight: u64,
    /// Most commands merged into one entry: one apply holds the group's state lock for all of
    /// them. A single client request with more travels alone.
    pub max_entry_commands: u64,
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
            max_append_bytes: 1 << 20,
            snapshot_chunk_bytes: 4 << 20,
            snapshot_record_bytes: 1 << 20,
            install_snapshot_timeout_ms: 60_000,
            proposals_in_flight: 2,
            max_entry_commands: 4096,
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

    /// The limits of each group's proposer on a node whose entries may be `max_entry` bytes.
    pub fn proposer_limits(&self, max_entry: usize) -> crate::raft::ProposerLimits {
        let cap = |v: u64| usize::try_from(v).unwrap_or(usize::MAX).max(1);
        crate::raft::ProposerLimits {
            in_flight: cap(self.proposals_in_flight),
            max_bytes: cap(self.max_append_bytes).min(max_entry),
            max_commands: cap(self.max_entry_commands),
        }
    }

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
    /// Largest frame the node sends or accepts, between
    /// [`MIN_FRAME`](crate::transport::frame::MIN_FRAME) and [`MAX_FRAME`] (the default). Write
    /// batches larger than [`max_entry_bytes`] of it are refused, and snapshot chunks are cut
    /// below it. Clients talking to the node should use the same cap (`ClientConfig::max_frame`).
    pub max_frame: usize,
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
            max_frame: MAX_FRAME,
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
    data_dir: PathBuf,
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
        // Peers check that the certificate is this id's; refuse to run under another one.
        match opts.tls.role()? {
            crate::auth::Role::Node(id) if id == opts.id => {}
            other => {
                return Err(Error::Config(format!(
                    "node {} was given the certificate of {other}; issue one with \
                     `shard-node certs --add-node {}=NAME`",
                    opts.id, opts.id
                )))
            }
        }
        let max_frame = check_max_frame(opts.max_frame)?;
        let max_entry = max_entry_bytes(max_frame);
        let config = {
            let mut c = (*opts.raft.to_config()?).clone();
            c.snapshot_max_chunk_size = c.snapshot_max_chunk_size.min(max_entry as u64);
            Arc::new(c)
        };
        // Every group's log is opened, and so checked, before anything starts: a damaged log
        // stops the whole node before it binds its port or takes part in any group.
        let mut logs = Vec::with_capacity(opts.groups.len());
        for &g in &opts.groups {
            if g >= opts.layout.groups {
                return Err(Error::Config(format!(
                    "group {g} outside layout of {} groups",
                    opts.layout.groups
                )));
            }
            let dir = opts.data_dir.join(format!("group-{g}"));
            logs.push(LogStore::open(&dir.join("log"), opts.log)?);
        }
        let transport = Transport::bind(opts.listen, &opts.tls)?;
        transport.set_max_frame(max_frame);
        let addr = transport.local_addr()?;
        let faults = Arc::new(Faults::default());
        let router = Arc::new(Router::new(opts.id, faults.clone()).with_max_entry_bytes(max_entry));
        let publisher = opts.publish.clone().map(Publisher::start).transpose()?;
        let mut watchers = Vec::new();
        for (&g, log) in opts.groups.iter().zip(logs) {
            let dir = opts.data_dir.join(format!("group-{g}"));
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
                max_append_bytes: usize::try_from(opts.raft.max_append_bytes).unwrap_or(usize::MAX),
            };
            let raft = Raft::new(opts.id, config.clone(), network, log, sm)
                .await
                .map_err(|e| Error::Raft(e.to_string()))?;
            watchers.push(tokio::spawn(watch_leadership(
                raft.metrics(),
                opts.id,
                is_leader,
            )));
            watchers.push(tokio::spawn(watch_membership(
                raft.metrics(),
                opts.id,
                g,
                marker_path(&opts.data_dir, g),
            )));
            let proposer = Proposer::spawn(raft.clone(), g, opts.raft.proposer_limits(max_entry));
            router.add(Group {
                id: g,
                raft,
                sm: handle,
                proposer,
            });
        }
        let serve = transport.serve(router.clone());
        info!(node = opts.id, %addr, groups = ?opts.groups, "shard node started");
        Ok(Self {
            id: opts.id,
            addr,
            data_dir: opts.data_dir.clone(),
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

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The one-time bootstrap of every hosted group with `members` as the initial voters (see
    /// the [module docs](self)); run it with [`Bootstrap::run`], typically in a task of its own
    /// since it waits for the other members to answer.
    pub fn bootstrap(&self, members: Vec<(NodeId, NodeInfo)>) -> Bootstrap {
        Bootstrap {
            me: self.id,
            data_dir: self.data_dir.clone(),
            router: self.router.clone(),
            transport: self.transport.clone(),
            members,
            retry: Duration::from_millis(500),
        }
    }

    /// Initializes `group` with `members` as voters (only on a fresh group: a group that
    /// already has state answers [`Error::Membership`]).
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

/// What [`Bootstrap::run`] did for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// This node initialized the group with the bootstrap members as voters.
    Initialized,
    /// The group already has Raft state here (a restart): nothing to do.
    HasState,
    /// Another member (the lowest id) initializes the groups; this node waits to be reached.
    NotBootstrapper {
        /// The member that initializes.
        bootstrapper: NodeId,
    },
    /// This node has no state but `peer` reports a membership of the group: the group exists
    /// and this node's data was lost. It must be added with `shard-node admin add-node`.
    NeedsJoin {
        /// The member that reported a membership.
        peer: NodeId,
    },
    /// The `initialized` marker exists but the Raft storage is empty: the data was lost (or
    /// the log directory deleted). Nothing is initialized; the node must be added again.
    StateLost,
}

/// The one-time initialization of a node's groups from a bootstrap member list; built by
/// [`ShardNode::bootstrap`].
pub struct Bootstrap {
    me: NodeId,
    data_dir: PathBuf,
    router: Arc<Router>,
    transport: Arc<Transport>,
    members: Vec<(NodeId, NodeInfo)>,
    retry: Duration,
}

impl Bootstrap {
    /// Pause between two rounds of asking members that did not answer yet (default 500 ms).
    pub fn retry_every(mut self, d: Duration) -> Self {
        self.retry = d;
        self
    }

    /// Decides, and for the lowest-id member performs, the initialization of every hosted
    /// group. Waits (retrying every [`Self::retry_every`]) while some bootstrap member does not
    /// answer; returns one outcome per group, in group order.
    pub async fn run(&self) -> Result<Vec<(GroupId, BootstrapOutcome)>> {
        let mut out = Vec::new();
        for g in self.router.groups() {
            let outcome = self.group(&g).await?;
            match &outcome {
                BootstrapOutcome::Initialized => info!(group = g.id, "group initialized"),
                BootstrapOutcome::HasState => {
                    info!(group = g.id, "group has state here; no bootstrap needed")
                }
                BootstrapOutcome::NotBootstrapper { bootstrapper } => info!(
                    group = g.id,
                    "node {bootstrapper} initializes the group; waiting to be reached"
                ),
                BootstrapOutcome::NeedsJoin { peer } => error!(
                    group = g.id,
                    "node {peer} reports a membership of the group, so it exists: this node \
                     has no state; join it with `shard-node admin add-node` (after \
                     `shard-node admin remove-node` while it is still listed as a member)"
                ),
                BootstrapOutcome::StateLost => error!(
                    group = g.id,
                    "{} exists but the Raft storage is empty, so this node's data was lost and \
                     it is not initialized again: this node has no state; join it with \
                     `shard-node admin add-node` (after `shard-node admin remove-node`)",
                    marker_path(&self.data_dir, g.id).display()
                ),
            }
            out.push((g.id, outcome));
        }
        Ok(out)
    }

    async fn has_state(&self, g: &Group) -> Result<bool> {
        g.raft
            .is_initialized()
            .await
            .map_err(|e| Error::Raft(e.to_string()))
    }

    async fn group(&self, g: &Group) -> Result<BootstrapOutcome> {
        let marker = marker_path(&self.data_dir, g.id);
        let bootstrapper = self.members.iter().map(|m| m.0).min();
        let mut round = 0u64;
        loop {
            round += 1;
            let has_state = self.has_state(g).await?;
            if has_state {
                return Ok(BootstrapOutcome::HasState);
            }
            if marker.exists() {
                return Ok(BootstrapOutcome::StateLost);
            }
            if let Some(b) = bootstrapper.filter(|b| *b != self.me) {
                return Ok(BootstrapOutcome::NotBootstrapper { bootstrapper: b });
            }
            let mut waiting = Vec::new();
            for (id, info) in self.members.iter().filter(|m| m.0 != self.me) {
                let req = RpcRequest::Client {
                    group: g.id,
                    req: ClientRequest::Status,
                };
                match self
                    .transport
                    .call(*id, info, &req, Duration::from_secs(2))
                    .await
                {
                    Ok(RpcResponse::Client(Ok(ClientReply::Status(s)))) => {
                        if !s.voters.is_empty() || !s.learners.is_empty() {
                            return Ok(BootstrapOutcome::NeedsJoin { peer: *id });
                        }
                    }
                    // It does not host the group, so it has no membership of it.
                    Ok(RpcResponse::Failed(Error::UnknownGroup(_))) => {}
                    Ok(other) => waiting.push(format!("node {id}: {other:?}")),
                    Err(e) => waiting.push(format!("node {id}: {e}")),
                }
            }
            if waiting.is_empty() {
                let members: std::collections::BTreeMap<NodeId, NodeInfo> =
                    self.members.iter().cloned().collect();
                return match g.raft.initialize(members).await {
                    Ok(()) => Ok(BootstrapOutcome::Initialized),
                    // Another member or an admin initialized it meanwhile.
                    Err(openraft::error::RaftError::APIError(
                        openraft::error::InitializeError::NotAllowed(_),
                    )) => Ok(BootstrapOutcome::HasState),
                    Err(e) => Err(Error::Membership(e.to_string())),
                };
            }
            if round % 20 == 1 {
                info!(
                    group = g.id,
                    "bootstrap waits for every member to answer: {}",
                    waiting.join("; ")
                );
            }
            tokio::time::sleep(self.retry).await;
        }
    }
}
