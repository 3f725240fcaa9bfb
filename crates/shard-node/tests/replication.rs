//! A 3-node group on loopback replicates committed writes to every replica.

mod common;

use common::TestCluster;
use shard_node::command::{Batch, Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::protocol::{ClientReply, ClientRequest, ReadConsistency};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate() {
    let c = TestCluster::start(
        3,
        3,
        Layout {
            groups: 1,
            partitions: 4,
        },
        RaftTuning::fast(),
    )
    .await;
    let leader = c.leader(0).await;
    let raft = c.nodes[&leader].raft(0).unwrap();
    let mut last = 0;
    for i in 1..=20u64 {
        let r = raft
            .client_write(Batch { commands: vec![i] })
            .await
            .unwrap();
        last = r.log_id.index;
    }
    c.applied(0, last).await;
    for (id, node) in &c.nodes {
        let g = node.router().group(0).unwrap();
        let req = ClientRequest::Read {
            query: Query::Sum,
            consistency: ReadConsistency::Local,
        };
        match node.router().client(&g, req).await.unwrap() {
            ClientReply::Read(QueryReply::Sum(s)) => assert_eq!(s, 210, "node {id}"),
            other => panic!("{other:?}"),
        }
    }
    c.shutdown().await;
}
