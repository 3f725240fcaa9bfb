//! The Redis Cluster backend (cargo feature `redis-cluster`).
//!
//! [`RedisBoard`] offers the board operations of [`crate::Board`], async,
//! with each partition kept in Redis Cluster (layout in `codec.rs`: one
//! hash tag per partition, a lexicographically ordered sorted set plus a
//! hash). Everything that needs the rules of the board (operators,
//! overflow, `Best`, op ids) is computed in Rust with the same code as the
//! in-memory board; Redis only stores. A write is a compare-and-set Lua
//! script on the member's partition, retried when another writer changed
//! the member in between, so concurrent writers from any number of
//! processes never lose updates and an op id is applied once.
//!
//! Board-wide reads fan out one command per partition concurrently over
//! the multiplexed cluster connection and merge with the same k-way merge
//! as the in-memory board. They are not a consistent cut across
//! partitions (no MULTI across slots): each partition is read atomically,
//! at slightly different moments.

mod codec;
mod query;

use std::time::Duration;

use futures::future::try_join_all;
use redis::AsyncCommands;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

use crate::{
    BoardConfig, BoardId, Entry, Error, RankStyle, RankedEntry, RemoveOutcome, Result, Write,
    WriteOutcome, partition_of,
};
use codec::{Stored, decode, encode, lex_bound, order_key, tie_prefix};

/// Compare-and-set of one member of one partition, plus op-id memory.
/// KEYS: hash, zset, op key. ARGV: member, expected stored value ("" =
/// absent), new stored value ("" = delete), old order key ("" = none), new
/// order key, "1" if there is an op id, op TTL in ms, provisional outcome.
/// Returns {0, ""} when applied, {1, outcome} for a known op id, {2, ""}
/// when the member changed since it was read.
const CAS_SCRIPT: &str = r#"
if ARGV[6] == '1' then
  local done = redis.call('GET', KEYS[3])
  if done then return {1, done} end
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then cur = '' end
if cur ~= ARGV[2] then return {2, ''} end
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[2], ARGV[4]) end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[5])
end
if ARGV[6] == '1' then redis.call('SET', KEYS[3], ARGV[8], 'PX', ARGV[7]) end
return {0, ''}
"#;

/// How often a write re-reads and retries when other writers keep
/// changing the same member between its read and its compare-and-set.
const MAX_CAS_ATTEMPTS: usize = 64;

/// Maps a Redis error to [`Error::Backend`]: retryable for I/O, timeouts,
/// dropped connections and cluster reconfiguration (MOVED, TRYAGAIN,
/// CLUSTERDOWN); not for errors Redis answered (wrong type, script error).
fn backend(e: redis::RedisError) -> Error {
    Error::Backend {
        retryable: e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_cluster_error(),
        message: e.to_string(),
    }
}

/// A leaderboard whose partitions live in Redis Cluster.
///
/// Same operations and answers as [`crate::Board`] (it is tested against
/// the same model), async. Cheap to clone (the cluster connection is
/// multiplexed); share one per process.
///
/// ```no_run
/// # async fn demo() -> leaderboard_core::Result<()> {
/// use leaderboard_core::{BoardConfig, RedisBoard, Write, WriteOp};
/// let nodes = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002"];
/// let board = RedisBoard::connect(&nodes, "quiz-42", BoardConfig::new().default_op(WriteOp::Incr)).await?;
/// let out = board.write(Write::new("alice", 100, 1_000)).await?;
/// assert_eq!(out.new.rank, 1);
/// let top = board.top(10).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBoard {
    id: BoardId,
    config: BoardConfig,
    conn: ClusterConnection,
    /// How long an op id is remembered (Redis TTL on its outcome key).
    op_ttl: Duration,
    cas: redis::Script,
}

impl RedisBoard {
    /// Connects to the cluster (`redis://host:port` seed nodes) and opens
    /// board `id`. The board's order and partition count are stored in
    /// Redis on first open; opening it later with different ones fails
    /// with [`Error::InvalidConfig`]. Boards with a reset schedule are
    /// not supported by this backend (use one board id per window).
    ///
    /// ```no_run
    /// # async fn demo() -> leaderboard_core::Result<()> {
    /// let b = leaderboard_core::RedisBoard::connect(&["redis://127.0.0.1:7001"], "b", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect<S: AsRef<str>>(
        nodes: &[S],
        id: impl Into<BoardId>,
        config: BoardConfig,
    ) -> Result<RedisBoard> {
        let nodes: Vec<String> = nodes.iter().map(|n| n.as_ref().to_string()).collect();
        let client = ClusterClient::new(nodes).map_err(backend)?;
        let conn = client.get_async_connection().await.map_err(backend)?;
        RedisBoard::open(conn, id, config).await
    }

    /// Opens board `id` on an existing cluster connection (see
    /// [`RedisBoard::connect`]).
    ///
    /// ```no_run
    /// # async fn demo(conn: redis::cluster_async::ClusterConnection) -> leaderboard_core::Result<()> {
    /// let b = leaderboard_core::RedisBoard::open(conn, "b", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(
        mut conn: ClusterConnection,
        id: impl Into<BoardId>,
        config: BoardConfig,
    ) -> Result<RedisBoard> {
        config.validate()?;
        if config.reset.is_some() {
            return Err(Error::InvalidConfig(
                "the Redis backend does not support reset schedules; use one board id per window"
                    .into(),
            ));
        }
        let id = id.into();
        let shape = format!("{:?}/{}", config.order, config.partitions);
        let cfg_key = format!("{{lb:{id}}}:shape");
        let _: bool = conn.set_nx(&cfg_key, &shape).await.map_err(backend)?;
        let stored: String = conn.get(&cfg_key).await.map_err(backend)?;
        if stored != shape {
            return Err(Error::InvalidConfig(format!(
                "board {id} exists in Redis with order/partitions {stored}, not {shape}"
            )));
        }
        Ok(RedisBoard {
            id,
            config,
            conn,
            op_ttl: Duration::from_secs(24 * 3600),
            cas: redis::Script::new(CAS_SCRIPT),
        })
    }

    /// Sets how long op ids are remembered (default 24 hours), by Redis'
    /// own clock (the in-memory board uses the times it is told and the
    /// board's [`crate::OpIdPolicy`]).
    ///
    /// ```no_run
    /// # fn demo(b: leaderboard_core::RedisBoard) {
    /// let b = b.with_op_ttl(std::time::Duration::from_secs(3600));
    /// # }
    /// ```
    pub fn with_op_ttl(mut self, ttl: Duration) -> RedisBoard {
        self.op_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// The board's id.
    ///
    /// ```no_run
    /// # fn demo(b: leaderboard_core::RedisBoard) {
    /// println!("{}", b.id());
    /// # }
    /// ```
    pub fn id(&self) -> &BoardId {
        &self.id
    }

    /// The board's configuration.
    ///
    /// ```no_run
    /// # fn demo(b: leaderboard_core::RedisBoard) {
    /// assert!(b.config().partitions > 0);
    /// # }
    /// ```
    pub fn config(&self) -> &BoardConfig {
        &self.config
    }

    fn tag(&self, p: u16) -> String {
        format!("{{lb:{}:{}}}", self.id, p)
    }

    fn zset(&self, p: u16) -> String {
        format!("{}:z", self.tag(p))
    }

    fn hash(&self, p: u16) -> String {
        format!("{}:h", self.tag(p))
    }

    fn partitions(&self) -> impl Iterator<Item = u16> + use<> {
        0..self.config.partitions
    }

    fn part(&self, member: &str) -> u16 {
        partition_of(member, self.config.partitions)
    }

    /// The member's stored value, raw (for the compare-and-set) and decoded.
    async fn load(&self, member: &str) -> Result<(Vec<u8>, Option<Entry>)> {
        let mut c = self.conn.clone();
        let raw: Option<Vec<u8>> = c
            .hget(self.hash(self.part(member)), member)
            .await
            .map_err(backend)?;
        match raw {
            None => Ok((Vec::new(), None)),
            Some(raw) => {
                let e = decode::<Stored>(&raw)?.into_entry(member.to_string());
                Ok((raw, Some(e)))
            }
        }
    }

    /// Entries of the whole board ranking strictly above the order key
    /// `bound` (built by `order_key` or `tie_prefix`).
    async fn count_below_bound(&self, bound: &[u8]) -> Result<u64> {
        let max = lex_bound(true, bound);
        let counts = try_join_all(self.partitions().map(|p| {
            let mut c = self.conn.clone();
            let (z, max) = (self.zset(p), max.clone());
            async move {
                redis::cmd("ZLEXCOUNT")
                    .arg(z)
                    .arg("-")
                    .arg(max)
                    .query_async::<u64>(&mut c)
                    .await
            }
        }))
        .await
        .map_err(backend)?;
        Ok(counts.into_iter().sum())
    }

    /// 0-based ordinal position and rank in `style` of an entry's key.
    async fn position(&self, e: &Entry, style: RankStyle) -> Result<(u64, u64)> {
        let o = self.config.order;
        let sub = e.subscore.unwrap_or(0);
        let ord = self
            .count_below_bound(&order_key(o, e.score, sub, e.at, &e.member))
            .await?;
        let rank = match style {
            RankStyle::Ordinal => ord + 1,
            RankStyle::Competition => {
                1 + self.count_below_bound(&tie_prefix(o, e.score, sub)).await?
            }
        };
        Ok((ord, rank))
    }

    /// Applies a write, exactly like [`crate::Board::write`] (operators,
    /// overflow, op ids, change-feed outcome with global ranks). On a
    /// [`Error::Backend`] error the write may or may not have been
    /// applied: retry with the same op id.
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// use leaderboard_core::{OpId, Write, WriteOp};
    /// let w = Write::new("alice", 10, 0).op(WriteOp::Incr).op_id(OpId::hashed("s1/q1/alice"));
    /// assert!(b.write(w.clone()).await?.applied);
    /// assert!(!b.write(w).await?.applied);
    /// # Ok(()) }
    /// ```
    pub async fn write(&self, w: Write) -> Result<WriteOutcome> {
        w.validate(self.config.max_metadata_bytes)?;
        let p = self.part(&w.member);
        let op_key = w
            .op_id
            .map(|id| format!("{}:op:{:032x}", self.tag(p), id.0))
            .unwrap_or_else(|| format!("{}:op:-", self.tag(p)));
        if w.op_id.is_some() {
            let mut c = self.conn.clone();
            let done: Option<Vec<u8>> = c.get(&op_key).await.map_err(backend)?;
            if let Some(done) = done {
                return repeat(&done);
            }
        }
        let style = self.config.rank_style;
        let order = self.config.order;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (raw, old) = self.load(&w.member).await?;
            let op = w.op.unwrap_or(self.config.default_op);
            let new = crate::partition::next_entry(old.as_ref(), &w, op, order)?
                .unwrap_or_else(|| old.clone().expect("only an existing entry is kept"));
            let changed = old.as_ref() != Some(&new);
            let old_pos = match &old {
                Some(o) => Some(self.position(o, style).await?),
                None => None,
            };
            let key =
                |e: &Entry| order_key(order, e.score, e.subscore.unwrap_or(0), e.at, &e.member);
            let old_key = old.as_ref().map(key).unwrap_or_default();
            let mut provisional = WriteOutcome {
                applied: true,
                changed,
                old: old
                    .clone()
                    .zip(old_pos)
                    .map(|(entry, (_, rank))| RankedEntry { rank, entry }),
                new: RankedEntry {
                    rank: 0,
                    entry: new.clone(),
                },
                top_changed: changed,
            };
            let mut c = self.conn.clone();
            let (status, done): (i64, Vec<u8>) = self
                .cas
                .key(self.hash(p))
                .key(self.zset(p))
                .key(&op_key)
                .arg(w.member.as_bytes())
                .arg(raw)
                .arg(encode(&Stored::from_entry(&new)))
                .arg(old_key)
                .arg(key(&new))
                .arg(if w.op_id.is_some() { "1" } else { "0" })
                .arg(self.op_ttl.as_millis() as u64)
                .arg(encode(&provisional))
                .invoke_async(&mut c)
                .await
                .map_err(backend)?;
            match status {
                0 => {}
                1 => return repeat(&done),
                _ => continue,
            }
            let (new_ord, new_rank) = self.position(&new, style).await?;
            let n = self.config.top_n_watch as u64;
            provisional.new.rank = new_rank;
            provisional.top_changed =
                changed && (new_ord < n || old_pos.is_some_and(|(o, _)| o < n));
            if w.op_id.is_some() {
                let _: Option<String> = redis::cmd("SET")
                    .arg(&op_key)
                    .arg(encode(&provisional))
                    .arg("XX")
                    .arg("KEEPTTL")
                    .query_async(&mut c)
                    .await
                    .map_err(backend)?;
            }
            return Ok(provisional);
        }
        Err(Error::Backend {
            message: format!(
                "member {:?} kept changing under {MAX_CAS_ATTEMPTS} write attempts",
                w.member
            ),
            retryable: true,
        })
    }

    /// Removes a member (see [`crate::Board::remove`]).
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// let gone = b.remove("alice").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove(&self, member: &str) -> Result<Option<RemoveOutcome>> {
        let p = self.part(member);
        let order = self.config.order;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (raw, old) = self.load(member).await?;
            let Some(old) = old else { return Ok(None) };
            let (ord, rank) = self.position(&old, self.config.rank_style).await?;
            let mut c = self.conn.clone();
            let old_key = order_key(order, old.score, old.subscore.unwrap_or(0), old.at, member);
            let (status, _): (i64, Vec<u8>) = self
                .cas
                .key(self.hash(p))
                .key(self.zset(p))
                .key(format!("{}:op:-", self.tag(p)))
                .arg(member.as_bytes())
                .arg(raw)
                .arg(Vec::<u8>::new())
                .arg(old_key)
                .arg(Vec::<u8>::new())
                .arg("0")
                .arg(1)
                .arg(Vec::<u8>::new())
                .invoke_async(&mut c)
                .await
                .map_err(backend)?;
            if status == 0 {
                return Ok(Some(RemoveOutcome {
                    top_changed: ord < self.config.top_n_watch as u64,
                    removed: RankedEntry { rank, entry: old },
                }));
            }
        }
        Err(Error::Backend {
            message: format!("member {member:?} kept changing under {MAX_CAS_ATTEMPTS} attempts"),
            retryable: true,
        })
    }

    /// Deletes every entry of the board (op-id keys expire by their TTL).
    ///
    /// ```no_run
    /// # async fn demo(b: leaderboard_core::RedisBoard) -> leaderboard_core::Result<()> {
    /// b.clear().await?;
    /// assert_eq!(b.count().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<()> {
        try_join_all(self.partitions().map(|p| {
            let mut c = self.conn.clone();
            let keys = [self.zset(p), self.hash(p)];
            async move { c.del::<_, ()>(&keys[..]).await }
        }))
        .await
        .map_err(backend)?;
        Ok(())
    }
}

/// The remembered outcome of an op id, marked as not applied again.
fn repeat(done: &[u8]) -> Result<WriteOutcome> {
    let mut o: WriteOutcome = decode(done)?;
    o.applied = false;
    Ok(o)
}

impl std::fmt::Debug for RedisBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBoard")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("op_ttl", &self.op_ttl)
            .finish_non_exhaustive()
    }
}
