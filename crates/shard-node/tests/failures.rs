//! Failure scenarios on in-process 3-node groups: leader crash under load, full restart from
//! disk, snapshot catch-up of lagging and new nodes with membership changes, and a partitioned
//! minority.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{create_board, eventually, names, put, TestCluster, BOARD};
use leaderboard_core::{BoardId, Write};
use shard_node::command::{Batch, Command};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::types::NodeId;

const L: Layout = Layout { groups: 1 };

async fn values(c: &TestCluster, id: NodeId) -> BTreeSet<String> {
    c.members(id, 0).await
}

/// Waits until every live node holds exactly `want`.
async fn converged(c: &TestCluster, want: &BTreeSet<String>) {
    converged_on(c, &c.nodes.keys().copied().collect::<Vec<_>>(), want).await
}

/// Waits until nodes `ids` hold exactly `want`.
async fn converged_on(c: &TestCluster, ids: &[NodeId], want: &BTreeSet<String>) {
    for id in ids {
        let ok = tokio::time::timeout(Duration::from_secs(20), async {
            while values(c, *id).await != *want {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        if ok.is_err() {
            let have = values(c, *id).await;
            let missing: Vec<_> = want.difference(&have).take(10).collect();
            let extra: Vec<_> = have.difference(want).take(10).collect();
            panic!(
                "node {id} did not converge: {} values, missing {missing:?}, extra {extra:?}, status {:?}",
                have.len(),
                c.status(*id, 0).await
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_crash_under_writes_loses_no_acknowledged_write() {
    let mut c = TestCluster::start(3, 3, L, RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (client, acked, stop) = (client.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v = w * 1_000_000 + i;
                if put(&client, v).await.is_ok() {
                    acked.lock().unwrap().insert(format!("m{v}"));
                }
                i += 1;
            }
        }));
    }
    eventually("some writes", Duration::from_secs(10), || async {
        (acked.lock().unwrap().len() > 200).then_some(())
    })
    .await;
    let old = c.leader(0).await;
    c.stop(old).await;
    let before = acked.lock().unwrap().len();
    let new = c.leader(0).await;
    assert_ne!(new, old);
    eventually("writes after failover", Duration::from_secs(20), || async {
        (acked.lock().unwrap().len() > before + 200).then_some(())
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let last = c.status(new, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    for id in c.nodes.keys() {
        let have = values(&c, *id).await;
        let lost: Vec<_> = acked.difference(&have).take(5).collect();
        assert!(
            lost.is_empty(),
            "node {id} lost acknowledged writes, e.g. {lost:?}"
        );
    }
    // The crashed node comes back and catches up.
    c.restart(old).await;
    let want = values(&c, new).await;
    converged(&c, &want).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_cluster_restarts_from_disk() {
    let tuning = RaftTuning {
        snapshot_logs: 30,
        keep_logs: 5,
        ..RaftTuning::fast()
    };
    let mut c = TestCluster::start(3, 3, L, tuning).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 0..100u64 {
        put(&client, i).await.unwrap();
    }
    let want = names(0..100);
    converged(&c, &want).await;
    for id in [1, 2, 3] {
        c.stop(id).await;
    }
    for id in [1, 2, 3] {
        c.restart(id).await;
    }
    // State is back before any new write (from snapshot + log replay).
    converged(&c, &want).await;
    let client = c.client().await;
    create_board(&client).await;
    put(&client, 1000).await.unwrap();
    let mut want = want;
    want.insert("m1000".to_string());
    converged(&c, &want).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_and_new_nodes_catch_up_by_snapshot_and_membership_changes() {
    let tuning = RaftTuning {
        snapshot_logs: 50,
        keep_logs: 0,
        ..RaftTuning::fast()
    };
    // Nodes 1-3 vote; node 4 runs but is not a member yet.
    let mut c = TestCluster::start(4, 3, L, tuning).await;
    let client = c.client().await;
    create_board(&client).await;
    c.stop(3).await;
    for i in 0..300u64 {
        put(&client, i).await.unwrap();
    }
    let leader = c.leader(0).await;
    let st = c.status(leader, 0).await;
    assert!(
        st.snapshot.is_some_and(|s| s >= 50),
        "leader built a snapshot: {st:?}"
    );

    // Lagging node 3: its missing entries are purged on the leader, so it needs the snapshot.
    c.restart(3).await;
    let want = names(0..300);
    eventually("node 3 snapshot", Duration::from_secs(20), || async {
        c.status(3, 0).await.snapshot.is_some().then_some(())
    })
    .await;
    converged_on(&c, &[1, 2, 3], &want).await;

    // New node 4 joins as a learner, then replaces node 3 as a voter. The leader's log no longer
    // starts at 1, so node 4 can only catch up from a snapshot.
    client.trigger_snapshot(0).await.unwrap();
    eventually("leader log purged", Duration::from_secs(10), || async {
        let l = c.leader(0).await;
        (c.status(l, 0).await.purged >= Some(100)).then_some(())
    })
    .await;
    client.add_node(0, 4, c.info(4)).await.unwrap();
    client.remove_node(0, 3).await.unwrap();
    let st = c.status(c.leader(0).await, 0).await;
    assert_eq!(st.voters, [1, 2, 4].into());
    assert!(st.learners.is_empty());
    eventually(
        "node 4 installs a snapshot",
        Duration::from_secs(20),
        || async { c.status(4, 0).await.snapshot.is_some().then_some(()) },
    )
    .await;
    c.stop(3).await;
    put(&client, 5000).await.unwrap();
    let mut want = want;
    want.insert("m5000".to_string());
    converged(&c, &want).await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_minority_cannot_commit_and_converges_after_healing() {
    let c = TestCluster::start(3, 3, L, RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 0..10u64 {
        put(&client, i).await.unwrap();
    }
    let old = c.leader(0).await;
    // Cut the old leader off from both peers, in both directions.
    for id in c.nodes.keys().filter(|id| **id != old) {
        c.nodes[id].faults().block(old);
        c.nodes[&old].faults().block(*id);
    }
    // The isolated leader accepts the write into its log but can never commit it.
    let raft = c.nodes[&old].raft(0).unwrap();
    let stuck = tokio::time::timeout(
        Duration::from_secs(2),
        raft.client_write(Batch::new(vec![Command::Write {
            board: BoardId::new(BOARD),
            write: Write::new("m666", 666, 0),
        }])),
    )
    .await;
    assert!(
        stuck.is_err() || stuck.unwrap().is_err(),
        "a minority must not commit"
    );

    // The majority elects a new leader and keeps committing.
    let majority: Vec<NodeId> = c.nodes.keys().copied().filter(|id| *id != old).collect();
    let new = eventually("a majority leader", Duration::from_secs(10), || async {
        let a = c.status(majority[0], 0).await.leader;
        let b = c.status(majority[1], 0).await.leader;
        a.filter(|l| *l != old && b == Some(*l))
    })
    .await;
    assert_ne!(new, old);
    for i in 10..20u64 {
        put(&client, i).await.unwrap();
    }
    assert!(
        !values(&c, old).await.contains("m15"),
        "minority has not seen majority writes yet"
    );

    for node in c.nodes.values() {
        node.faults().heal();
    }
    let want = names(0..20);
    converged(&c, &want).await;
    assert!(
        !values(&c, old).await.contains("m666"),
        "the uncommitted write was discarded"
    );
    c.shutdown().await;
}
