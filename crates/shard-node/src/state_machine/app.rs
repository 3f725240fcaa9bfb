//! Placeholder application state until leaderboard-core lands.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::command::{Batch, BatchReply, Query, QueryReply};
use crate::error::Result;

/// App state.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AppState {
    set: BTreeSet<u64>,
}

impl AppState {
    /// New.
    pub fn new(_group: u32, _layout: crate::layout::Layout) -> Self {
        Self::default()
    }
    /// Apply.
    pub fn apply(&mut self, batch: &Batch) -> BatchReply {
        let mut results = Vec::new();
        for c in &batch.commands {
            self.set.insert(*c);
            results.push(Ok(*c));
        }
        BatchReply { results }
    }
    /// Query.
    pub fn query(&self, q: &Query) -> Result<QueryReply> {
        match q {
            Query::All => Ok(QueryReply::All(self.set.iter().copied().collect())),
        }
    }
    /// Snapshot.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        crate::codec::encode(self)
    }
    /// Restore.
    pub fn restore(&mut self, b: &[u8]) -> Result<()> {
        *self = crate::codec::decode(b)?;
        Ok(())
    }
}
