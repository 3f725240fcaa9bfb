//! The WebSocket endpoint `GET /v1/live/ws` and the per-connection task.
//!
//! Query parameters choose the role: `code` (required) plus one of
//! `host_token` (the host), `resume` (a player rejoining), `token` (a
//! logged-in player; nickname = username) or `nickname` (a guest). The
//! upgrade always succeeds when `code` is present; a refused join is an
//! error frame followed by a close code, because browsers cannot read the
//! HTTP status of a failed upgrade.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use sdk::live::{close, ClientMsg, ErrorCode, ServerMsg, MAX_CLIENT_FRAME};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, Notify};

use super::actor::fanout::{encode, ConnTx, Out, CONN_QUEUE, HOST_QUEUE};
use super::actor::{describe, Cmd};
use super::service::{LiveService, SessionHandle};

/// Query string of the WebSocket URL.
#[derive(Debug, Deserialize)]
pub struct WsParams {
    /// Join code.
    pub code: String,
    /// Guest nickname.
    pub nickname: Option<String>,
    /// Login token (players with an account).
    pub token: Option<String>,
    /// Resume token.
    pub resume: Option<String>,
    /// Host secret from session creation.
    pub host_token: Option<String>,
}

/// Who a connection is.
#[derive(Debug, Clone, Copy)]
enum Who {
    Host,
    Player(u64),
}

/// `GET /v1/live/ws`: upgrades and runs the connection.
pub async fn ws_handler(
    State(live): State<Arc<LiveService>>,
    Query(params): Query<WsParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        // Client frames are tiny; small buffers keep 10k sockets cheap.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(512 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| connection(live, params, socket))
}

async fn refuse(mut socket: WebSocket, code: ErrorCode, close_code: u16) {
    let msg = ServerMsg::Error {
        code,
        message: describe(code).into(),
        req: None,
    };
    let _ = socket.send(Message::Text(encode(&msg))).await;
    let frame = CloseFrame {
        code: close_code,
        reason: Utf8Bytes::from_static("join refused"),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn attach(
    live: &LiveService,
    handle: &SessionHandle,
    params: &WsParams,
    conn: ConnTx,
) -> Result<Who, ErrorCode> {
    let tx = &handle.tx;
    if let Some(host_token) = &params.host_token {
        if handle.host_token.is_empty() || host_token != &handle.host_token {
            return Err(ErrorCode::Unauthorized);
        }
        let (reply, rx) = oneshot::channel();
        tx.send(Cmd::Host { conn, reply })
            .await
            .map_err(|_| ErrorCode::Finished)?;
        rx.await.map_err(|_| ErrorCode::Finished)??;
        return Ok(Who::Host);
    }
    let (reply, rx) = oneshot::channel();
    let cmd = if let Some(token) = &params.resume {
        Cmd::Resume {
            token: token.clone(),
            conn,
            reply,
        }
    } else if let Some(token) = &params.token {
        let account = live
            .auth()
            .resolve(token)
            .await
            .ok_or(ErrorCode::Unauthorized)?;
        Cmd::Join {
            nickname: account.username,
            account_id: Some(account.id),
            conn,
            reply,
        }
    } else if let Some(nick) = &params.nickname {
        Cmd::Join {
            nickname: nick.clone(),
            account_id: None,
            conn,
            reply,
        }
    } else {
        return Err(ErrorCode::BadNickname);
    };
    tx.send(cmd).await.map_err(|_| ErrorCode::Finished)?;
    let id = rx.await.map_err(|_| ErrorCode::Finished)??;
    Ok(Who::Player(id))
}

async fn connection(live: Arc<LiveService>, params: WsParams, socket: WebSocket) {
    let Some(handle) = live.session(&params.code).filter(|h| h.id != 0) else {
        return refuse(socket, ErrorCode::UnknownSession, close::UNKNOWN_SESSION).await;
    };
    // The host gets a roster frame per join: give it room for a burst of
    // thousands of joins; players get the normal bound.
    let capacity = if params.host_token.is_some() {
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
    let who = match attach(&live, &handle, &params, conn).await {
        Ok(who) => who,
        Err(code) => {
            let close_code = match code {
                ErrorCode::Finished => close::SESSION_FINISHED,
                _ => close::JOIN_REFUSED,
            };
            return refuse(socket, code, close_code).await;
        }
    };
    metrics::gauge!("live_connections").increment(1.0);
    let player = match who {
        Who::Player(p) => Some(p),
        Who::Host => None,
    };
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Frame(f)) => {
                    if sink.send(Message::Text(f)).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
            _ = kill.notified() => {
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
                            if handle.tx.send(Cmd::Msg { player, msg }).await.is_err() {
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
    let _ = handle.tx.send(Cmd::Detach { conn_id, player }).await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
