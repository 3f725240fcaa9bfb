//! The Redis Cluster backend against the naive model, on the real cluster
//! named by `REDIS_CLUSTER_NODES` (comma-separated `redis://` URLs, as
//! printed by `scripts/stack env`). Fails, never skips, without it.
#![cfg(feature = "redis-cluster")]

mod common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::Model;
use leaderboard_core::{BoardConfig, Cursor, OpId, Order, RankStyle, RedisBoard, Write, WriteOp};

fn nodes() -> Vec<String> {
    let v = std::env::var("REDIS_CLUSTER_NODES").expect(
        "REDIS_CLUSTER_NODES must be set to the test cluster's seed nodes \
         (e.g. redis://127.0.0.1:7001,redis://127.0.0.1:7002); run `scripts/stack up` \
         and `eval $(scripts/stack env)`",
    );
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A board name no earlier run used, so reruns never see old data.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{name}-{}-{nanos}", std::process::id())
}

/// Small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn member(i: u64) -> String {
    format!("m{i:02}")
}

async fn check_all(board: &RedisBoard, model: &Model) {
    let expect = model.ranked();
    assert_eq!(board.count().await.unwrap(), expect.len() as u64);
    assert_eq!(board.top(expect.len() + 2).await.unwrap(), expect);
    let names: Vec<String> = (0..20).map(member).collect();
    for style in [RankStyle::Ordinal, RankStyle::Competition] {
        let want: Vec<_> = names.iter().map(|n| model.rank(n, style)).collect();
        assert_eq!(board.ranks(&names, style).await.unwrap(), want);
    }
}

async fn run_against_model(cfg: BoardConfig, seed: u64) {
    let board = RedisBoard::connect(&nodes(), unique("model"), cfg.clone())
        .await
        .unwrap();
    let mut model = Model::new(cfg.order, cfg.rank_style, cfg.default_op, cfg.top_n_watch);
    let mut rng = Rng(seed);
    let ops = [WriteOp::Set, WriteOp::Best, WriteOp::Incr, WriteOp::Decr];
    for step in 0..160 {
        let m = rng.below(20);
        if rng.below(8) == 0 {
            let got = board
                .remove(&member(m))
                .await
                .unwrap()
                .map(|o| (o.removed, o.top_changed));
            assert_eq!(got, model.remove(&member(m)), "remove {m}");
        } else {
            let score = match rng.below(10) {
                0 => i64::MAX - 1,
                1 => i64::MIN + 1,
                _ => rng.below(9) as i64 - 4,
            };
            // Drawn in the order the fields are listed (subscore before time).
            let subscore = (rng.below(2) == 0).then(|| rng.below(3) as i64 - 1);
            let mut w = Write::new(member(m), score, rng.below(4) as i64);
            w.subscore = subscore;
            w.op = (rng.below(3) != 0).then(|| ops[rng.below(4) as usize]);
            w.op_id = (rng.below(3) == 0).then(|| OpId(m as u128 * 100 + rng.below(4) as u128));
            w.metadata =
                (rng.below(4) == 0).then(|| vec![rng.below(256) as u8; rng.below(3) as usize]);
            let want = model.write(&w);
            let got = board.write(w.clone()).await;
            match (want, got) {
                (Ok(want), Ok(got)) => {
                    assert_eq!(
                        (
                            got.applied,
                            got.changed,
                            &got.old,
                            &got.new,
                            got.top_changed
                        ),
                        (
                            want.applied,
                            want.changed,
                            &want.old,
                            &want.new,
                            want.top_changed
                        ),
                        "write {w:?}"
                    );
                }
                (Err(want), Err(got)) => assert_eq!(got, want),
                (want, got) => panic!("{w:?}: model {want:?}, redis {got:?}"),
            }
        }
        if step % 4 == 0 {
            check_all(&board, &model).await;
        }
    }
    check_all(&board, &model).await;
    let ranked = model.ranked();
    for r in &ranked {
        assert_eq!(
            board.entry(&r.entry.member).await.unwrap().as_ref(),
            Some(r)
        );
        let i = ranked
            .iter()
            .position(|x| x.entry.member == r.entry.member)
            .unwrap();
        let want = ranked[i.saturating_sub(2)..(i + 3).min(ranked.len())].to_vec();
        assert_eq!(
            board.around(&r.entry.member, 2, 2).await.unwrap(),
            Some(want)
        );
        let pct = 100.0 * (ranked.len() - i) as f64 / ranked.len() as f64;
        assert_eq!(board.percentile(&r.entry.member).await.unwrap(), Some(pct));
    }
    assert_eq!(board.around("nobody", 1, 1).await.unwrap(), None);
    assert!(board.page(u64::MAX, 3).await.unwrap().is_empty());
    assert!(board.page(0, 0).await.unwrap().is_empty());
    assert!(board.page_after(None, 0).await.unwrap().entries.is_empty());
    assert_eq!(
        board.page_after(None, usize::MAX).await.unwrap().entries,
        ranked
    );
    assert_eq!(board.page(0, usize::MAX).await.unwrap(), ranked);
    if let Some(first) = ranked.first() {
        let all = board
            .around(&first.entry.member, usize::MAX, usize::MAX)
            .await
            .unwrap();
        assert_eq!(all, Some(ranked.clone()));
    }
    for offset in 0..ranked.len() as u64 + 1 {
        assert_eq!(
            board.page(offset, 3).await.unwrap(),
            model.slice(offset as usize, 3)
        );
    }
    let mut cursor: Option<Cursor> = None;
    let mut seen = Vec::new();
    loop {
        let page = board.page_after(cursor.as_ref(), 3).await.unwrap();
        seen.extend(page.entries);
        match page.next_cursor {
            Some(c) => cursor = Some(Cursor::from_token(&c.to_token()).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ranked);
    board.clear().await.unwrap();
    assert_eq!(board.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_first_ordinal_matches_model() {
    let cfg = BoardConfig::new()
        .partitions(3)
        .default_op(WriteOp::Incr)
        .top_n_watch(3)
        .max_metadata_bytes(16);
    run_against_model(cfg, 0x9e37_79b9_7f4a_7c15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_first_competition_matches_model() {
    let cfg = BoardConfig::new()
        .order(Order::LowFirst)
        .rank_style(RankStyle::Competition)
        .partitions(4)
        .default_op(WriteOp::Best)
        .top_n_watch(3)
        .max_metadata_bytes(16);
    run_against_model(cfg, 0xdead_beef_cafe_f00d).await;
}

/// Many tasks incrementing the same members with op ids, each op id sent
/// twice: every op applies exactly once and no update is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_incr_with_retries_applies_each_op_once() {
    let cfg = BoardConfig::new().default_op(WriteOp::Incr).partitions(4);
    let board = Arc::new(
        RedisBoard::connect(&nodes(), unique("conc"), cfg)
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for t in 0..8u128 {
        let board = board.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40u128 {
                let w = Write::new(member((i % 5) as u64), 1, 0).op_id(OpId(t * 1000 + i));
                board.write(w.clone()).await.unwrap();
                assert!(!board.write(w).await.unwrap().applied);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let top = board.top(10).await.unwrap();
    assert_eq!(top.len(), 5);
    assert!(top.iter().all(|r| r.entry.score == 8 * 40 / 5), "{top:?}");
    board.clear().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_with_another_shape_is_rejected() {
    let id = unique("shape");
    let cfg = BoardConfig::new().partitions(2);
    let b = RedisBoard::connect(&nodes(), id.clone(), cfg.clone())
        .await
        .unwrap();
    b.write(Write::new("a", 1, 0)).await.unwrap();
    let again = RedisBoard::connect(&nodes(), id.clone(), cfg)
        .await
        .unwrap();
    assert_eq!(again.count().await.unwrap(), 1);
    let other = BoardConfig::new().partitions(3);
    let err = RedisBoard::connect(&nodes(), id, other).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let windowed = BoardConfig::new().reset(leaderboard_core::ResetSchedule::Daily);
    assert!(
        RedisBoard::connect(&nodes(), unique("w"), windowed)
            .await
            .is_err()
    );
    assert!(
        b.write(Write::new("", 1, 0))
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    b.clear().await.unwrap();
}
