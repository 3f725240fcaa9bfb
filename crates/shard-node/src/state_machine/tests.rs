//! Snapshot files: damage is refused, other format versions are refused clearly, format-1
//! snapshots are converted, format-2 files (op ids without times) are read, and the op-id memory
//! (ids, their times, the clock) survives a round trip. Applying: small calls in place, large
//! ones on the blocking pool.

use std::io::Cursor;

use leaderboard_core::{BoardConfig, BoardId, OpId, Write, WriteOp};
use openraft::testing::log_id;
use serde::Serialize;

use super::*;
use crate::command::{Batch, Command};
use crate::layout::Layout;

fn app_with(members: u64) -> AppState {
    let mut app = AppState::new(0, Layout::default());
    let board = BoardId::new("b");
    let mut cmds = vec![Command::CreateBoard {
        board: board.clone(),
        config: BoardConfig::default(),
    }];
    cmds.extend((0..members).map(|v| Command::Write {
        board: board.clone(),
        write: Write::new(format!("m{v}"), v as i64, 0).op_id(OpId(u128::from(v))),
    }));
    for r in app.apply(&Batch::new(cmds)).results {
        r.unwrap();
    }
    app
}

fn meta() -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(log_id(2, 1, 40)),
        last_membership: StoredMembership::default(),
        snapshot_id: "2-40-0".into(),
    }
}

fn file_of(app: &AppState, record_bytes: usize) -> Vec<u8> {
    snapfile::write_app(Vec::new(), &meta(), app, record_bytes)
        .unwrap()
        .0
}

/// Offsets of the records of a snapshot file.
fn records(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(pos..pos + record::HEADER + len);
        pos += record::HEADER + len;
    }
    out
}

fn read(bytes: &[u8]) -> Result<AppState> {
    snapfile::read_app(Cursor::new(bytes), 0, Layout::default()).map(|(_, app)| app)
}

fn listing(app: &AppState) -> Vec<leaderboard_core::RankedEntry> {
    app.boards().get("b").unwrap().top(usize::MAX)
}

#[test]
fn round_trips_in_bounded_records() {
    let app = app_with(3000);
    let bytes = file_of(&app, 512);
    let recs = records(&bytes);
    assert!(recs.len() > 50);
    assert!(recs.iter().all(|r| r.len() <= record::HEADER + 512 + 256));
    let back = read(&bytes).unwrap();
    assert_eq!(listing(&back), listing(&app));
    // Written again, the restored state gives the same bytes (op-id memory included).
    assert_eq!(file_of(&back, 512), bytes);
    // Another group or layout is refused.
    assert!(snapfile::read_app(Cursor::new(&bytes), 1, Layout::default()).is_err());
    assert!(snapfile::read_app(Cursor::new(&bytes), 0, Layout::new(2)).is_err());
}

#[test]
fn damaged_files_are_refused() {
    let bytes = file_of(&app_with(500), 256);
    let recs = records(&bytes);
    assert!(recs.len() > 10);
    let middle = recs[recs.len() / 2].clone();
    // A record missing (each remaining one intact).
    let mut missing = bytes[..middle.start].to_vec();
    missing.extend_from_slice(&bytes[middle.end..]);
    assert!(read(&missing).is_err());
    // A record repeated.
    let mut repeated = bytes[..middle.end].to_vec();
    repeated.extend_from_slice(&bytes[middle.clone()]);
    repeated.extend_from_slice(&bytes[middle.end..]);
    assert!(read(&repeated).is_err());
    // Cut anywhere.
    for cut in [1, 9, middle.start, middle.start + 3, bytes.len() - 1] {
        assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // A flipped bit.
    let mut flipped = bytes.clone();
    flipped[middle.start + 12] ^= 4;
    assert!(read(&flipped).is_err());
    // Anything after the end record.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(read(&trailing).is_err());
}

#[test]
fn other_format_versions_are_refused_clearly() {
    let bytes = file_of(&app_with(10), 4096);
    let first = records(&bytes)[0].clone();
    assert_eq!(
        &bytes[first.start + record::HEADER + 4..first.start + record::HEADER + 6],
        &snapfile::FORMAT_VERSION.to_le_bytes()
    );
    for version in [snapfile::FORMAT_VERSION + 1, 1] {
        let mut payload = bytes[first.start + record::HEADER..first.end].to_vec();
        payload[4..6].copy_from_slice(&version.to_le_bytes());
        let mut other = Vec::new();
        record::encode_into(&mut other, &payload).unwrap();
        other.extend_from_slice(&bytes[first.end..]);
        let err = read(&other).err().unwrap().to_string();
        assert!(
            err.contains(&format!(
                "format version {version} is not supported (this build reads versions 2 to 3)"
            )),
            "{err}"
        );
    }
}

/// An `incr` of `member` with op id `id`.
fn incr(member: &str, id: u128) -> Command {
    Command::Write {
        board: BoardId::new("b"),
        write: Write::new(member, 10, 0).op(WriteOp::Incr).op_id(OpId(id)),
    }
}

/// Applies `cmds` in one batch stamped `now` (as the proposing leader does); whether each was
/// applied.
fn apply_at(app: &mut AppState, now: i64, cmds: Vec<Command>) -> Vec<bool> {
    app.apply(&Batch::new(cmds).proposed_at(now))
        .results
        .into_iter()
        .map(|r| match r.unwrap() {
            crate::command::CommandOutcome::Written(o) => o.applied,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// The op-id memory is in the file whole: each id with the time it was remembered at and the
/// clock, so a restored state forgets exactly what the original forgets, when it does.
#[test]
fn op_ids_survive_a_snapshot_file_with_their_times() {
    let mut app = AppState::new(0, Layout::default());
    app.apply(&Batch::new(vec![Command::CreateBoard {
        board: BoardId::new("b"),
        config: BoardConfig::new().partitions(1),
    }]))
    .results[0]
        .as_ref()
        .unwrap();
    assert_eq!(apply_at(&mut app, 1_000, vec![incr("alice", 1)]), [true]);
    assert_eq!(apply_at(&mut app, 30_000, vec![incr("bob", 2)]), [true]);
    let bytes = file_of(&app, 256);
    let mut back = read(&bytes).unwrap();
    let (s, r) = (app.op_id_stats(), back.op_id_stats());
    assert_eq!((r.entries, r.bytes), (s.entries, s.bytes));
    assert_eq!(r.entries, 2);
    for state in [&mut app, &mut back] {
        // A retry within the horizon is answered from memory, not applied again.
        let retried = apply_at(state, 61_000, vec![incr("alice", 1), incr("bob", 2)]);
        assert_eq!(retried, [false, false]);
        // Past alice's horizon (stamped 1,000) her id is forgotten; bob's (30,000) is not.
        let later = apply_at(state, 61_001, vec![incr("alice", 1), incr("bob", 2)]);
        assert_eq!(later, [true, false]);
        // The clock came along: a batch stamped behind it stamps its id with the clock.
        assert_eq!(apply_at(state, 5_000, vec![incr("carol", 3)]), [true]);
        assert_eq!(apply_at(state, 121_001, vec![incr("carol", 3)]), [false]);
        assert_eq!(apply_at(state, 121_002, vec![incr("carol", 3)]), [true]);
    }
    assert_eq!(listing(&back), listing(&app));
    assert_eq!(file_of(&back, 256), file_of(&app, 256));
}

/// A snapshot file written by the previous release (format 2: boards whose op-id memory was a
/// count of ids, without times), made by that release's `snapfile::write_app`: board `old`, two
/// partitions, `incr`s alice +10 (op id 100), bob +7 (101), carol +3 (102), alice +5 (103), and
/// dave +1 without an op id.
const FORMAT_2_FILE: &[u8] = include_bytes!("../../tests/data/snapshot-format-2.lbs");

#[test]
fn format_2_files_are_read_with_their_op_ids() {
    let (header, mut app) =
        snapfile::read_app(Cursor::new(FORMAT_2_FILE), 0, Layout::default()).unwrap();
    assert_eq!(header.meta, meta());
    let board = app.boards().get("old").unwrap();
    assert_eq!(board.config().op_ids, Default::default());
    assert_eq!(board.config().partitions, 2);
    let scores: Vec<(String, i64)> = board
        .top(10)
        .into_iter()
        .map(|r| (r.entry.member, r.entry.score))
        .collect();
    assert_eq!(
        scores,
        [("alice", 15), ("bob", 7), ("carol", 3), ("dave", 1)].map(|(m, s)| (m.to_string(), s))
    );
    assert_eq!(app.op_id_stats().entries, 4);
    // The ids kept without a time count as remembered at the first batch after the restore:
    // retries are answered from memory for a horizon from then.
    let retry = |id: u128, member: &str, delta: i64| Command::Write {
        board: BoardId::new("old"),
        write: Write::new(member, delta, 0)
            .op(WriteOp::Incr)
            .op_id(OpId(id)),
    };
    let t = 1_800_000_000_000;
    let cmds = || vec![retry(100, "alice", 10), retry(102, "carol", 3)];
    assert_eq!(apply_at(&mut app, t, cmds()), [false, false]);
    assert_eq!(apply_at(&mut app, t + 60_000, cmds()), [false, false]);
    assert_eq!(
        app.boards()
            .get("old")
            .unwrap()
            .entry("alice")
            .unwrap()
            .entry
            .score,
        15
    );
    // Written again, the file is in the current format and reads back the same.
    let bytes = file_of(&app, 256);
    let again = read_with_board(&bytes);
    assert_eq!(again, app.boards().get("old").unwrap().top(10));
    // Opening a state machine directory holding the old file works the same.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(snapfile::FILE), FORMAT_2_FILE).unwrap();
    let (_, handle) = StateMachine::open_with(
        dir.path(),
        AppState::new(0, Layout::default()),
        None,
        SnapshotOptions { record_bytes: 1024 },
    )
    .unwrap();
    assert_eq!(handle.last_applied(), Some(40));
    assert_eq!(handle.op_id_stats().entries, 4);
}

fn read_with_board(bytes: &[u8]) -> Vec<leaderboard_core::RankedEntry> {
    read(bytes).unwrap().boards().get("old").unwrap().top(10)
}

/// The format-1 file as the previous release wrote it.
#[derive(Serialize)]
struct LegacyFile {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

#[test]
fn format_1_snapshot_is_converted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(2000);
    let legacy = LegacyFile {
        meta: meta(),
        data: app.legacy_snapshot().unwrap(),
    };
    std::fs::create_dir_all(dir.path()).unwrap();
    record::write_atomic(
        &dir.path().join(snapfile::LEGACY_FILE),
        &crate::codec::encode(&legacy).unwrap(),
    )
    .unwrap();
    let (_, handle) = StateMachine::open_with(
        dir.path(),
        AppState::new(0, Layout::default()),
        None,
        SnapshotOptions { record_bytes: 1024 },
    )
    .unwrap();
    assert_eq!(handle.snapshot_index(), Some(40));
    assert_eq!(handle.last_applied(), Some(40));
    assert_eq!(
        listing(&handle.shared.state.read().unwrap().app),
        listing(&app)
    );
    assert!(!dir.path().join(snapfile::LEGACY_FILE).exists());
    let converted = std::fs::read(dir.path().join(snapfile::FILE)).unwrap();
    assert!(records(&converted).len() > 10);
    assert_eq!(listing(&read(&converted).unwrap()), listing(&app));
}

#[test]
fn format_1_file_with_a_truncated_length_is_refused() {
    let app = app_with(10);
    let legacy = LegacyFile {
        meta: meta(),
        data: app.legacy_snapshot().unwrap(),
    };
    let mut bytes = Vec::new();
    record::encode_into(&mut bytes, &crate::codec::encode(&legacy).unwrap()).unwrap();
    // What a file over 4 GiB looked like: the length field holds the size modulo 2^32.
    bytes[0..4].copy_from_slice(&7u32.to_le_bytes());
    let err = snapfile::read_legacy_file(&bytes).unwrap_err().to_string();
    assert!(err.contains("truncated length"), "{err}");
}

#[tokio::test]
async fn format_1_data_from_an_old_leader_is_installed() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(1500);
    let (mut sm, handle) = StateMachine::open_with(
        dir.path(),
        AppState::new(0, Layout::default()),
        None,
        SnapshotOptions { record_bytes: 1024 },
    )
    .unwrap();
    let mut data = sm.begin_receiving_snapshot().await.unwrap();
    for piece in app.legacy_snapshot().unwrap().chunks(4096) {
        data.write_all(piece).await.unwrap();
    }
    data.shutdown().await.unwrap();
    sm.install_snapshot(&meta(), data).await.unwrap();
    assert_eq!(handle.last_applied(), Some(40));
    assert_eq!(
        listing(&handle.shared.state.read().unwrap().app),
        listing(&app)
    );
    // Stored in the current format; the reception file is gone.
    let stored = std::fs::read(dir.path().join(snapfile::FILE)).unwrap();
    assert_eq!(listing(&read(&stored).unwrap()), listing(&app));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from(snapfile::FILE)]);
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, meta());
}

/// Entries from index `first` on, one per batch.
fn normal_entries(first: u64, batches: Vec<Vec<Command>>) -> Vec<Entry> {
    batches
        .into_iter()
        .zip(first..)
        .map(|(cmds, i)| Entry {
            log_id: log_id(1, 1, i),
            payload: EntryPayload::Normal(Batch::new(cmds)),
        })
        .collect()
}

fn writes(from: u64, to: u64) -> Vec<Command> {
    (from..to)
        .map(|v| Command::Write {
            board: BoardId::new("b"),
            write: Write::new(format!("m{v}"), v as i64, 0).op_id(OpId(u128::from(v))),
        })
        .collect()
}

/// A state machine whose apply hook records the thread each batch was applied on.
fn recording_sm(
    dir: &Path,
) -> (
    StateMachine,
    StateMachineHandle,
    Arc<Mutex<Vec<std::thread::ThreadId>>>,
) {
    let threads = Arc::new(Mutex::new(Vec::new()));
    let seen = threads.clone();
    let hook: ApplyHook = Arc::new(move |_, _, _| {
        seen.lock().unwrap().push(std::thread::current().id());
    });
    let (sm, handle) =
        StateMachine::open(dir, AppState::new(0, Layout::default()), Some(hook)).unwrap();
    (sm, handle, threads)
}

#[tokio::test]
async fn small_applies_run_in_place_large_ones_on_the_pool_with_the_same_results() {
    let here = std::thread::current().id();
    let create = vec![Command::CreateBoard {
        board: BoardId::new("b"),
        config: BoardConfig::default(),
    }];
    let n = INLINE_APPLY_COMMANDS as u64;

    // In small calls: each runs on the calling thread.
    let dir = tempfile::tempdir().unwrap();
    let (mut small, small_handle, threads) = recording_sm(dir.path());
    let mut small_replies = small
        .apply(normal_entries(1, vec![create.clone(), writes(0, n - 1)]))
        .await
        .unwrap();
    small_replies.extend(
        small
            .apply(normal_entries(3, vec![writes(n, 3 * n)]))
            .await
            .unwrap(),
    );
    assert_eq!(threads.lock().unwrap()[..2], [here, here]);
    assert_ne!(
        threads.lock().unwrap()[2],
        here,
        "{} commands go to the pool",
        2 * n
    );

    // All in one call: on the pool.
    let dir = tempfile::tempdir().unwrap();
    let (mut large, large_handle, threads) = recording_sm(dir.path());
    let large_replies = large
        .apply(normal_entries(
            1,
            vec![create, writes(0, n - 1), writes(n, 3 * n)],
        ))
        .await
        .unwrap();
    assert!(threads.lock().unwrap().iter().all(|t| *t != here));

    assert_eq!(small_replies, large_replies);
    assert_eq!(small_handle.last_applied(), Some(3));
    assert_eq!(large_handle.last_applied(), Some(3));
    assert_eq!(
        listing(&small_handle.shared.state.read().unwrap().app),
        listing(&large_handle.shared.state.read().unwrap().app)
    );
}

#[tokio::test]
async fn a_small_apply_waits_for_a_snapshot_build_instead_of_running_in_place() {
    let here = std::thread::current().id();
    let dir = tempfile::tempdir().unwrap();
    let (mut sm, handle, threads) = recording_sm(dir.path());
    let create = vec![Command::CreateBoard {
        board: BoardId::new("b"),
        config: BoardConfig::default(),
    }];
    sm.apply(normal_entries(1, vec![create])).await.unwrap();

    // A build holds the exclusive lock: the apply cannot take it at once, so it waits for it on
    // the pool, and completes once the build lets go.
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let shared = handle.shared.clone();
    let build = std::thread::spawn(move || {
        let _held = shared.exclusive.lock().unwrap();
        locked.send(()).unwrap();
        released.recv().unwrap();
    });
    is_locked.recv().unwrap();
    let apply = tokio::spawn(async move { sm.apply(normal_entries(2, vec![writes(0, 3)])).await });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!apply.is_finished(), "applied while a build held the lock");
    release.send(()).unwrap();
    build.join().unwrap();
    let replies = apply.await.unwrap().unwrap();
    assert_eq!(replies[0].results.len(), 3);
    assert_eq!(handle.last_applied(), Some(2));
    let threads = threads.lock().unwrap();
    assert_eq!(threads[0], here);
    assert_ne!(threads[1], here);
}
