//! [`LiveClient`]: a WebSocket client for live sessions with automatic
//! reconnect and resume.
//!
//! The client runs one background task per connection. It delivers
//! [`LiveEvent`]s in order, drops leaderboard and rank frames older than the
//! newest version it delivered (a reveal's version counts: it carries the
//! player's standing), and when the connection drops for any reason other
//! than a final close code it reconnects with the resume token (players) or
//! the host token (hosts), with exponential backoff, and delivers
//! [`LiveEvent::Reconnected`] with the fresh welcome (same player, same
//! score, current question). After [`close::RECONNECT_NOW`] (the session's
//! gateway is shutting down and handed it over) the first attempt is made
//! at once, without the backoff. A rejoin refused with `internal` (the
//! session's gateway is being replaced) is retried too; any other refusal
//! ends the client.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::protocol::{
    close, Capabilities, ClientMsg, ErrorCode, Hello, HelloFrame, JoinHello, ServerMsg, Welcome,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to join; sent as the connection's first frame ([`Hello`]), never in
/// the URL.
///
/// ```
/// use livequiz_sdk::live::Credentials;
/// let guest = Credentials::Guest("ann".into());
/// let resume = Credentials::Resume("token-from-an-earlier-welcome".into());
/// assert_ne!(guest, resume);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A guest with a nickname.
    Guest(String),
    /// A logged-in user's bearer token (nickname = username).
    Account(String),
    /// The host secret from session creation.
    Host(String),
    /// A resume token from an earlier welcome.
    Resume(String),
}

impl Credentials {
    /// The first frame that presents these credentials.
    ///
    /// ```
    /// use livequiz_sdk::live::{Credentials, Hello};
    /// let first = Credentials::Host("secret".into()).hello();
    /// assert!(matches!(first, Hello::Host { .. }));
    /// ```
    pub fn hello(&self) -> Hello {
        match self {
            Credentials::Guest(nickname) => Hello::Join(JoinHello {
                nickname: Some(nickname.clone()),
                ..JoinHello::default()
            }),
            Credentials::Account(token) => Hello::Join(JoinHello {
                token: Some(token.clone()),
                ..JoinHello::default()
            }),
            Credentials::Host(host_token) => Hello::Host {
                host_token: host_token.clone(),
            },
            Credentials::Resume(resume_token) => Hello::Resume {
                resume_token: resume_token.clone(),
            },
        }
    }
}

/// Client knobs. Start from [`LiveOptions::default`] and change what you need with the setters;
/// new knobs may be added in minor releases.
///
/// ```
/// use std::time::Duration;
/// use livequiz_sdk::live::LiveOptions;
/// let options = LiveOptions::default()
///     .reconnect(true)
///     .max_attempts(5)
///     .backoff(Duration::from_millis(250))
///     .event_queue(64);
/// assert_eq!(options.max_attempts, 5);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveOptions {
    /// Reconnect automatically (default true).
    pub reconnect: bool,
    /// Attempts per outage before giving up (default 20).
    pub max_attempts: u32,
    /// First backoff delay; doubles up to 2 s (default 100 ms). Each wait
    /// is drawn from the upper half of the current delay (`[d/2, d)`), so
    /// thousands of clients dropped at once do not retry in lockstep. After
    /// a close with [`close::RECONNECT_NOW`] the first attempt does not
    /// wait.
    pub backoff: Duration,
    /// Capacity of the event queue to the application (default 1024).
    pub event_queue: usize,
    /// Declare [`Capabilities::reads_reveal_standing`] on every connection
    /// (default true): the player's standing after a question arrives in the
    /// `reveal` frame ([`PlayerResult`](super::PlayerResult) `rank`,
    /// `percentile`, `players`, `score`), and the gateway sends no `rank`
    /// frame that only repeats it. Set it to false if your code reads its
    /// rank from [`ServerMsg::Rank`] frames only.
    pub reads_reveal_standing: bool,
}

impl LiveOptions {
    /// Whether to reconnect automatically.
    ///
    /// ```
    /// assert!(!livequiz_sdk::live::LiveOptions::default().reconnect(false).reconnect);
    /// ```
    pub fn reconnect(mut self, on: bool) -> Self {
        self.reconnect = on;
        self
    }

    /// Attempts per outage before giving up.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::live::LiveOptions::default().max_attempts(3).max_attempts, 3);
    /// ```
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// First backoff delay (doubles up to 2 s, jittered).
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = livequiz_sdk::live::LiveOptions::default().backoff(Duration::from_millis(10));
    /// assert_eq!(o.backoff, Duration::from_millis(10));
    /// ```
    pub fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// Capacity of the event queue to the application.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::live::LiveOptions::default().event_queue(8).event_queue, 8);
    /// ```
    pub fn event_queue(mut self, capacity: usize) -> Self {
        self.event_queue = capacity;
        self
    }

    /// Whether to declare that this client reads its standing from the
    /// reveal (see [`LiveOptions::reads_reveal_standing`]).
    ///
    /// ```
    /// let o = livequiz_sdk::live::LiveOptions::default().reads_reveal_standing(false);
    /// assert!(!o.reads_reveal_standing);
    /// ```
    pub fn reads_reveal_standing(mut self, on: bool) -> Self {
        self.reads_reveal_standing = on;
        self
    }

    /// What the first frame of each connection declares.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads_reveal_standing: self.reads_reveal_standing,
        }
    }
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            reconnect: true,
            max_attempts: 20,
            backoff: Duration::from_millis(100),
            event_queue: 1024,
            reads_reveal_standing: true,
        }
    }
}

/// Something that happened on the connection.
///
/// See [`LiveClient::next`] for a loop over events.
///
/// ```
/// use livequiz_sdk::live::LiveEvent;
/// let e = LiveEvent::Closed { code: Some(4000), reason: String::new() };
/// assert!(matches!(e, LiveEvent::Closed { code: Some(4000), .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LiveEvent {
    /// A server message (stale leaderboard frames already dropped).
    Message(ServerMsg),
    /// The connection dropped; the client is reconnecting.
    Disconnected,
    /// Reconnected and resumed; the new welcome has the current state.
    Reconnected(Welcome),
    /// The connection ended for good (`code` is the close code, if any).
    Closed {
        /// Close code (see [`close`]).
        code: Option<u16>,
        /// Close reason or error text.
        reason: String,
    },
}

/// Errors of [`LiveClient`].
///
/// ```no_run
/// # async fn demo() {
/// use livequiz_sdk::live::{Credentials, LiveClient, LiveError};
/// match LiveClient::connect("http://127.0.0.1:8080", "000000", Credentials::Guest("ann".into())).await {
///     Err(LiveError::Refused { code, message }) => println!("refused: {code:?}: {message}"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("{e}"),
///     Ok(_) => println!("joined"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The URL is not usable.
    #[error("bad url: {0}")]
    Url(String),
    /// The TCP/TLS/WebSocket connection failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The server refused the join with an error frame.
    #[error("join refused: {code:?}: {message}")]
    Refused {
        /// Error code.
        code: ErrorCode,
        /// Explanation.
        message: String,
    },
    /// The server sent something that is not protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The client's connection task has ended.
    #[error("the connection is closed")]
    Closed,
}

impl LiveError {
    /// Whether trying again later may succeed.
    ///
    /// ```
    /// use livequiz_sdk::live::LiveError;
    /// assert!(LiveError::Connect("refused".into()).is_retryable());
    /// assert!(!LiveError::Closed.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, LiveError::Connect(_))
    }
}

/// A live-session connection.
///
/// ```no_run
/// # async fn demo() -> Result<(), livequiz_sdk::live::LiveError> {
/// use livequiz_sdk::live::{Credentials, LiveClient, ServerMsg};
/// let mut player = LiveClient::connect("http://127.0.0.1:8080", "123456", Credentials::Guest("ann".into())).await?;
/// while let Some(msg) = player.next_message().await {
///     if let ServerMsg::Question(q) = msg {
///         player.answer(q.index, vec![0], None)?;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LiveClient {
    tx: mpsc::UnboundedSender<ClientMsg>,
    raw: mpsc::UnboundedSender<String>,
    rx: mpsc::Receiver<LiveEvent>,
    welcome: Welcome,
}

/// Builds the WebSocket URL of session `code` from the gateway's base URL. It
/// carries only the join code: credentials go in the first frame.
///
/// ```
/// let url = livequiz_sdk::live::ws_url("https://quiz.example", "123456").unwrap();
/// assert_eq!(url, "wss://quiz.example/v1/live/ws?code=123456");
/// ```
pub fn ws_url(base_url: &str, code: &str) -> Result<String, LiveError> {
    let base = base_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_string()
    } else {
        return Err(LiveError::Url(format!(
            "{base_url:?} is not an http(s) or ws(s) URL"
        )));
    };
    Ok(format!("{base}/v1/live/ws?code={}", encode(code)))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Connects, sends `hello` as the first frame and waits for the welcome.
async fn open(url: &str, hello: &HelloFrame) -> Result<(Socket, Welcome), LiveError> {
    let mut cfg = WebSocketConfig::default();
    // Frames are under 1 KiB; tungstenite zero-fills the whole read buffer
    // before every read, so a small one is cheaper (10,000 clients in one
    // load generator read tens of thousands of frames a second).
    cfg.read_buffer_size = 4 * 1024;
    cfg.write_buffer_size = 4 * 1024;
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(cfg), true)
        .await
        .map_err(|e| LiveError::Connect(e.to_string()))?;
    let first = serde_json::to_string(hello).map_err(|e| LiveError::Protocol(e.to_string()))?;
    ws.send(Message::text(first))
        .await
        .map_err(|e| LiveError::Connect(e.to_string()))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return match serde_json::from_str::<ServerMsg>(t.as_str()) {
                    Ok(ServerMsg::Welcome(w)) => Ok((ws, w)),
                    Ok(ServerMsg::Error { code, message, .. }) => {
                        Err(LiveError::Refused { code, message })
                    }
                    Ok(other) => Err(LiveError::Protocol(format!(
                        "expected welcome, got {other:?}"
                    ))),
                    Err(e) => Err(LiveError::Protocol(e.to_string())),
                };
            }
            Some(Ok(Message::Close(f))) => {
                return Err(LiveError::Connect(format!("closed before welcome: {f:?}")));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(LiveError::Connect(e.to_string())),
            None => return Err(LiveError::Connect("closed before welcome".into())),
        }
    }
}

/// Close codes after which reconnecting cannot help.
fn is_final(code: u16) -> bool {
    matches!(
        code,
        close::SESSION_FINISHED
            | close::REMOVED
            | close::JOIN_REFUSED
            | close::UNKNOWN_SESSION
            | close::REPLACED
    )
}

impl LiveClient {
    /// Connects and joins; returns after the welcome frame.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), livequiz_sdk::live::LiveError> {
    /// use livequiz_sdk::live::{Credentials, LiveClient};
    /// let player = LiveClient::connect("https://quiz.example", "123456", Credentials::Guest("ann".into())).await?;
    /// println!("player {:?} in phase {:?}", player.welcome().player_id, player.welcome().phase);
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        base_url: &str,
        code: &str,
        creds: Credentials,
    ) -> Result<LiveClient, LiveError> {
        Self::connect_with(base_url, code, creds, LiveOptions::default()).await
    }

    /// [`LiveClient::connect`] with options.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), livequiz_sdk::live::LiveError> {
    /// use livequiz_sdk::live::{Credentials, LiveClient, LiveOptions};
    /// let options = LiveOptions::default().max_attempts(5);
    /// let host = LiveClient::connect_with("http://127.0.0.1:8080", "123456", Credentials::Host("secret".into()), options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(
        base_url: &str,
        code: &str,
        creds: Credentials,
        options: LiveOptions,
    ) -> Result<LiveClient, LiveError> {
        let url = ws_url(base_url, code)?;
        // Declared on every connection, the first and each resume.
        let capabilities = options.capabilities();
        let frame = |hello: Hello| HelloFrame {
            hello,
            capabilities,
        };
        let (ws, welcome) = open(&url, &frame(creds.hello())).await?;
        // Reconnect as the same identity: players resume, hosts re-present the host token.
        let again = match (&creds, &welcome.resume_token) {
            (Credentials::Host(_), _) => Some((url, frame(creds.hello()))),
            (_, Some(token)) => Some((url, frame(Credentials::Resume(token.clone()).hello()))),
            _ => None,
        };
        let (tx, out_rx) = mpsc::unbounded_channel::<ClientMsg>();
        let (raw, raw_rx) = mpsc::unbounded_channel::<String>();
        let (ev_tx, rx) = mpsc::channel(options.event_queue.max(1));
        tokio::spawn(run(
            ws,
            again,
            options,
            Outgoing {
                msgs: out_rx,
                raw: raw_rx,
            },
            ev_tx,
        ));
        Ok(LiveClient {
            tx,
            raw,
            rx,
            welcome,
        })
    }

    /// The welcome of the first connection.
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// let w = player.welcome();
    /// println!("protocol {}, {} players, score {}", w.protocol, w.players, w.score);
    /// # Ok(()) }
    /// ```
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Sends a message (queued while reconnecting).
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// use livequiz_sdk::live::ClientMsg;
    /// player.send(ClientMsg::Ping)?; // answered with a pong
    /// # Ok(()) }
    /// ```
    pub fn send(&self, msg: ClientMsg) -> Result<(), LiveError> {
        self.tx.send(msg).map_err(|_| LiveError::Closed)
    }

    /// Sends a raw text frame (for testing how the gateway handles malformed input).
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// player.send_raw("{not json")?; // the gateway answers with an error frame, nothing changes
    /// # Ok(()) }
    /// ```
    pub fn send_raw(&self, text: impl Into<String>) -> Result<(), LiveError> {
        self.raw.send(text.into()).map_err(|_| LiveError::Closed)
    }

    /// Answers question `question` with `choices`; `req` comes back in the ack.
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// use livequiz_sdk::live::ServerMsg;
    /// if let Some(ServerMsg::Question(q)) = player.next_message().await {
    ///     player.answer(q.index, vec![0], Some(1))?; // choice 0; the ack echoes req 1
    /// }
    /// # Ok(()) }
    /// ```
    pub fn answer(
        &self,
        question: u32,
        choices: Vec<u32>,
        req: Option<u64>,
    ) -> Result<(), LiveError> {
        self.send(ClientMsg::Answer {
            question,
            choices,
            req,
        })
    }

    /// Host: gives player `player_id` extra time on the next questions,
    /// `percent` of each question's limit (100 = none, 150 = x1.5, up to
    /// [`EXTRA_TIME_MAX_PERCENT`](super::protocol::EXTRA_TIME_MAX_PERCENT)).
    /// Confirmed with a `roster` frame whose `event` is `extra_time`; a bad
    /// percent gets an `error` frame with `bad_extra_time`.
    ///
    /// ```no_run
    /// # async fn demo(host: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// host.extra_time(7, 150)?; // player 7 gets 1.5 times each time limit
    /// # Ok(()) }
    /// ```
    pub fn extra_time(&self, player_id: u64, percent: u32) -> Result<(), LiveError> {
        self.send(ClientMsg::ExtraTime { player_id, percent })
    }

    /// The next event; `None` once the connection has ended for good and
    /// every event was read.
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// use livequiz_sdk::live::LiveEvent;
    /// while let Some(event) = player.next().await {
    ///     match event {
    ///         LiveEvent::Message(msg) => println!("{msg:?}"),
    ///         LiveEvent::Disconnected => println!("reconnecting..."),
    ///         LiveEvent::Reconnected(w) => println!("back, score {}", w.score),
    ///         LiveEvent::Closed { code, reason } => println!("closed {code:?}: {reason}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<LiveEvent> {
        self.rx.recv().await
    }

    /// The next server message, skipping connection events; `None` when closed.
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// while let Some(msg) = player.next_message().await {
    ///     println!("{msg:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_message(&mut self) -> Option<ServerMsg> {
        loop {
            match self.next().await? {
                LiveEvent::Message(m) => return Some(m),
                LiveEvent::Closed { .. } => return None,
                _ => continue,
            }
        }
    }

    /// Closes the connection (no reconnect).
    ///
    /// ```no_run
    /// # async fn demo(mut player: livequiz_sdk::live::LiveClient) -> Result<(), livequiz_sdk::live::LiveError> {
    /// player.close(); // no reconnect
    /// # Ok(()) }
    /// ```
    pub fn close(self) {
        drop(self);
    }
}

async fn run(
    mut ws: Socket,
    again: Option<(String, HelloFrame)>,
    options: LiveOptions,
    mut out_rx: Outgoing,
    events: mpsc::Sender<LiveEvent>,
) {
    let mut last_version = 0u64;
    loop {
        let ended = session(&mut ws, &mut out_rx, &events, &mut last_version).await;
        let (code, reason) = match ended {
            Ended::ByClient => {
                let _ = ws.close(None).await;
                return;
            }
            Ended::Close(code, reason) => (code, reason),
        };
        let retry = options.reconnect && again.is_some() && !code.is_some_and(is_final);
        if !retry {
            let _ = events.send(LiveEvent::Closed { code, reason }).await;
            return;
        }
        let _ = events.send(LiveEvent::Disconnected).await;
        let Some((url, hello)) = &again else { return };
        let mut delay = options.backoff;
        let mut attempt = 0;
        // A session handed over can be reached again right away.
        let mut wait = code != Some(close::RECONNECT_NOW);
        loop {
            attempt += 1;
            if wait {
                tokio::time::sleep(jittered(delay)).await;
            }
            wait = true;
            match open(url, hello).await {
                Ok((fresh, welcome)) => {
                    ws = fresh;
                    if events.send(LiveEvent::Reconnected(welcome)).await.is_err() {
                        return;
                    }
                    break;
                }
                // `internal` is transient (e.g. the session's gateway is
                // being replaced): keep trying like a failed connect.
                Err(LiveError::Refused { code, message }) if code != ErrorCode::Internal => {
                    let reason = format!("{code:?}: {message}");
                    let _ = events
                        .send(LiveEvent::Closed {
                            code: Some(close::JOIN_REFUSED),
                            reason,
                        })
                        .await;
                    return;
                }
                Err(e) if attempt >= options.max_attempts => {
                    let _ = events
                        .send(LiveEvent::Closed {
                            code: None,
                            reason: e.to_string(),
                        })
                        .await;
                    return;
                }
                Err(_) => delay = (delay * 2).min(Duration::from_secs(2)),
            }
        }
    }
}

/// A wait in `[delay / 2, delay)`, random per call (a fresh `RandomState`
/// is seeded from the OS per process and advanced per instance).
fn jittered(delay: Duration) -> Duration {
    use std::hash::BuildHasher;
    let half = delay / 2;
    let r = std::collections::hash_map::RandomState::new().hash_one(0u8);
    half + half.mul_f64((r >> 11) as f64 / (1u64 << 53) as f64)
}

/// What the application sends: typed messages and (tests) raw text.
struct Outgoing {
    msgs: mpsc::UnboundedReceiver<ClientMsg>,
    raw: mpsc::UnboundedReceiver<String>,
}

enum Ended {
    ByClient,
    Close(Option<u16>, String),
}

async fn session(
    ws: &mut Socket,
    out_rx: &mut Outgoing,
    events: &mpsc::Sender<LiveEvent>,
    last_version: &mut u64,
) -> Ended {
    loop {
        tokio::select! {
            out = out_rx.msgs.recv() => {
                let Some(msg) = out else { return Ended::ByClient };
                let text = serde_json::to_string(&msg).unwrap_or_default();
                if let Err(e) = ws.send(Message::text(text)).await {
                    return Ended::Close(None, e.to_string());
                }
            }
            Some(text) = out_rx.raw.recv() => {
                if let Err(e) = ws.send(Message::text(text)).await {
                    return Ended::Close(None, e.to_string());
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let msg = match serde_json::from_str::<ServerMsg>(t.as_str()) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "unparseable live frame ignored");
                            continue;
                        }
                    };
                    if !fresh(&msg, last_version) {
                        continue; // stale frame
                    }
                    if events.send(LiveEvent::Message(msg)).await.is_err() {
                        return Ended::ByClient;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = match frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                        None => (None, String::new()),
                    };
                    return Ended::Close(code, reason);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Close(None, e.to_string()),
                None => return Ended::Close(None, "connection lost".into()),
            }
        }
    }
}

/// Whether `msg` is delivered: a leaderboard or rank frame older than
/// `last_version` is not. A reveal is always delivered, and its version
/// counts too: the standing it carries is as of that version, so a push frame
/// built before it must not overwrite it.
fn fresh(msg: &ServerMsg, last_version: &mut u64) -> bool {
    match msg {
        ServerMsg::Leaderboard { version, .. } | ServerMsg::Rank { version, .. } => {
            if *version < *last_version {
                return false;
            }
            *last_version = *version;
        }
        ServerMsg::Reveal { version, .. } => *last_version = (*last_version).max(*version),
        _ => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reveal_outdates_older_push_frames() {
        let rank = |version| ServerMsg::Rank {
            version,
            rank: 1,
            score: 0,
            players: 1,
            changed_at: 0,
            pushed_at: 0,
            percentile: 100,
        };
        let reveal = |version| ServerMsg::Reveal {
            question: 0,
            correct: vec![],
            counts: vec![],
            result: None,
            version,
            changed_at: 0,
        };
        let mut last = 0;
        assert!(fresh(&rank(3), &mut last));
        assert!(fresh(&reveal(4), &mut last));
        // Built before the reveal, delivered after it: older than its standing.
        assert!(!fresh(&rank(3), &mut last));
        // The next push is newer.
        assert!(fresh(&rank(5), &mut last));
        // A reveal of an older server (version 0) is delivered and moves nothing.
        assert!(fresh(&reveal(0), &mut last));
        assert!(fresh(&rank(5), &mut last));
        assert!(!fresh(&rank(4), &mut last));
    }

    #[test]
    fn urls_carry_only_the_escaped_code() {
        let u = ws_url("http://127.0.0.1:8080/", "12 34&x").unwrap();
        assert_eq!(u, "ws://127.0.0.1:8080/v1/live/ws?code=12%2034%26x");
        let h = ws_url("https://q.example", "1").unwrap();
        assert_eq!(h, "wss://q.example/v1/live/ws?code=1");
        assert!(ws_url("ftp://x", "1").is_err());
    }

    #[test]
    fn credentials_become_first_frames() {
        let frame = |c: Credentials| serde_json::to_string(&c.hello()).unwrap();
        assert_eq!(
            frame(Credentials::Guest("ann".into())),
            r#"{"type":"join","nickname":"ann"}"#
        );
        assert_eq!(
            frame(Credentials::Account("t".into())),
            r#"{"type":"join","token":"t"}"#
        );
        assert_eq!(
            frame(Credentials::Host("h".into())),
            r#"{"type":"host","host_token":"h"}"#
        );
        assert_eq!(
            frame(Credentials::Resume("r".into())),
            r#"{"type":"resume","resume_token":"r"}"#
        );
    }

    /// A one-session server: each accepted connection reads the first
    /// frame, answers with a welcome and is then closed with the next code
    /// of `closes` (the last connection stays open). The first frames are
    /// reported on the returned channel.
    async fn server(closes: Vec<u16>) -> (String, mpsc::UnboundedReceiver<HelloFrame>) {
        use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (hellos, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut closes = closes.into_iter();
            let mut open = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                let Some(Ok(Message::Text(first))) = ws.next().await else {
                    continue;
                };
                let _ = hellos.send(serde_json::from_str::<HelloFrame>(first.as_str()).unwrap());
                let welcome = ServerMsg::Welcome(Welcome {
                    protocol: super::super::protocol::PROTOCOL_VERSION,
                    session_id: 1,
                    code: "123456".into(),
                    role: super::super::protocol::Role::Player,
                    player_id: Some(7),
                    nickname: Some("ann".into()),
                    resume_token: Some("r1".into()),
                    phase: super::super::protocol::Phase::Lobby,
                    question: None,
                    answered: false,
                    score: 0,
                    players: 1,
                    server_time: 0,
                    locked: false,
                    max_players: 10,
                    extra_time_percent: None,
                    roster: None,
                    answer_counts: None,
                });
                let text = serde_json::to_string(&welcome).unwrap();
                ws.send(Message::text(text)).await.unwrap();
                match closes.next() {
                    Some(code) => {
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: "".into(),
                        };
                        let _ = ws.close(Some(frame)).await;
                    }
                    None => open.push(ws),
                }
            }
        });
        (base, rx)
    }

    /// The client's next event (within 10 s).
    async fn event(c: &mut LiveClient) -> LiveEvent {
        tokio::time::timeout(Duration::from_secs(10), c.next())
            .await
            .expect("an event within 10 s")
            .expect("an event")
    }

    /// After "reconnect now" the client does not wait out its backoff (an
    /// hour here) before the first attempt; after "going away" it does.
    #[tokio::test]
    async fn reconnect_now_skips_the_backoff() {
        let (base, mut hellos) = server(vec![close::RECONNECT_NOW]).await;
        let options = LiveOptions {
            backoff: Duration::from_secs(3600),
            ..LiveOptions::default()
        };
        let mut c = LiveClient::connect_with(
            &base,
            "123456",
            Credentials::Guest("ann".into()),
            options.clone(),
        )
        .await
        .unwrap();
        let first = hellos.recv().await.unwrap();
        assert!(matches!(first.hello, Hello::Join(_)));
        // Declared on the join and again on the resume (it is per connection).
        assert!(first.capabilities.reads_reveal_standing);
        assert_eq!(event(&mut c).await, LiveEvent::Disconnected);
        match event(&mut c).await {
            LiveEvent::Reconnected(w) => assert_eq!(w.player_id, Some(7)),
            other => panic!("expected a reconnect, got {other:?}"),
        }
        let again = hellos.recv().await.unwrap();
        assert_eq!(again.hello, Credentials::Resume("r1".into()).hello());
        assert!(again.capabilities.reads_reveal_standing);

        let (base, mut hellos) = server(vec![close::GOING_AWAY]).await;
        let mut c = LiveClient::connect_with(
            &base,
            "123456",
            Credentials::Guest("ann".into()),
            options.reads_reveal_standing(false),
        )
        .await
        .unwrap();
        // An application that reads its rank from `rank` frames declares nothing.
        let first = hellos.recv().await.unwrap();
        assert!(first.capabilities.is_empty());
        assert_eq!(event(&mut c).await, LiveEvent::Disconnected);
        let waited = tokio::time::timeout(Duration::from_millis(500), c.next()).await;
        assert!(
            waited.is_err(),
            "after 1001 the client waits its backoff: {waited:?}"
        );
    }

    #[test]
    fn reconnect_waits_are_spread_over_the_upper_half() {
        let d = Duration::from_millis(800);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(d)).collect();
        assert!(waits.iter().all(|w| *w >= d / 2 && *w < d));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 150, "waits are not spread: {distinct:?}");
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }
}
