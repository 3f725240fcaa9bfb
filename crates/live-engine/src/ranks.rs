//! The session's scores, ranked: a [`leaderboard_core::Board`] the session
//! owns.
//!
//! It is the only copy of the players' totals while the session runs (the
//! roster keeps names and streaks, not scores), so what a push, a welcome or
//! the final standings say is read from one place. leaderboard-core is
//! synchronous and I/O-free like the engine: a rank is one descent of an
//! order-statistic tree, and the push reads every player's rank in one
//! ordered scan ([`Ranks::all`]) rather than one lookup each.
//!
//! Order: more points first; equal points rank together (competition ranks:
//! 1, 2, 2, 4) and are listed by player id (the order they joined in). Not by
//! who reached the score first: the points of a question are applied all
//! together at its reveal, a restore recomputes the totals from the durable
//! answers, and the stored standings are read back ordered by rank and player
//! id, so the player id is the one tie order every copy agrees on. Member ids
//! are zero-padded so the board's member order is the numeric order.

use leaderboard_core::{Board, BoardConfig, RankStyle, Write, WriteOp};

use crate::effects::ScoreWrite;

/// A player's place on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    /// Player id.
    pub player: u64,
    /// Competition rank (1-based; equal scores share it).
    pub rank: u64,
    /// Total points.
    pub score: i64,
    /// Server time (ms) the score was reached (orders equal scores).
    pub at: i64,
}

/// Configuration of a session's board, in the engine and on a mirror: points
/// are added (`incr`), equal scores share a rank.
pub fn board_config(partitions: u16) -> BoardConfig {
    // The engine writes each change once; op ids matter only on a mirror
    // (retries), which sizes its own memory.
    BoardConfig::new()
        .default_op(WriteOp::Incr)
        .rank_style(RankStyle::Competition)
        .partitions(partitions)
}

/// Member id of a player on a session's board.
pub fn member(player: u64) -> String {
    format!("{player:020}")
}

/// The ranked scores of one session.
pub struct Ranks {
    board: Board,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranks")
            .field("players", &self.board.count())
            .finish()
    }
}

impl Ranks {
    /// An empty board. One partition: a session has at most tens of thousands
    /// of players, and one tree makes every rank a single descent and the
    /// ordered scan a walk along its leaves.
    pub fn new() -> Self {
        // The configuration is fixed and valid (one partition, default caps);
        // `Board::new` only fails on an invalid one.
        let board = Board::new("live-session", board_config(1))
            .expect("the session board configuration is valid");
        Ranks { board }
    }

    /// Adds the writes' points (a player not on the board yet starts at 0).
    pub fn apply(&mut self, writes: &[ScoreWrite]) {
        let batch = writes
            .iter()
            // A constant `at`: equal scores are then ordered by member id (see the module docs).
            .map(|w| Write::new(member(w.player), w.delta, 0).op(WriteOp::Incr))
            .collect();
        // A write can only fail on an `i64` overflow, which points bounded by
        // `u32` per question cannot reach.
        for r in self.board.apply_batch(batch) {
            debug_assert!(r.is_ok(), "session board write: {r:?}");
        }
    }

    /// Takes a player off the board.
    pub fn remove(&mut self, player: u64) {
        self.board.remove(&member(player));
    }

    /// A player's total, if they are on the board.
    pub fn score(&self, player: u64) -> Option<i64> {
        self.board.entry(&member(player)).map(|e| e.entry.score)
    }

    /// Number of players on the board.
    pub fn len(&self) -> usize {
        self.board.count() as usize
    }

    /// Whether the board is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best `n`, best first.
    pub fn top(&self, n: usize) -> Vec<Ranked> {
        ranked(self.board.top(n))
    }

    /// Everyone, best first: one ordered scan.
    pub fn all(&self) -> Vec<Ranked> {
        ranked(self.board.page(0, self.len()))
    }
}

impl Default for Ranks {
    fn default() -> Self {
        Ranks::new()
    }
}

fn ranked(rows: Vec<leaderboard_core::RankedEntry>) -> Vec<Ranked> {
    rows.into_iter()
        .filter_map(|r| {
            Some(Ranked {
                player: r.entry.member.parse().ok()?,
                rank: r.rank,
                score: r.entry.score,
                at: r.entry.at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(player: u64, delta: i64, at: i64) -> ScoreWrite {
        ScoreWrite {
            player,
            delta,
            op_key: String::new(),
            at,
        }
    }

    #[test]
    fn points_add_up_and_equal_scores_share_a_rank() {
        let mut r = Ranks::new();
        r.apply(&[w(1, 0, 1), w(2, 0, 2), w(3, 0, 3), w(10, 0, 4), w(9, 0, 5)]);
        r.apply(&[w(1, 500, 10), w(2, 500, 9), w(3, 200, 11)]);
        let all: Vec<(u64, u64, i64)> = r
            .all()
            .iter()
            .map(|x| (x.player, x.rank, x.score))
            .collect();
        // Ties listed by player id, numerically (9 before 10), whoever scored first.
        assert_eq!(
            all,
            vec![(1, 1, 500), (2, 1, 500), (3, 3, 200), (9, 4, 0), (10, 4, 0)]
        );
        assert_eq!(r.top(2), r.all()[..2].to_vec());
        assert_eq!(r.score(3), Some(200));
        r.remove(2);
        assert_eq!(r.score(2), None);
        assert_eq!(r.len(), 4);
        assert_eq!(
            r.all()[1],
            Ranked {
                player: 3,
                rank: 2,
                score: 200,
                at: 0
            }
        );
    }
}
