//! Join codes: drawn at random from the code space (a million 6-digit codes,
//! `LIVE_CODE_DIGITS`); a code is free when no session of this gateway holds
//! it, no session parked in a checkpoint holds it, and (Redis Cluster) no
//! other gateway owns it. The search is bounded: when no free code turns up,
//! creating a session fails with [`CreateError::NoFreeCode`] (503) instead
//! of looping (it used to loop forever, holding the registry's lock, once
//! every code was taken).

use tokio::sync::mpsc;

use super::actor::{Cmd, SessionHandle};
use super::service::{CreateError, LiveService};

/// Random picks before the local registry is scanned for a free code.
const RANDOM_PICKS: usize = 32;

impl LiveService {
    /// Whether a fresh code may be used, claiming it in Redis Cluster mode.
    /// A code is taken by a running session (the owner lease) and by a
    /// session parked in its checkpoint, waiting for a client to reconnect
    /// so a gateway takes it over.
    pub(super) async fn code_is_free(&self, code: &str) -> Result<bool, CreateError> {
        if let Some(mesh) = self.mesh() {
            if !mesh.claim(code).await? {
                return Ok(false);
            }
        }
        let parked = self
            .checkpoints()
            .exists(code)
            .await
            .map_err(|e| CreateError::Checkpoint(e.to_string()));
        if !matches!(parked, Ok(false)) {
            if let Some(mesh) = self.mesh() {
                mesh.release(code).await;
            }
        }
        parked.map(|taken| !taken)
    }

    pub(super) fn forget(&self, code: &str) {
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .remove(code);
    }

    /// A code no session holds (here, parked, or on another gateway),
    /// reserved in the registry; [`CreateError::NoFreeCode`] after
    /// `LIVE_CODE_ATTEMPTS` taken ones (a Redis claim each in cluster mode)
    /// or when every code is taken here.
    pub(super) async fn allocate_code(
        &self,
    ) -> Result<(String, mpsc::Sender<Cmd>, mpsc::Receiver<Cmd>), CreateError> {
        for _ in 0..self.policy().tuning.code_attempts {
            let Some((code, tx, rx)) = self.reserve_code() else {
                break;
            };
            match self.code_is_free(&code).await {
                Ok(true) => return Ok((code, tx, rx)),
                Ok(false) => self.forget(&code), // another session's code
                Err(e) => {
                    self.forget(&code);
                    return Err(e);
                }
            }
        }
        metrics::counter!("live_sessions_refused_total", "why" => "no_free_code").increment(1);
        tracing::warn!(
            running = self.running(),
            "live session refused: no free join code"
        );
        Err(CreateError::NoFreeCode)
    }

    /// Reserves a code no session of this gateway holds with a placeholder
    /// entry: a few random picks, then a scan from a random start, so a free
    /// code is found whenever one exists here, in at most one pass over the
    /// code space (only when nearly every code is taken). `None` when every
    /// code is taken.
    fn reserve_code(&self) -> Option<(String, mpsc::Sender<Cmd>, mpsc::Receiver<Cmd>)> {
        let space = self.policy().code_space();
        let mut map = self.sessions.lock().expect("live registry poisoned");
        if map.len() >= space as usize {
            return None;
        }
        let start = rand::random_range(0..space);
        let code = (0..RANDOM_PICKS)
            .map(|_| rand::random_range(0..space))
            .chain((0..space).map(|i| (start + i) % space))
            .map(|n| self.policy().code(n))
            .find(|c| !map.contains_key(c))?;
        let (tx, rx) = mpsc::channel(self.policy().tuning.cmd_queue);
        // Placeholder until the id is known; connections see the session
        // only once `spawn` fills in the real handle.
        map.insert(
            code.clone(),
            SessionHandle::new(0, String::new(), tx.clone()),
        );
        Some((code, tx, rx))
    }
}
