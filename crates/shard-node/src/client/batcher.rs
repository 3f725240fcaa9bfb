//! Per-group write batching.
//!
//! Callers enqueue single commands; one task per group turns whatever is queued into a batch (one
//! Raft entry) as soon as one of `max_inflight` slots is free. Under light load a write travels
//! alone with no added delay; under heavy load batches grow up to `max_batch` commands, which is
//! what makes tens of thousands of committed writes per second possible on a small machine. A
//! batch also stops growing at [`ClientConfig::max_batch_bytes`](super::ClientConfig) of
//! encoded commands, so that it stays one log entry that fits a frame (nodes refuse larger
//! ones); the command that would cross it opens the next batch. The queue is
//! bounded ([`QUEUE`]); callers wait when it is full (backpressure instead of unbounded memory).
//!
//! A batch is retried as a whole across leader changes by the client's retry loop; that is
//! safe for writes carrying an op id (leaderboard-core answers a repeat from memory for the
//! board's op-id horizon, far longer than the client retries). Writes without an op id may be
//! applied twice if a leader dies after committing but before answering — give every write that
//! matters an op id.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{unexpected, Inner, Target};
use crate::codec;
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

/// Encoded size of a command; one that cannot be encoded counts as too large to share a batch
/// (the node answers it with the encoding error).
fn size_of(cmd: &Command) -> usize {
    codec::encoded_len(cmd).unwrap_or(usize::MAX)
}

async fn run(inner: Arc<Inner>, group: GroupId, mut rx: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(inner.cfg.max_inflight.max(1)));
    let max = inner.cfg.max_batch.max(1);
    let budget = inner.cfg.max_batch_bytes();
    // A command taken from the queue that did not fit the previous batch: it opens the next.
    let mut carry: Option<(Pending, usize)> = None;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (first, mut bytes) = match carry.take() {
            Some(c) => c,
            None => match rx.recv().await {
                Some(p) => {
                    let n = size_of(&p.0);
                    (p, n)
                }
                None => return,
            },
        };
        let mut items = vec![first];
        while items.len() < max {
            match rx.try_recv() {
                Ok(p) => {
                    let n = size_of(&p.0);
                    if bytes.saturating_add(n) > budget {
                        carry = Some((p, n));
                        break;
                    }
                    bytes += n;
                    items.push(p);
                }
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
