//! The WebSocket endpoint `GET /v1/live/ws` (its route is
//! `crate::routes::live::websocket`) and the per-connection task.
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
//! ([`JoinAdmission`]: 429 before the upgrade), unknown codes included, and
//! takes one of the gateway's live WebSocket slots ([`WsSlot`]: 503 before
//! the upgrade when none is free).
//!
//! Where the code's session runs is [`LiveService::route`]'s decision; a
//! session on another gateway (Redis Cluster mode) is reached through the
//! mesh, and the socket side of the connection task is the same either way.
//!
//! The reader stamps every frame when it arrives: an answer is judged by
//! that time, not by when its session gets to it.
//!
//! Connection tasks are tasks of the live [`super::lifecycle::Lifecycle`]:
//! while the gateway shuts down, a connection still in its handshake is
//! refused as transient (`internal`, 1001), an attached one is closed by
//! its session (or, bridged, by the mesh) with 4010 once the session is
//! handed over, and any left when the sessions are gone is closed with 1001.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use livequiz_sdk::live::{close, ClientMsg, ErrorCode, ServerMsg, MAX_CLIENT_FRAME};
use tokio::sync::mpsc;

use super::conn::{describe, encode, ConnTx, LocalTx, Out};
use super::handshake::{read_hello, resolve_role, NoHello};
use super::route::Route;
use super::service::LiveService;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::limits::ClientIp;
use crate::state::AppState;

/// Extractor of `GET /v1/live/ws` that counts one join attempt of the
/// client's address against `JOIN_PER_IP_PER_MIN` before the upgrade; over
/// the limit the request is answered 429 problem+json with `Retry-After`.
/// Every attempt counts, whatever its code or credentials, so join codes
/// cannot be enumerated nor a session flooded with bots from one address.
pub struct JoinAdmission;

impl FromRequestParts<AppState> for JoinAdmission {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let live = &state.live;
        let client = ClientIp::from_parts(parts, &live.policy().trusted_proxies);
        live.admit_join(client)?;
        Ok(JoinAdmission)
    }
}

/// Extractor of `GET /v1/live/ws` that takes one of the gateway's live
/// WebSocket slots (`LIVE_MAX_WS_CONNECTIONS`) for the life of the
/// connection: moved into the upgraded connection's task, it is given back
/// when the socket ends. When every slot is taken the request is answered
/// before the upgrade with 503 problem+json and `Retry-After`, so the client
/// (or a load balancer in front) tries again or elsewhere, instead of the
/// gateway taking sockets beyond what it serves well and leaving nothing
/// for the REST API.
pub struct WsSlot {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// How long a client refused for lack of a WebSocket slot should wait.
const WS_FULL_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

impl FromRequestParts<AppState> for WsSlot {
    type Rejection = ApiError;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let live = &state.live;
        let Some((slots, bound)) = live.websocket_slots() else {
            return Ok(WsSlot { _permit: None });
        };
        match slots.try_acquire_owned() {
            Ok(permit) => Ok(WsSlot {
                _permit: Some(permit),
            }),
            Err(_) => {
                metrics::counter!("live_connections_refused_total", "reason" => "gateway_full")
                    .increment(1);
                Err(ApiError::Overloaded(
                    format!(
                        "this gateway holds its maximum of {bound} live connections \
                         (LIVE_MAX_WS_CONNECTIONS); try again shortly"
                    ),
                    WS_FULL_RETRY,
                ))
            }
        }
    }
}

/// Upgrades a `GET /v1/live/ws` request whose checks passed (the route,
/// `crate::routes::live::websocket`, refuses a missing `code`, a credential
/// in the URL and a request that is no upgrade with 400 problem+json, and a
/// gateway holding its maximum of live WebSockets with 503 and
/// `Retry-After`, [`WsSlot`]) and runs the connection for join code `code`,
/// holding `slot` until it ends.
pub fn accept(
    live: Arc<LiveService>,
    code: String,
    slot: WsSlot,
    upgrade: WebSocketUpgrade,
) -> Response {
    let tuning = &live.policy().tuning;
    upgrade
        // Client frames are tiny; small buffers keep 10k sockets cheap.
        .read_buffer_size(tuning.ws_read_buffer)
        .write_buffer_size(tuning.ws_write_buffer)
        .max_write_buffer_size(tuning.ws_max_write_buffer)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| {
            let life = live.lifecycle().clone();
            life.track(async move {
                // The slot is given back when the connection ends.
                let _slot = slot;
                connection(live, code, socket).await
            })
        })
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

/// Refuses a connection as transient because the gateway is shutting down.
async fn refuse_stopping(socket: WebSocket) {
    refuse(socket, ErrorCode::Internal, close::GOING_AWAY).await
}

async fn connection(live: Arc<LiveService>, code: String, mut socket: WebSocket) {
    let life = live.lifecycle().clone();
    // Who the client is comes first: no session lookup (nor takeover) for a
    // socket that never says.
    let hello = tokio::select! {
        hello = read_hello(&mut socket) => hello,
        _ = life.stopping() => return refuse_stopping(socket).await,
    };
    let hello = match hello {
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
    let Some(route) = live.route(&code).await else {
        if life.is_stopping() {
            return refuse_stopping(socket).await;
        }
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
    let conn_id = live.next_conn_id();
    let tuning = live.policy().tuning.clone();
    let (local, mut rx) = LocalTx::new(role.queue_bound(&tuning));
    let conn = ConnTx::local(conn_id, local.clone());
    let LocalTx { tx, kill } = local;
    let player = match route.attach(role, conn).await {
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
                    if !write_queued(&mut sink, &mut rx, first, tuning.ws_write_batch).await {
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
            // Its session has closed it by now (see the module docs): what
            // it queued goes out first, the close included; a connection
            // left open is closed here.
            _ = life.stopped() => {
                let mut open = true;
                while let (true, Ok(out)) = (open, rx.try_recv()) {
                    open = write_queued(&mut sink, &mut rx, out, tuning.ws_write_batch).await;
                }
                if !open {
                    break;
                }
                let frame = CloseFrame { code: close::GOING_AWAY, reason: Utf8Bytes::from_static("server stopping") };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    // The answer's time: now, not when its session gets to it.
                    let received = tokio::time::Instant::now();
                    match serde_json::from_str::<ClientMsg>(text.as_str()) {
                        Ok(ClientMsg::Ping) => {
                            let pong = ServerMsg::Pong { server_time: now_ms() };
                            let _ = tx.try_send(Out::Frame(encode(&pong)));
                        }
                        Ok(msg) => {
                            if !route.send(conn_id, player, msg, received).await {
                                if matches!(route, Route::Local(_)) {
                                    // The session here is over or being
                                    // handed over: what it queues last (the
                                    // final standings, the close) still goes
                                    // out, until it lets go of the queue.
                                    drop(tx);
                                    let last = async {
                                        while let Some(out) = rx.recv().await {
                                            if !write_queued(&mut sink, &mut rx, out, tuning.ws_write_batch).await {
                                                break;
                                            }
                                        }
                                    };
                                    let _ = tokio::time::timeout(tuning.shutdown_step, last).await;
                                }
                                break;
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
    route.detach(conn_id, player).await;
}

/// Writes `first` and whatever else is already queued (up to `batch`
/// frames, `LIVE_WS_WRITE_BATCH`: one `send` syscall for an ack, a
/// leaderboard and a rank frame that were queued together), then flushes
/// once. At 10,000 sockets the
/// gateway's CPU goes mostly to `send` syscalls, so frames that are ready
/// together leave together. Returns false when the connection is done
/// (write error or a close frame sent).
async fn write_queued(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    rx: &mut mpsc::Receiver<Out>,
    first: Out,
    batch: usize,
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
        if written < batch {
            next = rx.try_recv().ok();
        }
    }
    sink.flush().await.is_ok()
}
