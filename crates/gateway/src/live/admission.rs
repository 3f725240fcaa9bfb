//! What the live service admits: how many sessions a host may run, how long
//! they live, how many players they take, which join codes exist, how
//! many join attempts one client address may make (checked by
//! [`super::ws::JoinAdmission`]), and how the live path is tuned (queue and
//! batch sizes, intervals, the bound on live WebSockets checked by
//! [`super::ws::WsSlot`]).
//!
//! The per-session rules (cap, lock, bans, two-step pattern, nicknames) are
//! enforced by the session itself (see [`super::engine::guard`]); this module
//! holds the gateway-wide settings they start from, read from
//! [`crate::config::LiveLimitsConfig`].

use std::sync::Arc;

use super::engine::{Lifetime, NicknameFilter};
use crate::config::{Config, LiveTuningConfig};

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
