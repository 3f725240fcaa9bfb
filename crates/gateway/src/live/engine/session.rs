//! The session state machine: lobby -> question -> reveal -> ... -> finished.
//!
//! Synchronous and I/O-free: every method takes the current time, mutates
//! the state and queues [`Effect`]s that the async driver
//! ([`crate::live::actor`]) performs. Time is `tokio::time::Instant`, so tests
//! drive it with `tokio::time::pause`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sdk::live::{
    close, ErrorCode, FinishReason, Phase, PlayerResult, ServerMsg, Welcome, PROTOCOL_VERSION,
};
use tokio::time::Instant;

use super::effects::{Effect, PendingAnswer, ScoreWrite, Target};
use super::guard::{Admitted, Guard};
use super::push::PushState;
use super::quiz::{normalise_choices, LiveQuiz};
use super::roster::{Player, Roster};
use super::scoring::{score_answer, Scored};

/// An accepted answer to the open question.
///
/// Its points are held here, off the player's total and the board, until
/// the question closes: a score that moved while the question is open
/// would tell its player (and anyone playing several seats, one per
/// choice) which choice is right before the reveal.
#[derive(Debug, Clone, Copy)]
pub(super) struct Accepted {
    /// As scored when accepted (points, and the streak it makes).
    pub(super) scored: Scored,
    /// Durably recorded (and acknowledged).
    pub(super) durable: bool,
    /// Server time (ms) it was received: the board's tie-break once the
    /// points are applied at the close.
    pub(super) answered_at: i64,
}

/// The open question.
#[derive(Debug)]
pub(super) struct Open {
    pub(super) index: u32,
    pub(super) opened: Instant,
    pub(super) opened_at: i64,
    pub(super) deadline: Instant,
    /// Accepted answers, their points held until the close.
    pub(super) answers: HashMap<u64, Accepted>,
    pub(super) counts: Vec<u32>,
    /// Accepted but not yet durable; the reveal waits for them.
    pub(super) pending: usize,
    /// Deadline passed or skipped; waiting for `pending` to drain.
    pub(super) closing: bool,
}

#[derive(Debug)]
pub(super) enum State {
    Lobby,
    Question(Open),
    Reveal { index: u32, until: Instant },
    Finished,
}

/// One live session.
#[derive(Debug)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// Join code.
    pub code: String,
    pub(super) quiz: Arc<LiveQuiz>,
    pub(super) state: State,
    /// The players.
    pub roster: Roster,
    pub(super) push: PushState,
    pub(super) end_requested: bool,
    /// Join rules, lock, bans, two-step pattern, lifetime (see [`super::guard`]).
    pub(super) guard: Guard,
    pub(super) finish_reason: Option<FinishReason>,
    epoch_base: (Instant, i64),
    out: Vec<Effect>,
}

impl Session {
    /// A new session in the lobby. `epoch_now_ms` is the wall clock at `now`.
    pub fn new(
        id: i64,
        code: String,
        quiz: Arc<LiveQuiz>,
        now: Instant,
        epoch_now_ms: i64,
    ) -> Self {
        let push = PushState::new(Duration::from_millis(250), quiz.top_n);
        Session {
            id,
            code,
            quiz,
            state: State::Lobby,
            roster: Roster::default(),
            push,
            end_requested: false,
            guard: Guard::new(now),
            finish_reason: None,
            epoch_base: (now, epoch_now_ms),
            out: Vec::new(),
        }
    }

    /// Wall-clock ms since the epoch for an instant.
    pub fn epoch(&self, at: Instant) -> i64 {
        let (base, ms) = self.epoch_base;
        ms + at.saturating_duration_since(base).as_millis() as i64
    }

    /// Takes the queued effects.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    pub(super) fn emit(&mut self, e: Effect) {
        self.out.push(e);
    }

    pub(super) fn out_extend(&mut self, effects: Vec<Effect>) {
        self.out.extend(effects);
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Lobby => Phase::Lobby,
            State::Question(_) => Phase::Question,
            State::Reveal { .. } => Phase::Reveal,
            State::Finished => Phase::Finished,
        }
    }

    /// When the driver must call [`Session::tick`] next.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let timer = match &self.state {
            State::Question(o) if !o.closing => Some(o.deadline),
            State::Reveal { until, .. } => Some(*until),
            _ => None,
        };
        [timer, self.push.due_at(), self.guard_wakeup()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advances timers: rotates the two-step pattern, ends an expired
    /// session, closes an expired question, ends a reveal.
    pub fn tick(&mut self, now: Instant) {
        self.guard_tick(now);
        match &self.state {
            State::Question(o) if !o.closing && now >= o.deadline => self.close_question(now),
            State::Reveal { index, until } if now >= *until => {
                let next = index + 1;
                self.advance(now, next);
            }
            _ => {}
        }
    }

    /// A new player joins (or an account rejoins) without a two-step
    /// pattern. Returns the player id.
    pub fn join(
        &mut self,
        now: Instant,
        nickname: &str,
        account_id: Option<i64>,
        token: String,
    ) -> Result<u64, ErrorCode> {
        self.join_with(now, nickname, account_id, None, token)
    }

    /// A join carrying the two-step `pattern` (if any), checked against the
    /// session's join rules, lock and bans (see [`super::guard`]). A
    /// generated-nickname session ignores `nickname`.
    pub fn join_with(
        &mut self,
        now: Instant,
        nickname: &str,
        account_id: Option<i64>,
        pattern: Option<&str>,
        token: String,
    ) -> Result<u64, ErrorCode> {
        if matches!(self.state, State::Finished) {
            return Err(ErrorCode::Finished);
        }
        let nickname = match self.admit(now, nickname, account_id, pattern)? {
            Admitted::Existing(id) => return Ok(id),
            Admitted::New(nick) => nick,
        };
        let (id, new) = self.roster.join(&nickname, account_id, token)?;
        if new {
            let at = self.epoch(now);
            self.emit(Effect::Score(vec![ScoreWrite {
                player: id,
                delta: 0,
                op_key: format!("{}:join:{id}", self.id),
                at,
            }]));
            self.push.board_changed(now);
        }
        Ok(id)
    }

    /// A connection for `player` attached (join or resume) at `now`.
    pub fn attach(&mut self, now: Instant, player: u64) {
        let players = self.roster.len();
        let Some(p) = self.roster.get_mut(player) else {
            return;
        };
        p.connected = true;
        // The new connection gets a fresh rank frame and the top list.
        p.last_pushed = None;
        p.top_seen = 0;
        let msg = roster_msg(p.id, &p.nickname, "joined", players);
        self.emit(Effect::Send(Target::Host, msg));
        self.push.board_changed(now);
    }

    /// The player's connection went away (they may resume).
    pub fn detach(&mut self, player: u64) {
        let players = self.roster.len();
        let Some(p) = self.roster.get_mut(player) else {
            return;
        };
        p.connected = false;
        let msg = roster_msg(p.id, &p.nickname, "left", players);
        self.emit(Effect::Send(Target::Host, msg));
    }

    /// The first frame for a connection.
    pub fn welcome(&self, now: Instant, player: Option<u64>) -> Welcome {
        let p = player.and_then(|id| self.roster.get(id));
        let (question, answered) = match &self.state {
            State::Question(o) if !o.closing => {
                let q = &self.quiz.questions[o.index as usize];
                let view = q.view(o.index, self.quiz.questions.len() as u32, o.opened_at);
                let answered = player.is_some_and(|id| o.answers.contains_key(&id));
                (Some(view), answered)
            }
            _ => (None, false),
        };
        Welcome {
            protocol: PROTOCOL_VERSION,
            session_id: self.id,
            code: self.code.clone(),
            role: if player.is_some() {
                sdk::live::Role::Player
            } else {
                sdk::live::Role::Host
            },
            player_id: p.map(|p| p.id),
            nickname: p.map(|p| p.nickname.clone()),
            resume_token: p.map(|p| p.resume_token.clone()),
            phase: self.phase(),
            question,
            answered,
            score: p.map_or(0, |p| p.score),
            players: self.roster.len() as u32,
            server_time: self.epoch(now),
            locked: self.guard.locked,
        }
    }

    /// Host: open the first question.
    pub fn start(&mut self, now: Instant) -> Result<(), ErrorCode> {
        match self.state {
            State::Lobby => {
                self.open_question(now, 0);
                Ok(())
            }
            State::Finished => Err(ErrorCode::Finished),
            _ => Err(ErrorCode::WrongPhase),
        }
    }

    /// Host: close the open question now, or leave the reveal now.
    pub fn skip(&mut self, now: Instant) -> Result<(), ErrorCode> {
        match &self.state {
            State::Question(o) if !o.closing => {
                self.close_question(now);
                Ok(())
            }
            State::Reveal { index, .. } => {
                let next = index + 1;
                self.advance(now, next);
                Ok(())
            }
            State::Finished => Err(ErrorCode::Finished),
            _ => Err(ErrorCode::WrongPhase),
        }
    }

    /// Host: finish now. An open question is closed (and revealed) first.
    pub fn end(&mut self, now: Instant) -> Result<(), ErrorCode> {
        if !matches!(self.state, State::Finished) {
            self.finish_reason.get_or_insert(FinishReason::Host);
        }
        match &self.state {
            State::Finished => Err(ErrorCode::Finished),
            State::Question(o) => {
                self.end_requested = true;
                if !o.closing {
                    self.close_question(now);
                }
                Ok(())
            }
            _ => {
                self.finish();
                Ok(())
            }
        }
    }

    /// Host: remove (kick) a player: disconnected, off the board, resume
    /// token dead. They may join again as a new player; [`Session::ban`]
    /// keeps them out.
    pub fn remove(&mut self, now: Instant, player: u64) -> Result<(), ErrorCode> {
        self.remove_as(now, player, "removed").map(|_| ())
    }

    /// Removes a player, telling the host `event`.
    pub(super) fn remove_as(
        &mut self,
        now: Instant,
        player: u64,
        event: &str,
    ) -> Result<Player, ErrorCode> {
        let p = self.roster.remove(player).ok_or(ErrorCode::UnknownPlayer)?;
        self.emit(Effect::Close(Target::Player(player), close::REMOVED));
        self.emit(Effect::Unscore(player));
        let msg = roster_msg(p.id, &p.nickname, event, self.roster.len());
        self.emit(Effect::Send(Target::Host, msg));
        self.push.board_changed(now);
        self.check_all_answered(now);
        Ok(p)
    }

    fn open_question(&mut self, now: Instant, index: u32) {
        let q = &self.quiz.questions[index as usize];
        let opened_at = self.epoch(now);
        let view = q.view(index, self.quiz.questions.len() as u32, opened_at);
        let deadline = now + Duration::from_millis(u64::from(q.time_limit_ms));
        self.state = State::Question(Open {
            index,
            opened: now,
            opened_at,
            deadline,
            answers: HashMap::new(),
            counts: vec![0; q.choices.len()],
            pending: 0,
            closing: false,
        });
        self.emit(Effect::Send(Target::All, ServerMsg::Question(view)));
        self.push.counts_changed(now);
    }

    fn advance(&mut self, now: Instant, next: u32) {
        if self.end_requested || next as usize >= self.quiz.questions.len() {
            self.finish();
        } else {
            self.open_question(now, next);
        }
    }

    pub(super) fn finish(&mut self) {
        self.finish_reason.get_or_insert(FinishReason::Completed);
        self.state = State::Finished;
        self.emit(Effect::Finished);
    }

    /// Closes the open question: reveal now, or once pending answers drain.
    pub(super) fn close_question(&mut self, now: Instant) {
        let State::Question(o) = &mut self.state else {
            return;
        };
        o.closing = true;
        if o.pending == 0 {
            self.reveal(now);
        }
    }

    /// The question closed (every accepted answer is durable): applies the
    /// held points to the players' totals and the board, all together, and
    /// reveals. The reveal frames are queued before the board writes, and
    /// the first push after them shows the new scores.
    fn reveal(&mut self, now: Instant) {
        let State::Question(o) = std::mem::replace(&mut self.state, State::Lobby) else {
            return;
        };
        let q = &self.quiz.questions[o.index as usize];
        let correct = q.correct.clone();
        let session_id = self.id;
        let mut writes = Vec::new();
        let mut frames = Vec::with_capacity(self.roster.len() + 1);
        for id in self.roster.ids() {
            let Some(p) = self.roster.get_mut(id) else {
                continue;
            };
            let result = match o.answers.get(&id) {
                Some(a) => {
                    let s = a.scored;
                    p.score += i64::from(s.points);
                    p.streak = s.streak;
                    if s.points > 0 {
                        writes.push(ScoreWrite {
                            player: id,
                            delta: i64::from(s.points),
                            op_key: format!("{session_id}:{}:{id}", o.index),
                            at: a.answered_at,
                        });
                    }
                    PlayerResult {
                        answered: true,
                        correct: s.correct,
                        points: s.points,
                        streak: s.streak,
                        score: p.score,
                    }
                }
                None => {
                    p.streak = 0;
                    PlayerResult {
                        answered: false,
                        correct: false,
                        points: 0,
                        streak: 0,
                        score: p.score,
                    }
                }
            };
            let msg = ServerMsg::Reveal {
                question: o.index,
                correct: correct.clone(),
                counts: o.counts.clone(),
                result: Some(result),
            };
            frames.push(Effect::Send(Target::Player(id), msg));
        }
        let host = ServerMsg::Reveal {
            question: o.index,
            correct,
            counts: o.counts.clone(),
            result: None,
        };
        frames.push(Effect::Send(Target::Host, host));
        self.out.extend(frames);
        if !writes.is_empty() {
            self.emit(Effect::Score(writes));
            self.push.board_changed(now);
        }
        let until = now + Duration::from_millis(self.quiz.reveal_ms);
        self.state = State::Reveal {
            index: o.index,
            until,
        };
        if self.end_requested {
            self.finish();
        }
    }

    /// Accepts one answer (not yet durable): validates phase, question,
    /// deadline, once-only and choices, and scores it. The points are held
    /// until the question closes (see [`Session::commit`]).
    pub fn answer(
        &mut self,
        now: Instant,
        player: u64,
        question: u32,
        choices: &[u32],
        req: Option<u64>,
    ) -> Result<PendingAnswer, ErrorCode> {
        let streak_before = self
            .roster
            .get(player)
            .ok_or(ErrorCode::UnknownPlayer)?
            .streak;
        let session_id = self.id;
        let epoch_now = self.epoch(now);
        let rules = self.quiz.rules;
        let o = match &mut self.state {
            State::Question(o) => o,
            State::Finished => return Err(ErrorCode::Finished),
            State::Reveal { index, .. } if *index == question => return Err(ErrorCode::TooLate),
            _ => return Err(ErrorCode::NotOpen),
        };
        if o.index != question {
            return Err(if question < o.index {
                ErrorCode::TooLate
            } else {
                ErrorCode::NotOpen
            });
        }
        if o.closing || now >= o.deadline {
            return Err(ErrorCode::TooLate);
        }
        if o.answers.contains_key(&player) {
            return Err(ErrorCode::AlreadyAnswered);
        }
        let q = &self.quiz.questions[o.index as usize];
        let chosen = normalise_choices(choices, q.choices.len()).ok_or(ErrorCode::BadChoice)?;
        let elapsed = now.saturating_duration_since(o.opened).as_millis() as u64;
        let limit = u64::from(q.time_limit_ms);
        let scored = score_answer(&rules, q.is_correct(&chosen), elapsed, limit, streak_before);
        o.answers.insert(
            player,
            Accepted {
                scored,
                durable: false,
                answered_at: epoch_now,
            },
        );
        o.pending += 1;
        Ok(PendingAnswer {
            session_id,
            question,
            question_id: q.question_id,
            player,
            choices: chosen,
            correct: scored.correct,
            points: scored.points,
            elapsed_ms: elapsed.min(u64::from(u32::MAX)) as u32,
            answered_at: epoch_now,
            req,
            accepted: now,
        })
    }

    /// Answers are durable: count them (host view), ack them, maybe
    /// reveal. Their points stay held: nothing a player receives before the
    /// reveal (ack, `rank`, `leaderboard`, a resume's welcome) depends on
    /// whether an answer was right.
    pub fn commit(&mut self, now: Instant, answers: Vec<PendingAnswer>) {
        let mut acks = Vec::new();
        if let State::Question(o) = &mut self.state {
            for a in answers {
                if a.question != o.index {
                    continue; // cannot happen: the reveal waits for pending answers
                }
                let Some(accepted) = o.answers.get_mut(&a.player) else {
                    continue;
                };
                if accepted.durable {
                    continue;
                }
                accepted.durable = true;
                o.pending -= 1;
                for &c in &a.choices {
                    o.counts[c as usize] += 1;
                }
                let ack = ServerMsg::AnswerAck {
                    question: a.question,
                    elapsed_ms: a.elapsed_ms,
                    req: a.req,
                };
                acks.push(Effect::Send(Target::Player(a.player), ack));
            }
        }
        self.out.extend(acks);
        self.push.counts_changed(now);
        if let State::Question(o) = &self.state {
            if o.closing && o.pending == 0 {
                self.reveal(now);
                return;
            }
        }
        self.check_all_answered(now);
    }

    fn check_all_answered(&mut self, now: Instant) {
        let State::Question(o) = &self.state else {
            return;
        };
        if o.closing || o.answers.is_empty() || o.pending > 0 {
            return;
        }
        let all = self.roster.iter().all(|p| o.answers.contains_key(&p.id));
        if all {
            self.close_question(now);
        }
    }
}

pub(super) fn roster_msg(player_id: u64, nickname: &str, event: &str, players: usize) -> ServerMsg {
    ServerMsg::Roster {
        player_id,
        nickname: nickname.to_string(),
        event: event.to_string(),
        players: players as u32,
    }
}
