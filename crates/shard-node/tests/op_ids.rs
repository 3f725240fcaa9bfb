//! Exactly-once writes under retries through the replicated path: op ids age by the time the
//! leader stamps into each batch, every replica keeps, refuses and forgets the same ids, a retry
//! after a leader failover returns the original outcome, and so does one reaching a replica whose
//! op-id memory came from a streamed snapshot (installed from the leader, or restored on restart).

mod common;

use std::time::Duration;

use common::{eventually, TestCluster, BOARD};
use leaderboard_core::{BoardConfig, BoardId, OpId, OpIdPolicy, Write, WriteOp};
use shard_node::command::{Batch, BatchReply, Command, CommandOutcome};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::state_machine::AppState;

fn incr(member: &str, id: u128) -> Command {
    Command::Write {
        board: BoardId::new(BOARD),
        write: Write::new(member, 10, 0).op(WriteOp::Incr).op_id(OpId(id)),
    }
}

/// Applies `batch` on the leader (full outcomes) and on a replica (fast path), checks that they
/// agree, and returns the leader's reply.
fn both(leader: &mut AppState, replica: &mut AppState, batch: Batch) -> BatchReply {
    let a = leader.apply_as(&batch, true);
    let b = replica.apply_as(&batch, false);
    for (x, y) in a.results.iter().zip(&b.results) {
        match (x, y) {
            (Ok(CommandOutcome::Written(o)), Ok(CommandOutcome::Replicated(applied))) => {
                assert_eq!(o.applied, *applied)
            }
            (Ok(x), Ok(y)) => assert_eq!(x, y),
            (Err(x), Err(y)) => assert_eq!(x, y),
            other => panic!("leader and replica differ: {other:?}"),
        }
    }
    a
}

fn score(app: &AppState, member: &str) -> Option<i64> {
    app.boards()
        .get(BOARD)
        .and_then(|b| b.entry(member))
        .map(|r| r.entry.score)
}

/// Time comes only from the batches' stamps: the leader (full outcomes) and a replica (fast
/// path) given the same stamped batches remember, refuse and forget the same op ids.
#[test]
fn replicas_age_op_ids_by_the_leaders_stamps() {
    let cfg = BoardConfig::new().partitions(1).op_ids(
        OpIdPolicy::new()
            .horizon_ms(60_000)
            // Room for two remembered ids of these short member ids (~155 bytes each), not three.
            .max_bytes(400),
    );
    let create = Batch::new(vec![Command::CreateBoard {
        board: BoardId::new(BOARD),
        config: cfg,
    }]);
    let mut leader = AppState::new(0, Layout::new(1));
    let mut replica = AppState::new(0, Layout::new(1));
    let t0 = 1_700_000_000_000;
    both(&mut leader, &mut replica, create.proposed_at(t0));
    let a = both(
        &mut leader,
        &mut replica,
        Batch::new(vec![incr("alice", 1), incr("bob", 2)]).proposed_at(t0),
    );
    assert!(a.results.iter().all(|r| r.is_ok()));
    // A retry 13 s later (client retries plus one RPC timeout) is answered from memory.
    let a = both(
        &mut leader,
        &mut replica,
        Batch::new(vec![incr("alice", 1)]).proposed_at(t0 + 13_000),
    );
    match &a.results[0] {
        Ok(CommandOutcome::Written(o)) => assert!(!o.applied && o.new.entry.score == 10),
        other => panic!("{other:?}"),
    }
    // The memory holds two ids and has room for no third: a new op id is refused, typed and
    // retryable, and nothing is applied.
    let a = both(
        &mut leader,
        &mut replica,
        Batch::new(vec![incr("carol", 3)]).proposed_at(t0 + 20_000),
    );
    let err = a.results[0].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            shard_node::Error::Leaderboard(leaderboard_core::Error::OpIdMemoryFull { .. })
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(score(&leader, "carol"), None);
    assert_eq!(score(&replica, "carol"), None);
    // An unstamped batch (format 1 in the log) does not move the clock.
    both(
        &mut leader,
        &mut replica,
        Batch::new(vec![Command::Write {
            board: BoardId::new(BOARD),
            write: Write::new("dave", 1, i64::MAX),
        }]),
    );
    let a = both(
        &mut leader,
        &mut replica,
        Batch::new(vec![incr("alice", 1)]).proposed_at(t0 + 60_000),
    );
    assert!(matches!(&a.results[0], Ok(CommandOutcome::Written(o)) if !o.applied));
    // Past the horizon by the leader's stamps, the ids are forgotten and carol fits.
    let a = both(
        &mut leader,
        &mut replica,
        Batch::new(vec![incr("carol", 3)]).proposed_at(t0 + 60_001),
    );
    assert!(matches!(&a.results[0], Ok(CommandOutcome::Written(o)) if o.applied));
    for app in [&leader, &replica] {
        assert_eq!(score(app, "alice"), Some(10));
        assert_eq!(score(app, "carol"), Some(10));
        let s = app.op_id_stats();
        assert_eq!((s.entries, s.refused, s.expired), (1, 1, 2));
    }
    assert_eq!(leader.op_id_stats(), replica.op_id_stats());
}

/// An `incr` is committed, then its partition takes 20,000 other op-id writes (more than the
/// old first-in-first-out memory held), the leader dies, and the client's retry reaches the new
/// leader: it returns the original outcome and the score is not doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_after_leader_failover_returns_the_original_outcome() {
    let mut c = TestCluster::start(3, 3, Layout::new(1), RaftTuning::fast()).await;
    let client = c.client().await;
    // One partition: every write shares the retried write's op-id memory, and partition-local
    // ranks (which a replica remembers) are the board's ranks.
    client
        .create_board(BOARD, BoardConfig::new().partitions(1))
        .await
        .unwrap();
    client.write(BOARD, Write::new("bob", 50, 0)).await.unwrap();
    let retried = Write::new("alice", 30, 0)
        .op(WriteOp::Incr)
        .op_id(OpId::hashed("session-1/question-7/alice"));
    let first = client.write(BOARD, retried.clone()).await.unwrap();
    assert!(first.applied);
    assert_eq!((first.new.entry.score, first.new.rank), (30, 2));
    for chunk in 0..20u64 {
        let writes = (0..1_000u64)
            .map(|i| {
                let n = chunk * 1_000 + i;
                Write::new(format!("m{n}"), 1, 0)
                    .op(WriteOp::Incr)
                    .op_id(OpId(u128::from(n) + 1))
            })
            .collect();
        for r in client.write_batch(BOARD, writes).await {
            r.unwrap();
        }
    }
    let old = c.leader(0).await;
    let last = c.status(old, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    c.stop(old).await;
    let new = c.leader(0).await;
    assert_ne!(new, old);
    let retry = client.write(BOARD, retried).await.unwrap();
    assert!(!retry.applied, "the retry was applied again: {retry:?}");
    // The first outcome, answered again from memory.
    let mut again = retry;
    again.applied = true;
    assert_eq!(again, first);
    let alice = client.entry(BOARD, "alice").await.unwrap().unwrap();
    assert_eq!(alice.entry.score, 30);
    c.shutdown().await;
}

/// Builds a snapshot on node `id` and waits until it covers `index` and the log behind it is
/// purged (so that the state after a restart or an install can only come from the file).
async fn snapshot_on(c: &TestCluster, id: u64, index: u64) {
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

/// An `incr` commits while one follower is down; the leader snapshots and purges its log, so
/// that follower gets the write only inside the leader's streamed snapshot (installed chunk by
/// chunk) and then restarts from that file; the other follower snapshots, purges and restarts
/// from its own file. Then the leader dies and the client's retry reaches one of the two: it is
/// answered from memory with the first outcome, and the score is not doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_snapshot_install_and_restart_applies_once() {
    let tuning = RaftTuning {
        // Snapshots only when the test asks; the log behind one is purged at once. Small records
        // and chunks, so the op-id memory spans many of them.
        snapshot_logs: 1_000_000,
        keep_logs: 0,
        snapshot_record_bytes: 4 << 10,
        snapshot_chunk_bytes: 16 << 10,
        ..RaftTuning::fast()
    };
    let mut c = TestCluster::start(3, 3, Layout::new(1), tuning).await;
    let client = c.client().await;
    client
        .create_board(BOARD, BoardConfig::new().partitions(1))
        .await
        .unwrap();
    client.write(BOARD, Write::new("bob", 50, 0)).await.unwrap();
    let leader = c.leader(0).await;
    let followers: Vec<u64> = c.nodes.keys().copied().filter(|&id| id != leader).collect();
    let (installer, restarter) = (followers[0], followers[1]);
    c.stop(installer).await;

    let retried = Write::new("alice", 30, 0)
        .op(WriteOp::Incr)
        .op_id(OpId::hashed("session-9/question-2/alice"));
    let first = client.write(BOARD, retried.clone()).await.unwrap();
    assert!(first.applied);
    for chunk in 0..3u64 {
        let writes = (0..1_000u64)
            .map(|i| {
                let n = chunk * 1_000 + i;
                Write::new(format!("m{n}"), 1, 0)
                    .op(WriteOp::Incr)
                    .op_id(OpId(u128::from(n) + 1))
            })
            .collect();
        for r in client.write_batch(BOARD, writes).await {
            r.unwrap();
        }
    }
    let last = c.status(leader, 0).await.last_applied.unwrap();
    snapshot_on(&c, leader, last).await;

    // The follower that was down installs the leader's snapshot, then restarts from it.
    c.restart(installer).await;
    eventually(
        "the follower installs the leader's snapshot",
        Duration::from_secs(60),
        || async { (c.status(installer, 0).await.snapshot >= Some(last)).then_some(()) },
    )
    .await;
    c.applied(0, last).await;
    c.stop(installer).await;
    c.restart(installer).await;
    // The other one restarts from a snapshot of its own.
    let at = c.status(restarter, 0).await.last_applied.unwrap();
    snapshot_on(&c, restarter, at).await;
    c.stop(restarter).await;
    c.restart(restarter).await;
    c.applied(0, last).await;

    // Every replica holds the same op-id memory (the leader's outcomes carry board-wide ranks,
    // the others' partition-local ones, which encode to the same size).
    let held = |id: u64| {
        let s = c.nodes[&id].router().group(0).unwrap().sm.op_id_stats();
        (s.entries, s.bytes)
    };
    assert_eq!(held(leader).0, 3_001);
    assert_eq!(held(installer), held(leader));
    assert_eq!(held(restarter), held(leader));

    c.stop(leader).await;
    let new = c.leader(0).await;
    assert!(new == installer || new == restarter, "leader {new}");
    let retry = client.write(BOARD, retried).await.unwrap();
    assert!(!retry.applied, "the retry was applied again: {retry:?}");
    // The first outcome, answered again from memory.
    let mut again = retry;
    again.applied = true;
    assert_eq!(again, first);
    let alice = client.entry(BOARD, "alice").await.unwrap().unwrap();
    assert_eq!(alice.entry.score, 30);
    c.shutdown().await;
}
