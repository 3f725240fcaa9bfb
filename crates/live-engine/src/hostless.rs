//! Sessions run by the server, without a host: quick matches.
//!
//! The matchmaker creates a session for the accounts it grouped
//! ([`Hostless::members`]) and nobody hosts it. The session then:
//!
//! - admits only those accounts (with their login token; guests and other
//!   accounts get [`ErrorCode::NotInMatch`]); a member who drops resumes
//!   with the resume token of their welcome, as in any session;
//! - starts by itself as soon as every member is connected, or at
//!   [`Hostless::start_by`] with the members who joined by then (a member
//!   who never joined has abandoned the match); with nobody joined by then
//!   it ends (`lobby_idle`);
//! - runs its questions on the timers (deadline, reveal) like any session
//!   and finishes after the last one.
//!
//! The settings travel in the session's [`crate::SessionMeta`], so a session
//! taken over by another gateway keeps them.

use std::collections::HashSet;
use std::time::Duration;

use livequiz_sdk::live::{ErrorCode, FinishReason};
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::session::{Session, State};

/// What makes a session host-less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hostless {
    /// The only accounts that may join.
    pub members: Vec<i64>,
    /// Server time (ms since the epoch) at which the session starts with
    /// whoever joined, if not everyone is connected before.
    pub start_by: i64,
}

/// The engine's copy of [`Hostless`], with the start time as an instant.
#[derive(Debug, Clone)]
pub(crate) struct HostlessState {
    members: HashSet<i64>,
    start_by: Instant,
}

impl Session {
    /// Makes this session host-less (see the module docs).
    pub fn with_hostless(mut self, h: &Hostless) -> Self {
        let (base, base_ms) = self.epoch_base();
        let start_by = if h.start_by >= base_ms {
            base + Duration::from_millis((h.start_by - base_ms) as u64)
        } else {
            base.checked_sub(Duration::from_millis((base_ms - h.start_by) as u64))
                .unwrap_or(base)
        };
        self.hostless = Some(HostlessState {
            members: h.members.iter().copied().collect(),
            start_by,
        });
        self
    }

    /// Whether the server runs this session (no host).
    pub fn is_hostless(&self) -> bool {
        self.hostless.is_some()
    }

    /// Refuses a join of anyone but a member, in a host-less session.
    pub(crate) fn hostless_admits(&self, account_id: Option<i64>) -> Result<(), ErrorCode> {
        match (&self.hostless, account_id) {
            (None, _) => Ok(()),
            (Some(h), Some(a)) if h.members.contains(&a) => Ok(()),
            (Some(_), _) => Err(ErrorCode::NotInMatch),
        }
    }

    fn all_members_connected(&self, h: &HostlessState) -> bool {
        h.members.iter().all(|&a| {
            self.roster
                .by_account(a)
                .and_then(|id| self.roster.get(id))
                .is_some_and(|p| p.connected)
        })
    }

    /// When a host-less lobby must start: at once when every member is
    /// connected, else at `start_by`.
    pub(crate) fn hostless_wakeup(&self) -> Option<Instant> {
        let h = self.hostless.as_ref()?;
        if !matches!(self.state, State::Lobby) || self.end_requested {
            return None;
        }
        if self.all_members_connected(h) {
            return Some(self.epoch_base().0.min(h.start_by));
        }
        Some(h.start_by)
    }

    /// Starts a host-less lobby that is due (or ends it when nobody came).
    pub(crate) fn hostless_tick(&mut self, now: Instant) {
        let Some(h) = &self.hostless else { return };
        if !matches!(self.state, State::Lobby) || self.end_requested {
            return;
        }
        let due = now >= h.start_by || self.all_members_connected(h);
        if !due {
            return;
        }
        if self.roster.is_empty() {
            self.finish_reason = Some(FinishReason::LobbyIdle);
            let _ = self.end(now);
        } else {
            let _ = self.start(now);
        }
    }

    /// The members (accounts) connected right now: at the end of a match,
    /// the others have left it.
    pub fn connected_accounts(&self) -> Vec<i64> {
        self.roster
            .iter()
            .filter(|p| p.connected)
            .filter_map(|p| p.account_id)
            .collect()
    }
}
