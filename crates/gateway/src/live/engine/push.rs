//! Coalesced, versioned leaderboard pushes (at most one per `interval`,
//! 250 ms = 4 a second, per session).
//!
//! A change marks the state dirty; the push happens at
//! `max(first change, last push + interval)`, so an idle session pushes a
//! change at once (leading edge) and a busy one pushes every interval. Each
//! push bumps one `version` shared by the broadcast top list and the
//! personal rank frames, so clients drop anything older than what they saw.
//! Changes are joins, removals and reveals: answers to the open question
//! change no score until it closes (see [`Session::commit`]). A player's
//! `rank` frame goes out when their rank, score or percentile, or the
//! number of players, differs from their last one (so players in the lobby
//! see the player count grow, coalesced like everything else).

use std::time::Duration;

use sdk::live::{percentile, ServerMsg, Standing};
use tokio::time::Instant;

use super::effects::{Effect, Target};
use super::roster::Pushed;
use super::session::{Session, State};

/// Coalescing state of one session.
#[derive(Debug)]
pub struct PushState {
    interval: Duration,
    top_n: usize,
    version: u64,
    /// Oldest unpushed change that may move the top list.
    top_dirty_since: Option<Instant>,
    /// Oldest unpushed change per rank slot (see [`SLOTS`]).
    rank_dirty_since: [Option<Instant>; SLOTS],
    counts_dirty_since: Option<Instant>,
    last_push: Option<Instant>,
    /// The slot a large session serves next (round robin).
    next_slot: usize,
    last_top: Vec<Standing>,
    /// Bumped whenever the top list changes (players' `top_seen`).
    top_seq: u64,
}

/// Rank slots: a player's slot is `id % SLOTS`. A push serves every slot
/// in a small session and [`slots_per_push`] of them, round robin, in a
/// large one; each slot keeps its own oldest unpushed change, so a
/// session that grows or shrinks changes how many slots a push serves,
/// never who is in which.
pub const SLOTS: usize = 8;

/// Sockets a push aims to serve at most. Larger sessions serve a share
/// of the slots per push, so each player gets the changed top list and
/// their changed rank within `ceil(SLOTS / slots_per_push)` pushes (at the
/// 250 ms cadence: every 500 ms at 5,000 players, every second at
/// 10,000), as two adjacent frames that leave in one write. Broadcasting
/// the top list 4 times a second to 10,000 sockets plus rank frames was
/// ~50,000 frames a second in an answer wave, more than 2 cores can write
/// (and a load generator on the same cores read); acknowledgements queued
/// behind them for seconds, and half the players per push at 10,000 put
/// the 99th percentiles at the targets' edges (docs/PERFORMANCE.md). The
/// host gets every top-list change.
pub const PLAYERS_PER_PUSH: usize = 2_500;

/// Slots a push serves in a session of `players`: all of them up to
/// [`PLAYERS_PER_PUSH`] players, else as many as keep a push under it
/// (at least one: over `SLOTS * PLAYERS_PER_PUSH` players a push serves
/// more rather than let ranks go staler).
pub fn slots_per_push(players: usize) -> usize {
    if players <= PLAYERS_PER_PUSH {
        SLOTS
    } else {
        (SLOTS * PLAYERS_PER_PUSH / players).max(1)
    }
}

/// Which players get rank frames in the next push: a set of slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankSel(u8);

impl RankSel {
    /// Whether `player` is selected.
    pub fn contains(self, player: u64) -> bool {
        self.0 & (1 << (player % SLOTS as u64)) != 0
    }

    /// The selected slots.
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
            top_dirty_since: None,
            rank_dirty_since: [None; SLOTS],
            counts_dirty_since: None,
            last_push: None,
            next_slot: 0,
            last_top: Vec::new(),
            top_seq: 0,
        }
    }

    /// Scores or membership changed.
    pub fn board_changed(&mut self, now: Instant) {
        self.top_dirty_since.get_or_insert(now);
        for s in &mut self.rank_dirty_since {
            s.get_or_insert(now);
        }
    }

    /// Answer counts changed (host view).
    pub fn counts_changed(&mut self, now: Instant) {
        self.counts_dirty_since.get_or_insert(now);
    }

    fn board_dirty(&self) -> bool {
        self.top_dirty_since.is_some() || self.rank_dirty_since.iter().any(Option::is_some)
    }

    /// When the next push is due, if anything is dirty.
    pub fn due_at(&self) -> Option<Instant> {
        let first = [self.top_dirty_since, self.counts_dirty_since]
            .into_iter()
            .chain(self.rank_dirty_since)
            .flatten()
            .min()?;
        Some(match self.last_push {
            Some(last) => first.max(last + self.interval),
            None => first,
        })
    }

    /// The rank frames the next push sends, and the oldest change they
    /// carry: the next `per_push` dirty slots, round robin.
    fn rank_sel(&self, per_push: usize) -> Option<(RankSel, Instant)> {
        let mut mask = 0u8;
        let mut since: Option<Instant> = None;
        for slot in (0..SLOTS).map(|k| (self.next_slot + k) % SLOTS) {
            if mask.count_ones() as usize == per_push {
                break;
            }
            if let Some(t) = self.rank_dirty_since[slot] {
                mask |= 1 << slot;
                since = Some(since.map_or(t, |s| s.min(t)));
            }
        }
        Some((RankSel(mask), since?))
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

/// A player's rank as read from the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardRank {
    /// Player id.
    pub player: u64,
    /// Competition rank.
    pub rank: u64,
    /// Score on the board.
    pub score: i64,
}

impl Session {
    /// Pushes at most once per `interval` (250 ms unless set).
    pub fn with_push_interval(mut self, interval: Duration) -> Self {
        self.push.interval = interval;
        self
    }

    /// Whether a push is due at `now` and whether it needs board data.
    pub fn push_due(&self, now: Instant) -> Option<bool> {
        let due = self.push.due_at()?;
        (now >= due).then_some(self.push.board_dirty())
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.push.top_n()
    }

    /// Slots the next push serves (all in a small session).
    fn slots_per_push(&self) -> usize {
        slots_per_push(self.roster.len())
    }

    /// The players whose ranks the next push needs (pass their ranks to
    /// [`Session::push`]); empty when it sends no rank frames.
    pub fn rank_ids(&self) -> Vec<u64> {
        match self.push.rank_sel(self.slots_per_push()) {
            None => Vec::new(),
            Some((sel, _)) => self
                .roster
                .iter()
                .filter(|p| sel.contains(p.id))
                .map(|p| p.id)
                .collect(),
        }
    }

    /// Builds the coalesced frames from board data (`top`: best first;
    /// `ranks`: the players of [`Session::rank_ids`]). Pass empty vectors
    /// when [`Session::push_due`] said no board data is needed.
    pub fn push(&mut self, now: Instant, top: Vec<BoardRank>, ranks: Vec<BoardRank>) {
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
        let per_push = self.slots_per_push();
        let large = per_push < SLOTS;
        if let Some(since) = self.push.top_dirty_since.take() {
            let changed_at = self.epoch(since);
            let top = self.standings(&top);
            if top != self.push.last_top {
                self.push.last_top = top.clone();
                self.push.top_seq += 1;
                let msg = ServerMsg::Leaderboard {
                    version,
                    top,
                    players,
                    changed_at,
                    pushed_at,
                };
                if large {
                    self.emit(Effect::Send(Target::Host, msg));
                } else {
                    let seq = self.push.top_seq;
                    for p in self.roster.iter_mut().filter(|p| p.connected) {
                        p.top_seen = seq;
                    }
                    self.emit(Effect::Send(Target::All, msg));
                }
            }
        }
        let Some((sel, since)) = self.push.rank_sel(per_push) else {
            return;
        };
        for slot in sel.slots() {
            self.push.rank_dirty_since[slot] = None;
            self.push.next_slot = (slot + 1) % SLOTS;
        }
        let changed_at = self.epoch(since);
        // The top list goes right before the rank frame of each served
        // player who lacks its latest version (everyone in a large session
        // once per change; in a small one, who attached since the broadcast).
        let top_seq = self.push.top_seq;
        let slot_top = (top_seq > 0).then(|| ServerMsg::Leaderboard {
            version,
            top: self.push.last_top.clone(),
            players,
            changed_at,
            pushed_at,
        });
        // Every player's score, for the percentiles (only when rank
        // frames go out: one sort per push).
        let mut scores: Vec<i64> = if ranks.is_empty() {
            Vec::new()
        } else {
            self.roster.iter().map(|p| p.score).collect()
        };
        scores.sort_unstable();
        let mut frames = Vec::with_capacity(ranks.len() * if large { 2 } else { 1 });
        for r in ranks {
            if !sel.contains(r.player) {
                continue;
            }
            let Some(p) = self.roster.get_mut(r.player) else {
                continue;
            };
            if !p.connected {
                continue;
            }
            if let Some(top) = slot_top.as_ref().filter(|_| p.top_seen != top_seq) {
                p.top_seen = top_seq;
                frames.push(Effect::Send(Target::Player(r.player), top.clone()));
            }
            let pushed = Pushed {
                rank: r.rank,
                score: r.score,
                percentile: percentile(&scores, r.score),
                players,
            };
            if p.last_pushed == Some(pushed) {
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

    /// Board ranks as standings with nicknames (players no longer in the
    /// roster are left out).
    fn standings(&self, ranks: &[BoardRank]) -> Vec<Standing> {
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

    /// Builds the final frames from the full standings (best first).
    pub fn finished_frames(&mut self, standings: &[BoardRank]) -> Vec<Standing> {
        let players = self.roster.len() as u32;
        let reason = self.finish_reason;
        let all = self.standings(standings);
        let top: Vec<Standing> = all.iter().take(self.push.top_n()).cloned().collect();
        let mut scores: Vec<i64> = all.iter().map(|s| s.score).collect();
        scores.sort_unstable();
        let mut frames = Vec::with_capacity(all.len() + 1);
        for s in &all {
            let msg = ServerMsg::Finished {
                top: top.clone(),
                you: Some(s.clone()),
                players,
                reason,
                percentile: Some(percentile(&scores, s.score)),
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
            sdk::live::close::SESSION_FINISHED,
        ));
        self.out_extend(frames);
        all
    }
}
