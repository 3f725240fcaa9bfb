//! Per-group write batching.
//!
//! Callers enqueue single commands; one task per group turns whatever is queued into a batch (one
//! Raft entry) as soon as one of `max_inflight` slots is free. Under light load a write travels
//! alone with no added delay; under heavy load batches grow up to `max_batch`, which is what makes
//! tens of thousands of committed writes per second possible on a small machine. The queue is
//! bounded ([`QUEUE`]); callers wait when it is full (backpressure instead of unbounded memory).
//!
//! A batch is retried as a whole across leader changes by the client's retry loop; that is
//! safe for writes carrying an op id (leaderboard-core answers a repeat from memory). Writes
//! without an op id may be applied twice if a leader dies after committing but before
//! answering — give every write that matters an op id.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{unexpected, Inner, Target};
use crate::command::{Batch, Command, CommandOutcome};
use crate::error::{Error, Result};
use crate::protocol::{ClientReply, ClientRequest};
use crate::types::GroupId;

/// Writes queued per group before callers wait.
pub const QUEUE: usize = 65_536;

type Pending = (Command, oneshot::Sender<Result<CommandOutcome>>);

/// The sending side of one group's batcher. Dropping every clone of the client stops its task.
pub struct Batcher {
    tx: mpsc::Sender<Pending>,
}

impl Batcher {
    pub(crate) fn spawn(inner: Arc<Inner>, group: GroupId) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(inner, group, rx));
        Self { tx }
    }

    /// Queues one command and waits for its outcome.
    pub async fn submit(&self, cmd: Command) -> Result<CommandOutcome> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((cmd, tx))
            .await
            .map_err(|_| Error::Unavailable("client is shut down".into()))?;
        rx.await
            .map_err(|_| Error::Unavailable("batch dropped".into()))?
    }
}

async fn run(inner: Arc<Inner>, group: GroupId, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(inner.cfg.max_inflight.max(1)));
    let max = inner.cfg.max_batch.max(1);
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut items = vec![first];
        while items.len() < max {
            match rx.try_recv() {
                Ok(p) => items.push(p),
                Err(_) => break,
            }
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            let (commands, waiters): (Vec<_>, Vec<_>) = items.into_iter().unzip();
            let n = commands.len();
            let res = inner
                .call(
                    group,
                    ClientRequest::Write(Batch::new(commands)),
                    Target::Leader,
                )
                .await;
            match res {
                Ok(ClientReply::Written(reply)) if reply.results.len() == n => {
                    for (w, r) in waiters.into_iter().zip(reply.results) {
                        let _ = w.send(r);
                    }
                }
                Ok(other) => {
                    let e = unexpected(&other);
                    for w in waiters {
                        let _ = w.send(Err(e.clone()));
                    }
                }
                Err(e) => {
                    for w in waiters {
                        let _ = w.send(Err(e.clone()));
                    }
                }
            }
            drop(permit);
        });
    }
}
