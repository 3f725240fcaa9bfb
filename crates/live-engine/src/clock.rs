//! The engine's notion of time: a value the driver passes in, never a clock
//! the engine reads.
//!
//! An [`Instant`] is a point on the driver's monotonic clock, counted from an
//! origin the driver picks (the actor takes the moment it started). It may be
//! negative: a session restored from a checkpoint has instants from before its
//! new driver existed (when the open question opened). Wall-clock times (what
//! frames carry, ms since the epoch) are derived from one pairing of an
//! instant with the wall clock given at creation (see
//! [`Session::epoch`](crate::Session::epoch)), so the engine's deadlines never
//! move when the wall clock is adjusted.
//!
//! Tests build instants directly ([`Instant::ZERO`] plus durations) and so
//! drive the engine through hours of a game without waiting or a mocked
//! runtime clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point on the driver's monotonic clock, in nanoseconds from its origin.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(i64);

impl Instant {
    /// The driver's origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the origin (negative: before it).
    pub const fn from_nanos(nanos: i64) -> Instant {
        Instant(nanos)
    }

    /// The instant `d` after the origin.
    pub fn from_origin(d: Duration) -> Instant {
        Instant::ZERO + d
    }

    /// Nanoseconds from the origin (negative before it).
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0).max(0) as u64)
    }

    /// The instant `d` before this one (`None` past the representable range,
    /// about 292 years from the origin).
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        let nanos = i64::try_from(d.as_nanos()).ok()?;
        self.0.checked_sub(nanos).map(Instant)
    }

    /// The instant `d` after this one (`None` past the representable range).
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        let nanos = i64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the end of the representable range (centuries away).
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant(i64::MAX))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the start of the representable range.
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d).unwrap_or(Instant(i64::MIN))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// How long after `earlier` this is; zero if it is not later.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "+" };
        let d = Duration::from_nanos(self.0.unsigned_abs());
        write!(f, "Instant({sign}{d:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_goes_below_the_origin() {
        let t = Instant::ZERO + Duration::from_millis(1_500);
        assert_eq!(t.as_nanos(), 1_500_000_000);
        assert_eq!(
            t.saturating_duration_since(Instant::ZERO),
            Duration::from_millis(1_500)
        );
        assert_eq!(Instant::ZERO.saturating_duration_since(t), Duration::ZERO);
        let before = Instant::ZERO - Duration::from_secs(2);
        assert!(before < Instant::ZERO);
        assert_eq!(
            t.saturating_duration_since(before),
            Duration::from_millis(3_500)
        );
        assert_eq!(Instant::ZERO.checked_sub(Duration::MAX), None);
        assert_eq!(
            Instant::from_nanos(i64::MAX - 1) + Duration::from_secs(1),
            Instant::from_nanos(i64::MAX)
        );
        assert_eq!(format!("{before:?}"), "Instant(-2s)");
    }
}
