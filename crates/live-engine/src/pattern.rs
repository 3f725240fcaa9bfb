//! Two-step join: the rotating pattern a join must carry.
//!
//! A join-bot tool knows the join code (it is on the projector, or it
//! enumerated it), but not what the host's screen shows right now. The host
//! is sent a short pattern ([`PATTERN_LEN`] symbols from [`ALPHABET`], 1,296
//! patterns) that changes every [`ROTATION`]; a join must carry the current
//! one, or the previous one within [`GRACE`] after it changed (a person who
//! started typing it just before the change still gets in). A wrong guess is
//! a refused join attempt, counted by the per-address join limit.
//!
//! Pure: the clock and the random generator are passed in.

use std::time::Duration;

use rand::Rng;

use crate::clock::Instant;

/// Symbols of a pattern (dice faces: easy to show as shapes or colours).
pub const ALPHABET: &[u8] = b"123456";
/// Symbols in a pattern.
pub const PATTERN_LEN: usize = 4;
/// How long a pattern is the current one.
pub const ROTATION: Duration = Duration::from_secs(10);
/// How long the previous pattern stays valid after it was replaced.
pub const GRACE: Duration = Duration::from_secs(10);

/// The current and previous pattern of a session.
#[derive(Debug, Clone)]
pub struct PatternClock {
    current: String,
    /// The previous pattern and until when it is accepted.
    previous: Option<(String, Instant)>,
    rotates_at: Instant,
}

fn random_pattern(rng: &mut impl Rng) -> String {
    (0..PATTERN_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl PatternClock {
    /// A fresh pattern at `now`.
    pub fn new(now: Instant, rng: &mut impl Rng) -> Self {
        PatternClock {
            current: random_pattern(rng),
            previous: None,
            rotates_at: now + ROTATION,
        }
    }

    /// The pattern to show.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// When the next rotation is due.
    pub fn rotates_at(&self) -> Instant {
        self.rotates_at
    }

    /// Whether a join carrying `given` is let in at `now`.
    pub fn accepts(&self, now: Instant, given: Option<&str>) -> bool {
        let Some(given) = given.map(str::trim) else {
            return false;
        };
        given == self.current
            || self
                .previous
                .as_ref()
                .is_some_and(|(p, until)| given == p && now < *until)
    }

    /// Rotates if due at `now`; whether it did.
    pub fn rotate(&mut self, now: Instant, rng: &mut impl Rng) -> bool {
        if now < self.rotates_at {
            return false;
        }
        let mut next = random_pattern(rng);
        while next == self.current {
            next = random_pattern(rng);
        }
        let old = std::mem::replace(&mut self.current, next);
        self.previous = Some((old, now + GRACE));
        self.rotates_at = now + ROTATION;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_pattern_and_the_previous_within_grace_are_accepted() {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let t0 = Instant::ZERO;
        let mut p = PatternClock::new(t0, &mut rng);
        let first = p.current().to_string();
        assert_eq!(first.len(), PATTERN_LEN);
        assert!(first.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(p.accepts(t0, Some(&first)));
        assert!(p.accepts(t0, Some(&format!(" {first} "))));
        assert!(!p.accepts(t0, None));
        assert!(!p.accepts(t0, Some("")));
        assert!(!p.rotate(t0 + ROTATION - Duration::from_millis(1), &mut rng));
        let t1 = t0 + ROTATION;
        assert!(p.rotate(t1, &mut rng));
        let second = p.current().to_string();
        assert_ne!(first, second);
        assert!(p.accepts(t1, Some(&second)));
        assert!(p.accepts(t1 + GRACE - Duration::from_millis(1), Some(&first)));
        assert!(!p.accepts(t1 + GRACE, Some(&first)));
        assert_eq!(p.rotates_at(), t1 + ROTATION);
    }
}
