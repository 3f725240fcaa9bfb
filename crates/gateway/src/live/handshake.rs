//! The handshake of a live WebSocket connection: credentials in the client's
//! first frame, never in the URL.
//!
//! The URL carries only the join code ([`WsParams`]); a URL that still carries
//! a protocol-1 credential is refused before the upgrade. After the upgrade
//! the client's first frame is a [`Hello`] ([`read_hello`], at most
//! [`HELLO_TIMEOUT_SECS`] away), with the connection's [`Capabilities`] as
//! further fields of the same object, which [`resolve_role`] turns into the
//! [`Role`] a connection attaches as (login tokens are looked up here, so a
//! bridged connection's role crosses gateways already resolved, its
//! capabilities with it).

use axum::extract::ws::{Message, WebSocket};
use livequiz_sdk::live::{
    Capabilities, ErrorCode, Hello, HelloFrame, JoinHello, HELLO_TIMEOUT_SECS,
};
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::conn::{describe, Role};
use super::service::LiveService;
use crate::error::ApiError;

/// Query string of the WebSocket URL: the join code. The parameters that
/// carried credentials in protocol 1 are recognised only to refuse them (their
/// values are never kept).
#[derive(Debug, Deserialize)]
pub struct WsParams {
    /// Join code.
    pub code: String,
    token: Option<IgnoredAny>,
    host_token: Option<IgnoredAny>,
    resume: Option<IgnoredAny>,
    nickname: Option<IgnoredAny>,
}

impl WsParams {
    /// 400 when the URL carries a credential (or a protocol-1 nickname): the
    /// request is already in some access log, but at least no session accepts
    /// it, and the client learns where credentials go now.
    pub fn refuse_credentials(&self) -> Result<(), ApiError> {
        let named: Vec<&str> = [
            ("token", self.token.is_some()),
            ("host_token", self.host_token.is_some()),
            ("resume", self.resume.is_some()),
            ("nickname", self.nickname.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        if named.is_empty() {
            return Ok(());
        }
        Err(ApiError::BadRequest(format!(
            "the URL carries {}: credentials and the nickname are never sent in the URL \
             (URLs are logged); connect to /v1/live/ws?code=<code> and send them in the \
             first frame, e.g. {{\"type\":\"join\",\"nickname\":\"ann\"}}, \
             {{\"type\":\"join\",\"token\":\"..\"}}, {{\"type\":\"resume\",\"resume_token\":\"..\"}} \
             or {{\"type\":\"host\",\"host_token\":\"..\"}} (protocol 2)",
            named.join(", ")
        )))
    }
}

/// Why the first frame did not yield a [`Hello`].
pub enum NoHello {
    /// Refused: a `bad_message` error frame with this text, then a close.
    Refused(String),
    /// A frame over [`livequiz_sdk::live::MAX_CLIENT_FRAME`] or a protocol violation.
    BadFrame,
    /// The client went away.
    Gone,
}

/// Reads the client's first frame, the credential. WebSocket ping/pong
/// control frames are answered by the library and do not count; anything
/// else than a [`Hello`] text frame is refused, and so is silence for
/// [`HELLO_TIMEOUT_SECS`] (a socket that never says who it is holds a
/// connection slot for nothing).
pub async fn read_hello(socket: &mut WebSocket) -> Result<HelloFrame, NoHello> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(HELLO_TIMEOUT_SECS);
    let expected = r#"{"type":"join","nickname":".."}, {"type":"join","token":".."}, {"type":"resume","resume_token":".."} or {"type":"host","host_token":".."}"#;
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, socket.recv()).await else {
            return Err(NoHello::Refused(format!(
                "no join, resume or host frame within {HELLO_TIMEOUT_SECS} s of connecting; \
                 send the credential as the first frame: {expected}"
            )));
        };
        return match next {
            Some(Ok(Message::Text(text))) => parse_hello(text.as_str()).map_err(NoHello::Refused),
            Some(Ok(Message::Binary(_))) => Err(NoHello::Refused(format!(
                "the first frame must be JSON text carrying the credential: {expected}"
            ))),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => Err(NoHello::Gone),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "live websocket read error before the hello");
                Err(NoHello::BadFrame)
            }
        };
    }
}

/// Parses a first frame: the credential, then the capabilities from the
/// same object. The credential is read on its own, so a frame without
/// capabilities (an older client's) means what it always did and a bad
/// credential is refused with the same message; unknown fields are ignored.
/// The refusal's text on error.
pub fn parse_hello(text: &str) -> Result<HelloFrame, String> {
    let expected = r#"{"type":"join","nickname":".."}, {"type":"join","token":".."}, {"type":"resume","resume_token":".."} or {"type":"host","host_token":".."}"#;
    let hello = serde_json::from_str::<Hello>(text)
        .map_err(|e| format!("the first frame must carry the credential ({e}): {expected}"))?;
    let capabilities = serde_json::from_str::<Capabilities>(text).map_err(|e| {
        format!(
            "the first frame's capabilities are booleans ({e}), \
             e.g. {{\"type\":\"join\",\"nickname\":\"ann\",\"reads_reveal_standing\":true}}"
        )
    })?;
    Ok(HelloFrame {
        hello,
        capabilities,
    })
}

/// Resolves the first frame's credential to a role (login tokens are looked
/// up here, by the gateway's one token check, `crate::auth::Authenticator`);
/// the refusal's code and message (`internal` when the check itself failed).
pub async fn resolve_role(
    live: &LiveService,
    first: HelloFrame,
) -> Result<Role, (ErrorCode, String)> {
    let capabilities = first.capabilities;
    match first.hello {
        Hello::Host { host_token } => Ok(Role::Host { host_token }),
        Hello::Resume { resume_token } => Ok(Role::Resume {
            token: resume_token,
            capabilities,
        }),
        Hello::Join(JoinHello {
            token: Some(token),
            pattern,
            ..
        }) => {
            // The same check as a REST request's bearer token.
            let account = live.auth().resolve(&token).await.map_err(|e| {
                let code = match e {
                    ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
                    // The token store or the database failed: transient, not a bad token.
                    _ => ErrorCode::Internal,
                };
                (code, describe(code).to_string())
            })?;
            Ok(Role::Join {
                nickname: account.username,
                account_id: Some(account.id),
                pattern,
                capabilities,
            })
        }
        Hello::Join(JoinHello {
            nickname: Some(nickname),
            pattern,
            ..
        }) => Ok(Role::Join {
            nickname,
            account_id: None,
            pattern,
            capabilities,
        }),
        Hello::Join(_) => Err((
            ErrorCode::BadNickname,
            "a join frame needs a nickname (guest) or a token (account)".into(),
        )),
        // A first frame the protocol crate knows and this gateway does not accept yet.
        _ => Err((
            ErrorCode::BadMessage,
            describe(ErrorCode::BadMessage).to_string(),
        )),
    }
}
