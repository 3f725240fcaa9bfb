//! The client workload: concurrent workers doing `incr` on a few hot members and linearizable
//! reads of them. Each worker has its own `ShardClient` (its own QUIC endpoint and leader
//! cache), as separate gateways do, and reaches the nodes through the proxies. Workers differ in
//! their mix: some mostly write, some mostly read. A reader that keeps talking to a leader which
//! lost its majority, while writers have moved on to the new leader, is what catches a read
//! served without confirming leadership.
//!
//! Every `incr` carries its own op id, so the client's retries across leader changes (and the
//! re-sends after healing) cannot apply it twice, as long as the partition still remembers the
//! id. A partition remembers op ids for its board's op-id horizon (`OpIdPolicy::horizon_ms`) of
//! leader-stamped time, however many there are (up to a byte bound far above what a run
//! writes), so the whole run uses one board, [`BOARD`]. The horizon must cover the longest time
//! a client may retry a write; here the last retries are the re-sends after healing, up to the
//! whole run later, so the board is created with [`WorkloadOptions::op_id_horizon`] sized by
//! the scenario to the run plus its healing and re-send time, and the exactly-once check holds
//! however long the run is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leaderboard_core::{BoardConfig, OpId, OpIdPolicy, Write, WriteOp};
use shard_node::client::ShardClient;

use super::history::{Answer, Call, History, Record};
use super::rng::Rng;

/// The process id of the final reads after healing.
pub const FINAL_PROCESS: u64 = u64::MAX;

/// The board of the run.
pub const BOARD: &str = "chaos";

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
    /// How long the board remembers op ids: longer than any increment may be retried or
    /// re-sent after its first attempt.
    pub op_id_horizon: Duration,
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
    created: AtomicBool,
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
            created: AtomicBool::new(false),
        }
    }

    /// The first client (creating boards, re-sends, final reads).
    pub fn client(&self) -> &ShardClient {
        &self.clients[0]
    }

    /// Increments invoked so far.
    pub fn increments(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed)
    }

    /// The board's configuration: the defaults, with op ids kept for
    /// [`WorkloadOptions::op_id_horizon`].
    pub fn board_config(&self) -> BoardConfig {
        let horizon_ms = u64::try_from(self.opts.op_id_horizon.as_millis()).unwrap_or(u64::MAX);
        BoardConfig::new().op_ids(OpIdPolicy::new().horizon_ms(horizon_ms))
    }

    /// Creates [`BOARD`] (idempotent; retried until it succeeds or the workload is stopped,
    /// `false` then). The workers start once it exists.
    pub async fn ensure_board(&self) -> bool {
        if self.created.load(Ordering::Relaxed) {
            return true;
        }
        loop {
            match self.client().create_board(BOARD, self.board_config()).await {
                Ok(()) => {
                    self.created.store(true, Ordering::Relaxed);
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
                let call = Call::Incr {
                    delta: rng.range(1, 5) as i64,
                    op_id: op_id(self.seed, seq),
                    at: seq as i64,
                };
                let board = BOARD.to_string();
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
                let board = BOARD.to_string();
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
