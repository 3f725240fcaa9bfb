//! Board snapshots: every window, every partition, op-id memory included.

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::{Board, Standings, Windows};
use crate::partition::{PartitionState, PartitionStateV1};
use crate::snapshot::{
    BOARD_MAGIC, SNAPSHOT_VERSION, decode_body, decode_header, encode_versioned,
};
use crate::{BoardConfig, BoardConfigV1, BoardId, Error, Partition, Result, WindowSpan};

#[derive(Serialize, Deserialize)]
pub(crate) struct WindowState {
    span: WindowSpan,
    partitions: Vec<PartitionState>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct BoardState {
    id: String,
    config: BoardConfig,
    current: WindowState,
    previous: Option<WindowState>,
}

/// A window as snapshot format 1 stored it.
#[derive(Serialize, Deserialize)]
struct WindowStateV1 {
    span: WindowSpan,
    partitions: Vec<PartitionStateV1>,
}

/// A board as snapshot format 1 stored it.
#[derive(Serialize, Deserialize)]
struct BoardStateV1 {
    id: String,
    config: BoardConfigV1,
    current: WindowStateV1,
    previous: Option<WindowStateV1>,
}

impl From<WindowStateV1> for WindowState {
    fn from(w: WindowStateV1) -> Self {
        WindowState {
            span: w.span,
            partitions: w.partitions.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<BoardStateV1> for BoardState {
    fn from(b: BoardStateV1) -> Self {
        BoardState {
            id: b.id,
            config: b.config.into(),
            current: b.current.into(),
            previous: b.previous.map(Into::into),
        }
    }
}

/// Decodes a board snapshot of any version this build reads.
fn decode_board(bytes: &[u8]) -> Result<BoardState> {
    match decode_header(BOARD_MAGIC, bytes)? {
        (SNAPSHOT_VERSION, body) => decode_body(body),
        (_, body) => Ok(decode_body::<BoardStateV1>(body)?.into()),
    }
}

impl Standings {
    fn state(&self) -> WindowState {
        let guards = self.read_all();
        WindowState {
            span: self.span,
            partitions: guards.iter().map(|g| g.state()).collect(),
        }
    }

    fn from_state(state: WindowState, config: Arc<BoardConfig>) -> Result<Standings> {
        if state.partitions.len() != config.partitions as usize {
            return Err(Error::CorruptSnapshot(format!(
                "window has {} partitions, config says {}",
                state.partitions.len(),
                config.partitions
            )));
        }
        // The board's op-id policy applies to every partition.
        let partitions = state
            .partitions
            .into_iter()
            .map(|p| {
                let mut p = Partition::from_state(p)?;
                p.set_op_id_policy(config.op_ids);
                Ok(RwLock::new(p))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Standings {
            span: state.span,
            config,
            partitions: partitions.into_boxed_slice(),
            top_cache: Default::default(),
        })
    }
}

impl Board {
    pub(crate) fn state(&self) -> BoardState {
        let w = self.windows.read();
        BoardState {
            id: self.id.to_string(),
            config: (*self.config).clone(),
            current: w.current.state(),
            previous: w.previous.as_ref().map(|p| p.state()),
        }
    }

    pub(crate) fn from_state(state: BoardState) -> Result<Board> {
        state
            .config
            .validate()
            .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
        let config = Arc::new(state.config);
        let current = Arc::new(Standings::from_state(state.current, config.clone())?);
        let previous = state
            .previous
            .map(|p| Standings::from_state(p, config.clone()).map(Arc::new))
            .transpose()?;
        Ok(Board {
            id: BoardId::from(state.id),
            config,
            windows: RwLock::new(Windows { current, previous }),
        })
    }

    /// Serializes the whole board (config, both windows, metadata, op-id
    /// memory) behind a versioned header (see [`crate::SNAPSHOT_VERSION`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// let copy = Board::from_snapshot(&b.snapshot()).unwrap();
    /// assert_eq!(copy.top(10), b.top(10));
    /// assert_eq!(copy.id().as_str(), "b");
    /// ```
    pub fn snapshot(&self) -> Vec<u8> {
        encode_versioned(BOARD_MAGIC, &self.state())
    }

    /// A new board from [`Board::snapshot`] bytes (of this version or of
    /// version 1, see [`crate::SNAPSHOT_VERSION`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, Error};
    /// let mut bytes = Board::new("b", Default::default()).unwrap().snapshot();
    /// bytes[4] = 99; // a future format version
    /// assert!(matches!(Board::from_snapshot(&bytes), Err(Error::UnsupportedSnapshotVersion { found: 99, .. })));
    /// ```
    pub fn from_snapshot(bytes: &[u8]) -> Result<Board> {
        Board::from_state(decode_board(bytes)?)
    }

    /// Replaces this board's windows with a snapshot's. The snapshot must
    /// have this board's order and partition count (other settings are
    /// taken from this board); on error nothing changes.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// let empty = b.snapshot();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// b.restore(&empty).unwrap();
    /// assert_eq!(b.count(), 0);
    /// ```
    pub fn restore(&self, bytes: &[u8]) -> Result<()> {
        let state = decode_board(bytes)?;
        if state.config.order != self.config.order
            || state.config.partitions != self.config.partitions
        {
            return Err(Error::InvalidConfig(format!(
                "snapshot has order {:?} and {} partitions; this board has {:?} and {}",
                state.config.order,
                state.config.partitions,
                self.config.order,
                self.config.partitions
            )));
        }
        let current = Arc::new(Standings::from_state(state.current, self.config.clone())?);
        let previous = state
            .previous
            .map(|p| Standings::from_state(p, self.config.clone()).map(Arc::new))
            .transpose()?;
        *self.windows.write() = Windows { current, previous };
        Ok(())
    }
}

/// A board snapshot nested in a registry snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct BoardStateBytes(pub Vec<u8>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Entry, OpId, Order, RankStyle, RankedEntry, Write, WriteOp, WriteOutcome,
        snapshot::SNAPSHOT_VERSION,
    };

    /// Bytes of a format-1 board snapshot: one partition holding `alice`
    /// (10 points, from an `incr` with op id 1).
    fn format_1_snapshot() -> Vec<u8> {
        let alice = Entry::new("alice", 10, 5);
        let outcome = WriteOutcome {
            applied: true,
            changed: true,
            old: None,
            new: RankedEntry {
                rank: 1,
                entry: alice.clone(),
            },
            top_changed: true,
        };
        let state = BoardStateV1 {
            id: "old".into(),
            config: BoardConfigV1 {
                order: Order::HighFirst,
                partitions: 1,
                default_op: WriteOp::Incr,
                rank_style: RankStyle::Ordinal,
                reset: None,
                top_n_watch: 10,
                dedupe_capacity: 16_384,
                max_metadata_bytes: 256,
            },
            current: WindowStateV1 {
                span: WindowSpan::forever(),
                partitions: vec![PartitionStateV1 {
                    order: Order::HighFirst,
                    dedupe_capacity: 16_384,
                    entries: vec![alice],
                    op_ids: vec![(OpId(1), outcome)],
                }],
            },
            previous: None,
        };
        let mut bytes = encode_versioned(BOARD_MAGIC, &state);
        bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
        bytes
    }

    #[test]
    fn format_1_snapshots_are_read_with_the_default_policy() {
        assert_eq!(SNAPSHOT_VERSION, 2);
        let old = format_1_snapshot();
        for b in [Board::from_snapshot(&old).unwrap(), {
            let b = Board::new(
                "old",
                BoardConfig {
                    partitions: 1,
                    ..Default::default()
                },
            )
            .unwrap();
            b.restore(&old).unwrap();
            b
        }] {
            assert_eq!(b.config().op_ids, Default::default());
            assert_eq!(b.entry("alice").unwrap().entry.score, 10);
            // The id, which format 1 kept without a time, counts as
            // remembered at the first time the partition is told...
            let retry = Write::new("alice", 10, 5).op(WriteOp::Incr).op_id(OpId(1));
            let out = b.write_at(retry.clone(), 1_000_000).unwrap();
            assert!(!out.applied);
            assert_eq!(out.new.entry.score, 10);
            assert!(!b.apply_at(retry.clone(), 1_060_000).unwrap());
            // ...and is forgotten a horizon later.
            assert!(b.apply_at(retry, 1_060_001).unwrap());
            assert_eq!(b.entry("alice").unwrap().entry.score, 20);
        }
        // Rewritten in the current format.
        let b = Board::from_snapshot(&old).unwrap();
        let new = b.snapshot();
        assert_eq!(u16::from_le_bytes([new[4], new[5]]), SNAPSHOT_VERSION);
        assert_eq!(Board::from_snapshot(&new).unwrap().top(10), b.top(10));
    }
}
