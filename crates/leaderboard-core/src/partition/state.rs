//! Partition snapshots and bulk loading.

use serde::{Deserialize, Serialize};

use super::tree::Probe;
use super::{Dedupe, Partition, orient, probe};
use crate::snapshot::{PARTITION_MAGIC, decode_versioned, encode_versioned};
use crate::{Entry, Error, OpId, Order, Result, WriteOutcome, member_hash, validate_member};

/// Serialized form of a partition (inside a versioned envelope).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartitionState {
    pub order: Order,
    pub dedupe_capacity: u64,
    /// Entries in rank order.
    pub entries: Vec<Entry>,
    /// Remembered op ids, oldest first.
    pub op_ids: Vec<(OpId, WriteOutcome)>,
}

impl Partition {
    /// Replaces the contents with `entries` (any order; a member listed
    /// twice keeps its last entry). Sorts once and builds the tree bottom
    /// up, far faster than one write per entry. Op-id memory is kept.
    ///
    /// ```
    /// use leaderboard_core::{Entry, Partition};
    /// let mut p = Partition::new(Default::default(), 0);
    /// p.bulk_load(vec![Entry::new("a", 1, 0), Entry::new("b", 2, 0)]).unwrap();
    /// assert_eq!(p.top(1)[0].member, "b");
    /// assert!(p.bulk_load(vec![Entry::new("", 1, 0)]).is_err());
    /// ```
    pub fn bulk_load(&mut self, entries: Vec<Entry>) -> Result<()> {
        for e in &entries {
            validate_member(&e.member)?;
        }
        let dedupe = std::mem::replace(&mut self.dedupe, Dedupe::new(0));
        *self = Partition::new(self.order, 0);
        self.dedupe = dedupe;
        for e in entries {
            self.load_entry(e);
        }
        self.build_tree();
        Ok(())
    }

    /// Puts `e` in the slab and metadata table (not in the tree): the
    /// first half of a bulk load. A member loaded twice keeps its last entry.
    fn load_entry(&mut self, e: Entry) {
        let hash = member_hash(&e.member);
        let slot = match self.slab.find(&e.member, hash) {
            // Listed twice: the last entry wins.
            Some(slot) => {
                let moved = self.slab.set_key(slot, e.score, e.subscore, e.at, hash);
                if moved != slot {
                    self.metadata.remove(&slot);
                }
                moved
            }
            None => self.slab.insert(&e.member, e.score, e.subscore, e.at, hash),
        };
        match e.metadata {
            Some(m) if !m.is_empty() => {
                self.metadata.insert(slot, m.into_boxed_slice());
            }
            _ => {
                self.metadata.remove(&slot);
            }
        }
    }

    /// Builds the tree over every slab record, sorted once: the second half
    /// of a bulk load.
    fn build_tree(&mut self) {
        let order = self.order;
        let slab = &self.slab;
        let mut keys: Vec<(i64, u32)> = slab
            .iter_slots()
            .map(|s| (orient(order, slab.rec(s).score), s))
            .collect();
        keys.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let ra = slab.rec(a.1);
                probe(slab, order, ra.score, ra.sub, ra.at, ra.member).tail_cmp(b.1)
            })
        });
        self.tree.build(&keys);
    }

    /// The op-id memory's bound.
    pub(crate) fn dedupe_capacity(&self) -> usize {
        self.dedupe.capacity()
    }

    /// Remembered op ids, oldest first, with their outcomes.
    pub(crate) fn op_ids(&self) -> impl Iterator<Item = (OpId, &WriteOutcome)> + '_ {
        self.dedupe.iter()
    }

    /// Calls `f` with every entry in rank order, stopping at its first error.
    pub(crate) fn try_for_each_entry<E>(
        &self,
        mut f: impl FnMut(Entry) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut pos = self.tree.first();
        while let Some(p) = pos {
            f(self.entry_of_slot(self.tree.at(p).1))?;
            pos = self.tree.next(p);
        }
        Ok(())
    }

    pub(crate) fn state(&self) -> PartitionState {
        PartitionState {
            order: self.order,
            dedupe_capacity: self.dedupe.capacity() as u64,
            entries: self.entries(),
            op_ids: self.dedupe.iter().map(|(id, o)| (id, o.clone())).collect(),
        }
    }

    pub(crate) fn from_state(state: PartitionState) -> Result<Partition> {
        let mut p = Partition::new(state.order, state.dedupe_capacity as usize);
        p.bulk_load(state.entries)
            .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
        for (id, o) in state.op_ids {
            p.dedupe.insert(id, o);
        }
        Ok(p)
    }

    /// Serializes the partition (entries, metadata, op-id memory) behind a
    /// versioned header.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), 4);
    /// p.write(&Write::new("a", 1, 0), &BoardConfig::default()).unwrap();
    /// let q = Partition::restore(&p.snapshot()).unwrap();
    /// assert_eq!(q.entries(), p.entries());
    /// ```
    pub fn snapshot(&self) -> Vec<u8> {
        encode_versioned(PARTITION_MAGIC, &self.state())
    }

    /// Rebuilds a partition from [`Partition::snapshot`] bytes; unknown
    /// versions are rejected with [`Error::UnsupportedSnapshotVersion`].
    ///
    /// ```
    /// use leaderboard_core::{Error, Partition};
    /// assert!(matches!(Partition::restore(b"nope"), Err(Error::CorruptSnapshot(_))));
    /// ```
    pub fn restore(bytes: &[u8]) -> Result<Partition> {
        Partition::from_state(decode_versioned(PARTITION_MAGIC, bytes)?)
    }
}

/// Rebuilds a partition from entries that arrive a few at a time (a
/// chunked snapshot): entries go straight into the slab, the tree is built
/// once at the end, so no list of every entry is ever held.
pub(crate) struct PartitionLoader {
    p: Partition,
    expected: u64,
    pushed: u64,
}

impl PartitionLoader {
    /// A loader for a partition that must end up with `expected` entries
    /// and about `op_ids` remembered op ids.
    pub fn new(order: Order, dedupe_capacity: usize, expected: u64, op_ids: u64) -> Self {
        let mut p = Partition::new(order, dedupe_capacity);
        p.dedupe
            .reserve(usize::try_from(op_ids).unwrap_or(usize::MAX));
        PartitionLoader {
            p,
            expected,
            pushed: 0,
        }
    }

    /// Adds one entry.
    pub fn push(&mut self, e: Entry) -> Result<()> {
        validate_member(&e.member).map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
        self.pushed += 1;
        if self.pushed > self.expected {
            return Err(Error::CorruptSnapshot(format!(
                "partition has more than the {} entries its header announced",
                self.expected
            )));
        }
        self.p.load_entry(e);
        Ok(())
    }

    /// Remembers an op id (oldest first, as written).
    pub fn remember(&mut self, id: OpId, outcome: WriteOutcome) {
        self.p.dedupe.insert(id, outcome);
    }

    /// The finished partition; fails if entries are missing or repeated.
    pub fn finish(mut self) -> Result<Partition> {
        if self.pushed != self.expected || self.p.len() as u64 != self.expected {
            return Err(Error::CorruptSnapshot(format!(
                "partition announced {} entries, found {} ({} distinct)",
                self.expected,
                self.pushed,
                self.p.len()
            )));
        }
        self.p.build_tree();
        Ok(self.p)
    }
}
