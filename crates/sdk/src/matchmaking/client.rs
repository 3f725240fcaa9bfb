//! [`MatchClient`]: one player's place in the quick-match queue.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{
    GhostOffer, MatchClientMsg, MatchErrorCode, MatchServerMsg, Matched, QueueRequest, QueueStatus,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why queueing did not give a match.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// The URL is not usable.
    #[error("bad url: {0}")]
    Url(String),
    /// The connection failed or dropped.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The server refused the request.
    #[error("refused: {code:?}: {message}")]
    Refused {
        /// Error code.
        code: MatchErrorCode,
        /// Explanation.
        message: String,
    },
    /// Nobody compatible within the wait bound.
    #[error("no match within the wait bound ({waited_ms} ms)")]
    Timeout {
        /// Time waited (ms).
        waited_ms: u64,
    },
    /// The player left the queue.
    #[error("left the queue")]
    Left,
    /// The wait bound passed and a ghost is offered (from
    /// [`MatchClient::wait`]): the client may still take it with
    /// [`MatchClient::accept_ghost`], or [`MatchClient::leave`].
    #[error("no match within the wait bound; a ghost of {} is offered", .0.nickname)]
    GhostOffered(GhostOffer),
    /// The server sent something that is not protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// The queue socket's URL for a gateway base URL.
///
/// ```
/// use livequiz_sdk::matchmaking::match_ws_url;
/// assert_eq!(match_ws_url("http://127.0.0.1:8080/").unwrap(), "ws://127.0.0.1:8080/v1/match/ws");
/// ```
pub fn match_ws_url(base_url: &str) -> Result<String, MatchError> {
    let base = base_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_string()
    } else {
        return Err(MatchError::Url(format!(
            "{base_url:?} is not an http(s) or ws(s) URL"
        )));
    };
    Ok(format!("{base}/v1/match/ws"))
}

/// A player waiting in the queue. Dropping it leaves the queue.
pub struct MatchClient {
    ws: Socket,
    status: QueueStatus,
}

impl MatchClient {
    /// Connects, queues with `request` (its token replaced by `token`) and
    /// returns once the server confirmed the place in the queue.
    pub async fn queue(
        base_url: &str,
        token: &str,
        mut request: QueueRequest,
    ) -> Result<MatchClient, MatchError> {
        let url = match_ws_url(base_url)?;
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| MatchError::Connect(e.to_string()))?;
        token.clone_into(&mut request.token);
        send(&mut ws, &MatchClientMsg::Queue(request)).await?;
        match next(&mut ws).await? {
            MatchServerMsg::Queued(status) => Ok(MatchClient { ws, status }),
            other => Err(unexpected(other)),
        }
    }

    /// The queue's latest status for this player.
    pub fn status(&self) -> &QueueStatus {
        &self.status
    }

    /// The next frame: a status update (also kept in [`MatchClient::status`]),
    /// the match, or the end of the wait.
    pub async fn next(&mut self) -> Result<MatchServerMsg, MatchError> {
        let msg = next(&mut self.ws).await?;
        if let MatchServerMsg::Queued(s) = &msg {
            self.status = s.clone();
        }
        Ok(msg)
    }

    /// Waits for the match (status updates are taken along the way).
    pub async fn wait(&mut self) -> Result<Matched, MatchError> {
        loop {
            match self.next().await? {
                MatchServerMsg::Queued(_) => {}
                MatchServerMsg::Matched(m) => return Ok(m),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Waits for the match or, at the wait bound, a ghost offer
    /// (`Err(offer)`; answer it with [`MatchClient::accept_ghost`] or
    /// [`MatchClient::leave`]).
    pub async fn wait_or_ghost(&mut self) -> Result<Result<Matched, GhostOffer>, MatchError> {
        loop {
            match self.next().await? {
                MatchServerMsg::Queued(_) => {}
                MatchServerMsg::Matched(m) => return Ok(Ok(m)),
                MatchServerMsg::GhostOffer(g) => return Ok(Err(g)),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Takes the ghost offered (see [`MatchClient::wait_or_ghost`]): the
    /// duel against the recorded game, to join like any match.
    pub async fn accept_ghost(mut self) -> Result<Matched, MatchError> {
        send(&mut self.ws, &MatchClientMsg::AcceptGhost).await?;
        loop {
            match next(&mut self.ws).await? {
                MatchServerMsg::Queued(_) | MatchServerMsg::GhostOffer(_) => {}
                MatchServerMsg::Matched(m) => return Ok(m),
                other => return Err(unexpected(other)),
            }
        }
    }

    /// Leaves the queue; `Ok(None)` when the server confirmed it, or the
    /// match if one formed before the request arrived.
    pub async fn leave(mut self) -> Result<Option<Matched>, MatchError> {
        send(&mut self.ws, &MatchClientMsg::Leave).await?;
        loop {
            match next(&mut self.ws).await? {
                MatchServerMsg::Queued(_) | MatchServerMsg::GhostOffer(_) => {}
                MatchServerMsg::Left => return Ok(None),
                MatchServerMsg::Matched(m) => return Ok(Some(m)),
                other => return Err(unexpected(other)),
            }
        }
    }
}

fn unexpected(msg: MatchServerMsg) -> MatchError {
    match msg {
        MatchServerMsg::Error { code, message } => MatchError::Refused { code, message },
        MatchServerMsg::Timeout { waited_ms } => MatchError::Timeout { waited_ms },
        MatchServerMsg::Left => MatchError::Left,
        MatchServerMsg::GhostOffer(g) => MatchError::GhostOffered(g),
        other => MatchError::Protocol(format!("unexpected {other:?}")),
    }
}

async fn send(ws: &mut Socket, msg: &MatchClientMsg) -> Result<(), MatchError> {
    let text = serde_json::to_string(msg).map_err(|e| MatchError::Protocol(e.to_string()))?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| MatchError::Connect(e.to_string()))
}

async fn next(ws: &mut Socket) -> Result<MatchServerMsg, MatchError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .map_err(|e| MatchError::Protocol(format!("{e}: {t}")))
            }
            Some(Ok(Message::Close(f))) => {
                return Err(MatchError::Connect(format!("closed: {f:?}")))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(MatchError::Connect(e.to_string())),
            None => return Err(MatchError::Connect("closed".into())),
        }
    }
}
