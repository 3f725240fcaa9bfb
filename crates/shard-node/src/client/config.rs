//! Client configuration: where the nodes are, the layout, certificates, timeouts, batching.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::transport::frame::{max_entry_bytes, MAX_FRAME};
use crate::transport::TlsIdentity;
use crate::types::{GroupId, NodeId, NodeInfo};

/// A node as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// Node id.
    pub id: NodeId,
    /// Address and certificate name.
    pub info: NodeInfo,
    /// Groups the node hosts; empty means every group of the layout.
    pub groups: Vec<GroupId>,
}

/// How the client talks to the cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Cluster nodes (any subset that includes at least one replica of each group works: leaders
    /// found through `NotLeader` hints must be listed here to be reachable).
    pub nodes: Vec<NodeEntry>,
    /// Partition layout; must match the nodes'.
    pub layout: Layout,
    /// Client certificate signed by the cluster CA.
    pub tls: TlsIdentity,
    /// Deadline of one RPC attempt.
    pub rpc_timeout: Duration,
    /// Total time an operation keeps retrying across leader changes before giving up.
    pub retry_for: Duration,
    /// Most writes put in one Raft entry.
    pub max_batch: usize,
    /// Batches in flight per group; more writes queue and form the next batch. Two (the
    /// default) keep a leader busy: it appends one entry while the one before replicates
    /// ([`crate::raft::proposer`]). More make each batch smaller, which costs more requests and
    /// CPU per write, and add nothing the leader can overlap (it merges the extra requests
    /// into the same entries).
    pub max_inflight: usize,
    /// Largest frame sent or accepted (default [`MAX_FRAME`]); must not exceed the nodes' cap
    /// (`NodeOptions::max_frame`). A batch is also closed once its writes encode to
    /// [`ClientConfig::max_batch_bytes`], derived from it.
    pub max_frame: usize,
}

impl ClientConfig {
    /// A configuration with default timeouts and batching.
    pub fn new(nodes: Vec<NodeEntry>, layout: Layout, tls: TlsIdentity) -> Self {
        Self {
            nodes,
            layout,
            tls,
            rpc_timeout: Duration::from_secs(3),
            retry_for: Duration::from_secs(10),
            max_batch: 1024,
            max_inflight: 2,
            max_frame: MAX_FRAME,
        }
    }

    /// Bytes of encoded writes the batcher puts in one Raft entry: a quarter of what a node
    /// accepts in one entry under [`ClientConfig::max_frame`], because the reply (an outcome per
    /// write, with the member's entry before and after) is larger than the request. A single
    /// write larger than this travels alone.
    pub fn max_batch_bytes(&self) -> usize {
        max_entry_bytes(self.max_frame) / 4
    }

    /// A configuration whose certificates come from a directory written by
    /// `shard-node certs --out DIR --nodes ...,client`: `DIR/ca.pem`, `DIR/NAME.pem`,
    /// `DIR/NAME.key`.
    pub fn from_certs_dir(
        nodes: Vec<NodeEntry>,
        layout: Layout,
        dir: &std::path::Path,
        name: &str,
    ) -> Result<Self> {
        let tls = TlsIdentity::from_files(
            &dir.join("ca.pem"),
            &dir.join(format!("{name}.pem")),
            &dir.join(format!("{name}.key")),
        )?;
        Ok(Self::new(nodes, layout, tls))
    }

    /// Parses `SHARD_NODES`-style text: comma-separated `ID=NAME@HOST:PORT` items, each
    /// optionally followed by `/G+G+...` to list the groups the node hosts (default: all), e.g.
    /// `1=n1@127.0.0.1:7101,2=n2@127.0.0.1:7102,3=n3@127.0.0.1:7103` or
    /// `1=n1@10.0.0.1:7101/0+1,4=n4@10.0.0.4:7101/1`. `NAME` is the node's certificate name.
    pub fn parse_nodes(text: &str) -> Result<Vec<NodeEntry>> {
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let bad = || {
                Error::Config(format!(
                    "bad node {item:?}, expected ID=NAME@HOST:PORT[/GROUP+GROUP...]"
                ))
            };
            let (id, rest) = item.split_once('=').ok_or_else(bad)?;
            let (name, rest) = rest.split_once('@').ok_or_else(bad)?;
            let (addr, groups) = match rest.split_once('/') {
                Some((a, g)) => {
                    let groups = g
                        .split('+')
                        .map(|x| x.trim().parse::<GroupId>().map_err(|_| bad()))
                        .collect::<Result<Vec<_>>>()?;
                    (a, groups)
                }
                None => (rest, Vec::new()),
            };
            let id: NodeId = id.trim().parse().map_err(|_| bad())?;
            if name.is_empty() || addr.is_empty() || !addr.contains(':') {
                return Err(bad());
            }
            out.push(NodeEntry {
                id,
                info: NodeInfo::new(addr, name),
                groups,
            });
        }
        if out.is_empty() {
            return Err(Error::Config("no shard nodes given".into()));
        }
        Ok(out)
    }

    /// Builds a configuration from the environment, as the gateway does:
    ///
    /// * `SHARD_NODES` (required, see [`Self::parse_nodes`]);
    /// * certificates: either `SHARD_CERTS_DIR` (a `shard-node certs` output directory) with
    ///   `SHARD_CLIENT_NAME` (default `client`), or `SHARD_CA`, `SHARD_CERT`, `SHARD_KEY` (PEM
    ///   paths);
    /// * `SHARD_GROUPS`: number of groups of the layout (default 1; must match the nodes').
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).map_err(|_| Error::Config(format!("{k} is not set")));
        let nodes = Self::parse_nodes(&var("SHARD_NODES")?)?;
        let mut layout = Layout::default();
        if let Ok(g) = var("SHARD_GROUPS") {
            layout.groups = g
                .parse()
                .map_err(|_| Error::Config(format!("SHARD_GROUPS={g:?} is not a number")))?;
        }
        layout.validate()?;
        if let Ok(dir) = var("SHARD_CERTS_DIR") {
            let name = var("SHARD_CLIENT_NAME").unwrap_or_else(|_| "client".into());
            return Self::from_certs_dir(nodes, layout, dir.as_ref(), &name);
        }
        let tls = TlsIdentity::from_files(
            var("SHARD_CA")?.as_ref(),
            var("SHARD_CERT")?.as_ref(),
            var("SHARD_KEY")?.as_ref(),
        )?;
        Ok(Self::new(nodes, layout, tls))
    }

    /// The nodes hosting `group`.
    pub fn members_of(&self, group: GroupId) -> Vec<NodeEntry> {
        self.nodes
            .iter()
            .filter(|n| n.groups.is_empty() || n.groups.contains(&group))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_lists() {
        let n = ClientConfig::parse_nodes("1=n1@127.0.0.1:7101, 2=n2@localhost:7102").unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[1].info, NodeInfo::new("localhost:7102", "n2"));
        assert!(ClientConfig::parse_nodes("n1@x:1").is_err());
        assert!(ClientConfig::parse_nodes("").is_err());
        assert!(ClientConfig::parse_nodes("x=n1@a:1").is_err());
        let n = ClientConfig::parse_nodes("1=n1@h:1/0+2,2=n2@h:2").unwrap();
        assert_eq!(n[0].groups, vec![0, 2]);
        assert!(n[1].groups.is_empty());
        assert!(ClientConfig::parse_nodes("1=n1@h:1/x").is_err());
    }
}
