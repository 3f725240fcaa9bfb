//! leaderboard-core (being built; see the crate essay once written).
#![warn(missing_docs)]
