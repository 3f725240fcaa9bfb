//! The queue socket of one player (`GET /v1/match/ws`): the first frame
//! queues (with the login token), then status frames every second until the
//! match, a leave, the wait bound, or the socket dropping (which leaves the
//! queue). A duel ticket that waited `ghost_after_ms` is offered a ghost
//! when there is one (out of the queue; the socket then waits for
//! `accept_ghost` or `leave`). Frames are `livequiz_sdk::matchmaking`'s.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use livequiz_sdk::matchmaking::{
    GhostOffer, MatchClientMsg, MatchErrorCode, MatchServerMsg, QueueStatus,
};

use super::service::{Matchmaker, Place, QueueError};
use super::store::GhostRow;
use crate::error::ApiError;

/// How long the first frame may take.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Close code of a normal end (matched, left, timed out).
const NORMAL: u16 = 1000;
/// Close code of a refused request.
const POLICY: u16 = 1008;

fn frame(msg: &MatchServerMsg) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(msg).unwrap_or_else(|_| "{}".into()),
    ))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

async fn refuse(mut socket: WebSocket, code: MatchErrorCode, message: String) {
    let _ = socket
        .send(frame(&MatchServerMsg::Error { code, message }))
        .await;
    close(&mut socket, POLICY, "refused").await;
}

fn bad(message: impl Into<String>) -> MatchServerMsg {
    MatchServerMsg::Error {
        code: MatchErrorCode::BadMessage,
        message: message.into(),
    }
}

/// Serves one queue socket.
pub async fn serve(mm: Arc<Matchmaker>, mut socket: WebSocket) {
    let expected = r#"{"type":"queue","token":"..","topic":null,"size":2}"#;
    let first = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Err(_) => {
            return refuse(
                socket,
                MatchErrorCode::BadMessage,
                format!("no queue frame within 10 s; send {expected}"),
            )
            .await
        }
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            return refuse(
                socket,
                MatchErrorCode::BadMessage,
                format!("the first frame must be JSON text: {expected}"),
            )
            .await
        }
        Ok(_) => return,
    };
    let req = match serde_json::from_str::<MatchClientMsg>(first.as_str()) {
        Ok(MatchClientMsg::Queue(req)) => req,
        Ok(MatchClientMsg::Leave | MatchClientMsg::AcceptGhost) => {
            return refuse(
                socket,
                MatchErrorCode::BadMessage,
                format!("not in the queue; the first frame queues: {expected}"),
            )
            .await
        }
        Err(e) => {
            return refuse(
                socket,
                MatchErrorCode::BadMessage,
                format!("the first frame must be a queue request ({e}): {expected}"),
            )
            .await
        }
    };
    let user = match mm.live_auth().resolve(&req.token).await {
        Ok(u) => u,
        Err(ApiError::Unauthorized(m)) => {
            return refuse(socket, MatchErrorCode::Unauthorized, m).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "matchmaking: token check failed");
            return refuse(
                socket,
                MatchErrorCode::Internal,
                "the token could not be checked; try again".into(),
            )
            .await;
        }
    };
    let place = match mm.enqueue(user.id, req.topic, req.size).await {
        Ok(p) => p,
        Err(QueueError::AlreadyQueued) => {
            return refuse(
                socket,
                MatchErrorCode::AlreadyQueued,
                "this account already waits in the queue (another socket); leave there first"
                    .into(),
            )
            .await
        }
        Err(QueueError::Invalid(m)) => {
            return refuse(socket, MatchErrorCode::BadMessage, m).await;
        }
        Err(QueueError::Store(e)) => {
            tracing::warn!(error = %e, "matchmaking: enqueue failed");
            return refuse(
                socket,
                MatchErrorCode::Internal,
                "the queue is unavailable; try again".into(),
            )
            .await;
        }
    };
    waiting(&mm, socket, place).await;
}

fn status(mm: &Matchmaker, place: &Place) -> (QueueStatus, u64) {
    let settings = mm.settings();
    let waited = (mm.now() - place.row.enqueued_at).max(0) as u64;
    (
        QueueStatus {
            ticket: place.row.ticket.clone(),
            rating: place.row.rating,
            waited_ms: waited,
            estimated_wait_ms: mm.estimate(place.row.size).max(waited),
            rating_gap: settings.curve.gap(waited),
            max_wait_ms: settings.curve.max_wait_ms,
        },
        settings.curve.max_wait_ms,
    )
}

async fn waiting(mm: &Arc<Matchmaker>, mut socket: WebSocket, mut place: Place) {
    let (first, _) = status(mm, &place);
    if socket
        .send(frame(&MatchServerMsg::Queued(first)))
        .await
        .is_err()
    {
        mm.release(&place.row).await;
        return;
    }
    let mut every = tokio::time::interval(mm.settings().status_every);
    every.tick().await;
    // Once the player asked to leave (or timed out) and a match had claimed
    // the ticket first, only the match is awaited.
    let mut leaving: Option<MatchServerMsg> = None;
    let mut ghost_asks = 0u8;
    loop {
        tokio::select! {
            m = place.matched.recv() => {
                if let Some(m) = m {
                    let _ = socket.send(frame(&MatchServerMsg::Matched(m))).await;
                    close(&mut socket, NORMAL, "matched").await;
                }
                break;
            }
            _ = every.tick(), if leaving.is_none() => {
                let (s, max) = status(mm, &place);
                // Asked at `ghost_after_ms` and, when that came before the bound, once more
                // at the bound.
                let ghost_at = mm.settings().ghost_after_ms.unwrap_or(max).min(max);
                let ask = match ghost_asks {
                    0 => s.waited_ms >= ghost_at,
                    1 => ghost_at < max && s.waited_ms >= max,
                    _ => false,
                };
                if ask && place.row.size == 2 {
                    ghost_asks += 1;
                    match ghost(mm, &place).await {
                        Ok(Some((g, rating))) => match mm.leave(&place.row).await {
                            Ok(true) => {
                                offer(mm, &mut socket, &place, g, rating, s.waited_ms).await;
                                break;
                            }
                            // A match claimed the ticket first: it is delivered.
                            Ok(false) => continue,
                            Err(e) => tracing::warn!(error = %e, "matchmaking: ghost offer failed"),
                        },
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "matchmaking: ghost lookup failed"),
                    }
                }
                if s.waited_ms >= max {
                    match mm.leave(&place.row).await {
                        Ok(true) => {
                            let _ = socket
                                .send(frame(&MatchServerMsg::Timeout { waited_ms: s.waited_ms }))
                                .await;
                            close(&mut socket, NORMAL, "timeout").await;
                            break;
                        }
                        Ok(false) => leaving = Some(MatchServerMsg::Timeout { waited_ms: s.waited_ms }),
                        Err(e) => tracing::warn!(error = %e, "matchmaking: timeout failed"),
                    }
                    continue;
                }
                if socket.send(frame(&MatchServerMsg::Queued(s))).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<MatchClientMsg>(t.as_str()) {
                    Ok(MatchClientMsg::Leave) => match mm.leave(&place.row).await {
                        Ok(true) => {
                            let _ = socket.send(frame(&MatchServerMsg::Left)).await;
                            close(&mut socket, NORMAL, "left").await;
                            break;
                        }
                        // A match claimed the ticket first: it is delivered.
                        Ok(false) => leaving = Some(MatchServerMsg::Left),
                        Err(e) => {
                            tracing::warn!(error = %e, "matchmaking: leave failed");
                            let _ = socket.send(frame(&MatchServerMsg::Error {
                                code: MatchErrorCode::Internal,
                                message: "could not leave the queue; try again".into(),
                            })).await;
                        }
                    },
                    Ok(MatchClientMsg::Queue(_)) => {
                        let _ = socket.send(frame(&bad("already in the queue; send leave first"))).await;
                    }
                    Ok(MatchClientMsg::AcceptGhost) => {
                        let _ = socket.send(frame(&bad("no ghost was offered; wait for ghost_offer"))).await;
                    }
                    Err(e) => {
                        let _ = socket.send(frame(&bad(format!(
                            "not a queue message ({e}): {{\"type\":\"leave\"}}"
                        )))).await;
                    }
                },
                Some(Ok(Message::Binary(_))) => {
                    let _ = socket.send(frame(&bad("frames are JSON text"))).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // Closed or broken: the player dropped and leaves the queue.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
        }
    }
    let _ = leaving;
    mm.release(&place.row).await;
}

/// The ghost to offer, with the recorded player's current rating.
async fn ghost(
    mm: &Matchmaker,
    place: &Place,
) -> Result<Option<(GhostRow, f64)>, crate::store::StoreError> {
    let Some(g) = mm.ghost_for(&place.row).await? else {
        return Ok(None);
    };
    let rating = mm.rating_of(g.user_id).await?;
    Ok(Some((g, rating)))
}

/// Offers the ghost `g` (the ticket is out of the queue) and waits for the
/// player's answer, at most `ghost_offer_for`.
async fn offer(
    mm: &Matchmaker,
    socket: &mut WebSocket,
    place: &Place,
    g: GhostRow,
    rating: f64,
    waited_ms: u64,
) {
    let expires = mm.settings().ghost_offer_for;
    let msg = MatchServerMsg::GhostOffer(GhostOffer {
        user_id: g.user_id,
        nickname: g.nickname.clone(),
        rating,
        waited_ms,
        expires_ms: expires.as_millis() as u64,
    });
    if socket.send(frame(&msg)).await.is_err() {
        return;
    }
    let until = tokio::time::Instant::now() + expires;
    loop {
        let msg = match tokio::time::timeout_at(until, socket.recv()).await {
            Err(_) => {
                let _ = socket
                    .send(frame(&MatchServerMsg::Timeout { waited_ms }))
                    .await;
                close(socket, NORMAL, "timeout").await;
                return;
            }
            Ok(m) => m,
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                match serde_json::from_str::<MatchClientMsg>(t.as_str()) {
                    Ok(MatchClientMsg::AcceptGhost) => {
                        match mm.start_ghost(&place.row, &g, rating).await {
                            Ok(m) => {
                                let _ = socket.send(frame(&MatchServerMsg::Matched(m))).await;
                                close(socket, NORMAL, "matched").await;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "matchmaking: a ghost duel could not start");
                                let _ = socket
                                    .send(frame(&MatchServerMsg::Error {
                                        code: MatchErrorCode::Internal,
                                        message: "the ghost duel could not start; queue again"
                                            .into(),
                                    }))
                                    .await;
                                close(socket, NORMAL, "failed").await;
                            }
                        }
                        return;
                    }
                    Ok(MatchClientMsg::Leave) => {
                        let _ = socket.send(frame(&MatchServerMsg::Left)).await;
                        close(socket, NORMAL, "left").await;
                        return;
                    }
                    Ok(MatchClientMsg::Queue(_)) => {
                        let _ = socket
                            .send(frame(&bad(
                                "a ghost is offered: send accept_ghost or leave",
                            )))
                            .await;
                    }
                    Err(e) => {
                        let _ = socket
                        .send(frame(&bad(format!(
                            "not a queue message ({e}): {{\"type\":\"accept_ghost\"}} or {{\"type\":\"leave\"}}"
                        ))))
                        .await;
                    }
                }
            }
            Some(Ok(Message::Binary(_))) => {
                let _ = socket.send(frame(&bad("frames are JSON text"))).await;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
        }
    }
}
