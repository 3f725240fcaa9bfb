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
//! - a `rank` frame if anything in it changed (rank, score, percentile or
//!   the player count) since the player was last told: **every** such player
//!   in **every** push, so each of 10,000 players sees their own rank at up to
//!   4 Hz while it moves.
//!
//! A reveal tells each player their standing itself (rank, percentile and
//! player count in their result, read with the same scan, under a version of
//! this sequence of its own): a question's points reach everyone with the
//! reveal, in one fan-out, not after a reveal and then a push. The first push
//! after it still sends every changed `rank` frame, repeating the reveal's
//! standing under a newer version, to the connections that did not declare
//! [`Capabilities::reads_reveal_standing`](livequiz_sdk::live::Capabilities)
//! in their first frame: clients that predate the standing in the reveal read
//! their rank from `rank` frames only. For a connection that declared it
//! ([`Session::attach_with`]) the reveal records its standing as the last one
//! told, so the push neither builds nor sends that frame (30,000 frames fewer
//! in a 30,000-player session of such clients); a standing that changes after
//! the reveal differs from it and is sent as usual. The choice is the
//! engine's, per player, so the push stays a pure function of the board and
//! the roster and costs nothing per skipped player but one comparison.
//!
//! A push is a pure function of the board: a driver that cannot deliver
//! pushes as fast as they are due (a slow machine, a very large session)
//! builds the next one only once the last has left ([`Session::push_due`]
//! is a "may push", not a "must"), so the frames stay the latest state and
//! only their rate drops.
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
    counts_dirty_since: Option<Instant>,
    last_push: Option<Instant>,
    last_top: Vec<Standing>,
    /// Bumped whenever the top list changes (players' `top_seen`).
    top_seq: u64,
}

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
            last_top: Vec::new(),
            top_seq: 0,
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
        let first = [self.board_dirty_since, self.counts_dirty_since]
            .into_iter()
            .flatten()
            .min()?;
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

    /// Takes the next version (a push, or a reveal that tells the players
    /// their standing: the same sequence).
    pub(crate) fn next_version(&mut self) -> u64 {
        self.version += 1;
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
        let Some(since) = self.push.board_dirty_since.take() else {
            return;
        };
        let version = self.push.next_version();
        let pushed_at = self.epoch(now);
        let changed_at = self.epoch(since);
        let top = self.standings(&self.ranks.top(self.push.top_n));
        if top != self.push.last_top {
            self.push.last_top = top;
            self.push.top_seq += 1;
            let msg = self.top_msg(version, changed_at, pushed_at);
            self.emit(Effect::Send(Target::Host, msg));
        }
        let top_seq = self.push.top_seq;
        let top = (top_seq > 0).then(|| self.top_msg(version, changed_at, pushed_at));
        let all = self.board_standings();
        let mut frames = Vec::with_capacity(all.len());
        for (player, pushed) in all {
            let Some(p) = self.roster.get_mut(player) else {
                continue;
            };
            if !p.connected {
                continue;
            }
            if let Some(top) = top.as_ref().filter(|_| p.top_seen != top_seq) {
                p.top_seen = top_seq;
                frames.push(Effect::Send(Target::Player(player), top.clone()));
            }
            // Unchanged since the last rank frame or the reveal that told it.
            if p.last_pushed == Some(pushed) {
                continue;
            }
            p.last_pushed = Some(pushed);
            let msg = ServerMsg::Rank {
                version,
                rank: pushed.rank,
                score: pushed.score,
                players: pushed.players,
                changed_at,
                pushed_at,
                percentile: pushed.percentile,
            };
            frames.push(Effect::Send(Target::Player(player), msg));
        }
        self.out_extend(frames);
    }

    /// Every player on the board with what their `rank` frame would say now,
    /// best first: one ordered scan gives every rank and score, the ascending
    /// scores give the percentiles. The push and the reveal both read it.
    pub(crate) fn board_standings(&self) -> Vec<(u64, Pushed)> {
        let players = self.roster.len() as u32;
        let all = self.ranks.all();
        let ascending: Vec<i64> = all.iter().rev().map(|r| r.score).collect();
        all.iter()
            .map(|r| {
                let pushed = Pushed {
                    rank: r.rank,
                    score: r.score,
                    percentile: percentile(&ascending, r.score),
                    players,
                };
                (r.player, pushed)
            })
            .collect()
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
