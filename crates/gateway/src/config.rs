//! Gateway configuration, read from environment variables.
//!
//! Every setting has a default that gives the embedded single-machine mode (SQLite + tantivy in
//! `DATA_DIR`, in-process token store), so `cargo run -p gateway` needs no configuration. Setting
//! `DATABASE_URL`, `DATABASE_REPLICA_URL`, `REDIS_CLUSTER_NODES` and `ELASTICSEARCH_URL` switches
//! each part to its real service.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// All gateway settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `BIND`: listen address (default `127.0.0.1:8080`; tests use port 0).
    pub bind: SocketAddr,
    /// `DATA_DIR`: SQLite file and tantivy index live here (default `./data`).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: `mysql://...` or `sqlite://...`; `None` means `sqlite://<DATA_DIR>/quiz.db`.
    pub database_url: Option<String>,
    /// `DATABASE_REPLICA_URL`: where lag-tolerant reads go; `None` means the primary.
    pub database_replica_url: Option<String>,
    /// `REDIS_CLUSTER_NODES`: comma-separated `host:port` (or `redis://` URLs) of Redis Cluster
    /// seed nodes; empty means the in-process token store.
    pub redis_cluster_nodes: Vec<String>,
    /// `ELASTICSEARCH_URL`: use Elasticsearch instead of the embedded tantivy index.
    pub elasticsearch_url: Option<String>,
    /// `ELASTICSEARCH_INDEX`: alias name of the question index (default `questions`).
    pub elasticsearch_index: String,
    /// `SHARD_NODES`: comma-separated shard-node addresses for the live leaderboard (used by the
    /// live-quiz engine; empty means in-process).
    pub shard_nodes: Vec<String>,
    /// `TOKEN_TTL` (seconds, default 86400): lifetime of login tokens.
    pub token_ttl: Duration,
    /// `ADMIN_USERNAME`: this username becomes admin on registration (the first user always does).
    pub admin_username: Option<String>,
    /// `MIGRATE_ON_START` (default true for SQLite, false for MySQL, where `gateway migrate` is
    /// run before rolling out a new version).
    pub migrate_on_start: Option<bool>,
    /// `DB_MAX_CONNECTIONS` (default 16): pool size for each of primary and replica.
    pub db_max_connections: u32,
    /// `ARGON2_MEMORY_KIB` (default 19456, the OWASP minimum for argon2id with t=2).
    pub argon2_memory_kib: u32,
    /// `ARGON2_ITERATIONS` (default 2).
    pub argon2_iterations: u32,
    /// `MAX_BODY_BYTES` (default 65536): larger request bodies get 413.
    pub max_body_bytes: usize,
    /// `LIVE_OWNER_LEASE_MS` (default 5000): with Redis Cluster, how long a live session's owner
    /// lease lasts without renewal (renewed every third of it). After a gateway crash its
    /// sessions are taken over by another gateway within about this time.
    pub live_owner_lease: Duration,
    /// `TRUSTED_PROXIES`: comma-separated addresses of reverse proxies (e.g. nginx) whose
    /// `X-Forwarded-For` names the client; empty (default) means the header is ignored and
    /// every limit counts the TCP peer.
    pub trusted_proxies: Vec<IpAddr>,
    /// Per-client rate limits of the public entry points.
    pub limits: LimitsConfig,
    /// Connection-level limits of the accept loop (slow and idle connections).
    pub connections: ConnectionsConfig,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins (`scheme://host[:port]`) whose pages
    /// may call the API from a browser; empty (default) sends no CORS headers, so only pages
    /// served by the gateway itself (same origin) can.
    pub cors_allowed_origins: Vec<String>,
}

/// Limits of the TCP connections themselves, checked before any request is read: without
/// them a client that opens connections and sends nothing holds a descriptor each until the
/// process runs out and nobody else is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionsConfig {
    /// `HEADER_READ_TIMEOUT_MS` (default 10000): a connection must deliver a request's
    /// complete headers within this time of opening, or of going idle after its previous
    /// response (so it is also the keep-alive idle timeout); otherwise it is closed.
    pub header_read_timeout: Duration,
    /// `MAX_CONNS_PER_IP` (default 512; 0 turns it off): open connections per client
    /// address (IPv6: per /64), counted on the TCP peer; trusted proxies are exempt. Beyond
    /// it a new connection is closed at once. 512 fits a classroom of 60 behind one NAT
    /// with a browser's 6 parallel connections and a WebSocket each.
    pub max_conns_per_ip: u32,
    /// `MAX_CONNECTIONS` (default: the descriptor limit, raised to its hard limit at start,
    /// minus a reserve for the database and Redis pools and files): open connections in all.
    /// At the cap the gateway stops accepting until one closes, instead of failing accepts
    /// with "too many open files". Larger than the descriptor limit allows is refused.
    pub max_connections: Option<usize>,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        ConnectionsConfig {
            header_read_timeout: Duration::from_millis(10_000),
            max_conns_per_ip: 512,
            max_connections: None,
        }
    }
}

impl ConnectionsConfig {
    fn from_env() -> anyhow::Result<ConnectionsConfig> {
        let d = ConnectionsConfig::default();
        let header_ms: u64 = parsed("HEADER_READ_TIMEOUT_MS", 10_000)?;
        if !(1..=3_600_000).contains(&header_ms) {
            anyhow::bail!("invalid HEADER_READ_TIMEOUT_MS={header_ms}: must be 1-3600000 ms");
        }
        let max_connections = match var("MAX_CONNECTIONS") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => anyhow::bail!("invalid MAX_CONNECTIONS={v:?}: must be a positive number"),
            },
        };
        Ok(ConnectionsConfig {
            header_read_timeout: Duration::from_millis(header_ms),
            max_conns_per_ip: parsed("MAX_CONNS_PER_IP", d.max_conns_per_ip)?,
            max_connections,
        })
    }
}

/// Checks one `CORS_ALLOWED_ORIGINS` entry: an origin is `http(s)://host[:port]`, nothing
/// more (a browser's `Origin` header never has a path, and `*` would open the API to every
/// page on the web).
fn origin(entry: &str) -> anyhow::Result<String> {
    let bad = || {
        anyhow::anyhow!(
            "invalid CORS_ALLOWED_ORIGINS entry {entry:?}: expected http(s)://host[:port]"
        )
    };
    let rest = entry
        .strip_prefix("http://")
        .or_else(|| entry.strip_prefix("https://"))
        .ok_or_else(bad)?;
    let ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(bad());
    }
    Ok(entry.to_ascii_lowercase())
}

/// Per-client rate limits (actions per minute; bursts of half the rate; 0 turns one off).
/// The defaults let a class of 30-60 people behind one address log in and join at once,
/// and stop a single machine from guessing passwords or flooding a session with bots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// `LOGIN_PER_IP_PER_MIN` (default 60): login attempts per client address.
    pub login_per_ip_per_min: u32,
    /// `LOGIN_PER_USER_PER_MIN` (default 10): login attempts per username, from anywhere.
    pub login_per_user_per_min: u32,
    /// `REGISTER_PER_IP_PER_MIN` (default 30): registrations per client address.
    pub register_per_ip_per_min: u32,
    /// `JOIN_PER_IP_PER_MIN` (default 120): live join attempts per client address.
    pub join_per_ip_per_min: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            login_per_ip_per_min: 60,
            login_per_user_per_min: 10,
            register_per_ip_per_min: 30,
            join_per_ip_per_min: 120,
        }
    }
}

impl LimitsConfig {
    fn from_env() -> anyhow::Result<LimitsConfig> {
        let d = LimitsConfig::default();
        Ok(LimitsConfig {
            login_per_ip_per_min: parsed("LOGIN_PER_IP_PER_MIN", d.login_per_ip_per_min)?,
            login_per_user_per_min: parsed("LOGIN_PER_USER_PER_MIN", d.login_per_user_per_min)?,
            register_per_ip_per_min: parsed("REGISTER_PER_IP_PER_MIN", d.register_per_ip_per_min)?,
            join_per_ip_per_min: parsed("JOIN_PER_IP_PER_MIN", d.join_per_ip_per_min)?,
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_replica_url: None,
            redis_cluster_nodes: Vec::new(),
            elasticsearch_url: None,
            elasticsearch_index: "questions".into(),
            shard_nodes: Vec::new(),
            token_ttl: Duration::from_secs(86_400),
            admin_username: None,
            migrate_on_start: None,
            db_max_connections: 16,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            max_body_bytes: 64 * 1024,
            live_owner_lease: Duration::from_millis(5_000),
            trusted_proxies: Vec::new(),
            limits: LimitsConfig::default(),
            connections: ConnectionsConfig::default(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid {name}={v:?}: {e}")),
    }
}

impl Config {
    /// Reads the configuration from the environment; errors name the bad variable.
    pub fn from_env() -> anyhow::Result<Config> {
        let d = Config::default();
        Ok(Config {
            bind: parsed("BIND", d.bind)?,
            data_dir: var("DATA_DIR").map(PathBuf::from).unwrap_or(d.data_dir),
            database_url: var("DATABASE_URL"),
            database_replica_url: var("DATABASE_REPLICA_URL"),
            redis_cluster_nodes: list("REDIS_CLUSTER_NODES"),
            elasticsearch_url: var("ELASTICSEARCH_URL"),
            elasticsearch_index: var("ELASTICSEARCH_INDEX").unwrap_or(d.elasticsearch_index),
            shard_nodes: list("SHARD_NODES"),
            token_ttl: Duration::from_secs(parsed("TOKEN_TTL", 86_400u64)?.max(1)),
            admin_username: var("ADMIN_USERNAME"),
            migrate_on_start: match var("MIGRATE_ON_START") {
                None => None,
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| anyhow::anyhow!("MIGRATE_ON_START must be true or false"))?,
                ),
            },
            db_max_connections: parsed("DB_MAX_CONNECTIONS", d.db_max_connections)?.max(1),
            argon2_memory_kib: parsed("ARGON2_MEMORY_KIB", d.argon2_memory_kib)?,
            argon2_iterations: parsed("ARGON2_ITERATIONS", d.argon2_iterations)?,
            max_body_bytes: parsed("MAX_BODY_BYTES", d.max_body_bytes)?,
            live_owner_lease: Duration::from_millis(
                parsed("LIVE_OWNER_LEASE_MS", 5_000u64)?.clamp(300, 600_000),
            ),
            trusted_proxies: list("TRUSTED_PROXIES")
                .iter()
                .map(|a| {
                    a.parse()
                        .map_err(|e| anyhow::anyhow!("invalid TRUSTED_PROXIES entry {a:?}: {e}"))
                })
                .collect::<anyhow::Result<_>>()?,
            limits: LimitsConfig::from_env()?,
            connections: ConnectionsConfig::from_env()?,
            cors_allowed_origins: list("CORS_ALLOWED_ORIGINS")
                .iter()
                .map(|o| origin(o))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The embedded configuration rooted at `data_dir`, listening on `127.0.0.1:0`, with cheap
    /// password hashing (for tests).
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..Config::default()
        }
    }

    /// The primary database URL (the SQLite file in `data_dir` by default).
    pub fn primary_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("quiz.db").display()
            ),
        }
    }

    /// `REDIS_CLUSTER_NODES` as client URLs (`host:port` gets `redis://`).
    pub fn redis_urls(&self) -> Vec<String> {
        self.redis_cluster_nodes
            .iter()
            .map(|n| {
                if n.contains("://") {
                    n.clone()
                } else {
                    format!("redis://{n}")
                }
            })
            .collect()
    }

    /// Whether migrations run when the server starts.
    pub fn should_migrate_on_start(&self) -> bool {
        self.migrate_on_start
            .unwrap_or_else(|| !self.primary_url().starts_with("mysql"))
    }
}
