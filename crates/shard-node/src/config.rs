//! The `shard-node run` configuration: a TOML file, with every field also settable by a flag
//! or an environment variable (flags win over the file).
//!
//! ```toml
//! id = 1
//! name = "n1"                      # certificate name (default "n<id>")
//! listen = "127.0.0.1:7101"        # QUIC, nodes and clients
//! http = "127.0.0.1:9101"          # /metrics /healthz /readyz
//! data_dir = "data/n1"
//! certs_dir = "certs"              # ca.pem, n1.pem, n1.key from `shard-node certs`
//! layout_groups = 1                # groups in the cluster (clients use the same number)
//! groups = [0]                     # groups hosted here (default: all)
//! bootstrap = "1=n1@127.0.0.1:7101,2=n2@127.0.0.1:7102,3=n3@127.0.0.1:7103"
//! redis_cluster_nodes = "127.0.0.1:7001,127.0.0.1:7002"   # or env REDIS_CLUSTER_NODES
//! fsync = "always"                 # or "never" (page cache; survives process crashes only)
//! max_frame_bytes = 16777216       # frame cap (default); clients use the same
//! [raft]
//! heartbeat_ms = 100
//! install_snapshot_timeout_ms = 60000  # a follower restores a snapshot inside this time
//! ```
//!
//! `bootstrap` lists the initial voters; the node with the lowest id among them initializes
//! every group it hosts once, on the cluster's first start, so three nodes started with the same
//! file section form a cluster without an extra admin step. It never initializes again: not on a
//! restart, and not after its disk was wiped (the other members report the group; the node then
//! waits to be added back with `shard-node admin add-node`). See [`crate::node`], "Bootstrap,
//! once".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::client::{ClientConfig, NodeEntry};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::log_store::{FsyncPolicy, LogOptions};
use crate::node::{NodeOptions, RaftTuning};
use crate::publish::PublishConfig;
use crate::transport::TlsIdentity;
use crate::types::{GroupId, NodeId};

/// Log durability choice in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// fsync every append before acknowledging it (default).
    #[default]
    Always,
    /// Leave flushing to the OS.
    Never,
}

/// Everything `shard-node run` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Node id (required, > 0).
    pub id: NodeId,
    /// Certificate name; default `n<id>`.
    pub name: Option<String>,
    /// QUIC listen address.
    pub listen: Option<SocketAddr>,
    /// HTTP listen address for metrics and probes.
    pub http: Option<SocketAddr>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Directory with `ca.pem`, `<name>.pem`, `<name>.key`.
    pub certs_dir: Option<PathBuf>,
    /// Number of groups in the cluster layout (default 1).
    pub layout_groups: Option<u32>,
    /// Groups hosted here (default all).
    pub groups: Option<Vec<GroupId>>,
    /// Initial voters, `ID=NAME@HOST:PORT,...`.
    pub bootstrap: Option<String>,
    /// Redis Cluster seeds for change publishing.
    pub redis_cluster_nodes: Option<String>,
    /// Log durability.
    pub fsync: Fsync,
    /// Largest frame sent or accepted, in bytes (default and maximum 16 MiB, at least 256 KiB);
    /// clients must use the same cap.
    pub max_frame_bytes: Option<usize>,
    /// Raft timings.
    pub raft: RaftTuning,
}

impl RunConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// The certificate name.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("n{}", self.id))
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        Layout::new(self.layout_groups.unwrap_or(1))
    }

    /// The initial voters, if bootstrapping is configured.
    pub fn bootstrap_members(&self) -> Result<Option<Vec<NodeEntry>>> {
        self.bootstrap
            .as_deref()
            .map(ClientConfig::parse_nodes)
            .transpose()
    }

    /// Builds the node options (reads the certificates).
    pub fn node_options(&self) -> Result<NodeOptions> {
        if self.id == 0 {
            return Err(Error::Config("id must be set and > 0".into()));
        }
        let layout = self.layout();
        layout.validate()?;
        let certs = self
            .certs_dir
            .clone()
            .ok_or_else(|| Error::Config("certs_dir is not set".into()))?;
        let name = self.name();
        let tls = TlsIdentity::from_files(
            &certs.join("ca.pem"),
            &certs.join(format!("{name}.pem")),
            &certs.join(format!("{name}.key")),
        )?;
        let listen = self
            .listen
            .ok_or_else(|| Error::Config("listen is not set".into()))?;
        let data_dir = self
            .data_dir
            .clone()
            .ok_or_else(|| Error::Config("data_dir is not set".into()))?;
        let mut opts = NodeOptions::new(self.id, listen, data_dir, tls);
        opts.layout = layout;
        opts.groups = self
            .groups
            .clone()
            .unwrap_or_else(|| layout.group_ids().collect());
        opts.raft = self.raft;
        if let Some(n) = self.max_frame_bytes {
            opts.max_frame = crate::transport::frame::check_max_frame(n)?;
        }
        opts.log = LogOptions {
            fsync: match self.fsync {
                Fsync::Always => FsyncPolicy::Always,
                Fsync::Never => FsyncPolicy::Never,
            },
            ..LogOptions::default()
        };
        opts.publish = self
            .redis_cluster_nodes
            .as_deref()
            .map(PublishConfig::parse)
            .transpose()?;
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_file() {
        let cfg: RunConfig = toml::from_str(
            r#"
            id = 2
            listen = "127.0.0.1:7102"
            data_dir = "d"
            certs_dir = "c"
            layout_groups = 2
            bootstrap = "1=n1@127.0.0.1:7101,2=n2@127.0.0.1:7102"
            fsync = "never"
            max_frame_bytes = 1048576
            [raft]
            heartbeat_ms = 30
            max_append_bytes = 262144
            "#,
        )
        .unwrap();
        assert_eq!(cfg.name(), "n2");
        assert_eq!(cfg.layout(), Layout::new(2));
        assert_eq!(cfg.raft.heartbeat_ms, 30);
        assert_eq!(cfg.max_frame_bytes, Some(1 << 20));
        assert_eq!(cfg.raft.max_append_bytes, 256 << 10);
        assert_eq!(
            cfg.raft.election_min_ms,
            RaftTuning::default().election_min_ms
        );
        assert_eq!(cfg.bootstrap_members().unwrap().unwrap().len(), 2);
        // Certificates are missing: a clear config error, not a panic.
        assert!(matches!(cfg.node_options(), Err(Error::Config(_))));
        assert!(toml::from_str::<RunConfig>("idd = 1").is_err());
    }
}
