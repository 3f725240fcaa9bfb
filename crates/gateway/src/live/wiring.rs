//! How the gateway builds its [`LiveService`]: the SQL store on the primary
//! pool, the score mirror on the shard-node cluster when `SHARD_NODES` is
//! set, the Redis Cluster mesh of gateways when configured, and the
//! gateway's [`Authenticator`], so a join frame's login token is checked by
//! the same function as a REST request's.

use std::sync::Arc;

use super::cluster::Cluster;
use super::mirror::{client_config, MirrorTarget, ShardMirror};
use super::service::LiveService;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::Db;
use crate::store::live::LiveStore;

impl LiveService {
    /// The live service of a gateway (call inside the runtime: it spawns
    /// the answer writer and the mirror's worker). Each session ranks its
    /// players itself; with `config.shard_nodes` set, the scores are also
    /// mirrored to the shard-node cluster (the client connects on first
    /// use).
    pub fn start(db: &Db, auth: Authenticator, config: &Config) -> Arc<LiveService> {
        let mirror = if config.shard_nodes.is_empty() {
            None
        } else {
            let target = match client_config(&config.shard_nodes) {
                Ok(cfg) => {
                    tracing::info!(nodes = ?config.shard_nodes, "live scores: mirrored to the shard-node cluster");
                    ShardMirror::new(cfg)
                }
                Err(e) => {
                    tracing::error!(error = %e, "live scores: bad shard-node configuration, the mirror will drop every change");
                    ShardMirror::unavailable(e.to_string())
                }
            };
            Some(Arc::new(target) as Arc<dyn MirrorTarget>)
        };
        let store = LiveStore::new(db);
        // Answer flushes on the native driver (see store::live::answers); the
        // Any pool if that pool cannot be configured (it would fail the same way).
        let connections = config.live_tuning.answer_db_connections;
        let store = match store
            .clone()
            .with_answer_pool(&config.primary_url(), connections)
        {
            Ok(native) => native,
            Err(e) => {
                tracing::warn!(error = %e, "live answers: native pool unavailable, using the shared pool");
                store
            }
        };
        let policy = super::admission::LivePolicy::from_config(config);
        LiveService::with_policy(store, auth, policy, mirror)
    }

    /// Joins the gateways sharing sessions through Redis Cluster, given its
    /// seed node URLs ([`crate::config::Config::redis_urls`]) and the owner
    /// lease; see [`super::cluster`]. Without it sessions are process-local.
    pub async fn join_cluster(
        self: &Arc<Self>,
        nodes: &[String],
        lease: std::time::Duration,
    ) -> anyhow::Result<()> {
        let me: Arc<dyn super::mesh::LocalSessions> = self.clone();
        let tuning = self.policy().tuning.clone();
        let life = self.lifecycle().clone();
        let cluster = Cluster::connect(nodes, lease, tuning, Arc::downgrade(&me), life).await?;
        self.join_mesh(cluster);
        Ok(())
    }
}
