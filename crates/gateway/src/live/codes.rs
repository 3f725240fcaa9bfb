//! Join codes: drawn at random from the code space (a million 6-digit codes,
//! `LIVE_CODE_DIGITS`); a code is free when no session of this gateway holds
//! it, no session parked in a checkpoint holds it, and (Redis Cluster) no
//! other gateway owns it. The search is bounded: when no free code turns up,
//! creating a session fails with [`CreateError::NoFreeCode`] (503) instead
//! of looping (it used to loop forever, holding the registry's lock, once
//! every code was taken).

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::actor::{Cmd, SessionHandle};
use super::service::{CreateError, LiveService};

/// Random picks before the local registry is scanned for a free code.
const RANDOM_PICKS: usize = 32;

/// A reserved code with its session's command channel.
pub(super) type Allocated = (String, mpsc::Sender<Cmd>, mpsc::Receiver<Cmd>);

/// Redis claims of one batch in flight at once (cluster mode).
const CLAIMS_AT_ONCE: usize = 8;

impl LiveService {
    pub(super) fn forget(&self, code: &str) {
        self.sessions
            .lock()
            .expect("live registry poisoned")
            .remove(code);
    }

    /// A code no session holds (here, parked, or on another gateway),
    /// reserved in the registry: [`LiveService::allocate_codes`] of one.
    pub(super) async fn allocate_code(&self) -> Result<Allocated, CreateError> {
        self.allocate_codes(1)
            .await
            .pop()
            .unwrap_or(Err(CreateError::NoFreeCode))
    }

    /// `n` codes no session holds (here, parked, or on another gateway), each
    /// reserved in the registry. A code is taken by a running session (here;
    /// on another gateway, its owner lease in Redis Cluster, claimed here a
    /// few at a time) and by a session parked in its checkpoint, waiting for
    /// a client to reconnect so a gateway takes it over (one read for the
    /// whole batch). A taken code is replaced by another, up to
    /// `LIVE_CODE_ATTEMPTS` rounds; a code still missing then (or when every
    /// code is taken here) is [`CreateError::NoFreeCode`]. A store error
    /// fails the codes of that round.
    pub(super) async fn allocate_codes(&self, n: usize) -> Vec<Result<Allocated, CreateError>> {
        let mut out: Vec<Result<Allocated, CreateError>> = Vec::with_capacity(n);
        let mut missing = n;
        for _ in 0..self.policy().tuning.code_attempts {
            if missing == 0 {
                break;
            }
            let reserved: Vec<Allocated> = std::iter::from_fn(|| self.reserve_code())
                .take(missing)
                .collect();
            if reserved.is_empty() {
                break;
            }
            let claimed: Vec<Result<bool, CreateError>> = match self.mesh() {
                Some(mesh) => {
                    let claims: Vec<_> = reserved
                        .iter()
                        .map(|(code, _, _)| {
                            let mesh = mesh.clone();
                            let code = code.clone();
                            async move { mesh.claim(&code).await.map_err(CreateError::from) }
                        })
                        .collect();
                    futures_util::stream::iter(claims)
                        .buffered(CLAIMS_AT_ONCE)
                        .collect()
                        .await
                }
                None => reserved.iter().map(|_| Ok(true)).collect(),
            };
            let asked: Vec<String> = reserved
                .iter()
                .zip(&claimed)
                .filter(|(_, c)| matches!(c, Ok(true)))
                .map(|((code, _, _), _)| code.clone())
                .collect();
            let parked = self
                .checkpoints()
                .existing(&asked)
                .await
                .map_err(|e| e.to_string());
            for ((code, tx, rx), claim) in reserved.into_iter().zip(claimed) {
                let failed = match (claim, &parked) {
                    (Ok(true), Ok(p)) if !p.contains(&code) => {
                        out.push(Ok((code, tx, rx)));
                        missing -= 1;
                        continue;
                    }
                    // Claimed, but parked in a checkpoint (retried) or unreadable.
                    (Ok(true), parked) => {
                        if let Some(mesh) = self.mesh() {
                            mesh.release(&code).await;
                        }
                        parked
                            .as_ref()
                            .err()
                            .map(|e| CreateError::Checkpoint(e.clone()))
                    }
                    // Another gateway's session: retried.
                    (Ok(false), _) => None,
                    (Err(e), _) => Some(e),
                };
                self.forget(&code);
                if let Some(e) = failed {
                    out.push(Err(e));
                    missing -= 1;
                }
            }
        }
        if missing > 0 {
            metrics::counter!("live_sessions_refused_total", "why" => "no_free_code")
                .increment(missing as u64);
            tracing::warn!(
                running = self.running(),
                missing,
                "live session refused: no free join code"
            );
            out.extend((0..missing).map(|_| Err(CreateError::NoFreeCode)));
        }
        out
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
