//! The client workload: concurrent workers doing `incr` on a few hot members and linearizable
//! reads of them. Each worker has its own `ShardClient` (its own QUIC endpoint and leader
//! cache), as separate gateways do, and reaches the nodes through the proxies. Workers differ in
//! their mix: some mostly write, some mostly read. A reader that keeps talking to a leader which
//! lost its majority, while writers have moved on to the new leader, is what catches a read
//! served without confirming leadership.
//!
//! Every `incr` carries its own op id, so the client's retries across leader changes (and the
//! re-sends after healing) cannot apply it twice, as long as the partition still remembers the
//! id. A partition remembers a bounded number of op ids (`BoardConfig::dedupe_capacity`, its
//! last 16,384 by default), so the run moves to a fresh board every [`EPOCH_INCRS`] increments:
//! no partition ever sees more ids than it keeps, and the exactly-once check stays valid however
//! long the run is. (Past that bound a late retry would be applied again — a known limit of a
//! count-bounded memory, which a memory kept for the client's whole retry horizon removes; the
//! run stays below it so that what it checks holds for the node as it is.)

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leaderboard_core::{BoardConfig, OpId, Write, WriteOp};
use shard_node::client::ShardClient;

use super::history::{Answer, Call, History, Record};
use super::rng::Rng;

/// The process id of the final reads after healing.
pub const FINAL_PROCESS: u64 = u64::MAX;

/// Increments per board. Below the 16,384 op ids a partition remembers by default, with room.
pub const EPOCH_INCRS: u64 = 10_000;

/// The board of an epoch.
pub fn board_name(epoch: u64) -> String {
    format!("chaos-{epoch}")
}

/// A hot member's name.
pub fn member_name(i: usize) -> String {
    format!("hot-{i}")
}

/// The op id of the `seq`-th increment of a run.
pub fn op_id(seed: u64, seq: u64) -> u128 {
    (u128::from(seed) << 64) | u128::from(seq)
}

/// How the workers behave.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// Concurrent workers.
    pub workers: usize,
    /// Hot members per board.
    pub members: usize,
    /// Share of operations that are increments, in thousandths (the rest are reads), per
    /// worker (worker `w` takes entry `w % len`).
    pub incr_per_mille: Vec<u64>,
    /// Each worker waits up to this long (uniformly) between operations.
    pub think_ms: u64,
}

/// The shared state of the workers.
pub struct Workload {
    clients: Vec<ShardClient>,
    history: Arc<History>,
    seed: u64,
    opts: WorkloadOptions,
    stop: AtomicBool,
    next_seq: AtomicU64,
    next_process: AtomicU64,
    boards: Mutex<BTreeSet<u64>>,
}

/// The write an increment record stands for.
fn write_of(member: &str, call: &Call) -> Option<Write> {
    match call {
        Call::Incr { delta, op_id, at } => Some(
            Write::new(member, *delta, *at)
                .op(WriteOp::Incr)
                .op_id(OpId(*op_id)),
        ),
        Call::Read => None,
    }
}

impl Workload {
    /// A workload whose worker `w` uses `clients[w % clients.len()]` (at least one), recording
    /// into `history`.
    pub fn new(
        clients: Vec<ShardClient>,
        history: Arc<History>,
        seed: u64,
        opts: WorkloadOptions,
    ) -> Self {
        assert!(!clients.is_empty(), "a workload needs a client");
        Self {
            clients,
            history,
            seed,
            opts,
            stop: AtomicBool::new(false),
            next_seq: AtomicU64::new(0),
            next_process: AtomicU64::new(0),
            boards: Mutex::new(BTreeSet::new()),
        }
    }

    /// The first client (creating boards, re-sends, final reads).
    pub fn client(&self) -> &ShardClient {
        &self.clients[0]
    }

    /// Epochs whose board exists.
    pub fn epochs(&self) -> Vec<u64> {
        self.boards
            .lock()
            .expect("poisoned")
            .iter()
            .copied()
            .collect()
    }

    /// Increments invoked so far.
    pub fn increments(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed)
    }

    /// Creates the board of `epoch` (idempotent; retried until it succeeds or the workload is
    /// stopped, `false` then).
    pub async fn ensure_board(&self, epoch: u64) -> bool {
        if self.boards.lock().expect("poisoned").contains(&epoch) {
            return true;
        }
        loop {
            match self
                .client()
                .create_board(&board_name(epoch), BoardConfig::default())
                .await
            {
                Ok(()) => {
                    self.boards.lock().expect("poisoned").insert(epoch);
                    return true;
                }
                Err(_) if self.stop.load(Ordering::Relaxed) => return false,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Starts the workers; they run until [`Workload::stop`].
    pub fn spawn(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.opts.workers)
            .map(|w| tokio::spawn(self.clone().worker(w as u64)))
            .collect()
    }

    /// Asks the workers to finish their current operation and stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    async fn worker(self: Arc<Self>, w: u64) {
        let mut rng = Rng::derive(self.seed, 1_000 + w);
        let client = &self.clients[w as usize % self.clients.len()];
        let mix = self.opts.incr_per_mille[w as usize % self.opts.incr_per_mille.len()];
        let mut process = self.next_process.fetch_add(1, Ordering::Relaxed);
        while !self.stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(rng.range(0, self.opts.think_ms))).await;
            let member = member_name(rng.index(self.opts.members));
            if rng.chance(mix) {
                let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
                let epoch = seq / EPOCH_INCRS;
                if !self.ensure_board(epoch).await {
                    break;
                }
                let call = Call::Incr {
                    delta: rng.range(1, 5) as i64,
                    op_id: op_id(self.seed, seq),
                    at: seq as i64,
                };
                let board = board_name(epoch);
                let write = write_of(&member, &call).expect("an increment");
                let invoke = self.history.now();
                let res = client.write(&board, write).await;
                let ret = self.history.now();
                let (answer, ret) = match res {
                    Ok(o) => (
                        Answer::Incr {
                            old: o.old.map_or(0, |e| e.entry.score),
                            new: o.new.entry.score,
                            applied: o.applied,
                        },
                        Some(ret),
                    ),
                    Err(e) => (Answer::Unknown(e.to_string()), None),
                };
                let unknown = ret.is_none();
                self.history.push(Record {
                    process,
                    board,
                    member,
                    call,
                    invoke,
                    ret,
                    answer,
                    resent: false,
                });
                if unknown {
                    // This logical client may still have a write in flight: a new one goes on.
                    process = self.next_process.fetch_add(1, Ordering::Relaxed);
                }
            } else {
                let Some(epoch) = self.epochs().last().copied() else {
                    continue;
                };
                let board = board_name(epoch);
                let invoke = self.history.now();
                let res = client.entry(&board, &member).await;
                let ret = self.history.now();
                // A read that failed observed nothing: it is left out.
                if let Ok(e) = res {
                    self.history.push(Record {
                        process,
                        board,
                        member,
                        call: Call::Read,
                        invoke,
                        ret: Some(ret),
                        answer: Answer::Read(e.map_or(0, |e| e.entry.score)),
                        resent: false,
                    });
                }
            }
        }
    }

    /// After healing: sends every unanswered increment again (same op id) until it is answered,
    /// and records that answer as the increment's own (its interval then runs from the first
    /// invocation to this answer, which contains whenever it took effect). `Err` names the ones
    /// still unanswered at `deadline`.
    pub async fn resolve(self: &Arc<Self>, deadline: Instant) -> Result<usize, String> {
        let mut records = self.history.records();
        let mut resends = tokio::task::JoinSet::new();
        let mut pending = 0;
        for (i, r) in records.iter().enumerate() {
            if !matches!(r.answer, Answer::Unknown(_)) {
                continue;
            }
            pending += 1;
            let (this, r) = (self.clone(), r.clone());
            resends.spawn(async move {
                let write = write_of(&r.member, &r.call).expect("only increments lack answers");
                loop {
                    match this.client().write(&r.board, write.clone()).await {
                        Ok(o) => {
                            let answer = Answer::Incr {
                                old: o.old.map_or(0, |e| e.entry.score),
                                new: o.new.entry.score,
                                applied: o.applied,
                            };
                            return Ok((i, answer, this.history.now()));
                        }
                        Err(e) if Instant::now() >= deadline => {
                            return Err(format!("still no answer after healing for {r}: {e}"))
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            });
        }
        let mut errors = Vec::new();
        while let Some(done) = resends.join_next().await {
            match done {
                Ok(Ok((i, answer, ret))) => {
                    records[i].answer = answer;
                    records[i].ret = Some(ret);
                    records[i].resent = true;
                }
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("re-send task failed: {e}")),
            }
        }
        self.history.replace(records);
        if errors.is_empty() {
            Ok(pending)
        } else {
            Err(errors.join("\n"))
        }
    }

    /// A final linearizable read of `member` on `board`, recorded in the history.
    pub async fn final_read(&self, board: &str, member: &str) -> Result<i64, String> {
        let invoke = self.history.now();
        let v = self
            .client()
            .entry(board, member)
            .await
            .map_err(|e| format!("final read of {board}/{member}: {e}"))?
            .map_or(0, |e| e.entry.score);
        self.history.push(Record {
            process: FINAL_PROCESS,
            board: board.to_string(),
            member: member.to_string(),
            call: Call::Read,
            invoke,
            ret: Some(self.history.now()),
            answer: Answer::Read(v),
            resent: false,
        });
        Ok(v)
    }
}
