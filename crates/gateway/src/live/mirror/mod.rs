//! The write-behind mirror of live scores on the shard-node cluster
//! (`SHARD_NODES` set), for readers outside the session: global boards,
//! dashboards, other services.
//!
//! Each session's engine owns its scores (see the engine's `ranks`); the
//! mirror copies every change there, after the fact, and nothing in a game
//! waits for it. The session actor hands its score changes to
//! [`ScoreMirror`] without awaiting anything: a bounded queue
//! ([`MIRROR_QUEUE`] changes) drained by one task per gateway, which applies
//! them in order, coalescing a session's consecutive writes into one batch,
//! and retries a failed change with backoff (each write carries the engine's
//! op id, so a retried write is applied once) for up to [`GIVE_UP_AFTER`].
//!
//! When the cluster is down longer than the queue holds, changes are
//! dropped, counted, and the session is marked for a resync: its actor then
//! queues a reset (the board dropped and rewritten with every current
//! total) as soon as the queue has room, so a mirror that lost writes
//! becomes exact again instead of staying wrong.
//!
//! When the gateway shuts down the worker stops at once: the change being
//! applied is abandoned and the changes still queued are dropped, except
//! the deletion of finished sessions' boards, tried once (for up to
//! [`STOP_GRACE`] in all). The sessions' next owner resets their boards from
//! the durable answers when it takes them over, and a write of the old
//! owner landing after that reset would count twice: nothing is retried
//! once the sessions are being handed over.
//!
//! Metrics: `live_mirror_queued` (changes waiting), `live_mirror_lag_seconds`
//! (queued until applied), `live_mirror_retries_total`,
//! `live_mirror_dropped_total{why="full"|"gave_up"|"shutdown"}` (score
//! writes dropped), `live_mirror_resyncs_total`.

mod shard;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::lifecycle::Lifecycle;

pub use shard::{board_id, client_config, session_board_config, ShardMirror};

use super::engine::ScoreWrite;

/// Changes the queue holds (a join is one, a reveal one per session): the
/// default of `LIVE_MIRROR_QUEUE`.
pub const MIRROR_QUEUE: usize = 16_384;

/// Changes the worker takes from the queue at once (consecutive writes of
/// one session among them become one batch).
const TAKE: usize = 256;

/// How long a change is retried before it is dropped (and its session
/// marked for a resync): the default of `LIVE_MIRROR_GIVE_UP_SECS`.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// How long a stopping worker spends deleting finished sessions' boards.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// Future returned by [`MirrorTarget`] methods.
pub type MirrorFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MirrorError>> + Send + 'a>>;

/// A mirror operation failed (it is retried).
#[derive(Debug, thiserror::Error)]
#[error("score mirror: {0}")]
pub struct MirrorError(pub String);

/// Where the mirror writes: one board per session.
pub trait MirrorTarget: Send + Sync + 'static {
    /// Adds points with op ids (a repeated op id is applied once).
    fn write<'a>(&'a self, session: i64, writes: &'a [ScoreWrite]) -> MirrorFuture<'a>;
    /// Takes a player off the session's board.
    fn remove(&self, session: i64, player: u64) -> MirrorFuture<'_>;
    /// Deletes the session's board (an absent board is not an error).
    fn drop_board(&self, session: i64) -> MirrorFuture<'_>;
}

/// One change to a session's mirrored board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Points added (joins register players with 0).
    Write(Vec<ScoreWrite>),
    /// A player left the board.
    Remove(u64),
    /// Start over: drop the board, then write these totals (a takeover, a
    /// resync).
    Reset(Vec<ScoreWrite>),
    /// The session is over.
    Drop,
}

impl Change {
    fn writes(&self) -> usize {
        match self {
            Change::Write(w) | Change::Reset(w) => w.len().max(1),
            Change::Remove(_) | Change::Drop => 1,
        }
    }
}

#[derive(Debug)]
struct Queued {
    session: i64,
    change: Change,
    at: Instant,
}

/// The gateway's handle on the mirror (cheap to clone).
#[derive(Clone)]
pub struct ScoreMirror {
    tx: mpsc::Sender<Queued>,
    /// Sessions whose changes were dropped: they need a reset.
    lost: Arc<Mutex<HashSet<i64>>>,
    /// How many sessions `lost` holds, read without the lock.
    lost_any: Arc<AtomicUsize>,
}

impl ScoreMirror {
    /// Starts the worker over `target` as a task of `life` (call inside
    /// the runtime); it stops when `life` says the gateway is stopping.
    pub fn spawn(target: Arc<dyn MirrorTarget>, life: &Lifecycle) -> Self {
        Self::spawn_with(target, MIRROR_QUEUE, GIVE_UP_AFTER, life)
    }

    /// [`ScoreMirror::spawn`] with another queue bound and give-up time.
    pub fn spawn_with(
        target: Arc<dyn MirrorTarget>,
        queue: usize,
        give_up: Duration,
        life: &Lifecycle,
    ) -> Self {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let lost = Arc::new(Mutex::new(HashSet::new()));
        let lost_any = Arc::new(AtomicUsize::new(0));
        let worker = Worker {
            target,
            lost: lost.clone(),
            lost_any: lost_any.clone(),
            give_up,
        };
        life.spawn(worker.run(rx, life.clone()));
        ScoreMirror { tx, lost, lost_any }
    }

    /// Queues a change without waiting; a full queue drops it (counted) and
    /// marks the session for a resync.
    pub fn send(&self, session: i64, change: Change) {
        let writes = change.writes();
        let queued = Queued {
            session,
            change,
            at: Instant::now(),
        };
        match self.tx.try_send(queued) {
            Ok(()) => metrics::gauge!("live_mirror_queued").increment(1.0),
            Err(mpsc::error::TrySendError::Full(q)) => {
                metrics::counter!("live_mirror_dropped_total", "why" => "full")
                    .increment(writes as u64);
                // A dropped reset or drop needs no resync of its own: a
                // reset is retried by the same mark, a dropped board is gone.
                if q.change != Change::Drop {
                    self.mark_lost(session);
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues score writes.
    pub fn write(&self, session: i64, writes: Vec<ScoreWrite>) {
        if !writes.is_empty() {
            self.send(session, Change::Write(writes));
        }
    }

    /// Whether `session` lost changes and the queue has room for its reset
    /// now (the mark is taken: queue the reset with [`ScoreMirror::send`]).
    /// Cheap when nothing was lost: every session actor asks each turn.
    pub fn take_resync(&self, session: i64) -> bool {
        if self.tx.capacity() == 0 || self.lost_any.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let taken = {
            let mut lost = self.lost.lock().expect("mirror set poisoned");
            let taken = lost.remove(&session);
            self.lost_any.store(lost.len(), Ordering::Relaxed);
            taken
        };
        if taken {
            metrics::counter!("live_mirror_resyncs_total").increment(1);
        }
        taken
    }

    /// Forgets a session's resync mark (it finished).
    pub fn forget(&self, session: i64) {
        let mut lost = self.lost.lock().expect("mirror set poisoned");
        lost.remove(&session);
        self.lost_any.store(lost.len(), Ordering::Relaxed);
    }

    fn mark_lost(&self, session: i64) {
        mark_lost(&self.lost, &self.lost_any, session);
    }
}

fn mark_lost(lost: &Mutex<HashSet<i64>>, lost_any: &AtomicUsize, session: i64) {
    let mut lost = lost.lock().expect("mirror set poisoned");
    lost.insert(session);
    lost_any.store(lost.len(), Ordering::Relaxed);
}

/// The task applying queued changes.
struct Worker {
    target: Arc<dyn MirrorTarget>,
    lost: Arc<Mutex<HashSet<i64>>>,
    lost_any: Arc<AtomicUsize>,
    give_up: Duration,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Queued>, life: Lifecycle) {
        let mut taken = Vec::with_capacity(TAKE);
        let left = 'work: loop {
            tokio::select! {
                n = rx.recv_many(&mut taken, TAKE) => if n == 0 { return },
                _ = life.stopping() => break Vec::new(),
            }
            metrics::gauge!("live_mirror_queued").decrement(taken.len() as f64);
            let mut batch = coalesce(taken.drain(..)).into_iter();
            while let Some(q) = batch.next() {
                tokio::select! {
                    applied = apply(&*self.target, &q, self.give_up) => if !applied {
                        metrics::counter!("live_mirror_dropped_total", "why" => "gave_up")
                            .increment(q.change.writes() as u64);
                        if q.change != Change::Drop {
                            mark_lost(&self.lost, &self.lost_any, q.session);
                        }
                    },
                    _ = life.stopping() => {
                        metrics::counter!("live_mirror_dropped_total", "why" => "shutdown")
                            .increment(q.change.writes() as u64);
                        break 'work batch.collect();
                    }
                }
            }
        };
        // Stopping: no more retries (see the module docs); finished
        // sessions' boards are deleted if the cluster takes it at once.
        rx.close();
        let until = tokio::time::Instant::now() + STOP_GRACE;
        let queued = std::iter::from_fn(|| {
            let q = rx.try_recv().ok()?;
            metrics::gauge!("live_mirror_queued").decrement(1.0);
            Some(q)
        });
        for q in left.into_iter().chain(queued) {
            let dropped = q.change == Change::Drop
                && tokio::time::timeout_at(until, self.target.drop_board(q.session))
                    .await
                    .is_ok_and(|r| r.is_ok());
            if !dropped {
                metrics::counter!("live_mirror_dropped_total", "why" => "shutdown")
                    .increment(q.change.writes() as u64);
            }
        }
    }
}

/// Merges consecutive writes of one session into one change (the earliest
/// queue time stays, for the lag metric).
fn coalesce(items: impl Iterator<Item = Queued>) -> Vec<Queued> {
    let mut out: Vec<Queued> = Vec::new();
    for q in items {
        if let (Some(last), Change::Write(more)) = (out.last_mut(), &q.change) {
            if let (true, Change::Write(batch)) = (last.session == q.session, &mut last.change) {
                batch.extend(more.iter().cloned());
                continue;
            }
        }
        out.push(q);
    }
    out
}

/// Applies one change, retrying with backoff for up to `give_up`; whether it
/// was applied.
async fn apply(target: &dyn MirrorTarget, q: &Queued, give_up: Duration) -> bool {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(50);
    loop {
        let result = match &q.change {
            Change::Write(writes) => target.write(q.session, writes).await,
            Change::Remove(player) => target.remove(q.session, *player).await,
            Change::Reset(writes) => match target.drop_board(q.session).await {
                Ok(()) => target.write(q.session, writes).await,
                Err(e) => Err(e),
            },
            Change::Drop => target.drop_board(q.session).await,
        };
        match result {
            Ok(()) => {
                metrics::histogram!("live_mirror_lag_seconds").record(q.at.elapsed().as_secs_f64());
                return true;
            }
            Err(e) if started.elapsed() >= give_up => {
                tracing::error!(error = %e, session = q.session, "live score mirror: giving up a change; the session will be resynced");
                return false;
            }
            Err(e) => {
                metrics::counter!("live_mirror_retries_total").increment(1);
                tracing::warn!(error = %e, session = q.session, "live score mirror: retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A board per session in memory that fails while `failing` is set, and
    /// holds each call until `gate` lets it through.
    struct Fake {
        boards: Mutex<HashMap<i64, HashMap<u64, i64>>>,
        ops: Mutex<HashSet<String>>,
        calls: AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
        /// Fails writes only (removals and board deletions go through).
        failing_writes: std::sync::atomic::AtomicBool,
        gate: tokio::sync::Semaphore,
    }

    impl Fake {
        fn new(open: bool) -> Arc<Fake> {
            let permits = if open {
                tokio::sync::Semaphore::MAX_PERMITS
            } else {
                0
            };
            Arc::new(Fake {
                boards: Mutex::default(),
                ops: Mutex::default(),
                calls: AtomicUsize::new(0),
                failing: std::sync::atomic::AtomicBool::new(false),
                failing_writes: std::sync::atomic::AtomicBool::new(false),
                gate: tokio::sync::Semaphore::new(permits),
            })
        }

        async fn enter(&self) -> Result<(), MirrorError> {
            let _permit = self
                .gate
                .acquire()
                .await
                .map_err(|e| MirrorError(e.to_string()))?;
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(MirrorError("down".into()));
            }
            Ok(())
        }

        fn board(&self, session: i64) -> HashMap<u64, i64> {
            self.boards
                .lock()
                .unwrap()
                .get(&session)
                .cloned()
                .unwrap_or_default()
        }
    }

    impl MirrorTarget for Fake {
        fn write<'a>(&'a self, session: i64, writes: &'a [ScoreWrite]) -> MirrorFuture<'a> {
            Box::pin(async move {
                self.enter().await?;
                if self.failing_writes.load(Ordering::SeqCst) {
                    return Err(MirrorError("writes down".into()));
                }
                let mut boards = self.boards.lock().unwrap();
                let mut ops = self.ops.lock().unwrap();
                let board = boards.entry(session).or_default();
                for w in writes {
                    if ops.insert(w.op_key.clone()) {
                        *board.entry(w.player).or_default() += w.delta;
                    }
                }
                Ok(())
            })
        }

        fn remove(&self, session: i64, player: u64) -> MirrorFuture<'_> {
            Box::pin(async move {
                self.enter().await?;
                if let Some(b) = self.boards.lock().unwrap().get_mut(&session) {
                    b.remove(&player);
                }
                Ok(())
            })
        }

        fn drop_board(&self, session: i64) -> MirrorFuture<'_> {
            Box::pin(async move {
                self.enter().await?;
                self.boards.lock().unwrap().remove(&session);
                Ok(())
            })
        }
    }

    fn w(player: u64, delta: i64, key: &str) -> ScoreWrite {
        ScoreWrite {
            player,
            delta,
            op_key: key.into(),
            at: 1,
        }
    }

    async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("never: {what}");
    }

    #[tokio::test]
    async fn changes_apply_in_order_and_consecutive_writes_go_as_one_batch() {
        let fake = Fake::new(false);
        let m = ScoreMirror::spawn(fake.clone(), &Lifecycle::new());
        // Held at the gate: everything queues up behind the first change.
        m.write(1, vec![w(1, 0, "1:join:1")]);
        for p in 2..=50 {
            m.write(1, vec![w(p, 0, &format!("1:join:{p}"))]);
        }
        m.send(1, Change::Remove(2));
        m.write(1, vec![w(1, 500, "1:0:1"), w(3, 200, "1:0:3")]);
        m.write(2, vec![w(9, 7, "2:0:9")]);
        fake.gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
        eventually("session 2 mirrored", || fake.board(2).len() == 1).await;
        let b1 = fake.board(1);
        assert_eq!(b1.len(), 49);
        assert_eq!((b1[&1], b1[&3], b1.get(&2)), (500, 200, None));
        // 50 joins, a removal, a reveal, another session: the joins after the
        // first (and the reveal after the removal) travelled together.
        assert!(fake.calls.load(Ordering::SeqCst) <= 5, "{:?}", fake.calls);
    }

    #[tokio::test]
    async fn a_failing_cluster_is_retried_and_retries_count_once() {
        let fake = Fake::new(true);
        fake.failing.store(true, Ordering::SeqCst);
        let m = ScoreMirror::spawn(fake.clone(), &Lifecycle::new());
        m.write(1, vec![w(1, 100, "1:0:1")]);
        m.write(1, vec![w(1, 100, "1:0:1")]); // the same op again
        eventually("a few failed attempts", || {
            fake.calls.load(Ordering::SeqCst) >= 3
        })
        .await;
        assert!(fake.board(1).is_empty());
        fake.failing.store(false, Ordering::SeqCst);
        eventually("applied after the outage", || {
            fake.board(1).get(&1) == Some(&100)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(fake.board(1)[&1], 100, "an op id counts once");
    }

    #[tokio::test]
    async fn what_does_not_fit_is_dropped_and_the_session_marked_for_a_resync() {
        let fake = Fake::new(false);
        let m = ScoreMirror::spawn_with(fake.clone(), 2, GIVE_UP_AFTER, &Lifecycle::new());
        // The worker takes the first change and waits at the gate; two fit
        // behind it; the rest is dropped.
        m.write(1, vec![w(1, 0, "1:join:1")]);
        eventually("the worker holds the first change", || m.tx.capacity() == 2).await;
        for p in 2..=5 {
            m.write(1, vec![w(p, 0, &format!("1:join:{p}"))]);
        }
        assert!(!m.take_resync(1), "no room yet for the reset");
        fake.gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
        eventually("the queue drained", || m.tx.capacity() == 2).await;
        assert!(m.take_resync(1));
        assert!(!m.take_resync(1), "the mark is taken once");
        m.send(
            1,
            Change::Reset((1..=5).map(|p| w(p, 0, &format!("1:resync:{p}"))).collect()),
        );
        eventually("the reset rebuilt the board", || fake.board(1).len() == 5).await;
    }

    #[tokio::test]
    async fn a_change_that_keeps_failing_is_given_up_and_marked() {
        let fake = Fake::new(true);
        fake.failing.store(true, Ordering::SeqCst);
        let m = ScoreMirror::spawn_with(
            fake.clone(),
            16,
            Duration::from_millis(200),
            &Lifecycle::new(),
        );
        m.write(3, vec![w(1, 10, "3:0:1")]);
        eventually("given up", || m.lost.lock().unwrap().contains(&3)).await;
        fake.failing.store(false, Ordering::SeqCst);
        assert!(m.take_resync(3));
    }

    /// The gateway stops while a write is being retried: the worker gives it
    /// up at once, drops the writes queued behind it (the next owner resets
    /// those boards), still deletes a finished session's board, and ends.
    #[tokio::test]
    async fn a_stopping_worker_retries_nothing_deletes_finished_boards_and_ends() {
        let fake = Fake::new(true);
        fake.failing_writes.store(true, Ordering::SeqCst);
        fake.boards
            .lock()
            .unwrap()
            .insert(2, HashMap::from([(1, 10)]));
        let life = Lifecycle::new();
        let m = ScoreMirror::spawn(fake.clone(), &life);
        m.write(1, vec![w(1, 100, "1:0:1")]);
        m.send(2, Change::Drop);
        m.write(3, vec![w(1, 100, "3:0:1")]);
        eventually("the first write retried", || {
            fake.calls.load(Ordering::SeqCst) >= 2
        })
        .await;
        assert!(
            life.stop(crate::live::lifecycle::STEP_GRACE).await,
            "the worker ended in time"
        );
        assert_eq!(life.running(), 0);
        let boards = fake.boards.lock().unwrap();
        assert!(!boards.contains_key(&2), "the finished board is deleted");
        assert!(!boards.contains_key(&1) && !boards.contains_key(&3));
    }
}
