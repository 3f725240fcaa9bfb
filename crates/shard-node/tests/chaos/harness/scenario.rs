//! One chaos run from start to verdict:
//!
//! 1. start the cluster (processes behind proxies) and create the first board;
//! 2. run the workload while the nemesis plays the seed's fault schedule for `secs`;
//! 3. heal everything (SIGCONT, restart, every link passes), stop the workers, wait until every
//!    node is ready;
//! 4. re-send every increment that got no answer, with its op id, until it is answered;
//! 5. read every hot member linearizably: its score must be the sum of its increments (each
//!    applied exactly once: none lost, none doubled);
//! 6. wait until every replica has applied as far as the others, and compare each board on every
//!    replica (local reads): identical, with the same scores;
//! 7. check the history for linearizability, member by member;
//! 8. no node may have exited on its own.
//!
//! Every failure is collected; the run directory (node logs, configurations, data, the full
//! history in `history.txt`, the fault log in `faults.txt`) is kept when anything failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shard_node::client::ShardClient;

use super::cluster::{Cluster, ClusterOptions};
use super::history::{self, Answer, Call, History};
use super::nemesis::{self, Nemesis};
use super::workload::{member_name, Workload, WorkloadOptions, BOARD, FINAL_PROCESS};

/// The seed used when `CHAOS_SEED` is not set.
pub const DEFAULT_SEED: u64 = 20_261_207;

/// Longest wait for the cluster to be ready after healing.
const HEAL_WAIT: Duration = Duration::from_secs(90);

/// Longest time the unanswered increments are re-sent after healing.
const RESEND_FOR: Duration = Duration::from_secs(120);

/// Steps the linearizability search may take per member before it gives up.
const MAX_CHECK_STEPS: u64 = 50_000_000;

/// Everything a run depends on.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `shard-node` binary.
    pub bin: PathBuf,
    /// Seed of the fault schedule, the workload's choices and the proxies' randomness.
    pub seed: u64,
    /// How long the faults go on.
    pub secs: u64,
    /// Concurrent workers.
    pub workers: usize,
    /// Hot members per board.
    pub members: usize,
    /// Groups in the layout.
    pub groups: u32,
    /// `always` or `never`.
    pub fsync: String,
}

fn env_u64(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.map(Some).map_err(|e| format!("{name}={v:?}: {e}"))
        }
        Err(_) => Ok(None),
    }
}

impl Options {
    /// Options from `CHAOS_SEED`, `CHAOS_SECS` (default `default_secs`), `CHAOS_WORKERS`
    /// (6), `CHAOS_GROUPS` (1) and `CHAOS_FSYNC` (`always`).
    pub fn from_env(bin: PathBuf, default_secs: u64) -> Result<Self, String> {
        let fsync = std::env::var("CHAOS_FSYNC").unwrap_or_else(|_| "always".into());
        if fsync != "always" && fsync != "never" {
            return Err(format!("CHAOS_FSYNC={fsync:?}: use always or never"));
        }
        Ok(Self {
            bin,
            seed: env_u64("CHAOS_SEED")?.unwrap_or(DEFAULT_SEED),
            secs: env_u64("CHAOS_SECS")?.unwrap_or(default_secs),
            workers: env_u64("CHAOS_WORKERS")?.unwrap_or(6).max(1) as usize,
            members: 5,
            groups: env_u64("CHAOS_GROUPS")?.unwrap_or(1).clamp(1, 16) as u32,
            fsync,
        })
    }

    /// The environment that repeats this run.
    pub fn replay(&self) -> String {
        format!(
            "CHAOS_SEED={} CHAOS_SECS={} CHAOS_WORKERS={} CHAOS_GROUPS={} CHAOS_FSYNC={}",
            self.seed, self.secs, self.workers, self.groups, self.fsync
        )
    }
}

/// Runs the scenario in a fresh temporary directory. `Ok` is a summary; `Err` describes every
/// failure and where the run directory was kept.
pub async fn run(o: &Options) -> Result<String, String> {
    if !o.bin.exists() {
        return Err(format!(
            "{} does not exist (build it: cargo build --release -p shard-node)",
            o.bin.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("shard-chaos-{}-", o.seed))
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    match run_in(o, dir.path()).await {
        Ok(summary) => Ok(summary),
        Err(report) => {
            let kept = dir.keep();
            Err(format!(
                "chaos run failed ({}):\n{report}\nrun directory kept: {} (logs/, history.txt, \
                 faults.txt)",
                o.replay(),
                kept.display()
            ))
        }
    }
}

async fn run_in(o: &Options, dir: &Path) -> Result<String, String> {
    let total = Duration::from_secs(o.secs);
    let steps = nemesis::schedule(o.seed, total, o.groups);
    eprintln!(
        "chaos: {} in {}; {} scheduled faults",
        o.replay(),
        dir.display(),
        steps.len()
    );
    let mut cluster = Cluster::start(
        &o.bin,
        dir,
        &ClusterOptions {
            nodes: 3,
            groups: o.groups,
            fsync: o.fsync.clone(),
            seed: o.seed,
        },
    )
    .await?;
    let outcome = drive(o, &mut cluster, &steps, dir).await;
    cluster.shutdown().await;
    outcome
}

async fn drive(
    o: &Options,
    cluster: &mut Cluster,
    steps: &[nemesis::Step],
    dir: &Path,
) -> Result<String, String> {
    let history = Arc::new(History::new());
    let mut cfg = cluster.client_config()?;
    // Short attempts and a short retry budget, so that faults leave writes without an answer
    // (the case exactly-once is about) instead of only slowing them down.
    cfg.rpc_timeout = Duration::from_secs(1);
    cfg.retry_for = Duration::from_secs(4);
    let mut clients = Vec::new();
    for _ in 0..o.workers {
        clients.push(
            ShardClient::connect(cfg.clone())
                .await
                .map_err(|e| format!("client: {e}"))?,
        );
    }
    let workload = Arc::new(Workload::new(
        clients,
        history.clone(),
        o.seed,
        WorkloadOptions {
            workers: o.workers,
            members: o.members,
            // Writers, pure readers (their leader cache moves only when a read fails), and
            // mixes.
            incr_per_mille: vec![900, 0, 500, 100],
            think_ms: 20,
            // An increment may be re-sent after healing, up to the whole run after its first
            // attempt: the board remembers op ids longer than that (the default minute covers a
            // client's own retries, not a run of minutes).
            op_id_horizon: Duration::from_secs(o.secs)
                + Duration::from_secs(60)
                + HEAL_WAIT
                + RESEND_FOR
                + Duration::from_secs(60),
        },
    ));
    tokio::time::timeout(Duration::from_secs(60), workload.ensure_board())
        .await
        .map_err(|_| "could not create the board in 60 s".to_string())?;

    // Faults and workload.
    let mut nemesis = Nemesis::new(o.seed, history.start());
    let workers = workload.spawn();
    let until = Instant::now() + Duration::from_secs(o.secs);
    let faults = nemesis.run(cluster, steps, until).await;
    workload.stop();
    let mut failures: Vec<String> = Vec::new();
    for w in workers {
        if tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .is_err()
        {
            failures.push("a worker's operation did not return within 60 s".into());
        }
    }
    let _ = std::fs::write(dir.join("faults.txt"), nemesis.log.join("\n"));
    faults?;
    cluster.wait_ready(HEAL_WAIT).await?;

    // Unanswered increments, re-sent.
    let resent = match workload.resolve(Instant::now() + RESEND_FOR).await {
        Ok(n) => n,
        Err(e) => {
            failures.push(format!("after healing, increments stayed unanswered:\n{e}"));
            0
        }
    };

    // Exactly once: final linearizable reads against the sums of the increments.
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut doubtful = 0;
    for r in history.records() {
        if let Call::Incr { delta, .. } = r.call {
            *expected
                .entry((r.board.clone(), r.member.clone()))
                .or_default() += delta;
            if matches!(r.answer, Answer::Unknown(_)) {
                doubtful += 1;
            }
        }
    }
    let board = BOARD.to_string();
    for m in 0..o.members {
        let member = member_name(m);
        let want = expected
            .get(&(board.clone(), member.clone()))
            .copied()
            .unwrap_or(0);
        match workload.final_read(&board, &member).await {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{board}/{member}: final score {got}, but its increments add up to {want} \
                 ({})",
                if got > want {
                    "some increment was applied more than once"
                } else {
                    "some acknowledged increment was lost"
                }
            )),
            Err(e) => failures.push(e),
        }
    }
    if doubtful > 0 {
        failures.push(format!(
            "{doubtful} increments stayed without an answer, so the sums above are not exact"
        ));
    }

    // Every replica holds the same boards.
    if let Err(e) = replicas_agree(cluster, BOARD, &expected, o.members).await {
        failures.push(e);
    }

    // Linearizability, member by member.
    let records = history.records();
    write_history(dir, &records);
    let check_start = Instant::now();
    let keys = history::by_key(&records);
    for ((board, member), recs) in &keys {
        if let Err(e) = history::check_key(recs, MAX_CHECK_STEPS) {
            failures.push(format!("{board}/{member}: {e}"));
        }
    }
    let check_time = check_start.elapsed();

    failures.extend(cluster.unexpected_exits.iter().cloned());

    // The run must have exercised something.
    let incrs = records
        .iter()
        .filter(|r| matches!(r.answer, Answer::Incr { .. }) && !r.resent)
        .count();
    let reads = records
        .iter()
        .filter(|r| matches!(r.answer, Answer::Read(_)) && r.process != FINAL_PROCESS)
        .count();
    if incrs == 0 || reads == 0 || nemesis.applied == 0 {
        failures.push(format!(
            "the run checked nothing: {incrs} answered increments, {reads} reads, {} faults",
            nemesis.applied
        ));
    }

    let mut summary = String::new();
    let _ = writeln!(summary, "chaos run {}", o.replay());
    let _ = writeln!(
        summary,
        "  {} faults applied; {} increments invoked, {incrs} answered by the workload, \
         {resent} answered only when re-sent after healing; {reads} linearizable reads by the \
         workload",
        nemesis.applied,
        workload.increments(),
    );
    let from_memory = records
        .iter()
        .filter(|r| matches!(r.answer, Answer::Incr { applied: false, .. }))
        .count();
    let _ = writeln!(
        summary,
        "  {from_memory} increments answered from op-id memory (a retry of an attempt that had \
         been applied); {} members checked in {:.1} s",
        keys.len(),
        check_time.as_secs_f64()
    );
    let dropped = cluster
        .net
        .dropped
        .load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(summary, "  proxies dropped {dropped} packets");
    let _ = writeln!(summary, "  faults:\n    {}", nemesis.log.join("\n    "));
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(format!("{}\n{summary}", failures.join("\n\n")))
    }
}

/// Waits until every node applied as far as any other, then compares each board's entries on
/// every replica, and the hot members' scores with the expected sums.
async fn replicas_agree(
    cluster: &Cluster,
    board: &str,
    expected: &BTreeMap<(String, String), i64>,
    members: usize,
) -> Result<(), String> {
    for g in cluster.layout.group_ids() {
        let mut target = None;
        for id in cluster.ids() {
            if let Some(s) = cluster.status(id, g).await {
                target = target.max(s.last_applied);
            }
        }
        let start = Instant::now();
        for id in cluster.ids() {
            loop {
                let applied = cluster.status(id, g).await.and_then(|s| s.last_applied);
                if applied >= target {
                    break;
                }
                if start.elapsed() > Duration::from_secs(60) {
                    return Err(format!(
                        "group {g}: node {id} applied {applied:?}, not {target:?}, 60 s after \
                         the writes stopped"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let board = board.to_string();
        let mut first: Option<(u64, Vec<leaderboard_core::Entry>)> = None;
        for id in cluster.ids() {
            let entries = cluster.local_board(id, g, &board).await?;
            for e in &entries {
                let want = expected
                    .get(&(board.clone(), e.member.clone()))
                    .copied()
                    .unwrap_or(0);
                if e.score != want {
                    return Err(format!(
                        "node {id} holds {board}/{} at {} (its increments add up to {want})",
                        e.member, e.score
                    ));
                }
            }
            if entries.len() > members {
                return Err(format!(
                    "node {id} holds {} entries on {board}",
                    entries.len()
                ));
            }
            match &first {
                None => first = Some((id, entries)),
                Some((other, theirs)) if *theirs != entries => {
                    return Err(format!(
                        "group {g}, {board}: node {id} holds {entries:?}, node {other} \
                         holds {theirs:?}"
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn write_history(dir: &Path, records: &[history::Record]) {
    let mut text = String::new();
    for r in records {
        let _ = writeln!(text, "{r}");
    }
    let _ = std::fs::write(dir.join("history.txt"), text);
}
