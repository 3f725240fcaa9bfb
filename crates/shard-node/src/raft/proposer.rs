//! Leader-side coalescing of client write batches into Raft entries.
//!
//! openraft 0.9 appends each `client_write` as its own log entry, and its core task waits for
//! that entry to be flushed (fsynced, by default) before it handles anything else: before it
//! replicates the entry, and before it reads the followers' acknowledgements of earlier ones.
//! A leader therefore appends at most one entry per fsync, and every entry costs one fsync
//! on the critical path of every write queued behind it. Proposing each client request as
//! its own entry makes the writes of many callers (or of one client with several batches in
//! flight) wait through one fsync per request.
//!
//! A [`Proposer`] per group sits in front of `client_write`: it keeps at most
//! [`RaftTuning::proposals_in_flight`](crate::node::RaftTuning::proposals_in_flight) entries
//! proposed and not yet answered, and while they are in flight it queues the requests that
//! arrive; the next entry carries every queued request (up to a byte and a command budget), in
//! arrival order, each request's commands contiguous and in their own order. When the entry
//! is committed and applied, each request gets back the results of its own commands. Under
//! light load a request is proposed at once, alone, exactly as before.
//!
//! Nothing about what is acknowledged changes: a request is answered only after the entry
//! holding it is committed (on a majority, fsynced with the default log policy) and applied by
//! this leader; applying the merged entry runs the same commands in the same order as
//! appending the requests one after another would; op ids are remembered per write as before.
//! A failure of the merged entry (this node is no longer the leader, Raft stopped) fails every
//! request in it with that error, which the client retries as it would have retried each.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::command::{Batch, BatchReply};
use crate::error::{Error, Result};
use crate::router::write_err;
use crate::types::{GroupId, Raft};

/// Requests queued per group before callers wait (backpressure).
const QUEUE: usize = 4096;

/// Limits of one group's proposer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposerLimits {
    /// Entries proposed and not yet answered.
    pub in_flight: usize,
    /// Encoded bytes of the requests merged into one entry. A single request larger than this
    /// is proposed alone (the router already refused requests that do not fit a frame).
    pub max_bytes: usize,
    /// Commands merged into one entry (bounds the time one apply holds the state lock). A single
    /// request with more commands is proposed alone.
    pub max_commands: usize,
}

struct Proposal {
    batch: Batch,
    bytes: usize,
    reply: oneshot::Sender<Result<BatchReply>>,
}

/// Counters of one proposer (statistics; relaxed atomics).
#[derive(Debug, Default)]
pub struct ProposerStats {
    /// Raft entries proposed for client write requests.
    pub entries: AtomicU64,
    /// Client write requests carried by those entries.
    pub requests: AtomicU64,
}

/// The sending side of one group's proposer; cheap to clone. The task stops when every clone is
/// dropped.
#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::Sender<Proposal>,
    stats: Arc<ProposerStats>,
}

impl Proposer {
    /// Starts the proposer of `group` in front of `raft`.
    pub fn spawn(raft: Raft, group: GroupId, limits: ProposerLimits) -> Self {
        Self::spawn_with(limits, move |batch| {
            let raft = raft.clone();
            async move {
                raft.client_write(batch)
                    .await
                    .map(|r| r.data)
                    .map_err(|e| write_err(group, e))
            }
        })
    }

    /// Starts a proposer that hands each entry to `submit`, which answers once it is committed
    /// and applied (Raft's `client_write`; tests stand in for it).
    fn spawn_with<F, Fut>(limits: ProposerLimits, submit: F) -> Self
    where
        F: Fn(Batch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BatchReply>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(ProposerStats::default());
        tokio::spawn(run(submit, limits, stats.clone(), rx));
        Self { tx, stats }
    }

    /// Proposes `batch` (whose encoding is `bytes` long) and waits until the entry holding it is
    /// committed and applied: one result per command of `batch`, in order.
    pub async fn propose(&self, batch: Batch, bytes: usize) -> Result<BatchReply> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Proposal {
                batch,
                bytes,
                reply,
            })
            .await
            .map_err(|_| Error::Unavailable("the group is shutting down".into()))?;
        rx.await
            .map_err(|_| Error::Unavailable("the group is shutting down".into()))?
    }

    /// The proposer's counters.
    pub fn stats(&self) -> &ProposerStats {
        &self.stats
    }
}

/// The merged batch of `parts` (the only batch as is when there is one). It carries the latest
/// of the parts' proposal times: every replica applies the whole entry at that time on the
/// op-id clock, so the ids it remembers age from the moment the last of them was proposed
/// (a merged entry without a time would leave the clock behind and age its ids too early).
fn merge(parts: &[Proposal]) -> Batch {
    match parts {
        [one] => one.batch.clone(),
        _ => {
            let merged = Batch::new(
                parts
                    .iter()
                    .flat_map(|p| p.batch.commands.iter().cloned())
                    .collect(),
            );
            match parts.iter().filter_map(|p| p.batch.proposed_at_ms).max() {
                Some(at) => merged.proposed_at(at),
                None => merged,
            }
        }
    }
}

/// Hands each part the results of its own commands.
fn split(parts: Vec<Proposal>, result: Result<BatchReply>) {
    match result {
        Ok(reply) => {
            let expected: usize = parts.iter().map(|p| p.batch.commands.len()).sum();
            if reply.results.len() != expected {
                let e = Error::Malformed(format!(
                    "an entry of {expected} commands was applied with {} results",
                    reply.results.len()
                ));
                for p in parts {
                    let _ = p.reply.send(Err(e.clone()));
                }
                return;
            }
            let mut results = reply.results.into_iter();
            for p in parts {
                let n = p.batch.commands.len();
                let _ = p.reply.send(Ok(BatchReply {
                    results: results.by_ref().take(n).collect(),
                }));
            }
        }
        Err(e) => {
            for p in parts {
                let _ = p.reply.send(Err(e.clone()));
            }
        }
    }
}

async fn run<F, Fut>(
    submit: F,
    limits: ProposerLimits,
    stats: Arc<ProposerStats>,
    mut rx: mpsc::Receiver<Proposal>,
) where
    F: Fn(Batch) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<BatchReply>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.in_flight.max(1)));
    // A request taken from the queue that did not fit the previous entry: it opens the next.
    let mut carry: Option<Proposal> = None;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let (mut bytes, mut commands) = (first.bytes, first.batch.commands.len());
        let mut parts = vec![first];
        while let Ok(p) = rx.try_recv() {
            let n = p.batch.commands.len();
            if bytes.saturating_add(p.bytes) > limits.max_bytes
                || commands.saturating_add(n) > limits.max_commands
            {
                carry = Some(p);
                break;
            }
            bytes += p.bytes;
            commands += n;
            parts.push(p);
        }
        stats.entries.fetch_add(1, Ordering::Relaxed);
        stats
            .requests
            .fetch_add(parts.len() as u64, Ordering::Relaxed);
        let entry = submit(merge(&parts));
        tokio::spawn(async move {
            split(parts, entry.await);
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, CommandOutcome};
    use leaderboard_core::BoardId;

    fn proposal(names: &[&str]) -> (Proposal, oneshot::Receiver<Result<BatchReply>>) {
        let (reply, rx) = oneshot::channel();
        let batch = Batch::new(
            names
                .iter()
                .map(|n| Command::DropBoard {
                    board: BoardId::new(*n),
                })
                .collect(),
        );
        (
            Proposal {
                batch,
                bytes: 0,
                reply,
            },
            rx,
        )
    }

    #[test]
    fn merged_batches_keep_each_requests_commands_in_order() {
        let (a, _) = proposal(&["a1", "a2"]);
        let (b, _) = proposal(&["b1"]);
        let (c, _) = proposal(&["c1", "c2", "c3"]);
        let merged = merge(&[a, b, c]);
        let boards: Vec<&str> = merged.commands.iter().map(|c| c.board().as_str()).collect();
        assert_eq!(boards, ["a1", "a2", "b1", "c1", "c2", "c3"]);
    }

    #[test]
    fn a_merged_batch_is_applied_at_the_latest_proposal_time() {
        let (mut a, _) = proposal(&["a1"]);
        let (mut b, _) = proposal(&["b1"]);
        let (c, _) = proposal(&["c1"]);
        a.batch = a.batch.proposed_at(1_000);
        b.batch = b.batch.proposed_at(3_000);
        assert_eq!(merge(&[a, c, b]).proposed_at_ms, Some(3_000));
        let (d, _) = proposal(&["d1"]);
        let (e, _) = proposal(&["e1"]);
        assert_eq!(merge(&[d, e]).proposed_at_ms, None);
    }

    #[tokio::test]
    async fn results_go_back_to_the_request_they_belong_to() {
        let (a, ra) = proposal(&["a1", "a2"]);
        let (b, rb) = proposal(&["b1"]);
        let (c, rc) = proposal(&["c1", "c2", "c3"]);
        let results = (0..6)
            .map(|i| Ok(CommandOutcome::Dropped(i % 2 == 0)))
            .collect();
        split(vec![a, b, c], Ok(BatchReply { results }));
        let got = |r: BatchReply| -> Vec<bool> {
            r.results
                .into_iter()
                .map(|o| matches!(o, Ok(CommandOutcome::Dropped(true))))
                .collect()
        };
        assert_eq!(got(ra.await.unwrap().unwrap()), [true, false]);
        assert_eq!(got(rb.await.unwrap().unwrap()), [true]);
        assert_eq!(got(rc.await.unwrap().unwrap()), [false, true, false]);
    }

    #[tokio::test]
    async fn a_failed_entry_fails_every_request_in_it() {
        let (a, ra) = proposal(&["a1"]);
        let (b, rb) = proposal(&["b1", "b2"]);
        let e = Error::NotLeader {
            group: 0,
            leader: Some(2),
        };
        split(vec![a, b], Err(e.clone()));
        assert_eq!(ra.await.unwrap().unwrap_err(), e);
        assert_eq!(rb.await.unwrap().unwrap_err(), e);
        // A reply with the wrong number of results is an error for everyone, never a shifted
        // answer.
        let (a, ra) = proposal(&["a1"]);
        let (b, rb) = proposal(&["b1"]);
        split(
            vec![a, b],
            Ok(BatchReply {
                results: vec![Ok(CommandOutcome::Dropped(true))],
            }),
        );
        assert!(matches!(ra.await.unwrap(), Err(Error::Malformed(_))));
        assert!(matches!(rb.await.unwrap(), Err(Error::Malformed(_))));
    }

    /// Entries handed to a stand-in for Raft, each with the sender that answers it.
    type Submitted = mpsc::UnboundedReceiver<(Vec<String>, oneshot::Sender<Result<BatchReply>>)>;

    fn fake_raft(limits: ProposerLimits) -> (Proposer, Submitted) {
        let (tx, rx) = mpsc::unbounded_channel();
        let proposer = Proposer::spawn_with(limits, move |batch: Batch| {
            let (answer, answered) = oneshot::channel();
            let boards = batch
                .commands
                .iter()
                .map(|c| c.board().to_string())
                .collect();
            tx.send((boards, answer)).unwrap();
            async move { answered.await.unwrap() }
        });
        (proposer, rx)
    }

    /// Answers an entry of `n` commands: `Dropped(true)` for each.
    fn applied(n: usize) -> Result<BatchReply> {
        Ok(BatchReply {
            results: (0..n).map(|_| Ok(CommandOutcome::Dropped(true))).collect(),
        })
    }

    fn request(
        p: &Proposer,
        names: &[&str],
        bytes: usize,
    ) -> tokio::task::JoinHandle<Result<BatchReply>> {
        let (proposal, _) = proposal(names);
        let (p, batch) = (p.clone(), proposal.batch);
        tokio::spawn(async move { p.propose(batch, bytes).await })
    }

    /// Waits until `n` requests wait in the proposer's queue.
    async fn queued(p: &Proposer, n: usize) {
        while QUEUE - p.tx.capacity() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn requests_that_arrive_while_an_entry_is_in_flight_share_the_next_one() {
        let limits = ProposerLimits {
            in_flight: 1,
            max_bytes: 1000,
            max_commands: 3,
        };
        let (p, mut raft) = fake_raft(limits);
        // A lone request is proposed at once, alone.
        let a = request(&p, &["a1"], 10);
        let (entry, answer) = raft.recv().await.unwrap();
        assert_eq!(entry, ["a1"]);
        // While it is in flight, three more arrive.
        let b = request(&p, &["b1"], 10);
        queued(&p, 1).await;
        let c = request(&p, &["c1", "c2"], 10);
        queued(&p, 2).await;
        let d = request(&p, &["d1"], 10);
        queued(&p, 3).await;
        assert!(raft.try_recv().is_err(), "one entry in flight at most");
        answer.send(applied(1)).unwrap();
        assert_eq!(a.await.unwrap().unwrap().results.len(), 1);
        // The next entry carries b and c in arrival order; d would exceed three commands.
        let (entry, answer) = raft.recv().await.unwrap();
        assert_eq!(entry, ["b1", "c1", "c2"]);
        answer
            .send(Ok(BatchReply {
                results: vec![
                    Ok(CommandOutcome::Dropped(true)),
                    Ok(CommandOutcome::Dropped(false)),
                    Err(Error::Rejected("c2".into())),
                ],
            }))
            .unwrap();
        assert_eq!(
            b.await.unwrap().unwrap().results,
            [Ok(CommandOutcome::Dropped(true))]
        );
        assert_eq!(
            c.await.unwrap().unwrap().results,
            [
                Ok(CommandOutcome::Dropped(false)),
                Err(Error::Rejected("c2".into()))
            ]
        );
        let (entry, answer) = raft.recv().await.unwrap();
        assert_eq!(entry, ["d1"]);
        answer.send(applied(1)).unwrap();
        assert_eq!(d.await.unwrap().unwrap().results.len(), 1);
        assert_eq!(p.stats().entries.load(Ordering::Relaxed), 3);
        assert_eq!(p.stats().requests.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn merged_entries_stay_within_the_byte_budget() {
        let limits = ProposerLimits {
            in_flight: 1,
            max_bytes: 100,
            max_commands: 1000,
        };
        let (p, mut raft) = fake_raft(limits);
        let first = request(&p, &["x"], 10);
        let (_, answer) = raft.recv().await.unwrap();
        let mut waiting = Vec::new();
        for (i, bytes) in [60, 40, 1, 500, 30].into_iter().enumerate() {
            waiting.push(request(&p, &[&format!("r{i}")], bytes));
            queued(&p, i + 1).await;
        }
        answer.send(applied(1)).unwrap();
        first.await.unwrap().unwrap();
        // 60 + 40 fill the budget; the next request opens an entry of its own; a request over
        // the budget travels alone.
        let mut entries = Vec::new();
        for _ in 0..3 {
            let (entry, answer) = raft.recv().await.unwrap();
            answer.send(applied(entry.len())).unwrap();
            entries.push(entry);
        }
        assert_eq!(entries, [vec!["r0", "r1"], vec!["r2"], vec!["r3"]]);
        let (entry, answer) = raft.recv().await.unwrap();
        assert_eq!(entry, ["r4"]);
        answer.send(applied(1)).unwrap();
        for w in waiting {
            assert_eq!(w.await.unwrap().unwrap().results.len(), 1);
        }
    }

    #[tokio::test]
    async fn a_failed_entry_fails_the_requests_it_carried_only() {
        let limits = ProposerLimits {
            in_flight: 1,
            max_bytes: 1000,
            max_commands: 1000,
        };
        let (p, mut raft) = fake_raft(limits);
        let a = request(&p, &["a"], 1);
        let (_, answer) = raft.recv().await.unwrap();
        let b = request(&p, &["b"], 1);
        queued(&p, 1).await;
        let c = request(&p, &["c"], 1);
        queued(&p, 2).await;
        let lost = Error::NotLeader {
            group: 0,
            leader: Some(3),
        };
        answer.send(Err(lost.clone())).unwrap();
        assert_eq!(a.await.unwrap().unwrap_err(), lost);
        let (entry, answer) = raft.recv().await.unwrap();
        assert_eq!(entry, ["b", "c"]);
        answer.send(applied(2)).unwrap();
        b.await.unwrap().unwrap();
        c.await.unwrap().unwrap();
    }
}
