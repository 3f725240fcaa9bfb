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
//!   (a ghost does not count) it ends (`lobby_idle`);
//! - runs its questions on the timers (deadline, reveal) like any session
//!   and finishes after the last one.
//!
//! The settings travel in the session's [`crate::SessionMeta`], so a session
//! taken over by another gateway keeps them.
//!
//! ## Ghost duels
//!
//! A host-less session may seat a [`Ghost`]: a recorded player replayed
//! against a live one. The ghost takes the first seat when the session is
//! made (so it keeps the same player id when a session is rebuilt from its
//! checkpoint), counts as connected, and answers each question by itself:
//! its recorded choices, received exactly `after_ms` after the question
//! opened, accepted and scored like anyone's answer (deadline, speed
//! points, streaks). Its answers are not written to the answer log; they
//! need not be, because the recording travels in the session's meta and the
//! ghost's answers are a pure function of it and the quiz: a session rebuilt
//! on another gateway (a takeover) re-derives the ghost's answers to the
//! questions closed before it (its points and streak, on the board at once)
//! and gives its answer to the open question at its recorded time, as the
//! previous owner did. After a takeover the ghost's points count as reached
//! at the takeover, so on equal points the live player, who scored earlier,
//! ranks first.

use std::collections::HashSet;
use std::time::Duration;

use livequiz_sdk::live::{ErrorCode, FinishReason};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::quiz::normalise_choices;
use crate::scoring::score_answer;
use crate::session::{Session, State};

/// What makes a session host-less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hostless {
    /// The only accounts that may join.
    pub members: Vec<i64>,
    /// Server time (ms since the epoch) at which the session starts with
    /// whoever joined, if not everyone is connected before.
    pub start_by: i64,
    /// A recorded player replayed in the second seat (see the module docs);
    /// their account is one of `members`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ghost: Option<Ghost>,
}

/// A recorded player replayed in a host-less session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ghost {
    /// Their account (one of [`Hostless::members`]).
    pub account_id: i64,
    /// Their nickname.
    pub nickname: String,
    /// Per question of the quiz, in order: their recorded answer, if they
    /// gave one.
    pub answers: Vec<Option<GhostAnswer>>,
}

/// One recorded answer of a [`Ghost`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostAnswer {
    /// The choices (indexes into the question's choices).
    pub choices: Vec<u32>,
    /// When it was given, ms after the question opened.
    pub after_ms: u32,
}

/// The engine's copy of [`Hostless`], with the start time as an instant.
#[derive(Debug, Clone)]
pub(crate) struct HostlessState {
    members: HashSet<i64>,
    start_by: Instant,
    ghost: Option<Ghost>,
    /// The question the ghost last answered (or tried to).
    ghost_done: Option<u32>,
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
            ghost: h.ghost.clone(),
            ghost_done: None,
        });
        if let Some(g) = &h.ghost {
            self.seat_ghost(base, g);
        }
        self
    }

    /// Seats the ghost (connected, on the board with 0 points).
    fn seat_ghost(&mut self, now: Instant, g: &Ghost) {
        let token = format!("{:032x}", self.rng.random::<u128>());
        let Ok((id, new)) = self.roster.join(&g.nickname, Some(g.account_id), token) else {
            return;
        };
        let at = self.epoch(now);
        if let Some(p) = self.roster.get_mut(id) {
            p.connected = true;
            if new {
                p.joined_at = at;
            }
        }
        if new {
            let write = crate::effects::ScoreWrite {
                player: id,
                delta: 0,
                op_key: format!("{}:join:{id}", self.id),
                at,
            };
            self.ranks.apply(std::slice::from_ref(&write));
            self.emit(crate::effects::Effect::Score(vec![write]));
        }
    }

    /// The ghost's answer to the open question that is still to come: its
    /// player, the question, when it is received, its choices.
    fn ghost_due(&self) -> Option<(u64, u32, Instant, Vec<u32>)> {
        let h = self.hostless.as_ref()?;
        let g = h.ghost.as_ref()?;
        let State::Question(o) = &self.state else {
            return None;
        };
        if o.closing || h.ghost_done == Some(o.index) {
            return None;
        }
        let player = self.roster.by_account(g.account_id)?;
        if o.answers.contains_key(&player) {
            return None;
        }
        let a = g.answers.get(o.index as usize)?.as_ref()?;
        let at = o.opened + Duration::from_millis(u64::from(a.after_ms));
        Some((player, o.index, at, a.choices.clone()))
    }

    /// The ghost's answers to questions `0..closed` as the session judged
    /// them, re-derived from the recording (for a restore, see the module
    /// docs): its player id and one record per accepted answer, received at
    /// server time `at`. Deterministic: an answer is accepted exactly when
    /// its choices fit the question and it came before the deadline (a
    /// ghost has no extra time, and a host-less question never closes
    /// before the ghost answered or its deadline passed); points and streak
    /// follow the quiz's rules as for a live answer.
    pub(crate) fn ghost_replayed(
        &self,
        closed: u32,
        at: i64,
    ) -> Option<(u64, Vec<crate::restore::AnswerRecord>)> {
        let g = self.hostless.as_ref()?.ghost.as_ref()?;
        let player = self.roster.by_account(g.account_id)?;
        let mut streak = 0u32;
        let mut records = Vec::new();
        for (index, q) in self.quiz.questions.iter().enumerate().take(closed as usize) {
            let accepted = g
                .answers
                .get(index)
                .and_then(Option::as_ref)
                .filter(|a| a.after_ms < q.time_limit_ms)
                .and_then(|a| {
                    normalise_choices(&a.choices, q.choices.len()).map(|c| (c, a.after_ms))
                });
            let Some((choices, after_ms)) = accepted else {
                streak = 0;
                continue;
            };
            let scored = score_answer(
                &self.quiz.rules,
                q.is_correct(&choices),
                u64::from(after_ms),
                u64::from(q.time_limit_ms),
                streak,
            );
            streak = scored.streak;
            records.push(crate::restore::AnswerRecord {
                question: index as u32,
                player,
                choices,
                correct: scored.correct,
                points: scored.points,
                answered_at: at,
            });
        }
        Some((player, records))
    }

    /// Gives the ghost's answer once its time came (see the module docs).
    fn ghost_tick(&mut self, now: Instant) {
        let Some((player, index, at, choices)) = self.ghost_due() else {
            return;
        };
        if now < at {
            return;
        }
        if let Some(h) = &mut self.hostless {
            h.ghost_done = Some(index);
        }
        // Refused (its recorded time is past this question's deadline, or
        // its choices do not fit): the ghost did not answer this one.
        if let Ok(pending) = self.answer(at, player, index, &choices, None) {
            self.commit(now, vec![pending]);
        }
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
    /// Also when the ghost's next answer is due.
    pub(crate) fn hostless_wakeup(&self) -> Option<Instant> {
        let h = self.hostless.as_ref()?;
        let ghost = self.ghost_due().map(|(_, _, at, _)| at);
        if !matches!(self.state, State::Lobby) || self.end_requested {
            return ghost;
        }
        if self.all_members_connected(h) {
            return Some(self.epoch_base().0.min(h.start_by));
        }
        Some(h.start_by)
    }

    /// Starts a host-less lobby that is due (or ends it when nobody came).
    pub(crate) fn hostless_tick(&mut self, now: Instant) {
        self.ghost_tick(now);
        let Some(h) = &self.hostless else { return };
        if !matches!(self.state, State::Lobby) || self.end_requested {
            return;
        }
        let due = now >= h.start_by || self.all_members_connected(h);
        if !due {
            return;
        }
        let ghost = h.ghost.as_ref().map(|g| g.account_id);
        if self
            .roster
            .iter()
            .all(|p| ghost.is_some() && p.account_id == ghost)
        {
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
