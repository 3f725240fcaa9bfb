//! Picking a chunk of matches' questions in memory, from candidate pools
//! and the players' recently seen questions read once for the whole chunk
//! (see `Matchmaker`'s draw): a handful of queries per chunk instead of up
//! to five per match.

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::Rng;

/// A playable candidate question: its id and difficulty (1-5).
pub type Candidate = (i64, u8);

/// One match to draw questions for.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawRequest<'a> {
    /// The match's topic (`None`: any).
    pub topic: Option<&'a str>,
    /// The difficulty its players' mean rating calls for (1-5).
    pub difficulty: u8,
    /// Its players' user ids.
    pub users: &'a [i64],
}

/// The questions of each match of `matches`, in order (at most `want`
/// each), from the candidate pool of its topic in `pools` (a topic missing
/// there has no candidates), none repeated within a match.
///
/// The preference order is: difficulty within one of the match's
/// difficulty and seen by none of its players (a user's entry in `seen`),
/// then any difficulty seen by none, then difficulty within one seen by
/// some, then any; random among equals (`rng`). A match gets fewer than
/// `want` only when its pool has fewer.
pub fn pick_chunk<R: Rng + ?Sized>(
    matches: &[DrawRequest<'_>],
    pools: &HashMap<Option<&str>, Vec<Candidate>>,
    seen: &HashMap<i64, HashSet<i64>>,
    want: usize,
    rng: &mut R,
) -> Vec<Vec<i64>> {
    matches
        .iter()
        .map(|m| {
            let pool = pools.get(&m.topic).map(Vec::as_slice).unwrap_or(&[]);
            pick(pool, m.difficulty, m.users, seen, want, rng)
        })
        .collect()
}

/// One match's questions from `pool` (see [`pick_chunk`]).
pub fn pick<R: Rng + ?Sized>(
    pool: &[Candidate],
    difficulty: u8,
    users: &[i64],
    seen: &HashMap<i64, HashSet<i64>>,
    want: usize,
    rng: &mut R,
) -> Vec<i64> {
    let near = |d: u8| d.saturating_add(1) >= difficulty && d <= difficulty.saturating_add(1);
    let unseen = |id: i64| {
        users
            .iter()
            .all(|u| !seen.get(u).is_some_and(|s| s.contains(&id)))
    };
    let mut ids: Vec<i64> = Vec::with_capacity(want);
    for (near_only, unseen_only) in [(true, true), (false, true), (true, false), (false, false)] {
        if ids.len() >= want {
            break;
        }
        let mut more: Vec<i64> = pool
            .iter()
            .filter(|&&(id, d)| {
                (!near_only || near(d)) && (!unseen_only || unseen(id)) && !ids.contains(&id)
            })
            .map(|&(id, _)| id)
            .collect();
        more.sort_unstable();
        more.dedup();
        let take = (want - ids.len()).min(more.len());
        let (chosen, _) = more.partial_shuffle(rng, take);
        ids.extend_from_slice(chosen);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn seen(entries: &[(i64, &[i64])]) -> HashMap<i64, HashSet<i64>> {
        entries
            .iter()
            .map(|(u, ids)| (*u, ids.iter().copied().collect()))
            .collect()
    }

    fn set(ids: &[i64]) -> HashSet<i64> {
        ids.iter().copied().collect()
    }

    /// Difficulty 3 near: 2-4. Ids 1-3 near, 4-5 far.
    const POOL: &[Candidate] = &[(1, 2), (2, 3), (3, 4), (4, 1), (5, 5)];

    #[test]
    fn near_and_unseen_first_then_far_unseen_then_near_seen_then_far_seen() {
        let s = seen(&[(10, &[1]), (11, &[4])]);
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let got = pick(POOL, 3, &[10, 11], &s, 5, &mut rng);
            assert_eq!(got.len(), 5);
            // Near unseen (2, 3), then far unseen (5), then near seen (1), then far seen (4).
            assert_eq!(set(&got[..2]), set(&[2, 3]), "seed {seed}: {got:?}");
            assert_eq!(got[2..], [5, 1, 4], "seed {seed}: {got:?}");
        }
    }

    #[test]
    fn stops_at_want_within_the_best_tier() {
        let s = seen(&[]);
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let got = pick(POOL, 3, &[10], &s, 2, &mut rng);
            assert_eq!(got.len(), 2);
            assert!(got.iter().all(|id| [1, 2, 3].contains(id)), "{got:?}");
        }
    }

    #[test]
    fn random_among_equals() {
        let s = seen(&[]);
        let mut firsts = HashSet::new();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            firsts.insert(pick(POOL, 3, &[10], &s, 1, &mut rng)[0]);
        }
        assert_eq!(
            firsts,
            set(&[1, 2, 3]),
            "every near question comes first sometimes"
        );
    }

    #[test]
    fn no_repeat_within_a_match_and_fewer_when_the_bank_is_short() {
        // A pool listing an id twice still yields it once.
        let pool: &[Candidate] = &[(1, 3), (2, 3), (1, 3), (3, 1)];
        let s = seen(&[(10, &[2])]);
        let mut rng = StdRng::seed_from_u64(1);
        let got = pick(pool, 3, &[10], &s, 7, &mut rng);
        assert_eq!(got.len(), 3, "only three questions exist: {got:?}");
        assert_eq!(set(&got), set(&[1, 2, 3]));
        // The one seen comes last.
        assert_eq!(got[2], 2);
        assert!(pick(&[], 3, &[10], &s, 7, &mut rng).is_empty());
    }

    #[test]
    fn every_players_seen_questions_are_respected() {
        let pool: Vec<Candidate> = (1..=6).map(|id| (id, 3)).collect();
        let s = seen(&[(10, &[1, 2]), (11, &[3]), (12, &[4, 5])]);
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            // Only 6 is unseen by all three; then the seen ones.
            let got = pick(&pool, 3, &[10, 11, 12], &s, 2, &mut rng);
            assert_eq!(got[0], 6, "{got:?}");
            assert_ne!(got[1], 6);
            // A player outside the match does not count.
            let got = pick(&pool, 3, &[11], &s, 5, &mut rng);
            assert_eq!(set(&got), set(&[1, 2, 4, 5, 6]), "{got:?}");
        }
    }

    #[test]
    fn extreme_difficulties_clamp_the_near_range() {
        let pool: &[Candidate] = &[(1, 1), (2, 2), (3, 3), (5, 5), (4, 4)];
        let s = seen(&[]);
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            assert_eq!(set(&pick(pool, 1, &[10], &s, 2, &mut rng)), set(&[1, 2]));
            assert_eq!(set(&pick(pool, 5, &[10], &s, 2, &mut rng)), set(&[4, 5]));
        }
    }

    #[test]
    fn a_chunk_draws_each_match_from_its_topic() {
        let mut pools: HashMap<Option<&str>, Vec<Candidate>> = HashMap::new();
        pools.insert(Some("a"), vec![(1, 3), (2, 3), (3, 3)]);
        pools.insert(Some("b"), vec![(11, 3), (12, 3)]);
        pools.insert(None, vec![(1, 3), (2, 3), (3, 3), (11, 3), (12, 3)]);
        let s = seen(&[(100, &[1]), (200, &[12]), (300, &[1, 2, 3, 11])]);
        let (u1, u2, u3, u4) = ([100, 101], [200, 201], [300, 301], [400, 401]);
        let matches = [
            DrawRequest {
                topic: Some("a"),
                difficulty: 3,
                users: &u1,
            },
            DrawRequest {
                topic: Some("b"),
                difficulty: 3,
                users: &u2,
            },
            DrawRequest {
                topic: None,
                difficulty: 3,
                users: &u3,
            },
            DrawRequest {
                topic: Some("gone"),
                difficulty: 3,
                users: &u4,
            },
        ];
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let got = pick_chunk(&matches, &pools, &s, 2, &mut rng);
            assert_eq!(got.len(), 4);
            assert_eq!(set(&got[0]), set(&[2, 3]), "topic a, 1 seen");
            assert_eq!(got[1][0], 11, "topic b, 12 seen: {:?}", got[1]);
            assert_eq!(got[1][1], 12, "then the seen one");
            assert_eq!(got[2][0], 12, "any topic: only 12 unseen");
            assert!(got[3].is_empty(), "a topic without a pool has no questions");
        }
    }
}
