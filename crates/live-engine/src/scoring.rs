//! The scoring formula of issue 5, pure and separately tested.

use livequiz_sdk::live::ScoringRules;

/// Speed points for a correct answer received `elapsed_ms` after the
/// question opened, with time limit `limit_ms` (the player's own, with
/// extra time): `max` under `full_points_ms`, else
/// `round(max * (1 - (t/T)/2))`; always `max` with accuracy-only scoring
/// (`speed` off).
///
/// `t` is clamped to `T`, so the slowest accepted correct answer still earns
/// half the points.
pub fn speed_points(rules: &ScoringRules, elapsed_ms: u64, limit_ms: u64) -> u32 {
    if !rules.speed || elapsed_ms < u64::from(rules.full_points_ms) || limit_ms == 0 {
        return rules.max_points;
    }
    let t = elapsed_ms.min(limit_ms) as f64;
    let fraction = 1.0 - (t / limit_ms as f64) / 2.0;
    (f64::from(rules.max_points) * fraction).round() as u32
}

/// Streak bonus for the `streak`-th consecutive correct answer (1-based):
/// `step * (streak - 1)` capped at `cap`; zero when streaks are off.
pub fn streak_bonus(rules: &ScoringRules, streak: u32) -> u32 {
    if !rules.streak || streak <= 1 {
        return 0;
    }
    rules
        .streak_step
        .saturating_mul(streak - 1)
        .min(rules.streak_cap)
}

/// Outcome of scoring one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// Whether the answer was right.
    pub correct: bool,
    /// Points earned (speed + streak bonus), 0 when wrong.
    pub points: u32,
    /// The player's streak after this answer.
    pub streak: u32,
}

/// Scores one answer given the player's streak before it.
pub fn score_answer(
    rules: &ScoringRules,
    correct: bool,
    elapsed_ms: u64,
    limit_ms: u64,
    streak_before: u32,
) -> Scored {
    if !correct {
        return Scored {
            correct,
            points: 0,
            streak: 0,
        };
    }
    let streak = streak_before.saturating_add(1);
    let points = speed_points(rules, elapsed_ms, limit_ms) + streak_bonus(rules, streak);
    Scored {
        correct,
        points,
        streak,
    }
}

/// Validates caller-supplied rules (e.g. from `POST /v1/live/sessions`).
pub fn validate_rules(rules: &ScoringRules) -> Result<(), String> {
    if rules.max_points == 0 || rules.max_points > 100_000 {
        return Err("scoring.max_points must be 1..=100000".into());
    }
    if rules.streak_step > 100_000 || rules.streak_cap > 100_000 {
        return Err("scoring.streak_step and streak_cap must be at most 100000".into());
    }
    if rules.full_points_ms > 60_000 {
        return Err("scoring.full_points_ms must be at most 60000".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_answers_get_full_points() {
        let r = ScoringRules::default();
        assert_eq!(speed_points(&r, 0, 10_000), 1000);
        assert_eq!(speed_points(&r, 499, 10_000), 1000);
    }

    #[test]
    fn speed_points_follow_the_formula() {
        let r = ScoringRules::default();
        // t/T = 0.5 -> 1000 * 0.75
        assert_eq!(speed_points(&r, 5_000, 10_000), 750);
        // t = T -> half
        assert_eq!(speed_points(&r, 10_000, 10_000), 500);
        // clamp past T
        assert_eq!(speed_points(&r, 12_000, 10_000), 500);
        // rounding: t/T = 0.0501 -> 1000 * 0.97495 = 974.95 -> 975
        assert_eq!(speed_points(&r, 501, 10_000), 975);
    }

    #[test]
    fn accuracy_only_scoring_ignores_the_time_but_keeps_streaks() {
        let r = ScoringRules {
            speed: false,
            ..ScoringRules::default()
        };
        for elapsed in [0, 501, 5_000, 9_999, 10_000] {
            assert_eq!(speed_points(&r, elapsed, 10_000), 1000, "{elapsed} ms");
        }
        let s = score_answer(&r, true, 9_000, 10_000, 2);
        assert_eq!(s.points, 1000 + 200);
        let no_streak = ScoringRules { streak: false, ..r };
        assert_eq!(
            score_answer(&no_streak, true, 9_000, 10_000, 2).points,
            1000
        );
        assert_eq!(score_answer(&r, false, 0, 10_000, 2).points, 0);
        // The default keeps the speed component.
        assert!(ScoringRules::default().speed);
        assert_eq!(speed_points(&ScoringRules::default(), 5_000, 10_000), 750);
    }

    #[test]
    fn speed_points_use_the_limit_given() {
        // The same 10 s answer: half-way through a doubled 20 s limit.
        let r = ScoringRules::default();
        assert_eq!(speed_points(&r, 10_000, 10_000), 500);
        assert_eq!(speed_points(&r, 10_000, 20_000), 750);
    }

    #[test]
    fn streak_bonus_grows_by_step_and_caps() {
        let r = ScoringRules::default();
        let bonuses: Vec<u32> = (1..=8).map(|s| streak_bonus(&r, s)).collect();
        assert_eq!(bonuses, vec![0, 100, 200, 300, 400, 500, 500, 500]);
        let off = ScoringRules { streak: false, ..r };
        assert_eq!(streak_bonus(&off, 5), 0);
    }

    #[test]
    fn wrong_answers_reset_the_streak() {
        let r = ScoringRules::default();
        let s = score_answer(&r, true, 100, 10_000, 2);
        assert_eq!(
            s,
            Scored {
                correct: true,
                points: 1200,
                streak: 3
            }
        );
        let w = score_answer(&r, false, 100, 10_000, 3);
        assert_eq!(
            w,
            Scored {
                correct: false,
                points: 0,
                streak: 0
            }
        );
    }

    #[test]
    fn rules_are_validated() {
        assert!(validate_rules(&ScoringRules::default()).is_ok());
        let bad = ScoringRules {
            max_points: 0,
            ..ScoringRules::default()
        };
        assert!(validate_rules(&bad).is_err());
    }
}
