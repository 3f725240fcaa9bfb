//! The batched answer writer: one task per gateway, on its own thread (see
//! [`AnswerWriter::spawn`]), turns a stream of accepted answers into
//! multi-row `INSERT ... IGNORE` statements.
//!
//! A batch is flushed when `LIVE_ANSWER_BATCH_MAX` rows are queued (large,
//! because a flush costs one commit/fsync whatever its size: under a burst
//! the batch grows instead of the queue) or `LIVE_ANSWER_FLUSH_MS` after its
//! first row, whichever is first. A failed flush is retried with
//! backoff, never dropped: the answers are not acknowledged until their
//! batch is committed, so a database outage delays acks (and the reveal)
//! instead of losing anything. Duplicates (a retried batch, another gateway
//! that recorded the same answer) are ignored by the unique key
//! `(session_id, question_index, player_id)`.
//!
//! On shutdown the gateway closes the writer ([`AnswerWriter::close`]) once
//! its sessions are gone: everything queued before is flushed, then the
//! writer's thread ends.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::engine::PendingAnswer;
use crate::store::live::{AnswerRow, LiveStore};

/// Where a committed batch is reported: the owning session's actor.
pub type CommitTx = mpsc::UnboundedSender<Vec<PendingAnswer>>;

struct Item {
    answer: PendingAnswer,
    reply: CommitTx,
}

enum Queued {
    Answer(Item),
    /// Flush what came before, answer, and stop.
    Close(oneshot::Sender<()>),
}

/// Handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct AnswerWriter {
    tx: mpsc::UnboundedSender<Queued>,
}

impl AnswerWriter {
    /// Starts the writer over `store` on its own thread. It stops when
    /// closed ([`AnswerWriter::close`]) or when every handle is dropped,
    /// after writing its queue.
    ///
    /// Why a thread with its own single-threaded runtime: a flush is a
    /// dozen sequential awaits (begin, the INSERT statements, commit), and
    /// on the gateway's runtime each of them queues behind every
    /// connection task woken by a leaderboard push - at 10,000 players on
    /// 2 cores that turned 2 ms of database work into flushes of up to a
    /// second, and every ack waits for its flush. On its own thread the
    /// writer resumes as soon as the database answers.
    pub fn spawn(store: LiveStore, max_batch: usize, flush_every: Duration) -> Self {
        // Unbounded on purpose: the queue holds at most one row per player
        // per open question (the engine accepts one answer each), and the
        // session actor must never block on it.
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(rt) => {
                let spawned = std::thread::Builder::new()
                    .name("live-answer-writer".into())
                    .spawn(move || rt.block_on(run(store, rx, max_batch, flush_every)));
                if let Err(e) = spawned {
                    // The closure (and the queue's receiver) is gone with the
                    // failed spawn: submits will fail and answers get an
                    // `internal` error frame instead of hanging.
                    tracing::error!(error = %e, "cannot start the live answer writer thread");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "live answer writer runtime unavailable; writing on the main runtime");
                tokio::spawn(run(store, rx, max_batch, flush_every));
            }
        }
        AnswerWriter { tx }
    }

    /// Queues an answer; the batch containing it is sent to `reply` once
    /// durable. False when the writer has stopped.
    pub fn submit(&self, answer: PendingAnswer, reply: CommitTx) -> bool {
        self.tx.send(Queued::Answer(Item { answer, reply })).is_ok()
    }

    /// Stops the writer: returns once every answer queued before is
    /// written (the writer retries a failing database, so bound the wait
    /// if that matters). Answers submitted after it are refused.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Queued::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    store: LiveStore,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    max_batch: usize,
    flush_every: Duration,
) {
    let mut batch: Vec<Item> = Vec::new();
    let mut closed = None;
    while closed.is_none() {
        match rx.recv().await {
            Some(Queued::Answer(first)) => batch.push(first),
            Some(Queued::Close(done)) => closed = Some(done),
            None => break,
        }
        let until = tokio::time::Instant::now() + flush_every;
        while batch.len() < max_batch && closed.is_none() {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(Queued::Answer(item))) => batch.push(item),
                Ok(Some(Queued::Close(done))) => closed = Some(done),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            flush(&store, &mut batch).await;
        }
    }
    // Later submits fail from here on; an answer that raced the close is
    // never acknowledged.
    drop(rx);
    if let Some(done) = closed {
        let _ = done.send(());
    }
}

async fn flush(store: &LiveStore, batch: &mut Vec<Item>) {
    let rows: Vec<AnswerRow<'_>> = batch.iter().map(|i| row(&i.answer)).collect();
    let mut backoff = Duration::from_millis(50);
    let started = std::time::Instant::now();
    loop {
        match store.insert_answers(&rows).await {
            Ok(()) => break,
            Err(e) => {
                metrics::counter!("live_answer_flush_retries_total").increment(1);
                tracing::warn!(error = %e, rows = rows.len(), "live answers flush failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
    metrics::histogram!("live_answer_flush_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("live_answers_recorded_total").increment(rows.len() as u64);
    // Report per session, in arrival order.
    let mut by_session: HashMap<i64, (CommitTx, Vec<PendingAnswer>)> = HashMap::new();
    for item in batch.drain(..) {
        by_session
            .entry(item.answer.session_id)
            .or_insert_with(|| (item.reply.clone(), Vec::new()))
            .1
            .push(item.answer);
    }
    for (_, (reply, answers)) in by_session {
        let _ = reply.send(answers);
    }
}

/// The row recording `a`.
fn row(a: &PendingAnswer) -> AnswerRow<'_> {
    AnswerRow {
        session_id: a.session_id,
        question: a.question,
        player: a.player,
        question_id: a.question_id,
        choices: &a.choices,
        correct: a.correct,
        points: a.points,
        elapsed_ms: a.elapsed_ms,
        answered_at: a.answered_at,
    }
}
