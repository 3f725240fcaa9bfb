//! The engine's clock on this gateway: tokio's monotonic time, counted from
//! an origin taken when the live service starts.
//!
//! The engine ([`super::engine`]) reads no clock; every call gets an
//! [`engine::Instant`]. A [`Clock`] turns the
//! runtime's instants into those and back (for the actor's timers), so a
//! stamp taken anywhere in the process (the WebSocket reader stamps each
//! frame it receives) means the same time to every session.

use super::engine;

/// Converts between tokio's instants and the engine's.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The engine's time now.
    pub fn now(&self) -> engine::Instant {
        self.at(tokio::time::Instant::now())
    }

    /// The engine's instant of `t`.
    pub fn at(&self, t: tokio::time::Instant) -> engine::Instant {
        let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        if t >= self.origin {
            engine::Instant::from_nanos(nanos(t - self.origin))
        } else {
            engine::Instant::from_nanos(-nanos(self.origin - t))
        }
    }

    /// The runtime's instant of `t` (for timers).
    pub fn runtime(&self, t: engine::Instant) -> tokio::time::Instant {
        let nanos = t.as_nanos();
        let d = std::time::Duration::from_nanos(nanos.unsigned_abs());
        if nanos >= 0 {
            self.origin + d
        } else {
            self.origin.checked_sub(d).unwrap_or(self.origin)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instants_convert_both_ways_on_either_side_of_the_origin() {
        let c = Clock::start();
        let later = c.origin + Duration::from_millis(1_500);
        assert_eq!(
            c.at(later),
            engine::Instant::ZERO + Duration::from_millis(1_500)
        );
        assert_eq!(c.runtime(c.at(later)), later);
        if let Some(earlier) = c.origin.checked_sub(Duration::from_millis(20)) {
            assert_eq!(
                c.at(earlier),
                engine::Instant::ZERO - Duration::from_millis(20)
            );
            assert_eq!(c.runtime(c.at(earlier)), earlier);
        }
    }
}
