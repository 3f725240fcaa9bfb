//! [`ScoreBoard`] over the shard-node cluster (`SHARD_NODES` set).
//!
//! Same semantics as [`LocalBoards`](super::LocalBoards): one board per session
//! ([`board_id`]), created on first use with the same configuration (incr
//! writes, competition ranks), writes carry the engine's op ids so a retry is
//! applied once, reads of a session without a board see an empty board.
//!
//! The client connects lazily on first use, so [`ShardBoards::new`] is
//! synchronous. Boards this gateway created are remembered so a write does
//! not pay a create round trip; if another gateway dropped the board in the
//! meantime, the operation re-creates it and runs once more.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use leaderboard_core::{OpId, RankedEntry, WriteOp};
use shard_node::client::{ClientConfig, ShardClient};
use shard_node::layout::Layout;
use shard_node::transport::TlsIdentity;
use tokio::sync::OnceCell;

use super::{board_id, member, session_board_config, BoardError, BoardFuture, ScoreBoard};
use crate::live::engine::{BoardRank, ScoreWrite};

/// Above this many players, `ranks` reads the whole board once instead of
/// one entry lookup per player.
const RANKS_BY_ENTRY: usize = 32;

/// Rows per page when reading a whole board.
const PAGE: usize = 10_000;

/// Session boards on the shard-node cluster.
pub struct ShardBoards {
    cfg: Result<ClientConfig, String>,
    client: OnceCell<ShardClient>,
    created: Mutex<HashSet<i64>>,
}

fn err(e: shard_node::Error) -> BoardError {
    BoardError(e.to_string())
}

fn not_found(e: &shard_node::Error) -> bool {
    matches!(e, shard_node::Error::Leaderboard(e) if e.is_not_found())
}

fn ranked(rows: Vec<RankedEntry>) -> Vec<BoardRank> {
    rows.into_iter()
        .filter_map(|r| {
            Some(BoardRank {
                player: r.entry.member.parse().ok()?,
                rank: r.rank,
                score: r.entry.score,
            })
        })
        .collect()
}

/// The client configuration of a gateway: nodes from `SHARD_NODES` (given
/// here, as the gateway config parsed it), the rest from the environment as
/// [`ClientConfig::from_env`] reads it: `SHARD_GROUPS` (default 1), and
/// `SHARD_CERTS_DIR` with `SHARD_CLIENT_NAME` (default `client`), or
/// `SHARD_CA`, `SHARD_CERT`, `SHARD_KEY`.
pub fn client_config(shard_nodes: &[String]) -> Result<ClientConfig, BoardError> {
    let nodes = ClientConfig::parse_nodes(&shard_nodes.join(",")).map_err(err)?;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let need = |k: &str| var(k).ok_or_else(|| BoardError(format!("{k} is not set")));
    let mut layout = Layout::default();
    if let Some(g) = var("SHARD_GROUPS") {
        layout.groups = g
            .trim()
            .parse()
            .map_err(|_| BoardError(format!("SHARD_GROUPS={g:?} is not a number")))?;
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

impl ShardBoards {
    /// Boards on the cluster `cfg` describes; connects on first use.
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg: Ok(cfg),
            client: OnceCell::new(),
            created: Mutex::new(HashSet::new()),
        }
    }

    /// Boards over an existing client.
    pub fn with_client(client: ShardClient) -> Self {
        Self {
            cfg: Ok(client.config().clone()),
            client: OnceCell::new_with(Some(client)),
            created: Mutex::new(HashSet::new()),
        }
    }

    /// Boards that fail every operation with `reason` (a gateway whose shard
    /// configuration is broken keeps serving everything else).
    pub fn unavailable(reason: String) -> Self {
        Self {
            cfg: Err(reason),
            client: OnceCell::new(),
            created: Mutex::new(HashSet::new()),
        }
    }

    async fn client(&self) -> Result<&ShardClient, BoardError> {
        self.client
            .get_or_try_init(|| async {
                let cfg = self.cfg.clone().map_err(BoardError)?;
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
    async fn board(&self, session: i64) -> Result<&ShardClient, BoardError> {
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
    async fn run<'a, T, F, Fut>(&'a self, session: i64, op: F) -> Result<T, BoardError>
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

    async fn all_now(&self, session: i64) -> Result<Vec<BoardRank>, BoardError> {
        self.run(session, |c, board| async move {
            let mut out = Vec::new();
            let mut cursor = None;
            loop {
                let page = c.page_after(&board, cursor.as_ref(), PAGE).await?;
                out.extend(page.entries);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(out),
                }
            }
        })
        .await
        .map(ranked)
    }

    async fn ranks_now(&self, session: i64, players: &[u64]) -> Result<Vec<BoardRank>, BoardError> {
        if players.len() > RANKS_BY_ENTRY {
            let all: HashMap<u64, BoardRank> = self
                .all_now(session)
                .await?
                .into_iter()
                .map(|r| (r.player, r))
                .collect();
            return Ok(players.iter().filter_map(|p| all.get(p).cloned()).collect());
        }
        let entries = self
            .run(session, |c, board| async move {
                futures_util::future::try_join_all(players.iter().map(|&p| {
                    let board = board.clone();
                    async move { c.entry(&board, &member(p)).await }
                }))
                .await
            })
            .await?;
        Ok(ranked(entries.into_iter().flatten().collect()))
    }
}

impl ScoreBoard for ShardBoards {
    fn apply<'a>(&'a self, session: i64, writes: Vec<ScoreWrite>) -> BoardFuture<'a, ()> {
        Box::pin(async move {
            let batch: Vec<leaderboard_core::Write> = writes
                .into_iter()
                .map(|w| {
                    leaderboard_core::Write::new(member(w.player), w.delta, w.at)
                        .op(WriteOp::Incr)
                        .op_id(OpId::hashed(w.op_key))
                })
                .collect();
            self.run(session, |c, board| {
                let batch = batch.clone();
                async move {
                    for r in c.write_batch(&board, batch).await {
                        r?;
                    }
                    Ok(())
                }
            })
            .await
        })
    }

    fn remove(&self, session: i64, player: u64) -> BoardFuture<'_, ()> {
        Box::pin(async move {
            self.run(session, |c, board| async move {
                c.remove(&board, &member(player)).await.map(|_| ())
            })
            .await
        })
    }

    fn top(&self, session: i64, n: usize) -> BoardFuture<'_, Vec<BoardRank>> {
        Box::pin(async move {
            self.run(session, |c, board| async move { c.top(&board, n).await })
                .await
                .map(ranked)
        })
    }

    fn ranks<'a>(&'a self, session: i64, players: &'a [u64]) -> BoardFuture<'a, Vec<BoardRank>> {
        Box::pin(self.ranks_now(session, players))
    }

    fn all(&self, session: i64) -> BoardFuture<'_, Vec<BoardRank>> {
        Box::pin(self.all_now(session))
    }

    fn drop_session(&self, session: i64) -> BoardFuture<'_, ()> {
        Box::pin(async move {
            self.set_known(session, false);
            let client = self.client().await?;
            client.drop_board(&board_id(session)).await.map_err(err)?;
            Ok(())
        })
    }
}
