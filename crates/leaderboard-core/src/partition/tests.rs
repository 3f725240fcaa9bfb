//! White-box tests: the B+tree and slab invariants after every step.

use proptest::prelude::*;

use super::tree::Probe;
use super::{Partition, probe};
use crate::{BoardConfig, Entry, Order, Write, WriteOp};

impl Partition {
    /// Panics unless the tree invariants hold and every slab record sits
    /// at exactly one tree position matching its key.
    fn check_invariants(&self) {
        let (slab, order) = (&self.slab, self.order);
        self.tree.check(&|a: (i64, u32), b: (i64, u32)| {
            a.0.cmp(&b.0).then_with(|| {
                let r = slab.rec(a.1);
                probe(slab, order, r.score, r.sub, r.at, r.member).tail_cmp(b.1)
            })
        });
        let mut in_tree = 0;
        let mut pos = self.tree.first();
        while let Some(p) = pos {
            let (s, slot) = self.tree.at(p);
            let r = slab.rec(slot);
            assert_eq!(s, super::orient(order, r.score), "tree score != slab score");
            assert_eq!(
                slab.find(r.member, crate::member_hash(r.member)),
                Some(slot)
            );
            in_tree += 1;
            pos = self.tree.next(p);
        }
        assert_eq!(in_tree, self.len(), "tree and slab disagree on the count");
    }
}

#[derive(Debug, Clone)]
enum Step {
    Write(u16, i64, Option<i64>, i64, WriteOp),
    Remove(u16),
    Bulk(Vec<(u16, i64)>),
}

fn step(members: u16) -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        Just(WriteOp::Set),
        Just(WriteOp::Best),
        Just(WriteOp::Incr),
        Just(WriteOp::Decr)
    ];
    prop_oneof![
        12 => (0..members, -50i64..50, prop::option::of(-2i64..2), 0i64..3, op)
            .prop_map(|(m, s, sub, at, op)| Step::Write(m, s, sub, at, op)),
        6 => (0..members).prop_map(Step::Remove),
        1 => prop::collection::vec((0..members, -50i64..50), 0..400).prop_map(Step::Bulk),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Enough members (up to 600 per partition, leaves hold 128) to split,
    /// merge and collapse nodes; invariants checked after every step.
    #[test]
    fn tree_invariants_hold(
        low_first in any::<bool>(),
        steps in prop::collection::vec(step(600), 200..1500),
    ) {
        let order = if low_first { Order::LowFirst } else { Order::HighFirst };
        let cfg = BoardConfig { order, ..BoardConfig::default() };
        let mut p = Partition::new(order, Default::default());
        for s in steps {
            match s {
                Step::Write(m, score, sub, at, op) => {
                    let mut w = Write::new(format!("m{m}"), score, at).op(op);
                    w.subscore = sub;
                    p.write(&w, &cfg).unwrap();
                }
                Step::Remove(m) => {
                    p.remove(&format!("m{m}"));
                }
                Step::Bulk(list) => {
                    let entries = list.into_iter().map(|(m, s)| Entry::new(format!("m{m}"), s, 0));
                    p.bulk_load(entries.collect()).unwrap();
                }
            }
            p.check_invariants();
        }
    }
}

#[test]
fn grows_to_three_levels_and_shrinks_back() {
    let cfg = BoardConfig::default();
    let mut p = Partition::new(Order::HighFirst, Default::default());
    // 128 * 64 = 8192 entries fill two levels; 20k needs a third.
    for i in 0..20_000i64 {
        p.write(&Write::new(format!("m{i}"), (i * 7919) % 1000, i), &cfg)
            .unwrap();
    }
    p.check_invariants();
    for i in (0..20_000i64).filter(|i| i % 3 != 0) {
        assert!(p.remove(&format!("m{i}")).is_some());
    }
    p.check_invariants();
    for i in (0..20_000i64).filter(|i| i % 3 == 0) {
        assert!(p.remove(&format!("m{i}")).is_some());
    }
    p.check_invariants();
    assert!(p.is_empty());
    assert_eq!(p.tree.count_less(&probe(&p.slab, p.order, 0, 0, 0, "x")), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Reads descend with an interpolated guess inside each leaf and, for
    /// a member's own key, find it among its ties by slot. Whatever the
    /// score distribution (clustered, extreme, all tied), every count must
    /// equal the position in a fully sorted list, for members' own keys
    /// (hinted and not) and for keys between them.
    #[test]
    fn guided_seeks_match_sorted_positions(
        low_first in any::<bool>(),
        scores in prop::collection::vec(prop_oneof![
            4 => -3i64..3,
            4 => any::<i64>(),
            2 => Just(i64::MAX),
            2 => Just(i64::MIN),
            4 => (0i64..40).prop_map(|x| x * x * x * 1_000_000_007),
        ], 300..3000),
        bulk in any::<bool>(),
    ) {
        let order = if low_first { Order::LowFirst } else { Order::HighFirst };
        let cfg = BoardConfig { order, ..BoardConfig::default() };
        let mut p = Partition::new(order, Default::default());
        let entries: Vec<Entry> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Entry::new(format!("m{i}"), s, (i % 3) as i64))
            .collect();
        if bulk {
            p.bulk_load(entries.clone()).unwrap();
        } else {
            for e in &entries {
                p.write(&Write::new(e.member.clone(), e.score, e.at), &cfg).unwrap();
            }
        }
        let mut sorted: Vec<crate::SortKey> = entries.iter().map(Entry::sort_key).collect();
        sorted.sort_by(|a, b| a.cmp_in(b, order));
        for (i, k) in sorted.iter().enumerate() {
            let (parts, slot) = p.parts_of(&k.member).unwrap();
            prop_assert_eq!(p.count_above_own(parts, slot), i);
            prop_assert_eq!(p.count_above(k) as usize, i);
            // A key that is no member's, right after this one.
            let after = crate::SortKey::new(k.score, k.subscore, k.at, format!("{}~", k.member));
            let want = sorted.partition_point(|x| x.cmp_in(&after, order).is_lt());
            prop_assert_eq!(p.count_above(&after) as usize, want);
        }
    }
}

/// One write for [`quiet_path_matches_general_path`].
fn quiet_write() -> impl Strategy<Value = Write> {
    let op = prop_oneof![
        Just(WriteOp::Set),
        Just(WriteOp::Best),
        Just(WriteOp::Incr),
        Just(WriteOp::Decr)
    ];
    let meta = prop_oneof![
        4 => Just(None),
        1 => Just(Some(Vec::new())),
        2 => prop::collection::vec(0u8..3, 1..3).prop_map(Some),
    ];
    let score = prop_oneof![8 => -20i64..20, 1 => Just(i64::MAX), 1 => Just(i64::MIN + 1)];
    (
        0u16..40,
        score,
        prop::option::of(-2i64..2),
        0i64..3,
        prop::option::of(op),
        meta,
        prop::option::of(0u8..4),
    )
        .prop_map(|(m, score, sub, at, op, metadata, op_id)| Write {
            member: format!("m{m}"),
            score,
            subscore: sub,
            at,
            op,
            op_id: op_id.map(|k| crate::OpId(u128::from(m) * 10 + u128::from(k))),
            metadata,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The allocation-free path of `apply`/`apply_batch` ends in exactly
    /// the state the general write path (the one the change feed uses)
    /// reaches, with the same result per write, and reports a change (with
    /// the old and new key) exactly when the general path's outcome says
    /// `changed`: operators, overflow, `Best` ties, subscores appearing and
    /// disappearing (the record moves, its metadata must follow), metadata
    /// set, kept and cleared, op ids.
    #[test]
    fn quiet_path_matches_general_path(
        low_first in any::<bool>(),
        writes in prop::collection::vec(quiet_write(), 1..300),
    ) {
        let order = if low_first { Order::LowFirst } else { Order::HighFirst };
        let cfg = BoardConfig { order, max_metadata_bytes: 4, ..BoardConfig::default() };
        let mut general = Partition::new(order, Default::default());
        let mut quiet = Partition::new(order, Default::default());
        for w in &writes {
            let want = general.write(w, &cfg);
            let mut seen = Vec::new();
            let got = quiet.write_quiet(w, &cfg, w.at, &mut |old, new| {
                seen.push((old.map(|(s, b, a, m)| (s, b, a, m.to_owned())), (new.0, new.1, new.2, new.3.to_owned())));
            });
            match (&want, &got) {
                (Ok(o), Ok(applied)) => {
                    prop_assert_eq!(o.applied, *applied);
                    let key = |e: &Entry| (e.score, e.subscore.unwrap_or(0), e.at, e.member.clone());
                    let expect: Vec<_> = (o.applied && o.changed)
                        .then(|| (o.old.as_ref().map(|r| key(&r.entry)), key(&o.new.entry)))
                        .into_iter()
                        .collect();
                    prop_assert_eq!(seen, expect);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => prop_assert!(false, "general {:?} vs quiet {:?}", want, got),
            }
            prop_assert_eq!(quiet.entries(), general.entries());
            quiet.check_invariants();
        }
        prop_assert_eq!(quiet.metadata.len(), general.metadata.len());
    }
}
