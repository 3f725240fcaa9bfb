//! Bootstrap happens once: restarts keep their state, and a node whose disk was wiped does not
//! initialize a second group under the old name; it rejoins through `remove-node` + `add-node`
//! and gets the data back.

mod common;

use std::time::Duration;

use common::{create_board, eventually, names, put, TestCluster};
use shard_node::layout::Layout;
use shard_node::node::{marker_path, BootstrapOutcome, RaftTuning};
use shard_node::types::{GroupId, NodeId, NodeInfo};

const L: Layout = Layout { groups: 1 };

/// Runs the bootstrap of node `id` as `shard-node run` does, and returns group 0's outcome.
async fn bootstrap(c: &TestCluster, id: NodeId) -> BootstrapOutcome {
    let members: Vec<(NodeId, NodeInfo)> = [1, 2, 3].map(|i| (i, c.info(i))).to_vec();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        c.nodes[&id]
            .bootstrap(members)
            .retry_every(Duration::from_millis(50))
            .run(),
    )
    .await
    .expect("bootstrap finished")
    .expect("bootstrap ran");
    let [(g, outcome)]: [(GroupId, BootstrapOutcome); 1] = out.try_into().unwrap();
    assert_eq!(g, 0);
    outcome
}

async fn converged(c: &TestCluster, ids: &[NodeId], want: &std::collections::BTreeSet<String>) {
    for id in ids {
        eventually(
            &format!("node {id} to hold the data"),
            Duration::from_secs(30),
            || async { (c.members(*id, 0).await == *want).then_some(()) },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_does_not_bootstrap_again_and_rejoins_by_add_node() {
    let mut c = TestCluster::start_nodes(3, L, RaftTuning::fast(), None).await;
    // Every node runs its bootstrap at the same time; only the lowest id initializes.
    let (a, b, d) = tokio::join!(bootstrap(&c, 1), bootstrap(&c, 2), bootstrap(&c, 3));
    assert_eq!(a, BootstrapOutcome::Initialized);
    assert_eq!(b, BootstrapOutcome::NotBootstrapper { bootstrapper: 1 });
    assert_eq!(d, BootstrapOutcome::NotBootstrapper { bootstrapper: 1 });
    c.leader(0).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 0..40u64 {
        put(&client, i).await.unwrap();
    }
    let want = names(0..40);
    converged(&c, &[1, 2, 3], &want).await;
    for id in [1, 2, 3] {
        let m = marker_path(&c.data_dir(id), 0);
        eventually("markers", Duration::from_secs(10), || async {
            m.exists().then_some(())
        })
        .await;
    }

    // A plain restart keeps the state and does not initialize.
    c.stop(1).await;
    c.restart(1).await;
    assert_eq!(bootstrap(&c, 1).await, BootstrapOutcome::HasState);
    converged(&c, &[1], &want).await;

    // From here on the survivors neither send Raft traffic to node 1 nor accept it, so what
    // node 1 shows is its own doing, not something replicated to it.
    for id in [2, 3] {
        c.nodes[&id].faults().block(1);
    }

    // Its log and snapshot are lost but the marker survived: it refuses to initialize.
    c.stop(1).await;
    let group_dir = c.data_dir(1).join("group-0");
    for sub in ["log", "sm"] {
        std::fs::remove_dir_all(group_dir.join(sub)).unwrap();
    }
    c.restart(1).await;
    assert_eq!(bootstrap(&c, 1).await, BootstrapOutcome::StateLost);

    // The whole data directory is wiped: the other members report the group, so it stays
    // empty instead of initializing again.
    c.stop(1).await;
    std::fs::remove_dir_all(c.data_dir(1)).unwrap();
    c.restart(1).await;
    let outcome = bootstrap(&c, 1).await;
    assert!(
        matches!(outcome, BootstrapOutcome::NeedsJoin { peer: 2 | 3 }),
        "{outcome:?}"
    );
    let st = c.status(1, 0).await;
    assert!(
        st.voters.is_empty() && st.learners.is_empty() && st.last_log_index.is_none(),
        "a wiped node must not form a group by itself: {st:?}"
    );
    assert!(!marker_path(&c.data_dir(1), 0).exists());

    // The documented procedure: remove the lost replica, then add the node again.
    client.remove_node(0, 1).await.unwrap();
    for id in [2, 3] {
        c.nodes[&id].faults().heal();
    }
    client.add_node(0, 1, c.info(1)).await.unwrap();
    converged(&c, &[1, 2, 3], &want).await;
    let st = c.status(c.leader(0).await, 0).await;
    assert_eq!(st.voters, [1, 2, 3].into());
    put(&client, 99).await.unwrap();
    let mut want = want;
    want.insert("m99".into());
    converged(&c, &[1, 2, 3], &want).await;
    let m = marker_path(&c.data_dir(1), 0);
    eventually("node 1 marker", Duration::from_secs(10), || async {
        m.exists().then_some(())
    })
    .await;
    c.shutdown().await;
}
