//! A 3-node group on loopback replicates committed writes to every replica.

mod common;

use common::TestCluster;
use shard_node::command::{Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::protocol::{ClientReply, ClientRequest, ReadConsistency};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate() {
    let c = TestCluster::start(3, 3, Layout { groups: 1, partitions: 4 }, RaftTuning::fast()).await;
    let client = c.client().await;
    for i in 1..=20u64 {
        client.submit(0, i).await.unwrap();
    }
    let last = c.status(c.leader(0).await, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    for (id, node) in &c.nodes {
        let g = node.router().group(0).unwrap();
        let req = ClientRequest::Read { query: Query::All, consistency: ReadConsistency::Local };
        match node.router().client(&g, req).await.unwrap() {
            ClientReply::Read(QueryReply::All(v)) => assert_eq!(v, (1..=20).collect::<Vec<_>>(), "node {id}"),
            other => panic!("{other:?}"),
        }
    }
    c.shutdown().await;
}
