//! Rough per-call costs of the hot paths on one thread (a quick check
//! next to the criterion bench in `benches/benches/core.rs`).
//!
//! `cargo run --release -p leaderboard-core --example probe_cost -- 1000000 8`
use std::hint::black_box;
use std::time::Instant;

use leaderboard_core::{Board, BoardConfig, Entry, RankStyle, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let p: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let mut x = 42u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let board = Board::new(
        "b",
        BoardConfig {
            partitions: p,
            ..Default::default()
        },
    )
    .unwrap();
    let entries: Vec<Entry> = (0..n)
        .map(|i| Entry::new(format!("user:{i:08}"), (rnd() % 1_000_000) as i64, 0))
        .collect();
    board.bulk_load(entries).unwrap();
    let keys: Vec<String> = (0..100_000)
        .map(|_| format!("user:{:08}", rnd() % n))
        .collect();
    let t = Instant::now();
    for k in &keys {
        black_box(board.rank(k, RankStyle::Ordinal));
    }
    println!(
        "rank           {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let t = Instant::now();
    for k in &keys {
        black_box(board.entry(k));
    }
    println!(
        "entry          {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let t = Instant::now();
    for (i, k) in keys.iter().enumerate() {
        black_box(
            board
                .apply(Write::new(k.clone(), i as i64 % 1_000_000, 0))
                .unwrap(),
        );
    }
    println!(
        "apply          {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let t = Instant::now();
    for (i, k) in keys.iter().enumerate() {
        black_box(
            board
                .write(Write::new(k.clone(), i as i64 % 999_983, 0))
                .unwrap(),
        );
    }
    println!(
        "write (feed)   {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let t = Instant::now();
    for _ in 0..10_000 {
        black_box(board.top(100));
    }
    println!(
        "top(100)       {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / 10_000.0
    );
    let t = Instant::now();
    for k in keys.iter().take(10_000) {
        black_box(board.around(k, 5, 5));
    }
    println!(
        "around(5,5)    {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / 10_000.0
    );
    let t = Instant::now();
    for k in &keys {
        black_box(board.rank(k, RankStyle::Ordinal));
    }
    println!(
        "rank (again)   {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let s0 = board.standings(Default::default()).unwrap();
    let t = Instant::now();
    for k in &keys {
        let part = s0.partition(leaderboard_core::partition_of(k, p)).unwrap();
        black_box(part.get(k));
    }
    println!(
        "partition get  {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let ks: Vec<_> = keys
        .iter()
        .map(|k| {
            s0.partition(leaderboard_core::partition_of(k, p))
                .unwrap()
                .key_of(k)
                .unwrap()
        })
        .collect();
    let t = Instant::now();
    for k in &ks {
        black_box(s0.partition(0).unwrap().count_above(k));
    }
    println!(
        "count_above 1p {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
    let t = Instant::now();
    let mut s = 0u64;
    for k in &keys {
        s += leaderboard_core::member_hash(k);
    }
    black_box(s);
    println!(
        "member_hash    {:>8.0} ns",
        t.elapsed().as_nanos() as f64 / keys.len() as f64
    );
}
