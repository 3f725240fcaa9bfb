//! Exactly-once writes under retries: op ids are remembered for a time
//! horizon, bounded in bytes with an explicit refusal, and survive window
//! rolls and snapshots. Time is injected through the times the writes are
//! told (`at`, or the `now_ms` of the `_at` methods), never slept.

use leaderboard_core::{
    Board, BoardConfig, BoardLoader, Error, OpId, OpIdPolicy, ResetSchedule, Window, Write, WriteOp,
};

/// An `incr` of `delta` for `member` with op id `id`.
fn incr(member: &str, delta: i64, at: i64, id: u128) -> Write {
    Write::new(member, delta, at)
        .op(WriteOp::Incr)
        .op_id(OpId(id))
}

fn score(b: &Board, member: &str) -> Option<i64> {
    b.entry(member).map(|r| r.entry.score)
}

/// A copy of `b` written as a chunk stream of small chunks and loaded back
/// (what a shard node's snapshot file holds).
fn streamed(b: &Board) -> Board {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    b.snapshot_chunks(300, |c| {
        chunks.push(c.to_vec());
        Ok::<_, ()>(())
    })
    .unwrap();
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let mut loader = BoardLoader::new();
    for c in &chunks {
        loader.push(c).unwrap();
    }
    loader.finish().unwrap()
}

/// A client retries an `incr` for ~13 s; meanwhile the partition takes
/// 20,000 other op-id writes (~50,000 writes/s spread over a few
/// partitions). The retry must be answered from memory, not applied again.
#[test]
fn retried_incr_after_20k_opid_writes_applies_once() {
    let b = Board::new("b", BoardConfig::new().partitions(1)).unwrap();
    let t0 = 1_700_000_000_000;
    let first = b.write(incr("alice", 10, t0, 1)).unwrap();
    assert!(first.applied);
    for i in 0..20_000i64 {
        let at = t0 + i / 2; // 20k writes within 10 s
        b.write(incr(&format!("m{i}"), 1, at, 1_000 + i as u128))
            .unwrap();
    }
    let retry = b.write(incr("alice", 10, t0, 1)).unwrap();
    assert!(!retry.applied, "the retry was applied a second time");
    assert_eq!(retry.new.entry, first.new.entry);
    assert_eq!(score(&b, "alice"), Some(10));
    // The same through the replica path (`apply`).
    assert!(!b.apply(incr("alice", 10, t0, 1)).unwrap());
    assert_eq!(score(&b, "alice"), Some(10));
}

/// Ids are kept for the whole horizon of the op-id clock and forgotten
/// after it; the clock is the largest time told, so a late (smaller) time
/// never ages anything.
#[test]
fn op_ids_expire_only_after_the_horizon() {
    let policy = OpIdPolicy::new().horizon_ms(60_000);
    let b = Board::new("b", BoardConfig::new().partitions(1).op_ids(policy)).unwrap();
    let t0 = 5_000_000;
    let w = incr("alice", 10, 0, 7);
    assert!(b.write_at(w.clone(), t0).unwrap().applied);
    // A retry at the edge of the horizon is still a duplicate.
    assert!(!b.write_at(w.clone(), t0 + 60_000).unwrap().applied);
    // A time from the past does not move the clock back or forward.
    b.write_at(Write::new("x", 1, 0), 0).unwrap();
    assert_eq!(b.op_id_stats().expired, 0);
    // Any write moving the clock past the horizon ages the id out.
    b.write_at(Write::new("x", 1, 0), t0 + 60_001).unwrap();
    let s = b.op_id_stats();
    assert_eq!((s.entries, s.expired), (0, 1));
    assert!(b.write_at(w, t0 + 60_001).unwrap().applied);
    assert_eq!(score(&b, "alice"), Some(20));
}

/// When the byte bound is reached and nothing is old enough to forget, a
/// new op-id write is refused with a typed, retryable error and changes
/// nothing; remembered ids are still answered, writes without op ids still
/// apply, and once time passes the horizon the refused write goes through.
#[test]
fn full_op_id_memory_refuses_new_ids_instead_of_forgetting() {
    // Measure one id's accounted size, then allow room for exactly four.
    let probe = Board::new("p", BoardConfig::default()).unwrap();
    probe.write_at(incr("m0", 1, 0, 1), 0).unwrap();
    let one = probe.op_id_stats().bytes;
    let b = Board::new(
        "b",
        BoardConfig::new()
            .partitions(1)
            .op_ids(OpIdPolicy::new().horizon_ms(1_000).max_bytes(4 * one)),
    )
    .unwrap();
    for i in 0..4 {
        b.write_at(incr(&format!("m{i}"), 1, 0, i), 10_000 + i as i64 * 100)
            .unwrap();
    }
    let refused = b.write_at(incr("m9", 5, 0, 9), 10_400).unwrap_err();
    match &refused {
        Error::OpIdMemoryFull {
            used_bytes,
            limit_bytes,
            retry_after_ms,
        } => {
            assert_eq!((*used_bytes, *limit_bytes), (4 * one, 4 * one));
            // The oldest id (remembered at 10,000) may go at 11,001.
            assert_eq!(*retry_after_ms, 601);
        }
        other => panic!("expected OpIdMemoryFull, got {other:?}"),
    }
    assert!(refused.is_retryable());
    assert!(!refused.is_invalid_input());
    assert_eq!(score(&b, "m9"), None, "a refused write applies nothing");
    // The replica path refuses the same way.
    assert!(matches!(
        b.apply_at(incr("m9", 5, 0, 9), 10_400),
        Err(Error::OpIdMemoryFull { .. })
    ));
    // A retry of a remembered id is still answered from memory.
    assert!(!b.write_at(incr("m0", 1, 0, 0), 10_400).unwrap().applied);
    // Writes without an op id are not affected.
    assert!(
        b.write_at(Write::new("plain", 1, 0), 10_400)
            .unwrap()
            .applied
    );
    let s = b.op_id_stats();
    assert_eq!(
        (s.entries, s.bytes, s.refused, s.expired),
        (4, 4 * one, 2, 0)
    );
    // Once the oldest id ages out there is room again.
    assert!(b.write_at(incr("m9", 5, 0, 9), 11_001).unwrap().applied);
    assert_eq!(score(&b, "m9"), Some(5));
    let s = b.op_id_stats();
    assert_eq!((s.entries, s.expired), (4, 1));
    assert!(s.bytes <= 4 * one);
}

/// A write retried after its window rolled to the previous one goes to the
/// same window (its `at` picks it) and is answered from that window's
/// memory; after a jump of several periods (the window is dropped) the
/// retry is refused as too late rather than applied to another window.
#[test]
fn retry_across_a_window_roll_applies_once() {
    let cfg = BoardConfig::new().reset(ResetSchedule::Every {
        period_ms: 10_000,
        origin_ms: 0,
    });
    let b = Board::new("b", cfg).unwrap();
    let w = incr("alice", 10, 5_000, 1);
    let first = b.write_at(w.clone(), 5_000).unwrap();
    // Another write rolls the board into the next window.
    b.write_at(Write::new("bob", 1, 15_000), 15_000).unwrap();
    let retry = b.write_at(w.clone(), 16_000).unwrap();
    assert!(!retry.applied);
    assert_eq!(retry.new, first.new);
    assert!(!b.apply_at(w.clone(), 16_000).unwrap());
    let previous = b.standings(Window::Previous).unwrap();
    assert_eq!(previous.entry("alice").unwrap().entry.score, 10);
    assert_eq!(score(&b, "alice"), None);
    // Two more periods: the window holding the write is gone.
    assert!(b.roll(35_000));
    assert!(matches!(
        b.write_at(w, 36_000),
        Err(Error::WindowExpired { .. })
    ));
}

/// Replicas are told the same times in the same order; the leader keeps
/// board-wide outcomes (`write_at`), the others partition-local ones
/// (`apply_at`). They remember, refuse and forget exactly the same ids.
#[test]
fn leader_and_replica_paths_remember_refuse_and_forget_alike() {
    let cfg = BoardConfig::new()
        .partitions(4)
        .op_ids(OpIdPolicy::new().horizon_ms(500).max_bytes(40 * 150));
    let leader = Board::new("b", cfg.clone()).unwrap();
    let replica = Board::new("b", cfg).unwrap();
    let mut outcomes = (0, 0);
    for i in 0..2_000u64 {
        let member = format!("player-{}", i % 97);
        let mut w = incr(&member, 1, 0, u128::from(i % 300));
        if i % 5 == 0 {
            w = w.metadata(vec![b'x'; (i % 13) as usize]);
        }
        let now = 1_000 + (i as i64) * 3;
        let a = leader.write_at(w.clone(), now).map(|o| o.applied);
        let b = replica.apply_at(w, now);
        assert_eq!(a, b, "write {i}");
        match a {
            Ok(_) => outcomes.0 += 1,
            Err(_) => outcomes.1 += 1,
        }
    }
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
    assert_eq!(leader.op_id_stats(), replica.op_id_stats());
    assert_eq!(leader.top(100), replica.top(100));
    // Replicas restored from the leader's snapshot, whole or streamed in
    // chunks, carry on identically (same ids kept, refused and forgotten).
    let restored = [
        Board::from_snapshot(&leader.snapshot()).unwrap(),
        streamed(&leader),
    ];
    let s = leader.op_id_stats();
    for r in &restored {
        let r = r.op_id_stats();
        assert_eq!((r.entries, r.bytes), (s.entries, s.bytes));
    }
    for i in 2_000..2_400u64 {
        let w = incr("late", 1, 0, u128::from(i % 350));
        let now = 1_000 + (i as i64) * 3;
        let want = leader.write_at(w.clone(), now).map(|o| o.applied);
        for r in &restored {
            assert_eq!(want, r.apply_at(w.clone(), now), "write {i}");
        }
    }
    let s = leader.op_id_stats();
    for r in &restored {
        let r = r.op_id_stats();
        assert_eq!((r.entries, r.bytes), (s.entries, s.bytes));
    }
    assert_eq!(leader.top(100), restored[1].top(100));
}

/// A snapshot (whole, or streamed in chunks) keeps each id's time and the
/// clock: a restored board forgets an id exactly when the original would.
#[test]
fn snapshots_keep_op_id_times() {
    let b = Board::new("b", BoardConfig::new().partitions(1)).unwrap();
    b.write_at(incr("alice", 10, 0, 1), 1_000).unwrap();
    b.write_at(incr("bob", 10, 0, 2), 30_000).unwrap();
    // The clock is carried too: an id written at a time behind it is
    // stamped with the clock (30,000), not with its own time.
    for board in [streamed(&b), Board::from_snapshot(&b.snapshot()).unwrap()] {
        assert!(board.apply_at(incr("carol", 1, 0, 3), 20_000).unwrap());
        assert!(!board.apply_at(incr("carol", 1, 0, 3), 90_000).unwrap());
        assert!(board.apply_at(incr("carol", 1, 0, 3), 90_001).unwrap());
    }
    for board in [
        Board::from_snapshot(&b.snapshot()).unwrap(),
        {
            let into = Board::new("b", b.config().clone()).unwrap();
            into.restore(&b.snapshot()).unwrap();
            into
        },
        streamed(&b),
    ] {
        assert!(!board.apply_at(incr("alice", 10, 0, 1), 61_000).unwrap());
        assert!(!board.apply_at(incr("bob", 10, 0, 2), 61_001).unwrap());
        // alice's id is now past the horizon, bob's is not.
        assert!(board.apply_at(incr("alice", 10, 0, 1), 61_001).unwrap());
        assert!(!board.apply_at(incr("bob", 10, 0, 2), 61_001).unwrap());
        let s = board.op_id_stats();
        assert_eq!((s.entries, s.refused, s.expired), (2, 0, 1));
    }
}
