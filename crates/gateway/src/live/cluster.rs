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
//! is an ordinary [`ConnTx`] in the session's fanout, whose queue is drained
//! by a forwarding task that publishes each frame back. Pings are answered
//! by the bridging gateway. A relayed message carries the time the bridging
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
//! serves every session. Per connection, messages travel in order (one
//! publisher awaiting each publish, one subscriber connection). Frames for
//! bridged sockets go through one outbox task that publishes everything
//! queued for a gateway as one `batch` message (up to 1,024 frames),
//! so a push to 10,000 bridged players costs a handful of publishes, not
//! 10,000; gateways of one deployment must all understand `batch` (an older
//! one drops it as a bad message, and its clients resume).
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
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use livequiz_sdk::live::{close, ClientMsg, ErrorCode};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncCommands as _, PushKind, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Notify};

use super::actor::SessionHandle;
use super::checkpoint::{CheckpointStore, RedisCheckpoints};
use super::conn::{ConnTx, Out, Role};
use super::lifecycle::Lifecycle;
use super::mesh::{Lease, LeaseKeeper, LocalSessions, Mesh, MeshFuture};
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
    /// Owner -> bridging gateway: a frame for the socket.
    Frame { conn: u64, text: String },
    /// Owner -> bridging gateway: close the socket with this code.
    Close { conn: u64, code: u16 },
    /// Several of the above for one gateway, in order: what the owner's
    /// sessions queued for that gateway's sockets since its last publish
    /// (a leaderboard push to 10,000 bridged players is ten publishes, not
    /// 10,000).
    Batch { items: Vec<Wire> },
}

/// Most bridge messages one publish carries (a few hundred KiB of frames).
const BATCH_MAX: usize = 1024;

/// Groups messages queued for other gateways into one message per
/// gateway, each gateway's in the order queued (a single message stays
/// as it is).
fn batches(queued: Vec<(Arc<str>, Wire)>) -> Vec<(Arc<str>, Wire)> {
    let mut by_gateway: Vec<(Arc<str>, Vec<Wire>)> = Vec::new();
    for (to, wire) in queued {
        match by_gateway.iter_mut().find(|(t, _)| *t == to) {
            Some((_, items)) => items.push(wire),
            None => by_gateway.push((to, vec![wire])),
        }
    }
    by_gateway
        .into_iter()
        .map(|(to, mut items)| {
            let wire = match items.len() {
                1 => items.remove(0),
                _ => Wire::Batch { items },
            };
            (to, wire)
        })
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
    tx: mpsc::Sender<Out>,
    kill: Arc<Notify>,
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
    outbox: mpsc::UnboundedSender<(Arc<str>, Wire)>,
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
                tx: conn.tx,
                kill: conn.kill,
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
            Wire::Frame { conn, text } => {
                let target = self
                    .bridged
                    .lock()
                    .expect("bridge map poisoned")
                    .get(&conn)
                    .map(|b| ConnTx {
                        id: conn,
                        tx: b.tx.clone(),
                        kill: b.kill.clone(),
                    });
                if let Some(c) = target {
                    c.push(Out::Frame(Utf8Bytes::from(text)));
                }
            }
            Wire::Batch { items } => {
                for wire in items {
                    Box::pin(self.dispatch(wire)).await;
                }
            }
            Wire::Close { conn, code } => {
                let target = self
                    .bridged
                    .lock()
                    .expect("bridge map poisoned")
                    .get(&conn)
                    .map(|b| (b.tx.clone(), b.kill.clone()));
                if let Some((tx, kill)) = target {
                    if code == close::TOO_SLOW {
                        kill.notify_one();
                    } else {
                        let _ = tx.try_send(Out::Close(code, close_reason(code)));
                    }
                }
            }
        }
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
            let (local, rx) = ConnTx::new(local_id, role.queue_bound(&cluster.tuning));
            // Forward before attaching: the welcome is queued during the attach.
            let kill = local.kill.clone();
            cluster
                .life
                .spawn(forward(cluster.clone(), from.clone(), conn, rx, kill));
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

/// Owner side: when a relayed message counts as received: the bridging
/// gateway's stamp, but no earlier than [`MAX_RELAY_AGE`] before now.
fn relayed_at(at: Option<i64>) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let age = at
        .map_or(0, |at| now_ms().saturating_sub(at))
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

/// Owner side: drains a remote connection's queue into the outbox for the
/// bridging gateway's inbox.
async fn forward(
    cluster: Arc<Cluster>,
    to: String,
    conn: u64,
    mut rx: mpsc::Receiver<Out>,
    kill: Arc<Notify>,
) {
    let to: Arc<str> = to.into();
    loop {
        let wire = tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Frame(f)) => Wire::Frame { conn, text: f.as_str().to_string() },
                Some(Out::Close(code, _)) => Wire::Close { conn, code },
                None => return,
            },
            _ = kill.notified() => Wire::Close { conn, code: close::TOO_SLOW },
            // The sessions are gone: nothing more comes.
            _ = cluster.life.stopped() => return,
        };
        let last = matches!(wire, Wire::Close { .. });
        if cluster.outbox.send((to.clone(), wire)).is_err() || last {
            return;
        }
    }
}

/// Owner side: publishes what the forwarding tasks queued, everything that
/// is ready at once, one message per bridging gateway ([`batches`]). One
/// task, one publish at a time: a socket's frames stay in order. While a
/// publish is in flight the next batch grows, so the number of publishes
/// follows what Redis sustains, not the number of bridged sockets. Ends
/// once the gateway stopped (after publishing what was queued by then).
async fn outbox(
    cluster: Weak<Cluster>,
    mut rx: mpsc::UnboundedReceiver<(Arc<str>, Wire)>,
    life: Lifecycle,
) {
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
        for (to, wire) in batches(std::mem::take(&mut ready)) {
            if let Err(e) = cluster.publish(&to, &wire).await {
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
    if b.tx
        .try_send(Out::Close(
            close::RECONNECT_NOW,
            "session moved: reconnect now",
        ))
        .is_err()
    {
        b.kill.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(conn: u64, text: &str) -> Wire {
        Wire::Frame {
            conn,
            text: text.into(),
        }
    }

    #[test]
    fn queued_frames_become_one_message_per_gateway_in_order() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let queued = vec![
            (a.clone(), frame(1, "one")),
            (b.clone(), frame(2, "two")),
            (a.clone(), frame(3, "three")),
            (
                a.clone(),
                Wire::Close {
                    conn: 1,
                    code: 4000,
                },
            ),
        ];
        let out = batches(queued);
        assert_eq!(out.len(), 2);
        let (to, Wire::Batch { items }) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(to.as_ref(), "a");
        let order: Vec<u64> = items
            .iter()
            .map(|w| match w {
                Wire::Frame { conn, .. } | Wire::Close { conn, .. } => *conn,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(order, [1, 3, 1]);
        assert!(matches!(items[2], Wire::Close { code: 4000, .. }));
        // A lone message is sent as it is.
        assert!(matches!(&out[1], (to, Wire::Frame { conn: 2, .. }) if to.as_ref() == "b"));
    }

    #[test]
    fn a_batch_crosses_the_wire_intact() {
        let batch = Wire::Batch {
            items: vec![
                frame(7, r#"{"type":"rank","rank":1}"#),
                Wire::Close {
                    conn: 7,
                    code: 4008,
                },
            ],
        };
        let text = serde_json::to_string(&batch).expect("serialise");
        let back: Wire = serde_json::from_str(&text).expect("parse");
        let Wire::Batch { items } = back else {
            panic!("{text}")
        };
        assert!(
            matches!(&items[0], Wire::Frame { conn: 7, text } if text == r#"{"type":"rank","rank":1}"#)
        );
        assert!(matches!(
            items[1],
            Wire::Close {
                conn: 7,
                code: 4008
            }
        ));
    }
}
