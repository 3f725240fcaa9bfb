//! Memory bound of snapshots: building one holds a few records besides the state, and installing
//! one holds the new state plus a few records, never the encoded state. Measured with a counting
//! global allocator, so this file holds this one test (other tests would allocate concurrently).

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use leaderboard_core::{BoardConfig, BoardId, OpId, Write};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload};
use shard_node::command::{Batch, Command};
use shard_node::layout::Layout;
use shard_node::state_machine::{AppState, SnapshotOptions, StateMachine};
use shard_node::types::TypeConfig;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Starts a measurement: the peak restarts from the bytes live now, which are returned.
fn start() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

const MEMBERS: u64 = 200_000;
const RECORD: usize = 4 << 10;
/// What building or installing may hold beyond the state: the file buffers (256 KiB each way),
/// a record, one partition's sort keys while its tree is built (16 bytes per member of one
/// partition: 400 KiB here) and bookkeeping. The old whole-state snapshot held several copies of
/// the encoded state (tens of MB here).
const BOUND: usize = 2 << 20;

fn entry(index: u64, commands: Vec<Command>) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(1, 1, index),
        payload: EntryPayload::Normal(Batch::new(commands)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_and_installing_hold_a_few_records_not_the_encoded_state() {
    let dirs = tempfile::tempdir().unwrap();
    let opts = SnapshotOptions {
        record_bytes: RECORD,
    };
    let open = |name: &str| {
        StateMachine::open_with(
            &dirs.path().join(name),
            AppState::new(0, Layout::default()),
            None,
            opts,
        )
        .unwrap()
        .0
    };
    let mut leader = open("leader");
    let board = BoardId::new("big");
    let mut entries = vec![entry(
        1,
        vec![Command::CreateBoard {
            board: board.clone(),
            config: BoardConfig::default(),
        }],
    )];
    for chunk in 0..MEMBERS / 1000 {
        let commands = (chunk * 1000..(chunk + 1) * 1000)
            .map(|v| Command::Write {
                board: board.clone(),
                write: Write::new(format!("member-{v}"), (v * 7919 % 100_003) as i64, v as i64)
                    .op_id(OpId(u128::from(v))),
            })
            .collect();
        entries.push(entry(chunk + 2, commands));
    }
    leader.apply(entries).await.unwrap();

    let before = start();
    let snap = leader
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let build_peak = PEAK.load(Ordering::Relaxed) - before;
    let mut data = snap.snapshot;
    let size = data.seek(std::io::SeekFrom::End(0)).await.unwrap() as usize;
    eprintln!("snapshot {size} bytes; build peak {build_peak} bytes");
    assert!(
        size > 3 * BOUND,
        "the encoded state ({size} bytes) dwarfs the bound"
    );
    assert!(
        build_peak < BOUND,
        "building a {size}-byte snapshot held {build_peak} bytes at its peak"
    );

    // A follower receives the file in chunks, then installs it.
    let mut follower = open("follower");
    let mut incoming = follower.begin_receiving_snapshot().await.unwrap();
    data.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = data.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        incoming.write_all(&buf[..n]).await.unwrap();
    }
    incoming.shutdown().await.unwrap();
    drop(buf);
    let before = start();
    follower
        .install_snapshot(&snap.meta, incoming)
        .await
        .unwrap();
    let peak = PEAK.load(Ordering::Relaxed);
    let state = LIVE.load(Ordering::Relaxed) - before;
    let install_extra = peak - before - state;
    eprintln!("state {state} bytes, install peak beyond it {install_extra} bytes");
    assert!(
        install_extra < BOUND,
        "installing a {size}-byte snapshot into a {state}-byte state held {install_extra} more bytes at its peak"
    );
    assert_eq!(
        follower.applied_state().await.unwrap(),
        leader.applied_state().await.unwrap()
    );
}
