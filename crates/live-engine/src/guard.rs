//! Who may join a session, and for how long it may run.
//!
//! - The host's join settings, fixed at creation ([`JoinRules`]): a player
//!   cap, two-step join (a rotating [`PatternClock`]), generated nicknames,
//!   the nickname word filter.
//! - What the host changes while it runs: the lock (no new players; resumes
//!   still work) and bans (an account and a resume token kept out).
//! - The session's lifetime ([`Lifetime`]): a lobby without host activity
//!   ends after `lobby_idle`, any session after `max` from its creation, so
//!   sessions nobody uses do not hold join codes, memory and a host's quota
//!   forever.
//!
//! Pure like the rest of the engine: every method takes the time.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Instant;
use livequiz_sdk::live::{ErrorCode, FinishReason, ServerMsg};
use serde::{Deserialize, Serialize};

use crate::effects::{Effect, Target};
use crate::nickname::{generate, NicknameFilter};
use crate::pattern::PatternClock;
use crate::restore::PlayerRecord;
use crate::roster::validate_nickname;
use crate::session::{Session, State};

/// Default player cap of a session (the gateway's
/// `LIVE_MAX_PLAYERS_PER_SESSION` replaces it).
pub const DEFAULT_MAX_PLAYERS: u32 = 10_000;

/// Join settings a host picks at creation; checkpointed with the session so
/// a session taken over by another gateway keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRules {
    /// Most players in the session at once.
    pub max_players: u32,
    /// A join must carry the current two-step pattern.
    #[serde(default)]
    pub two_step: bool,
    /// The server picks every nickname.
    #[serde(default)]
    pub generated_nicknames: bool,
    /// Nicknames with listed words are refused.
    #[serde(default)]
    pub nickname_filter: bool,
}

impl Default for JoinRules {
    fn default() -> Self {
        JoinRules {
            max_players: DEFAULT_MAX_PLAYERS,
            two_step: false,
            generated_nicknames: false,
            nickname_filter: false,
        }
    }
}

/// How long sessions may live (`LIVE_LOBBY_IDLE_SECS`, `LIVE_MAX_SESSION_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// A lobby ends after this long without the host attaching or sending a command.
    pub lobby_idle: Duration,
    /// Any session ends this long after its creation.
    pub max: Duration,
}

/// The join and lifetime state of one session.
#[derive(Debug)]
pub struct Guard {
    pub(crate) rules: JoinRules,
    pub(crate) locked: bool,
    banned_accounts: HashSet<i64>,
    banned_tokens: HashSet<String>,
    pattern: Option<PatternClock>,
    filter: Arc<NicknameFilter>,
    lifetime: Option<Lifetime>,
    /// When the session was created (restored from the checkpoint).
    born: Instant,
    /// The host's last attach or command.
    host_seen: Instant,
}

impl Guard {
    /// Default rules, unlocked, no lifetime limits, created at `now`.
    pub fn new(now: Instant) -> Self {
        Guard {
            rules: JoinRules::default(),
            locked: false,
            banned_accounts: HashSet::new(),
            banned_tokens: HashSet::new(),
            pattern: None,
            filter: Arc::new(NicknameFilter::default()),
            lifetime: None,
            born: now,
            host_seen: now,
        }
    }

    /// Remembers a ban (an account and a resume token).
    pub(crate) fn ban(&mut self, account_id: Option<i64>, token: &str) {
        if let Some(a) = account_id {
            self.banned_accounts.insert(a);
        }
        self.banned_tokens.insert(token.to_string());
    }

    /// Sets the creation time (a restored session keeps its original one).
    pub(crate) fn set_born(&mut self, born: Instant) {
        self.born = born;
    }
}

/// What a join is admitted as.
pub(crate) enum Admitted {
    /// The account already plays: the same player.
    Existing(u64),
    /// A new player with this nickname.
    New(String),
}

impl Session {
    /// Applies the host's join settings (a fresh session, at `now`).
    pub fn with_join_rules(mut self, rules: JoinRules, now: Instant) -> Self {
        self.guard.rules = rules;
        self.guard.pattern = rules
            .two_step
            .then(|| PatternClock::new(now, &mut self.rng));
        self
    }

    /// Uses the gateway's nickname word filter.
    pub fn with_filter(mut self, filter: Arc<NicknameFilter>) -> Self {
        self.guard.filter = filter;
        self
    }

    /// Ends the session by itself after these limits.
    pub fn with_lifetime(mut self, lifetime: Lifetime) -> Self {
        self.guard.lifetime = Some(lifetime);
        self
    }

    /// The join settings.
    pub fn join_rules(&self) -> JoinRules {
        self.guard.rules
    }

    /// Whether new players are refused.
    pub fn locked(&self) -> bool {
        self.guard.locked
    }

    /// Why the session finished (once it has).
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish_reason
    }

    /// Checks a join against bans, the lock, the cap, the pattern and the
    /// nickname rules; nothing but the random generator changes.
    pub(crate) fn admit(
        &mut self,
        now: Instant,
        nickname: &str,
        account_id: Option<i64>,
        pattern: Option<&str>,
    ) -> Result<Admitted, ErrorCode> {
        self.hostless_admits(account_id)?;
        let g = &self.guard;
        if let Some(a) = account_id {
            if g.banned_accounts.contains(&a) {
                return Err(ErrorCode::Banned);
            }
            if let Some(id) = self.roster.by_account(a) {
                return Ok(Admitted::Existing(id)); // a rejoin, not a new player
            }
        }
        if g.locked {
            return Err(ErrorCode::Locked);
        }
        if self.roster.len() >= g.rules.max_players as usize {
            return Err(ErrorCode::SessionFull);
        }
        if let Some(p) = &g.pattern {
            if !p.accepts(now, pattern) {
                return Err(ErrorCode::BadPattern);
            }
        }
        if g.rules.generated_nicknames {
            let (roster, filter) = (&self.roster, &g.filter);
            let refused = |n: &str| roster.nick_taken(n) || filter.blocks(n);
            return Ok(Admitted::New(generate(&mut self.rng, refused)));
        }
        let nick = validate_nickname(nickname)?;
        if g.rules.nickname_filter && g.filter.blocks(&nick) {
            return Err(ErrorCode::BadNickname);
        }
        Ok(Admitted::New(nick))
    }

    /// The player a resume token belongs to; `banned` for a banned one.
    pub fn resume(&self, token: &str) -> Result<u64, ErrorCode> {
        if self.guard.banned_tokens.contains(token) {
            return Err(ErrorCode::Banned);
        }
        self.roster.by_token(token).ok_or(ErrorCode::BadResumeToken)
    }

    /// Host: removes a player and keeps their account and resume token out.
    /// Returns the record to checkpoint (marked banned).
    pub fn ban(&mut self, now: Instant, player: u64) -> Result<PlayerRecord, ErrorCode> {
        if matches!(self.state, State::Finished) {
            return Err(ErrorCode::Finished);
        }
        let p = self.remove_as(now, player, "banned")?;
        self.guard.ban(p.account_id, &p.resume_token);
        Ok(PlayerRecord {
            id: p.id,
            nickname: p.nickname,
            account_id: p.account_id,
            resume_token: p.resume_token,
            joined_at: 0,
            banned: true,
            extra_time_percent: 100,
        })
    }

    /// Host: locks or unlocks the session; the host is told the new state.
    pub fn set_locked(&mut self, locked: bool) -> Result<(), ErrorCode> {
        if matches!(self.state, State::Finished) {
            return Err(ErrorCode::Finished);
        }
        self.guard.locked = locked;
        self.emit(Effect::Send(
            Target::Host,
            ServerMsg::JoinsLocked { locked },
        ));
        Ok(())
    }

    /// The host attached or sent a command: the lobby is in use.
    pub fn host_active(&mut self, now: Instant) {
        self.guard.host_seen = now;
    }

    /// The two-step pattern frame for the host, in two-step sessions.
    pub fn pattern_frame(&self) -> Option<ServerMsg> {
        let p = self.guard.pattern.as_ref()?;
        Some(ServerMsg::JoinPattern {
            pattern: p.current().to_string(),
            expires_at: self.epoch(p.rotates_at()),
        })
    }

    /// The next pattern rotation or expiry, if any.
    pub(crate) fn guard_wakeup(&self) -> Option<Instant> {
        if matches!(self.state, State::Finished) {
            return None;
        }
        let g = &self.guard;
        let rotation = g.pattern.as_ref().map(PatternClock::rotates_at);
        let expiry = g.lifetime.filter(|_| !self.end_requested).map(|l| {
            let max = g.born + l.max;
            match self.state {
                State::Lobby => max.min(g.host_seen + l.lobby_idle),
                _ => max,
            }
        });
        match (rotation, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Rotates the pattern and ends an expired session (the open question
    /// is revealed first, as when the host ends it).
    pub(crate) fn guard_tick(&mut self, now: Instant) {
        if matches!(self.state, State::Finished) {
            return;
        }
        let rng = &mut self.rng;
        if self
            .guard
            .pattern
            .as_mut()
            .is_some_and(|p| p.rotate(now, rng))
        {
            if let Some(frame) = self.pattern_frame() {
                self.emit(Effect::Send(Target::Host, frame));
            }
        }
        let Some(l) = self.guard.lifetime else {
            return;
        };
        if self.end_requested {
            return;
        }
        let reason = if now >= self.guard.born + l.max {
            FinishReason::MaxDuration
        } else if matches!(self.state, State::Lobby) && now >= self.guard.host_seen + l.lobby_idle {
            FinishReason::LobbyIdle
        } else {
            return;
        };
        self.finish_reason = Some(reason);
        let _ = self.end(now);
    }
}
