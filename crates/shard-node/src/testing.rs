//! An in-process cluster for other crates' tests (the gateway's live-quiz tests use it).
//!
//! [`LocalCluster::start`] generates a dev CA with certificates for the nodes, a client and an
//! admin (written to `DIR/certs`, the layout `shard-node certs` writes), starts `n` nodes on
//! `127.0.0.1:0` with data under `DIR/node-ID` and [`RaftTuning::fast`], and makes them the voters
//! of every group of the layout. Nothing here is used by the node itself.

use std::path::{Path, PathBuf};

use crate::certs::{self, DevCerts};
use crate::client::{ClientConfig, NodeEntry, ShardClient};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::node::{NodeOptions, RaftTuning, ShardNode};
use crate::transport::TlsIdentity;
use crate::types::{NodeId, NodeInfo};

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
