//! Checkpoint and restore: what another gateway needs to continue a session
//! whose owner died.
//!
//! A session is rebuilt from three checkpoints (kept by the driver: in Redis
//! Cluster or in the database) and the durable answers (the database):
//!
//! - [`SessionMeta`]: id, code, host secret, the quiz itself, the host's
//!   join settings and the creation time (written once at creation);
//! - one [`PlayerRecord`] per player (written before the player's welcome;
//!   a banned player's record stays, marked banned, so the ban survives);
//! - the [`PhaseCheckpoint`] (written at every phase change and lock change;
//!   an open question's record carries the extra time in force for it).
//!
//! A player's record carries their extra time (rewritten when the host
//! changes it); the quiz in the meta carries the scoring rules (accuracy-only
//! or not) and whether devices show the texts.
//!
//! Scores and streaks are not checkpointed: they are recomputed from the
//! answers in the database, which are the durable truth (an answer is acked
//! only once it is stored), so nothing acknowledged is lost and nothing is
//! counted twice. The ghost of a ghost duel has no durable answers: its
//! answers follow from its recording in the meta (see [`crate::hostless`]).
//! Answers to a question still open at the takeover are held
//! back as on the previous owner: they count for answer-once and the host's
//! counts, and their points reach the totals and the board only when the
//! question closes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Instant;
use serde::{Deserialize, Serialize};

use crate::effects::{Effect, ScoreWrite};
use crate::guard::JoinRules;
use crate::quiz::LiveQuiz;
use crate::roster::Player;
use crate::scoring::Scored;
use crate::session::{Accepted, Open, Session, State};

/// The fixed part of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Database id.
    pub session_id: i64,
    /// Join code.
    pub code: String,
    /// Secret of the host.
    pub host_token: String,
    /// The quiz as played (questions with their keys).
    pub quiz: LiveQuiz,
    /// The host's join settings (defaults for checkpoints that predate them).
    #[serde(default)]
    pub join: JoinRules,
    /// Server time (ms) the session was created: its maximum lifetime counts
    /// from here on any gateway (0 in checkpoints that predate it: from the
    /// takeover).
    #[serde(default)]
    pub created_at: i64,
    /// Set for a session the server runs without a host (a quick match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostless: Option<crate::hostless::Hostless>,
}

/// One player as checkpointed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerRecord {
    /// Session-local id.
    pub id: u64,
    /// Nickname.
    pub nickname: String,
    /// Account id for logged-in players.
    pub account_id: Option<i64>,
    /// Resume token.
    pub resume_token: String,
    /// Server time (ms) of the join: the board's tie-break for a player
    /// without points.
    pub joined_at: i64,
    /// The host banned this player: not in the roster; their account and
    /// resume token are refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub banned: bool,
    /// Extra time in percent (100: none; absent in records that predate it
    /// and for players without any). Rewritten when the host changes it.
    #[serde(default = "no_extra_time", skip_serializing_if = "is_no_extra_time")]
    pub extra_time_percent: u32,
}

fn no_extra_time() -> u32 {
    100
}

fn is_no_extra_time(percent: &u32) -> bool {
    *percent == 100
}

/// Where the session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum PhaseRecord {
    /// Waiting for the host to start.
    Lobby,
    /// A question is open (or `closing`: skipped / past its deadline and
    /// waiting for accepted answers to become durable).
    Question {
        /// Question index.
        index: u32,
        /// Server time (ms) it opened; the deadline follows from the quiz.
        opened_at: i64,
        /// Closed early (skip) or past the deadline.
        closing: bool,
        /// The extra time (`[player, percent]` pairs) in force for this
        /// question, as it was when it opened (a change made while it is
        /// open waits for the next question); empty when nobody had any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        extra_time: Vec<(u64, u32)>,
    },
    /// Showing the answer of `index` until `until` (server time, ms).
    Reveal {
        /// Question index.
        index: u32,
        /// Server time (ms) the next question opens.
        until: i64,
    },
    /// Over (final standings may not be stored yet).
    Finished,
}

/// The phase plus the host's pending "end".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseCheckpoint {
    /// Phase.
    #[serde(flatten)]
    pub phase: PhaseRecord,
    /// The host asked to end after the open question.
    pub end_requested: bool,
    /// The host locked the session (no new players).
    #[serde(default)]
    pub locked: bool,
}

/// A durable answer as read back from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// Question index.
    pub question: u32,
    /// Player id.
    pub player: u64,
    /// Chosen choices (normalised).
    pub choices: Vec<u32>,
    /// Whether it was correct.
    pub correct: bool,
    /// Points it earned (speed + streak bonus).
    pub points: u32,
    /// Server time (ms) it was received.
    pub answered_at: i64,
}

impl Session {
    /// The phase checkpoint of the current state.
    pub fn phase_checkpoint(&self) -> PhaseCheckpoint {
        let phase = match &self.state {
            State::Lobby => PhaseRecord::Lobby,
            State::Question(o) => {
                let mut extra_time: Vec<(u64, u32)> =
                    o.extra.iter().map(|(&id, &pct)| (id, pct)).collect();
                extra_time.sort_unstable();
                PhaseRecord::Question {
                    index: o.index,
                    opened_at: o.opened_at,
                    closing: o.closing,
                    extra_time,
                }
            }
            State::Reveal { index, until } => PhaseRecord::Reveal {
                index: *index,
                until: self.epoch(*until),
            },
            State::Finished => PhaseRecord::Finished,
        };
        PhaseCheckpoint {
            phase,
            end_requested: self.end_requested,
            locked: self.guard.locked,
        }
    }

    /// The checkpoint record of a player who joined at server time `joined_at`.
    pub fn player_record(&self, id: u64, joined_at: i64) -> Option<PlayerRecord> {
        let p = self.roster.get(id)?;
        Some(PlayerRecord {
            id: p.id,
            nickname: p.nickname.clone(),
            account_id: p.account_id,
            resume_token: p.resume_token.clone(),
            joined_at,
            banned: false,
            extra_time_percent: p.extra_time_percent,
        })
    }

    /// Rebuilds a session from its checkpoints and durable answers at `now`
    /// (server time `epoch_now` ms; `seed` as for [`Session::new`]). Every
    /// player's recomputed total goes on the session's board: the points of
    /// the closed questions; those of an open question stay held until it
    /// closes. Returns the session with those totals as writes, for a mirror
    /// to start over from (their op keys are unique to this restore).
    ///
    /// Every player starts disconnected (they resume with their tokens);
    /// an open question keeps its original deadline (if it has passed, the
    /// next tick reveals it); leaderboard versions continue above anything
    /// the previous owner can have sent. A finished session queues
    /// [`Effect::Finished`] so its standings get stored. Join settings, lock
    /// and bans come back; the lifetime counts from the original creation;
    /// a two-step session shows a fresh pattern.
    pub fn restore(
        meta: SessionMeta,
        players: Vec<PlayerRecord>,
        checkpoint: PhaseCheckpoint,
        answers: &[AnswerRecord],
        now: Instant,
        epoch_now: i64,
        seed: [u8; 32],
    ) -> (Session, Vec<ScoreWrite>) {
        let quiz = Arc::new(meta.quiz);
        let mut s = Session::new(
            meta.session_id,
            meta.code,
            quiz.clone(),
            now,
            epoch_now,
            seed,
        )
        .with_join_rules(meta.join, now);
        if let Some(h) = &meta.hostless {
            s = s.with_hostless(h);
        }
        let instant = |ms: i64| -> Instant {
            let d = Duration::from_millis(ms.abs_diff(epoch_now));
            if ms >= epoch_now {
                now + d
            } else {
                now.checked_sub(d).unwrap_or(now)
            }
        };
        if meta.created_at > 0 {
            s.guard.set_born(instant(meta.created_at));
        }
        s.guard.locked = checkpoint.locked;
        // Questions whose reveal happened (a missing answer resets the streak).
        let questions = quiz.questions.len() as u32;
        let (closed, open) = match &checkpoint.phase {
            PhaseRecord::Lobby => (0, None),
            PhaseRecord::Question { index, .. } => (*index, Some(*index)),
            PhaseRecord::Reveal { index, .. } => (index + 1, None),
            PhaseRecord::Finished => (questions, None),
        };
        let mut by_player: HashMap<u64, BTreeMap<u32, &AnswerRecord>> = HashMap::new();
        for a in answers {
            by_player.entry(a.player).or_default().insert(a.question, a);
            s.roster.reserve_through(a.player);
        }
        let mut writes = Vec::with_capacity(players.len());
        let mut open_answers = HashMap::new();
        for rec in players {
            if rec.banned {
                s.guard.ban(rec.account_id, &rec.resume_token);
                s.roster.reserve_through(rec.id);
                continue;
            }
            let no_answers = BTreeMap::new();
            let mine = by_player.get(&rec.id).unwrap_or(&no_answers);
            let Replayed {
                score,
                streak,
                at,
                open_answer,
            } = replay(mine, closed, open, rec.joined_at);
            if let Some(accepted) = open_answer {
                open_answers.insert(rec.id, accepted);
            }
            writes.push(ScoreWrite {
                player: rec.id,
                delta: score,
                op_key: format!("{}:restore:{epoch_now}:{}", meta.session_id, rec.id),
                at,
            });
            s.roster.restore(Player {
                id: rec.id,
                nickname: rec.nickname,
                account_id: rec.account_id,
                resume_token: rec.resume_token,
                streak,
                connected: false,
                last_pushed: None,
                top_seen: 0,
                reads_reveal_standing: false,
                extra_time_percent: rec.extra_time_percent,
                joined_at: rec.joined_at,
            });
        }
        // The ghost of a ghost duel has no durable answers: its closed
        // questions are re-derived from the recording (see `hostless`).
        if let Some((ghost, records)) = s.ghost_replayed(closed, epoch_now) {
            let mine: BTreeMap<u32, &AnswerRecord> =
                records.iter().map(|a| (a.question, a)).collect();
            let joined_at = s.roster.get(ghost).map_or(epoch_now, |p| p.joined_at);
            let Replayed {
                score, streak, at, ..
            } = replay(&mine, closed, None, joined_at);
            if let Some(p) = s.roster.get_mut(ghost) {
                p.streak = streak;
            }
            writes.push(ScoreWrite {
                player: ghost,
                delta: score,
                op_key: format!("{}:restore:{epoch_now}:{ghost}", meta.session_id),
                at,
            });
        }
        s.end_requested = checkpoint.end_requested;
        s.state = match checkpoint.phase {
            PhaseRecord::Lobby => State::Lobby,
            PhaseRecord::Question {
                index,
                opened_at,
                closing,
                extra_time,
            } if index < questions => {
                let q = &quiz.questions[index as usize];
                let counted = answers
                    .iter()
                    .filter(|a| a.question == index && open_answers.contains_key(&a.player));
                let mut counts = vec![0u32; q.choices.len()];
                for c in counted.flat_map(|a| &a.choices) {
                    if let Some(n) = counts.get_mut(*c as usize) {
                        *n += 1;
                    }
                }
                State::Question(Open {
                    index,
                    opened: instant(opened_at),
                    opened_at,
                    deadline: instant(opened_at + i64::from(q.time_limit_ms)),
                    extra: extra_time.into_iter().collect(),
                    answers: open_answers,
                    counts,
                    pending: 0,
                    closing,
                    closed_at: None,
                })
            }
            PhaseRecord::Reveal { index, until } => State::Reveal {
                index,
                until: instant(until),
            },
            PhaseRecord::Question { .. } | PhaseRecord::Finished => State::Finished,
        };
        if matches!(s.state, State::Question(Open { closing: true, .. })) {
            // Closed before the crash: reveal with what is durable.
            s.close_question(now);
        }
        if matches!(s.state, State::Finished) {
            s.emit(Effect::Finished);
        }
        s.ranks.apply(&writes);
        s.push.continue_after(epoch_now.max(0) as u64);
        s.push.board_changed(now);
        s.push.counts_changed(now);
        (s, writes)
    }
}

/// A player's state recomputed from their durable answers.
struct Replayed {
    /// Points of the closed questions.
    score: i64,
    /// Streak after the last closed question.
    streak: u32,
    /// Server time the score was reached (the board's tie-break).
    at: i64,
    /// Their answer to the open question, as scored, its points held.
    open_answer: Option<Accepted>,
}

/// Replays one player's answers (by question): questions `0..closed` were
/// revealed (a missing or wrong answer resets the streak) and make the
/// score; `open` is the open question, whose answer is held apart with the
/// streak it makes. Unanswered, a player's tie-break time is their join
/// time.
fn replay(
    answers: &BTreeMap<u32, &AnswerRecord>,
    closed: u32,
    open: Option<u32>,
    joined_at: i64,
) -> Replayed {
    let mut streak = 0u32;
    for q in 0..closed {
        streak = match answers.get(&q) {
            Some(a) if a.correct => streak + 1,
            _ => 0,
        };
    }
    let open_answer = open.and_then(|q| answers.get(&q)).map(|a| Accepted {
        scored: Scored {
            correct: a.correct,
            points: a.points,
            streak: if a.correct { streak + 1 } else { 0 },
        },
        durable: true,
        answered_at: a.answered_at,
    });
    let (mut score, mut at) = (0i64, joined_at);
    for a in answers.values().filter(|a| a.question < closed) {
        score += i64::from(a.points);
        if a.points > 0 {
            at = at.max(a.answered_at);
        }
    }
    Replayed {
        score,
        streak,
        at,
        open_answer,
    }
}
