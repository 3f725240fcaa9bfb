//! Chaos test with real processes: three `shard-node run` processes, each behind a UDP proxy,
//! a client workload of `incr` on a few hot members plus linearizable reads, while a seeded
//! schedule SIGKILLs and SIGSTOPs leaders and followers, partitions, delays and thins out the
//! network between them. The history is checked for linearizability, every increment must be
//! applied exactly once, and every replica must end up with the same boards (see
//! `harness::scenario` for the steps).
//!
//! ```text
//! cargo test -p shard-node --test chaos                        # default seed, 60 s of faults
//! CHAOS_SEED=7 CHAOS_SECS=300 cargo test -p shard-node --test chaos -- --nocapture
//! ```
//!
//! The seed fixes the fault schedule and the workload's choices; which node is the leader when a
//! fault hits, and the exact interleaving, depend on timing. A failure prints the seed, the
//! operations around the violation, the fault log, and keeps the run directory (node logs,
//! `history.txt`). `cargo bench -p benches --bench chaos` runs the same scenario for longer,
//! over several seeds, against a release build.

mod harness;
mod unit;

use harness::scenario::{self, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_with_real_processes() {
    let opts = Options::from_env(env!("CARGO_BIN_EXE_shard-node").into(), 60)
        .expect("CHAOS_* environment");
    match scenario::run(&opts).await {
        Ok(summary) => eprintln!("{summary}"),
        Err(report) => panic!("{report}"),
    }
}
