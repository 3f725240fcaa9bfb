//! In-process test clusters: real QUIC on 127.0.0.1, real disks (temp dirs), fast Raft timings.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use leaderboard_core::{BoardConfig, BoardId, OpId, Window, Write};
use shard_node::certs::{self, DevCerts};
use shard_node::client::{ClientConfig, NodeEntry, ShardClient};
use shard_node::command::{Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::log_store::{FsyncPolicy, LogOptions};
use shard_node::node::{NodeOptions, RaftTuning, ShardNode};
use shard_node::protocol::{ClientReply, ClientRequest, GroupStatus, ReadConsistency};
use shard_node::transport::frame::MAX_FRAME;
use shard_node::transport::TlsIdentity;
use shard_node::types::{GroupId, NodeId, NodeInfo};

/// The board most tests write to.
pub const BOARD: &str = "quiz";

/// Creates [`BOARD`] with default settings.
pub async fn create_board(client: &ShardClient) {
    client
        .create_board(BOARD, BoardConfig::default())
        .await
        .expect("create board");
}

/// Writes member `m{v}` with score `v` and op id `v`.
pub async fn put(client: &ShardClient, v: u64) -> shard_node::Result<()> {
    let w = Write::new(format!("m{v}"), v as i64, 0).op_id(OpId(u128::from(v)));
    client.write(BOARD, w).await.map(|_| ())
}

/// The member names `m{v}` for `vs`.
pub fn names(vs: impl IntoIterator<Item = u64>) -> std::collections::BTreeSet<String> {
    vs.into_iter().map(|v| format!("m{v}")).collect()
}

pub struct TestCluster {
    pub certs: DevCerts,
    pub dir: tempfile::TempDir,
    pub layout: Layout,
    pub tuning: RaftTuning,
    pub nodes: BTreeMap<NodeId, ShardNode>,
    pub addrs: BTreeMap<NodeId, SocketAddr>,
    /// Change publishing of nodes started from now on.
    pub publish: Option<shard_node::publish::PublishConfig>,
    /// Frame cap of nodes started from now on, and of clients.
    pub max_frame: usize,
}

pub fn identity(certs: &DevCerts, name: &str) -> TlsIdentity {
    let p = certs.get(name).unwrap();
    TlsIdentity::from_pem(&certs.ca_pem, &p.cert_pem, &p.key_pem).unwrap()
}

/// Polls `f` until it returns `Some`, failing the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestCluster {
    /// Starts `n` nodes (ids 1..=n) hosting every group of `layout`; voters are nodes 1..=voters.
    pub async fn start(n: u64, voters: u64, layout: Layout, tuning: RaftTuning) -> Self {
        Self::start_with(n, voters, layout, tuning, None).await
    }

    /// [`TestCluster::start`] with change publishing.
    pub async fn start_with(
        n: u64,
        voters: u64,
        layout: Layout,
        tuning: RaftTuning,
        publish: Option<shard_node::publish::PublishConfig>,
    ) -> Self {
        Self::start_full(n, voters, layout, tuning, publish, MAX_FRAME).await
    }

    /// [`TestCluster::start`] with nodes and clients capping frames at `max_frame` bytes.
    pub async fn start_with_max_frame(
        n: u64,
        voters: u64,
        layout: Layout,
        tuning: RaftTuning,
        max_frame: usize,
    ) -> Self {
        Self::start_full(n, voters, layout, tuning, None, max_frame).await
    }

    async fn start_full(
        n: u64,
        voters: u64,
        layout: Layout,
        tuning: RaftTuning,
        publish: Option<shard_node::publish::PublishConfig>,
        max_frame: usize,
    ) -> Self {
        // Two spare node certificates for nodes added later.
        let certs = certs::dev_cluster(n + 2).unwrap();
        let c = Self::start_nodes_full(certs, n, layout, tuning, publish, max_frame).await;
        let members: Vec<(NodeId, NodeInfo)> = (1..=voters).map(|id| (id, c.info(id))).collect();
        for g in layout.group_ids() {
            c.nodes[&1].initialize(g, members.clone()).await.unwrap();
        }
        for g in layout.group_ids() {
            c.leader(g).await;
        }
        c
    }

    /// Starts `n` nodes (ids 1..=n) hosting every group of `layout`, without initializing any
    /// group.
    pub async fn start_nodes(
        n: u64,
        layout: Layout,
        tuning: RaftTuning,
        publish: Option<shard_node::publish::PublishConfig>,
    ) -> Self {
        // Two spare node certificates for nodes added later.
        let certs = certs::dev_cluster(n + 2).unwrap();
        Self::start_nodes_with(certs, n, layout, tuning, publish).await
    }

    /// [`TestCluster::start_nodes`] with the given certificates (`n1`.. must be among them).
    pub async fn start_nodes_with(
        certs: DevCerts,
        n: u64,
        layout: Layout,
        tuning: RaftTuning,
        publish: Option<shard_node::publish::PublishConfig>,
    ) -> Self {
        Self::start_nodes_full(certs, n, layout, tuning, publish, MAX_FRAME).await
    }

    async fn start_nodes_full(
        certs: DevCerts,
        n: u64,
        layout: Layout,
        tuning: RaftTuning,
        publish: Option<shard_node::publish::PublishConfig>,
        max_frame: usize,
    ) -> Self {
        let mut c = TestCluster {
            certs,
            dir: tempfile::tempdir().unwrap(),
            layout,
            tuning,
            nodes: BTreeMap::new(),
            addrs: BTreeMap::new(),
            publish,
            max_frame,
        };
        for id in 1..=n {
            c.start_node(id, "127.0.0.1:0".parse().unwrap()).await;
        }
        c
    }

    pub fn data_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    pub fn info(&self, id: NodeId) -> NodeInfo {
        NodeInfo::new(self.addrs[&id].to_string(), format!("n{id}"))
    }

    /// The options [`TestCluster::start_node`] starts node `id` with.
    pub fn node_options(&self, id: NodeId, listen: SocketAddr) -> NodeOptions {
        NodeOptions {
            id,
            listen,
            data_dir: self.data_dir(id),
            groups: self.layout.group_ids().collect(),
            layout: self.layout,
            raft: self.tuning,
            log: LogOptions {
                fsync: FsyncPolicy::Always,
                segment_bytes: 1 << 20,
            },
            tls: identity(&self.certs, &format!("n{id}")),
            hook: None,
            publish: self.publish.clone(),
            max_frame: self.max_frame,
        }
    }

    pub async fn start_node(&mut self, id: NodeId, listen: SocketAddr) {
        let opts = self.node_options(id, listen);
        // A restarted node rebinds its old port; the previous socket may linger for a moment.
        let mut tries = 0;
        let node = loop {
            match ShardNode::start(opts.clone()).await {
                Ok(n) => break n,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("start node {id}: {e}, retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("start node {id}: {e}"),
            }
        };
        self.addrs.insert(id, node.addr());
        self.nodes.insert(id, node);
    }

    /// Stops a node (a crash as far as the others can tell: its endpoint disappears).
    pub async fn stop(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            node.shutdown().await;
        }
    }

    /// Restarts a stopped node on its old address from its old data directory.
    pub async fn restart(&mut self, id: NodeId) {
        let addr = self.addrs[&id];
        self.start_node(id, addr).await;
    }

    pub async fn status(&self, id: NodeId, g: GroupId) -> GroupStatus {
        let node = &self.nodes[&id];
        let group = node.router().group(g).unwrap();
        match node
            .router()
            .client(&group, ClientRequest::Status)
            .await
            .unwrap()
        {
            ClientReply::Status(s) => s,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Waits until the live nodes agree on a leader of `g` and returns it.
    pub async fn leader(&self, g: GroupId) -> NodeId {
        eventually("a leader", Duration::from_secs(10), || async {
            let mut leaders = Vec::new();
            for id in self.nodes.keys() {
                let s = self.status(*id, g).await;
                if s.voters.contains(id) {
                    leaders.push(s.leader);
                }
            }
            let first = *leaders.first()?;
            let l = first?;
            (leaders.iter().all(|x| *x == Some(l)) && self.nodes.contains_key(&l)).then_some(l)
        })
        .await
    }

    /// Waits until every live node of `g` has applied at least `index`.
    pub async fn applied(&self, g: GroupId, index: u64) {
        for id in self.nodes.keys() {
            eventually(
                &format!("node {id} to apply {index}"),
                Duration::from_secs(15),
                || async { (self.status(*id, g).await.last_applied >= Some(index)).then_some(()) },
            )
            .await;
        }
    }

    /// A client with the admin certificate (it may also change membership) that knows every
    /// node started so far.
    pub async fn client(&self) -> ShardClient {
        self.client_as(certs::ADMIN).await
    }

    /// A client presenting certificate `name` that knows every node started so far.
    pub async fn client_as(&self, name: &str) -> ShardClient {
        ShardClient::connect(self.client_config_as(name))
            .await
            .unwrap()
    }

    /// The configuration [`TestCluster::client`] connects with (admin certificate).
    pub fn client_config(&self) -> ClientConfig {
        self.client_config_as(certs::ADMIN)
    }

    /// The configuration [`TestCluster::client_as`] connects with.
    pub fn client_config_as(&self, name: &str) -> ClientConfig {
        let nodes = self
            .addrs
            .keys()
            .map(|id| NodeEntry {
                id: *id,
                info: self.info(*id),
                groups: Vec::new(),
            })
            .collect();
        let mut cfg = ClientConfig::new(nodes, self.layout, identity(&self.certs, name));
        cfg.rpc_timeout = Duration::from_secs(2);
        cfg.retry_for = Duration::from_secs(20);
        cfg.max_frame = self.max_frame;
        cfg
    }

    /// Member ids that node `id` holds for board `BOARD` in group `g` (local read, no Raft).
    pub async fn members(&self, id: NodeId, g: GroupId) -> std::collections::BTreeSet<String> {
        let node = &self.nodes[&id];
        let group = node.router().group(g).unwrap();
        let req = ClientRequest::Read {
            query: Query::After {
                board: BoardId::new(BOARD),
                after: None,
                n: 100_000,
                window: Window::Current,
            },
            consistency: ReadConsistency::Local,
        };
        match node.router().client(&group, req).await {
            Ok(ClientReply::Read(QueryReply::After { entries, .. })) => {
                entries.into_iter().map(|e| e.member).collect()
            }
            Err(shard_node::Error::Leaderboard(e)) if e.is_not_found() => Default::default(),
            other => panic!("node {id}: unexpected {other:?}"),
        }
    }

    pub async fn shutdown(mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }
}
