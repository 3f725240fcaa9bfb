//! Bounded memory of applied op ids (answer-once writes).

use std::collections::VecDeque;

use hashbrown::HashMap;

use crate::{OpId, WriteOutcome};

/// FIFO-bounded map from op id to the outcome it produced. Bounded so a
/// long-running board does not grow forever; the bound is the partition's
/// `dedupe_capacity` (oldest op ids are forgotten first).
#[derive(Clone, Debug, Default)]
pub(crate) struct Dedupe {
    map: HashMap<OpId, WriteOutcome>,
    fifo: VecDeque<OpId>,
    capacity: usize,
}

impl Dedupe {
    pub fn new(capacity: usize) -> Self {
        Dedupe {
            map: HashMap::new(),
            fifo: VecDeque::new(),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Makes room for `n` more op ids (up to the bound, and at most a few
    /// million: `n` may come from a damaged snapshot) at once, so that
    /// loading a known number does not grow the table step by step. A
    /// failed reservation is left to ordinary growth.
    pub fn reserve(&mut self, n: usize) {
        let n = n
            .min(self.capacity.saturating_sub(self.fifo.len()))
            .min(1 << 22);
        let _ = self.map.try_reserve(n);
        let _ = self.fifo.try_reserve(n);
    }

    pub fn get(&self, id: OpId) -> Option<&WriteOutcome> {
        self.map.get(&id)
    }

    /// Remembers (or replaces) the outcome of `id`, evicting the oldest.
    pub fn insert(&mut self, id: OpId, outcome: WriteOutcome) {
        if self.capacity == 0 {
            return;
        }
        if let Some(slot) = self.map.get_mut(&id) {
            *slot = outcome;
            return;
        }
        while self.fifo.len() >= self.capacity {
            if let Some(old) = self.fifo.pop_front() {
                self.map.remove(&old);
            }
        }
        self.fifo.push_back(id);
        self.map.insert(id, outcome);
    }

    /// Replaces the outcome of an op id that is still remembered.
    pub fn update(&mut self, id: OpId, outcome: WriteOutcome) {
        if let Some(slot) = self.map.get_mut(&id) {
            *slot = outcome;
        }
    }

    /// Remembered op ids, oldest first, with their outcomes.
    pub fn iter(&self) -> impl Iterator<Item = (OpId, &WriteOutcome)> + '_ {
        self.fifo.iter().map(|id| (*id, &self.map[id]))
    }
}
