//! Large snapshots stream in bounded pieces: a node restarts from its snapshot file and a new
//! node installs the leader's snapshot, with the record and chunk sizes lowered by configuration
//! (4 KiB records, 16 KiB chunks) so that 50,000 members span hundreds of records and chunks.
//! Both end with the leader's state, op-id memory included.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{create_board, eventually, TestCluster, BOARD};
use leaderboard_core::{BoardId, Entry, OpId, Window, Write};
use shard_node::command::{Query, QueryReply};
use shard_node::layout::Layout;
use shard_node::log_store::record::HEADER;
use shard_node::node::RaftTuning;
use shard_node::protocol::{ClientReply, ClientRequest, ReadConsistency};
use shard_node::state_machine::snapfile::{self, Item};
use shard_node::types::NodeId;

const L: Layout = Layout { groups: 1 };
const MEMBERS: u64 = 50_000;
const RECORD: u64 = 4 << 10;
const CHUNK: u64 = 16 << 10;

fn tuning() -> RaftTuning {
    RaftTuning {
        // Snapshots only when the test asks; the log behind one is purged at once.
        snapshot_logs: 1_000_000,
        keep_logs: 0,
        snapshot_chunk_bytes: CHUNK,
        snapshot_record_bytes: RECORD,
        ..RaftTuning::fast()
    }
}

/// Writes `MEMBERS` members with op ids, 1,000 per call.
async fn fill(c: &TestCluster) {
    let client = c.client().await;
    create_board(&client).await;
    for chunk in 0..MEMBERS / 1000 {
        let writes = (chunk * 1000..(chunk + 1) * 1000)
            .map(|v| {
                Write::new(format!("member-{v}"), (v * 7919 % 100_003) as i64, v as i64)
                    .op_id(OpId(u128::from(v)))
            })
            .collect();
        for r in client.write_batch(BOARD, writes).await {
            r.expect("write");
        }
    }
}

/// Every entry node `id` holds, in rank order (local read).
async fn entries(c: &TestCluster, id: NodeId) -> Vec<Entry> {
    let node = &c.nodes[&id];
    let group = node.router().group(0).unwrap();
    let req = ClientRequest::Read {
        query: Query::After {
            board: BoardId::new(BOARD),
            after: None,
            n: 100_000,
            window: Window::Current,
        },
        consistency: ReadConsistency::Local,
    };
    match node.router().client(&group, req).await {
        Ok(ClientReply::Read(QueryReply::After { entries, .. })) => entries,
        other => panic!("node {id}: unexpected {other:?}"),
    }
}

fn snapshot_path(c: &TestCluster, id: NodeId) -> PathBuf {
    c.data_dir(id)
        .join("group-0")
        .join("sm")
        .join(snapfile::FILE)
}

/// The snapshot file's header and board records; checks that no record is larger than the
/// configured record size plus one entry.
fn read_snapshot(path: &PathBuf) -> (snapfile::Header, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap();
    let mut pos = 0;
    let mut records = 0;
    while pos < bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        assert!(
            len <= RECORD as usize + 256,
            "a record of {len} bytes in a file of {} bytes with {RECORD}-byte records",
            bytes.len()
        );
        pos += HEADER + len;
        records += 1;
    }
    assert!(
        records > 100,
        "{records} records for {MEMBERS} members: the state is split"
    );
    let (mut reader, header) = snapfile::Reader::open(&bytes[..]).unwrap();
    let mut boards = Vec::new();
    loop {
        match reader.next_item().unwrap() {
            Item::BoardChunk(c) => boards.push(c.to_vec()),
            Item::End { boards: n } => {
                assert_eq!(n, 1);
                break;
            }
        }
    }
    (header, boards)
}

/// Builds a snapshot on node `id` and waits until it covers `index` and the log behind it is
/// purged.
async fn snapshot_on(c: &TestCluster, id: NodeId, index: u64) {
    c.nodes[&id]
        .raft(0)
        .unwrap()
        .trigger()
        .snapshot()
        .await
        .unwrap();
    eventually(
        &format!("node {id} snapshot at {index}, log purged"),
        Duration::from_secs(60),
        || async {
            let s = c.status(id, 0).await;
            (s.snapshot >= Some(index) && s.purged >= Some(index)).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_restores_a_large_state_from_its_record_stream_snapshot() {
    let mut c = TestCluster::start(3, 3, L, tuning()).await;
    fill(&c).await;
    let leader = c.leader(0).await;
    let last = c.status(leader, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    let want = entries(&c, leader).await;
    assert_eq!(want.len() as u64, MEMBERS);

    let f = *c.nodes.keys().find(|id| **id != leader).unwrap();
    snapshot_on(&c, f, last).await;
    let (header, boards) = read_snapshot(&snapshot_path(&c, f));
    assert!(header.meta.last_log_id.unwrap().index >= last);

    c.stop(f).await;
    c.restart(f).await;
    // Its log was purged up to the snapshot before it stopped, so the state can only come from
    // the file (read before Raft starts).
    assert_eq!(entries(&c, f).await, want);

    // Rebuilt from the restored state, the boards serialize exactly as they were written: entries,
    // windows and op-id memory survived the round trip.
    let after = c.status(f, 0).await.last_applied.unwrap();
    snapshot_on(&c, f, after).await;
    let (_, again) = read_snapshot(&snapshot_path(&c, f));
    assert!(again == boards, "restored state differs from the snapshot");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_node_installs_the_leaders_snapshot_streamed_in_small_chunks() {
    let c = TestCluster::start(4, 3, L, tuning()).await;
    fill(&c).await;
    let leader = c.leader(0).await;
    let last = c.status(leader, 0).await.last_applied.unwrap();
    snapshot_on(&c, leader, last).await;
    let (leader_header, leader_boards) = read_snapshot(&snapshot_path(&c, leader));
    let len = std::fs::metadata(snapshot_path(&c, leader)).unwrap().len();
    assert!(
        len > 20 * CHUNK,
        "the snapshot ({len} bytes) takes many {CHUNK}-byte chunks"
    );

    // Node 4 joins: the leader's log starts after the snapshot, so it must install it.
    let client = c.client().await;
    client.add_node(0, 4, c.info(4)).await.unwrap();
    eventually(
        "node 4 installs a snapshot",
        Duration::from_secs(60),
        || async { c.status(4, 0).await.snapshot.is_some().then_some(()) },
    )
    .await;
    let (header, boards) = read_snapshot(&snapshot_path(&c, 4));
    assert_eq!(header, leader_header);
    assert!(boards == leader_boards);
    let want = entries(&c, leader).await;
    assert_eq!(want.len() as u64, MEMBERS);
    assert_eq!(entries(&c, 4).await, want);

    // What node 4 restored serializes back to exactly what it received.
    let at = c.status(4, 0).await.last_applied.unwrap();
    snapshot_on(&c, 4, at).await;
    let (_, rebuilt) = read_snapshot(&snapshot_path(&c, 4));
    assert!(
        rebuilt == leader_boards,
        "installed state differs from the snapshot"
    );
    c.shutdown().await;
}
