//! Committed score writes per second, and their latency, through a 3-node shard group.
//!
//! Three `shard-node` nodes run in this process on 127.0.0.1 (real QUIC with mutual TLS, real
//! segmented logs in a temp dir, openraft replication to all three), plus the load: `ShardClient`s
//! (one, like one gateway, unless a row says more). For each row `callers` tasks, spread over the
//! row's clients, each keep one write outstanding (`write`), or one batch of `batch` writes
//! (`write_batch`), for a fixed time; every acknowledged write was committed by a majority
//! (fsynced on it, unless `RAFT_BENCH_FSYNC=never`) and applied by the leader. Writes carry op
//! ids and go to one board with the default 8 partitions and 100k members (a quiz with many
//! players).
//!
//! Criterion is a poor fit (one measurement is a whole cluster running for seconds), so this is
//! a `harness = false` bench that prints a table: writes/s, commit latency per call (p50, p99,
//! p99.9, max), the writes per request the clients' batchers formed (`w/req`) and per Raft entry
//! the leader proposed (`w/entry`, after merging concurrent requests), whether a snapshot was
//! built during the row (`snap`: writes wait for the build), the writes per CPU-second
//! of the whole process (three nodes and the load generator: the cost that does not depend on
//! how much of the machine the process got), and the 1-minute load average when the row started
//! and ended (the machine may be shared).
//!
//! ```text
//! cargo bench -p benches --bench raft                # every row, 5 s each
//! RAFT_BENCH_SECS=2 cargo bench -p benches --bench raft
//! RAFT_BENCH_ROWS=256x1,4096x1,256x1x4 cargo bench -p benches --bench raft  # CALLERSxBATCH[xCLIENTS]
//! RAFT_BENCH_FSYNC=never cargo bench -p benches --bench raft
//! RAFT_BENCH_OUTCOMES=none cargo bench -p benches --bench raft
//! RAFT_BENCH_MAX_BATCH=4096 RAFT_BENCH_INFLIGHT=2 cargo bench -p benches --bench raft
//! ```
//!
//! `RAFT_BENCH_OUTCOMES=none` sends the writes with `apply`/`apply_batch` (the caller wants no
//! outcome, like the gateway's live mirror: no node computes ranks) instead of
//! `write`/`write_batch` (full outcome with board-wide ranks, the default).
//!
//! `RAFT_BENCH_MAX_BATCH` and `RAFT_BENCH_INFLIGHT` override the client's `max_batch` and
//! `max_inflight`, `RAFT_BENCH_PROPOSALS` the nodes' `RaftTuning::proposals_in_flight` (default:
//! the defaults).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leaderboard_core::{BoardConfig, OpId, Write};
use shard_node::certs;
use shard_node::client::{ClientConfig, NodeEntry, ShardClient};
use shard_node::layout::Layout;
use shard_node::log_store::{FsyncPolicy, LogOptions};
use shard_node::node::{NodeOptions, RaftTuning, ShardNode};
use shard_node::transport::TlsIdentity;
use shard_node::types::{NodeId, NodeInfo};

const BOARD: &str = "bench";
const MEMBERS: u64 = 100_000;

fn identity(c: &certs::DevCerts, name: &str) -> TlsIdentity {
    let p = c.get(name).expect("cert");
    TlsIdentity::from_pem(&c.ca_pem, &p.cert_pem, &p.key_pem).expect("identity")
}

/// Most clients a row may use (each its own QUIC endpoint and batcher, like separate gateways).
const MAX_CLIENTS: usize = 8;

struct Cluster {
    nodes: Vec<ShardNode>,
    clients: Vec<ShardClient>,
    _dir: tempfile::TempDir,
}

async fn cluster(
    fsync: FsyncPolicy,
    max_batch: Option<usize>,
    max_inflight: Option<usize>,
    proposals: Option<usize>,
) -> Cluster {
    let certs = certs::dev_cluster(3).expect("certs");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nodes = Vec::new();
    for id in 1..=3u64 {
        let mut opts = NodeOptions::new(
            id,
            "127.0.0.1:0".parse().expect("addr"),
            dir.path().join(format!("n{id}")),
            identity(&certs, &format!("n{id}")),
        );
        opts.log = LogOptions {
            fsync,
            ..LogOptions::default()
        };
        opts.raft = RaftTuning {
            max_payload_entries: 64,
            ..RaftTuning::default()
        };
        if let Some(n) = proposals {
            opts.raft.proposals_in_flight = n as u64;
        }
        nodes.push(ShardNode::start(opts).await.expect("start node"));
    }
    let infos: Vec<(NodeId, NodeInfo)> = nodes
        .iter()
        .map(|n| {
            (
                n.id(),
                NodeInfo::new(n.addr().to_string(), format!("n{}", n.id())),
            )
        })
        .collect();
    nodes[0].initialize(0, infos.clone()).await.expect("init");
    let entries = infos
        .iter()
        .map(|(id, info)| NodeEntry {
            id: *id,
            info: info.clone(),
            groups: Vec::new(),
        })
        .collect();
    let mut cfg = ClientConfig::new(entries, Layout::new(1), identity(&certs, certs::CLIENT));
    if let Some(n) = max_batch {
        cfg.max_batch = n;
    }
    if let Some(n) = max_inflight {
        cfg.max_inflight = n;
    }
    let mut clients = Vec::new();
    for _ in 0..MAX_CLIENTS {
        clients.push(ShardClient::connect(cfg.clone()).await.expect("client"));
    }
    // Wait for a leader by retrying board creation (the client retries across elections).
    clients[0]
        .create_board(BOARD, BoardConfig::default())
        .await
        .expect("create board");
    Cluster {
        nodes,
        clients,
        _dir: dir,
    }
}

struct Outcome {
    writes: u64,
    errors: u64,
    secs: f64,
    lat_us: Vec<u32>,
}

/// `callers` tasks spread over `clients`, for `secs`; with `outcomes == false` the writes ask for
/// no outcome (`apply`).
async fn run(
    clients: &[ShardClient],
    callers: usize,
    batch: usize,
    secs: f64,
    outcomes: bool,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for i in 0..callers {
        let (client, stop, next, errors) = (
            clients[i % clients.len()].clone(),
            stop.clone(),
            next.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let first = next.fetch_add(batch as u64, Ordering::Relaxed);
                let writes: Vec<Write> = (first..first + batch as u64)
                    .map(|i| {
                        Write::new(
                            format!("player-{}", i % MEMBERS),
                            (i % 10_000) as i64,
                            i as i64,
                        )
                        .op_id(OpId(u128::from(i)))
                    })
                    .collect();
                let t = Instant::now();
                let failed = match (batch, outcomes) {
                    (1, true) => {
                        let w = writes.into_iter().next().expect("one write");
                        usize::from(client.write(BOARD, w).await.is_err())
                    }
                    (1, false) => {
                        let w = writes.into_iter().next().expect("one write");
                        usize::from(client.apply(BOARD, w).await.is_err())
                    }
                    (_, true) => client
                        .write_batch(BOARD, writes)
                        .await
                        .iter()
                        .filter(|r| r.is_err())
                        .count(),
                    (_, false) => client
                        .apply_batch(BOARD, writes)
                        .await
                        .iter()
                        .filter(|r| r.is_err())
                        .count(),
                };
                errors.fetch_add(failed as u64, Ordering::Relaxed);
                let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                lat.extend(std::iter::repeat_n(us, batch));
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat_us = Vec::new();
    for t in tasks {
        lat_us.extend(t.await.expect("task"));
    }
    let secs = start.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    lat_us.sort_unstable();
    Outcome {
        writes: lat_us.len() as u64 - errors,
        errors,
        secs,
        lat_us,
    }
}

/// CPU seconds (user + system) this process used so far, from `/proc/self/stat`; the machine is
/// shared with other work, so CPU per write is the number that does not depend on the load.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, utime 14 and stime 15 (1-based).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The 1-minute load average, from `/proc/loadavg`.
fn load_avg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Client write requests (the client batcher's batches), the Raft entries the leaders' proposers
/// made of them, and the writes in them, summed over the nodes (only the leader serves writes).
fn batches(nodes: &[ShardNode]) -> (u64, u64, u64) {
    nodes.iter().fold((0, 0, 0), |(r, e, w), n| {
        let m = n.router().metrics();
        let entries: u64 = n
            .router()
            .groups()
            .iter()
            .map(|g| g.proposer.stats().entries.load(Ordering::Relaxed))
            .sum();
        (
            r + m.write_batches.load(Ordering::Relaxed),
            e + entries,
            w + m.write_commands.load(Ordering::Relaxed),
        )
    })
}

/// The highest log index any node's snapshot covers: a row during which it moves built a
/// snapshot, and writes wait while a snapshot is built.
fn snapshot_index(nodes: &[ShardNode]) -> u64 {
    nodes
        .iter()
        .flat_map(|n| {
            n.router()
                .groups()
                .iter()
                .map(|g| n.router().status(g).snapshot.unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap_or(0)
}

fn pct(v: &[u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i]) / 1000.0
}

/// A row: concurrent callers, writes per call, clients they are spread over.
#[derive(Clone, Copy)]
struct Row {
    callers: usize,
    batch: usize,
    clients: usize,
}

const fn row(callers: usize, batch: usize, clients: usize) -> Row {
    Row {
        callers,
        batch,
        clients,
    }
}

/// Rows from `RAFT_BENCH_ROWS` (`CALLERSxBATCH[xCLIENTS],...`).
fn parse_rows(text: &str) -> Vec<Row> {
    text.split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let n: Vec<usize> = r
                .trim()
                .split('x')
                .map(|v| v.parse().expect("RAFT_BENCH_ROWS: CALLERSxBATCH[xCLIENTS]"))
                .collect();
            let clients = n.get(2).copied().unwrap_or(1);
            assert!(
                (1..=MAX_CLIENTS).contains(&clients),
                "RAFT_BENCH_ROWS: 1..={MAX_CLIENTS} clients"
            );
            row(n[0], n.get(1).copied().unwrap_or(1), clients)
        })
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep it short then.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var("RAFT_BENCH_QUICK").is_ok();
    let secs: f64 = std::env::var("RAFT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.5 } else { 5.0 });
    let fsync = match std::env::var("RAFT_BENCH_FSYNC").as_deref() {
        Ok("never") => FsyncPolicy::Never,
        _ => FsyncPolicy::Always,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows: Vec<Row> = match std::env::var("RAFT_BENCH_ROWS") {
        Ok(text) => parse_rows(&text),
        Err(_) if quick => vec![row(64, 1, 1)],
        Err(_) => vec![
            row(1, 1, 1),
            row(64, 1, 1),
            row(128, 1, 1),
            row(256, 1, 1),
            row(256, 1, 4),
            row(1024, 1, 1),
            row(4096, 1, 1),
            row(16, 64, 1),
            row(64, 64, 1),
        ],
    };
    let env = |k: &str| -> Option<usize> { std::env::var(k).ok().and_then(|s| s.parse().ok()) };
    let (max_batch, max_inflight) = (env("RAFT_BENCH_MAX_BATCH"), env("RAFT_BENCH_INFLIGHT"));
    let proposals = env("RAFT_BENCH_PROPOSALS");
    let outcomes = std::env::var("RAFT_BENCH_OUTCOMES").as_deref() != Ok("none");
    rt.block_on(async {
        let c = cluster(fsync, max_batch, max_inflight, proposals).await;
        // Warm up: connections, allocator, board with members.
        let _ = run(&c.clients, 256, 1, secs.min(1.0), outcomes).await;
        let cfg = c.clients[0].config();
        println!(
            "\n3-node group on loopback, fsync={fsync:?}, client max_batch={} max_inflight={}, \
             leader proposals_in_flight={}, outcomes={}, {secs} s per row",
            cfg.max_batch,
            cfg.max_inflight,
            proposals.map_or(RaftTuning::default().proposals_in_flight, |n| n as u64),
            if outcomes { "write (ranks)" } else { "none (apply)" },
        );
        println!(
            "{:>8} {:>6} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8} {:>5} {:>12} {:>11}",
            "callers",
            "batch",
            "clients",
            "writes/s",
            "p50 ms",
            "p99 ms",
            "p999 ms",
            "max ms",
            "errors",
            "w/req",
            "w/entry",
            "snap",
            "writes/cpu-s",
            "load"
        );
        for r in &rows {
            let (load0, cpu0, (r0, e0, w0)) = (load_avg(), cpu_secs(), batches(&c.nodes));
            let snap0 = snapshot_index(&c.nodes);
            let o = run(&c.clients[..r.clients], r.callers, r.batch, secs, outcomes).await;
            let cpu = (cpu_secs() - cpu0).max(0.01);
            let (r1, e1, w1) = batches(&c.nodes);
            println!(
                "{:>8} {:>6} {:>7} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>7.1} {:>8.1} {:>5} {:>12.0} {:>11}",
                r.callers,
                r.batch,
                r.clients,
                o.writes as f64 / o.secs,
                pct(&o.lat_us, 0.50),
                pct(&o.lat_us, 0.99),
                pct(&o.lat_us, 0.999),
                pct(&o.lat_us, 1.0),
                o.errors,
                (w1 - w0) as f64 / (r1 - r0).max(1) as f64,
                (w1 - w0) as f64 / (e1 - e0).max(1) as f64,
                if snapshot_index(&c.nodes) > snap0 { "yes" } else { "-" },
                o.writes as f64 / cpu,
                format!("{load0:.1}-{:.1}", load_avg())
            );
        }
        drop(c.clients);
        for n in c.nodes {
            n.shutdown().await;
        }
    });
}
