//! leaderboard-core against Redis, same workload, same run.
//!
//! Workload: N members `user:00000042` (13-byte ids), scores uniform in
//! 0..1,000,000 (so ties happen), one board with the default 8 partitions
//! and ordinal ranks. Ours is measured in process on one thread; Redis
//! (a plain local `redis-server`, `REDIS_BENCH_URL`, default
//! `redis://127.0.0.1:6399`) through the `redis` crate, pipelined in
//! batches so the per-op number is Redis' best case, plus one
//! unpipelined round trip for reference.
//!
//! Sizes: `LB_BENCH_SIZES` (default `1000000,10000000`); partition counts
//! of our board: `LB_BENCH_PARTITIONS` (default `8,1`). Memory per entry
//! is printed as `MEMORY ...` lines: ours from a counting global
//! allocator, Redis from `INFO memory` `used_memory` deltas.
//!
//! Run: `cargo bench -p benches --bench core`. The Redis server's data is
//! flushed (FLUSHDB on db 0): never point it at a server that matters.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::workload::{entries, probes, updates};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use leaderboard_core::{Board, BoardConfig, Fanout, RankStyle, Write};

#[global_allocator]
static GLOBAL: benches::alloc::Counting = benches::alloc::Counting;

fn sizes() -> Vec<u64> {
    std::env::var("LB_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
}

/// Ours: memory of the bulk-loaded and of the write-built board.
fn memory_ours(n: u64) {
    let list = entries(n);
    let id_bytes: usize = list.iter().map(|e| e.member.len()).sum();
    let before = benches::alloc::live_bytes();
    let board = Board::new("mem", BoardConfig::default()).unwrap();
    board.bulk_load(list.clone()).unwrap();
    let bulk = benches::alloc::live_bytes() - before;
    drop(board);
    let before = benches::alloc::live_bytes();
    let board = Board::new("mem", BoardConfig::default()).unwrap();
    for e in &list {
        board
            .apply(Write::new(e.member.clone(), e.score, 0))
            .unwrap();
    }
    let written = benches::alloc::live_bytes() - before;
    let m = board.memory();
    println!(
        "MEMORY ours n={n} bulk_total_per_entry={:.1} bulk_beyond_id={:.1} \
         written_total_per_entry={:.1} written_beyond_id={:.1} id_bytes_per_entry={:.1} \
         (self-reported index beyond id+handle: {:.1})",
        bulk as f64 / n as f64,
        (bulk - id_bytes) as f64 / n as f64,
        written as f64 / n as f64,
        (written - id_bytes) as f64 / n as f64,
        id_bytes as f64 / n as f64,
        m.bytes_per_entry_beyond_id(),
    );
}

fn partitions() -> Vec<u16> {
    std::env::var("LB_BENCH_PARTITIONS")
        .unwrap_or_else(|_| "8,1".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn bench_ours(c: &mut Criterion, n: u64, p: u16) {
    let cfg = BoardConfig::new().partitions(p);
    let board = Board::new("bench", cfg).unwrap();
    board.bulk_load(entries(n)).unwrap();
    let ups = updates(n, 1 << 20);
    let keys = probes(n, 1 << 16);
    let mut g = c.benchmark_group(format!("ours/{n}/p{p}"));
    configure(&mut g);
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("update", |b| {
        b.iter(|| {
            let (m, s) = &ups[i & (ups.len() - 1)];
            i += 1;
            black_box(board.write(Write::new(m.clone(), *s, 0)).unwrap());
        })
    });
    let mut i = 0usize;
    g.bench_function("update_no_feed", |b| {
        b.iter(|| {
            let (m, s) = &ups[i & (ups.len() - 1)];
            i += 1;
            black_box(board.apply(Write::new(m.clone(), *s, 0)).unwrap());
        })
    });
    let mut i = 0usize;
    g.throughput(Throughput::Elements(1024));
    g.bench_function("update_batch1024", |b| {
        b.iter(|| {
            let ws: Vec<Write> = (0..1024)
                .map(|k| {
                    let (m, s) = &ups[(i + k) & (ups.len() - 1)];
                    Write::new(m.clone(), *s, 0)
                })
                .collect();
            i += 1024;
            black_box(board.apply_batch(ws));
        })
    });
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("rank", |b| {
        b.iter(|| {
            i += 1;
            black_box(board.rank(&keys[i & (keys.len() - 1)], RankStyle::Ordinal))
        })
    });
    g.bench_function("top100_cached", |b| b.iter(|| black_box(board.top(100))));
    g.bench_function("top100", |b| {
        b.iter(|| black_box(board.top_with(100, Fanout::Sequential)))
    });
    g.bench_function("top100_parallel", |b| {
        b.iter(|| black_box(board.top_with(100, Fanout::Parallel)))
    });
    let mut i = 0usize;
    g.bench_function("around5", |b| {
        b.iter(|| {
            i += 1;
            black_box(board.around(&keys[i & (keys.len() - 1)], 5, 5))
        })
    });
    g.finish();
}

const ZSET: &str = "lb:bench";
const AROUND_LUA: &str = r#"
local r = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not r then return {} end
local lo = r - tonumber(ARGV[2])
if lo < 0 then lo = 0 end
return redis.call('ZREVRANGE', KEYS[1], lo, r + tonumber(ARGV[2]), 'WITHSCORES')
"#;

fn used_memory(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

fn bench_redis(c: &mut Criterion, n: u64) {
    let url = std::env::var("REDIS_BENCH_URL").unwrap_or_else(|_| "redis://127.0.0.1:6399".into());
    let client = redis::Client::open(url.as_str()).expect("REDIS_BENCH_URL is a redis:// URL");
    let mut con = client.get_connection().unwrap_or_else(|e| {
        panic!(
            "no Redis at {url} ({e}); start one: \
             redis-server --port 6399 --save '' --appendonly no --daemonize yes"
        )
    });
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    let before = used_memory(&mut con);
    for chunk in entries(n).chunks(10_000) {
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(ZSET);
        for e in chunk {
            cmd.arg(e.score).arg(&e.member);
        }
        let _: () = cmd.query(&mut con).unwrap();
    }
    let after = used_memory(&mut con);
    let ids = 13.0;
    println!(
        "MEMORY redis n={n} used_memory_per_entry={:.1} beyond_id={:.1}",
        (after - before) as f64 / n as f64,
        (after - before) as f64 / n as f64 - ids,
    );
    let ups = updates(n, 1 << 20);
    let keys = probes(n, 1 << 16);
    let around = redis::Script::new(AROUND_LUA);
    let _sha: String = around.prepare_invoke().load(&mut con).unwrap();
    let mut g = c.benchmark_group(format!("redis/{n}"));
    configure(&mut g);
    const BATCH: usize = 1000;
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut i = 0usize;
    g.bench_function("update_pipelined", |b| {
        b.iter(|| {
            let mut p = redis::pipe();
            for _ in 0..BATCH {
                let (m, s) = &ups[i & (ups.len() - 1)];
                i += 1;
                p.cmd("ZADD").arg(ZSET).arg(*s).arg(m).ignore();
            }
            let _: () = p.query(&mut con).unwrap();
        })
    });
    const READS: usize = 100;
    g.throughput(Throughput::Elements(READS as u64));
    let mut i = 0usize;
    g.bench_function("rank_pipelined", |b| {
        b.iter(|| {
            let mut p = redis::pipe();
            for _ in 0..READS {
                i += 1;
                p.cmd("ZREVRANK").arg(ZSET).arg(&keys[i & (keys.len() - 1)]);
            }
            black_box(p.query::<Vec<Option<u64>>>(&mut con).unwrap())
        })
    });
    g.bench_function("top100_pipelined", |b| {
        b.iter(|| {
            let mut p = redis::pipe();
            for _ in 0..READS {
                p.cmd("ZREVRANGE")
                    .arg(ZSET)
                    .arg(0)
                    .arg(99)
                    .arg("WITHSCORES");
            }
            black_box(p.query::<Vec<Vec<(String, i64)>>>(&mut con).unwrap())
        })
    });
    let mut i = 0usize;
    g.bench_function("around5_pipelined", |b| {
        b.iter(|| {
            let mut p = redis::pipe();
            for _ in 0..READS {
                i += 1;
                p.cmd("EVALSHA")
                    .arg(around.get_hash())
                    .arg(1)
                    .arg(ZSET)
                    .arg(&keys[i & (keys.len() - 1)])
                    .arg(5);
            }
            black_box(p.query::<Vec<Vec<(String, i64)>>>(&mut con).unwrap())
        })
    });
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("rank_one_round_trip", |b| {
        b.iter(|| {
            i += 1;
            let r: Option<u64> = redis::cmd("ZREVRANK")
                .arg(ZSET)
                .arg(&keys[i & (keys.len() - 1)])
                .query(&mut con)
                .unwrap();
            black_box(r)
        })
    });
    g.finish();
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
}

fn all(c: &mut Criterion) {
    for n in sizes() {
        let t = Instant::now();
        memory_ours(n);
        for p in partitions() {
            bench_ours(c, n, p);
        }
        bench_redis(c, n);
        println!("SIZE n={n} done in {:.1}s", t.elapsed().as_secs_f64());
    }
}

criterion_group!(benches, all);
criterion_main!(benches);
