//! Where a session lives, decided in one place: [`LiveService::route`].
//!
//! A join code's session runs on this gateway (its actor is in the
//! registry), on another gateway that owns it (Redis Cluster mode: the
//! connection is bridged through the [`Mesh`]), or nowhere yet: when its
//! owner died (lease expired) or this single gateway restarted, the first
//! gateway a client reaches takes it over from its checkpoint. A [`Route`]
//! then carries the connection's traffic either way.

use std::sync::Arc;

use livequiz_sdk::live::{ClientMsg, ErrorCode};

use super::actor::SessionHandle;
use super::conn::{ConnTx, Role};
use super::mesh::Mesh;
use super::service::LiveService;

/// Where a connection's messages go.
pub enum Route {
    /// The session's actor in this process.
    Local(SessionHandle),
    /// The gateway that owns the session, through the mesh.
    Remote {
        /// The mesh.
        mesh: Arc<dyn Mesh>,
        /// The owning gateway's id.
        owner: String,
        /// The join code.
        code: String,
    },
}

impl Route {
    /// Attaches `conn` as `role`: the player id, `None` for the host.
    pub async fn attach(&self, role: Role, conn: ConnTx) -> Result<Option<u64>, ErrorCode> {
        match self {
            Route::Local(h) => h.attach(role, conn).await,
            Route::Remote { mesh, owner, code } => {
                mesh.attach_remote(owner, code, role, conn).await
            }
        }
    }

    /// Relays a client message received at `received`; false when the
    /// session is gone.
    pub async fn send(
        &self,
        conn_id: u64,
        player: Option<u64>,
        msg: ClientMsg,
        received: tokio::time::Instant,
    ) -> bool {
        match self {
            Route::Local(h) => h.send(player, msg, received).await,
            Route::Remote { mesh, owner, .. } => {
                mesh.send_remote(owner, conn_id, msg, received).await
            }
        }
    }

    /// The connection closed.
    pub async fn detach(&self, conn_id: u64, player: Option<u64>) {
        match self {
            Route::Local(h) => h.detach(conn_id, player).await,
            Route::Remote { mesh, owner, .. } => mesh.detach_remote(owner, conn_id).await,
        }
    }
}

impl LiveService {
    /// Where the session of `code` runs: here, on its owning gateway, or -
    /// when it has no owner any more (the owner crashed, its lease expired,
    /// or this single gateway restarted) - here again after this gateway
    /// took it over. `None`: no such session.
    pub async fn route(&self, code: &str) -> Option<Route> {
        if let Some(h) = self.session(code).filter(SessionHandle::is_running) {
            return Some(Route::Local(h));
        }
        let Some(mesh) = self.mesh().cloned() else {
            // One gateway: a session of an earlier run of this process comes
            // back from its checkpoint.
            return self.local_or_take_over(code).await.map(Route::Local);
        };
        // Twice: a lost takeover race means another gateway owns it now.
        for _ in 0..2 {
            match mesh.owner(code).await {
                Some(owner) if owner != mesh.id() => {
                    return Some(Route::Remote {
                        mesh,
                        owner,
                        code: code.to_string(),
                    })
                }
                // Ours (being restored, or finishing), or nobody's.
                _ => {
                    if let Some(h) = self.local_or_take_over(code).await {
                        return Some(Route::Local(h));
                    }
                }
            }
        }
        None
    }
}
