//! A 3-node group on loopback replicates committed writes to every replica, and board-wide
//! reads through the client merge every group's answer.

mod common;

use std::time::Duration;

use common::{create_board, eventually, names, put, TestCluster, BOARD};
use leaderboard_core::{BoardConfig, BoardId, Cursor, OpId, RankStyle, Write, WriteOp};
use shard_node::client::{ReadOptions, ShardClient};
use shard_node::command::{Batch, Command};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::protocol::ClientRequest;
use shard_node::transport::frame::max_entry_bytes;
use shard_node::types::NodeId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate() {
    let c = TestCluster::start(3, 3, Layout::new(1), RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 1..=20u64 {
        put(&client, i).await.unwrap();
    }
    let last = c.status(c.leader(0).await, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    for id in c.nodes.keys() {
        assert_eq!(c.members(*id, 0).await, names(1..=20), "node {id}");
    }
    c.shutdown().await;
}

/// Several clients write at once, so the leader merges their batches into shared entries
/// (one entry in flight at a time here): each write still gets its own outcome, a retried op id
/// is answered from memory, and every replica ends up with the same members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_merged_into_shared_entries_answer_each_write() {
    let tuning = RaftTuning {
        proposals_in_flight: 1,
        ..RaftTuning::fast()
    };
    let c = TestCluster::start(3, 3, Layout::new(1), tuning).await;
    let first = c.client().await;
    create_board(&first).await;
    let mut clients = vec![first];
    for _ in 0..3 {
        clients.push(c.client().await);
    }
    let writes = |k: u64| -> Vec<Write> {
        (0..50u64)
            .map(|i| {
                let v = k * 1000 + i;
                Write::new(format!("m{v}"), v as i64, 0)
                    .op(WriteOp::Incr)
                    .op_id(OpId(u128::from(v)))
            })
            .collect()
    };
    for round in 0..2 {
        let all = futures::future::join_all(
            clients
                .iter()
                .zip(0u64..)
                .map(|(client, k)| async move { (k, client.write_batch(BOARD, writes(k)).await) }),
        )
        .await;
        for (k, results) in all {
            for (w, r) in writes(k).into_iter().zip(results) {
                let o = r.unwrap();
                assert_eq!(o.new.entry.member, w.member);
                // Incr of v onto nothing: the score is v, even if a slow request was retried
                // (its op id answers the retry from memory) ...
                assert_eq!(o.new.entry.score, w.score, "{} in round {round}", w.member);
                // ... and the second round is all repeats.
                if round == 1 {
                    assert!(!o.applied, "{} applied again", w.member);
                }
            }
        }
    }
    // Every proposed entry carried at least one request (a node that was not the leader also
    // counts the entries it tried to propose).
    let (mut requests, mut entries) = (0, 0);
    for n in c.nodes.values() {
        for g in n.router().groups() {
            let stats = g.proposer.stats();
            requests += stats.requests.load(std::sync::atomic::Ordering::Relaxed);
            entries += stats.entries.load(std::sync::atomic::Ordering::Relaxed);
        }
    }
    assert!(
        entries >= 1 && entries <= requests,
        "{entries} entries for {requests} requests"
    );
    let last = c.status(c.leader(0).await, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    let expected = names((0..4).flat_map(|k| (0..50).map(move |i| k * 1000 + i)));
    for id in c.nodes.keys() {
        assert_eq!(c.members(*id, 0).await, expected, "node {id}");
    }
    c.shutdown().await;
}

/// Writes whose caller wants no outcome (`apply`, the gateway's mirror) commit and replicate
/// like writes, mixed with ranked writes in the same entries, two groups: each answer says
/// whether it applied, a retried op id is answered from memory (as `apply` and as `write`),
/// and the board reads back the same scores on every replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_without_outcome_replicate_and_answer_retries() {
    let c = TestCluster::start(3, 3, Layout::new(2), RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    let incr = |v: u64| {
        Write::new(format!("m{v}"), v as i64, 0)
            .op(WriteOp::Incr)
            .op_id(OpId(u128::from(v)))
    };
    let (unranked, ranked) = futures::future::join(
        client.apply_batch(BOARD, (0..40).map(incr).collect()),
        client.write_batch(BOARD, (40..60).map(incr).collect()),
    )
    .await;
    assert!(unranked.into_iter().all(|r| r.unwrap()));
    assert!(ranked.into_iter().all(|r| r.unwrap().applied));
    // Retries: as `apply`, and as `write` (answered from memory with the entry, not applied).
    assert!(!client.apply(BOARD, incr(3)).await.unwrap());
    let retry = client.write(BOARD, incr(5)).await.unwrap();
    assert!(!retry.applied);
    assert_eq!(retry.new.entry.score, 5);
    assert!(!client.apply(BOARD, incr(45)).await.unwrap());
    // Bad input is refused as for a write and changes nothing.
    assert!(client.apply(BOARD, Write::new("", 1, 0)).await.is_err());
    for v in [0u64, 3, 39, 45] {
        let e = client
            .entry(BOARD, &format!("m{v}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.entry.score, v as i64, "m{v}");
    }
    assert_eq!(client.count(BOARD).await.unwrap(), 60);
    for g in 0..2 {
        let last = c.status(c.leader(g).await, g).await.last_applied.unwrap();
        c.applied(g, last).await;
        let leader = c.leader(g).await;
        for id in c.nodes.keys() {
            assert_eq!(
                c.members(*id, g).await,
                c.members(leader, g).await,
                "group {g} node {id}"
            );
        }
    }
    c.shutdown().await;
}

/// Two groups of three replicas on the same three nodes: writes are routed to the member's
/// group, reads fan out and merge to exactly what one in-process board would answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_answer_like_one_board() {
    let c = TestCluster::start(3, 3, Layout::new(2), RaftTuning::fast()).await;
    let client = c.client().await;
    let cfg = BoardConfig::new().partitions(8).default_op(WriteOp::Incr);
    client.create_board(BOARD, cfg.clone()).await.unwrap();
    // Creating again with the same config is fine; with another config it is a conflict.
    client.create_board(BOARD, cfg.clone()).await.unwrap();
    let err = client
        .create_board(BOARD, BoardConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, shard_node::Error::Leaderboard(e) if e.is_conflict()),
        "{err:?}"
    );

    let local = leaderboard_core::Board::new(BOARD, cfg).unwrap();
    let mut writes = Vec::new();
    for i in 0..200i64 {
        // Ties on purpose (score i % 37) so competition ranks are exercised.
        writes.push(Write::new(format!("p{i}"), i % 37, i));
    }
    for w in &writes {
        local.write(w.clone()).unwrap();
    }
    let out = client.write_batch(BOARD, writes).await;
    assert!(out.iter().all(|r| r.is_ok()));
    let bump = client
        .write(BOARD, Write::new("p5", 100, 1_000))
        .await
        .unwrap();
    local.write(Write::new("p5", 100, 1_000)).unwrap();
    assert_eq!(bump.new.entry.score, 105);

    assert_eq!(client.count(BOARD).await.unwrap(), 200);
    assert_eq!(client.top(BOARD, 10).await.unwrap(), local.top(10));
    assert_eq!(
        client.entry(BOARD, "p17").await.unwrap(),
        local.entry("p17")
    );
    for style in [RankStyle::Ordinal, RankStyle::Competition] {
        assert_eq!(
            client.rank(BOARD, "p40", style).await.unwrap(),
            local.rank("p40", style)
        );
    }
    assert_eq!(
        client.around(BOARD, "p40", 3, 4).await.unwrap(),
        local.around("p40", 3, 4)
    );
    assert_eq!(
        client.page(BOARD, 20, 15).await.unwrap(),
        local.page(20, 15)
    );
    let mut cursor: Option<Cursor> = None;
    let mut seen = 0;
    loop {
        let mine = client.page_after(BOARD, cursor.as_ref(), 30).await.unwrap();
        let theirs = local.page_after(cursor.as_ref(), 30);
        assert_eq!(mine, theirs, "page after {cursor:?}");
        seen += mine.entries.len();
        match mine.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, 200);
    // Competition ranks (ties share a rank) merge the same way.
    let comp = BoardConfig::new()
        .partitions(5)
        .rank_style(RankStyle::Competition);
    client.create_board("comp", comp.clone()).await.unwrap();
    let local_comp = leaderboard_core::Board::new("comp", comp).unwrap();
    let writes: Vec<Write> = (0..60i64)
        .map(|i| Write::new(format!("c{i}"), i % 7, i))
        .collect();
    for w in &writes {
        local_comp.write(w.clone()).unwrap();
    }
    assert!(client
        .write_batch("comp", writes)
        .await
        .iter()
        .all(|r| r.is_ok()));
    assert_eq!(client.top("comp", 12).await.unwrap(), local_comp.top(12));
    assert_eq!(
        client.page("comp", 9, 11).await.unwrap(),
        local_comp.page(9, 11)
    );
    assert_eq!(
        client.around("comp", "c20", 4, 4).await.unwrap(),
        local_comp.around("c20", 4, 4)
    );
    let p1 = client.page_after("comp", None, 13).await.unwrap();
    assert_eq!(p1, local_comp.page_after(None, 13));
    assert_eq!(
        client
            .page_after("comp", p1.next_cursor.as_ref(), 13)
            .await
            .unwrap(),
        local_comp.page_after(p1.next_cursor.as_ref(), 13)
    );

    // Follower reads see the same once replicas caught up.
    let follower = client
        .count_with(BOARD, ReadOptions::follower())
        .await
        .unwrap();
    assert!(follower <= 200);
    assert_eq!(client.entry(BOARD, "nobody").await.unwrap(), None);
    let removed = client.remove(BOARD, "p5").await.unwrap().unwrap();
    assert_eq!(removed.removed.entry.member, "p5");
    assert_eq!(client.count(BOARD).await.unwrap(), 199);
    // Bad input is a typed error that changes nothing.
    let err = client.write(BOARD, Write::new("", 1, 0)).await.unwrap_err();
    assert!(
        matches!(&err, shard_node::Error::Leaderboard(e) if e.is_invalid_input()),
        "{err:?}"
    );
    let err = client.top("no-such-board", 3).await.unwrap_err();
    assert!(
        matches!(&err, shard_node::Error::Leaderboard(e) if e.is_not_found()),
        "{err:?}"
    );
    c.shutdown().await;
}

/// A frame cap small enough that a modest backlog needs many AppendEntries frames.
const SMALL_FRAME: usize = 512 << 10;

/// Snapshots that never kick in, so a lagging follower can only be caught up by sending it the
/// log. The heartbeat is slower than [`RaftTuning::fast`]: openraft gives an AppendEntries one
/// heartbeat interval, and one entry of a hundred kilobytes can take longer than 50 ms to send
/// and store in a debug build on a busy two-core machine.
fn no_snapshots() -> RaftTuning {
    RaftTuning {
        heartbeat_ms: 200,
        election_min_ms: 1_000,
        election_max_ms: 2_000,
        snapshot_logs: 1_000_000,
        ..RaftTuning::fast()
    }
}

/// Creates [`BOARD`] with room for 1 KiB of metadata per member.
async fn create_big_board(client: &ShardClient) {
    let cfg = BoardConfig::new().max_metadata_bytes(1024);
    client.create_board(BOARD, cfg).await.unwrap();
}

/// Writes members `m{from}..m{to}` carrying 1 KiB of metadata each, through the client's
/// batcher (batches of up to 1,024 writes, cut by bytes under the frame cap).
async fn write_large(client: &ShardClient, from: u64, to: u64) {
    let ids: Vec<u64> = (from..to).collect();
    for chunk in ids.chunks(1000) {
        let writes = chunk
            .iter()
            .map(|v| {
                Write::new(format!("m{v}"), *v as i64, 0)
                    .op_id(OpId(u128::from(*v)))
                    .metadata(vec![b'x'; 1000])
            })
            .collect();
        for r in client.write_batch(BOARD, writes).await {
            r.unwrap();
        }
    }
}

/// Cuts `node` off from every other node, in both directions.
fn isolate(c: &TestCluster, node: NodeId) {
    for id in c.nodes.keys().filter(|id| **id != node) {
        c.nodes[id].faults().block(node);
        c.nodes[&node].faults().block(*id);
    }
}

/// Waits (a liveness bound, not a speed target) until `node` has applied `index`, then checks
/// that it got there by the log: no snapshot was built or installed on it.
async fn caught_up_by_log(c: &TestCluster, node: NodeId, index: u64) {
    eventually(
        &format!("node {node} to apply {index}"),
        Duration::from_secs(120),
        || async { (c.status(node, 0).await.last_applied >= Some(index)).then_some(()) },
    )
    .await;
    let st = c.status(node, 0).await;
    assert_eq!(st.snapshot, None, "caught up by appends: {st:?}");
}

/// A follower cut off while the others commit a backlog far larger than one frame (hundreds of
/// kilobytes per entry, up to 512 entries per AppendEntries) catches up once the link heals:
/// the oversized AppendEntries is reported to openraft as `PayloadTooLarge` and split, not
/// retried unchanged forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_catches_up_after_large_backlog() {
    let c =
        TestCluster::start_with_max_frame(3, 3, Layout::new(1), no_snapshots(), SMALL_FRAME).await;
    // One batch in flight: the follower that stays connected is sent each entry on its own, so
    // the writes commit whatever becomes of oversized AppendEntries; only the cut-off follower
    // is sent a backlog.
    let mut cfg = c.client_config();
    cfg.max_inflight = 1;
    let client = ShardClient::connect(cfg).await.unwrap();
    create_big_board(&client).await;
    let leader = c.leader(0).await;
    let lagging = (1..=3).find(|id| *id != leader).unwrap();
    isolate(&c, lagging);

    write_large(&client, 0, 8_000).await;
    // Applied on the leader (which the isolated node cannot have disturbed), so committed.
    let last = c.status(leader, 0).await.last_applied.unwrap();
    let behind = last - c.status(lagging, 0).await.last_applied.unwrap_or(0);
    assert!(behind >= 8, "a backlog of many entries: {behind}");

    for node in c.nodes.values() {
        node.faults().heal();
    }
    caught_up_by_log(&c, lagging, last).await;
    assert_eq!(c.members(lagging, 0).await, names(0..8_000));
    c.shutdown().await;
}

/// The same with a follower whose own frame cap is lower than the leader's: the leader's
/// AppendEntries fit its cap but the follower refuses them, and that refusal splits them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_with_a_smaller_frame_cap_catches_up() {
    let mut c =
        TestCluster::start_with_max_frame(3, 3, Layout::new(1), no_snapshots(), SMALL_FRAME).await;
    let client = c.client().await;
    create_big_board(&client).await;
    let leader = c.leader(0).await;
    let lagging = (1..=3).find(|id| *id != leader).unwrap();
    c.stop(lagging).await;

    write_large(&client, 0, 6_000).await;
    let last = c.status(c.leader(0).await, 0).await.last_applied.unwrap();
    c.max_frame = SMALL_FRAME / 2;
    c.restart(lagging).await;
    caught_up_by_log(&c, lagging, last).await;
    assert_eq!(c.members(lagging, 0).await, names(0..6_000));
    let refused = c.nodes[&lagging]
        .router()
        .metrics()
        .bad_frames
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(refused > 0, "the follower refused oversized frames");
    c.shutdown().await;
}

/// A node refuses a write batch that would make a log entry too large for one frame (a
/// follower could never be sent it); the client cuts its batches by bytes so that many large
/// writes still commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_batches_are_refused_and_clients_cut_batches_by_bytes() {
    let c =
        TestCluster::start_with_max_frame(3, 3, Layout::new(1), no_snapshots(), SMALL_FRAME).await;
    let client = c.client().await;
    create_big_board(&client).await;
    let leader = c.leader(0).await;
    let node = &c.nodes[&leader];
    let group = node.router().group(0).unwrap();
    let write = |v: u64| Command::Write {
        board: BoardId::new(BOARD),
        write: Write::new(format!("big{v}"), 1, 0).metadata(vec![b'y'; 1000]),
    };
    let n = max_entry_bytes(SMALL_FRAME) / 1000 + 1;
    let batch = Batch::new((0..n as u64).map(write).collect());
    let err = node
        .router()
        .client(&group, ClientRequest::Write(batch))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, shard_node::Error::Rejected(m) if m.contains("bytes")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(client.count(BOARD).await.unwrap(), 0, "nothing applied");

    // A thousand 1 KiB writes queued at once would be one batch of a megabyte without the
    // byte budget.
    write_large(&client, 0, 3_000).await;
    assert_eq!(client.count(BOARD).await.unwrap(), 3_000);
    c.shutdown().await;
}
