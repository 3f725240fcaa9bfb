//! Gateway configuration, read from environment variables.
//!
//! Every setting has a default that gives the embedded single-machine mode (SQLite + tantivy in
//! `DATA_DIR`, in-process token store), so `cargo run -p gateway` needs no configuration. Setting
//! `DATABASE_URL`, `DATABASE_REPLICA_URL`, `REDIS_CLUSTER_NODES` and `ELASTICSEARCH_URL` switches
//! each part to its real service.

use std::net::SocketAddr;
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
    /// `ADMIN_USERNAME`: the operator's admin account, created with `gateway admin create`.
    /// When set, registering never makes anyone admin (not the first user, and the name itself
    /// cannot be registered), so a stranger on a fresh install cannot take the admin role;
    /// unset, the first account registered becomes admin.
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
    /// `HASH_CONCURRENCY` (default: the number of cores): password hashes run at once. Each
    /// holds `ARGON2_MEMORY_KIB` for its duration, so this bounds the memory a login flood
    /// can take; more than the cores would only make each hash slower.
    pub hash_concurrency: usize,
    /// `HASH_QUEUE` (default 4 x `HASH_CONCURRENCY`): logins and registrations that may wait
    /// for a hashing slot; beyond them requests get 503 + `Retry-After` at once instead of
    /// piling up. Waiting costs no argon2 memory, only latency (a few hash times).
    pub hash_queue: usize,
    /// `MAX_BODY_BYTES` (default 65536): larger request bodies get 413.
    pub max_body_bytes: usize,
    /// `IMPORT_MAX_BYTES` (default 16 MiB): body limit of `POST /v1/questions/import` only,
    /// which carries a whole question bank (10,000 questions of JSON fit in a few MiB); every
    /// other route keeps `MAX_BODY_BYTES`. Must be at least 1.
    pub import_max_bytes: usize,
    /// `IMPORT_MAX_QUESTIONS` (default 10000): questions per import; larger batches get 413, so
    /// one request cannot hold the database write lock for long. Must be at least 1.
    pub import_max_questions: usize,
    /// `LIVE_OWNER_LEASE_MS` (default 5000, 300..=600000): with Redis Cluster, how long a live session's owner
    /// lease lasts without renewal (renewed every third of it). After a gateway crash its
    /// sessions are taken over by another gateway within about this time.
    pub live_owner_lease: Duration,
    /// `TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.5`, `172.16.0.0/12`)
    /// of reverse proxies (e.g. nginx) whose `X-Forwarded-For` names the client; empty
    /// (default) means the header is ignored and every limit counts the TCP peer. Networks
    /// suit containers, whose proxy address changes on every start.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Per-client rate limits of the public entry points.
    pub limits: LimitsConfig,
    /// Connection-level limits of the accept loop (slow and idle connections).
    pub connections: ConnectionsConfig,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins (`scheme://host[:port]`) whose pages
    /// may call the API from a browser; empty (default) sends no CORS headers, so only pages
    /// served by the gateway itself (same origin) can.
    pub cors_allowed_origins: Vec<String>,
    /// Live-session limits: sessions per host, their lifetime, players per
    /// session, the join-code space, the nickname word list.
    pub live: LiveLimitsConfig,
    /// Live-path tuning: push cadence, queue and batch sizes, timeouts, the bound on live
    /// WebSockets.
    pub live_tuning: LiveTuningConfig,
}

/// How the live path trades latency, memory and CPU. The defaults are what the gateway is
/// measured with (docs/PERFORMANCE.md); each setting is checked at start, and a value outside
/// its range stops the gateway with an error naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTuningConfig {
    /// `LIVE_PUSH_INTERVAL_MS` (default 250, 10..=10000): a session pushes leaderboard and
    /// rank changes at most once per interval (changes in between are coalesced into one
    /// push). Shorter means fresher ranks and more frames to write.
    pub push_interval: Duration,
    /// `LIVE_FANOUT_SLICE` (default 128, 1..=65536): connections a session actor hands frames
    /// to per turn before it yields, so commands (answers, joins) are not held up behind a
    /// broadcast to thousands of sockets.
    pub fanout_slice: usize,
    /// `LIVE_FANOUT_BACKLOG` (default 65536, 1024..=16777216): frames a session may have
    /// waiting for the paced fan-out; beyond it the session drops its slowest consumers
    /// instead of growing without bound.
    pub fanout_backlog: usize,
    /// `LIVE_CONN_QUEUE` (default 256, 8..=65536): frames queued for one player's socket; a
    /// player whose queue is full is too slow and is disconnected (close code 4008) rather
    /// than waited for.
    pub conn_queue: usize,
    /// `LIVE_HOST_QUEUE` (default 32768, `LIVE_CONN_QUEUE`..=1048576): the same for the host,
    /// who gets a roster frame per join (room for a burst of thousands of joins).
    pub host_queue: usize,
    /// `LIVE_CMD_QUEUE` (default 16384, 16..=1048576): commands (answers, joins, host
    /// commands) queued for one session's actor; a full queue makes connections wait.
    pub cmd_queue: usize,
    /// `LIVE_CMD_BATCH` (default 512, 1..=`LIVE_CMD_QUEUE`): commands a session actor takes
    /// per turn.
    pub cmd_batch: usize,
    /// `LIVE_WS_WRITE_BATCH` (default 32, 1..=4096): frames a connection writes before one
    /// flush (frames ready together leave in one `send`).
    pub ws_write_batch: usize,
    /// `LIVE_WS_READ_BUFFER_BYTES` (default 4096, 256..=1048576): read buffer of a live
    /// WebSocket (client frames are tiny; small buffers keep 10,000 sockets cheap).
    pub ws_read_buffer: usize,
    /// `LIVE_WS_WRITE_BUFFER_BYTES` (default 8192, 0..=1048576): bytes a live WebSocket
    /// gathers before writing to the socket.
    pub ws_write_buffer: usize,
    /// `LIVE_WS_MAX_WRITE_BUFFER_BYTES` (default 524288, more than
    /// `LIVE_WS_WRITE_BUFFER_BYTES` and at most 67108864): most bytes a live WebSocket holds
    /// unsent; a client that lets more pile up is disconnected.
    pub ws_max_write_buffer: usize,
    /// `LIVE_MAX_WS_CONNECTIONS` (default: 20000, or 90% of the connection cap
    /// `MAX_CONNECTIONS` if that is less; at least 1 and at most that cap): live WebSockets
    /// this gateway holds at once. Beyond it `GET /v1/live/ws` is refused before the upgrade
    /// with 503 problem+json and `Retry-After` (a load balancer can try another gateway), and
    /// the rest of the connection cap stays free for the REST API.
    pub max_ws_connections: Option<usize>,
    /// `LIVE_ATTACH_TIMEOUT_MS` (default 10000, 100..=120000): with Redis Cluster, how long a
    /// gateway bridging a socket waits for the session's owner to answer its join.
    pub attach_timeout: Duration,
    /// `LIVE_ANSWER_BATCH_MAX` (default 20000, 1..=1000000): most answers per database flush
    /// (one transaction). Large, because a flush costs one commit whatever its size.
    pub answer_batch_max: usize,
    /// `LIVE_ANSWER_FLUSH_MS` (default 10, 0..=1000): longest an accepted answer waits for
    /// its batch to fill before the flush (its acknowledgement waits for the flush).
    pub answer_flush: Duration,
    /// `LIVE_ANSWER_DB_CONNECTIONS` (default 2, 1..=64): MySQL connections of the answer
    /// writer's own pool (SQLite has one writer, so one).
    pub answer_db_connections: u32,
    /// `LIVE_CHECKPOINT_TTL_SECS` (default 86400, `LIVE_MAX_SESSION_SECS`..=86400): a session
    /// checkpoint not written for this long is gone, and its session cannot be resumed. At
    /// least the session lifetime, so a running session's checkpoint never expires.
    pub checkpoint_ttl: Duration,
    /// `LIVE_CHECKPOINT_BATCH` (default 256, 1..=65536): checkpoint writes of one session
    /// sent together (one Redis pipeline or one transaction).
    pub checkpoint_batch: usize,
    /// `LIVE_CHECKPOINT_ATTEMPTS` (default 8, 1..=100): tries of a checkpoint write (with
    /// backoff) before the session goes on without failover safety.
    pub checkpoint_attempts: u32,
    /// `LIVE_CODE_ATTEMPTS` (default 16, 1..=1000): taken join codes tried before creating a
    /// session fails with 503 (each is a Redis claim in cluster mode).
    pub code_attempts: usize,
    /// `LIVE_MIRROR_QUEUE` (default 16384, 1..=1048576): with `SHARD_NODES`, score changes
    /// waiting to be copied to the shard-node cluster; a change that finds the queue full is
    /// dropped (counted) and its session resynced later.
    pub mirror_queue: usize,
    /// `LIVE_MIRROR_GIVE_UP_SECS` (default 60, 1..=3600): how long a change is retried while
    /// the shard-node cluster is down before it is dropped and its session marked for a
    /// resync.
    pub mirror_give_up: Duration,
    /// `LIVE_HANDOVER_FLUSH_MS` (default 5000, 0..=60000): when the gateway stops, how long a
    /// session being handed over waits for the answers it accepted to be stored (and
    /// acknowledged) and its joins checkpointed before it lets its clients go anyway (an
    /// answer not stored by then was never acknowledged).
    pub handover_flush: Duration,
    /// `LIVE_SHUTDOWN_STEP_MS` (default 10000, more than `LIVE_HANDOVER_FLUSH_MS` and at most
    /// 300000): bound of each step of stopping the live module (sessions handed over, the
    /// other tasks ended, the answer writer flushed), so an outage cannot keep the gateway from
    /// exiting.
    pub shutdown_step: Duration,
}

impl Default for LiveTuningConfig {
    fn default() -> Self {
        LiveTuningConfig {
            push_interval: Duration::from_millis(250),
            fanout_slice: crate::live::actor::fanout::SLICE,
            fanout_backlog: crate::live::actor::fanout::BACKLOG_CAP,
            conn_queue: crate::live::conn::CONN_QUEUE,
            host_queue: crate::live::conn::HOST_QUEUE,
            cmd_queue: crate::live::actor::CMD_QUEUE,
            cmd_batch: crate::live::actor::CMD_BATCH,
            ws_write_batch: 32,
            ws_read_buffer: 4 * 1024,
            ws_write_buffer: 8 * 1024,
            ws_max_write_buffer: 512 * 1024,
            max_ws_connections: None,
            attach_timeout: Duration::from_millis(10_000),
            answer_batch_max: 20_000,
            answer_flush: Duration::from_millis(10),
            answer_db_connections: 2,
            checkpoint_ttl: Duration::from_secs(86_400),
            checkpoint_batch: 256,
            checkpoint_attempts: 8,
            code_attempts: 16,
            mirror_queue: crate::live::mirror::MIRROR_QUEUE,
            mirror_give_up: crate::live::mirror::GIVE_UP_AFTER,
            handover_flush: crate::live::actor::HAND_OVER_FLUSH,
            shutdown_step: crate::live::lifecycle::STEP_GRACE,
        }
    }
}

/// Live WebSockets allowed when `LIVE_MAX_WS_CONNECTIONS` is not set (and the connection cap
/// leaves room for them): twice the players one session is sized for.
pub const DEFAULT_MAX_WS_CONNECTIONS: usize = 20_000;

impl LiveTuningConfig {
    fn from_env(env: &Env<'_>, limits: &LiveLimitsConfig) -> anyhow::Result<LiveTuningConfig> {
        let d = LiveTuningConfig::default();
        let conn_queue = env.in_range("LIVE_CONN_QUEUE", d.conn_queue, 8..=65_536)?;
        let cmd_queue = env.in_range("LIVE_CMD_QUEUE", d.cmd_queue, 16..=1_048_576)?;
        let ws_write_buffer = env.in_range(
            "LIVE_WS_WRITE_BUFFER_BYTES",
            d.ws_write_buffer,
            0..=1_048_576,
        )?;
        let max_session = limits.max_session.as_secs();
        let handover_flush =
            env.millis_in("LIVE_HANDOVER_FLUSH_MS", d.handover_flush, 0..=60_000)?;
        let max_ws_connections = match env.var("LIVE_MAX_WS_CONNECTIONS") {
            None => None,
            Some(_) => Some(env.in_range("LIVE_MAX_WS_CONNECTIONS", 1, 1..=usize::MAX)?),
        };
        Ok(LiveTuningConfig {
            push_interval: env.millis_in("LIVE_PUSH_INTERVAL_MS", d.push_interval, 10..=10_000)?,
            fanout_slice: env.in_range("LIVE_FANOUT_SLICE", d.fanout_slice, 1..=65_536)?,
            fanout_backlog: env.in_range(
                "LIVE_FANOUT_BACKLOG",
                d.fanout_backlog,
                1_024..=16_777_216,
            )?,
            conn_queue,
            host_queue: env.in_range("LIVE_HOST_QUEUE", d.host_queue, conn_queue..=1_048_576)?,
            cmd_queue,
            cmd_batch: env.in_range("LIVE_CMD_BATCH", d.cmd_batch.min(cmd_queue), 1..=cmd_queue)?,
            ws_write_batch: env.in_range("LIVE_WS_WRITE_BATCH", d.ws_write_batch, 1..=4_096)?,
            ws_read_buffer: env.in_range(
                "LIVE_WS_READ_BUFFER_BYTES",
                d.ws_read_buffer,
                256..=1_048_576,
            )?,
            ws_write_buffer,
            ws_max_write_buffer: env.in_range(
                "LIVE_WS_MAX_WRITE_BUFFER_BYTES",
                d.ws_max_write_buffer.max(ws_write_buffer + 1),
                ws_write_buffer + 1..=67_108_864,
            )?,
            max_ws_connections,
            attach_timeout: env.millis_in(
                "LIVE_ATTACH_TIMEOUT_MS",
                d.attach_timeout,
                100..=120_000,
            )?,
            answer_batch_max: env.in_range(
                "LIVE_ANSWER_BATCH_MAX",
                d.answer_batch_max,
                1..=1_000_000,
            )?,
            answer_flush: env.millis_in("LIVE_ANSWER_FLUSH_MS", d.answer_flush, 0..=1_000)?,
            answer_db_connections: env.in_range(
                "LIVE_ANSWER_DB_CONNECTIONS",
                d.answer_db_connections,
                1..=64,
            )?,
            checkpoint_ttl: env
                .secs_in(
                    "LIVE_CHECKPOINT_TTL_SECS",
                    d.checkpoint_ttl,
                    max_session..=86_400,
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{e} (at least LIVE_MAX_SESSION_SECS={max_session}, so a running \
                         session's checkpoint cannot expire)"
                    )
                })?,
            checkpoint_batch: env.in_range(
                "LIVE_CHECKPOINT_BATCH",
                d.checkpoint_batch,
                1..=65_536,
            )?,
            checkpoint_attempts: env.in_range(
                "LIVE_CHECKPOINT_ATTEMPTS",
                d.checkpoint_attempts,
                1..=100,
            )?,
            code_attempts: env.in_range("LIVE_CODE_ATTEMPTS", d.code_attempts, 1..=1_000)?,
            mirror_queue: env.in_range("LIVE_MIRROR_QUEUE", d.mirror_queue, 1..=1_048_576)?,
            mirror_give_up: env.secs_in("LIVE_MIRROR_GIVE_UP_SECS", d.mirror_give_up, 1..=3_600)?,
            handover_flush,
            shutdown_step: env
                .millis_in(
                    "LIVE_SHUTDOWN_STEP_MS",
                    d.shutdown_step.max(handover_flush * 2),
                    handover_flush.as_millis() as u64 + 1..=300_000,
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{e} (more than LIVE_HANDOVER_FLUSH_MS={}, so a session handed over \
                         has the time to let its clients go)",
                        handover_flush.as_millis()
                    )
                })?,
        })
    }

    /// The bound on live WebSockets given the gateway's connection cap (`MAX_CONNECTIONS`,
    /// resolved): `LIVE_MAX_WS_CONNECTIONS` if set (refused when larger than the cap, which
    /// would make it no bound), else [`DEFAULT_MAX_WS_CONNECTIONS`] or 90% of the cap if
    /// that is less.
    pub fn ws_connection_bound(&self, max_connections: usize) -> anyhow::Result<usize> {
        match self.max_ws_connections {
            Some(n) if n > max_connections => anyhow::bail!(
                "invalid LIVE_MAX_WS_CONNECTIONS={n}: more than the {max_connections} \
                 connections this gateway may hold (MAX_CONNECTIONS, or what the descriptor \
                 limit allows); lower it or raise that cap"
            ),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_MAX_WS_CONNECTIONS
                .min(max_connections / 10 * 9)
                .max(1)),
        }
    }
}

/// Limits of live sessions, so that a logged-in stranger cannot hold join
/// codes and memory without end and a session cannot be filled with bots
/// (docs/SECURITY.md, "Live sessions and join floods").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLimitsConfig {
    /// `LIVE_MAX_SESSIONS_PER_USER` (default 5; 0 turns it off): unfinished
    /// sessions one account may host at once, counted in the database, so
    /// across every gateway. A teacher runs one or two at a time; a script
    /// creating sessions in a loop is stopped at the fifth.
    pub max_sessions_per_user: u32,
    /// `LIVE_LOBBY_IDLE_SECS` (default 1800, 1..=86400): a session still in
    /// its lobby ends after this long without the host connecting or sending
    /// a command, freeing its code and the host's quota.
    pub lobby_idle: Duration,
    /// `LIVE_MAX_SESSION_SECS` (default 21600 = 6 h, 1..=86400): any session
    /// ends this long after its creation (longer than any real quiz; its
    /// checkpoint would expire after a day anyway).
    pub max_session: Duration,
    /// `LIVE_MAX_PLAYERS_PER_SESSION` (default 10000, at least 1): the
    /// largest `max_players` a host may ask for, and the default; what the
    /// gateway is sized and tested for.
    pub max_players_per_session: u32,
    /// `LIVE_CODE_DIGITS` (default 6, 1..=6): digits of a join code. Keep 6
    /// in production (a million codes; fewer make codes easier to guess);
    /// smaller values exist to test what happens when every code is taken.
    pub code_digits: u32,
    /// `LIVE_NICKNAME_BLOCKLIST` (comma-separated) and
    /// `LIVE_NICKNAME_BLOCKLIST_FILE` (one word a line, `#` comments): words
    /// the nickname filter refuses on top of its built-in list, `=word` for
    /// whole words only.
    pub nickname_blocklist: Vec<String>,
}

impl Default for LiveLimitsConfig {
    fn default() -> Self {
        LiveLimitsConfig {
            max_sessions_per_user: 5,
            lobby_idle: Duration::from_secs(1_800),
            max_session: Duration::from_secs(21_600),
            max_players_per_session: 10_000,
            code_digits: 6,
            nickname_blocklist: Vec::new(),
        }
    }
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

impl LiveLimitsConfig {
    fn from_env(env: &Env<'_>) -> anyhow::Result<LiveLimitsConfig> {
        let d = LiveLimitsConfig::default();
        let max_players_per_session =
            env.parsed("LIVE_MAX_PLAYERS_PER_SESSION", d.max_players_per_session)?;
        if max_players_per_session == 0 {
            anyhow::bail!("invalid LIVE_MAX_PLAYERS_PER_SESSION=0: must be at least 1");
        }
        let code_digits = env.parsed("LIVE_CODE_DIGITS", d.code_digits)?;
        if !(1..=6).contains(&code_digits) {
            anyhow::bail!("invalid LIVE_CODE_DIGITS={code_digits}: must be 1..=6");
        }
        let mut nickname_blocklist = env.list("LIVE_NICKNAME_BLOCKLIST");
        if let Some(path) = env.var("LIVE_NICKNAME_BLOCKLIST_FILE") {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("cannot read LIVE_NICKNAME_BLOCKLIST_FILE={path:?}: {e}")
            })?;
            nickname_blocklist.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            );
        }
        Ok(LiveLimitsConfig {
            max_sessions_per_user: env
                .parsed("LIVE_MAX_SESSIONS_PER_USER", d.max_sessions_per_user)?,
            lobby_idle: env.secs_in("LIVE_LOBBY_IDLE_SECS", d.lobby_idle, 1..=86_400)?,
            max_session: env.secs_in("LIVE_MAX_SESSION_SECS", d.max_session, 1..=86_400)?,
            max_players_per_session,
            code_digits,
            nickname_blocklist,
        })
    }
}

impl ConnectionsConfig {
    fn from_env(env: &Env<'_>) -> anyhow::Result<ConnectionsConfig> {
        let d = ConnectionsConfig::default();
        let header_ms: u64 = env.parsed("HEADER_READ_TIMEOUT_MS", 10_000)?;
        if !(1..=3_600_000).contains(&header_ms) {
            anyhow::bail!("invalid HEADER_READ_TIMEOUT_MS={header_ms}: must be 1-3600000 ms");
        }
        let max_connections = match env.var("MAX_CONNECTIONS") {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => anyhow::bail!("invalid MAX_CONNECTIONS={v:?}: must be a positive number"),
            },
        };
        Ok(ConnectionsConfig {
            header_read_timeout: Duration::from_millis(header_ms),
            max_conns_per_ip: env.parsed("MAX_CONNS_PER_IP", d.max_conns_per_ip)?,
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
    fn from_env(env: &Env<'_>) -> anyhow::Result<LimitsConfig> {
        let d = LimitsConfig::default();
        Ok(LimitsConfig {
            login_per_ip_per_min: env.parsed("LOGIN_PER_IP_PER_MIN", d.login_per_ip_per_min)?,
            login_per_user_per_min: env
                .parsed("LOGIN_PER_USER_PER_MIN", d.login_per_user_per_min)?,
            register_per_ip_per_min: env
                .parsed("REGISTER_PER_IP_PER_MIN", d.register_per_ip_per_min)?,
            join_per_ip_per_min: env.parsed("JOIN_PER_IP_PER_MIN", d.join_per_ip_per_min)?,
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
            hash_concurrency: cores(),
            hash_queue: 4 * cores(),
            max_body_bytes: 64 * 1024,
            import_max_bytes: 16 * 1024 * 1024,
            import_max_questions: 10_000,
            live_owner_lease: Duration::from_millis(5_000),
            trusted_proxies: Vec::new(),
            limits: LimitsConfig::default(),
            live: LiveLimitsConfig::default(),
            live_tuning: LiveTuningConfig::default(),
            connections: ConnectionsConfig::default(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// The cores this process may use (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Where settings are read from: the process environment ([`Config::from_env`]) or any
/// lookup ([`Config::from_vars`], for tests). Values are trimmed; empty means unset.
struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.var(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.var(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| anyhow::anyhow!("invalid {name}={v:?}: {e}")),
        }
    }

    /// A number in `range` from `name` (`default` when unset); anything else is refused with
    /// an error naming the variable and the range.
    fn in_range<T>(
        &self,
        name: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> anyhow::Result<T>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let v = self.parsed(name, default)?;
        if !range.contains(&v) {
            anyhow::bail!(
                "invalid {name}={v}: must be {}..={}",
                range.start(),
                range.end()
            );
        }
        Ok(v)
    }

    /// A whole number of milliseconds in `range` from `name`.
    fn millis_in(
        &self,
        name: &str,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> anyhow::Result<Duration> {
        let ms = self.parsed(name, default.as_millis() as u64)?;
        if !range.contains(&ms) {
            anyhow::bail!(
                "invalid {name}={ms}: must be {}..={} ms",
                range.start(),
                range.end()
            );
        }
        Ok(Duration::from_millis(ms))
    }

    /// A whole number of seconds in `range` from `name`.
    fn secs_in(
        &self,
        name: &str,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> anyhow::Result<Duration> {
        let secs = self.parsed(name, default.as_secs())?;
        if !range.contains(&secs) {
            anyhow::bail!(
                "invalid {name}={secs}: must be {}..={} seconds",
                range.start(),
                range.end()
            );
        }
        Ok(Duration::from_secs(secs))
    }
}

/// An address (`10.0.0.5`, a network of one) or a network (`172.16.0.0/12`).
fn parse_net(a: &str) -> anyhow::Result<ipnet::IpNet> {
    a.parse::<ipnet::IpNet>()
        .or_else(|_| a.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            anyhow::anyhow!("invalid TRUSTED_PROXIES entry {a:?}: expected an address or a network")
        })
}

impl Config {
    /// Reads the configuration from the environment; errors name the bad variable.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `get` (a variable's value by name, `None` when unset),
    /// as [`Config::from_env`] does from the environment; errors name the bad variable.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let env = Env { get: &get };
        let d = Config::default();
        let hash_concurrency = env.parsed("HASH_CONCURRENCY", d.hash_concurrency)?;
        if hash_concurrency == 0 {
            anyhow::bail!("invalid HASH_CONCURRENCY=0: at least one password hash must run");
        }
        let live = LiveLimitsConfig::from_env(&env)?;
        Ok(Config {
            bind: env.parsed("BIND", d.bind)?,
            data_dir: env.var("DATA_DIR").map(PathBuf::from).unwrap_or(d.data_dir),
            database_url: env.var("DATABASE_URL"),
            database_replica_url: env.var("DATABASE_REPLICA_URL"),
            redis_cluster_nodes: env.list("REDIS_CLUSTER_NODES"),
            elasticsearch_url: env.var("ELASTICSEARCH_URL"),
            elasticsearch_index: env
                .var("ELASTICSEARCH_INDEX")
                .unwrap_or(d.elasticsearch_index),
            shard_nodes: env.list("SHARD_NODES"),
            token_ttl: Duration::from_secs(env.parsed("TOKEN_TTL", 86_400u64)?.max(1)),
            admin_username: env.var("ADMIN_USERNAME"),
            migrate_on_start: match env.var("MIGRATE_ON_START") {
                None => None,
                Some(v) => Some(
                    v.parse()
                        .map_err(|_| anyhow::anyhow!("MIGRATE_ON_START must be true or false"))?,
                ),
            },
            db_max_connections: env
                .parsed("DB_MAX_CONNECTIONS", d.db_max_connections)?
                .max(1),
            argon2_memory_kib: env.parsed("ARGON2_MEMORY_KIB", d.argon2_memory_kib)?,
            argon2_iterations: env.parsed("ARGON2_ITERATIONS", d.argon2_iterations)?,
            hash_concurrency,
            hash_queue: env.parsed("HASH_QUEUE", 4 * hash_concurrency)?,
            max_body_bytes: env.parsed("MAX_BODY_BYTES", d.max_body_bytes)?,
            import_max_bytes: at_least_one(
                "IMPORT_MAX_BYTES",
                env.parsed("IMPORT_MAX_BYTES", d.import_max_bytes)?,
            )?,
            import_max_questions: at_least_one(
                "IMPORT_MAX_QUESTIONS",
                env.parsed("IMPORT_MAX_QUESTIONS", d.import_max_questions)?,
            )?,
            live_owner_lease: env.millis_in(
                "LIVE_OWNER_LEASE_MS",
                d.live_owner_lease,
                300..=600_000,
            )?,
            trusted_proxies: env
                .list("TRUSTED_PROXIES")
                .iter()
                .map(|a| parse_net(a))
                .collect::<anyhow::Result<_>>()?,
            limits: LimitsConfig::from_env(&env)?,
            live_tuning: LiveTuningConfig::from_env(&env, &live)?,
            live,
            connections: ConnectionsConfig::from_env(&env)?,
            cors_allowed_origins: env
                .list("CORS_ALLOWED_ORIGINS")
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

/// Refuses 0 for a limit variable (0 would refuse every import).
fn at_least_one(var: &str, v: usize) -> anyhow::Result<usize> {
    if v == 0 {
        anyhow::bail!("{var} must be at least 1");
    }
    Ok(v)
}

#[cfg(test)]
mod import_limit_tests {
    use super::at_least_one;

    #[test]
    fn zero_import_limits_are_refused_by_name() {
        let e = at_least_one("IMPORT_MAX_QUESTIONS", 0).expect_err("0 refused");
        assert!(e.to_string().contains("IMPORT_MAX_QUESTIONS"), "{e}");
        assert_eq!(at_least_one("IMPORT_MAX_BYTES", 5).unwrap(), 5);
    }
}

#[cfg(test)]
mod live_tuning_tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_settings_take_their_documented_defaults() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.live_tuning, LiveTuningConfig::default());
        assert_eq!(c.live_tuning.push_interval, Duration::from_millis(250));
        assert_eq!(c.live_owner_lease, Duration::from_millis(5_000));
    }

    #[test]
    fn live_tuning_is_read_from_its_variables() {
        let c = config(&[
            ("LIVE_PUSH_INTERVAL_MS", "100"),
            ("LIVE_CONN_QUEUE", "64"),
            ("LIVE_HOST_QUEUE", "64"),
            ("LIVE_CMD_QUEUE", "100"),
            ("LIVE_CMD_BATCH", "100"),
            ("LIVE_ANSWER_FLUSH_MS", "0"),
            ("LIVE_ANSWER_BATCH_MAX", "500"),
            ("LIVE_MAX_WS_CONNECTIONS", "3"),
            ("LIVE_MAX_SESSION_SECS", "3600"),
            ("LIVE_CHECKPOINT_TTL_SECS", "3600"),
            ("LIVE_OWNER_LEASE_MS", "300"),
        ])
        .expect("valid settings");
        let t = &c.live_tuning;
        assert_eq!(t.push_interval, Duration::from_millis(100));
        assert_eq!((t.conn_queue, t.host_queue), (64, 64));
        assert_eq!((t.cmd_queue, t.cmd_batch), (100, 100));
        assert_eq!((t.answer_flush, t.answer_batch_max), (Duration::ZERO, 500));
        assert_eq!(t.max_ws_connections, Some(3));
        assert_eq!(t.checkpoint_ttl, Duration::from_secs(3_600));
        assert_eq!(c.live_owner_lease, Duration::from_millis(300));
    }

    #[test]
    fn bad_live_tuning_is_refused_naming_the_variable() {
        for (name, value, context) in [
            ("LIVE_PUSH_INTERVAL_MS", "0", &[][..]),
            ("LIVE_PUSH_INTERVAL_MS", "fast", &[]),
            ("LIVE_FANOUT_SLICE", "0", &[]),
            ("LIVE_FANOUT_BACKLOG", "10", &[]),
            ("LIVE_CONN_QUEUE", "1", &[]),
            ("LIVE_CONN_QUEUE", "-5", &[]),
            // The host's queue is never shorter than a player's.
            ("LIVE_HOST_QUEUE", "100", &[("LIVE_CONN_QUEUE", "200")]),
            ("LIVE_CMD_QUEUE", "0", &[]),
            // A turn cannot take more commands than the queue holds.
            ("LIVE_CMD_BATCH", "600", &[("LIVE_CMD_QUEUE", "500")]),
            ("LIVE_CMD_BATCH", "0", &[]),
            ("LIVE_WS_WRITE_BATCH", "0", &[]),
            ("LIVE_WS_READ_BUFFER_BYTES", "10", &[]),
            (
                "LIVE_WS_MAX_WRITE_BUFFER_BYTES",
                "8192",
                &[("LIVE_WS_WRITE_BUFFER_BYTES", "8192")],
            ),
            ("LIVE_MAX_WS_CONNECTIONS", "0", &[]),
            ("LIVE_MAX_WS_CONNECTIONS", "many", &[]),
            ("LIVE_ATTACH_TIMEOUT_MS", "1", &[]),
            ("LIVE_ANSWER_BATCH_MAX", "0", &[]),
            ("LIVE_ANSWER_FLUSH_MS", "5000", &[]),
            ("LIVE_ANSWER_DB_CONNECTIONS", "0", &[]),
            ("LIVE_CHECKPOINT_TTL_SECS", "90000", &[]),
            // A running session's checkpoint must outlive the session.
            (
                "LIVE_CHECKPOINT_TTL_SECS",
                "600",
                &[("LIVE_MAX_SESSION_SECS", "3600")],
            ),
            ("LIVE_CHECKPOINT_BATCH", "0", &[]),
            ("LIVE_CHECKPOINT_ATTEMPTS", "0", &[]),
            ("LIVE_CODE_ATTEMPTS", "0", &[]),
            ("LIVE_MIRROR_QUEUE", "0", &[]),
            ("LIVE_MIRROR_GIVE_UP_SECS", "0", &[]),
            ("LIVE_HANDOVER_FLUSH_MS", "60001", &[]),
            ("LIVE_SHUTDOWN_STEP_MS", "300001", &[]),
            // The sessions' step must outlast their wait for answers.
            (
                "LIVE_SHUTDOWN_STEP_MS",
                "5000",
                &[("LIVE_HANDOVER_FLUSH_MS", "5000")],
            ),
            ("LIVE_OWNER_LEASE_MS", "100", &[]),
            ("LIVE_OWNER_LEASE_MS", "3600000", &[]),
        ] {
            let mut vars = context.to_vec();
            vars.push((name, value));
            let e = config(&vars).expect_err(&format!("{name}={value} accepted"));
            assert!(e.to_string().contains(name), "{name}={value}: {e}");
        }
    }

    #[test]
    fn the_websocket_bound_fits_the_connection_cap() {
        let t = LiveTuningConfig::default();
        assert_eq!(
            t.ws_connection_bound(1_000_000).unwrap(),
            DEFAULT_MAX_WS_CONNECTIONS
        );
        // A small cap keeps a tenth of its connections for the REST API.
        assert_eq!(t.ws_connection_bound(1_000).unwrap(), 900);
        assert_eq!(t.ws_connection_bound(5).unwrap(), 1);
        let set = LiveTuningConfig {
            max_ws_connections: Some(2_000),
            ..t
        };
        assert_eq!(set.ws_connection_bound(2_000).unwrap(), 2_000);
        let e = set.ws_connection_bound(1_999).expect_err("above the cap");
        assert!(e.to_string().contains("LIVE_MAX_WS_CONNECTIONS"), "{e}");
    }
}
