//! Coalesced, versioned leaderboard pushes (at most one per `interval`,
//! 250 ms = 4 a second, per session).
//!
//! A change marks the state dirty; the push happens at
//! `max(first change, last push + interval)`, so an idle session pushes a
//! change at once (leading edge) and a busy one pushes every interval. Each
//! push bumps one `version` shared by the broadcast top list and the
//! personal rank frames, so clients drop anything older than what they saw.

use std::time::Duration;

use sdk::live::{ServerMsg, Standing};
use tokio::time::Instant;

use super::effects::{Effect, Target};
use super::session::{Session, State};

/// Coalescing state of one session.
#[derive(Debug)]
pub struct PushState {
    interval: Duration,
    top_n: usize,
    version: u64,
    /// Oldest unpushed change that may move the top list.
    top_dirty_since: Option<Instant>,
    /// Oldest unpushed change per rank group (see [`RANK_GROUPS`]).
    rank_dirty_since: [Option<Instant>; RANK_GROUPS],
    counts_dirty_since: Option<Instant>,
    last_push: Option<Instant>,
    /// The group a large session serves next (round robin).
    next_group: usize,
    last_top: Vec<Standing>,
    /// Bumped whenever the top list changes.
    top_seq: u64,
    /// The `top_seq` each rank group last received (large sessions).
    group_top_seq: [u64; RANK_GROUPS],
}

/// Sessions with more players than this push to one of [`RANK_GROUPS`]
/// groups of players per push instead of to everyone: each player gets
/// the changed top list and their changed rank within `RANK_GROUPS` pushes
/// (1 s at the 250 ms cadence), as two adjacent frames that leave in one
/// write, and each push fans out to a quarter of the sockets. Broadcasting
/// the top list 4 times a second to 10,000 sockets plus rank frames was
/// ~50,000 frames a second in an answer wave, more than 2 cores can write
/// (and a load generator on the same cores read); acknowledgements queued
/// behind them for seconds. The host gets every top-list change.
pub const LARGE_SESSION: usize = 2_000;

/// Rank groups in large sessions; a player's group is `id % RANK_GROUPS`.
pub const RANK_GROUPS: usize = 4;

/// Which players get rank frames in the next push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankSel {
    /// Every player (small sessions).
    All,
    /// Players with `id % RANK_GROUPS == g` (large sessions).
    Group(usize),
}

impl RankSel {
    /// Whether `player` is selected.
    pub fn contains(self, player: u64) -> bool {
        match self {
            RankSel::All => true,
            RankSel::Group(g) => player % RANK_GROUPS as u64 == g as u64,
        }
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
            rank_dirty_since: [None; RANK_GROUPS],
            counts_dirty_since: None,
            last_push: None,
            next_group: 0,
            last_top: Vec::new(),
            top_seq: 0,
            group_top_seq: [0; RANK_GROUPS],
        }
    }

    /// Scores or membership changed.
    pub fn board_changed(&mut self, now: Instant) {
        self.top_dirty_since.get_or_insert(now);
        for g in &mut self.rank_dirty_since {
            g.get_or_insert(now);
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
    /// carry: everyone's in a small session, else the next dirty group.
    fn rank_sel(&self, large: bool) -> Option<(RankSel, Instant)> {
        if !large {
            let since = self.rank_dirty_since.iter().flatten().min()?;
            return Some((RankSel::All, *since));
        }
        (0..RANK_GROUPS)
            .map(|k| (self.next_group + k) % RANK_GROUPS)
            .find_map(|g| Some((RankSel::Group(g), self.rank_dirty_since[g]?)))
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
    /// Whether a push is due at `now` and whether it needs board data.
    pub fn push_due(&self, now: Instant) -> Option<bool> {
        let due = self.push.due_at()?;
        (now >= due).then_some(self.push.board_dirty())
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.push.top_n()
    }

    fn large(&self) -> bool {
        self.roster.len() > LARGE_SESSION
    }

    /// The players whose ranks the next push needs (pass their ranks to
    /// [`Session::push`]); empty when it sends no rank frames.
    pub fn rank_ids(&self) -> Vec<u64> {
        match self.push.rank_sel(self.large()) {
            None => Vec::new(),
            Some((RankSel::All, _)) => self.roster.ids(),
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
                let msg = ServerMsg::AnswerCounts {
                    question: o.index,
                    answered: o.answers.values().filter(|(_, done)| *done).count() as u32,
                    players,
                    counts: o.counts.clone(),
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
        let large = self.large();
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
                    self.push.group_top_seq = [self.push.top_seq; RANK_GROUPS];
                    self.emit(Effect::Send(Target::All, msg));
                }
            }
        }
        let Some((sel, since)) = self.push.rank_sel(large) else {
            return;
        };
        match sel {
            RankSel::All => self.push.rank_dirty_since = [None; RANK_GROUPS],
            RankSel::Group(g) => {
                self.push.rank_dirty_since[g] = None;
                self.push.next_group = (g + 1) % RANK_GROUPS;
            }
        }
        let changed_at = self.epoch(since);
        // Large sessions: the group's top list, if it changed since the
        // group last got one, goes right before each player's rank frame.
        let group_top = match sel {
            RankSel::Group(g) if self.push.group_top_seq[g] != self.push.top_seq => {
                self.push.group_top_seq[g] = self.push.top_seq;
                Some(ServerMsg::Leaderboard {
                    version,
                    top: self.push.last_top.clone(),
                    players,
                    changed_at,
                    pushed_at,
                })
            }
            _ => None,
        };
        let mut frames = Vec::with_capacity(ranks.len() * if group_top.is_some() { 2 } else { 1 });
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
            if let Some(top) = &group_top {
                frames.push(Effect::Send(Target::Player(r.player), top.clone()));
            }
            if p.last_pushed == Some((r.rank, r.score)) {
                continue;
            }
            p.last_pushed = Some((r.rank, r.score));
            let msg = ServerMsg::Rank {
                version,
                rank: r.rank,
                score: r.score,
                players,
                changed_at,
                pushed_at,
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
        let all = self.standings(standings);
        let top: Vec<Standing> = all.iter().take(self.push.top_n()).cloned().collect();
        let mut frames = Vec::with_capacity(all.len() + 1);
        for s in &all {
            let msg = ServerMsg::Finished {
                top: top.clone(),
                you: Some(s.clone()),
                players,
            };
            frames.push(Effect::Send(Target::Player(s.player_id), msg));
        }
        frames.push(Effect::Send(
            Target::Host,
            ServerMsg::Finished {
                top,
                you: None,
                players,
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
