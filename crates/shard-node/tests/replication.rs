//! A 3-node group on loopback replicates committed writes to every replica, and board-wide
//! reads through the client merge every group's answer.

mod common;

use common::{create_board, names, put, TestCluster, BOARD};
use leaderboard_core::{BoardConfig, Cursor, RankStyle, Write, WriteOp};
use shard_node::client::ReadOptions;
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;

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

/// Two groups of three replicas on the same three nodes: writes are routed to the member's
/// group, reads fan out and merge to exactly what one in-process board would answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_answer_like_one_board() {
    let c = TestCluster::start(3, 3, Layout::new(2), RaftTuning::fast()).await;
    let client = c.client().await;
    let cfg = BoardConfig {
        partitions: 8,
        default_op: WriteOp::Incr,
        ..BoardConfig::default()
    };
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
    let comp = BoardConfig {
        partitions: 5,
        rank_style: RankStyle::Competition,
        ..BoardConfig::default()
    };
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
