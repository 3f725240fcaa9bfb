//! Per-client limits of the public entry points: who the client is ([`ClientIp`]) and how
//! often a key may do something ([`KeyedLimiter`], a GCRA limiter from `governor`).
//!
//! Every public entry point that costs the server real work (a password hash, a session, a
//! join) is bounded per client, so a flood from a few addresses turns into clear 429
//! refusals with `Retry-After` instead of memory growth or stalls for everyone else.
//!
//! ## Who the client is
//!
//! The peer address of the TCP connection, unless that peer is one of `TRUSTED_PROXIES`
//! (e.g. the nginx in front of the gateways): then the right-most address of
//! `X-Forwarded-For` that is not itself a trusted proxy. Without trusted proxies the header
//! is ignored, so a client cannot pick its own key by sending one.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::config::Config;
use crate::error::ApiError;

/// The address a request is counted against (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The client address of a request from `peer` carrying `forwarded_for`
    /// (`X-Forwarded-For`), given the proxies whose header is believed.
    pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> ClientIp {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
        if !is_trusted(&peer) {
            return ClientIp(peer);
        }
        // Right to left: each trusted hop appended the address it saw; the first address
        // not of a trusted proxy is the client as far as anyone we trust can tell.
        let hops = forwarded_for.unwrap_or_default().split(',').rev();
        for hop in hops {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if is_trusted(&ip) => continue,
                Ok(ip) => return ClientIp(ip),
                Err(_) => break,
            }
        }
        ClientIp(peer)
    }

    /// The client of a request's parts: the connection's peer (put there by the server as
    /// `ConnectInfo<SocketAddr>`), or the unspecified address when the request did not come
    /// through a socket (in-process tests of the router).
    pub fn from_parts(parts: &Parts, trusted: &[IpNet]) -> ClientIp {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        ClientIp::resolve(peer, xff, trusted)
    }
}

impl FromRequestParts<crate::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::from_parts(parts, &state.config.trusted_proxies))
    }
}

/// A rate limit per key (an address, a username): `per_minute` actions a minute on average
/// with bursts of up to `burst`. `None` quota (a rate of 0) switches it off.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    inner: Option<DefaultKeyedRateLimiter<K>>,
    /// What is limited, for the refusal message ("login attempts from this address").
    what: &'static str,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter of `per_minute` actions a minute per key with bursts of `burst` (at least
    /// 1); a rate of 0 turns the limit off.
    pub fn per_minute(per_minute: u32, burst: u32, what: &'static str) -> Self {
        let inner = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
            DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        KeyedLimiter { inner, what }
    }

    /// Counts one action of `key`: `Err(RateLimited)` with the wait until the next one is
    /// allowed when the key is over its rate (the action is then not counted).
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        inner.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("rate_limited_total", "what" => self.what).increment(1);
            ApiError::RateLimited(
                format!("too many {}; retry in {} s", self.what, wait.as_secs() + 1),
                wait,
            )
        })
    }

    /// Forgets keys whose limit has fully recovered, so a flood of distinct keys does not
    /// keep memory after it ends.
    pub fn forget_idle(&self) {
        if let Some(inner) = &self.inner {
            inner.retain_recent();
            inner.shrink_to_fit();
        }
    }

    /// Number of keys currently remembered.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.len())
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The gateway's per-client limits, shared by every handler.
pub struct Limits {
    /// Login attempts per client address (`LOGIN_PER_IP_PER_MIN`).
    pub login_ip: KeyedLimiter<IpAddr>,
    /// Login attempts per username, from anywhere (`LOGIN_PER_USER_PER_MIN`): guessing one
    /// account's password from many addresses is as slow as from one.
    pub login_user: KeyedLimiter<String>,
    /// Registrations per client address (`REGISTER_PER_IP_PER_MIN`).
    pub register_ip: KeyedLimiter<IpAddr>,
    /// Live join attempts (WebSocket upgrades) per client address (`JOIN_PER_IP_PER_MIN`):
    /// join codes cannot be enumerated, nor a session flooded with bots, from one address.
    pub join_ip: KeyedLimiter<IpAddr>,
}

impl Limits {
    /// The limits `config` asks for.
    pub fn new(config: &Config) -> Arc<Limits> {
        let l = &config.limits;
        Arc::new(Limits {
            login_ip: KeyedLimiter::per_minute(
                l.login_per_ip_per_min,
                l.login_per_ip_per_min.div_ceil(2),
                "login attempts from this address",
            ),
            login_user: KeyedLimiter::per_minute(
                l.login_per_user_per_min,
                l.login_per_user_per_min.div_ceil(2),
                "login attempts for this username",
            ),
            register_ip: KeyedLimiter::per_minute(
                l.register_per_ip_per_min,
                l.register_per_ip_per_min.div_ceil(2),
                "registrations from this address",
            ),
            join_ip: KeyedLimiter::per_minute(
                l.join_per_ip_per_min,
                l.join_per_ip_per_min.div_ceil(2),
                "join attempts from this address",
            ),
        })
    }

    /// Forgets recovered keys of every limiter once a minute until the process ends (the
    /// task holds only a weak reference).
    pub fn spawn_sweeper(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(l) = weak.upgrade() else { break };
                l.login_ip.forget_idle();
                l.login_user.forget_idle();
                l.register_ip.forget_idle();
                l.join_ip.forget_idle();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy = ip("10.0.0.1");
        let trusted = [IpNet::from(proxy)];
        let trusted = &trusted[..];
        // Untrusted peer: its header is ignored.
        assert_eq!(
            ClientIp::resolve(ip("127.0.0.9"), Some("1.2.3.4"), trusted).0,
            ip("127.0.0.9")
        );
        // Trusted peer: the right-most untrusted hop.
        assert_eq!(
            ClientIp::resolve(proxy, Some("6.6.6.6, 1.2.3.4"), trusted).0,
            ip("1.2.3.4")
        );
        assert_eq!(
            ClientIp::resolve(proxy, Some("1.2.3.4, 10.0.0.1"), trusted).0,
            ip("1.2.3.4")
        );
        // Trusted peer without a usable header: the peer.
        assert_eq!(ClientIp::resolve(proxy, None, trusted).0, proxy);
        assert_eq!(ClientIp::resolve(proxy, Some("junk"), trusted).0, proxy);
        // A trusted network: every proxy in it is skipped.
        let net: [IpNet; 1] = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            ClientIp::resolve(proxy, Some("1.2.3.4, 10.9.9.9"), &net).0,
            ip("1.2.3.4")
        );
    }

    #[test]
    fn a_key_over_its_rate_is_refused_with_a_wait_and_others_are_not() {
        let l = KeyedLimiter::per_minute(60, 2, "tries");
        assert!(l.check(&1).is_ok());
        assert!(l.check(&1).is_ok());
        let e = l.check(&1).unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(e.retry_after().is_some_and(|d| d <= Duration::from_secs(1)));
        assert!(l.check(&2).is_ok());
        let off = KeyedLimiter::per_minute(0, 0, "tries");
        for _ in 0..100 {
            assert!(off.check(&1).is_ok());
        }
    }
}
