//! Board snapshots: every window, every partition, op-id memory included.

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::{Board, Standings, Windows};
use crate::partition::PartitionState;
use crate::snapshot::{BOARD_MAGIC, decode_versioned, encode_versioned};
use crate::{BoardConfig, BoardId, Error, Partition, Result, WindowSpan};

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
        let partitions = state
            .partitions
            .into_iter()
            .map(|p| Partition::from_state(p).map(RwLock::new))
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

    /// A new board from [`Board::snapshot`] bytes.
    ///
    /// ```
    /// use leaderboard_core::{Board, Error};
    /// let mut bytes = Board::new("b", Default::default()).unwrap().snapshot();
    /// bytes[4] = 99; // a future format version
    /// assert!(matches!(Board::from_snapshot(&bytes), Err(Error::UnsupportedSnapshotVersion { found: 99, .. })));
    /// ```
    pub fn from_snapshot(bytes: &[u8]) -> Result<Board> {
        Board::from_state(decode_versioned(BOARD_MAGIC, bytes)?)
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
        let state: BoardState = decode_versioned(BOARD_MAGIC, bytes)?;
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
