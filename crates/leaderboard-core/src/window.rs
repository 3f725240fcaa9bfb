//! Time windows: which window a timestamp falls in, per reset schedule.

use serde::{Deserialize, Serialize};

use crate::ResetSchedule;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// 1970-01-05 was the first Monday after the epoch.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// A half-open time range `[start, end)` in ms since the epoch.
///
/// ```
/// use leaderboard_core::WindowSpan;
/// let w = WindowSpan { start: 0, end: 10 };
/// assert!(w.contains(0) && !w.contains(10));
/// assert!(WindowSpan::forever().contains(i64::MIN));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowSpan {
    /// First ms in the window.
    pub start: i64,
    /// First ms after the window (`i64::MAX` for an open-ended window,
    /// which then also contains `i64::MAX`).
    pub end: i64,
}

impl WindowSpan {
    /// The single window of a board without a reset schedule.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::WindowSpan::forever().start, i64::MIN);
    /// ```
    pub fn forever() -> Self {
        WindowSpan {
            start: i64::MIN,
            end: i64::MAX,
        }
    }

    /// Whether `at` falls in the window.
    ///
    /// ```
    /// assert!(leaderboard_core::WindowSpan { start: 5, end: 9 }.contains(8));
    /// ```
    pub fn contains(&self, at: i64) -> bool {
        at >= self.start && (at < self.end || self.end == i64::MAX)
    }
}

impl ResetSchedule {
    /// The window `[start, end)` containing `at`.
    ///
    /// ```
    /// use leaderboard_core::ResetSchedule;
    /// // 2024-02-10T12:00:00Z is in February 2024
    /// let (start, end) = ResetSchedule::Monthly.window_of(1_707_566_400_000);
    /// assert_eq!(start, 1_706_745_600_000); // 2024-02-01
    /// assert_eq!(end, 1_709_251_200_000); // 2024-03-01
    /// ```
    pub fn window_of(&self, at: i64) -> (i64, i64) {
        match *self {
            ResetSchedule::Hourly => fixed(at, HOUR_MS, 0),
            ResetSchedule::Daily => fixed(at, DAY_MS, 0),
            ResetSchedule::Weekly => fixed(at, 7 * DAY_MS, FIRST_MONDAY_MS),
            ResetSchedule::Every {
                period_ms,
                origin_ms,
            } => fixed(at, period_ms.max(1), origin_ms),
            ResetSchedule::Monthly => {
                let (y, m, _) = civil_from_days(at.div_euclid(DAY_MS));
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (
                    clamp(days_from_civil(y, m, 1) as i128 * DAY_MS as i128),
                    clamp(days_from_civil(ny, nm, 1) as i128 * DAY_MS as i128),
                )
            }
            ResetSchedule::ExpiresAt { at_ms } => {
                if at < at_ms {
                    (i64::MIN, at_ms)
                } else {
                    (at_ms, i64::MAX)
                }
            }
        }
    }

    /// The span of the window containing `at`.
    ///
    /// ```
    /// use leaderboard_core::ResetSchedule;
    /// assert_eq!(ResetSchedule::Hourly.span_of(3_600_001).start, 3_600_000);
    /// ```
    pub fn span_of(&self, at: i64) -> WindowSpan {
        let (start, end) = self.window_of(at);
        WindowSpan { start, end }
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn fixed(at: i64, period: i64, origin: i64) -> (i64, i64) {
    let rel = at as i128 - origin as i128;
    let start = rel.div_euclid(period as i128) * period as i128 + origin as i128;
    (clamp(start), clamp(start + period as i128))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in (-800_000..800_000).step_by(37) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn weekly_starts_monday() {
        // 2024-01-03 (Wednesday) -> week of Monday 2024-01-01
        let (s, e) = ResetSchedule::Weekly.window_of(1_704_283_200_000);
        assert_eq!(s, 1_704_067_200_000);
        assert_eq!(e - s, 7 * DAY_MS);
    }

    #[test]
    fn extremes_do_not_overflow() {
        for s in [
            ResetSchedule::Hourly,
            ResetSchedule::Monthly,
            ResetSchedule::Weekly,
        ] {
            let (a, b) = s.window_of(i64::MAX);
            assert!(a <= b);
            let (a, b) = s.window_of(i64::MIN);
            assert!(a <= b);
        }
    }
}
