//! Profiling driver for leaderboard-core, one operation per process so
//! `perf record` sees only it:
//!
//! `cargo run --release -p benches --bin hotpath -- <op> [members] [partitions] [iterations]`
//!
//! `op` is `rank`, `around` (5 + 5), `top` (100), `update` (`Board::write`),
//! `apply` (`Board::apply`), `batch` (`Board::apply_batch` of 1024) or
//! `memory` (bytes per entry, bulk-loaded and written; no timing). The
//! board is bulk-loaded with the criterion bench's workload
//! ([`benches::workload`]); writes replay 2^20 random updates, reads 2^16
//! random members, like the bench. Prints wall-clock and thread-CPU ns/op.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context};
use benches::workload::{entries, probes, updates};
use leaderboard_core::{Board, BoardConfig, RankStyle, Write};

/// CPU time of this thread in ns (Linux; 0 elsewhere), so a busy machine
/// inflates the numbers less than wall time does.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> anyhow::Result<T> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .ok()
            .with_context(|| format!("argument {i}: cannot parse {s:?}")),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("rank", String::as_str);
    let n: u64 = arg(&args, 2, 1_000_000)?;
    let p: u16 = arg(&args, 3, 1)?;
    let iters: usize = arg(&args, 4, 2_000_000)?;
    if ![
        "rank", "around", "top", "update", "apply", "batch", "memory",
    ]
    .contains(&op)
        || n == 0
    {
        bail!(
            "usage: hotpath rank|around|top|update|apply|batch|memory [members>0] [partitions] [iterations]"
        );
    }
    let config = BoardConfig::new().partitions(p);
    let board = Board::new("hotpath", config.clone())?;
    board.bulk_load(entries(n))?;
    if op == "memory" {
        // The board's own accounting (it matches the criterion bench's
        // counting allocator), bulk-loaded and built by single writes.
        let written = Board::new("written", config)?;
        for e in entries(n) {
            written.apply(Write::new(e.member, e.score, 0))?;
        }
        println!(
            "memory n={n} p={p}: {:.1} B/entry beyond the id bulk-loaded, {:.1} written",
            board.memory().bytes_per_entry_beyond_id(),
            written.memory().bytes_per_entry_beyond_id()
        );
        return Ok(());
    }
    let writes = updates(n, 1 << 20);
    let reads = probes(n, 1 << 16);
    let write = |i: usize| {
        let (m, s) = &writes[i & (writes.len() - 1)];
        Write::new(m.clone(), *s, 0)
    };
    let read = |i: usize| &reads[i & (reads.len() - 1)];

    let started = Instant::now();
    let cpu = cpu_ns();
    let mut i = 0;
    while i < iters {
        match op {
            "rank" => {
                black_box(board.rank(read(i), RankStyle::Ordinal));
            }
            "around" => {
                black_box(board.around(read(i), 5, 5));
            }
            "top" => {
                black_box(board.top(100));
            }
            "update" => {
                black_box(board.write(write(i))?);
            }
            "apply" => {
                black_box(board.apply(write(i))?);
            }
            _ => {
                black_box(board.apply_batch((i..i + 1024).map(write).collect()));
                i += 1023;
            }
        }
        i += 1;
    }
    let wall = started.elapsed().as_nanos() as f64 / i as f64;
    let cpu = (cpu_ns() - cpu) as f64 / i as f64;
    println!("{op} n={n} p={p}: {wall:.0} ns/op wall, {cpu:.0} ns/op cpu");
    println!("memory: {:?}", board.memory());
    Ok(())
}
