//! Long chaos runs against a release build: the same scenario as the `chaos` test of
//! `shard-node` (three `shard-node run` processes behind UDP proxies; SIGKILL, SIGSTOP,
//! partitions, delay and loss; a recorded `incr`/read workload checked for linearizability,
//! exactly-once increments and replica agreement), for minutes instead of one, over several
//! seeds. The harness is that test's own code, included by path.
//!
//! ```text
//! cargo build --release -p shard-node                  # the node binary the runs start
//! cargo bench -p benches --bench chaos                 # seeds 1..=3, 300 s of faults each
//! CHAOS_SEEDS=7,8 CHAOS_SECS=900 CHAOS_GROUPS=2 cargo bench -p benches --bench chaos
//! SHARD_NODE_BIN=/path/to/shard-node cargo bench -p benches --bench chaos
//! ```
//!
//! `CHAOS_WORKERS` and `CHAOS_FSYNC` work as in the test. Each run prints its summary (faults
//! applied, operations, increments answered from op-id memory); a failing run prints the
//! violation and keeps its run directory. The process exits non-zero if any run failed. Long
//! runs stay exact on exactly-once on their one board: it remembers op ids for longer than the
//! run plus its healing and re-send time (the op-id horizon is set from `CHAOS_SECS`).

#[path = "../../crates/shard-node/tests/chaos/harness/mod.rs"]
mod harness;

use std::path::PathBuf;

use harness::scenario::{self, Options};

/// The release binary of this workspace, unless `SHARD_NODE_BIN` names another.
fn node_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SHARD_NODE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release").join("shard-node")
}

fn seeds() -> Result<Vec<u64>, String> {
    match std::env::var("CHAOS_SEEDS") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|e| format!("CHAOS_SEEDS={list:?}: {e}"))
            })
            .collect(),
        Err(_) => Ok(vec![1, 2, 3]),
    }
}

fn main() {
    let base = match Options::from_env(node_binary(), 300) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // A single CHAOS_SEED runs that seed only.
    let seeds = if std::env::var_os("CHAOS_SEED").is_some() {
        Ok(vec![base.seed])
    } else {
        seeds()
    };
    let seeds = seeds.unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut failed = Vec::new();
    for seed in seeds {
        let opts = Options {
            seed,
            ..base.clone()
        };
        match rt.block_on(scenario::run(&opts)) {
            Ok(summary) => println!("{summary}"),
            Err(report) => {
                println!("{report}");
                failed.push(seed);
            }
        }
    }
    if !failed.is_empty() {
        println!("chaos: seeds {failed:?} failed");
        std::process::exit(1);
    }
}
