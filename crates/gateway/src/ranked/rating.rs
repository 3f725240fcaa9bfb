//! Weng-Lin (OpenSkill) rating updates through the `skillratings` crate.
//!
//! Every player is a team of one in a free-for-all ([`weng_lin_multi_team`]), which is the
//! plain 1v1 update for two players. Equal placements tie; an abandoning player is placed
//! after everyone who finished (all abandoners tie for last), so abandoning is a loss.

use skillratings::weng_lin::{weng_lin_multi_team, WengLinConfig, WengLinRating};
use skillratings::MultiTeamOutcome;

/// A new player's mean.
pub const INITIAL_MU: f64 = 25.0;
/// A new player's standard deviation.
pub const INITIAL_SIGMA: f64 = 25.0 / 3.0;
/// The displayed rating of a conservative estimate `mu - 3 sigma` of 0 (every new player).
pub const DISPLAY_BASE: f64 = 1000.0;
/// Display points per unit of `mu - 3 sigma`.
pub const DISPLAY_SCALE: f64 = 40.0;

/// The displayed rating: `1000 + 40 (mu - 3 sigma)`, rounded. It starts at 1000 and grows as
/// the player wins and as the system grows sure of their skill.
pub fn display(mu: f64, sigma: f64) -> i64 {
    let d = (DISPLAY_BASE + DISPLAY_SCALE * (mu - 3.0 * sigma)).round();
    if d.is_finite() {
        d.clamp(-1e15, 1e15) as i64
    } else {
        DISPLAY_BASE as i64
    }
}

/// One player's input to [`rate`]: current `(mu, sigma)`, placement (1 = best) and whether
/// they abandoned.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    /// Current mean.
    pub mu: f64,
    /// Current standard deviation.
    pub sigma: f64,
    /// Placement, 1 = best; equal placements tie.
    pub placement: u32,
    /// Abandoned: counts as last place.
    pub abandoned: bool,
}

/// The placements the update uses: finishers keep theirs, abandoners tie after the worst
/// finisher.
pub fn effective_placements(seats: &[Seat]) -> Vec<u32> {
    let last = seats
        .iter()
        .filter(|s| !s.abandoned)
        .map(|s| s.placement)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    seats
        .iter()
        .map(|s| if s.abandoned { last } else { s.placement })
        .collect()
}

/// The new `(mu, sigma)` of every seat, in order.
pub fn rate(seats: &[Seat]) -> Vec<(f64, f64)> {
    let placements = effective_placements(seats);
    let teams: Vec<[WengLinRating; 1]> = seats
        .iter()
        .map(|s| {
            [WengLinRating {
                rating: s.mu,
                uncertainty: s.sigma,
            }]
        })
        .collect();
    let input: Vec<(&[WengLinRating], MultiTeamOutcome)> = teams
        .iter()
        .zip(&placements)
        .map(|(t, p)| (&t[..], MultiTeamOutcome::new(*p as usize)))
        .collect();
    let out = weng_lin_multi_team(&input, &WengLinConfig::new());
    out.iter()
        .zip(seats)
        .map(|(team, s)| match team.first() {
            Some(r) if r.rating.is_finite() && r.uncertainty.is_finite() => {
                (r.rating, r.uncertainty)
            }
            _ => (s.mu, s.sigma),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(placement: u32, abandoned: bool) -> Seat {
        Seat {
            mu: INITIAL_MU,
            sigma: INITIAL_SIGMA,
            placement,
            abandoned,
        }
    }

    #[test]
    fn new_players_display_1000() {
        assert_eq!(display(INITIAL_MU, INITIAL_SIGMA), 1000);
    }

    #[test]
    fn duel_winner_up_loser_down() {
        let r = rate(&[seat(1, false), seat(2, false)]);
        assert!(r[0].0 > INITIAL_MU && r[1].0 < INITIAL_MU);
        assert!(display(r[0].0, r[0].1) > 1000 && display(r[1].0, r[1].1) < 1000);
        assert!(r[0].1 < INITIAL_SIGMA && r[1].1 < INITIAL_SIGMA);
    }

    #[test]
    fn abandon_is_a_loss_even_with_a_better_placement() {
        let r = rate(&[seat(1, true), seat(2, false)]);
        assert!(r[0].0 < INITIAL_MU && r[1].0 > INITIAL_MU);
    }

    #[test]
    fn room_orders_by_placement_and_ties_share() {
        let r = rate(&[
            seat(1, false),
            seat(2, false),
            seat(2, false),
            seat(4, false),
        ]);
        assert!(r[0].0 > r[1].0 && r[1].0 > r[3].0);
        assert!((r[1].0 - r[2].0).abs() < 1e-9);
    }
}
