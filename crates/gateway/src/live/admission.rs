//! What the live service admits: how many sessions a host may run, how long
//! they live, how many players they take, which join codes exist, how
//! many join attempts one client address may make ([`JoinAdmission`]), and
//! how many live WebSockets the gateway holds at once ([`WsSlot`]).
//!
//! The per-session rules (cap, lock, bans, two-step pattern, nicknames) are
//! enforced by the session itself (see [`super::engine::guard`]); this module
//! holds the gateway-wide settings they start from, read from
//! [`crate::config::LiveLimitsConfig`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::engine::{Lifetime, NicknameFilter};
use super::service::LiveService;
use crate::config::{Config, LiveTuningConfig};
use crate::error::ApiError;
use crate::limits::ClientIp;

/// The gateway-wide live-session settings.
#[derive(Debug, Clone)]
pub struct LivePolicy {
    /// Unfinished sessions per host account (0: unlimited).
    pub max_sessions_per_user: u32,
    /// Lobby idle expiry and maximum session lifetime.
    pub lifetime: Lifetime,
    /// Default and largest `max_players` of a session.
    pub max_players: u32,
    /// Digits of a join code (6 in production).
    pub code_digits: u32,
    /// The nickname word filter of sessions that turn it on.
    pub filter: Arc<NicknameFilter>,
    /// Proxies whose `X-Forwarded-For` names the client (join limits).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Queue, batch and pacing sizes, timeouts and bounds of the live path.
    pub tuning: Arc<LiveTuningConfig>,
}

impl LivePolicy {
    /// The settings `config` asks for.
    pub fn from_config(config: &Config) -> LivePolicy {
        let l = &config.live;
        LivePolicy {
            max_sessions_per_user: l.max_sessions_per_user,
            lifetime: Lifetime {
                lobby_idle: l.lobby_idle,
                max: l.max_session,
            },
            max_players: l.max_players_per_session.max(1),
            code_digits: l.code_digits.clamp(1, 6),
            filter: Arc::new(NicknameFilter::new(&l.nickname_blocklist)),
            trusted_proxies: config.trusted_proxies.clone(),
            tuning: Arc::new(config.live_tuning.clone()),
        }
    }

    /// Number of join codes (`10^code_digits`).
    pub fn code_space(&self) -> u32 {
        10u32.pow(self.code_digits.clamp(1, 6))
    }

    /// A join code from its number (zero-padded to `code_digits`).
    pub fn code(&self, n: u32) -> String {
        format!("{n:0width$}", width = self.code_digits as usize)
    }
}

impl Default for LivePolicy {
    fn default() -> Self {
        LivePolicy::from_config(&Config::default())
    }
}

/// Extractor of `GET /v1/live/ws` that counts one join attempt of the
/// client's address against `JOIN_PER_IP_PER_MIN` before the upgrade; over
/// the limit the request is answered 429 problem+json with `Retry-After`.
/// Every attempt counts, whatever its code or credentials, so join codes
/// cannot be enumerated nor a session flooded with bots from one address.
pub struct JoinAdmission;

impl FromRequestParts<Arc<LiveService>> for JoinAdmission {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        live: &Arc<LiveService>,
    ) -> Result<Self, Self::Rejection> {
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

impl FromRequestParts<Arc<LiveService>> for WsSlot {
    type Rejection = ApiError;

    async fn from_request_parts(
        _parts: &mut Parts,
        live: &Arc<LiveService>,
    ) -> Result<Self, Self::Rejection> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_configured_digits() {
        let mut config = Config::default();
        let p = LivePolicy::from_config(&config);
        assert_eq!((p.code_space(), p.code(42)), (1_000_000, "000042".into()));
        config.live.code_digits = 1;
        let p = LivePolicy::from_config(&config);
        assert_eq!((p.code_space(), p.code(7)), (10, "7".into()));
    }
}
