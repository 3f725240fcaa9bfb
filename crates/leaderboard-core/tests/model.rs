//! Property tests: every operation against the naive sorted-Vec model,
//! for both orders, both rank styles and several partition counts.

mod common;

use common::Model;
use leaderboard_core::{
    Board, BoardConfig, Cursor, Fanout, OpId, OpIdPolicy, Order, RankStyle, Write, WriteOp,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Write {
        member: u8,
        score: i64,
        sub: Option<i64>,
        at: i64,
        op: Option<WriteOp>,
        op_id: Option<u8>,
        meta: Option<Vec<u8>>,
    },
    Remove(u8),
    Top(usize),
    Page(u64, usize),
    PageAfter(usize, usize),
    Around(u8, usize, usize),
    Ranks(Vec<u8>),
}

fn member(i: u8) -> String {
    format!("m{i:03}")
}

impl Op {
    /// The write of an `Op::Write` for the member named `name(m)`.
    fn to_write(&self, name: impl Fn(u8) -> String) -> Option<Write> {
        let Op::Write {
            member: m,
            score,
            sub,
            at,
            op,
            op_id,
            meta,
        } = self
        else {
            return None;
        };
        let mut w = Write::new(name(*m), *score, *at);
        w.subscore = *sub;
        w.op = *op;
        w.op_id = op_id.map(|k| OpId(*m as u128 * 100 + k as u128));
        w.metadata = meta.clone();
        Some(w)
    }
}

fn score() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => -4i64..4,
        1 => Just(i64::MAX - 1),
        1 => Just(i64::MIN + 1),
        1 => any::<i64>(),
    ]
}

fn write_op() -> impl Strategy<Value = Option<WriteOp>> {
    prop::option::of(prop_oneof![
        Just(WriteOp::Set),
        Just(WriteOp::Best),
        Just(WriteOp::Incr),
        Just(WriteOp::Decr)
    ])
}

fn op(members: u8) -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..members, score(), prop::option::of(-2i64..2), 0i64..4, write_op(), prop::option::of(0u8..4),
               prop::option::of(prop::collection::vec(any::<u8>(), 0..3)))
            .prop_map(|(member, score, sub, at, op, op_id, meta)| Op::Write { member, score, sub, at, op, op_id, meta }),
        2 => (0..members).prop_map(Op::Remove),
        1 => (0usize..12).prop_map(Op::Top),
        1 => (0u64..40, 0usize..6).prop_map(|(o, l)| Op::Page(o, l)),
        1 => (0usize..40, 1usize..6).prop_map(|(o, l)| Op::PageAfter(o, l)),
        1 => (0..members, 0usize..4, 0usize..4).prop_map(|(m, a, b)| Op::Around(m, a, b)),
        1 => prop::collection::vec(0..members, 0..5).prop_map(Op::Ranks),
    ]
}

fn config() -> impl Strategy<Value = BoardConfig> {
    (
        prop_oneof![Just(Order::HighFirst), Just(Order::LowFirst)],
        prop_oneof![Just(RankStyle::Ordinal), Just(RankStyle::Competition)],
        prop_oneof![Just(1u16), Just(3), Just(8)],
        prop_oneof![Just(WriteOp::Set), Just(WriteOp::Best), Just(WriteOp::Incr)],
    )
        .prop_map(|(order, rank_style, partitions, default_op)| {
            BoardConfig::new()
                .order(order)
                .rank_style(rank_style)
                .partitions(partitions)
                .default_op(default_op)
                .top_n_watch(3)
                .op_ids(OpIdPolicy::new().horizon_ms(u64::MAX).max_bytes(u64::MAX))
                .max_metadata_bytes(16)
        })
}

fn check_all(board: &Board, model: &Model) {
    let expect = model.ranked();
    assert_eq!(board.count(), expect.len() as u64);
    assert_eq!(board.top_with(usize::MAX, Fanout::Sequential), expect);
    assert_eq!(board.top_with(expect.len() + 1, Fanout::Parallel), expect);
    // `top` answers from its cache when no write reached the cached top.
    for k in [1, 3, 5, 2] {
        assert_eq!(board.top(k), model.slice(0, k), "cached top({k})");
    }
    for r in &expect {
        let m = &r.entry.member;
        assert_eq!(board.entry(m).as_ref(), Some(r));
        assert_eq!(
            board.rank(m, RankStyle::Ordinal),
            model.rank(m, RankStyle::Ordinal)
        );
        assert_eq!(
            board.rank(m, RankStyle::Competition),
            model.rank(m, RankStyle::Competition)
        );
        let ord = model.rank(m, RankStyle::Ordinal).unwrap();
        let pct = 100.0 * (expect.len() as u64 - ord + 1) as f64 / expect.len() as f64;
        assert_eq!(board.percentile(m), Some(pct));
    }
}

fn run(cfg: BoardConfig, ops: Vec<Op>) {
    let board = Board::new("p", cfg.clone()).unwrap();
    let mut model = Model::new(cfg.order, cfg.rank_style, cfg.default_op, cfg.top_n_watch);
    for op in ops {
        let write = op.to_write(member);
        match op {
            Op::Write { member: m, .. } => {
                let w = write.expect("a write op");
                if w.op_id.is_none() && m % 4 == 0 {
                    // The rank-free fast path changes the state identically.
                    match (model.write(&w), board.apply(w.clone())) {
                        (Ok(want), Ok(got)) => assert_eq!(got, want.applied),
                        (Err(want), Err(got)) => assert_eq!(got, want),
                        (want, got) => panic!("{w:?}: model {want:?}, apply {got:?}"),
                    }
                    check_all(&board, &model);
                    continue;
                }
                let want = model.write(&w);
                let got = board.write(w.clone());
                match (want, got) {
                    (Ok(want), Ok(got)) => {
                        assert_eq!(got.applied, want.applied, "applied for {w:?}");
                        assert_eq!(got.changed, want.changed, "changed for {w:?}");
                        assert_eq!(got.old, want.old, "old for {w:?}");
                        assert_eq!(got.new, want.new, "new for {w:?}");
                        assert_eq!(got.top_changed, want.top_changed, "top_changed for {w:?}");
                    }
                    (Err(want), Err(got)) => assert_eq!(got, want),
                    (want, got) => panic!("{w:?}: model {want:?}, board {got:?}"),
                }
            }
            Op::Remove(m) => {
                let want = model.remove(&member(m));
                let got = board.remove(&member(m)).map(|o| (o.removed, o.top_changed));
                assert_eq!(got, want);
            }
            Op::Top(n) => assert_eq!(board.top(n), model.slice(0, n)),
            Op::Page(offset, limit) => assert_eq!(
                board.page(offset, limit),
                model.slice(offset as usize, limit)
            ),
            Op::PageAfter(i, limit) => {
                let sorted = model.sorted();
                let cursor = sorted.get(i).map(|e| Cursor::from_key(e.sort_key()));
                let start = if cursor.is_some() { i + 1 } else { 0 };
                let page = board.page_after(cursor.as_ref(), limit);
                let want = model.slice(start, limit);
                assert_eq!(page.entries, want);
                let more = start + limit < sorted.len();
                assert_eq!(page.next_cursor.is_some(), more && !want.is_empty());
            }
            Op::Around(m, above, below) => {
                let got = board.around(&member(m), above, below);
                let ranked = model.ranked();
                let want = ranked
                    .iter()
                    .position(|r| r.entry.member == member(m))
                    .map(|i| {
                        let lo = i.saturating_sub(above);
                        ranked[lo..(i + below + 1).min(ranked.len())].to_vec()
                    });
                assert_eq!(got, want);
            }
            Op::Ranks(ms) => {
                let names: Vec<String> = ms.iter().map(|&m| member(m)).collect();
                for style in [RankStyle::Ordinal, RankStyle::Competition] {
                    let want: Vec<_> = names.iter().map(|n| model.rank(n, style)).collect();
                    assert_eq!(board.ranks(&names, style), want);
                }
            }
        }
        check_all(&board, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn board_matches_model(cfg in config(), ops in prop::collection::vec(op(24), 1..60)) {
        run(cfg, ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Enough members per partition to split, merge and collapse B+tree
    /// nodes (leaves hold 128); queries compared at the end.
    #[test]
    fn large_board_matches_model(cfg in config(), ops in prop::collection::vec(op(250), 600..900)) {
        let board = Board::new("p", cfg.clone()).unwrap();
        let mut model = Model::new(cfg.order, cfg.rank_style, cfg.default_op, cfg.top_n_watch);
        for op in ops {
            if let Op::Write { member: m, score, sub, at, op, .. } = op {
                let mut w = Write::new(member(m), score, at);
                (w.subscore, w.op) = (sub, op);
                prop_assert_eq!(board.write(w.clone()).is_ok(), model.write(&w).is_ok());
            } else if let Op::Remove(m) = op {
                prop_assert_eq!(board.remove(&member(m)).is_some(), model.remove(&member(m)).is_some());
            }
        }
        check_all(&board, &model);
        let n = model.entries.len();
        for offset in [0, 1, n / 3, n / 2, n.saturating_sub(2)] {
            prop_assert_eq!(board.page(offset as u64, 7), model.slice(offset, 7));
        }
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = board.page_after(cursor.as_ref(), 50);
            seen.extend(page.entries);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        prop_assert_eq!(seen, model.ranked());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// `apply_batch` (one lock per partition; on partitions over 2,048
    /// entries it warms the cache for groups of 32 writes first) changes
    /// the board exactly like the same writes one at a time, duplicates,
    /// op ids and errors included.
    #[test]
    fn apply_batch_matches_model(cfg in config(), base in 2200i64..2600, ops in prop::collection::vec(op(255), 30..120)) {
        let board = Board::new("p", cfg.clone()).unwrap();
        let mut model = Model::new(cfg.order, cfg.rank_style, cfg.default_op, cfg.top_n_watch);
        let name = |m: u8| if m % 2 == 0 { format!("b{}", m as i64 * 8) } else { member(m) };
        let entries: Vec<_> = (0..base)
            .map(|i| leaderboard_core::Entry::new(format!("b{i}"), i % 97 - 40, 0))
            .collect();
        // Loaded directly (a model write re-sorts everything, too slow here).
        model.entries = entries.clone();
        board.bulk_load(entries).unwrap();
        let writes: Vec<Write> = ops.iter().filter_map(|op| op.to_write(name)).collect();
        let want: Vec<_> = writes.iter().map(|w| model.write(w).map(|o| o.applied)).collect();
        let got = board.apply_batch(writes.clone());
        prop_assert_eq!(got, want);
        prop_assert_eq!(board.top_with(usize::MAX, Fanout::Sequential), model.ranked());
        for w in writes.iter().take(20) {
            for style in [RankStyle::Ordinal, RankStyle::Competition] {
                prop_assert_eq!(board.rank(&w.member, style), model.rank(&w.member, style));
            }
            let around = board.around(&w.member, 3, 3).map(|v| v.len());
            prop_assert_eq!(around.is_some(), model.rank(&w.member, RankStyle::Ordinal).is_some());
        }
    }
}
