//! Coalesced, versioned leaderboard pushes (at most one per `interval`,
//! 250 ms = 4 a second, per session), computed from the session's own board.
//!
//! A change marks the state dirty; the push happens at
//! `max(first change, last push + interval)`, so an idle session pushes a
//! change at once (leading edge) and a busy one pushes every interval. Each
//! push bumps one `version` shared by the top list and the personal rank
//! frames, so clients drop anything older than what they saw. Changes are
//! joins, removals and reveals: answers to the open question change no score
//! until it closes (see [`Session::commit`]).
//!
//! A push reads every player's rank in one ordered scan of the board
//! ([`crate::ranks::Ranks::all`]) and sends, to each connected player:
//!
//! - the top list, if it changed since the player last got it, right before
//!   their rank frame (adjacent frames leave in one write);
//! - a `rank` frame if their rank or score changed: **every** such player in
//!   **every** push, so a reveal's points reach each of 10,000 players in the
//!   first push after it;
//! - a `rank` frame that only refreshes the player count and the percentile
//!   (joins and leaves move them for everyone): these are spread over
//!   [`SLOTS`] groups of players (`id % SLOTS`), and a push serves as many
//!   groups as keep it under [`REFRESHES_PER_PUSH`] such frames. A lobby
//!   filling up with 10,000 players would otherwise send 40,000 frames a
//!   second that say little more than "one more player"; this way each
//!   player's count is at most a second old, and scores and ranks are never
//!   held back.
//!
//! The host gets every top-list change.

use std::time::Duration;

use livequiz_sdk::live::{percentile, ServerMsg, Standing};

use crate::clock::Instant;
use crate::effects::{Effect, Target};
use crate::ranks::Ranked;
use crate::roster::Pushed;
use crate::session::{Session, State};

/// Coalescing state of one session.
#[derive(Debug)]
pub struct PushState {
    interval: Duration,
    top_n: usize,
    version: u64,
    /// Oldest unpushed change of the scores or of who is on the board.
    board_dirty_since: Option<Instant>,
    /// Oldest unpushed change per refresh slot (see [`SLOTS`]).
    refresh_dirty_since: [Option<Instant>; SLOTS],
    counts_dirty_since: Option<Instant>,
    last_push: Option<Instant>,
    /// The refresh slot a large session serves next (round robin).
    next_slot: usize,
    last_top: Vec<Standing>,
    /// Bumped whenever the top list changes (players' `top_seen`).
    top_seq: u64,
}

/// Refresh slots: a player's slot is `id % SLOTS`. A push refreshes every
/// slot in a small session and [`slots_per_push`] of them, round robin, in a
/// large one; each slot keeps its own oldest unpushed change, so a session
/// that grows or shrinks changes how many slots a push serves, never who is
/// in which.
pub const SLOTS: usize = 8;

/// Count-only `rank` frames (the player count or the percentile moved, the
/// rank and score did not) a push aims to send at most. Larger sessions
/// refresh a share of the slots per push, so each player's count is at most
/// `ceil(SLOTS / slots_per_push)` pushes old (at the 250 ms cadence: 500 ms
/// at 5,000 players, a second at 10,000). Rank and score changes are not
/// limited by it.
pub const REFRESHES_PER_PUSH: usize = 2_500;

/// Refresh slots a push serves in a session of `players`: all of them up to
/// [`REFRESHES_PER_PUSH`] players, else as many as keep a push under it (at
/// least one).
pub fn slots_per_push(players: usize) -> usize {
    if players <= REFRESHES_PER_PUSH {
        SLOTS
    } else {
        (SLOTS * REFRESHES_PER_PUSH / players).max(1)
    }
}

/// The refresh slots a push serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotSet(u8);

impl SlotSet {
    /// Whether `player` is in one of the slots.
    fn contains(self, player: u64) -> bool {
        self.0 & (1 << (player % SLOTS as u64)) != 0
    }

    /// The slots.
    fn slots(self) -> impl Iterator<Item = usize> {
        (0..SLOTS).filter(move |s| self.0 & (1 << s) != 0)
    }
}

impl PushState {
    /// New state pushing at most once per `interval`.
    pub fn new(interval: Duration, top_n: usize) -> Self {
        PushState {
            interval,
            top_n,
            version: 0,
            board_dirty_since: None,
            refresh_dirty_since: [None; SLOTS],
            counts_dirty_since: None,
            last_push: None,
            next_slot: 0,
            last_top: Vec::new(),
            top_seq: 0,
        }
    }

    /// Scores or membership changed.
    pub fn board_changed(&mut self, now: Instant) {
        self.board_dirty_since.get_or_insert(now);
        for s in &mut self.refresh_dirty_since {
            s.get_or_insert(now);
        }
    }

    /// Answer counts changed (host view).
    pub fn counts_changed(&mut self, now: Instant) {
        self.counts_dirty_since.get_or_insert(now);
    }

    fn board_dirty(&self) -> bool {
        self.board_dirty_since.is_some() || self.refresh_dirty_since.iter().any(Option::is_some)
    }

    /// When the next push is due, if anything is dirty.
    pub fn due_at(&self) -> Option<Instant> {
        let first = [self.board_dirty_since, self.counts_dirty_since]
            .into_iter()
            .chain(self.refresh_dirty_since)
            .flatten()
            .min()?;
        Some(match self.last_push {
            Some(last) => first.max(last + self.interval),
            None => first,
        })
    }

    /// The refresh slots the next push serves and the oldest change they
    /// carry: the next `per_push` dirty slots, round robin.
    fn refresh_sel(&self, per_push: usize) -> (SlotSet, Option<Instant>) {
        let mut mask = 0u8;
        let mut since: Option<Instant> = None;
        for slot in (0..SLOTS).map(|k| (self.next_slot + k) % SLOTS) {
            if mask.count_ones() as usize == per_push {
                break;
            }
            if let Some(t) = self.refresh_dirty_since[slot] {
                mask |= 1 << slot;
                since = Some(since.map_or(t, |s| s.min(t)));
            }
        }
        (SlotSet(mask), since)
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.top_n
    }

    /// Current version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Continues numbering after `version` (a session taken over by another
    /// gateway must not push versions its clients already saw).
    pub fn continue_after(&mut self, version: u64) {
        self.version = self.version.max(version);
    }
}

impl Session {
    /// Pushes at most once per `interval` (250 ms unless set).
    pub fn with_push_interval(mut self, interval: Duration) -> Self {
        self.push.interval = interval;
        self
    }

    /// Whether a push is due at `now`.
    pub fn push_due(&self, now: Instant) -> bool {
        self.push.due_at().is_some_and(|due| now >= due)
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.push.top_n()
    }

    /// The current leaderboard version.
    pub fn push_version(&self) -> u64 {
        self.push.version()
    }

    /// Builds the coalesced frames (see the module docs): the host's answer
    /// counts, the top list and the players' rank frames, all read from the
    /// session's board.
    pub fn push(&mut self, now: Instant) {
        let players = self.roster.len() as u32;
        if self.push.counts_dirty_since.take().is_some() {
            if let State::Question(o) = &self.state {
                let c = self.counts_view(o);
                let msg = ServerMsg::AnswerCounts {
                    question: c.question,
                    answered: c.answered,
                    players: c.players,
                    counts: c.counts,
                };
                self.emit(Effect::Send(Target::Host, msg));
            }
        }
        self.push.last_push = Some(now);
        if !self.push.board_dirty() {
            return;
        }
        self.push.version += 1;
        let version = self.push.version;
        let pushed_at = self.epoch(now);
        let (sel, refresh_since) = self.push.refresh_sel(slots_per_push(players as usize));
        for slot in sel.slots() {
            self.push.refresh_dirty_since[slot] = None;
            self.push.next_slot = (slot + 1) % SLOTS;
        }
        let board_since = self.push.board_dirty_since.take();
        let since = match (board_since, refresh_since) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(now),
        };
        let changed_at = self.epoch(since);
        if board_since.is_some() {
            let top = self.standings(&self.ranks.top(self.push.top_n));
            if top != self.push.last_top {
                self.push.last_top = top;
                self.push.top_seq += 1;
                let msg = self.top_msg(version, changed_at, pushed_at);
                self.emit(Effect::Send(Target::Host, msg));
            }
        }
        let top_seq = self.push.top_seq;
        let top = (top_seq > 0).then(|| self.top_msg(version, changed_at, pushed_at));
        // One ordered scan gives every player's rank and score; ascending
        // scores give the percentiles.
        let all = self.ranks.all();
        let ascending: Vec<i64> = all.iter().rev().map(|r| r.score).collect();
        let mut frames = Vec::new();
        for r in all {
            let Some(p) = self.roster.get_mut(r.player) else {
                continue;
            };
            if !p.connected {
                continue;
            }
            if let Some(top) = top.as_ref().filter(|_| p.top_seen != top_seq) {
                p.top_seen = top_seq;
                frames.push(Effect::Send(Target::Player(r.player), top.clone()));
            }
            let pushed = Pushed {
                rank: r.rank,
                score: r.score,
                percentile: percentile(&ascending, r.score),
                players,
            };
            let moved = p.last_pushed.map_or(true, |last| {
                (last.rank, last.score) != (pushed.rank, pushed.score)
            });
            let refresh = sel.contains(r.player) && p.last_pushed != Some(pushed);
            if !(moved || refresh) {
                continue;
            }
            p.last_pushed = Some(pushed);
            let msg = ServerMsg::Rank {
                version,
                rank: r.rank,
                score: r.score,
                players,
                changed_at,
                pushed_at,
                percentile: pushed.percentile,
            };
            frames.push(Effect::Send(Target::Player(r.player), msg));
        }
        self.out_extend(frames);
    }

    /// The current top list as a frame.
    fn top_msg(&self, version: u64, changed_at: i64, pushed_at: i64) -> ServerMsg {
        ServerMsg::Leaderboard {
            version,
            top: self.push.last_top.clone(),
            players: self.roster.len() as u32,
            changed_at,
            pushed_at,
        }
    }

    /// Board ranks as standings with nicknames (players no longer in the
    /// roster are left out).
    fn standings(&self, ranks: &[Ranked]) -> Vec<Standing> {
        ranks
            .iter()
            .filter_map(|r| {
                let p = self.roster.get(r.player)?;
                Some(Standing {
                    rank: r.rank,
                    player_id: r.player,
                    nickname: p.nickname.clone(),
                    score: r.score,
                })
            })
            .collect()
    }

    /// The final frames (everyone's standing, the top list, then the close),
    /// from the session's board; returns the full standings, best first.
    pub fn finished_frames(&mut self) -> Vec<Standing> {
        let players = self.roster.len() as u32;
        let reason = self.finish_reason;
        let all = self.standings(&self.ranks.all());
        let top: Vec<Standing> = all.iter().take(self.push.top_n()).cloned().collect();
        let ascending: Vec<i64> = all.iter().rev().map(|s| s.score).collect();
        let mut frames = Vec::with_capacity(all.len() + 2);
        for s in &all {
            let msg = ServerMsg::Finished {
                top: top.clone(),
                you: Some(s.clone()),
                players,
                reason,
                percentile: Some(percentile(&ascending, s.score)),
            };
            frames.push(Effect::Send(Target::Player(s.player_id), msg));
        }
        frames.push(Effect::Send(
            Target::Host,
            ServerMsg::Finished {
                top,
                you: None,
                players,
                reason,
                percentile: None,
            },
        ));
        frames.push(Effect::Close(
            Target::All,
            livequiz_sdk::live::close::SESSION_FINISHED,
        ));
        self.out_extend(frames);
        all
    }
}
