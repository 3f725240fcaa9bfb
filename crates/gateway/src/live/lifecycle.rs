//! How the live module stops: every task it starts runs under one
//! [`Lifecycle`], so a gateway that shuts down ends all of them and knows
//! when they have ended.
//!
//! Shutting down is two steps ([`super::LiveService::shutdown`]):
//!
//! 1. **Stopping** ([`Lifecycle::stopping`]): sessions are handed over. Each
//!    session actor takes the commands already queued, waits until the
//!    answers it accepted are stored (and acknowledged), writes its
//!    checkpoint, releases its owner lease (if it is still this gateway's),
//!    and closes its connections with [`livequiz_sdk::live::close::RECONNECT_NOW`],
//!    so clients reconnect at once and another gateway (or this one,
//!    restarted) takes the session over from the checkpoint. Sockets bridged
//!    to other gateways' sessions are sent to reconnect too, connections
//!    still in their handshake are refused as transient, and nothing new
//!    is taken over.
//! 2. **Stopped** ([`Lifecycle::stopped`]), once the sessions are gone: the
//!    background tasks (the mesh's dispatcher, relays, the score mirror)
//!    end, and the answer writer flushes what it holds and stops.
//!
//! Every task is counted by one tracker ([`Lifecycle::running`]), which
//! reaches 0 when the module has stopped.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Longest a gateway waits for each shutdown step (sessions handed over,
/// then the remaining tasks, then the answer writer) before it gives up on
/// what is left: a database or Redis outage must not keep a process from
/// exiting. What an unfinished step loses is what a crash loses (answers
/// never acknowledged); the lease then expires by itself. The default of
/// `LIVE_SHUTDOWN_STEP_MS`.
pub const STEP_GRACE: Duration = Duration::from_secs(10);

/// The stop signals and task tracker shared by everything in the live
/// module (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    stopping: CancellationToken,
    stopped: CancellationToken,
    tasks: TaskTracker,
    sessions: TaskTracker,
}

impl Lifecycle {
    /// A lifecycle that has not begun stopping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `task` on the runtime, counted until it ends.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(task)
    }

    /// Runs a session actor, counted as a task and as a session.
    pub(super) fn spawn_session<F>(&self, actor: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(self.sessions.track_future(actor))
    }

    /// `task`, counted while it runs (for tasks started by someone else,
    /// such as a WebSocket connection after its upgrade).
    pub fn track<F: Future>(&self, task: F) -> impl Future<Output = F::Output> {
        self.tasks.track_future(task)
    }

    /// Whether the gateway is shutting down (sessions are being handed over).
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Resolves once the gateway begins shutting down.
    pub fn stopping(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.stopping.cancelled()
    }

    /// Resolves once every session has been handed over (or the wait for
    /// them gave up): the background tasks end.
    pub fn stopped(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.stopped.cancelled()
    }

    /// Tasks of the live module still running (session actors, their
    /// checkpoint writers, the mirror, the mesh's tasks, WebSocket
    /// connections).
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Session actors still running.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Step 1: hands every session over and waits (up to `step`) for the
    /// actors to end. Step 2: tells the rest to stop and waits for every
    /// task (again up to `step`). Whether everything ended.
    pub(super) async fn stop(&self, step: Duration) -> bool {
        self.stopping.cancel();
        self.sessions.close();
        let handed_over = tokio::time::timeout(step, self.sessions.wait())
            .await
            .is_ok();
        if !handed_over {
            tracing::error!(
                sessions = self.sessions.len(),
                "live shutdown: sessions still running after the grace period"
            );
        }
        self.stopped.cancel();
        self.tasks.close();
        let ended = tokio::time::timeout(step, self.tasks.wait()).await.is_ok();
        if !ended {
            tracing::error!(
                tasks = self.tasks.len(),
                "live shutdown: tasks still running after the grace period"
            );
        }
        handed_over && ended
    }
}
