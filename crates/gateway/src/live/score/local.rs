//! [`ScoreBoard`] over an in-process leaderboard-core registry.

use leaderboard_core::{Leaderboards, OpId, Write, WriteOp};

use super::{board_id, member, session_board_config, BoardError, BoardFuture, ScoreBoard};
use crate::live::engine::{BoardRank, ScoreWrite};

/// In-process boards (one per session) in a leaderboard-core registry.
#[derive(Default)]
pub struct LocalBoards {
    boards: Leaderboards,
}

fn parse(m: &str) -> Option<u64> {
    m.parse().ok()
}

impl LocalBoards {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn board(&self, session: i64) -> Result<std::sync::Arc<leaderboard_core::Board>, BoardError> {
        self.boards
            .get_or_create(board_id(session), session_board_config())
            .map_err(|e| BoardError(e.to_string()))
    }

    /// The best `n(board)` entries as board ranks.
    fn top_now(
        &self,
        session: i64,
        n: impl FnOnce(&leaderboard_core::Board) -> usize,
    ) -> Result<Vec<BoardRank>, BoardError> {
        let board = self.board(session)?;
        Ok(board
            .top(n(&board))
            .into_iter()
            .filter_map(|r| {
                Some(BoardRank {
                    player: parse(&r.entry.member)?,
                    rank: r.rank,
                    score: r.entry.score,
                })
            })
            .collect())
    }

    fn ranks_now(&self, session: i64, players: &[u64]) -> Result<Vec<BoardRank>, BoardError> {
        let board = self.board(session)?;
        // `entry` ranks in the board's style (competition): one lookup each.
        Ok(players
            .iter()
            .filter_map(|&player| {
                let e = board.entry(&member(player))?;
                Some(BoardRank {
                    player,
                    rank: e.rank,
                    score: e.entry.score,
                })
            })
            .collect())
    }
}

impl ScoreBoard for LocalBoards {
    fn apply<'a>(&'a self, session: i64, writes: Vec<ScoreWrite>) -> BoardFuture<'a, ()> {
        let result = self.board(session).and_then(|board| {
            let batch = writes
                .into_iter()
                .map(|w| {
                    Write::new(member(w.player), w.delta, w.at)
                        .op(WriteOp::Incr)
                        .op_id(OpId::hashed(w.op_key))
                })
                .collect();
            for r in board.write_batch(batch) {
                r.map_err(|e| BoardError(e.to_string()))?;
            }
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn remove(&self, session: i64, player: u64) -> BoardFuture<'_, ()> {
        let result = self.board(session).map(|b| {
            b.remove(&member(player));
        });
        Box::pin(async move { result })
    }

    fn top(&self, session: i64, n: usize) -> BoardFuture<'_, Vec<BoardRank>> {
        let result = self.top_now(session, |_| n);
        Box::pin(async move { result })
    }

    fn ranks<'a>(&'a self, session: i64, players: &'a [u64]) -> BoardFuture<'a, Vec<BoardRank>> {
        let result = self.ranks_now(session, players);
        Box::pin(async move { result })
    }

    fn all(&self, session: i64) -> BoardFuture<'_, Vec<BoardRank>> {
        let result = self.top_now(session, |b| b.count() as usize);
        Box::pin(async move { result })
    }

    fn drop_session(&self, session: i64) -> BoardFuture<'_, ()> {
        self.boards.drop_board(&board_id(session));
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(player: u64, delta: i64, key: &str) -> ScoreWrite {
        ScoreWrite {
            player,
            delta,
            op_key: key.into(),
            at: 1,
        }
    }

    #[tokio::test]
    async fn op_ids_make_retries_harmless_and_ranks_tie() {
        let b = LocalBoards::new();
        b.apply(1, vec![w(1, 0, "j1"), w(2, 0, "j2"), w(3, 0, "j3")])
            .await
            .unwrap();
        b.apply(1, vec![w(1, 500, "1:0:1"), w(2, 500, "1:0:2")])
            .await
            .unwrap();
        b.apply(1, vec![w(1, 500, "1:0:1")]).await.unwrap(); // retry
        let top = b.top(1, 10).await.unwrap();
        let scores: Vec<(u64, i64)> = top.iter().map(|r| (r.rank, r.score)).collect();
        assert_eq!(scores, vec![(1, 500), (1, 500), (3, 0)]);
        let ranks = b.ranks(1, &[3, 1]).await.unwrap();
        assert_eq!(
            ranks[0],
            BoardRank {
                player: 3,
                rank: 3,
                score: 0
            }
        );
        b.remove(1, 1).await.unwrap();
        assert_eq!(b.all(1).await.unwrap().len(), 2);
    }
}
