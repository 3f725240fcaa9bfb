//! An in-process cluster for other crates' tests (the gateway's live-quiz tests use it).
//!
//! [`LocalCluster::start`] generates a dev CA with certificates for the nodes, a client and an
//! admin (written to `DIR/certs`, the layout `shard-node certs` writes), starts `n` nodes on
//! `127.0.0.1:0` with data under `DIR/node-ID` and [`RaftTuning::fast`], and makes them the voters
//! of every group of the layout. [`ThreadCluster`] does the same with each node on a thread and
//! runtime of its own, so a test can kill a node abruptly or freeze it, as `SIGKILL` and
//! `SIGSTOP` do to a process. Nothing here is used by the node itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::sync::oneshot;

use crate::certs::{self, DevCerts};
use crate::client::{ClientConfig, NodeEntry, ShardClient};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::node::{NodeOptions, RaftTuning, ShardNode};
use crate::transport::TlsIdentity;
use crate::types::{GroupId, NodeId, NodeInfo};

/// Certificate name of the client (reads and writes) in a [`LocalCluster`].
pub const CLIENT_NAME: &str = certs::CLIENT;
/// Certificate name of the admin (membership, snapshots) in a [`LocalCluster`].
pub const ADMIN_NAME: &str = certs::ADMIN;

/// Nodes running in this process.
pub struct LocalCluster {
    /// The generated CA and leaf certificates.
    pub certs: DevCerts,
    /// Where `ca.pem`, `client.pem`, `client.key`, `admin.pem`, `admin.key` (and the nodes'
    /// pairs; the CA itself in `ca/`) were written.
    pub certs_dir: PathBuf,
    /// The partition layout every node uses.
    pub layout: Layout,
    nodes: Vec<ShardNode>,
}

impl LocalCluster {
    /// Starts `n` (at least 1) nodes with ids `1..=n` under `dir`, all voters of every group of
    /// `layout`.
    pub async fn start(n: u64, layout: Layout, dir: &Path) -> Result<Self> {
        if n == 0 {
            return Err(Error::Config("a cluster needs at least one node".into()));
        }
        let certs = certs::dev_cluster(n)?;
        let certs_dir = dir.join("certs");
        certs.write_to(&certs_dir)?;
        certs.write_ca_to(&certs_dir.join("ca"))?;
        let mut nodes = Vec::new();
        for id in 1..=n {
            let mut opts = NodeOptions::new(
                id,
                ([127, 0, 0, 1], 0).into(),
                dir.join(format!("node-{id}")),
                identity(&certs, &format!("n{id}"))?,
            );
            opts.groups = layout.group_ids().collect();
            opts.layout = layout;
            opts.raft = RaftTuning::fast();
            nodes.push(ShardNode::start(opts).await?);
        }
        let c = Self {
            certs,
            certs_dir,
            layout,
            nodes,
        };
        let members: Vec<(NodeId, NodeInfo)> =
            c.nodes.iter().map(|n| (n.id(), c.info(n))).collect();
        for g in layout.group_ids() {
            c.nodes[0].initialize(g, members.clone()).await?;
        }
        Ok(c)
    }

    fn info(&self, node: &ShardNode) -> NodeInfo {
        NodeInfo::new(node.addr().to_string(), format!("n{}", node.id()))
    }

    /// The nodes as `SHARD_NODES` text: `1=n1@127.0.0.1:PORT,...`.
    pub fn shard_nodes(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}=n{}@{}", n.id(), n.id(), n.addr()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A client configuration for every node, with the client certificate.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let nodes = self
            .nodes
            .iter()
            .map(|n| NodeEntry {
                id: n.id(),
                info: self.info(n),
                groups: Vec::new(),
            })
            .collect();
        Ok(ClientConfig::new(
            nodes,
            self.layout,
            identity(&self.certs, CLIENT_NAME)?,
        ))
    }

    /// A connected client (requests retry until the groups have elected leaders).
    pub async fn client(&self) -> Result<ShardClient> {
        ShardClient::connect(self.client_config()?).await
    }

    /// Stops every node.
    pub async fn shutdown(self) {
        for n in self.nodes {
            n.shutdown().await;
        }
    }
}

fn identity(certs: &DevCerts, name: &str) -> Result<TlsIdentity> {
    let p = certs
        .get(name)
        .ok_or_else(|| Error::Config(format!("no certificate for {name}")))?;
    TlsIdentity::from_pem(&certs.ca_pem, &p.cert_pem, &p.key_pem)
}

/// What a [`ThreadCluster`] node's thread is told.
enum Ctl {
    /// Initialize `group` with these voters.
    Initialize(
        GroupId,
        Vec<(NodeId, NodeInfo)>,
        oneshot::Sender<Result<()>>,
    ),
    /// Who this node thinks leads `group`.
    Leader(GroupId, oneshot::Sender<Option<NodeId>>),
    /// Block the node's only thread until the sender of this channel sends or goes away.
    Freeze(std::sync::mpsc::Receiver<()>),
    /// Stop without a goodbye: every task is dropped where it stands.
    Kill,
    /// Stop cleanly.
    Shutdown(oneshot::Sender<()>),
}

/// One node of a [`ThreadCluster`].
struct NodeThread {
    id: NodeId,
    addr: SocketAddr,
    ctl: tokio::sync::mpsc::UnboundedSender<Ctl>,
    /// Set while frozen: sending (or dropping it) thaws the node.
    thaw: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Nodes running in this process, each on its own thread with a single-threaded runtime that
/// runs nothing else. [`ThreadCluster::kill`] drops a node's runtime with every task in it (its
/// sockets close, nothing is said to the peers), like `SIGKILL`; [`ThreadCluster::freeze`]
/// blocks that thread, so the node keeps its sockets but answers nothing, like `SIGSTOP`, until
/// [`ThreadCluster::thaw`].
pub struct ThreadCluster {
    /// The generated CA and leaf certificates.
    pub certs: DevCerts,
    /// Where the certificates were written (see [`LocalCluster::certs_dir`]).
    pub certs_dir: PathBuf,
    /// The partition layout every node uses.
    pub layout: Layout,
    nodes: Vec<NodeThread>,
}

impl ThreadCluster {
    /// Starts `n` (at least 1) nodes with ids `1..=n` under `dir`, each on its own thread, all
    /// voters of every group of `layout`.
    pub async fn start(n: u64, layout: Layout, dir: &Path) -> Result<Self> {
        if n == 0 {
            return Err(Error::Config("a cluster needs at least one node".into()));
        }
        let certs = certs::dev_cluster(n)?;
        let certs_dir = dir.join("certs");
        certs.write_to(&certs_dir)?;
        certs.write_ca_to(&certs_dir.join("ca"))?;
        let mut nodes = Vec::new();
        for id in 1..=n {
            let mut opts = NodeOptions::new(
                id,
                ([127, 0, 0, 1], 0).into(),
                dir.join(format!("node-{id}")),
                identity(&certs, &format!("n{id}"))?,
            );
            opts.groups = layout.group_ids().collect();
            opts.layout = layout;
            opts.raft = RaftTuning::fast();
            nodes.push(NodeThread::start(opts).await?);
        }
        let c = Self {
            certs,
            certs_dir,
            layout,
            nodes,
        };
        let members: Vec<(NodeId, NodeInfo)> = c.nodes.iter().map(|n| (n.id, c.info(n))).collect();
        for g in layout.group_ids() {
            let (tx, rx) = oneshot::channel();
            c.nodes[0].send(Ctl::Initialize(g, members.clone(), tx))?;
            rx.await
                .map_err(|_| Error::Config("node 1 stopped".into()))??;
        }
        Ok(c)
    }

    fn info(&self, node: &NodeThread) -> NodeInfo {
        NodeInfo::new(node.addr.to_string(), format!("n{}", node.id))
    }

    /// The nodes as `SHARD_NODES` text: `1=n1@127.0.0.1:PORT,...`.
    pub fn shard_nodes(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("{}=n{}@{}", n.id, n.id, n.addr))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A client configuration for every node, with the client certificate.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let nodes = self
            .nodes
            .iter()
            .map(|n| NodeEntry {
                id: n.id,
                info: self.info(n),
                groups: Vec::new(),
            })
            .collect();
        Ok(ClientConfig::new(
            nodes,
            self.layout,
            identity(&self.certs, CLIENT_NAME)?,
        ))
    }

    /// A connected client.
    pub async fn client(&self) -> Result<ShardClient> {
        ShardClient::connect(self.client_config()?).await
    }

    /// The leader of `group` as the running, unfrozen nodes see it (the first that knows one).
    pub async fn leader(&self, group: GroupId) -> Option<NodeId> {
        for n in self.nodes.iter().filter(|n| n.thaw.is_none()) {
            let (tx, rx) = oneshot::channel();
            if n.send(Ctl::Leader(group, tx)).is_ok() {
                if let Ok(Some(leader)) = rx.await {
                    return Some(leader);
                }
            }
        }
        None
    }

    fn node(&mut self, id: NodeId) -> Result<&mut NodeThread> {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::Config(format!("no node {id}")))
    }

    /// Kills node `id`: its runtime is dropped with every task, as `SIGKILL` would end it.
    pub fn kill(&mut self, id: NodeId) -> Result<()> {
        let n = self.node(id)?;
        n.thaw = None;
        let _ = n.ctl.send(Ctl::Kill);
        if let Some(t) = n.thread.take() {
            let _ = t.join();
        }
        Ok(())
    }

    /// Freezes node `id` until [`ThreadCluster::thaw`]: its thread blocks, so nothing of it
    /// runs while its sockets stay open, as under `SIGSTOP`.
    pub fn freeze(&mut self, id: NodeId) -> Result<()> {
        let n = self.node(id)?;
        let (thaw, frozen) = std::sync::mpsc::channel();
        n.send(Ctl::Freeze(frozen))?;
        n.thaw = Some(thaw);
        Ok(())
    }

    /// Lets a frozen node run again.
    pub fn thaw(&mut self, id: NodeId) -> Result<()> {
        if let Some(thaw) = self.node(id)?.thaw.take() {
            let _ = thaw.send(());
        }
        Ok(())
    }

    /// Stops every node still running (thawing frozen ones first).
    pub async fn shutdown(mut self) {
        for n in &mut self.nodes {
            if let Some(thaw) = n.thaw.take() {
                let _ = thaw.send(());
            }
            let (tx, rx) = oneshot::channel();
            if n.send(Ctl::Shutdown(tx)).is_ok() {
                let _ = rx.await;
            }
            if let Some(t) = n.thread.take() {
                let _ = tokio::task::spawn_blocking(move || t.join()).await;
            }
        }
    }
}

impl Drop for ThreadCluster {
    /// A test that failed halfway: frozen nodes thaw and every node is killed, so no thread is
    /// left blocked.
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.thaw = None;
            let _ = n.ctl.send(Ctl::Kill);
        }
    }
}

impl NodeThread {
    /// Starts a node on a new thread and waits until it serves.
    async fn start(opts: NodeOptions) -> Result<Self> {
        let id = opts.id;
        let (ctl, mut ctl_rx) = tokio::sync::mpsc::unbounded_channel();
        let (started_tx, started) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name(format!("shard-node-{id}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let node = match ShardNode::start(opts).await {
                        Ok(node) => node,
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(node.addr()));
                    while let Some(ctl) = ctl_rx.recv().await {
                        match ctl {
                            Ctl::Initialize(group, members, reply) => {
                                let _ = reply.send(node.initialize(group, members).await);
                            }
                            Ctl::Leader(group, reply) => {
                                let leader = node
                                    .raft(group)
                                    .and_then(|r| r.metrics().borrow().current_leader);
                                let _ = reply.send(leader);
                            }
                            // Blocks the runtime's only thread: every task of the node stops.
                            Ctl::Freeze(frozen) => {
                                let _ = frozen.recv();
                            }
                            Ctl::Kill => return,
                            Ctl::Shutdown(reply) => {
                                node.shutdown().await;
                                let _ = reply.send(());
                                return;
                            }
                        }
                    }
                });
                // Whatever still runs (a killed node's tasks) is dropped without waiting.
                runtime.shutdown_background();
            })?;
        let addr = started
            .await
            .map_err(|_| Error::Config(format!("node {id} stopped while starting")))??;
        Ok(NodeThread {
            id,
            addr,
            ctl,
            thaw: None,
            thread: Some(thread),
        })
    }

    fn send(&self, ctl: Ctl) -> Result<()> {
        self.ctl
            .send(ctl)
            .map_err(|_| Error::Config(format!("node {} is not running", self.id)))
    }
}
