//! Profiling driver: `cargo run --release -p leaderboard-core --example hotpath -- <op> <n> <p>`
//! where op is `rank`, `update`, `apply`, `around` or `top`. Prints ns/op.
use leaderboard_core::{Board, BoardConfig, Entry, RankStyle, Write};
use std::hint::black_box;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// CPU time of this thread in ns (Linux; 0 elsewhere), so a busy machine
/// inflates the numbers less than wall time does.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("rank", String::as_str).to_string();
    let n: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let p: u16 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let iters: usize = args
        .get(4)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let mut rng = Rng(42);
    let entries: Vec<Entry> = (0..n)
        .map(|i| Entry::new(format!("user:{i:08}"), (rng.next() % 1_000_000) as i64, 0))
        .collect();
    let board = Board::new(
        "b",
        BoardConfig {
            partitions: p,
            ..Default::default()
        },
    )
    .unwrap();
    board.bulk_load(entries).unwrap();
    let mut rng = Rng(7);
    let work: Vec<(String, i64)> = (0..1 << 20)
        .map(|_| {
            (
                format!("user:{:08}", rng.next() % n),
                (rng.next() % 1_000_000) as i64,
            )
        })
        .collect();
    // Like the criterion bench: reads replay 2^16 members, writes 2^20.
    let mask = if op == "update" || op == "apply" || op == "batch" {
        (1 << 20) - 1
    } else {
        (1 << 16) - 1
    };
    let t = Instant::now();
    let cpu = cpu_ns();
    if op == "batch" {
        let mut i = 0;
        while i < iters {
            let ws: Vec<Write> = (i..i + 1024)
                .map(|j| {
                    let (m, s) = &work[j & mask];
                    Write::new(m.clone(), *s, 0)
                })
                .collect();
            black_box(board.apply_batch(ws));
            i += 1024;
        }
    }
    for i in 0..if op == "batch" { 0 } else { iters } {
        let (m, s) = &work[i & mask];
        match op.as_str() {
            "rank" => {
                black_box(board.rank(m, RankStyle::Ordinal));
            }
            "update" => {
                black_box(board.write(Write::new(m.clone(), *s, 0)).unwrap());
            }
            "apply" => {
                black_box(board.apply(Write::new(m.clone(), *s, 0)).unwrap());
            }
            "around" => {
                black_box(board.around(m, 5, 5));
            }
            _ => {
                black_box(board.top(100));
            }
        }
    }
    let el = t.elapsed();
    let cpu = cpu_ns() - cpu;
    println!(
        "{op} n={n} p={p}: {:.0} ns/op wall, {:.0} ns/op cpu",
        el.as_nanos() as f64 / iters as f64,
        cpu as f64 / iters as f64
    );
    println!("memory: {:?}", board.memory());
}
