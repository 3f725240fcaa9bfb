//! The registry of boards an application holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::board::Board;
use crate::snapshot::{REGISTRY_MAGIC, decode_body, decode_header, encode_versioned};
use crate::{BoardConfig, BoardId, Error, Result};

/// Many boards by id. Thread-safe; boards are handed out as `Arc<Board>`
/// so callers keep using a board while others create or drop boards (the
/// registry lock is held only for the map lookup).
///
/// ```
/// use leaderboard_core::{BoardConfig, Leaderboards, Write};
/// let boards = Leaderboards::new();
/// let b = boards.create("daily", BoardConfig::default()).unwrap();
/// b.write(Write::new("alice", 1, 0)).unwrap();
/// assert_eq!(boards.get("daily").unwrap().count(), 1);
/// assert!(boards.create("daily", BoardConfig::default()).unwrap_err().is_conflict());
/// ```
#[derive(Default)]
pub struct Leaderboards {
    boards: RwLock<BTreeMap<BoardId, Arc<Board>>>,
}

#[derive(Serialize, Deserialize)]
struct RegistryState {
    boards: Vec<crate::board::BoardStateBytes>,
}

impl Leaderboards {
    /// An empty registry.
    ///
    /// ```
    /// assert!(leaderboard_core::Leaderboards::new().ids().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a board; fails with [`Error::BoardExists`] if the id is taken.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards};
    /// let boards = Leaderboards::new();
    /// assert!(boards.create("a", BoardConfig::default()).is_ok());
    /// ```
    pub fn create(&self, id: impl Into<BoardId>, config: BoardConfig) -> Result<Arc<Board>> {
        let id = id.into();
        let board = Arc::new(Board::new(id.clone(), config)?);
        let mut map = self.boards.write();
        if map.contains_key(&id) {
            return Err(Error::BoardExists(id.to_string()));
        }
        map.insert(id, board.clone());
        Ok(board)
    }

    /// Adds a board built elsewhere (e.g. by a [`crate::BoardLoader`]);
    /// fails with [`Error::BoardExists`] if its id is taken.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardConfig, Leaderboards};
    /// let boards = Leaderboards::new();
    /// boards.insert(Board::new("a", BoardConfig::default()).unwrap()).unwrap();
    /// assert!(boards.insert(Board::new("a", BoardConfig::default()).unwrap()).is_err());
    /// assert!(boards.get("a").is_some());
    /// ```
    pub fn insert(&self, board: Board) -> Result<Arc<Board>> {
        let mut map = self.boards.write();
        if map.contains_key(board.id()) {
            return Err(Error::BoardExists(board.id().to_string()));
        }
        let board = Arc::new(board);
        map.insert(board.id().clone(), board.clone());
        Ok(board)
    }

    /// The board with this id, creating it with `config` if absent.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards};
    /// let boards = Leaderboards::new();
    /// let a = boards.get_or_create("a", BoardConfig::default()).unwrap();
    /// let b = boards.get_or_create("a", BoardConfig::default()).unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&a, &b));
    /// ```
    pub fn get_or_create(&self, id: impl Into<BoardId>, config: BoardConfig) -> Result<Arc<Board>> {
        let id = id.into();
        if let Some(b) = self.boards.read().get(&id) {
            return Ok(b.clone());
        }
        let board = Arc::new(Board::new(id.clone(), config)?);
        Ok(self.boards.write().entry(id).or_insert(board).clone())
    }

    /// The board with this id.
    ///
    /// ```
    /// assert!(leaderboard_core::Leaderboards::new().get("nope").is_none());
    /// ```
    pub fn get(&self, id: &str) -> Option<Arc<Board>> {
        self.boards.read().get(id).cloned()
    }

    /// The board with this id, or [`Error::BoardNotFound`].
    ///
    /// ```
    /// assert!(leaderboard_core::Leaderboards::new().require("nope").unwrap_err().is_not_found());
    /// ```
    pub fn require(&self, id: &str) -> Result<Arc<Board>> {
        self.get(id)
            .ok_or_else(|| Error::BoardNotFound(id.to_string()))
    }

    /// Removes a board from the registry and returns it (holders of its
    /// `Arc` can keep reading it).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards};
    /// let boards = Leaderboards::new();
    /// boards.create("a", BoardConfig::default()).unwrap();
    /// assert!(boards.drop_board("a").is_some());
    /// assert!(boards.get("a").is_none());
    /// ```
    pub fn drop_board(&self, id: &str) -> Option<Arc<Board>> {
        self.boards.write().remove(id)
    }

    /// All board ids, sorted.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards};
    /// let boards = Leaderboards::new();
    /// boards.create("b", BoardConfig::default()).unwrap();
    /// boards.create("a", BoardConfig::default()).unwrap();
    /// let ids: Vec<_> = boards.ids().iter().map(|i| i.to_string()).collect();
    /// assert_eq!(ids, ["a", "b"]);
    /// ```
    pub fn ids(&self) -> Vec<BoardId> {
        self.boards.read().keys().cloned().collect()
    }

    /// Snapshot of every board (versioned, like [`Board::snapshot`]).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards, Write};
    /// let boards = Leaderboards::new();
    /// boards.create("a", BoardConfig::default()).unwrap().write(Write::new("m", 1, 0)).unwrap();
    /// let copy = Leaderboards::from_snapshot(&boards.snapshot()).unwrap();
    /// assert_eq!(copy.get("a").unwrap().count(), 1);
    /// ```
    pub fn snapshot(&self) -> Vec<u8> {
        let boards: Vec<Arc<Board>> = self.boards.read().values().cloned().collect();
        let state = RegistryState {
            boards: boards
                .iter()
                .map(|b| crate::board::BoardStateBytes(b.snapshot()))
                .collect(),
        };
        encode_versioned(REGISTRY_MAGIC, &state)
    }

    /// A registry from [`Leaderboards::snapshot`] bytes.
    ///
    /// ```
    /// use leaderboard_core::Leaderboards;
    /// assert!(Leaderboards::from_snapshot(b"garbage").is_err());
    /// ```
    pub fn from_snapshot(bytes: &[u8]) -> Result<Leaderboards> {
        // The registry's own layout is the same in every version; each
        // board inside carries its own version.
        let (_, body) = decode_header(REGISTRY_MAGIC, bytes)?;
        let state: RegistryState = decode_body(body)?;
        let mut map = BTreeMap::new();
        for b in state.boards {
            let board = Board::from_snapshot(&b.0)?;
            map.insert(board.id().clone(), Arc::new(board));
        }
        Ok(Leaderboards {
            boards: RwLock::new(map),
        })
    }
}

impl std::fmt::Debug for Leaderboards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaderboards")
            .field("boards", &self.ids())
            .finish()
    }
}
