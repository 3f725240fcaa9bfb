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
    board_dirty_since: Option<Instant>,
    counts_dirty_since: Option<Instant>,
    last_push: Option<Instant>,
    last_rank_push: Option<Instant>,
    last_top: Vec<Standing>,
}

/// Sessions with more players than this get personal rank frames at most
/// every [`RANK_INTERVAL_LARGE`] (the top list keeps the 250 ms cadence).
pub const LARGE_SESSION: usize = 2_000;

/// Personal rank push interval in large sessions.
pub const RANK_INTERVAL_LARGE: Duration = Duration::from_secs(1);

impl PushState {
    /// New state pushing at most once per `interval`.
    pub fn new(interval: Duration, top_n: usize) -> Self {
        PushState {
            interval,
            top_n,
            version: 0,
            board_dirty_since: None,
            counts_dirty_since: None,
            last_push: None,
            last_rank_push: None,
            last_top: Vec::new(),
        }
    }

    /// Scores or membership changed.
    pub fn board_changed(&mut self, now: Instant) {
        self.board_dirty_since.get_or_insert(now);
    }

    /// Answer counts changed (host view).
    pub fn counts_changed(&mut self, now: Instant) {
        self.counts_dirty_since.get_or_insert(now);
    }

    /// When the next push is due, if anything is dirty.
    pub fn due_at(&self) -> Option<Instant> {
        let first = match (self.board_dirty_since, self.counts_dirty_since) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(match self.last_push {
            Some(last) => first.max(last + self.interval),
            None => first,
        })
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.top_n
    }

    /// Current version.
    pub fn version(&self) -> u64 {
        self.version
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
        (now >= due).then_some(self.push.board_dirty_since.is_some())
    }

    /// Size of the top list.
    pub fn top_n(&self) -> usize {
        self.push.top_n()
    }

    /// Builds the coalesced frames from board data (`top`: best first;
    /// `ranks`: every player). Pass empty vectors when
    /// [`Session::push_due`] said no board data is needed.
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
        if let Some(since) = self.push.board_dirty_since.take() {
            self.push.version += 1;
            let version = self.push.version;
            let changed_at = self.epoch(since);
            let top: Vec<Standing> = top
                .into_iter()
                .filter_map(|r| {
                    let p = self.roster.get(r.player)?;
                    Some(Standing {
                        rank: r.rank,
                        player_id: r.player,
                        nickname: p.nickname.clone(),
                        score: r.score,
                    })
                })
                .collect();
            if top != self.push.last_top {
                self.push.last_top = top.clone();
                let msg = ServerMsg::Leaderboard {
                    version,
                    top,
                    players,
                    changed_at,
                };
                self.emit(Effect::Send(Target::All, msg));
            }
            // Personal rank frames: every push for small sessions; in large
            // ones at most once per RANK_INTERVAL_LARGE (an answer wave moves
            // nearly every rank, and 10,000 frames 4 times a second would
            // crowd out acks). Skipped ranks stay dirty for the next push.
            let large = self.roster.len() > LARGE_SESSION;
            let recent =
                matches!(self.push.last_rank_push, Some(t) if now < t + RANK_INTERVAL_LARGE);
            let rank_due = !large || !recent;
            if !rank_due {
                self.push.board_dirty_since = Some(since);
                self.push.last_push = Some(now);
                return;
            }
            self.push.last_rank_push = Some(now);
            let mut frames = Vec::new();
            for r in ranks {
                let Some(p) = self.roster.get_mut(r.player) else {
                    continue;
                };
                if !p.connected || p.last_pushed == Some((r.rank, r.score)) {
                    continue;
                }
                p.last_pushed = Some((r.rank, r.score));
                let msg = ServerMsg::Rank {
                    version,
                    rank: r.rank,
                    score: r.score,
                    players,
                    changed_at,
                };
                frames.push(Effect::Send(Target::Player(r.player), msg));
            }
            self.out_extend(frames);
        }
        self.push.last_push = Some(now);
    }

    /// Player ids, for the driver's rank query.
    pub fn player_ids(&self) -> Vec<u64> {
        self.roster.ids()
    }

    /// Builds the final frames from the full standings (best first).
    pub fn finished_frames(&mut self, standings: &[BoardRank]) -> Vec<Standing> {
        let players = self.roster.len() as u32;
        let all: Vec<Standing> = standings
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
            .collect();
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
