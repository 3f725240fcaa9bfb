//! Several gateways playing one session, through Redis Cluster.
//!
//! The gateway that creates a session **owns** it: its actor is the single
//! authority (answer-once, deadlines, scoring and the leaderboard stay
//! exactly as with one gateway). Ownership is a lease in Redis Cluster:
//! `live:{<code>}:owner` holds the owner's instance id (`SET NX PX`, renewed
//! by the owner every third of the lease while the session runs, deleted
//! when it ends or is handed over). `NX` also makes join codes unique
//! across gateways, and decides which gateway takes a session over when its
//! owner died or handed it over (see [`super::checkpoint`]). An owner whose
//! renewal finds another id there abdicates: it closes its sockets with
//! 1001 and stops the session.
//!
//! A gateway that gets a WebSocket for a code it does not run looks the
//! owner up and **bridges** the connection: it resolves the credentials
//! (login tokens live in Redis too), then relays the join, every client
//! message and the close to the owner. On the owner, the remote connection
//! is a [`ConnTx`] in the session's fanout like any other, whose sink is
//! the outbox towards the bridging gateway (no queue or task per remote
//! connection; see Transport). Pings are answered by the bridging gateway. A relayed message carries the time the bridging
//! gateway received it, so an answer is judged by when it reached a
//! gateway, not by when it crossed Redis (the owner trusts that stamp up to
//! [`MAX_RELAY_AGE`] before its own receipt).
//!
//! This module is the [`Mesh`] behind which the service and the WebSocket
//! endpoint see it; it sees this gateway's sessions only as
//! [`LocalSessions`].
//!
//! Transport: Redis **sharded pub/sub** (`SPUBLISH`/`SSUBSCRIBE`, RESP3
//! pushes on the redis crate's cluster connection). Each gateway subscribes
//! once, at start, to its own inbox channel `live:gw:{<instance id>}`;
//! messages carry the join code and connection id, so one subscription
//! serves every session. Joins, client messages, detaches and join results
//! are JSON messages. Per connection, messages travel in order (one
//! publisher awaiting each publish, one subscriber connection).
//!
//! Frames and closes for bridged sockets: the session's fanout pushes them
//! straight into the gateway's outbox, tagged with the bridging gateway and
//! the connection id there. One outbox task takes everything ready (up to
//! 1,024) and publishes one message per bridging gateway, the gateways'
//! concurrently, a round at a time (so each connection's frames stay in
//! order); a push to 10,000 bridged players costs a handful of publishes,
//! not 10,000. The message is a compact binary batch ([`super::relay`]):
//! frames are carried as the owner serialised them (no escaping, no
//! unescaping), and a frame queued for many sockets of one gateway (the
//! leaderboard top of a push) crosses once with their connection ids. The
//! bridging gateway decodes it, and under one lock of its bridged sockets
//! puts each frame into its socket's queue (a shared frame is copied out of
//! the message once). Gateways of one deployment must all speak the same
//! batch format (an older one drops it as a bad message; its clients get
//! their state back when they resume).
//!
//! Slow consumers: a remote connection may have as many frames waiting in
//! the owner's outbox as a local one in its queue (`LIVE_CONN_QUEUE`,
//! `LIVE_HOST_QUEUE`); past that it is dropped with 4008, carried out at
//! once by the bridging gateway. That bound is what keeps the outbox's
//! memory bounded when Redis falls behind. A slow client behind a healthy
//! link is caught by its bridging gateway's own queue for the socket, as on
//! one gateway. Closes (4000, 4010, ...) follow the frames queued before
//! them.
//!
//! Failover: every third of the lease a bridging gateway checks the owners
//! of its bridged sockets; when an owner's lease is gone (it crashed) or
//! names another gateway, the sockets are closed with 4010 (reconnect now)
//! and the clients reconnect with their resume tokens; a publish nobody
//! receives (the owner's inbox has no subscriber) fails a join or message
//! at once (1001, retried). An owner that shuts down hands its sessions
//! over: it releases their leases before it closes their sockets (bridged
//! ones through their bridging gateways) with 4010, so the first gateway a
//! client reconnects to takes the session over at once.
//!
//! Stopping ([`Lifecycle`]): when the gateway begins shutting down, its
//! bridged sockets are closed with 4010 (their clients reconnect, through
//! the load balancer, to a gateway that is staying) and attaches from other
//! gateways are refused as transient; the lease keepers run until their
//! sessions release them; the dispatcher and the relays end once the
//! sessions are gone.
//!
//! Limits: pub/sub is at-most-once. A bridged frame lost in a Redis
//! failover is lost (the client's resume gets the current state back).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use livequiz_sdk::live::{close, ClientMsg, ErrorCode};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands as _, PushKind, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::actor::SessionHandle;
use super::checkpoint::{CheckpointStore, RedisCheckpoints};
use super::conn::{ConnTx, Out, Relay, Role};
use super::lifecycle::Lifecycle;
use super::mesh::{Lease, LeaseKeeper, LocalSessions, Mesh, MeshFuture};
use super::relay::{self, Entry, Relayed};
use crate::config::LiveTuningConfig;
use crate::db::now_ms;

/// How much earlier than the owner's own receipt a relayed message may
/// count as received (the bridging gateway's stamp, on its wall clock).
/// Relaying takes milliseconds; the bound keeps a bridging gateway with a
/// wrong clock from stretching deadlines.
pub const MAX_RELAY_AGE: Duration = Duration::from_secs(2);

/// One message between gateways.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Wire {
    /// Bridging gateway -> owner: a connection joins.
    Attach {
        code: String,
        from: String,
        conn: u64,
        role: Role,
    },
    /// Bridging gateway -> owner: a client message, received at server
    /// time `at` (ms) by the bridging gateway (absent from older gateways).
    Msg {
        from: String,
        conn: u64,
        msg: ClientMsg,
        #[serde(default)]
        at: Option<i64>,
    },
    /// Bridging gateway -> owner: the socket closed.
    Detach { from: String, conn: u64 },
    /// Owner -> bridging gateway: the join result (player id, `None` for the host).
    Attached {
        conn: u64,
        result: Result<Option<u64>, ErrorCode>,
    },
}

/// Most frames and closes one outbox round takes (then one publish per
/// bridging gateway: a few hundred KiB at most).
const BATCH_MAX: usize = 1024;

/// Owner side: the sink of a remote connection attached to a session here.
/// Its frames go straight into the outbox, tagged with the bridging gateway
/// and its connection id there. Like a local queue it holds at most `bound`
/// frames (counted until the outbox takes them): past that the connection
/// is too slow and is dropped, by a close with 4008 that the bridging
/// gateway carries out at once. The bridging gateway's own queue for the
/// socket drops a slow client the same way.
#[derive(Debug)]
struct RemoteConn {
    /// The bridging gateway.
    to: Arc<str>,
    /// The connection id there.
    conn: u64,
    /// Most frames in the outbox at once.
    bound: usize,
    /// Frames in the outbox.
    queued: AtomicUsize,
    /// A close went out: later frames are dropped.
    closed: AtomicBool,
    outbox: mpsc::UnboundedSender<Queued>,
}

/// A frame or close in the outbox.
#[derive(Debug)]
struct Queued {
    conn: Arc<RemoteConn>,
    what: Relayed,
}

impl RemoteConn {
    /// The connection `conn` of gateway `to`, at most `bound` frames in `outbox` at once.
    fn new(
        to: Arc<str>,
        conn: u64,
        bound: usize,
        outbox: mpsc::UnboundedSender<Queued>,
    ) -> Arc<RemoteConn> {
        Arc::new(RemoteConn {
            to,
            conn,
            bound,
            queued: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            outbox,
        })
    }

    /// Queues the connection's last message.
    fn close(self: Arc<Self>, code: u16) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.queue(Relayed::Close(code))
    }

    /// Hands `what` to the outbox (false once the outbox is gone).
    fn queue(self: Arc<Self>, what: Relayed) -> bool {
        let outbox = self.outbox.clone();
        outbox.send(Queued { conn: self, what }).is_ok()
    }
}

impl Relay for RemoteConn {
    fn push(self: Arc<Self>, out: Out) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let frame = match out {
            Out::Frame(frame) => frame,
            Out::Close(code, _) => return self.close(code),
        };
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("live_slow_consumers_dropped_total").increment(1);
            self.close(close::TOO_SLOW);
            return false;
        }
        self.queue(Relayed::Frame(frame))
    }

    fn kill(self: Arc<Self>) {
        self.close(close::TOO_SLOW);
    }
}

/// Owner side: one outbox round as messages, one per bridging gateway:
/// each gateway's frames and closes in the order queued ([`relay`]). The
/// frames leave the connections' bounds here.
fn batches(queued: &[Queued]) -> Vec<(Arc<str>, Vec<u8>)> {
    // Each gateway's (connection id, what), in order.
    type ForGateway<'a> = (&'a Arc<str>, Vec<(u64, &'a Relayed)>);
    let mut by_gateway: Vec<ForGateway<'_>> = Vec::new();
    for q in queued {
        if matches!(q.what, Relayed::Frame(_)) {
            q.conn.queued.fetch_sub(1, Ordering::AcqRel);
        }
        let item = (q.conn.conn, &q.what);
        match by_gateway.iter_mut().find(|(to, _)| **to == q.conn.to) {
            Some((_, items)) => items.push(item),
            None => by_gateway.push((&q.conn.to, vec![item])),
        }
    }
    by_gateway
        .into_iter()
        .map(|(to, items)| (to.clone(), relay::encode(&relay::entries(items))))
        .collect()
}

/// A remote connection attached to a session this gateway owns.
struct Remote {
    local_id: u64,
    player: Option<u64>,
    session: SessionHandle,
}

/// A socket on this gateway bridged to another gateway's session.
struct Bridged {
    code: String,
    owner: String,
    /// The socket's queue.
    conn: ConnTx,
    reply: Option<oneshot::Sender<Result<Option<u64>, ErrorCode>>>,
}

/// This gateway's membership in the Redis Cluster mesh of gateways.
pub struct Cluster {
    /// Itself, for the tasks a [`Mesh`] call starts.
    me: Weak<Cluster>,
    id: String,
    conn: ClusterConnection,
    /// Owner lease lifetime; renewed every third of it.
    lease: Duration,
    /// How long a bridging gateway waits for the owner to answer a join
    /// (`LIVE_ATTACH_TIMEOUT_MS`), queue bounds of bridged connections.
    tuning: Arc<LiveTuningConfig>,
    /// Session checkpoints, on the same connection.
    checkpoints: Arc<RedisCheckpoints>,
    live: Weak<dyn LocalSessions>,
    /// Owner side: remote connections by (gateway, connection id).
    remotes: Mutex<HashMap<(String, u64), Remote>>,
    /// Bridging side: local sockets by connection id.
    bridged: Mutex<HashMap<u64, Bridged>>,
    /// Owner side: frames and closes for bridged sockets, by gateway, to
    /// the task that publishes them in batches (see [`outbox`]).
    outbox: mpsc::UnboundedSender<Queued>,
    /// The gateway's stop signals and task tracker.
    life: Lifecycle,
}

fn inbox(gateway: &str) -> String {
    format!("live:gw:{{{gateway}}}")
}

fn owner_key(code: &str) -> String {
    format!("live:{{{code}}}:owner")
}

fn close_reason(code: u16) -> &'static str {
    match code {
        close::SESSION_FINISHED => "session finished",
        close::REMOVED => "removed by the host",
        close::REPLACED => "replaced by a newer connection",
        close::TOO_SLOW => "too slow",
        close::RECONNECT_NOW => "session moved: reconnect now",
        _ => "closed",
    }
}

impl Cluster {
    /// Connects to Redis Cluster (RESP3) at the seed `nodes` (URLs, see
    /// `Config::redis_urls`), subscribes to this gateway's inbox and
    /// starts the dispatcher and the owner watch, as tasks of `life`.
    pub async fn connect(
        nodes: &[String],
        lease: Duration,
        tuning: Arc<LiveTuningConfig>,
        live: Weak<dyn LocalSessions>,
        life: Lifecycle,
    ) -> anyhow::Result<Arc<Self>> {
        let nodes = nodes.to_vec();
        let (push_tx, mut push_rx) = mpsc::unbounded_channel();
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(push_tx)
            .build()?;
        let mut conn = client.get_async_connection().await?;
        let id = format!("{:016x}", rand::random::<u64>());
        conn.ssubscribe(inbox(&id)).await?;
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let cluster = Arc::new_cyclic(|me| Cluster {
            me: me.clone(),
            id,
            checkpoints: Arc::new(RedisCheckpoints::new(conn.clone(), tuning.checkpoint_ttl)),
            conn,
            lease,
            tuning,
            live,
            remotes: Mutex::new(HashMap::new()),
            bridged: Mutex::new(HashMap::new()),
            outbox: outbox_tx,
            life: life.clone(),
        });
        life.spawn(outbox(Arc::downgrade(&cluster), outbox_rx, life.clone()));
        let weak = Arc::downgrade(&cluster);
        let dispatcher = life.clone();
        life.spawn(async move {
            loop {
                let push: redis::PushInfo = tokio::select! {
                    push = push_rx.recv() => match push {
                        Some(push) => push,
                        None => break,
                    },
                    // Sessions being handed over relay to the end; then it ends.
                    _ = dispatcher.stopped() => break,
                };
                let Some(cluster) = weak.upgrade() else { break };
                if push.kind != PushKind::SMessage {
                    continue;
                }
                let Some(Value::BulkString(payload)) = push.data.get(1) else {
                    continue;
                };
                if relay::is_batch(payload) {
                    match relay::decode(payload) {
                        Ok(entries) => cluster.deliver(entries),
                        Err(e) => tracing::warn!(error = %e, "bad live cluster message"),
                    }
                    continue;
                }
                match serde_json::from_slice::<Wire>(payload) {
                    Ok(w) => cluster.dispatch(w).await,
                    Err(e) => tracing::warn!(error = %e, "bad live cluster message"),
                }
            }
        });
        life.spawn(watch_owners(Arc::downgrade(&cluster), life.clone()));
        Ok(cluster)
    }

    /// Publishes to a gateway's inbox; the number of subscribers that got
    /// it (0: that gateway is gone).
    async fn publish(&self, gateway: &str, wire: &Wire) -> redis::RedisResult<i64> {
        let payload = serde_json::to_vec(wire).unwrap_or_default();
        self.publish_bytes(gateway, payload).await
    }

    async fn publish_bytes(&self, gateway: &str, payload: Vec<u8>) -> redis::RedisResult<i64> {
        let mut c = self.conn.clone();
        c.spublish(inbox(gateway), payload).await
    }

    /// Claims `code` for this gateway; false if another session holds it.
    async fn claim(&self, code: &str) -> redis::RedisResult<bool> {
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(owner_key(code))
            .arg(&self.id)
            .arg("NX")
            .arg("PX")
            .arg(self.lease.as_millis() as u64)
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    /// Gives up the lease on `code` if this gateway holds it.
    async fn release(&self, code: &str) {
        let release = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then \
             return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        let mut c = self.conn.clone();
        let r: redis::RedisResult<i64> = release
            .key(owner_key(code))
            .arg(&self.id)
            .invoke_async(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, code, "live owner lease release failed");
        }
    }

    /// The gateway that owns `code`, if any.
    async fn owner(&self, code: &str) -> Option<String> {
        let mut c = self.conn.clone();
        match c.get::<_, Option<String>>(owner_key(code)).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "live owner lookup failed");
                None
            }
        }
    }

    /// Renews the lease on `code` until the session's actor releases it
    /// (a hand-over: then gives it up if it is still this gateway's, and a
    /// renewal never runs after the release) or drops it (the session ended:
    /// then lets it expire, see below). If
    /// the lease turns out to be someone else's (this gateway stalled longer
    /// than the lease and another one took the session over), the actor is
    /// told to abdicate. A lease that lapsed with nobody else claiming it (a
    /// renewal delayed past the lease on a saturated machine) is claimed
    /// again in the same script: the session still runs only here, and
    /// abdicating would send every player through a reconnect and a restore
    /// for nothing (bridging gateways that saw the gap have sent their
    /// clients to reconnect, which brings them back here).
    fn hold_lease(self: &Arc<Self>, code: String, session: SessionHandle) -> Lease {
        let (lease, keeper) = Lease::new();
        self.life
            .spawn(self.clone().keep_lease(code, session, keeper));
        lease
    }

    async fn keep_lease(
        self: Arc<Self>,
        code: String,
        session: SessionHandle,
        mut keeper: LeaseKeeper,
    ) {
        // 1: renewed, 2: had lapsed and is claimed again, 0: someone else's.
        let renew = redis::Script::new(
            "local owner = redis.call('GET', KEYS[1]) \
             if owner == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
             if not owner then \
               redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end \
             return 0",
        );
        let key = owner_key(&code);
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.tick().await;
        let done = loop {
            tokio::select! {
                done = keeper.released() => break done,
                // The session did not let go in time (see Lifecycle): the
                // lease expires by itself.
                _ = self.life.stopped() => return,
                _ = tick.tick() => {
                    let mut c = self.conn.clone();
                    let r: redis::RedisResult<i64> = renew
                        .key(&key)
                        .arg(&self.id)
                        .arg(self.lease.as_millis() as u64)
                        .invoke_async(&mut c)
                        .await;
                    match r {
                        Ok(0) => {
                            session.abdicate().await;
                            return;
                        }
                        Ok(2) => {
                            metrics::counter!("live_owner_lease_reclaimed_total").increment(1);
                            tracing::warn!(code, "live owner lease had lapsed; claimed again");
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, code, "live owner lease renewal failed");
                        }
                    }
                }
            }
        };
        // Handed over: the next owner may take the session at once.
        //
        // The session ended here (finished, `done` is None): the lease is left
        // to expire, not released. Its last frames (final standings, then the
        // close) may still be on their way to the gateways bridging its
        // players, and a bridging gateway that saw the lease gone would send
        // those players to reconnect before they arrive. Nobody may take a
        // finished session over (its checkpoint is gone), so holding the code
        // for the rest of the lease costs nothing.
        if let Some(done) = done {
            self.release(&code).await;
            let _ = done.send(());
        }
    }

    /// Bridging side: joins `conn` to the session `code` owned by `owner`.
    async fn attach_remote(
        &self,
        owner: &str,
        code: &str,
        role: Role,
        conn: ConnTx,
    ) -> Result<Option<u64>, ErrorCode> {
        let (reply, rx) = oneshot::channel();
        let id = conn.id;
        self.bridged.lock().expect("bridge map poisoned").insert(
            id,
            Bridged {
                code: code.to_string(),
                owner: owner.to_string(),
                conn,
                reply: Some(reply),
            },
        );
        // After the insert: a socket bridged from now on is either in the
        // map when the stopping gateway sends its sockets away, or sees it
        // stopping here.
        if self.life.is_stopping() {
            self.bridged
                .lock()
                .expect("bridge map poisoned")
                .remove(&id);
            return Err(ErrorCode::Internal);
        }
        let wire = Wire::Attach {
            code: code.to_string(),
            from: self.id.clone(),
            conn: id,
            role,
        };
        let result = match self.publish(owner, &wire).await {
            Ok(0) => Err(ErrorCode::Internal), // the owner is gone; retry after the takeover
            Ok(_) => match tokio::time::timeout(self.tuning.attach_timeout, rx).await {
                Ok(Ok(r)) => r,
                _ => Err(ErrorCode::Internal),
            },
            Err(e) => {
                tracing::warn!(error = %e, "live bridge publish failed");
                Err(ErrorCode::Internal)
            }
        };
        if result.is_err() {
            self.bridged
                .lock()
                .expect("bridge map poisoned")
                .remove(&id);
        }
        result
    }

    /// Bridging side: relays a client message; false if Redis failed or
    /// the owner is gone (the client reconnects and reaches the new owner).
    async fn send_remote(
        &self,
        owner: &str,
        conn: u64,
        msg: ClientMsg,
        received: tokio::time::Instant,
    ) -> bool {
        let age = i64::try_from(received.elapsed().as_millis()).unwrap_or(i64::MAX);
        let wire = Wire::Msg {
            from: self.id.clone(),
            conn,
            msg,
            at: Some(now_ms().saturating_sub(age)),
        };
        match self.publish(owner, &wire).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "live bridge publish failed");
                false
            }
        }
    }

    /// Bridging side: the socket closed.
    async fn detach_remote(&self, owner: &str, conn: u64) {
        self.bridged
            .lock()
            .expect("bridge map poisoned")
            .remove(&conn);
        let wire = Wire::Detach {
            from: self.id.clone(),
            conn,
        };
        let _ = self.publish(owner, &wire).await;
    }

    async fn dispatch(self: &Arc<Self>, wire: Wire) {
        match wire {
            Wire::Attach {
                code,
                from,
                conn,
                role,
            } => self.on_attach(code, from, conn, role),
            Wire::Msg {
                from,
                conn,
                msg,
                at,
            } => {
                let received = relayed_at(at);
                let target = {
                    let map = self.remotes.lock().expect("remote map poisoned");
                    map.get(&(from, conn))
                        .map(|r| (r.player, r.session.clone()))
                };
                if let Some((player, session)) = target {
                    session.send(player, msg, received).await;
                }
            }
            Wire::Detach { from, conn } => {
                let gone = self
                    .remotes
                    .lock()
                    .expect("remote map poisoned")
                    .remove(&(from, conn));
                if let Some(r) = gone {
                    r.session.detach(r.local_id, r.player).await;
                }
            }
            Wire::Attached { conn, result } => {
                let reply = self
                    .bridged
                    .lock()
                    .expect("bridge map poisoned")
                    .get_mut(&conn)
                    .and_then(|b| b.reply.take());
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Bridging side: a frame batch from an owner ([`deliver_to`]).
    fn deliver(&self, entries: Vec<Entry<'_>>) {
        deliver_to(&self.bridged.lock().expect("bridge map poisoned"), entries);
    }

    /// Owner side: a remote connection joins one of this gateway's sessions.
    fn on_attach(self: &Arc<Self>, code: String, from: String, conn: u64, role: Role) {
        let cluster = self.clone();
        self.life.spawn(async move {
            let Some(live) = cluster.live.upgrade() else {
                return;
            };
            let Some(handle) = live.local_or_take_over(&code).await else {
                // While this gateway hands its sessions over, the client is
                // to try again (it will find the next owner).
                let refusal = if cluster.life.is_stopping() {
                    ErrorCode::Internal
                } else {
                    ErrorCode::UnknownSession
                };
                let wire = Wire::Attached {
                    conn,
                    result: Err(refusal),
                };
                let _ = cluster.publish(&from, &wire).await;
                return;
            };
            let local_id = live.next_conn_id();
            let remote = RemoteConn::new(
                from.as_str().into(),
                conn,
                role.queue_bound(&cluster.tuning),
                cluster.outbox.clone(),
            );
            let local = ConnTx::remote(local_id, remote);
            let result = handle.attach(role, local).await;
            if let Ok(player) = result {
                cluster.remotes.lock().expect("remote map poisoned").insert(
                    (from.clone(), conn),
                    Remote {
                        local_id,
                        player,
                        session: handle,
                    },
                );
            }
            let _ = cluster
                .publish(&from, &Wire::Attached { conn, result })
                .await;
        });
    }
}

/// Bridging side: delivers a frame batch to the sockets' queues in order,
/// under one look-up of the bridged sockets (the caller's lock). A frame for
/// several sockets is copied out of the message once and shared.
fn deliver_to(map: &HashMap<u64, Bridged>, entries: Vec<Entry<'_>>) {
    for entry in entries {
        match entry {
            Entry::Frame { conn, text } => {
                if let Some(b) = map.get(&conn) {
                    b.conn.push(Out::Frame(Utf8Bytes::from(text.to_owned())));
                }
            }
            Entry::Fan { conns, text } => {
                let frame = Utf8Bytes::from(text.to_owned());
                for conn in conns {
                    if let Some(b) = map.get(&conn) {
                        b.conn.push(Out::Frame(frame.clone()));
                    }
                }
            }
            Entry::Close { conn, code } => {
                if let Some(b) = map.get(&conn) {
                    if code == close::TOO_SLOW {
                        b.conn.kill();
                    } else {
                        b.conn.push(Out::Close(code, close_reason(code)));
                    }
                }
            }
        }
    }
}

/// Owner side: when a relayed message counts as received: the bridging
/// gateway's stamp, but no earlier than [`MAX_RELAY_AGE`] before now.
fn relayed_at(at: Option<i64>) -> tokio::time::Instant {
    relayed_at_from(at, now_ms(), tokio::time::Instant::now())
}

/// [`relayed_at`] with the clocks passed in: `wall_ms` is this gateway's wall clock and
/// `now` its monotonic clock, read together.
///
/// Both stamps are whole milliseconds, so their difference overstates the age by up to a
/// millisecond (a stamp taken at x.999 ms and read here at (x+1).001 ms looks 1 ms old). The
/// age is taken a millisecond short: a relayed answer then never counts as received before it
/// really was, which matters for an answer sent within a millisecond or two of its question
/// (a bot, or a test on loopback): counted before the question opened, it was refused as
/// `not_open`. What the owner gives up is at most 2 ms of the answer's time.
fn relayed_at_from(
    at: Option<i64>,
    wall_ms: i64,
    now: tokio::time::Instant,
) -> tokio::time::Instant {
    let age = at
        .map_or(0, |at| wall_ms.saturating_sub(at).saturating_sub(1))
        .clamp(0, MAX_RELAY_AGE.as_millis() as i64);
    now.checked_sub(Duration::from_millis(age as u64))
        .unwrap_or(now)
}

impl Mesh for Cluster {
    fn id(&self) -> &str {
        &self.id
    }

    fn checkpoints(&self) -> Arc<dyn CheckpointStore> {
        self.checkpoints.clone()
    }

    fn claim<'a>(&'a self, code: &'a str) -> MeshFuture<'a, redis::RedisResult<bool>> {
        Box::pin(Cluster::claim(self, code))
    }

    fn release<'a>(&'a self, code: &'a str) -> MeshFuture<'a, ()> {
        Box::pin(Cluster::release(self, code))
    }

    fn owner<'a>(&'a self, code: &'a str) -> MeshFuture<'a, Option<String>> {
        Box::pin(Cluster::owner(self, code))
    }

    fn hold(&self, code: String, session: SessionHandle) -> Lease {
        match self.me.upgrade() {
            Some(me) => me.hold_lease(code, session),
            // Unreachable while a session runs (the service holds the mesh):
            // a lease nobody keeps, released at once.
            None => Lease::new().0,
        }
    }

    fn attach_remote<'a>(
        &'a self,
        owner: &'a str,
        code: &'a str,
        role: Role,
        conn: ConnTx,
    ) -> MeshFuture<'a, Result<Option<u64>, ErrorCode>> {
        Box::pin(Cluster::attach_remote(self, owner, code, role, conn))
    }

    fn send_remote<'a>(
        &'a self,
        owner: &'a str,
        conn: u64,
        msg: ClientMsg,
        received: tokio::time::Instant,
    ) -> MeshFuture<'a, bool> {
        Box::pin(Cluster::send_remote(self, owner, conn, msg, received))
    }

    fn detach_remote<'a>(&'a self, owner: &'a str, conn: u64) -> MeshFuture<'a, ()> {
        Box::pin(Cluster::detach_remote(self, owner, conn))
    }
}

/// Owner side: publishes what the sessions queued for bridged sockets,
/// everything that is ready at once (up to [`BATCH_MAX`]), one message per
/// bridging gateway ([`batches`]), the gateways' messages concurrently.
/// One task, one round at a time: a socket's frames stay in order. While a
/// round is in flight the next one grows, so the number of publishes
/// follows what Redis sustains, not the number of bridged sockets. Ends
/// once the gateway stopped (after publishing what was queued by then).
async fn outbox(cluster: Weak<Cluster>, mut rx: mpsc::UnboundedReceiver<Queued>, life: Lifecycle) {
    let mut ready = Vec::with_capacity(BATCH_MAX);
    loop {
        let stopped = tokio::select! {
            n = rx.recv_many(&mut ready, BATCH_MAX) => {
                if n == 0 {
                    return;
                }
                false
            }
            _ = life.stopped() => {
                while let Ok(item) = rx.try_recv() {
                    ready.push(item);
                }
                true
            }
        };
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let messages = batches(&ready);
        ready.clear();
        let sent = messages.into_iter().map(|(to, payload)| {
            let cluster = &cluster;
            async move { cluster.publish_bytes(&to, payload).await }
        });
        for r in futures_util::future::join_all(sent).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "live bridge publish failed");
            }
        }
        if stopped {
            return;
        }
    }
}

/// Bridging side: every third of the lease, checks that the owners of the
/// bridged sockets still hold their sessions. When an owner's lease has
/// expired (it crashed), was released (it handed the session over) or
/// moved, its sockets are closed with "reconnect now": the clients
/// reconnect with their resume tokens, and the first gateway to see such a
/// code without owner takes the session over. When this gateway begins
/// stopping, every bridged socket is closed that way (the session stays
/// where it is; its clients come back through another gateway).
async fn watch_owners(cluster: Weak<Cluster>, life: Lifecycle) {
    let Some(lease) = cluster.upgrade().map(|c| c.lease) else {
        return;
    };
    let mut tick = tokio::time::interval(lease / 3);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = life.stopping() => {
                if let Some(cluster) = cluster.upgrade() {
                    let mut map = cluster.bridged.lock().expect("bridge map poisoned");
                    for (_, b) in map.drain() {
                        send_away(&b);
                    }
                }
                return;
            }
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let watched: HashMap<String, String> = cluster
            .bridged
            .lock()
            .expect("bridge map poisoned")
            .values()
            .map(|b| (b.code.clone(), b.owner.clone()))
            .collect();
        for (code, owner) in watched {
            let mut c = cluster.conn.clone();
            let now: Option<String> = match c.get(owner_key(&code)).await {
                Ok(now) => now,
                Err(_) => continue, // Redis trouble: do not drop anyone for it
            };
            if now.as_deref() == Some(owner.as_str()) {
                continue;
            }
            tracing::warn!(
                code,
                owner,
                "live session owner gone; clients are sent to reconnect"
            );
            let mut map = cluster.bridged.lock().expect("bridge map poisoned");
            map.retain(|_, b| {
                let moved = b.code == code && b.owner == owner;
                if moved {
                    send_away(b);
                }
                !moved
            });
        }
    }
}

/// Closes a bridged socket with "reconnect now"; a full queue cannot take
/// the close: the connection ends as too slow instead (clients reconnect
/// after either).
fn send_away(b: &Bridged) {
    b.conn.push(Out::Close(
        close::RECONNECT_NOW,
        "session moved: reconnect now",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relayed_stamp_never_counts_before_its_receipt() {
        let now = tokio::time::Instant::now();
        // Stamped in the previous millisecond: it may be microseconds old.
        assert_eq!(relayed_at_from(Some(1_000), 1_001, now), now);
        assert_eq!(relayed_at_from(Some(1_000), 1_000, now), now);
        // A stamp from the future (another gateway's clock ahead) counts as now.
        assert_eq!(relayed_at_from(Some(2_000), 1_000, now), now);
        assert_eq!(
            relayed_at_from(Some(1_000), 1_500, now),
            now - Duration::from_millis(499)
        );
        // No earlier than the bound, however old the stamp says it is.
        assert_eq!(relayed_at_from(Some(0), 100_000, now), now - MAX_RELAY_AGE);
        assert_eq!(relayed_at_from(None, 100_000, now), now);
    }

    fn remote(
        to: &str,
        conn: u64,
        bound: usize,
    ) -> (Arc<RemoteConn>, mpsc::UnboundedReceiver<Queued>) {
        let (outbox, rx) = mpsc::unbounded_channel();
        (RemoteConn::new(to.into(), conn, bound, outbox), rx)
    }

    /// Remotes sharing one outbox.
    fn remotes(of: &[(&str, u64)], bound: usize) -> (Vec<ConnTx>, mpsc::UnboundedReceiver<Queued>) {
        let (outbox, rx) = mpsc::unbounded_channel();
        let conns = of
            .iter()
            .map(|&(to, conn)| {
                ConnTx::remote(
                    conn + 100,
                    RemoteConn::new(to.into(), conn, bound, outbox.clone()),
                )
            })
            .collect();
        (conns, rx)
    }

    fn frame(text: &str) -> Out {
        Out::Frame(Utf8Bytes::from(text.to_string()))
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Queued>) -> Vec<Queued> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    /// Each connection's frames and closes, as a bridging gateway delivers them.
    fn delivered(payload: &[u8]) -> Vec<(u64, String)> {
        let mut got = Vec::new();
        for e in relay::decode(payload).expect("a frame batch") {
            match e {
                Entry::Frame { conn, text } => got.push((conn, text.to_string())),
                Entry::Fan { conns, text } => {
                    got.extend(conns.into_iter().map(|c| (c, text.to_string())))
                }
                Entry::Close { conn, code } => got.push((conn, format!("close {code}"))),
            }
        }
        got
    }

    #[test]
    fn queued_frames_become_one_message_per_gateway_in_order() {
        let (conns, mut rx) = remotes(&[("a", 1), ("b", 2), ("a", 3)], 16);
        assert!(conns[0].push(frame("one")));
        assert!(conns[1].push(frame("two")));
        assert!(conns[2].push(frame("three")));
        assert!(conns[0].push(Out::Close(4000, "session finished")));
        let out = batches(&drain(&mut rx));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0.as_ref(), "a");
        assert_eq!(
            delivered(&out[0].1),
            [
                (1, "one".to_string()),
                (3, "three".to_string()),
                (1, "close 4000".to_string())
            ]
        );
        assert_eq!(out[1].0.as_ref(), "b");
        assert_eq!(delivered(&out[1].1), [(2, "two".to_string())]);
    }

    #[test]
    fn a_batch_crosses_the_wire_intact() {
        let (conns, mut rx) = remotes(&[("a", 7)], 16);
        let text = r#"{"type":"rank","rank":1,"nickname":"\"Zoë\" 🦀\n"}"#;
        conns[0].push(frame(text));
        conns[0].push(Out::Close(close::TOO_SLOW, "too slow"));
        let out = batches(&drain(&mut rx));
        let entries = relay::decode(&out[0].1).expect("a frame batch");
        assert_eq!(
            entries,
            [
                Entry::Frame { conn: 7, text },
                Entry::Close {
                    conn: 7,
                    code: 4008
                }
            ]
        );
    }

    #[test]
    fn a_frame_for_many_bridged_sockets_crosses_once_per_gateway() {
        let of: Vec<(&str, u64)> = (0..6).map(|c| (["a", "b"][c % 2], c as u64)).collect();
        let (conns, mut rx) = remotes(&of, 16);
        let top = Out::Frame(Utf8Bytes::from_static(r#"{"type":"leaderboard"}"#));
        for (i, c) in conns.iter().enumerate() {
            c.push(top.clone());
            c.push(frame(&format!("rank {i}")));
        }
        for (to, payload) in batches(&drain(&mut rx)) {
            let entries = relay::decode(&payload).expect("a frame batch");
            let fans: Vec<&Entry<'_>> = entries
                .iter()
                .filter(|e| matches!(e, Entry::Fan { .. }))
                .collect();
            let expect = if to.as_ref() == "a" {
                [0, 2, 4]
            } else {
                [1, 3, 5]
            };
            assert_eq!(
                fans,
                [&Entry::Fan {
                    conns: expect.to_vec(),
                    text: r#"{"type":"leaderboard"}"#
                }]
            );
            for c in expect {
                let own: Vec<String> = delivered(&payload)
                    .into_iter()
                    .filter(|(conn, _)| *conn == c)
                    .map(|(_, t)| t)
                    .collect();
                assert_eq!(
                    own,
                    [r#"{"type":"leaderboard"}"#.to_string(), format!("rank {c}")]
                );
            }
        }
    }

    #[test]
    fn a_remote_connection_over_its_bound_is_dropped_as_too_slow() {
        let (r, mut rx) = remote("a", 3, 2);
        let conn = ConnTx::remote(9, r.clone());
        assert!(conn.push(frame("1")));
        assert!(conn.push(frame("2")));
        assert!(!conn.push(frame("3")), "past the bound");
        assert!(!conn.push(frame("4")), "dropped: nothing more goes out");
        let queued = drain(&mut rx);
        let what: Vec<String> = queued
            .iter()
            .map(|q| match &q.what {
                Relayed::Frame(f) => f.as_str().to_string(),
                Relayed::Close(code) => format!("close {code}"),
            })
            .collect();
        assert_eq!(what, ["1", "2", "close 4008"]);
        // The outbox taking frames gives room back.
        let (r, mut rx) = remote("a", 4, 2);
        let conn = ConnTx::remote(10, r.clone());
        for round in 0..3 {
            assert!(conn.push(frame("x")), "round {round}");
            assert!(conn.push(frame("y")), "round {round}");
            batches(&drain(&mut rx));
            assert_eq!(r.queued.load(Ordering::Acquire), 0);
        }
    }

    #[test]
    fn a_closed_remote_connection_takes_nothing_more() {
        let (r, mut rx) = remote("a", 3, 8);
        let conn = ConnTx::remote(9, r);
        assert!(conn.push(frame("last")));
        assert!(conn.push(Out::Close(close::RECONNECT_NOW, "session moved")));
        assert!(!conn.push(frame("late")));
        conn.kill();
        assert!(!conn.push(Out::Close(close::SESSION_FINISHED, "finished")));
        let out = batches(&drain(&mut rx));
        assert_eq!(
            delivered(&out[0].1),
            [(3, "last".to_string()), (3, "close 4010".to_string())]
        );
        // The outbox is gone (the gateway stopped): nothing is taken.
        let (r, rx) = remote("a", 5, 8);
        drop(rx);
        assert!(!ConnTx::remote(11, r).push(frame("x")));
    }

    #[tokio::test]
    async fn a_bridged_socket_gets_its_frames_then_its_close() {
        let (local, mut rx) = ConnTx::new(3, 8);
        let (conns, mut queued) = remotes(&[("a", 3)], 8);
        conns[0].push(frame("one"));
        conns[0].push(frame("two"));
        conns[0].push(Out::Close(close::SESSION_FINISHED, "session finished"));
        let out = batches(&drain(&mut queued));
        let mut map = HashMap::new();
        map.insert(
            3,
            Bridged {
                code: "X".into(),
                owner: "a".into(),
                conn: local,
                reply: None,
            },
        );
        deliver_to(&map, relay::decode(&out[0].1).expect("a frame batch"));
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|o| match o {
                Out::Frame(f) => f.as_str().to_string(),
                Out::Close(code, _) => format!("close {code}"),
            })
            .collect();
        assert_eq!(got, ["one", "two", "close 4000"]);
    }
}
