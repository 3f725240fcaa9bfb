//! Applied changes reach Redis Cluster over sharded pub/sub, published by the leader only.
//!
//! Needs the real Redis Cluster from `scripts/stack` (`eval "$(scripts/stack env)"`); fails,
//! never skips, when `REDIS_CLUSTER_NODES` is unset.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{create_board, TestCluster, BOARD};
use leaderboard_core::{OpId, Write};
use redis::{PushKind, Value};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::publish::{channel, Change, ChangeEvent, PublishConfig};

fn redis_nodes() -> String {
    std::env::var("REDIS_CLUSTER_NODES").expect(
        "REDIS_CLUSTER_NODES is not set: start the stack with `scripts/stack up` and \
         `eval \"$(scripts/stack env)\"` (this test needs a real Redis Cluster)",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_publishes_applied_changes_to_sharded_channel() {
    let cfg = PublishConfig::parse(&redis_nodes()).unwrap();

    // Subscribe first (RESP3 push messages), so no message is missed.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sub = redis::cluster::ClusterClientBuilder::new(cfg.nodes.clone())
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(tx)
        .build()
        .unwrap();
    let mut conn = sub
        .get_async_connection()
        .await
        .expect("connect to the Redis Cluster at REDIS_CLUSTER_NODES");
    // The cluster outlives test runs: the board's channel is unique to this run.
    let board = format!(
        "{BOARD}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    conn.ssubscribe(channel(&board)).await.unwrap();

    let c = TestCluster::start_with(3, 3, Layout::new(1), RaftTuning::fast(), Some(cfg)).await;
    let client = c.client().await;
    let leader = c.leader(0).await;
    let term = c.status(leader, 0).await.term;
    create_board(&client).await; // another board: its events go to another channel
    client
        .create_board(&board, Default::default())
        .await
        .unwrap();
    for i in 0..20i64 {
        let w = Write::new(format!("m{i}"), i, 0).op_id(OpId(i as u128));
        client.write(&board, w).await.unwrap();
    }
    // A retry with the same op id changes nothing and publishes nothing.
    client
        .write(&board, Write::new("m3", 3, 0).op_id(OpId(3)))
        .await
        .unwrap();
    let last = c.status(c.leader(0).await, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    client
        .write(&board, Write::new("marker", 1, 0))
        .await
        .unwrap();

    let mut written: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut created = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !written.contains_key("marker") {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("timed out waiting for change events; got so far: {written:?}")
            })
            .expect("push channel closed");
        if msg.kind != PushKind::SMessage {
            continue;
        }
        let payload = match msg.data.last() {
            Some(Value::BulkString(b)) => b.clone(),
            other => panic!("unexpected push payload {other:?}"),
        };
        let ev: ChangeEvent = serde_json::from_slice(&payload).unwrap();
        assert_eq!(ev.board.as_str(), board);
        match ev.change {
            Change::Written { outcome } => written
                .entry(outcome.new.entry.member)
                .or_default()
                .push(ev.index),
            Change::Created { .. } => created += 1,
            other => panic!("unexpected change {other:?}"),
        }
    }
    assert!(created >= 1, "the creation was published");
    let members: BTreeSet<&str> = written.keys().map(String::as_str).collect();
    let mut want: BTreeSet<String> = (0..20).map(|i| format!("m{i}")).collect();
    want.insert("marker".into());
    assert_eq!(members, want.iter().map(String::as_str).collect());
    // Exactly once per change and nothing from followers, unless an election happened meanwhile
    // (possible on a loaded machine): duplicates around a leader change are allowed by design.
    let st = c.status(c.leader(0).await, 0).await;
    if st.term == term && st.leader == Some(leader) {
        assert_eq!(created, 1, "one group, one leader: one creation event");
        for (m, idx) in &written {
            assert_eq!(
                idx.len(),
                1,
                "{m} published {} times (followers must not publish)",
                idx.len()
            );
        }
        for (id, node) in &c.nodes {
            let sent = node.publish_stats().unwrap().sent.load(Ordering::Relaxed);
            if *id == leader {
                assert!(sent >= 22, "leader sent {sent}");
            } else {
                assert_eq!(sent, 0, "follower {id} published");
            }
        }
    } else {
        eprintln!(
            "leader changed during the test (term {term} -> {}): exactly-once not checked",
            st.term
        );
    }
    c.shutdown().await;
}
