//! Loads a board of a million members in one call and reports the memory it takes.
//!
//! ```sh
//! cargo run --release -p leaderboard-core --example bulk_load            # 1,000,000 members
//! cargo run --release -p leaderboard-core --example bulk_load -- 100000 1  # members, partitions
//! ```
//!
//! The size can also come from `LB_EXAMPLE_MEMBERS`. Memory is measured two ways: a counting
//! global allocator (live heap bytes, what the board asked for) and, on Linux, the process's
//! resident set from `/proc/self/status` (what the kernel gave it, allocator overhead included).
//! Ids are `user:00000042` (13 bytes), scores uniform in 0..1,000,000, as in the benchmarks of
//! `docs/PERFORMANCE.md`, so at 1M members the bytes per member beyond the id are the ones
//! reported there (smaller boards carry relatively more slack). Build with `--release` for the
//! load time to mean anything.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use leaderboard_core::{Board, BoardConfig, Entry, RankStyle};

/// Counts live heap bytes: every allocation adds its size, every free subtracts it.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A line of `/proc/self/status` in bytes, e.g. `VmRSS` (resident now) or `VmHWM` (peak);
/// `None` off Linux.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let members: u64 = match args
        .next()
        .or_else(|| std::env::var("LB_EXAMPLE_MEMBERS").ok())
    {
        Some(n) => n.replace('_', "").parse()?,
        None => 1_000_000,
    };
    let partitions: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(8);

    // Everything allocated from here on and still live after the load is the board's.
    let heap_before = LIVE.load(Ordering::Relaxed);
    let board = Board::new("bulk", BoardConfig::default().partitions(partitions))?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let entries: Vec<Entry> = (0..members)
        .map(|i| Entry::new(format!("user:{i:08}"), (rng.next() % 1_000_000) as i64, 0))
        .collect();
    let id_bytes: u64 = entries.iter().map(|e| e.member.len() as u64).sum();

    let start = Instant::now();
    // Consumes the entries: one sorted bulk build per partition, partitions in parallel.
    board.bulk_load(entries)?;
    let took = start.elapsed();
    // The input vector and its strings are freed by now.
    let board_heap = LIVE.load(Ordering::Relaxed).saturating_sub(heap_before) as u64;

    println!(
        "loaded {members} members into {partitions} partitions in {:.2?} ({:.0} members/s)",
        took,
        members as f64 / took.as_secs_f64()
    );
    let usage = board.memory();
    println!(
        "board's own accounting: {:.1} MiB, {:.1} bytes per member beyond the id ({:.1} with it)",
        mib(usage.index_bytes + usage.member_bytes + usage.metadata_bytes),
        usage.bytes_per_entry_beyond_id(),
        (usage.index_bytes + usage.member_bytes) as f64 / members.max(1) as f64,
    );
    println!(
        "counting allocator:     {:.1} MiB live heap held by the board, {:.1} bytes per member \
         beyond the id",
        mib(board_heap),
        board_heap.saturating_sub(id_bytes) as f64 / members.max(1) as f64,
    );
    if let (Some(now), Some(peak)) = (proc_status_bytes("VmRSS"), proc_status_bytes("VmHWM")) {
        println!(
            "resident set:           {:.1} MiB for the whole process now, {:.1} MiB at its peak \
             (while the input entries and the board both existed)",
            mib(now),
            mib(peak),
        );
    }

    // The board answers at once.
    let top = board.top(3);
    let leader = &top[0].entry.member;
    println!(
        "top 3: {:?}",
        top.iter()
            .map(|r| (r.rank, r.entry.member.as_str(), r.entry.score))
            .collect::<Vec<_>>()
    );
    let probe = format!("user:{:08}", members / 2);
    println!(
        "{probe} is #{} ({:.1}th percentile); the leader is {leader}",
        board.rank(&probe, RankStyle::Ordinal).unwrap_or(0),
        board.percentile(&probe).unwrap_or(0.0),
    );
    assert_eq!(board.count(), members);
    assert_eq!(usage.entries, members);
    Ok(())
}
