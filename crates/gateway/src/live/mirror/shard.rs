//! [`MirrorTarget`] over the shard-node cluster (`SHARD_NODES` set).
//!
//! One board per session ([`board_id`]), created on first use with
//! [`session_board_config`] (incr writes, competition ranks), writes carry
//! the engine's op ids so a retried write is applied once. Members are the
//! player ids as text, as on the engine's own board.
//!
//! The client connects lazily on first use, so [`ShardMirror::new`] is
//! synchronous. Boards this gateway created are remembered so a write does
//! not pay a create round trip; if another gateway dropped the board in the
//! meantime, the operation re-creates it and runs once more.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;

use leaderboard_core::{BoardConfig, OpId, WriteOp};
use shard_node::client::{ClientConfig, ShardClient};
use shard_node::layout::Layout;
use shard_node::transport::TlsIdentity;
use tokio::sync::OnceCell;

use super::{MirrorError, MirrorFuture, MirrorTarget};
use crate::live::engine::ranks::{board_config, member};
use crate::live::engine::ScoreWrite;

/// Board id of a session on the cluster.
pub fn board_id(session: i64) -> String {
    format!("live:{session}")
}

/// Configuration of a session's board on the cluster: the engine's (incr,
/// competition ranks), in a few partitions so writes to a large session
/// spread over the cluster's groups.
pub fn session_board_config() -> BoardConfig {
    board_config(4)
}

/// Session boards on the shard-node cluster.
pub struct ShardMirror {
    cfg: Result<ClientConfig, String>,
    client: OnceCell<ShardClient>,
    created: Mutex<HashSet<i64>>,
}

fn err(e: shard_node::Error) -> MirrorError {
    MirrorError(e.to_string())
}

fn not_found(e: &shard_node::Error) -> bool {
    matches!(e, shard_node::Error::Leaderboard(e) if e.is_not_found())
}

/// The client configuration of a gateway: nodes from `SHARD_NODES` (given
/// here, as the gateway config parsed it), the rest from the environment as
/// [`ClientConfig::from_env`] reads it: `SHARD_GROUPS` (default 1), and
/// `SHARD_CERTS_DIR` with `SHARD_CLIENT_NAME` (default `client`), or
/// `SHARD_CA`, `SHARD_CERT`, `SHARD_KEY`.
pub fn client_config(shard_nodes: &[String]) -> Result<ClientConfig, MirrorError> {
    let nodes = ClientConfig::parse_nodes(&shard_nodes.join(",")).map_err(err)?;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let need = |k: &str| var(k).ok_or_else(|| MirrorError(format!("{k} is not set")));
    let mut layout = Layout::default();
    if let Some(g) = var("SHARD_GROUPS") {
        layout.groups = g
            .trim()
            .parse()
            .map_err(|_| MirrorError(format!("SHARD_GROUPS={g:?} is not a number")))?;
    }
    layout.validate().map_err(err)?;
    if let Some(dir) = var("SHARD_CERTS_DIR") {
        let name = var("SHARD_CLIENT_NAME").unwrap_or_else(|| "client".into());
        return ClientConfig::from_certs_dir(nodes, layout, dir.as_ref(), &name).map_err(err);
    }
    let tls = TlsIdentity::from_files(
        need("SHARD_CA")?.as_ref(),
        need("SHARD_CERT")?.as_ref(),
        need("SHARD_KEY")?.as_ref(),
    )
    .map_err(err)?;
    Ok(ClientConfig::new(nodes, layout, tls))
}

impl ShardMirror {
    /// Boards on the cluster `cfg` describes; connects on first use.
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg: Ok(cfg),
            client: OnceCell::new(),
            created: Mutex::new(HashSet::new()),
        }
    }

    /// A mirror that fails every operation with `reason` (a gateway whose
    /// shard configuration is broken plays its sessions all the same; the
    /// mirror's failures are logged and counted).
    pub fn unavailable(reason: String) -> Self {
        Self {
            cfg: Err(reason),
            client: OnceCell::new(),
            created: Mutex::new(HashSet::new()),
        }
    }

    async fn client(&self) -> Result<&ShardClient, MirrorError> {
        self.client
            .get_or_try_init(|| async {
                let cfg = self.cfg.clone().map_err(MirrorError)?;
                ShardClient::connect(cfg).await.map_err(err)
            })
            .await
    }

    fn known(&self, session: i64) -> bool {
        self.created.lock().expect("poisoned").contains(&session)
    }

    fn set_known(&self, session: i64, known: bool) {
        let mut c = self.created.lock().expect("poisoned");
        if known {
            c.insert(session);
        } else {
            c.remove(&session);
        }
    }

    /// The client, with the session's board created (idempotent on the cluster).
    async fn board(&self, session: i64) -> Result<&ShardClient, MirrorError> {
        let client = self.client().await?;
        if !self.known(session) {
            client
                .create_board(&board_id(session), session_board_config())
                .await
                .map_err(err)?;
            self.set_known(session, true);
        }
        Ok(client)
    }

    /// Runs `op` on the session's board; if the board vanished (another
    /// gateway dropped it), re-creates it and runs `op` once more.
    async fn run<'a, T, F, Fut>(&'a self, session: i64, op: F) -> Result<T, MirrorError>
    where
        F: Fn(&'a ShardClient, String) -> Fut,
        Fut: Future<Output = Result<T, shard_node::Error>>,
    {
        let client = self.board(session).await?;
        match op(client, board_id(session)).await {
            Err(e) if not_found(&e) => {
                self.set_known(session, false);
                let client = self.board(session).await?;
                op(client, board_id(session)).await.map_err(err)
            }
            r => r.map_err(err),
        }
    }
}

impl MirrorTarget for ShardMirror {
    fn write<'a>(&'a self, session: i64, writes: &'a [ScoreWrite]) -> MirrorFuture<'a> {
        Box::pin(async move {
            let batch: Vec<leaderboard_core::Write> = writes
                .iter()
                .map(|w| {
                    // The engine's tie order (by player id): a constant `at`, as its board writes.
                    leaderboard_core::Write::new(member(w.player), w.delta, 0)
                        .op(WriteOp::Incr)
                        .op_id(OpId::hashed(&w.op_key))
                })
                .collect();
            self.run(session, |c, board| {
                let batch = batch.clone();
                async move {
                    // The mirror needs no outcome: `apply` spares every node the ranks.
                    for r in c.apply_batch(&board, batch).await {
                        r?;
                    }
                    Ok(())
                }
            })
            .await
        })
    }

    fn remove(&self, session: i64, player: u64) -> MirrorFuture<'_> {
        Box::pin(async move {
            self.run(session, |c, board| async move {
                c.remove(&board, &member(player)).await.map(|_| ())
            })
            .await
        })
    }

    fn drop_board(&self, session: i64) -> MirrorFuture<'_> {
        Box::pin(async move {
            self.set_known(session, false);
            let client = self.client().await?;
            client.drop_board(&board_id(session)).await.map_err(err)?;
            Ok(())
        })
    }
}
