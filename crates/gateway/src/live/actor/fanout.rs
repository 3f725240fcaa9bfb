//! Delivering frames to the connections attached to one session.
//!
//! Each connection has a bounded queue ([`CONN_QUEUE`](crate::live::conn::CONN_QUEUE) frames). The session
//! never waits on a connection: when a queue is full the consumer is too
//! slow, and it is dropped (close code 4008) so it cannot hold back the
//! other 9,999 players. A frame for many receivers is serialised once and
//! shared (`Utf8Bytes` clones are reference counts).
//!
//! Frames are paced: everything but answer acknowledgements and error
//! frames goes through a backlog that the actor delivers [`SLICE`]
//! connections at a time, yielding to the runtime in between
//! ([`Fanout::pump`]). Each delivery wakes a connection task that makes a
//! `send` syscall; queueing 10,000 of those at once would put every ack of
//! the next 0.3-1 s (on 2 cores) behind them. Acks bypass the backlog, so
//! they wait for at most one slice.
//!
//! The backlog has two FIFO lanes served alternately: leaderboard pushes
//! (`leaderboard`, `rank`: versioned, so their order relative to other
//! frames mostly does not matter) and everything else (questions, reveals,
//! final standings, closes: in emission order). A push built while a
//! question's 10,000 frames are going out does not wait for all of them.
//! The exception is the reveal: a push queued after a `reveal` waits until
//! every frame queued before that reveal is delivered, because it carries
//! the points the question earned (held until the close), and a player
//! must see the reveal before the scores it explains.

use std::collections::{HashMap, VecDeque};

use axum::extract::ws::Utf8Bytes;
use livequiz_sdk::live::{close, ServerMsg};

use crate::live::conn::{encode, ConnTx, Out};
use crate::live::engine::Target;

/// Connections served per [`Fanout::pump`] before the actor yields: the
/// default of `LIVE_FANOUT_SLICE`.
pub const SLICE: usize = 128;

/// Most paced deliveries held back (the default of `LIVE_FANOUT_BACKLOG`).
/// Past it the backlog is delivered at once, so it never outgrows a few
/// pushes of a 10,000-player session; the bounded per-connection queues
/// then apply as without pacing.
pub const BACKLOG_CAP: usize = 65_536;

/// Who a paced delivery is for.
#[derive(Debug, Clone, Copy)]
enum To {
    Hosts,
    Player(u64),
}

/// A delivery waiting in the backlog.
#[derive(Debug)]
enum Pending {
    Frame(To, Utf8Bytes),
    Close(To, u16),
}

/// The connections of one session on this gateway.
#[derive(Debug)]
pub struct Fanout {
    /// Most paced deliveries held back (see [`BACKLOG_CAP`]).
    backlog_cap: usize,
    hosts: Vec<ConnTx>,
    players: HashMap<u64, ConnTx>,
    /// Everything paced but leaderboard pushes, in emission order.
    backlog: VecDeque<Pending>,
    /// Entries ever queued to / delivered from `backlog`.
    ordered_in: u64,
    ordered_out: u64,
    /// `ordered_in` after the last `reveal` queued: pushes queued from then
    /// on wait until `ordered_out` reaches it.
    reveal_barrier: u64,
    /// Paced `leaderboard` and `rank` frames, in emission order, each with
    /// the barrier it waits for.
    pushes: VecDeque<(u64, Pending)>,
    /// The last `leaderboard` frame encoded, by version and `changed_at`
    /// (a push's frames share both): in large sessions
    /// the same top list goes to each player of a group as its own effect,
    /// and is serialised once.
    last_top: Option<((u64, i64), Utf8Bytes)>,
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::new(BACKLOG_CAP)
    }
}

impl Fanout {
    /// No connections yet; paced deliveries held back up to `backlog_cap`.
    pub fn new(backlog_cap: usize) -> Self {
        Fanout {
            backlog_cap,
            hosts: Vec::new(),
            players: HashMap::new(),
            backlog: VecDeque::new(),
            ordered_in: 0,
            ordered_out: 0,
            reveal_barrier: 0,
            pushes: VecDeque::new(),
            last_top: None,
        }
    }

    /// Attaches the host; several host connections are allowed (a second screen).
    pub fn add_host(&mut self, conn: ConnTx) {
        self.hosts.push(conn);
    }

    /// Attaches a player's connection; an older one is closed as replaced.
    pub fn add_player(&mut self, player: u64, conn: ConnTx) {
        if let Some(old) = self.players.insert(player, conn) {
            let _ = old.push(Out::Close(
                close::REPLACED,
                "replaced by a newer connection",
            ));
        }
    }

    /// Detaches connection `conn_id` (of `player`, if a player); returns
    /// true if it was still that player's current connection.
    pub fn remove(&mut self, conn_id: u64, player: Option<u64>) -> bool {
        match player {
            None => {
                self.hosts.retain(|c| c.id != conn_id);
                false
            }
            Some(p) => {
                if self.players.get(&p).is_some_and(|c| c.id == conn_id) {
                    self.players.remove(&p);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether a player has a connection here.
    pub fn has_player(&self, player: u64) -> bool {
        self.players.contains_key(&player)
    }

    /// Whether frames of a leaderboard push are still waiting in the
    /// backlog. The actor builds the next push only once the last one has
    /// left: a push is computed from the board when it is built, so one
    /// that waited would only carry older ranks; a session too large to
    /// push every interval gets fewer, always current, pushes instead of a
    /// growing queue of stale ones.
    pub fn pushing(&self) -> bool {
        !self.pushes.is_empty()
    }

    /// Whether paced deliveries are waiting (call [`Fanout::pump`]).
    pub fn backlogged(&self) -> bool {
        !self.backlog.is_empty() || !self.pushes.is_empty()
    }

    /// Sends one message: acks and errors at once, anything else through
    /// the paced backlog.
    pub fn send(&mut self, target: Target, msg: &ServerMsg) {
        let frame = match (msg, &self.last_top) {
            (
                ServerMsg::Leaderboard {
                    version,
                    changed_at,
                    ..
                },
                Some((key, f)),
            ) if *key == (*version, *changed_at) => f.clone(),
            (
                ServerMsg::Leaderboard {
                    version,
                    changed_at,
                    ..
                },
                _,
            ) => {
                let f = encode(msg);
                self.last_top = Some(((*version, *changed_at), f.clone()));
                f
            }
            _ => encode(msg),
        };
        if matches!(msg, ServerMsg::AnswerAck { .. } | ServerMsg::Error { .. }) {
            self.send_now(target, frame);
            return;
        }
        let push = matches!(msg, ServerMsg::Leaderboard { .. } | ServerMsg::Rank { .. });
        let barrier = self.reveal_barrier;
        if matches!(target, Target::Players | Target::All) {
            let n = self.players.len() + 1;
            if push {
                self.pushes.reserve(n);
            } else {
                self.backlog.reserve(n);
            }
        }
        let ordered_before = self.backlog.len();
        let (pushes, backlog) = (&mut self.pushes, &mut self.backlog);
        let mut queue = |e: Pending| {
            if push {
                pushes.push_back((barrier, e));
            } else {
                backlog.push_back(e);
            }
        };
        match target {
            Target::Player(p) => queue(Pending::Frame(To::Player(p), frame)),
            Target::Host => queue(Pending::Frame(To::Hosts, frame)),
            Target::Players | Target::All => {
                for &p in self.players.keys() {
                    queue(Pending::Frame(To::Player(p), frame.clone()));
                }
                if target == Target::All {
                    queue(Pending::Frame(To::Hosts, frame));
                }
            }
        }
        self.ordered_in += (self.backlog.len() - ordered_before) as u64;
        if matches!(msg, ServerMsg::Reveal { .. }) {
            self.reveal_barrier = self.ordered_in;
        }
        self.cap();
    }

    /// Sends every player `shared` (serialised once), except the players in
    /// `personal` (sorted by id), who get their own frame; paced in the
    /// ordered lane like any broadcast.
    pub fn send_players(&mut self, shared: &ServerMsg, personal: &[(u64, ServerMsg)]) {
        let frame = encode(shared);
        let before = self.backlog.len();
        self.backlog.reserve(self.players.len());
        for &p in self.players.keys() {
            let f = match personal.binary_search_by_key(&p, |(id, _)| *id) {
                Ok(i) => encode(&personal[i].1),
                Err(_) => frame.clone(),
            };
            self.backlog.push_back(Pending::Frame(To::Player(p), f));
        }
        self.ordered_in += (self.backlog.len() - before) as u64;
        self.cap();
    }

    /// The next ordered entry, counted as delivered.
    fn pop_ordered(&mut self) -> Option<Pending> {
        let next = self.backlog.pop_front()?;
        self.ordered_out += 1;
        Some(next)
    }

    /// The next push, if the reveal it may follow has been delivered.
    fn pop_push(&mut self) -> Option<Pending> {
        match self.pushes.front() {
            Some((barrier, _)) if *barrier <= self.ordered_out => {
                self.pushes.pop_front().map(|(_, p)| p)
            }
            _ => None,
        }
    }

    fn send_now(&self, target: Target, frame: Utf8Bytes) {
        match target {
            Target::Player(p) => {
                if let Some(c) = self.players.get(&p) {
                    c.push(Out::Frame(frame));
                }
            }
            Target::Host => {
                for c in &self.hosts {
                    c.push(Out::Frame(frame.clone()));
                }
            }
            Target::Players | Target::All => {
                for c in self.players.values() {
                    c.push(Out::Frame(frame.clone()));
                }
                if target == Target::All {
                    for c in &self.hosts {
                        c.push(Out::Frame(frame.clone()));
                    }
                }
            }
        }
    }

    /// Delivers everything at once if the backlog is over its bound.
    fn cap(&mut self) {
        if self.backlog.len() + self.pushes.len() > self.backlog_cap {
            self.pump(usize::MAX);
        }
    }

    /// Closes the target's connections (after the frames queued before).
    pub fn close(&mut self, target: Target, code: u16) {
        let before = self.backlog.len();
        match target {
            Target::Player(p) => self.backlog.push_back(Pending::Close(To::Player(p), code)),
            Target::Host => self.backlog.push_back(Pending::Close(To::Hosts, code)),
            Target::Players | Target::All => {
                for &p in self.players.keys() {
                    self.backlog.push_back(Pending::Close(To::Player(p), code));
                }
                if target == Target::All {
                    self.backlog.push_back(Pending::Close(To::Hosts, code));
                }
            }
        }
        self.ordered_in += (self.backlog.len() - before) as u64;
        self.cap();
    }

    /// Delivers up to `max` backlog entries, alternating between the two
    /// lanes while both have some (a push behind a reveal waits for it);
    /// true if some remain.
    pub fn pump(&mut self, max: usize) -> bool {
        for n in 0..max {
            // With the ordered lane empty every reveal is delivered, so a
            // push is never stuck.
            let next = if n % 2 == 0 {
                self.pop_push().or_else(|| self.pop_ordered())
            } else {
                self.pop_ordered().or_else(|| self.pop_push())
            };
            let Some(next) = next else {
                return false;
            };
            match next {
                Pending::Frame(To::Player(p), frame) => {
                    if let Some(c) = self.players.get(&p) {
                        c.push(Out::Frame(frame));
                    }
                }
                Pending::Frame(To::Hosts, frame) => {
                    for c in &self.hosts {
                        c.push(Out::Frame(frame.clone()));
                    }
                }
                Pending::Close(To::Player(p), code) => {
                    if let Some(c) = self.players.remove(&p) {
                        c.push(Out::Close(code, reason(code)));
                    }
                }
                Pending::Close(To::Hosts, code) => {
                    for c in self.hosts.drain(..) {
                        c.push(Out::Close(code, reason(code)));
                    }
                }
            }
        }
        self.backlogged()
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        close::SESSION_FINISHED => "session finished",
        close::REMOVED => "removed by the host",
        _ => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: u64) -> (ConnTx, tokio::sync::mpsc::Receiver<Out>) {
        ConnTx::new(id, crate::live::conn::CONN_QUEUE)
    }

    fn text(out: Out) -> String {
        match out {
            Out::Frame(f) => f.as_str().to_string(),
            Out::Close(code, _) => format!("close {code}"),
        }
    }

    #[test]
    fn acks_bypass_the_backlog_and_everything_else_keeps_its_order() {
        let mut f = Fanout::default();
        let (c1, mut rx1) = conn(1);
        let (h, mut rxh) = conn(2);
        f.add_player(7, c1);
        f.add_host(h);
        f.send(Target::All, &ServerMsg::Pong { server_time: 1 });
        let ack = ServerMsg::AnswerAck {
            question: 0,
            elapsed_ms: 5,
            req: Some(9),
        };
        f.send(Target::Player(7), &ack);
        f.close(Target::All, close::SESSION_FINISHED);
        // Only the ack went out before the actor pumps.
        assert!(text(rx1.try_recv().unwrap()).contains("answer_ack"));
        assert!(rx1.try_recv().is_err());
        assert!(rxh.try_recv().is_err());
        assert!(!f.pump(usize::MAX));
        assert!(text(rx1.try_recv().unwrap()).contains("pong"));
        assert_eq!(text(rx1.try_recv().unwrap()), "close 4000");
        assert!(text(rxh.try_recv().unwrap()).contains("pong"));
        assert_eq!(text(rxh.try_recv().unwrap()), "close 4000");
        assert!(!f.has_player(7));
    }

    #[test]
    fn a_push_does_not_wait_for_a_whole_broadcast() {
        let mut f = Fanout::default();
        let mut rxs = Vec::new();
        for p in 0..1000 {
            let (c, rx) = conn(p);
            f.add_player(p, c);
            rxs.push(rx);
        }
        f.send(Target::Players, &ServerMsg::Pong { server_time: 1 });
        let rank = ServerMsg::Rank {
            version: 1,
            rank: 1,
            score: 10,
            players: 1000,
            changed_at: 1,
            pushed_at: 2,
            percentile: 0,
        };
        f.send(Target::Player(999), &rank);
        assert!(f.pump(SLICE));
        let frames: Vec<String> = std::iter::from_fn(|| rxs[999].try_recv().ok())
            .map(text)
            .collect();
        assert!(frames.iter().any(|t| t.contains("\"rank\"")), "{frames:?}");
    }

    #[test]
    fn a_push_is_pending_until_its_last_frame_left() {
        let mut f = Fanout::default();
        let mut rxs = Vec::new();
        for p in 0..(2 * SLICE as u64) {
            let (c, rx) = conn(p);
            f.add_player(p, c);
            rxs.push(rx);
        }
        assert!(!f.pushing());
        // A question going out is not a push.
        f.send(Target::Players, &ServerMsg::Pong { server_time: 1 });
        assert!(!f.pushing());
        for p in 0..(2 * SLICE as u64) {
            let rank = ServerMsg::Rank {
                version: 1,
                rank: 1,
                score: 0,
                players: 2 * SLICE as u32,
                changed_at: 1,
                pushed_at: 2,
                percentile: 0,
            };
            f.send(Target::Player(p), &rank);
        }
        assert!(f.pushing());
        assert!(f.pump(SLICE));
        assert!(f.pushing(), "half the ranks are still queued");
        while f.pump(SLICE) {}
        assert!(!f.pushing());
        for rx in &mut rxs {
            let frames: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
                .map(text)
                .collect();
            assert_eq!(frames.len(), 2, "{frames:?}");
        }
    }

    #[test]
    fn a_push_after_a_reveal_waits_for_the_reveal() {
        let mut f = Fanout::default();
        let mut rxs = Vec::new();
        for p in 0..1000 {
            let (c, rx) = conn(p);
            f.add_player(p, c);
            rxs.push(rx);
        }
        let rank = |score| ServerMsg::Rank {
            version: 1,
            rank: 1,
            score,
            players: 1000,
            changed_at: 1,
            pushed_at: 2,
            percentile: 0,
        };
        // A push queued before the reveal goes ahead of the broadcast as before.
        f.send(Target::Players, &ServerMsg::Pong { server_time: 1 });
        f.send(Target::Player(999), &rank(0));
        let reveal = ServerMsg::Reveal {
            question: 0,
            correct: vec![1],
            counts: vec![0, 1],
            result: None,
            version: 0,
            changed_at: 0,
        };
        for p in 0..1000 {
            f.send(Target::Player(p), &reveal);
        }
        // The push that carries the question's points follows every reveal.
        f.send(Target::Player(999), &rank(1000));
        f.send(Target::Player(0), &rank(1000));
        assert!(f.pump(SLICE));
        let early: Vec<String> = std::iter::from_fn(|| rxs[999].try_recv().ok())
            .map(text)
            .collect();
        assert!(early.iter().any(|t| t.contains("\"score\":0")), "{early:?}");
        assert!(
            !early.iter().any(|t| t.contains("\"score\":1000")),
            "{early:?}"
        );
        while f.pump(SLICE) {}
        for p in [0, 999] {
            let rest: Vec<String> = std::iter::from_fn(|| rxs[p].try_recv().ok())
                .map(text)
                .collect();
            let at = |kind: &str| rest.iter().position(|t| t.contains(kind));
            let reveal = at("\"reveal\"").expect("the reveal");
            let points = at("\"score\":1000").expect("the new score");
            assert!(reveal < points, "player {p}: {rest:?}");
        }
    }

    #[test]
    fn players_get_the_shared_frame_or_their_own() {
        let mut f = Fanout::default();
        let mut rxs = Vec::new();
        for p in 1..=3 {
            let (c, rx) = conn(p);
            f.add_player(p, c);
            rxs.push(rx);
        }
        let (h, mut rxh) = conn(9);
        f.add_host(h);
        let own = ServerMsg::Pong { server_time: 2 };
        f.send_players(&ServerMsg::Pong { server_time: 1 }, &[(2, own)]);
        assert!(!f.pump(usize::MAX));
        let got: Vec<String> = rxs
            .iter_mut()
            .map(|rx| text(rx.try_recv().unwrap()))
            .collect();
        assert!(got[0].contains(":1}") && got[2].contains(":1}"), "{got:?}");
        assert!(got[1].contains(":2}"), "{got:?}");
        assert!(rxs.iter_mut().all(|rx| rx.try_recv().is_err()));
        assert!(rxh.try_recv().is_err(), "the host is not a player");
    }

    #[test]
    fn a_broadcast_is_delivered_one_slice_per_pump() {
        let mut f = Fanout::default();
        let mut rxs = Vec::new();
        for p in 0..(SLICE as u64 + 10) {
            let (c, rx) = conn(p);
            f.add_player(p, c);
            rxs.push(rx);
        }
        f.send(Target::Players, &ServerMsg::Pong { server_time: 1 });
        assert!(f.pump(SLICE));
        let delivered = rxs
            .iter_mut()
            .map(|rx| rx.try_recv().is_ok())
            .filter(|ok| *ok)
            .count();
        assert_eq!(delivered, SLICE);
        assert!(!f.pump(SLICE));
        let rest = rxs
            .iter_mut()
            .map(|rx| rx.try_recv().is_ok())
            .filter(|ok| *ok)
            .count();
        assert_eq!(rest, 10);
    }
}
