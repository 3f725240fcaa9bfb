//! [`AppState`]: everything a handler needs, cheap to clone (pools and handles are `Arc`s inside).

use std::sync::Arc;

use crate::auth::tokens::TokenStore;
use crate::config::Config;
use crate::db::Db;
use crate::search::SearchIndex;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    /// Primary and replica pools.
    pub db: Db,
    /// Redis Cluster connection (`None` on the embedded default).
    pub redis: Option<redis::cluster_async::ClusterConnection>,
    /// Question search index (tantivy or Elasticsearch).
    pub search: SearchIndex,
    /// The configuration the gateway started with.
    pub config: Arc<Config>,
    /// Login tokens (Redis when configured, else in-process).
    pub tokens: TokenStore,
    /// Resolves bearer tokens to users (REST and WebSocket alike).
    pub auth: crate::auth::Authenticator,
    /// Live quiz sessions (owned by `crate::live`).
    pub live: Arc<crate::live::LiveService>,
    /// The quick-match queue (owned by `crate::matchmaking`).
    pub matchmaking: Arc<crate::matchmaking::Matchmaker>,
    /// Per-client rate limits of the public entry points.
    pub limits: Arc<crate::limits::Limits>,
    /// Password hashing, bounded in concurrency (and so in memory).
    pub passwords: Arc<crate::auth::password::Passwords>,
    /// Ratings and global leaderboards (`crate::ranked`).
    pub ranked: Arc<crate::ranked::Ranked>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("redis", &self.redis.is_some())
            .field("search", &self.search.backend_name())
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl AppState {
    /// Connects every dependency named by `config` (and migrates when configured to).
    pub async fn connect(config: Config) -> anyhow::Result<AppState> {
        // Read before any connection: a bad value stops the start with its name, not after
        // (or behind) a database error.
        let match_settings = crate::matchmaking::MatchSettings::from_env()?;
        let db = Db::connect(&config).await?;
        if config.should_migrate_on_start() {
            db.migrate().await?;
        } else {
            db.check_schema().await?;
        }
        let redis = if config.redis_cluster_nodes.is_empty() {
            None
        } else {
            let client = redis::cluster::ClusterClient::new(config.redis_urls())?;
            Some(client.get_async_connection().await?)
        };
        let search = match &config.elasticsearch_url {
            Some(url) => {
                SearchIndex::connect_elasticsearch(url, &config.elasticsearch_index).await?
            }
            None => {
                std::fs::create_dir_all(&config.data_dir)?;
                SearchIndex::open_tantivy(&config.data_dir)?
            }
        };
        let tokens = match &redis {
            Some(c) => TokenStore::Redis(c.clone()),
            None => TokenStore::memory(),
        };
        let auth = crate::auth::Authenticator::new(tokens.clone(), db.clone());
        let live = crate::live::LiveService::start(&db, auth.clone(), &config);
        if redis.is_some() {
            live.join_cluster(&config.redis_urls(), config.live_owner_lease)
                .await?;
        }
        let limits = crate::limits::Limits::new(&config);
        limits.spawn_sweeper();
        live.use_limits(limits.clone());
        let passwords = Arc::new(crate::auth::password::Passwords::new(&config).await?);
        let ranked = crate::ranked::Ranked::start(db.clone())
            .await
            .map_err(|e| anyhow::anyhow!("loading the ratings and leaderboards: {e}"))?;
        let match_store = crate::matchmaking::store::MatchStore::new(&db);
        let matchmaking = crate::matchmaking::Matchmaker::start(
            match_store.clone(),
            live.clone(),
            Arc::new(crate::matchmaking::RankedBook::new(ranked.clone())),
            match_settings,
        );
        Ok(AppState {
            auth,
            passwords,
            ranked,
            live,
            matchmaking,
            limits,
            db,
            redis,
            search,
            config: Arc::new(config),
            tokens,
        })
    }
}
