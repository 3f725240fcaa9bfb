//! Heavy state machine work stays off the async workers: loading a million members in large
//! batches and then building a snapshot of them on the leader, while clients keep writing and
//! reading, causes no election. The three
//! nodes share one 2-worker runtime (as a node's groups share its runtime), so a worker blocked
//! by the build, by an `apply` waiting for the state lock, or by a query waiting behind it would
//! stop heartbeats and the followers would elect a new leader.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{create_board, eventually, identity, TestCluster, BOARD};
use leaderboard_core::{BoardId, OpId, Window, Write};
use shard_node::client::{ClientConfig, NodeEntry, ShardClient};
use shard_node::command::Query;
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::protocol::{ClientRequest, ReadConsistency};

const MEMBERS: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_a_snapshot_of_a_million_members_causes_no_election() {
    let tuning = RaftTuning {
        snapshot_logs: 1_000_000_000,
        keep_logs: 0,
        // Appends of a few 1,000-write entries: small frames, cheap to decode.
        max_payload_entries: 16,
        // Timeouts over a second, not the fast tuning's 300-600 ms: on a shared 2-core machine a
        // busy neighbour can delay a healthy worker for a few hundred ms, which is not what this
        // test is about. A worker blocked by the build is blocked for the whole build (seconds
        // for a million members with their op ids), so it still misses these.
        heartbeat_ms: 100,
        election_min_ms: 1_000,
        election_max_ms: 1_500,
        ..RaftTuning::fast()
    };
    let c = TestCluster::start(3, 3, Layout { groups: 1 }, tuning).await;
    // A debug build applies large batches slowly on a busy machine: wait longer per call than
    // the default test client does.
    let nodes = c
        .addrs
        .keys()
        .map(|id| NodeEntry {
            id: *id,
            info: c.info(*id),
            groups: Vec::new(),
        })
        .collect();
    let mut cfg = ClientConfig::new(nodes, c.layout, identity(&c.certs, "client"));
    cfg.rpc_timeout = Duration::from_secs(20);
    cfg.retry_for = Duration::from_secs(60);
    let client = ShardClient::connect(cfg).await.unwrap();
    create_board(&client).await;
    // Applying the load's large batches is heavy work too: no election from here on.
    let leader = c.leader(0).await;
    let term = c.status(leader, 0).await.term;
    for id in c.nodes.keys() {
        eventually(
            "every node in the leader's term",
            Duration::from_secs(10),
            || async {
                let s = c.status(*id, 0).await;
                (s.term == term && s.leader == Some(leader)).then_some(())
            },
        )
        .await;
    }
    let same_terms = || async {
        for id in c.nodes.keys() {
            let s = c.status(*id, 0).await;
            assert_eq!(
                (s.term, s.leader),
                (term, Some(leader)),
                "node {id}: an election happened"
            );
        }
    };
    let next = Arc::new(AtomicU64::new(0));
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (client, next) = (client.clone(), next.clone());
        loaders.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(1000, Ordering::Relaxed);
                if first >= MEMBERS {
                    break;
                }
                let mut writes: Vec<Write> = (first..first + 1000)
                    .map(|v| {
                        Write::new(format!("member-{v}"), (v % 100_003) as i64, v as i64)
                            .op_id(OpId(u128::from(v)))
                    })
                    .collect();
                // A timed-out call is sent again (op ids make that harmless); an election is
                // caught by the watch below.
                while !writes.is_empty() {
                    let out = client.write_batch(BOARD, writes.clone()).await;
                    writes = writes
                        .into_iter()
                        .zip(out)
                        .filter_map(|(w, r)| r.is_err().then_some(w))
                        .collect();
                }
            }
        }));
    }
    // With work blocking the workers the load crawls (or elections stop it): bounded, so that
    // such a run fails instead of hanging.
    let loading =
        tokio::time::timeout(Duration::from_secs(900), futures::future::join_all(loaders));
    tokio::pin!(loading);
    loop {
        tokio::select! {
            results = &mut loading => {
                for r in results.expect("the load finishes") {
                    r.unwrap();
                }
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => same_terms().await,
        }
    }
    let last = c.status(leader, 0).await.last_applied.unwrap();
    c.applied(0, last).await;

    // Writers keep going while the leader builds the snapshot, and readers read the leader's
    // state directly (a follower read that lands on the leader): small and large queries.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for w in 0..2u64 {
        let (client, stop, done) = (client.clone(), stop.clone(), done.clone());
        load.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let m = (w * 7919 + i * 104_729) % MEMBERS;
                let _ = client
                    .write(BOARD, Write::new(format!("member-{m}"), i as i64, 0))
                    .await;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for r in 0..2usize {
        let router = c.nodes[&leader].router().clone();
        let (stop, done) = (stop.clone(), done.clone());
        load.push(tokio::spawn(async move {
            let group = router.group(0).unwrap();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let query = match (i + r) % 2 {
                    0 => Query::Count {
                        board: BoardId::new(BOARD),
                        window: Window::Current,
                    },
                    _ => Query::After {
                        board: BoardId::new(BOARD),
                        after: None,
                        n: 10_000,
                        window: Window::Current,
                    },
                };
                let req = ClientRequest::Read {
                    query,
                    consistency: ReadConsistency::Local,
                };
                router.client(&group, req).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    eventually("traffic", Duration::from_secs(30), || async {
        (done.load(Ordering::Relaxed) > 20).then_some(())
    })
    .await;
    let build = std::time::Instant::now();
    c.nodes[&leader]
        .raft(0)
        .unwrap()
        .trigger()
        .snapshot()
        .await
        .unwrap();
    while c.status(leader, 0).await.snapshot < Some(last) {
        same_terms().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "snapshot of {MEMBERS} members built in {:?} with traffic running",
        build.elapsed()
    );
    // Traffic goes on after the build.
    let after = done.load(Ordering::Relaxed);
    eventually(
        "traffic after the build",
        Duration::from_secs(60),
        || async { (done.load(Ordering::Relaxed) > after + 20).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    same_terms().await;
    c.shutdown().await;
}
