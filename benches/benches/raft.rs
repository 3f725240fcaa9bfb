//! Committed score writes per second, and their latency, through a 3-node shard group.
//!
//! Three `shard-node` nodes run in this process on 127.0.0.1 (real QUIC with mutual TLS, real
//! segmented logs in a temp dir, openraft replication to all three), plus one `ShardClient`. For
//! each scenario `clients` tasks each keep one write outstanding (`write`), or one batch of
//! `batch` writes (`write_batch`), for a fixed time; every acknowledged write was committed by a
//! majority and applied by the leader. Writes carry op ids and go to one board with the default
//! 8 partitions and 100k members (a quiz with many players).
//!
//! Criterion is a poor fit (one measurement is a whole cluster running for seconds), so this is
//! a `harness = false` bench that prints a table:
//!
//! ```text
//! cargo bench -p benches --bench raft                # every scenario, 5 s each
//! RAFT_BENCH_SECS=2 cargo bench -p benches --bench raft
//! RAFT_BENCH_FSYNC=never cargo bench -p benches --bench raft
//! RAFT_BENCH_MAX_BATCH=4096 RAFT_BENCH_INFLIGHT=2 cargo bench -p benches --bench raft
//! ```

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

struct Cluster {
    nodes: Vec<ShardNode>,
    client: ShardClient,
    _dir: tempfile::TempDir,
}

async fn cluster(fsync: FsyncPolicy, max_batch: usize, max_inflight: usize) -> Cluster {
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
    cfg.max_batch = max_batch;
    cfg.max_inflight = max_inflight;
    let client = ShardClient::connect(cfg).await.expect("client");
    // Wait for a leader by retrying board creation (the client retries across elections).
    client
        .create_board(BOARD, BoardConfig::default())
        .await
        .expect("create board");
    Cluster {
        nodes,
        client,
        _dir: dir,
    }
}

struct Outcome {
    writes: u64,
    errors: u64,
    secs: f64,
    lat_us: Vec<u32>,
}

async fn run(client: &ShardClient, clients: usize, batch: usize, secs: f64) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..clients {
        let (client, stop, next, errors) =
            (client.clone(), stop.clone(), next.clone(), errors.clone());
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
                if batch == 1 {
                    let w = writes.into_iter().next().expect("one write");
                    if client.write(BOARD, w).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    for r in client.write_batch(BOARD, writes).await {
                        if r.is_err() {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
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

fn pct(v: &[u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i]) / 1000.0
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
    // (concurrent callers, writes per call)
    let scenarios: &[(usize, usize)] = if quick {
        &[(64, 1)]
    } else {
        &[
            (1, 1),
            (64, 1),
            (1024, 1),
            (4096, 1),
            (16, 64),
            (64, 64),
            (32, 256),
        ]
    };
    let env = |k: &str, d: usize| -> usize {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let (max_batch, max_inflight) = (
        env("RAFT_BENCH_MAX_BATCH", 1024),
        env("RAFT_BENCH_INFLIGHT", 4),
    );
    rt.block_on(async {
        let c = cluster(fsync, max_batch, max_inflight).await;
        // Warm up: connections, allocator, board with members.
        let _ = run(&c.client, 256, 1, secs.min(1.0)).await;
        println!(
            "\n3-node group on loopback, fsync={fsync:?}, client max_batch={max_batch} max_inflight={max_inflight}, {secs} s per row"
        );
        println!(
            "{:>8} {:>6} {:>12} {:>10} {:>10} {:>10} {:>7} {:>14}",
            "callers", "batch", "writes/s", "p50 ms", "p99 ms", "max ms", "errors", "writes/cpu-s"
        );
        for &(clients, batch) in scenarios {
            let cpu0 = cpu_secs();
            let o = run(&c.client, clients, batch, secs).await;
            let cpu = (cpu_secs() - cpu0).max(0.01);
            println!(
                "{:>8} {:>6} {:>12.0} {:>10.2} {:>10.2} {:>10.2} {:>7} {:>14.0}",
                clients,
                batch,
                o.writes as f64 / o.secs,
                pct(&o.lat_us, 0.50),
                pct(&o.lat_us, 0.99),
                pct(&o.lat_us, 1.0),
                o.errors,
                o.writes as f64 / cpu
            );
        }
        drop(c.client);
        for n in c.nodes {
            n.shutdown().await;
        }
    });
}
