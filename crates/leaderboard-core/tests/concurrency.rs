//! Concurrent writers (and readers) on one board, then the final state
//! checked against the naive model.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::Model;
use leaderboard_core::{
    Board, BoardConfig, Fanout, OpId, OpIdPolicy, Order, RankStyle, Write, WriteOp, WriteOutcome,
};

/// Op ids are never forgotten, whatever the writes' times.
const NEVER_FORGET: OpIdPolicy = OpIdPolicy::new().horizon_ms(u64::MAX).max_bytes(u64::MAX);

const THREADS: u64 = 4;
const MEMBERS: u64 = 120;
const PER_THREAD: u64 = 1_000;

fn member(i: u64) -> String {
    format!("p{i:04}")
}

/// Thread `t`'s `i`-th write: commutative operators only (`Incr`, `Decr`,
/// `Best` with one `at`), so the final state does not depend on the
/// interleaving and the model can replay the writes in any order.
fn write_of(t: u64, i: u64) -> Write {
    let x = (t * 7_919 + i * 104_729) % 1_000_003;
    let (op, score) = match x % 4 {
        0 | 1 => (WriteOp::Incr, (x % 50) as i64),
        2 => (WriteOp::Decr, (x % 7) as i64),
        _ => (WriteOp::Best, (x % 900) as i64),
    };
    Write::new(member(x % MEMBERS), score, 0)
        .op(op)
        .op_id(OpId(((t as u128) << 64) | i as u128))
}

fn run(cfg: BoardConfig) {
    let board = Arc::new(Board::new("c", cfg.clone()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (board, stop) = (board.clone(), stop.clone());
        thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Every listing is a consistent cut: sorted, ranks 1..n.
                let cached = board.top(10);
                for (i, w) in cached.windows(2).enumerate() {
                    assert!(
                        w[0].entry
                            .sort_key()
                            .cmp_in(&w[1].entry.sort_key(), cfg.order)
                            .is_lt()
                    );
                    if cfg.rank_style == RankStyle::Ordinal {
                        assert_eq!(w[1].rank, i as u64 + 2);
                    }
                }
                let top = board.top_with(usize::MAX, Fanout::Parallel);
                for (i, w) in top.windows(2).enumerate() {
                    assert!(
                        w[0].entry
                            .sort_key()
                            .cmp_in(&w[1].entry.sort_key(), cfg.order)
                            .is_lt()
                    );
                    if cfg.rank_style == RankStyle::Ordinal {
                        assert_eq!(w[1].rank, i as u64 + 2);
                    }
                }
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let board = board.clone();
            thread::spawn(move || {
                let mut outs: Vec<WriteOutcome> = Vec::new();
                for i in 0..PER_THREAD {
                    let w = write_of(t, i);
                    let first = board.write(w.clone()).unwrap();
                    assert!(first.applied);
                    if i % 5 == 0 {
                        // A retry of the same op id is answered, not re-applied.
                        let again = board.write(w).unwrap();
                        assert!(!again.applied);
                        assert_eq!(again.new.entry, first.new.entry);
                    }
                    outs.push(first);
                }
                outs
            })
        })
        .collect();
    for w in writers {
        let outs = w.join().unwrap();
        assert_eq!(outs.len() as u64, PER_THREAD);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    let mut model = Model::new(cfg.order, cfg.rank_style, cfg.default_op, cfg.top_n_watch);
    model.max_meta = cfg.max_metadata_bytes;
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            model.write(&write_of(t, i)).unwrap();
        }
    }
    let want = model.ranked();
    assert_eq!(board.count(), want.len() as u64);
    assert_eq!(board.top_with(usize::MAX, Fanout::Sequential), want);
    assert_eq!(board.top(10), want[..10.min(want.len())]);
    for r in &want {
        assert_eq!(board.entry(&r.entry.member).as_ref(), Some(r));
    }
    // Every op id is still remembered: replaying everything changes nothing.
    for t in 0..THREADS {
        for i in (0..PER_THREAD).step_by(97) {
            assert!(!board.write(write_of(t, i)).unwrap().applied);
        }
    }
    assert_eq!(board.top_with(usize::MAX, Fanout::Sequential), want);
}

#[test]
fn concurrent_writers_match_model_high_first() {
    run(BoardConfig::new().op_ids(NEVER_FORGET));
}

#[test]
fn concurrent_writers_match_model_low_first_competition_one_partition() {
    run(BoardConfig::new()
        .order(Order::LowFirst)
        .rank_style(RankStyle::Competition)
        .partitions(1)
        .op_ids(NEVER_FORGET));
}

/// Op-id answer-once under a race: many threads send the same op ids at
/// the same time; each applies exactly once.
#[test]
fn racing_retries_apply_once() {
    let cfg = BoardConfig::new().default_op(WriteOp::Incr);
    let board = Arc::new(Board::new("r", cfg).unwrap());
    let applied: u64 = (0..4)
        .map(|_| {
            let board = board.clone();
            thread::spawn(move || {
                (0..2_000u64)
                    .filter(|&i| {
                        let w = Write::new(member(i % 10), 1, 0).op_id(OpId(i as u128));
                        board.write(w).unwrap().applied
                    })
                    .count() as u64
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(applied, 2_000);
    let total: i64 = board.top(10).iter().map(|r| r.entry.score).sum();
    assert_eq!(total, 2_000);
}
