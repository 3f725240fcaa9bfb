//! The WebSocket endpoint `GET /v1/live/ws` and the per-connection task.
//!
//! The URL carries only the join code (`?code=..`); the client's first frame
//! says who it is ([`super::handshake`]). Credentials stay out of the URL
//! because URLs end up in access logs, browser history and `Referer` headers;
//! a URL that still carries `token`, `host_token`, `resume` (or `nickname`)
//! is refused with 400 problem+json before the upgrade, so an old client
//! fails loudly. After the upgrade a refused join is an error frame followed
//! by a close code, because browsers cannot read the HTTP status of a failed
//! upgrade; so is a first frame that is not a credential, or none in time.
//! Every attempt counts against the client address's join limit
//! ([`JoinAdmission`]: 429 before the upgrade), unknown codes included.
//!
//! A code whose session runs on another gateway (Redis Cluster mode) is
//! bridged to that gateway through [`super::cluster`]; the socket side of
//! the connection task is the same either way.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use sdk::live::{close, ClientMsg, ErrorCode, ServerMsg, MAX_CLIENT_FRAME};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Notify};

use super::actor::fanout::{encode, ConnTx, Out, CONN_QUEUE, HOST_QUEUE};
use super::actor::{describe, Cmd};
use super::cluster::Cluster;
use super::handshake::{read_hello, resolve_role, NoHello};
use super::service::{LiveService, SessionHandle};
use crate::db::now_ms;

/// What a connection asks to be, credentials already resolved. Crosses
/// gateways (see [`super::cluster`]), hence serialisable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The host, with the secret from session creation.
    Host {
        /// The host secret.
        host_token: String,
    },
    /// A player rejoining.
    Resume {
        /// The resume token.
        token: String,
    },
    /// A new player.
    Join {
        /// Nickname (the username for accounts).
        nickname: String,
        /// Account id for logged-in players.
        account_id: Option<i64>,
        /// Two-step join pattern, if given.
        #[serde(default)]
        pattern: Option<String>,
    },
}

/// Upgrades a `GET /v1/live/ws` request whose checks passed (the route is
/// `crate::routes::live::websocket`) and runs the connection for join code
/// `code`.
pub fn accept(live: Arc<LiveService>, code: String, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        // Client frames are tiny; small buffers keep 10k sockets cheap.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(512 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| connection(live, code, socket))
}

async fn refuse(socket: WebSocket, code: ErrorCode, close_code: u16) {
    refuse_with(socket, code, describe(code).into(), close_code).await
}

async fn refuse_with(mut socket: WebSocket, code: ErrorCode, message: String, close_code: u16) {
    let msg = ServerMsg::Error {
        code,
        message,
        req: None,
    };
    let _ = socket.send(Message::Text(encode(&msg))).await;
    let frame = CloseFrame {
        code: close_code,
        reason: Utf8Bytes::from_static("join refused"),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Attaches `conn` to a session running in this process; the player id,
/// `None` for the host.
pub async fn attach_role(
    handle: &SessionHandle,
    role: Role,
    conn: ConnTx,
) -> Result<Option<u64>, ErrorCode> {
    let tx = &handle.tx;
    let (reply, rx) = oneshot::channel();
    let cmd = match role {
        Role::Host { host_token } => {
            if handle.host_token.is_empty() || host_token != handle.host_token {
                return Err(ErrorCode::Unauthorized);
            }
            let (reply, rx) = oneshot::channel();
            tx.send(Cmd::Host { conn, reply })
                .await
                .map_err(|_| ErrorCode::Finished)?;
            rx.await.map_err(|_| ErrorCode::Finished)??;
            return Ok(None);
        }
        Role::Resume { token } => Cmd::Resume { token, conn, reply },
        Role::Join {
            nickname,
            account_id,
            pattern,
        } => Cmd::Join {
            nickname,
            account_id,
            pattern,
            conn,
            reply,
        },
    };
    tx.send(cmd).await.map_err(|_| ErrorCode::Finished)?;
    let id = rx.await.map_err(|_| ErrorCode::Finished)??;
    Ok(Some(id))
}

/// Where a connection's messages go: the session's actor in this process,
/// or the owning gateway through Redis.
enum Upstream {
    Local(SessionHandle),
    Remote {
        cluster: Arc<Cluster>,
        owner: String,
        code: String,
    },
}

impl Upstream {
    async fn attach(&self, role: Role, conn: ConnTx) -> Result<Option<u64>, ErrorCode> {
        match self {
            Upstream::Local(h) => attach_role(h, role, conn).await,
            Upstream::Remote {
                cluster,
                owner,
                code,
            } => cluster.attach_remote(owner, code, role, conn).await,
        }
    }

    /// Relays a client message; false when the session is gone.
    async fn msg(&self, conn_id: u64, player: Option<u64>, msg: ClientMsg) -> bool {
        match self {
            Upstream::Local(h) => h.tx.send(Cmd::Msg { player, msg }).await.is_ok(),
            Upstream::Remote { cluster, owner, .. } => {
                cluster.send_remote(owner, conn_id, msg).await
            }
        }
    }

    async fn detach(&self, conn_id: u64, player: Option<u64>) {
        match self {
            Upstream::Local(h) => {
                let _ = h.tx.send(Cmd::Detach { conn_id, player }).await;
            }
            Upstream::Remote { cluster, owner, .. } => {
                cluster.detach_remote(owner, conn_id).await;
            }
        }
    }
}

/// Where the session of `code` runs: here, on its owning gateway, or -
/// when it has no owner any more (the owner crashed, its lease expired, or
/// this single gateway restarted) - here again after this gateway took it
/// over. `None`: no such session.
async fn upstream(live: &LiveService, code: &str) -> Option<Upstream> {
    if let Some(h) = live.session(code).filter(|h| h.id != 0) {
        return Some(Upstream::Local(h));
    }
    let Some(cluster) = live.cluster().cloned() else {
        // One gateway: a session of an earlier run of this process comes
        // back from its checkpoint.
        return live.local_or_take_over(code).await.map(Upstream::Local);
    };
    // Twice: a lost takeover race means another gateway owns it now.
    for _ in 0..2 {
        match cluster.owner(code).await {
            Some(owner) if owner != cluster.id() => {
                return Some(Upstream::Remote {
                    cluster,
                    owner,
                    code: code.to_string(),
                })
            }
            // Ours (being restored, or finishing), or nobody's.
            _ => {
                if let Some(h) = live.local_or_take_over(code).await {
                    return Some(Upstream::Local(h));
                }
            }
        }
    }
    None
}

async fn connection(live: Arc<LiveService>, code: String, mut socket: WebSocket) {
    // Who the client is comes first: no session lookup (nor takeover) for a
    // socket that never says.
    let hello = match read_hello(&mut socket).await {
        Ok(hello) => hello,
        Err(NoHello::Refused(message)) => {
            return refuse_with(socket, ErrorCode::BadMessage, message, close::JOIN_REFUSED).await
        }
        Err(NoHello::BadFrame) => {
            let frame = CloseFrame {
                code: close::TOO_BIG,
                reason: Utf8Bytes::from_static("bad frame"),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
            return;
        }
        Err(NoHello::Gone) => return,
    };
    let Some(up) = upstream(&live, &code).await else {
        return refuse(socket, ErrorCode::UnknownSession, close::UNKNOWN_SESSION).await;
    };
    let role = match resolve_role(&live, hello).await {
        Ok(role) => role,
        Err((code, message)) => {
            // A transient refusal closes with 1001 so that clients retry (docs/PROTOCOL.md).
            let close_code = if code == ErrorCode::Internal {
                close::GOING_AWAY
            } else {
                close::JOIN_REFUSED
            };
            return refuse_with(socket, code, message, close_code).await;
        }
    };
    // The host gets a roster frame per join: give it room for a burst of
    // thousands of joins; players get the normal bound.
    let capacity = if matches!(role, Role::Host { .. }) {
        HOST_QUEUE
    } else {
        CONN_QUEUE
    };
    let (tx, mut rx) = mpsc::channel(capacity);
    let kill = Arc::new(Notify::new());
    let conn_id = live.next_conn_id();
    let conn = ConnTx {
        id: conn_id,
        tx: tx.clone(),
        kill: kill.clone(),
    };
    let player = match up.attach(role, conn).await {
        Ok(player) => player,
        Err(code) => {
            let close_code = match code {
                ErrorCode::Finished => close::SESSION_FINISHED,
                ErrorCode::UnknownSession => close::UNKNOWN_SESSION,
                // Transient (e.g. the owning gateway is being replaced): try again.
                ErrorCode::Internal => close::GOING_AWAY,
                _ => close::JOIN_REFUSED,
            };
            return refuse(socket, code, close_code).await;
        }
    };
    metrics::gauge!("live_connections").increment(1.0);
    let (mut sink, mut stream) = socket.split();
    // One registration for the connection's life, not one per frame.
    let killed = kill.notified();
    tokio::pin!(killed);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(first) => {
                    if !write_queued(&mut sink, &mut rx, first).await {
                        break;
                    }
                }
                None => break,
            },
            _ = &mut killed => {
                let frame = CloseFrame { code: close::TOO_SLOW, reason: Utf8Bytes::from_static("too slow") };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMsg>(text.as_str()) {
                        Ok(ClientMsg::Ping) => {
                            let pong = ServerMsg::Pong { server_time: now_ms() };
                            let _ = tx.try_send(Out::Frame(encode(&pong)));
                        }
                        Ok(msg) => {
                            if !up.msg(conn_id, player, msg).await {
                                break; // the session is over
                            }
                        }
                        Err(e) => {
                            let msg = ServerMsg::Error {
                                code: ErrorCode::BadMessage,
                                message: format!("{}: {e}", describe(ErrorCode::BadMessage)),
                                req: None,
                            };
                            let _ = tx.try_send(Out::Frame(encode(&msg)));
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let msg = ServerMsg::Error {
                        code: ErrorCode::BadMessage,
                        message: "binary frames are not part of the protocol; send JSON text".into(),
                        req: None,
                    };
                    let _ = tx.try_send(Out::Frame(encode(&msg)));
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // ping/pong frames are answered by the library
                Some(Err(e)) => {
                    // Too-large frames and protocol violations end here.
                    tracing::debug!(error = %e, "live websocket read error");
                    let frame = CloseFrame { code: close::TOO_BIG, reason: Utf8Bytes::from_static("bad frame") };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            },
        }
    }
    metrics::gauge!("live_connections").decrement(1.0);
    up.detach(conn_id, player).await;
}

/// Most frames written before one flush (one `send` syscall for an ack, a
/// leaderboard and a rank frame that were queued together).
const WRITE_BATCH: usize = 32;

/// Writes `first` and whatever else is already queued (up to
/// [`WRITE_BATCH`] frames), then flushes once. At 10,000 sockets the
/// gateway's CPU goes mostly to `send` syscalls, so frames that are ready
/// together leave together. Returns false when the connection is done
/// (write error or a close frame sent).
async fn write_queued(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    rx: &mut mpsc::Receiver<Out>,
    first: Out,
) -> bool {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(out) = next.take() {
        match out {
            Out::Frame(f) => {
                if sink.feed(Message::Text(f)).await.is_err() {
                    return false;
                }
            }
            Out::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return false;
            }
        }
        written += 1;
        if written < WRITE_BATCH {
            next = rx.try_recv().ok();
        }
    }
    sink.flush().await.is_ok()
}
