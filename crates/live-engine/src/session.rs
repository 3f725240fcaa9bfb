//! The session state machine: lobby -> question -> reveal -> ... -> finished.
//!
//! Synchronous and I/O-free: every method takes the current time (an
//! [`Instant`] of the driver's clock), mutates the state and queues
//! [`Effect`]s that the driver performs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Instant;
use crate::effects::{Effect, PendingAnswer, ScoreWrite, Target};
use crate::guard::{Admitted, Guard};
use crate::push::PushState;
use crate::quiz::{normalise_choices, personal_limit_ms, LiveQuiz};
use crate::ranks::Ranks;
use crate::restore::PlayerRecord;
use crate::roster::{Player, Pushed, Roster};
use crate::scoring::{score_answer, Scored};
use livequiz_sdk::live::{
    close, AnswerCountsView, Capabilities, ErrorCode, FinishReason, Phase, PlayerResult,
    RosterEntry, ServerMsg, Welcome, EXTRA_TIME_MAX_PERCENT, EXTRA_TIME_MIN_PERCENT,
    PROTOCOL_VERSION,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// An accepted answer to the open question.
///
/// Its points are held here, off the player's total and the board, until
/// the question closes: a score that moved while the question is open
/// would tell its player (and anyone playing several seats, one per
/// choice) which choice is right before the reveal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    /// As scored when accepted (points, and the streak it makes).
    pub(crate) scored: Scored,
    /// Durably recorded (and acknowledged).
    pub(crate) durable: bool,
    /// Server time (ms) it was received: the board's tie-break once the
    /// points are applied at the close.
    pub(crate) answered_at: i64,
}

/// The open question.
#[derive(Debug)]
pub(crate) struct Open {
    pub(crate) index: u32,
    pub(crate) opened: Instant,
    pub(crate) opened_at: i64,
    /// The question's own deadline (players without extra time).
    pub(crate) deadline: Instant,
    /// Extra time of the players who had some when the question opened
    /// (percent of the limit, over 100): their personal deadlines. A change
    /// the host makes while it is open applies from the next question.
    pub(crate) extra: HashMap<u64, u32>,
    /// Accepted answers, their points held until the close.
    pub(crate) answers: HashMap<u64, Accepted>,
    pub(crate) counts: Vec<u32>,
    /// Accepted but not yet durable; the reveal waits for them.
    pub(crate) pending: usize,
    /// Deadline passed or skipped; waiting for `pending` to drain.
    pub(crate) closing: bool,
    /// When it stopped taking answers, once `closing`: answers the gateway
    /// received before then are still accepted until the reveal (they may
    /// reach the session later than they arrived, e.g. behind a busy turn).
    pub(crate) closed_at: Option<Instant>,
}

impl Open {
    /// The player's extra time on this question, in percent (100: none).
    pub(crate) fn percent(&self, player: u64) -> u32 {
        self.extra.get(&player).copied().unwrap_or(100)
    }

    /// When this player's answers stop being accepted.
    fn deadline_of(&self, player: u64, limit_ms: u32) -> Instant {
        let deadline = match self.extra.get(&player) {
            None => self.deadline,
            Some(&pct) => self.opened + Duration::from_millis(personal_limit_ms(limit_ms, pct)),
        };
        match self.closed_at {
            Some(closed) => deadline.min(closed),
            None => deadline,
        }
    }

    /// When the question closes by itself: its deadline, or the latest
    /// personal deadline of a player with extra time who is still in the
    /// session and has not answered.
    pub(crate) fn closes_at(&self, roster: &Roster, limit_ms: u32) -> Instant {
        self.extra
            .keys()
            .filter(|id| !self.answers.contains_key(id) && roster.get(**id).is_some())
            .map(|&id| self.deadline_of(id, limit_ms))
            .fold(self.deadline, Instant::max)
    }

    /// The latest personal deadline of the players with extra time (server
    /// time, ms), if any had some when it opened: for the host's view.
    fn latest_deadline(&self, limit_ms: u32) -> Option<i64> {
        let pct = self.extra.values().copied().max()?;
        Some(self.opened_at + personal_limit_ms(limit_ms, pct) as i64)
    }
}

#[derive(Debug)]
pub(crate) enum State {
    Lobby,
    Question(Open),
    Reveal { index: u32, until: Instant },
    Finished,
}

/// One live session.
#[derive(Debug)]
pub struct Session {
    /// The ranked scores (the only copy; see [`crate::ranks`]).
    pub(crate) ranks: Ranks,
    /// Randomness (two-step patterns, generated nicknames), seeded by the
    /// driver: the engine reads no entropy itself.
    pub(crate) rng: StdRng,
    /// Database id.
    pub id: i64,
    /// Join code.
    pub code: String,
    pub(crate) quiz: Arc<LiveQuiz>,
    pub(crate) state: State,
    /// The players.
    pub roster: Roster,
    pub(crate) push: PushState,
    pub(crate) end_requested: bool,
    /// Join rules, lock, bans, two-step pattern, lifetime (see [`crate::guard`]).
    pub(crate) guard: Guard,
    pub(crate) finish_reason: Option<FinishReason>,
    /// Set for sessions the server runs (see [`crate::hostless`]).
    pub(crate) hostless: Option<crate::hostless::HostlessState>,
    epoch_base: (Instant, i64),
    out: Vec<Effect>,
}

impl Session {
    /// A new session in the lobby. `epoch_now_ms` is the wall clock at
    /// `now`; `seed` seeds the session's random choices (two-step patterns,
    /// generated nicknames), so pass fresh entropy (a cryptographic RNG's
    /// output: patterns must not be predictable).
    pub fn new(
        id: i64,
        code: String,
        quiz: Arc<LiveQuiz>,
        now: Instant,
        epoch_now_ms: i64,
        seed: [u8; 32],
    ) -> Self {
        let push = PushState::new(Duration::from_millis(250), quiz.top_n);
        Session {
            ranks: Ranks::new(),
            rng: StdRng::from_seed(seed),
            id,
            code,
            quiz,
            state: State::Lobby,
            roster: Roster::default(),
            push,
            end_requested: false,
            guard: Guard::new(now),
            finish_reason: None,
            hostless: None,
            epoch_base: (now, epoch_now_ms),
            out: Vec::new(),
        }
    }

    /// The instant and wall-clock ms the session's clock is based on.
    pub(crate) fn epoch_base(&self) -> (Instant, i64) {
        self.epoch_base
    }

    /// Wall-clock ms since the epoch for an instant.
    pub fn epoch(&self, at: Instant) -> i64 {
        let (base, ms) = self.epoch_base;
        ms + at.saturating_duration_since(base).as_millis() as i64
    }

    /// A player's total (closed questions), from the session's board.
    pub fn score(&self, player: u64) -> Option<i64> {
        self.ranks.score(player)
    }

    /// The ranked scores.
    pub fn ranks(&self) -> &Ranks {
        &self.ranks
    }

    /// Every player's total as writes that rebuild the board on an empty
    /// one (a mirror starting over), with op keys
    /// `"<session>:<tag>:<player>"`: pass a tag no earlier rebuild used.
    pub fn mirror_writes(&self, tag: &str) -> Vec<ScoreWrite> {
        self.ranks
            .all()
            .into_iter()
            .map(|r| ScoreWrite {
                player: r.player,
                delta: r.score,
                op_key: format!("{}:{tag}:{}", self.id, r.player),
                at: r.at,
            })
            .collect()
    }

    /// Takes the queued effects.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    pub(crate) fn emit(&mut self, e: Effect) {
        self.out.push(e);
    }

    pub(crate) fn out_extend(&mut self, effects: Vec<Effect>) {
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

    /// When the open question closes by itself (see [`Open::closes_at`]).
    fn question_closes_at(&self, o: &Open) -> Instant {
        let limit = self.quiz.questions[o.index as usize].time_limit_ms;
        o.closes_at(&self.roster, limit)
    }

    /// When the driver must call [`Session::tick`] next.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let timer = match &self.state {
            State::Question(o) if !o.closing => Some(self.question_closes_at(o)),
            State::Reveal { until, .. } => Some(*until),
            _ => None,
        };
        [
            timer,
            self.push.due_at(),
            self.guard_wakeup(),
            self.hostless_wakeup(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances timers: rotates the two-step pattern, ends an expired
    /// session, closes an expired question, ends a reveal.
    pub fn tick(&mut self, now: Instant) {
        self.guard_tick(now);
        self.hostless_tick(now);
        match &self.state {
            State::Question(o) if !o.closing && now >= self.question_closes_at(o) => {
                self.close_question(now)
            }
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
    /// session's join rules, lock and bans (see [`crate::guard`]). A
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
            if let Some(p) = self.roster.get_mut(id) {
                p.joined_at = at;
            }
            let write = ScoreWrite {
                player: id,
                delta: 0,
                op_key: format!("{}:join:{id}", self.id),
                at,
            };
            self.ranks.apply(std::slice::from_ref(&write));
            self.emit(Effect::Score(vec![write]));
            self.push.board_changed(now);
        }
        Ok(id)
    }

    /// A connection for `player` attached (join or resume) at `now`, with
    /// no [`Capabilities`] declared (it gets every `rank` frame, including
    /// the one after a reveal that repeats the reveal's standing).
    pub fn attach(&mut self, now: Instant, player: u64) {
        self.attach_with(now, player, Capabilities::default());
    }

    /// A connection for `player` attached (join or resume) at `now`,
    /// declaring `capabilities` in its first frame. They hold for this
    /// connection only: a resume declares them again.
    pub fn attach_with(&mut self, now: Instant, player: u64, capabilities: Capabilities) {
        let players = self.roster.len();
        let Some(p) = self.roster.get_mut(player) else {
            return;
        };
        p.connected = true;
        p.reads_reveal_standing = capabilities.reads_reveal_standing;
        // The new connection gets a fresh rank frame and the top list.
        p.last_pushed = None;
        p.top_seen = 0;
        let msg = roster_msg(p, "joined", players);
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
        p.reads_reveal_standing = false;
        let msg = roster_msg(p, "left", players);
        self.emit(Effect::Send(Target::Host, msg));
    }

    /// The first frame for a connection: a player's (their own question
    /// view, extra time) or the host's (full texts, the roster, the open
    /// question's counts).
    pub fn welcome(&self, now: Instant, player: Option<u64>) -> Welcome {
        let p = player.and_then(|id| self.roster.get(id));
        let total = self.quiz.questions.len() as u32;
        let (question, answered) = match &self.state {
            State::Question(o) if !o.closing => {
                let q = &self.quiz.questions[o.index as usize];
                let view = match player {
                    Some(id) => q.player_view(
                        o.index,
                        total,
                        o.opened_at,
                        self.quiz.hide_text_on_devices,
                        o.percent(id),
                    ),
                    None => {
                        let mut v = q.view(o.index, total, o.opened_at);
                        v.latest_deadline = o.latest_deadline(q.time_limit_ms);
                        v
                    }
                };
                let answered = player.is_some_and(|id| o.answers.contains_key(&id));
                (Some(view), answered)
            }
            _ => (None, false),
        };
        let host = player.is_none();
        let roster = host.then(|| self.roster_entries());
        let answer_counts = match &self.state {
            State::Question(o) if host => Some(self.counts_view(o)),
            _ => None,
        };
        Welcome {
            protocol: PROTOCOL_VERSION,
            session_id: self.id,
            code: self.code.clone(),
            role: if player.is_some() {
                livequiz_sdk::live::Role::Player
            } else {
                livequiz_sdk::live::Role::Host
            },
            player_id: p.map(|p| p.id),
            nickname: p.map(|p| p.nickname.clone()),
            resume_token: p.map(|p| p.resume_token.clone()),
            phase: self.phase(),
            question,
            answered,
            score: p.and_then(|p| self.ranks.score(p.id)).unwrap_or(0),
            players: self.roster.len() as u32,
            server_time: self.epoch(now),
            locked: self.guard.locked,
            max_players: self.guard.rules.max_players,
            extra_time_percent: p.map(|p| p.extra_time_percent),
            roster,
            answer_counts,
        }
    }

    /// Every player, by id, for the host's welcome.
    fn roster_entries(&self) -> Vec<RosterEntry> {
        self.roster
            .ids()
            .into_iter()
            .filter_map(|id| self.roster.get(id))
            .map(|p| RosterEntry {
                player_id: p.id,
                nickname: p.nickname.clone(),
                connected: p.connected,
                extra_time_percent: p.extra_time_percent,
            })
            .collect()
    }

    /// The open question's answer counts (durable answers), as the host sees them.
    pub(crate) fn counts_view(&self, o: &Open) -> AnswerCountsView {
        AnswerCountsView {
            question: o.index,
            answered: o.answers.values().filter(|a| a.durable).count() as u32,
            players: self.roster.len() as u32,
            counts: o.counts.clone(),
        }
    }

    /// Host: gives a player extra time, `percent` of each question's limit
    /// ([`EXTRA_TIME_MIN_PERCENT`]..=[`EXTRA_TIME_MAX_PERCENT`]), from the
    /// next question that opens. The host is told with a `roster` frame
    /// (`extra_time`). Returns the player's record to checkpoint.
    pub fn set_extra_time(&mut self, player: u64, percent: u32) -> Result<PlayerRecord, ErrorCode> {
        if matches!(self.state, State::Finished) {
            return Err(ErrorCode::Finished);
        }
        if !(EXTRA_TIME_MIN_PERCENT..=EXTRA_TIME_MAX_PERCENT).contains(&percent) {
            return Err(ErrorCode::BadExtraTime);
        }
        let players = self.roster.len();
        let p = self
            .roster
            .get_mut(player)
            .ok_or(ErrorCode::UnknownPlayer)?;
        p.extra_time_percent = percent;
        let msg = roster_msg(p, "extra_time", players);
        let joined_at = p.joined_at;
        self.emit(Effect::Send(Target::Host, msg));
        self.player_record(player, joined_at)
            .ok_or(ErrorCode::UnknownPlayer)
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
    pub(crate) fn remove_as(
        &mut self,
        now: Instant,
        player: u64,
        event: &str,
    ) -> Result<Player, ErrorCode> {
        let p = self.roster.remove(player).ok_or(ErrorCode::UnknownPlayer)?;
        self.ranks.remove(player);
        self.emit(Effect::Close(Target::Player(player), close::REMOVED));
        self.emit(Effect::Unscore(player));
        let msg = roster_msg(&p, event, self.roster.len());
        self.emit(Effect::Send(Target::Host, msg));
        self.push.board_changed(now);
        self.check_all_answered(now);
        Ok(p)
    }

    /// Opens question `index`. Everyone gets one shared `question` frame,
    /// unless the session hides texts on devices (then the host gets the
    /// full frame and the players another shared one without texts) or
    /// players have extra time (each of them gets their own frame).
    fn open_question(&mut self, now: Instant, index: u32) {
        let quiz = self.quiz.clone();
        let q = &quiz.questions[index as usize];
        let total = quiz.questions.len() as u32;
        let opened_at = self.epoch(now);
        let deadline = now + Duration::from_millis(u64::from(q.time_limit_ms));
        let extra: HashMap<u64, u32> = self
            .roster
            .iter()
            .filter(|p| p.extra_time_percent != 100)
            .map(|p| (p.id, p.extra_time_percent))
            .collect();
        let open = Open {
            index,
            opened: now,
            opened_at,
            deadline,
            extra,
            answers: HashMap::new(),
            counts: vec![0; q.choices.len()],
            pending: 0,
            closing: false,
            closed_at: None,
        };
        let hide = quiz.hide_text_on_devices;
        let mut host = q.view(index, total, opened_at);
        host.latest_deadline = open.latest_deadline(q.time_limit_ms);
        if !hide && open.extra.is_empty() {
            self.emit(Effect::Send(Target::All, ServerMsg::Question(host)));
        } else {
            let shared = q.player_view(index, total, opened_at, hide, 100);
            let mut personal: Vec<(u64, ServerMsg)> = open
                .extra
                .iter()
                .map(|(&id, &pct)| {
                    let v = q.player_view(index, total, opened_at, hide, pct);
                    (id, ServerMsg::Question(v))
                })
                .collect();
            personal.sort_unstable_by_key(|(id, _)| *id);
            self.emit(Effect::Send(Target::Host, ServerMsg::Question(host)));
            self.emit(Effect::SendPlayers {
                shared: ServerMsg::Question(shared),
                personal,
            });
        }
        self.state = State::Question(open);
        self.push.counts_changed(now);
    }

    fn advance(&mut self, now: Instant, next: u32) {
        if self.end_requested || next as usize >= self.quiz.questions.len() {
            self.finish();
        } else {
            self.open_question(now, next);
        }
    }

    pub(crate) fn finish(&mut self) {
        self.finish_reason.get_or_insert(FinishReason::Completed);
        self.state = State::Finished;
        self.emit(Effect::Finished);
    }

    /// Closes the open question: reveal now, or once pending answers drain.
    /// Answers the gateway received before `now` are still accepted until
    /// then.
    pub(crate) fn close_question(&mut self, now: Instant) {
        let State::Question(o) = &mut self.state else {
            return;
        };
        o.closing = true;
        o.closed_at.get_or_insert(now);
        if o.pending == 0 {
            self.reveal(now);
        }
    }

    /// The question closed (every accepted answer is durable): applies the
    /// held points to the players' totals and the board, all together, and
    /// reveals. The reveal frames are queued before the board writes; each
    /// player's carries their new score, rank, percentile and the player
    /// count (the first push after it repeats them in `rank` frames, with the
    /// changed top list, to the connections that did not declare
    /// [`Capabilities::reads_reveal_standing`]).
    fn reveal(&mut self, now: Instant) {
        let State::Question(o) = std::mem::replace(&mut self.state, State::Lobby) else {
            return;
        };
        let q = &self.quiz.questions[o.index as usize];
        let correct = q.correct.clone();
        let session_id = self.id;
        let ids = self.roster.ids();
        let writes: Vec<ScoreWrite> = ids
            .iter()
            .filter_map(|id| Some((*id, o.answers.get(id)?)))
            .filter(|(_, a)| a.scored.points > 0)
            .map(|(id, a)| ScoreWrite {
                player: id,
                delta: i64::from(a.scored.points),
                op_key: format!("{session_id}:{}:{id}", o.index),
                at: a.answered_at,
            })
            .collect();
        self.ranks.apply(&writes);
        // Everyone's standing after the points, told with the reveal under a
        // version of the push sequence: frames of earlier pushes are older,
        // the next push is newer.
        let version = self.push.next_version();
        let changed_at = self.epoch(now);
        let standings: HashMap<u64, Pushed> = self.board_standings().into_iter().collect();
        let mut frames = Vec::with_capacity(ids.len() + 1);
        for id in ids {
            let standing = standings.get(&id).copied();
            let score = standing.map_or(0, |s| s.score);
            let Some(p) = self.roster.get_mut(id) else {
                continue;
            };
            // The next push still sends the `rank` frame that repeats this
            // standing to connections that did not declare they read it
            // here: clients of this protocol version that predate the
            // standing in the reveal read their rank from that frame. For
            // the others the reveal is their last rank frame, so the push
            // builds one for them only if the standing changes again.
            if p.reads_reveal_standing && p.connected {
                if let Some(s) = standing {
                    p.last_pushed = Some(s);
                }
            }
            let result = match o.answers.get(&id) {
                Some(a) => {
                    let s = a.scored;
                    p.streak = s.streak;
                    PlayerResult {
                        answered: true,
                        correct: s.correct,
                        points: s.points,
                        streak: s.streak,
                        score,
                        rank: standing.map(|s| s.rank),
                        percentile: standing.map(|s| s.percentile),
                        players: standing.map(|s| s.players),
                    }
                }
                None => {
                    p.streak = 0;
                    PlayerResult {
                        answered: false,
                        correct: false,
                        points: 0,
                        streak: 0,
                        score,
                        rank: standing.map(|s| s.rank),
                        percentile: standing.map(|s| s.percentile),
                        players: standing.map(|s| s.players),
                    }
                }
            };
            let msg = ServerMsg::Reveal {
                question: o.index,
                correct: correct.clone(),
                counts: o.counts.clone(),
                result: Some(result),
                version,
                changed_at,
            };
            frames.push(Effect::Send(Target::Player(id), msg));
        }
        let host = ServerMsg::Reveal {
            question: o.index,
            correct,
            counts: o.counts.clone(),
            result: None,
            version,
            changed_at,
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
    ///
    /// `received` is when the gateway received the frame, not when the
    /// session got to it: the deadline and the speed points are judged by
    /// it. So an answer received in time is accepted however long it waited
    /// behind other work, as long as the question has not been revealed
    /// (a question past its deadline waits for the answers still pending,
    /// see [`Session::commit`], and the driver hands the session every
    /// queued message before it lets a deadline pass). One received before
    /// the question opened is refused as `not_open`.
    pub fn answer(
        &mut self,
        received: Instant,
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
        let epoch_received = self.epoch(received);
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
        let q = &self.quiz.questions[o.index as usize];
        if received < o.opened {
            return Err(ErrorCode::NotOpen);
        }
        if received >= o.deadline_of(player, q.time_limit_ms) {
            return Err(ErrorCode::TooLate);
        }
        if o.answers.contains_key(&player) {
            return Err(ErrorCode::AlreadyAnswered);
        }
        let chosen = normalise_choices(choices, q.choices.len()).ok_or(ErrorCode::BadChoice)?;
        let elapsed = received.saturating_duration_since(o.opened).as_millis() as u64;
        // Speed points against the player's own limit: extra time is not
        // paid for in points.
        let limit = personal_limit_ms(q.time_limit_ms, o.percent(player));
        let scored = score_answer(&rules, q.is_correct(&chosen), elapsed, limit, streak_before);
        o.answers.insert(
            player,
            Accepted {
                scored,
                durable: false,
                answered_at: epoch_received,
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
            answered_at: epoch_received,
            req,
            accepted: received,
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

/// The host's `roster` frame about player `p`.
pub(crate) fn roster_msg(p: &Player, event: &str, players: usize) -> ServerMsg {
    ServerMsg::Roster {
        player_id: p.id,
        nickname: p.nickname.clone(),
        event: event.to_string(),
        players: players as u32,
        extra_time_percent: Some(p.extra_time_percent),
    }
}
