//! What exactly-once writes cost: leaderboard-core's op-id memory.
//!
//! Workload: a board of 100,000 members `user:00000042` (13-byte ids,
//! default 8 partitions), `incr` writes to random members, applied one at
//! a time the way a shard group applies a committed batch: `apply_at`
//! (replicas, no board-wide ranks) and `write_at` (the leader, full
//! outcome). Each is measured without op ids and with a new op id per
//! write. The op-id clock advances 1 ms every 50 writes (50,000 writes/s)
//! and the horizon is 6 s, so with op ids the memory is in its steady
//! state: ~300,000 ids held, each write remembers one and forgets one.
//!
//! Memory: `MEMORY opids ...` lines give the live heap per remembered id
//! (counting global allocator: heap after minus heap before, divided by
//! the ids remembered, for 100k, 300k and 1M ids) next to the bytes the
//! memory accounts for itself (`Board::op_id_stats`).
//!
//! Run: `cargo bench -p benches --bench opids`.

use std::hint::black_box;
use std::time::Duration;

use benches::workload::{entries, member, updates};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leaderboard_core::{Board, BoardConfig, OpId, OpIdPolicy, Write, WriteOp};

#[global_allocator]
static GLOBAL: benches::alloc::Counting = benches::alloc::Counting;

const MEMBERS: u64 = 100_000;
/// Writes per ms of op-id clock (50,000 writes/s).
const PER_MS: u64 = 50;
const T0: i64 = 1_700_000_000_000;

fn board(horizon_ms: u64) -> Board {
    let cfg = BoardConfig::new()
        .default_op(WriteOp::Incr)
        .op_ids(OpIdPolicy::new().horizon_ms(horizon_ms).max_bytes(u64::MAX));
    let b = Board::new("opids", cfg).unwrap();
    b.bulk_load(entries(MEMBERS)).unwrap();
    b
}

/// Write number `i`: an increment of a random member, with op id `i` if asked.
fn write(ups: &[(String, i64)], i: u64, op_id: bool) -> Write {
    let (m, s) = &ups[i as usize & (ups.len() - 1)];
    let w = Write::new(m.clone(), s % 100, 0);
    if op_id {
        w.op_id(OpId(u128::from(i) + 1))
    } else {
        w
    }
}

fn now(i: u64) -> i64 {
    T0 + (i / PER_MS) as i64
}

fn memory() {
    let ups = updates(MEMBERS, 1 << 20);
    for n in [100_000u64, 300_000, 1_000_000] {
        let b = board(u64::MAX);
        let before = benches::alloc::live_bytes();
        for i in 0..n {
            b.apply_at(write(&ups, i, true), now(i)).unwrap();
        }
        let with = benches::alloc::live_bytes() - before;
        let b2 = board(u64::MAX);
        let before = benches::alloc::live_bytes();
        for i in 0..n {
            b2.apply_at(write(&ups, i, false), now(i)).unwrap();
        }
        let without = benches::alloc::live_bytes().saturating_sub(before);
        let s = b.op_id_stats();
        println!(
            "MEMORY opids ids={n} heap_per_id={:.1} accounted_per_id={:.1} member_id_bytes={}",
            (with - without) as f64 / n as f64,
            s.bytes as f64 / s.entries as f64,
            member(0).len(),
        );
    }
}

fn bench(c: &mut Criterion) {
    memory();
    let ups = updates(MEMBERS, 1 << 20);
    let mut g = c.benchmark_group("opids/100000/p8");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    for op_id in [false, true] {
        let name = if op_id { "with_op_id" } else { "no_op_id" };
        let b = board(6_000);
        // Fill the memory to its steady state before measuring.
        let mut i = 0u64;
        if op_id {
            while i < 8_000 * PER_MS {
                b.apply_at(write(&ups, i, true), now(i)).unwrap();
                i += 1;
            }
            println!("STEADY opids {:?}", b.op_id_stats());
        }
        g.bench_function(format!("apply_at/{name}"), |bench| {
            bench.iter(|| {
                i += 1;
                black_box(b.apply_at(write(&ups, i, op_id), now(i)).unwrap())
            })
        });
        g.bench_function(format!("write_at/{name}"), |bench| {
            bench.iter(|| {
                i += 1;
                black_box(b.write_at(write(&ups, i, op_id), now(i)).unwrap())
            })
        });
        if op_id {
            println!("STEADY opids {:?}", b.op_id_stats());
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
