//! How the gateway builds its [`LiveService`]: the SQL store on the primary
//! pool, the leaderboard (in process, or the shard-node cluster when
//! `SHARD_NODES` is set), and the gateway's [`Authenticator`], so a join
//! frame's login token is checked by the same function as a REST request's.

use std::sync::Arc;

use super::score::{client_config, LocalBoards, ScoreBoard, ShardBoards};
use super::service::LiveService;
use super::store::SqlStore;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::{Db, Dialect};

impl LiveService {
    /// The live service of a gateway (call inside the runtime: it spawns
    /// the answer writer). Scores rank on the shard-node cluster when
    /// `config.shard_nodes` is set (the client connects on first use), in
    /// process otherwise.
    pub fn start(db: &Db, auth: Authenticator, config: &Config) -> Arc<LiveService> {
        let board: Arc<dyn ScoreBoard> = if config.shard_nodes.is_empty() {
            tracing::info!("live leaderboard: in process");
            Arc::new(LocalBoards::new())
        } else {
            match client_config(&config.shard_nodes) {
                Ok(cfg) => {
                    tracing::info!(nodes = ?config.shard_nodes, "live leaderboard: shard-node cluster");
                    Arc::new(ShardBoards::new(cfg))
                }
                Err(e) => {
                    tracing::error!(error = %e, "live leaderboard: bad shard-node configuration, live sessions will fail");
                    Arc::new(ShardBoards::unavailable(e.to_string()))
                }
            }
        };
        let store = SqlStore::new(db.primary().clone(), db.dialect() == Dialect::MySql);
        // Answer flushes on the native driver (see store::sql); the Any pool
        // if that pool cannot be configured (it would fail the same way).
        let store = match store.clone().with_answer_pool(&config.primary_url()) {
            Ok(native) => native,
            Err(e) => {
                tracing::warn!(error = %e, "live answers: native pool unavailable, using the shared pool");
                store
            }
        };
        let policy = super::admission::LivePolicy::from_config(config);
        LiveService::with_policy(board, Arc::new(store), auth, policy)
    }
}
