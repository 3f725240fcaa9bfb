//! The matcher: which waiting tickets make a match, decided from the
//! tickets and the time alone (no I/O), so tests pass the time in.
//!
//! ## The rating gap
//!
//! A ticket that has waited `w` accepts opponents whose rating differs by
//! at most `gap(w) = base_gap + gap_per_sec * w` (defaults: 100, +20 per
//! second: 300 after 10 s, 680 after 29 s), and, from `any_after`
//! (default 30 s) on, any opponent. Two tickets match when each accepts the
//! other (the difference is within both gaps); a group when every pair does.
//! A ticket still unmatched at `max_wait` (default 120 s) leaves the queue
//! with a `timeout` frame: by then it has accepted anyone of its size and
//! topic for 90 s, so nobody compatible is queueing.
//!
//! ## Groups
//!
//! Tickets match when they ask for the same size and compatible topics (the
//! same topic, or one of them any). The oldest ticket is served first, with
//! the nearest ratings it accepts. A room (size over 2) forms when it is
//! full, or, once its oldest ticket waited `any_after`, with the two or more
//! players there are.

use std::collections::HashSet;

/// The gap curve and the bounds (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    /// Gap at 0 s.
    pub base_gap: f64,
    /// Gap growth per second waited.
    pub gap_per_sec: f64,
    /// From this wait (ms) on, any opponent (and rooms start not full).
    pub any_after_ms: u64,
    /// Wait bound (ms): then the ticket times out.
    pub max_wait_ms: u64,
}

impl Default for Curve {
    fn default() -> Self {
        Curve {
            base_gap: 100.0,
            gap_per_sec: 20.0,
            any_after_ms: 30_000,
            max_wait_ms: 120_000,
        }
    }
}

impl Curve {
    /// The allowed rating difference after waiting `waited_ms`; `None`: any.
    pub fn gap(&self, waited_ms: u64) -> Option<f64> {
        if waited_ms >= self.any_after_ms {
            return None;
        }
        Some(self.base_gap + self.gap_per_sec * waited_ms as f64 / 1000.0)
    }

    fn accepts(&self, waited_ms: u64, diff: f64) -> bool {
        match self.gap(waited_ms) {
            None => true,
            Some(g) => diff <= g,
        }
    }
}

/// A waiting player, as the matcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Account.
    pub user_id: i64,
    /// Rating when queued.
    pub rating: f64,
    /// A topic, or any.
    pub topic: Option<String>,
    /// Players wanted (2..=8).
    pub size: u32,
    /// When queued (ms, the matchmaker's clock).
    pub enqueued_at: i64,
}

impl Ticket {
    fn waited(&self, now: i64) -> u64 {
        (now - self.enqueued_at).max(0) as u64
    }
}

/// A group to make a match of: indexes into the tickets, and its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Indexes of the tickets.
    pub members: Vec<usize>,
    /// The group's topic (`None`: every member accepts any).
    pub topic: Option<String>,
}

/// Every group the tickets make at `now`; no ticket is in two groups.
pub fn form(tickets: &[Ticket], now: i64, curve: &Curve) -> Vec<Group> {
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    order.sort_by_key(|&i| (tickets[i].enqueued_at, tickets[i].user_id));
    // Per size, indexes sorted by rating: candidates are found by scanning
    // outwards from the anchor's rating.
    let mut by_rating: Vec<usize> = (0..tickets.len()).collect();
    by_rating.sort_by(|&a, &b| {
        (tickets[a].size, tickets[a].rating)
            .partial_cmp(&(tickets[b].size, tickets[b].rating))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut pos = vec![0usize; tickets.len()];
    for (p, &i) in by_rating.iter().enumerate() {
        pos[i] = p;
    }
    let mut used: HashSet<usize> = HashSet::new();
    let mut groups = Vec::new();
    for &anchor in &order {
        if used.contains(&anchor) {
            continue;
        }
        let a = &tickets[anchor];
        let waited = a.waited(now);
        // Candidates the anchor accepts, nearest rating first.
        let mut cands: Vec<usize> = Vec::new();
        let gap = curve.gap(waited);
        let within = |j: usize| {
            let t = &tickets[j];
            t.size == a.size
                && match gap {
                    None => true,
                    Some(g) => (t.rating - a.rating).abs() <= g,
                }
        };
        let p = pos[anchor];
        let (mut lo, mut hi) = (p, p + 1);
        let limit = 64;
        loop {
            let left = (lo > 0 && within(by_rating[lo - 1])).then(|| by_rating[lo - 1]);
            let right = (hi < by_rating.len() && within(by_rating[hi])).then(|| by_rating[hi]);
            let pick = match (left, right) {
                (None, None) => break,
                (Some(l), None) => {
                    lo -= 1;
                    l
                }
                (None, Some(r)) => {
                    hi += 1;
                    r
                }
                (Some(l), Some(r)) => {
                    if (tickets[l].rating - a.rating).abs() <= (tickets[r].rating - a.rating).abs()
                    {
                        lo -= 1;
                        l
                    } else {
                        hi += 1;
                        r
                    }
                }
            };
            if !used.contains(&pick) {
                cands.push(pick);
                if cands.len() >= limit {
                    break;
                }
            }
        }
        let mut members = vec![anchor];
        let mut topic = a.topic.clone();
        for c in cands {
            if members.len() as u32 >= a.size {
                break;
            }
            let t = &tickets[c];
            let topic_ok = match (&topic, &t.topic) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            if !topic_ok {
                continue;
            }
            let fits = members.iter().all(|&m| {
                let o = &tickets[m];
                let diff = (o.rating - t.rating).abs();
                curve.accepts(o.waited(now), diff) && curve.accepts(t.waited(now), diff)
            });
            if fits {
                if topic.is_none() {
                    topic = t.topic.clone();
                }
                members.push(c);
            }
        }
        let full = members.len() as u32 >= a.size;
        let partial_room = a.size > 2 && members.len() >= 2 && waited >= curve.any_after_ms;
        if full || partial_room {
            used.extend(members.iter().copied());
            groups.push(Group { members, topic });
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user_id: i64, rating: f64, size: u32, at: i64) -> Ticket {
        Ticket {
            user_id,
            rating,
            topic: None,
            size,
            enqueued_at: at,
        }
    }

    #[test]
    fn the_gap_widens_with_the_wait_then_accepts_anyone() {
        let c = Curve::default();
        assert_eq!(c.gap(0), Some(100.0));
        assert_eq!(c.gap(10_000), Some(300.0));
        assert_eq!(c.gap(29_000), Some(680.0));
        assert_eq!(c.gap(30_000), None);
    }

    #[test]
    fn close_ratings_match_at_once_far_ones_after_widening() {
        let c = Curve::default();
        let near = [t(1, 1500.0, 2, 0), t(2, 1580.0, 2, 0)];
        assert_eq!(form(&near, 0, &c).len(), 1);
        let far = [t(1, 1500.0, 2, 0), t(2, 1800.0, 2, 0)];
        assert!(form(&far, 0, &c).is_empty());
        // 300 apart: both accept it after 10 s.
        assert!(form(&far, 9_000, &c).is_empty());
        assert_eq!(form(&far, 10_000, &c).len(), 1);
        // Anyone after 30 s.
        let very_far = [t(1, 1000.0, 2, 0), t(2, 2500.0, 2, 0)];
        assert!(form(&very_far, 29_999, &c).is_empty());
        assert_eq!(form(&very_far, 30_000, &c).len(), 1);
    }

    #[test]
    fn both_sides_must_accept() {
        let c = Curve::default();
        // The old ticket accepts anyone; the new one only 100 points.
        let ts = [t(1, 1000.0, 2, 0), t(2, 1500.0, 2, 40_000)];
        assert!(form(&ts, 40_000, &c).is_empty());
    }

    #[test]
    fn nearest_rating_wins_and_nobody_is_in_two_groups() {
        let c = Curve::default();
        let ts = [
            t(1, 1500.0, 2, 0),
            t(2, 1590.0, 2, 1),
            t(3, 1510.0, 2, 2),
            t(4, 1600.0, 2, 3),
        ];
        let g = form(&ts, 10, &c);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].members, vec![0, 2]);
        assert_eq!(g[1].members, vec![1, 3]);
    }

    #[test]
    fn sizes_and_topics_do_not_mix() {
        let c = Curve::default();
        let mut a = t(1, 1500.0, 2, 0);
        a.topic = Some("art".into());
        let mut b = t(2, 1500.0, 2, 0);
        b.topic = Some("sport".into());
        let d = t(3, 1500.0, 3, 0);
        assert!(form(&[a.clone(), b.clone(), d], 0, &c).is_empty());
        // Any topic joins a topic, and the match takes it.
        let any = t(4, 1500.0, 2, 0);
        let g = form(&[a, any], 0, &c);
        assert_eq!(g[0].topic.as_deref(), Some("art"));
    }

    #[test]
    fn rooms_form_full_or_after_the_any_bound_with_who_is_there() {
        let c = Curve::default();
        let room: Vec<Ticket> = (0..4).map(|i| t(i, 1500.0 + i as f64, 4, 0)).collect();
        assert_eq!(form(&room, 0, &c)[0].members.len(), 4);
        let three = &room[..3];
        assert!(form(three, 29_000, &c).is_empty());
        assert_eq!(form(three, 30_000, &c)[0].members.len(), 3);
        assert!(form(&room[..1], 60_000, &c).is_empty());
    }
}
