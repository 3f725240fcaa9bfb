//! Snapshot round trips (board, partition, registry) after random
//! histories, and corrupted snapshots rejected without panicking.

use leaderboard_core::{
    Board, BoardConfig, Error, Fanout, Leaderboards, OpId, Order, Partition, RankStyle,
    ResetSchedule, SNAPSHOT_VERSION, Window, Write, WriteOp,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct W {
    member: u8,
    score: i64,
    sub: Option<i64>,
    at: i64,
    op: WriteOp,
    op_id: Option<u16>,
    meta: Option<Vec<u8>>,
}

fn writes() -> impl Strategy<Value = Vec<W>> {
    let op = prop_oneof![
        Just(WriteOp::Set),
        Just(WriteOp::Best),
        Just(WriteOp::Incr),
        Just(WriteOp::Decr)
    ];
    prop::collection::vec(
        (
            0u8..40,
            -100i64..100,
            prop::option::of(-3i64..3),
            0i64..60,
            op,
            prop::option::of(0u16..500),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..4)),
        )
            .prop_map(|(member, score, sub, at, op, op_id, meta)| W {
                member,
                score,
                sub,
                at,
                op,
                op_id,
                meta,
            }),
        0..120,
    )
}

fn to_write(w: &W) -> Write {
    Write {
        member: format!("m{}", w.member),
        score: w.score,
        subscore: w.sub,
        at: w.at,
        op: Some(w.op),
        op_id: w.op_id.map(|i| OpId(i as u128)),
        metadata: w.meta.clone(),
    }
}

fn config(order: Order, style: RankStyle, partitions: u16, windowed: bool) -> BoardConfig {
    BoardConfig {
        order,
        rank_style: style,
        partitions,
        reset: windowed.then_some(ResetSchedule::Every {
            period_ms: 20,
            origin_ms: 0,
        }),
        max_metadata_bytes: 8,
        ..BoardConfig::default()
    }
}

fn all(b: &Board, w: Window) -> Option<Vec<leaderboard_core::RankedEntry>> {
    b.standings(w)
        .map(|s| s.top_with(usize::MAX, Fanout::Sequential))
}

fn same(a: &Board, b: &Board) {
    assert_eq!(a.id(), b.id());
    assert_eq!(a.config(), b.config());
    assert_eq!(a.current_window(), b.current_window());
    assert_eq!(all(a, Window::Current), all(b, Window::Current));
    assert_eq!(all(a, Window::Previous), all(b, Window::Previous));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn board_round_trips(
        order in prop_oneof![Just(Order::HighFirst), Just(Order::LowFirst)],
        style in prop_oneof![Just(RankStyle::Ordinal), Just(RankStyle::Competition)],
        partitions in 1u16..6,
        windowed in any::<bool>(),
        ws in writes(),
    ) {
        let board = Board::new("snap", config(order, style, partitions, windowed)).unwrap();
        for w in &ws {
            let _ = board.write(to_write(w)); // window errors are part of the history
        }
        let bytes = board.snapshot();
        let copy = Board::from_snapshot(&bytes).unwrap();
        same(&board, &copy);
        // Op-id memory survives: retries are answered with the first outcome.
        for w in ws.iter().filter(|w| w.op_id.is_some()).take(10) {
            let a = board.write(to_write(w));
            let b = copy.write(to_write(w));
            prop_assert_eq!(a, b);
        }
        // Restoring into an existing board of the same shape.
        let other = Board::new("snap", config(order, style, partitions, windowed)).unwrap();
        other.write(Write::new("zz", 1, 0)).unwrap();
        other.restore(&bytes).unwrap();
        prop_assert_eq!(all(&other, Window::Current), all(&Board::from_snapshot(&bytes).unwrap(), Window::Current));
        // Each partition round-trips on its own too (what shard nodes ship).
        let s = board.standings(Window::Current).unwrap();
        for p in 0..partitions {
            let part = s.partition(p).unwrap();
            let again = Partition::restore(&part.snapshot()).unwrap();
            prop_assert_eq!(again.entries(), part.entries());
            prop_assert_eq!(again.order(), part.order());
        }
    }

    /// Truncated or bit-flipped snapshots give an error or a valid board,
    /// never a panic.
    #[test]
    fn corrupt_snapshots_do_not_panic(ws in writes(), cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>()) {
        let board = Board::new("c", config(Order::HighFirst, RankStyle::Ordinal, 3, false)).unwrap();
        for w in &ws {
            let _ = board.write(to_write(w));
        }
        let bytes = board.snapshot();
        let truncated = &bytes[..cut.index(bytes.len())];
        prop_assert!(Board::from_snapshot(truncated).is_err());
        let mut flipped = bytes.clone();
        let i = flip.0.index(flipped.len());
        flipped[i] ^= flip.1 | 1;
        if let Ok(b) = Board::from_snapshot(&flipped) {
            let _ = b.top(10);
        }
    }
}

#[test]
fn registry_round_trips_every_board() {
    let boards = Leaderboards::new();
    for (i, order) in [Order::HighFirst, Order::LowFirst].into_iter().enumerate() {
        let b = boards
            .create(
                format!("b{i}"),
                config(order, RankStyle::Competition, 4, true),
            )
            .unwrap();
        for k in 0..200 {
            b.write(Write::new(format!("m{}", k % 50), k, k / 3))
                .unwrap();
        }
    }
    let copy = Leaderboards::from_snapshot(&boards.snapshot()).unwrap();
    assert_eq!(copy.ids(), boards.ids());
    for id in boards.ids() {
        same(
            &boards.get(id.as_str()).unwrap(),
            &copy.get(id.as_str()).unwrap(),
        );
    }
}

#[test]
fn versions_and_shapes_are_checked() {
    let b = Board::new("v", BoardConfig::default()).unwrap();
    b.write(Write::new("a", 1, 0)).unwrap();
    let mut bytes = b.snapshot();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), SNAPSHOT_VERSION);
    bytes[4] = bytes[4].wrapping_add(1);
    assert!(matches!(
        Board::from_snapshot(&bytes),
        Err(Error::UnsupportedSnapshotVersion { .. })
    ));
    // A partition snapshot is not a board snapshot.
    let s = b.standings(Window::Current).unwrap();
    let part = s.partition(0).unwrap().snapshot();
    assert!(matches!(
        Board::from_snapshot(&part),
        Err(Error::CorruptSnapshot(_))
    ));
    // Restoring into a board of another shape changes nothing.
    let other = Board::new(
        "v",
        BoardConfig {
            partitions: 3,
            ..BoardConfig::default()
        },
    )
    .unwrap();
    other.write(Write::new("keep", 1, 0)).unwrap();
    assert!(other.restore(&b.snapshot()).is_err());
    assert_eq!(other.top(5)[0].entry.member, "keep");
}
