//! Snapshot of one large group: build, send + install on a new node, restore on restart, with
//! time and peak RSS for each step.
//!
//! Node 1 runs a one-voter group in this process (real QUIC with mutual TLS, real disk in a temp
//! dir) and is loaded with `SNAP_BENCH_MEMBERS` members (default 10 million, one board with the
//! default 8 partitions, writes with op ids kept for [`OP_ID_HORIZON_MS`]) through a
//! `ShardClient`. Then:
//!
//! 1. **build**: node 1 builds a snapshot (streamed to `snapshot.lbs` under the state's read
//!    lock, fsynced, renamed);
//! 2. **send**: node 2 (empty) is added as a learner; the leader's log starts after the
//!    snapshot, so node 2 receives it in `snapshot_chunk_bytes` chunks into a file (timed until
//!    the file is complete);
//! 3. **install**: node 2 restores from the received file inside the last chunk's RPC and
//!    renames it into place (timed until node 2 reports the snapshot);
//! 4. **restart**: node 2 stops and starts again, restoring from its file (timed: the start).
//!
//! Peak RSS is the process's high-water mark (`VmHWM`, reset before each step through
//! `/proc/self/clear_refs`) minus its RSS when the step began: what the step added at its
//! peak, including the new state where a step creates one (install, restart).
//!
//! ```text
//! cargo bench -p benches --bench snapshot                       # 10M members
//! SNAP_BENCH_MEMBERS=1000000 cargo bench -p benches --bench snapshot
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leaderboard_core::{BoardConfig, OpId, OpIdPolicy, Write};
use shard_node::certs;
use shard_node::client::{ClientConfig, NodeEntry, ShardClient};
use shard_node::command::{Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::log_store::{FsyncPolicy, LogOptions};
use shard_node::node::{NodeOptions, RaftTuning, ShardNode};
use shard_node::protocol::{ClientReply, ClientRequest, GroupStatus, ReadConsistency};
use shard_node::transport::TlsIdentity;
use shard_node::types::NodeInfo;

const BOARD: &str = "big";

/// How long the loaded board remembers op ids. The load writes ~180,000 op ids a second: with
/// the default minute every one of 10 million would be remembered, over the default byte bound
/// of each partition (writes would be refused). One second keeps ~180,000 of them in the
/// snapshot, about as many as the count-bounded memory of earlier releases held (16,384 per
/// partition), so the figures stay comparable.
const OP_ID_HORIZON_MS: u64 = 1_000;

fn identity(c: &certs::DevCerts, name: &str) -> TlsIdentity {
    let p = c.get(name).expect("cert");
    TlsIdentity::from_pem(&c.ca_pem, &p.cert_pem, &p.key_pem).expect("identity")
}

/// (VmRSS, VmHWM) of this process in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts a step: resets the high-water mark; returns the RSS now.
fn step_start() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    rss().0
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn status(node: &ShardNode) -> GroupStatus {
    let r = node.router();
    r.status(&r.group(0).expect("group 0"))
}

async fn local_count(node: &ShardNode) -> u64 {
    let r = node.router();
    let req = ClientRequest::Read {
        query: Query::Count {
            board: BOARD.into(),
            window: leaderboard_core::Window::Current,
        },
        consistency: ReadConsistency::Local,
    };
    match r.client(&r.group(0).expect("group 0"), req).await {
        Ok(ClientReply::Read(QueryReply::Count(n))) => n,
        other => panic!("count: {other:?}"),
    }
}

async fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Size of the `incoming-*.tmp` file in `dir`, if any.
fn incoming_len(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir).ok()?.find_map(|e| {
        let e = e.ok()?;
        let name = e.file_name().into_string().ok()?;
        name.starts_with("incoming-")
            .then(|| e.metadata().ok().map(|m| m.len()))
            .flatten()
    })
}

fn options(
    id: u64,
    dir: &Path,
    certs: &certs::DevCerts,
    tuning: RaftTuning,
    listen: std::net::SocketAddr,
) -> NodeOptions {
    let mut o = NodeOptions::new(
        id,
        listen,
        dir.join(format!("n{id}")),
        identity(certs, &format!("n{id}")),
    );
    o.raft = tuning;
    o.log = LogOptions {
        fsync: FsyncPolicy::Never,
        ..LogOptions::default()
    };
    o
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let members: u64 = std::env::var("SNAP_BENCH_MEMBERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 20_000 } else { 10_000_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench(members));
}

async fn bench(members: u64) {
    let certs = certs::dev_cluster(2).expect("certs");
    let dir = tempfile::tempdir().expect("tempdir");
    let tuning = RaftTuning {
        // Snapshots only when asked; the log behind one is purged, so a new node needs it.
        snapshot_logs: u64::MAX / 2,
        keep_logs: 0,
        install_snapshot_timeout_ms: 600_000,
        ..RaftTuning::default()
    };
    let any = "127.0.0.1:0".parse().expect("addr");
    let n1 = ShardNode::start(options(1, dir.path(), &certs, tuning, any))
        .await
        .expect("node 1");
    let info = |n: &ShardNode| NodeInfo::new(n.addr().to_string(), format!("n{}", n.id()));
    n1.initialize(0, vec![(1, info(&n1))]).await.expect("init");
    let entry = |n: &ShardNode| NodeEntry {
        id: n.id(),
        info: info(n),
        groups: Vec::new(),
    };
    let cfg = ClientConfig::new(
        vec![entry(&n1)],
        Layout::new(1),
        identity(&certs, certs::CLIENT),
    );
    let client = ShardClient::connect(cfg).await.expect("client");
    let config = BoardConfig::new().op_ids(OpIdPolicy::new().horizon_ms(OP_ID_HORIZON_MS));
    client.create_board(BOARD, config).await.expect("board");

    // Load.
    let t = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, next) = (client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(1024, Ordering::Relaxed);
                if first >= members {
                    break;
                }
                let writes = (first..(first + 1024).min(members))
                    .map(|i| {
                        Write::new(
                            format!("player-{i}"),
                            (i * 7919 % 1_000_003) as i64,
                            i as i64,
                        )
                        .op_id(OpId(u128::from(i)))
                    })
                    .collect();
                for r in client.write_batch(BOARD, writes).await {
                    r.expect("write");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("loader");
    }
    let load_secs = t.elapsed().as_secs_f64();
    let last = status(&n1).last_applied.expect("applied");
    let (state_rss, _) = rss();
    println!(
        "\nloaded {members} members in {load_secs:.1} s ({:.0} writes/s); process RSS {:.0} MiB",
        members as f64 / load_secs,
        mib(state_rss)
    );

    // 1. Build.
    let base = step_start();
    let t = Instant::now();
    n1.raft(0)
        .expect("raft")
        .trigger()
        .snapshot()
        .await
        .expect("trigger");
    wait_until("snapshot", Duration::from_secs(3600), || {
        let s = status(&n1);
        s.snapshot >= Some(last) && s.purged >= Some(last)
    })
    .await;
    let build = t.elapsed().as_secs_f64();
    let build_peak = rss().1.saturating_sub(base);
    let file: PathBuf = dir.path().join("n1/group-0/sm/snapshot.lbs");
    let size = std::fs::metadata(&file).expect("snapshot file").len();

    // 2-3. Send and install on a new node.
    let n2 = ShardNode::start(options(2, dir.path(), &certs, tuning, any))
        .await
        .expect("node 2");
    let n2_addr = n2.addr();
    let sm2 = dir.path().join("n2/group-0/sm");
    let base = step_start();
    let t = Instant::now();
    let add = {
        let client = client.clone();
        let i = info(&n2);
        tokio::spawn(async move { client.add_learner(0, 2, i).await })
    };
    wait_until("snapshot received", Duration::from_secs(3600), || {
        incoming_len(&sm2) == Some(size) || status(&n2).snapshot.is_some()
    })
    .await;
    let send = t.elapsed().as_secs_f64();
    wait_until("snapshot installed", Duration::from_secs(3600), || {
        status(&n2).snapshot.is_some()
    })
    .await;
    let install = t.elapsed().as_secs_f64() - send;
    let install_peak = rss().1.saturating_sub(base);
    add.await.expect("add task").expect("add learner");
    assert_eq!(local_count(&n2).await, members, "node 2 holds every member");

    // 4. Restart node 2 from its snapshot file.
    n2.shutdown().await;
    let base = step_start();
    let t = Instant::now();
    let n2 = loop {
        match ShardNode::start(options(2, dir.path(), &certs, tuning, n2_addr)).await {
            Ok(n) => break n,
            Err(e) if t.elapsed() < Duration::from_secs(30) => {
                eprintln!("restart: {e}, retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("restart node 2: {e}"),
        }
    };
    let restart = t.elapsed().as_secs_f64();
    let restart_peak = rss().1.saturating_sub(base);
    assert_eq!(local_count(&n2).await, members, "restored every member");

    let cfg = RaftTuning::default();
    println!(
        "snapshot of {members} members: {:.0} MiB file, {} KiB records, {} KiB chunks",
        mib(size),
        cfg.snapshot_record_bytes >> 10,
        cfg.snapshot_chunk_bytes >> 10
    );
    println!("{:<28} {:>9} {:>16}", "step", "seconds", "peak RSS +MiB");
    println!(
        "{:<28} {:>9.2} {:>16.0}",
        "build (leader)",
        build,
        mib(build_peak)
    );
    println!("{:<28} {:>9.2} {:>16}", "send (to a new node)", send, "-");
    println!(
        "{:<28} {:>9.2} {:>16.0}",
        "install (new node)",
        install,
        mib(install_peak)
    );
    println!(
        "{:<28} {:>9.2} {:>16.0}",
        "restart (restore from file)",
        restart,
        mib(restart_peak)
    );
    println!("(send + install peak RSS is counted together, in the install row)");
    drop(client);
    n2.shutdown().await;
    n1.shutdown().await;
}
