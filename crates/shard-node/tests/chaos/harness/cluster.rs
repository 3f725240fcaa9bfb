//! Three (or more) real `shard-node run` processes on loopback, each behind a [`Proxy`], with
//! the controls the faults need: SIGKILL and restart, SIGSTOP and SIGCONT, and the proxies'
//! link rules ([`Net`]).
//!
//! Setup is what an operator does: `shard-node certs --out DIR --nodes n1,n2,n3`, one TOML file
//! per node (see the crate's `config` module) whose `bootstrap` list names the *proxy* address
//! of every node, then `shard-node run --config FILE`. Readiness is the node's HTTP `/readyz`.
//!
//! The test's own control calls (status, the final per-replica reads) go straight to the nodes'
//! real addresses, so the faults it injects never blind it; the workload's client goes through
//! the proxies.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leaderboard_core::{BoardId, Entry, Window};
use shard_node::client::{ClientConfig, NodeEntry, ShardClient, Target};
use shard_node::command::{Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::protocol::{ClientReply, ClientRequest, GroupStatus, ReadConsistency};
use shard_node::types::{GroupId, NodeId, NodeInfo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::proxy::{Net, Proxy};

/// How the cluster is set up.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Number of nodes (all voters).
    pub nodes: u64,
    /// Groups in the layout (every node hosts every group).
    pub groups: u32,
    /// `always` or `never`.
    pub fsync: String,
    /// Seed of the proxies' random choices.
    pub seed: u64,
}

/// One node's addresses and files.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Node id.
    pub id: NodeId,
    /// The node's real QUIC address.
    pub listen: SocketAddr,
    /// Its HTTP address (`/readyz`).
    pub http: SocketAddr,
    /// The address of its proxy: what peers and the workload use.
    pub proxy: SocketAddr,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its stdout and stderr, across restarts.
    pub log: PathBuf,
}

enum Proc {
    Running(Child),
    Paused(Child),
    Down,
}

/// The running cluster.
pub struct Cluster {
    bin: PathBuf,
    /// The run directory (certificates, configurations, data, logs).
    pub dir: PathBuf,
    /// The certificates directory.
    pub certs: PathBuf,
    /// The layout.
    pub layout: Layout,
    /// Every node.
    pub specs: BTreeMap<NodeId, NodeSpec>,
    procs: BTreeMap<NodeId, Proc>,
    /// The proxies' link rules.
    pub net: Arc<Net>,
    _proxies: Vec<Proxy>,
    control: ShardClient,
    /// Nodes that exited without being killed, with their status and last log lines.
    pub unexpected_exits: Vec<String>,
}

/// A port no socket holds right now (the node binds it a moment later).
fn free_udp_port() -> std::io::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn free_tcp_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn io_err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// A TOML basic string of `p`.
fn toml_path(p: &Path) -> String {
    toml_string(&p.display().to_string())
}

fn toml_string(s: &str) -> String {
    format!("{s:?}")
}

/// `GET path` on `addr`; the status code, if the server answered.
pub async fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        text.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(2), fut)
        .await
        .ok()
        .flatten()
}

impl Cluster {
    /// Issues certificates, starts the proxies and the nodes under `dir`, and waits until every
    /// node is ready (each group has a leader it knows of).
    pub async fn start(bin: &Path, dir: &Path, opts: &ClusterOptions) -> Result<Self, String> {
        let certs = dir.join("certs");
        let names: Vec<String> = (1..=opts.nodes).map(|i| format!("n{i}")).collect();
        let out = std::process::Command::new(bin)
            .env_clear()
            .arg("certs")
            .arg("--out")
            .arg(&certs)
            .arg("--nodes")
            .arg(names.join(","))
            .output()
            .map_err(|e| io_err("run shard-node certs", e))?;
        if !out.status.success() {
            return Err(format!("shard-node certs failed: {out:?}"));
        }
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| io_err("logs dir", e))?;

        let mut real = BTreeMap::new();
        for id in 1..=opts.nodes {
            let listen: SocketAddr = (
                [127, 0, 0, 1],
                free_udp_port().map_err(|e| io_err("port", e))?,
            )
                .into();
            let http: SocketAddr = (
                [127, 0, 0, 1],
                free_tcp_port().map_err(|e| io_err("port", e))?,
            )
                .into();
            real.insert(id, (listen, http));
        }
        let by_addr: Arc<HashMap<SocketAddr, NodeId>> =
            Arc::new(real.iter().map(|(id, (l, _))| (*l, *id)).collect());
        let net = Arc::new(Net::new(opts.seed));
        let mut proxies = Vec::new();
        for (id, (listen, _)) in &real {
            proxies.push(
                Proxy::start(*id, *listen, by_addr.clone(), net.clone())
                    .await
                    .map_err(|e| io_err("start proxy", e))?,
            );
        }
        let bootstrap: Vec<String> = real
            .keys()
            .zip(&proxies)
            .map(|(id, p)| format!("{id}=n{id}@{}", p.addr))
            .collect();
        let bootstrap = bootstrap.join(",");

        let mut specs = BTreeMap::new();
        for ((id, (listen, http)), proxy) in real.iter().zip(&proxies) {
            let config = dir.join(format!("n{id}.toml"));
            // Fast timings, and snapshots every few hundred entries so that restarted nodes
            // catch up by snapshot as well as by log while the faults go on.
            let text = format!(
                "id = {id}\n\
                 listen = \"{listen}\"\n\
                 http = \"{http}\"\n\
                 data_dir = {}\n\
                 certs_dir = {}\n\
                 layout_groups = {}\n\
                 bootstrap = {}\n\
                 fsync = {}\n\
                 [raft]\n\
                 heartbeat_ms = 50\n\
                 election_min_ms = 300\n\
                 election_max_ms = 600\n\
                 snapshot_logs = 200\n\
                 keep_logs = 50\n",
                toml_path(&dir.join("data").join(format!("n{id}"))),
                toml_path(&certs),
                opts.groups,
                toml_string(&bootstrap),
                toml_string(&opts.fsync),
            );
            std::fs::write(&config, text).map_err(|e| io_err("write config", e))?;
            specs.insert(
                *id,
                NodeSpec {
                    id: *id,
                    listen: *listen,
                    http: *http,
                    proxy: proxy.addr,
                    config,
                    log: dir.join("logs").join(format!("n{id}.log")),
                },
            );
        }

        let layout = Layout::new(opts.groups);
        let control_nodes = specs
            .values()
            .map(|s| NodeEntry {
                id: s.id,
                info: NodeInfo::new(s.listen.to_string(), format!("n{}", s.id)),
                groups: Vec::new(),
            })
            .collect();
        let mut cfg = ClientConfig::from_certs_dir(control_nodes, layout, &certs, "admin")
            .map_err(|e| io_err("control client", e))?;
        cfg.rpc_timeout = Duration::from_millis(700);
        cfg.retry_for = Duration::from_secs(2);
        let control = ShardClient::connect(cfg)
            .await
            .map_err(|e| io_err("control client", e))?;

        let mut c = Self {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            certs,
            layout,
            specs,
            procs: BTreeMap::new(),
            net,
            _proxies: proxies,
            control,
            unexpected_exits: Vec::new(),
        };
        let ids: Vec<NodeId> = c.specs.keys().copied().collect();
        for id in ids {
            c.spawn(id)?;
        }
        c.wait_ready(Duration::from_secs(90)).await?;
        Ok(c)
    }

    /// The node ids.
    pub fn ids(&self) -> Vec<NodeId> {
        self.specs.keys().copied().collect()
    }

    /// Configuration of a client that reaches the nodes through their proxies.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let nodes = self
            .specs
            .values()
            .map(|s| NodeEntry {
                id: s.id,
                info: NodeInfo::new(s.proxy.to_string(), format!("n{}", s.id)),
                groups: Vec::new(),
            })
            .collect();
        ClientConfig::from_certs_dir(nodes, self.layout, &self.certs, "client")
            .map_err(|e| io_err("client config", e))
    }

    fn spawn(&mut self, id: NodeId) -> Result<(), String> {
        let spec = &self.specs[&id];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| io_err("open log", e))?;
        let err = log.try_clone().map_err(|e| io_err("open log", e))?;
        let child = Command::new(&self.bin)
            // Flags and environment variables override the file (REDIS_CLUSTER_NODES among
            // them): the nodes see only the file.
            .env_clear()
            .env("RUST_LOG", "info,openraft=warn")
            .arg("run")
            .arg("--config")
            .arg(&spec.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io_err("spawn shard-node", e))?;
        self.procs.insert(id, Proc::Running(child));
        Ok(())
    }

    /// Whether node `id` runs (not killed, not paused).
    pub fn is_running(&self, id: NodeId) -> bool {
        matches!(self.procs.get(&id), Some(Proc::Running(_)))
    }

    /// SIGKILL.
    pub async fn kill(&mut self, id: NodeId) {
        if let Some(Proc::Running(mut c) | Proc::Paused(mut c)) = self.procs.remove(&id) {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
        self.procs.insert(id, Proc::Down);
    }

    /// Starts a killed node again from its data directory.
    pub fn restart(&mut self, id: NodeId) -> Result<(), String> {
        if matches!(self.procs.get(&id), Some(Proc::Down) | None) {
            self.spawn(id)?;
        }
        Ok(())
    }

    fn signal(child: &Child, sig: libc::c_int) {
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) with the pid of a child this test started and has not reaped.
            unsafe {
                libc::kill(pid as libc::pid_t, sig);
            }
        }
    }

    /// SIGSTOP: the process freezes, its sockets stay open.
    pub fn pause(&mut self, id: NodeId) {
        if let Some(Proc::Running(c)) = self.procs.remove(&id) {
            Self::signal(&c, libc::SIGSTOP);
            self.procs.insert(id, Proc::Paused(c));
        }
    }

    /// SIGCONT.
    pub fn resume(&mut self, id: NodeId) {
        if let Some(Proc::Paused(c)) = self.procs.remove(&id) {
            Self::signal(&c, libc::SIGCONT);
            self.procs.insert(id, Proc::Running(c));
        }
    }

    /// Nodes that exited on their own since the last call (each is noted in
    /// [`Cluster::unexpected_exits`] and left down).
    pub fn reap(&mut self, now_ms: f64) -> Vec<NodeId> {
        let mut exited = Vec::new();
        for (id, p) in self.procs.iter_mut() {
            if let Proc::Running(c) | Proc::Paused(c) = p {
                if let Ok(Some(status)) = c.try_wait() {
                    exited.push((*id, status));
                    *p = Proc::Down;
                }
            }
        }
        let ids: Vec<NodeId> = exited.iter().map(|e| e.0).collect();
        for (id, status) in exited {
            let tail = self.log_tail(id, 30);
            self.unexpected_exits.push(format!(
                "node {id} exited on its own ({status}) at {now_ms:.0} ms; its log ends with:\n{tail}"
            ));
        }
        ids
    }

    /// The last `n` lines of node `id`'s log.
    pub fn log_tail(&self, id: NodeId, n: usize) -> String {
        let text = std::fs::read_to_string(&self.specs[&id].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("    {l}\n"))
            .collect()
    }

    /// Node `id`'s view of group `g` (`None` if it is not running or does not answer).
    pub async fn status(&self, id: NodeId, g: GroupId) -> Option<GroupStatus> {
        if !self.is_running(id) {
            return None;
        }
        self.control.status(g, id).await.ok()
    }

    /// The leader of `g` as the running nodes see it (the one named in the highest term).
    pub async fn leader(&self, g: GroupId) -> Option<NodeId> {
        let mut best: Option<(u64, NodeId)> = None;
        for id in self.ids() {
            if let Some(s) = self.status(id, g).await {
                if let Some(l) = s.leader {
                    match best {
                        Some((t, _)) if t >= s.term => {}
                        _ => best = Some((s.term, l)),
                    }
                }
            }
        }
        best.map(|(_, l)| l).filter(|l| self.is_running(*l))
    }

    /// Waits until every running node answers `/readyz` with 200.
    pub async fn wait_ready(&self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        for spec in self.specs.values() {
            if !self.is_running(spec.id) {
                continue;
            }
            loop {
                if http_status(spec.http, "/readyz").await == Some(200) {
                    break;
                }
                if start.elapsed() > limit {
                    return Err(format!(
                        "node {} not ready after {limit:?}; its log ends with:\n{}",
                        spec.id,
                        self.log_tail(spec.id, 30)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Every entry of `board` that node `id` holds in group `g`, read locally (no Raft round).
    pub async fn local_board(
        &self,
        id: NodeId,
        g: GroupId,
        board: &str,
    ) -> Result<Vec<Entry>, String> {
        let req = ClientRequest::Read {
            query: Query::After {
                board: BoardId::new(board),
                after: None,
                n: 10_000,
                window: Window::Current,
            },
            consistency: ReadConsistency::Local,
        };
        match self.control.call(g, req, Target::Node(id)).await {
            Ok(ClientReply::Read(QueryReply::After { entries, .. })) => Ok(entries),
            Ok(other) => Err(format!("node {id}: unexpected reply {other:?}")),
            Err(e) => Err(format!("node {id}: {e}")),
        }
    }

    /// Stops every node (SIGCONT first for paused ones, then SIGKILL).
    pub async fn shutdown(&mut self) {
        for id in self.ids() {
            self.resume(id);
            self.kill(id).await;
        }
    }
}
