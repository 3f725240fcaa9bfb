//! `shard-node`: run a node, make dev certificates, administer groups.
//!
//! ```text
//! shard-node certs --out certs --nodes n1,n2,n3    # new CA in certs/ca, + client, admin
//! shard-node certs --out certs --add-node 4=n4      # from the kept CA (certs/ca)
//! shard-node run --config n1.toml            # or: run --id 1 --listen ... --certs-dir ...
//! shard-node admin --nodes 1=n1@127.0.0.1:7101 --certs certs status
//! shard-node admin --nodes ... --certs certs add-node --id 4 --node n4@127.0.0.1:7104
//! shard-node admin --nodes ... --certs certs remove-node --id 3
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use shard_node::client::{ClientConfig, ShardClient};
use shard_node::config::RunConfig;
use shard_node::layout::Layout;
use shard_node::node::ShardNode;
use shard_node::types::{GroupId, NodeId, NodeInfo};
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(version, about = "Leaderboard shard node (openraft groups over QUIC)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Issue certificates: a new CA with its nodes (`--nodes`), or more certificates from the
    /// kept CA (`--add-node`, `--add-client`, `--add-admin`).
    Certs {
        /// Output directory: `ca.pem` and `NAME.pem` + `NAME.key` (mode 0600) per certificate.
        #[arg(long)]
        out: PathBuf,
        /// Where the CA (`ca.pem`, `ca.key`) is kept; default OUT/ca. Keep it off the nodes.
        #[arg(long)]
        ca_dir: Option<PathBuf>,
        /// New CA: its nodes, comma-separated ID=NAME or nID (e.g. n1,n2,n3 or 1=a,2=b). The
        /// client `client` (gateways) and the admin `admin` (`shard-node admin`) are always
        /// issued too.
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
        /// From the kept CA: nodes to add, ID=NAME or nID.
        #[arg(long, value_delimiter = ',')]
        add_node: Vec<String>,
        /// From the kept CA: client certificates (reads and writes) to add.
        #[arg(long, value_delimiter = ',')]
        add_client: Vec<String>,
        /// From the kept CA: admin certificates (membership, snapshots) to add.
        #[arg(long, value_delimiter = ',')]
        add_admin: Vec<String>,
    },
    /// Run a node until SIGTERM or ctrl-c.
    Run(RunArgs),
    /// Cluster administration through the client library.
    Admin(AdminArgs),
}

#[derive(Args)]
struct RunArgs {
    /// TOML configuration file (see the crate docs, `config` module).
    #[arg(long, env = "SHARD_CONFIG")]
    config: Option<PathBuf>,
    /// Node id.
    #[arg(long, env = "SHARD_ID")]
    id: Option<NodeId>,
    /// Certificate name (default n<id>).
    #[arg(long, env = "SHARD_NAME")]
    name: Option<String>,
    /// QUIC listen address.
    #[arg(long, env = "SHARD_LISTEN")]
    listen: Option<SocketAddr>,
    /// HTTP address for /metrics, /healthz, /readyz.
    #[arg(long, env = "SHARD_HTTP")]
    http: Option<SocketAddr>,
    /// Data directory.
    #[arg(long, env = "SHARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Certificates directory from `shard-node certs`.
    #[arg(long, env = "SHARD_CERTS_DIR")]
    certs_dir: Option<PathBuf>,
    /// Groups in the cluster layout.
    #[arg(long, env = "SHARD_GROUPS")]
    layout_groups: Option<u32>,
    /// Initial voters, ID=NAME@HOST:PORT,...
    #[arg(long, env = "SHARD_BOOTSTRAP")]
    bootstrap: Option<String>,
    /// Redis Cluster seed nodes for change publishing.
    #[arg(long, env = "REDIS_CLUSTER_NODES")]
    redis_cluster_nodes: Option<String>,
}

#[derive(Args)]
struct AdminArgs {
    /// Nodes to contact, ID=NAME@HOST:PORT,... (same format as the gateway's SHARD_NODES).
    #[arg(long, env = "SHARD_NODES")]
    nodes: String,
    /// Certificates directory from `shard-node certs`.
    #[arg(long, env = "SHARD_CERTS_DIR")]
    certs: PathBuf,
    /// Certificate name to present (an admin certificate: membership changes, `init` and
    /// `snapshot` are refused to client certificates).
    #[arg(long, default_value = "admin")]
    client_name: String,
    /// Groups in the cluster layout.
    #[arg(long, env = "SHARD_GROUPS", default_value_t = 1)]
    groups: u32,
    /// Only this group (default: every group).
    #[arg(long)]
    group: Option<GroupId>,
    #[command(subcommand)]
    op: AdminOp,
}

#[derive(Subcommand)]
enum AdminOp {
    /// Print every listed node's view of every group.
    Status,
    /// Initialize the groups with the listed nodes as voters (fresh cluster only).
    Init,
    /// Add a node: learner first (it catches up by log or snapshot), then voter.
    AddNode {
        /// New node's id.
        #[arg(long)]
        id: NodeId,
        /// NAME@HOST:PORT of the new node.
        #[arg(long)]
        node: String,
    },
    /// Remove a voter from the group(s).
    RemoveNode {
        /// Node id to remove.
        #[arg(long)]
        id: NodeId,
    },
    /// Build a snapshot on each group's leader now.
    Snapshot,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .init();
    match Cli::parse().cmd {
        Cmd::Certs {
            out,
            ca_dir,
            nodes,
            add_node,
            add_client,
            add_admin,
        } => certs_cmd(out, ca_dir, nodes, add_node, add_client, add_admin),
        Cmd::Run(args) => run(args).await,
        Cmd::Admin(args) => admin(args).await,
    }
}

fn certs_cmd(
    out: PathBuf,
    ca_dir: Option<PathBuf>,
    nodes: Vec<String>,
    add_node: Vec<String>,
    add_client: Vec<String>,
    add_admin: Vec<String>,
) -> anyhow::Result<()> {
    use shard_node::certs::{self, Leaf};
    let ca_dir = ca_dir.unwrap_or_else(|| out.join("ca"));
    let adding = !(add_node.is_empty() && add_client.is_empty() && add_admin.is_empty());
    let issued: Vec<String> = if nodes.is_empty() {
        if !adding {
            bail!("give --nodes for a new CA, or --add-node/--add-client/--add-admin");
        }
        let mut leaves = add_node
            .iter()
            .map(|s| Leaf::parse_node(s))
            .collect::<Result<Vec<_>, _>>()?;
        leaves.extend(add_client.iter().map(Leaf::client));
        leaves.extend(add_admin.iter().map(Leaf::admin));
        certs::add_to_cluster(&out, &ca_dir, &leaves)?
            .iter()
            .map(|p| format!("{} ({})", p.name, p.role))
            .collect()
    } else {
        if adding {
            bail!("--nodes starts a new CA; add to an existing one without it");
        }
        let leaves = nodes
            .iter()
            // Older invocations listed the client among the nodes; it is always issued.
            .filter(|n| *n != certs::CLIENT && *n != certs::ADMIN)
            .map(|s| Leaf::parse_node(s))
            .collect::<Result<Vec<_>, _>>()?;
        certs::new_cluster(&out, &ca_dir, &leaves)?
            .leaves
            .iter()
            .map(|p| format!("{} ({})", p.name, p.role))
            .collect()
    };
    println!(
        "wrote {}/ca.pem and a certificate + key (0600) for {}; the CA is kept in {}",
        out.display(),
        issued.join(", "),
        ca_dir.display()
    );
    Ok(())
}

fn run_config(a: RunArgs) -> anyhow::Result<RunConfig> {
    let mut cfg = match &a.config {
        Some(p) => RunConfig::from_file(p)?,
        None => RunConfig::default(),
    };
    if let Some(v) = a.id {
        cfg.id = v;
    }
    cfg.name = a.name.or(cfg.name);
    cfg.listen = a.listen.or(cfg.listen);
    cfg.http = a.http.or(cfg.http);
    cfg.data_dir = a.data_dir.or(cfg.data_dir);
    cfg.certs_dir = a.certs_dir.or(cfg.certs_dir);
    cfg.layout_groups = a.layout_groups.or(cfg.layout_groups);
    cfg.bootstrap = a.bootstrap.or(cfg.bootstrap);
    cfg.redis_cluster_nodes = a.redis_cluster_nodes.or(cfg.redis_cluster_nodes);
    Ok(cfg)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let cfg = run_config(args)?;
    let opts = cfg.node_options()?;
    let node = ShardNode::start(opts).await?;
    let bootstrap = match cfg.bootstrap_members()? {
        Some(members) => {
            let voters: Vec<(NodeId, NodeInfo)> =
                members.iter().map(|m| (m.id, m.info.clone())).collect();
            let b = node.bootstrap(voters);
            // Runs beside the node: it may wait for the other members to come up.
            Some(tokio::spawn(async move {
                if let Err(e) = b.run().await {
                    error!("bootstrap failed: {e}");
                }
            }))
        }
        None => None,
    };
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = match cfg.http {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("bind http {addr}"))?;
            info!(%addr, "serving /metrics /healthz /readyz");
            let router = node.router().clone();
            let stats = node.publish_stats().cloned();
            Some(tokio::spawn(shard_node::http::serve(
                listener,
                router,
                stats,
                async move {
                    let _ = http_stopped.await;
                },
            )))
        }
        None => None,
    };
    shutdown_signal().await;
    info!("shutting down");
    let _ = stop_http.send(());
    if let Some(h) = http {
        match tokio::time::timeout(Duration::from_secs(5), h).await {
            Ok(Ok(Err(e))) => warn!("http server: {e}"),
            Err(_) => warn!("http server did not stop in time"),
            _ => {}
        }
    }
    if let Some(b) = bootstrap {
        b.abort();
    }
    node.shutdown().await;
    Ok(())
}

async fn admin(a: AdminArgs) -> anyhow::Result<()> {
    let nodes = ClientConfig::parse_nodes(&a.nodes)?;
    let layout = Layout::new(a.groups);
    let mut cfg = ClientConfig::from_certs_dir(nodes.clone(), layout, &a.certs, &a.client_name)?;
    cfg.retry_for = Duration::from_secs(30);
    let client = ShardClient::connect(cfg).await?;
    let groups: Vec<GroupId> = match a.group {
        Some(g) => vec![g],
        None => layout.group_ids().collect(),
    };
    for g in groups {
        match &a.op {
            AdminOp::Status => {
                for n in client.config().members_of(g) {
                    match client.status(g, n.id).await {
                        Ok(s) => println!(
                            "group {g} node {}: leader {:?} term {} applied {:?} snapshot {:?} voters {:?} learners {:?}",
                            n.id, s.leader, s.term, s.last_applied, s.snapshot, s.voters, s.learners
                        ),
                        Err(e) => println!("group {g} node {}: {e}", n.id),
                    }
                }
            }
            AdminOp::Init => {
                let members: Vec<(NodeId, NodeInfo)> = client
                    .config()
                    .members_of(g)
                    .into_iter()
                    .map(|n| (n.id, n.info))
                    .collect();
                let Some(first) = members.first().map(|m| m.0) else {
                    bail!("no listed node hosts group {g}");
                };
                client.initialize(g, first, members).await?;
                println!("group {g} initialized");
            }
            AdminOp::AddNode { id, node } => {
                let (name, addr) = node
                    .split_once('@')
                    .context("--node must be NAME@HOST:PORT")?;
                client.add_node(g, *id, NodeInfo::new(addr, name)).await?;
                println!("group {g}: node {id} added as a voter");
            }
            AdminOp::RemoveNode { id } => {
                client.remove_node(g, *id).await?;
                println!("group {g}: node {id} removed");
            }
            AdminOp::Snapshot => {
                client.trigger_snapshot(g).await?;
                println!("group {g}: snapshot triggered");
            }
        }
    }
    Ok(())
}
