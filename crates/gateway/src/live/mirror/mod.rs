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
//! Metrics: `live_mirror_queued` (changes waiting), `live_mirror_lag_seconds`
//! (queued until applied), `live_mirror_retries_total`,
//! `live_mirror_dropped_total{why="full"|"gave_up"}` (score writes dropped),
//! `live_mirror_resyncs_total`.

mod shard;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

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
    /// Starts the worker over `target` (call inside the runtime).
    pub fn spawn(target: Arc<dyn MirrorTarget>) -> Self {
        Self::spawn_with(target, MIRROR_QUEUE, GIVE_UP_AFTER)
    }

    /// [`ScoreMirror::spawn`] with another queue bound and give-up time.
    pub fn spawn_with(target: Arc<dyn MirrorTarget>, queue: usize, give_up: Duration) -> Self {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let lost = Arc::new(Mutex::new(HashSet::new()));
        let lost_any = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(target, rx, lost.clone(), lost_any.clone(), give_up));
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

async fn run(
    target: Arc<dyn MirrorTarget>,
    mut rx: mpsc::Receiver<Queued>,
    lost: Arc<Mutex<HashSet<i64>>>,
    lost_any: Arc<AtomicUsize>,
    give_up: Duration,
) {
    let mut taken = Vec::with_capacity(TAKE);
    while rx.recv_many(&mut taken, TAKE).await > 0 {
        metrics::gauge!("live_mirror_queued").decrement(taken.len() as f64);
        for q in coalesce(taken.drain(..)) {
            if !apply(&*target, &q, give_up).await {
                metrics::counter!("live_mirror_dropped_total", "why" => "gave_up")
                    .increment(q.change.writes() as u64);
                if q.change != Change::Drop {
                    mark_lost(&lost, &lost_any, q.session);
                }
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
        let m = ScoreMirror::spawn(fake.clone());
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
        let m = ScoreMirror::spawn(fake.clone());
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
        let m = ScoreMirror::spawn_with(fake.clone(), 2, GIVE_UP_AFTER);
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
        let m = ScoreMirror::spawn_with(fake.clone(), 16, Duration::from_millis(200));
        m.write(3, vec![w(1, 10, "3:0:1")]);
        eventually("given up", || m.lost.lock().unwrap().contains(&3)).await;
        fake.failing.store(false, Ordering::SeqCst);
        assert!(m.take_resync(3));
    }
}
