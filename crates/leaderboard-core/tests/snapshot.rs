//! Snapshot round trips (board, partition, registry) after random
//! histories, and corrupted snapshots rejected without panicking.

use leaderboard_core::{
    Board, BoardConfig, BoardLoader, Error, Fanout, Leaderboards, OpId, Order, Partition,
    RankStyle, ResetSchedule, SNAPSHOT_VERSION, Window, Write, WriteOp,
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
    let mut out = Write::new(format!("m{}", w.member), w.score, w.at).op(w.op);
    out.subscore = w.sub;
    out.op_id = w.op_id.map(|i| OpId(i as u128));
    out.metadata = w.meta.clone();
    out
}

fn config(order: Order, style: RankStyle, partitions: u16, windowed: bool) -> BoardConfig {
    let mut cfg = BoardConfig::new()
        .order(order)
        .rank_style(style)
        .partitions(partitions)
        .max_metadata_bytes(8);
    cfg.reset = windowed.then_some(ResetSchedule::Every {
        period_ms: 20,
        origin_ms: 0,
    });
    cfg
}

fn all(b: &Board, w: Window) -> Option<Vec<leaderboard_core::RankedEntry>> {
    b.standings(w)
        .map(|s| s.top_with(usize::MAX, Fanout::Sequential))
}

fn chunks(b: &Board, max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    b.snapshot_chunks(max, |c| {
        out.push(c.to_vec());
        Ok::<_, ()>(())
    })
    .unwrap();
    out
}

fn load(chunks: &[Vec<u8>]) -> Result<Board, Error> {
    let mut loader = BoardLoader::new();
    for c in chunks {
        loader.push(c)?;
    }
    loader.finish()
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

    /// The chunked stream rebuilds the same board, op-id memory included,
    /// at any chunk size; every chunk stays near the target.
    #[test]
    fn board_round_trips_in_chunks(
        order in prop_oneof![Just(Order::HighFirst), Just(Order::LowFirst)],
        partitions in 1u16..6,
        windowed in any::<bool>(),
        max in 1usize..2048,
        ws in writes(),
    ) {
        let board = Board::new("chunked", config(order, RankStyle::Competition, partitions, windowed)).unwrap();
        for w in &ws {
            let _ = board.write(to_write(w));
        }
        let cs = chunks(&board, max);
        for c in &cs {
            // One item (an entry or an op id with its outcome) past the target at most.
            prop_assert!(c.len() < max.max(256) + 256, "chunk of {} bytes for a target of {}", c.len(), max);
        }
        let copy = load(&cs).unwrap();
        same(&board, &copy);
        for w in ws.iter().filter(|w| w.op_id.is_some()).take(10) {
            prop_assert_eq!(board.write(to_write(w)), copy.write(to_write(w)));
        }
    }

    /// A chunk missing, repeated or moved, or a stream cut short, is
    /// refused (or, for a repeat that cancels out, never panics).
    #[test]
    fn damaged_chunk_streams_are_refused(
        ws in writes(),
        at in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
    ) {
        let board = Board::new("d", config(Order::HighFirst, RankStyle::Ordinal, 3, true)).unwrap();
        for w in &ws {
            let _ = board.write(to_write(w));
        }
        let cs = chunks(&board, 300);
        let i = at.index(cs.len());
        let mut missing = cs.clone();
        missing.remove(i);
        prop_assert!(load(&missing).is_err());
        let mut repeated = cs.clone();
        repeated.insert(i, cs[i].clone());
        prop_assert!(load(&repeated).is_err());
        prop_assert!(load(&cs[..i]).is_err());
        let j = to.index(cs.len());
        if cs[i] != cs[j] {
            let mut moved = cs.clone();
            moved.swap(i, j);
            if let Ok(b) = load(&moved) {
                let _ = b.top(10);
            }
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
    let other = Board::new("v", BoardConfig::new().partitions(3)).unwrap();
    other.write(Write::new("keep", 1, 0)).unwrap();
    assert!(other.restore(&b.snapshot()).is_err());
    assert_eq!(other.top(5)[0].entry.member, "keep");
}

#[test]
fn chunk_stream_versions_are_checked() {
    let b = Board::new("v", BoardConfig::default()).unwrap();
    b.write(Write::new("a", 1, 0)).unwrap();
    let mut cs = chunks(&b, 4096);
    assert_eq!(&cs[0][..4], b"LBS1");
    cs[0][4] = cs[0][4].wrapping_add(1);
    assert!(matches!(
        load(&cs),
        Err(Error::UnsupportedSnapshotVersion { .. })
    ));
    // A whole-board snapshot is not a chunk stream.
    assert!(matches!(
        load(&[b.snapshot()]),
        Err(Error::CorruptSnapshot(_))
    ));
    // Nothing may follow the end.
    let mut cs = chunks(&b, 4096);
    cs.push(cs[1].clone());
    assert!(load(&cs).is_err());
}
