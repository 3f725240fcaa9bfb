//! How the gateway builds its [`LiveService`]: the SQL store on the primary
//! pool, the in-process leaderboard, and login tokens resolved the same way
//! as `auth::resolve_token` (token store, then the user row).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::Row;

use super::score::LocalBoards;
use super::service::{Account, Authenticator, LiveService};
use super::store::SqlStore;
use crate::auth::tokens::TokenStore;
use crate::config::Config;
use crate::db::{Db, Dialect};

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
        let row = sqlx::query("SELECT id, username FROM users WHERE id = ?")
            .bind(uid)
            .fetch_optional(self.db.primary())
            .await
            .ok()??;
        Some(Account {
            id: row.try_get("id").ok()?,
            username: row.try_get("username").ok()?,
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
    /// the answer writer). `config.shard_nodes` is not used yet: scores rank
    /// in process (see the module essay).
    pub fn start(db: &Db, tokens: &TokenStore, config: &Config) -> Arc<LiveService> {
        if !config.shard_nodes.is_empty() {
            tracing::warn!("SHARD_NODES is set but live sessions rank scores in process");
        }
        let store = SqlStore::new(db.primary().clone(), db.dialect() == Dialect::MySql);
        let auth = TokenAuth {
            tokens: tokens.clone(),
            db: db.clone(),
        };
        LiveService::new(
            Arc::new(LocalBoards::new()),
            Arc::new(store),
            Arc::new(auth),
        )
    }
}
