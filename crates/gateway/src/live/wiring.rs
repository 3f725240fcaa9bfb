//! How the gateway builds its [`LiveService`]: the SQL store on the primary
//! pool, the leaderboard (in process, or the shard-node cluster when
//! `SHARD_NODES` is set), and login tokens resolved the same way
//! as `auth::resolve_token` (token store, then the user row).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::score::{client_config, LocalBoards, ScoreBoard, ShardBoards};
use super::service::{Account, Authenticator, LiveService};
use crate::auth::tokens::TokenStore;
use crate::config::Config;
use crate::db::Db;
use crate::store::live::LiveStore;

/// Resolves login tokens through the gateway's token store and users table.
pub struct TokenAuth {
    tokens: TokenStore,
    db: Db,
}

impl TokenAuth {
    async fn lookup(&self, token: &str) -> Option<Account> {
        let token = token.trim();
        if token.is_empty() || token.len() > 256 {
            return None;
        }
        let uid = self.tokens.get(token).await.ok()??;
        let user = crate::store::users::load(self.db.primary(), uid)
            .await
            .ok()??;
        Some(Account {
            id: user.id,
            username: user.username,
        })
    }
}

impl Authenticator for TokenAuth {
    fn resolve<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<Account>> + Send + 'a>> {
        Box::pin(self.lookup(token))
    }
}

impl LiveService {
    /// The live service of a gateway (call inside the runtime: it spawns
    /// the answer writer). Scores rank on the shard-node cluster when
    /// `config.shard_nodes` is set (the client connects on first use), in
    /// process otherwise.
    pub fn start(db: &Db, tokens: &TokenStore, config: &Config) -> Arc<LiveService> {
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
        let store = LiveStore::new(db);
        // Answer flushes on the native driver (see store::live::answers); the
        // Any pool if that pool cannot be configured (it would fail the same way).
        let store = match store.clone().with_answer_pool(
            &config.primary_url(),
            config.live_tuning.answer_db_connections,
        ) {
            Ok(native) => native,
            Err(e) => {
                tracing::warn!(error = %e, "live answers: native pool unavailable, using the shared pool");
                store
            }
        };
        let auth = TokenAuth {
            tokens: tokens.clone(),
            db: db.clone(),
        };
        let policy = super::admission::LivePolicy::from_config(config);
        LiveService::with_policy(board, store, Arc::new(auth), policy)
    }
}
