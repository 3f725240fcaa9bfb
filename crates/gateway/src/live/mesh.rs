//! The seam between this gateway's sessions and the other gateways: two
//! narrow traits, one for each direction, so the service, the WebSocket
//! endpoint and the Redis Cluster mesh ([`super::cluster`]) never import one
//! another.
//!
//! - [`Mesh`]: what this gateway asks of the mesh: session ownership (a
//!   lease per join code), where checkpoints go, and the bridge that carries
//!   a socket's traffic to the gateway owning its session.
//! - [`LocalSessions`]: what the mesh asks of this gateway when another
//!   gateway bridges a socket here: the session with that code, run here or
//!   taken over, and connection ids.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use livequiz_sdk::live::{ClientMsg, ErrorCode};
use tokio::sync::oneshot;

use super::actor::SessionHandle;
use super::checkpoint::CheckpointStore;
use super::conn::{ConnTx, Role};

/// Future returned by the traits' methods.
pub type MeshFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The gateways' mesh, as this gateway uses it.
pub trait Mesh: Send + Sync + 'static {
    /// This gateway's instance id.
    fn id(&self) -> &str;

    /// Where sessions are checkpointed in this mode.
    fn checkpoints(&self) -> Arc<dyn CheckpointStore>;

    /// Claims `code` for this gateway; false if another session holds it.
    fn claim<'a>(&'a self, code: &'a str) -> MeshFuture<'a, redis::RedisResult<bool>>;

    /// Gives up the lease on `code` if this gateway holds it.
    fn release<'a>(&'a self, code: &'a str) -> MeshFuture<'a, ()>;

    /// The gateway that owns `code`, if any.
    fn owner<'a>(&'a self, code: &'a str) -> MeshFuture<'a, Option<String>>;

    /// Keeps this gateway's lease on `code` while `session` runs (telling it
    /// to abdicate if another gateway took it over) until the returned
    /// [`Lease`] is released or dropped; then gives the lease up if it is
    /// still this gateway's.
    fn hold(&self, code: String, session: SessionHandle) -> Lease;

    /// Bridges `conn` to the session `code` owned by gateway `owner`: the
    /// player id, `None` for the host.
    fn attach_remote<'a>(
        &'a self,
        owner: &'a str,
        code: &'a str,
        role: Role,
        conn: ConnTx,
    ) -> MeshFuture<'a, Result<Option<u64>, ErrorCode>>;

    /// Relays a client message of bridged connection `conn`, received at
    /// `received`; false if the owner is gone (the client reconnects).
    fn send_remote<'a>(
        &'a self,
        owner: &'a str,
        conn: u64,
        msg: ClientMsg,
        received: tokio::time::Instant,
    ) -> MeshFuture<'a, bool>;

    /// Bridged connection `conn` closed.
    fn detach_remote<'a>(&'a self, owner: &'a str, conn: u64) -> MeshFuture<'a, ()>;
}

/// This gateway's sessions, as the mesh uses them.
pub trait LocalSessions: Send + Sync + 'static {
    /// The session with this code if it runs here, else taken over from its
    /// checkpoint when nobody owns it; `None` if there is no such session.
    fn local_or_take_over<'a>(&'a self, code: &'a str) -> MeshFuture<'a, Option<SessionHandle>>;

    /// A fresh connection id.
    fn next_conn_id(&self) -> u64;
}

/// A session's hold on its owner lease, kept by its actor. Releasing it (or
/// dropping it, when the actor ends) stops the renewals and then deletes the
/// owner key if it still names this gateway, in that order: a renewal in
/// flight cannot claim a lease again after its release.
#[derive(Debug)]
pub struct Lease {
    release: oneshot::Sender<oneshot::Sender<()>>,
}

/// The lease keeper's side of a [`Lease`]: resolves with the actor's
/// request to release (answer it once the lease is given up), or with
/// `None` when the actor dropped its lease.
#[derive(Debug)]
pub struct LeaseKeeper {
    release: oneshot::Receiver<oneshot::Sender<()>>,
}

impl Lease {
    /// A lease and the keeper that renews it.
    pub fn new() -> (Lease, LeaseKeeper) {
        let (tx, rx) = oneshot::channel();
        (Lease { release: tx }, LeaseKeeper { release: rx })
    }

    /// Gives the lease up now and waits until the owner key is deleted (if
    /// it was still this gateway's) or the keeper is gone.
    pub async fn release(self) {
        let (done, wait) = oneshot::channel();
        if self.release.send(done).is_ok() {
            let _ = wait.await;
        }
    }
}

impl LeaseKeeper {
    /// Resolves when the lease is to be given up: `Some(done)` when it was
    /// released (send on `done` once it is), `None` when it was dropped.
    pub async fn released(&mut self) -> Option<oneshot::Sender<()>> {
        (&mut self.release).await.ok()
    }
}
