//! Partition snapshots and bulk loading.

use serde::{Deserialize, Serialize};

use super::dedupe::{NO_TIME, RememberedOp};
use super::tree::Probe;
use super::{Dedupe, Partition, orient, probe};
use crate::snapshot::{
    PARTITION_MAGIC, SNAPSHOT_VERSION, decode_body, decode_header, encode_versioned,
};
use crate::{
    Entry, Error, OpId, OpIdPolicy, Order, Result, WriteOutcome, member_hash, validate_member,
};

/// Serialized form of a partition (inside a versioned envelope), format 2.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartitionState {
    pub order: Order,
    pub op_id_policy: OpIdPolicy,
    /// The op-id clock (`i64::MIN` if never told a time).
    pub op_id_clock: i64,
    /// Entries in rank order.
    pub entries: Vec<Entry>,
    /// Remembered op ids, oldest first.
    pub op_ids: Vec<RememberedOp>,
}

/// A partition as snapshot format 1 stored it: op-id memory as a count.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PartitionStateV1 {
    pub order: Order,
    pub dedupe_capacity: u64,
    pub entries: Vec<Entry>,
    pub op_ids: Vec<(OpId, WriteOutcome)>,
}

impl From<PartitionStateV1> for PartitionState {
    /// The default op-id policy; the ids count as remembered at the first
    /// time the partition is told (format 1 kept no times).
    fn from(s: PartitionStateV1) -> Self {
        PartitionState {
            order: s.order,
            op_id_policy: OpIdPolicy::default(),
            op_id_clock: NO_TIME,
            entries: s.entries,
            op_ids: s
                .op_ids
                .into_iter()
                .map(|(id, outcome)| RememberedOp {
                    id,
                    at: NO_TIME,
                    outcome,
                })
                .collect(),
        }
    }
}

impl Partition {
    /// Replaces the contents with `entries` (any order; a member listed
    /// twice keeps its last entry). Sorts once and builds the tree bottom
    /// up, far faster than one write per entry. Op-id memory is kept.
    ///
    /// ```
    /// use leaderboard_core::{Entry, Partition};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.bulk_load(vec![Entry::new("a", 1, 0), Entry::new("b", 2, 0)]).unwrap();
    /// assert_eq!(p.top(1)[0].member, "b");
    /// assert!(p.bulk_load(vec![Entry::new("", 1, 0)]).is_err());
    /// ```
    pub fn bulk_load(&mut self, entries: Vec<Entry>) -> Result<()> {
        for e in &entries {
            validate_member(&e.member)?;
        }
        let policy = self.dedupe.policy();
        let dedupe = std::mem::replace(&mut self.dedupe, Dedupe::new(policy));
        *self = Partition::new(self.order, policy);
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

    /// Number of remembered op ids.
    pub(crate) fn op_id_count(&self) -> usize {
        self.dedupe.len()
    }

    /// Calls `f` with the encoding of every remembered op id (a
    /// [`RememberedOp`], bincode standard configuration), oldest first,
    /// stopping at its first error.
    pub(crate) fn try_for_each_op_id_encoded<E>(
        &self,
        f: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.dedupe.try_for_each_encoded(f)
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
            op_id_policy: self.dedupe.policy(),
            op_id_clock: self.dedupe.clock(),
            entries: self.entries(),
            op_ids: self.dedupe.iter().collect(),
        }
    }

    pub(crate) fn from_state(state: PartitionState) -> Result<Partition> {
        let mut p = Partition::new(state.order, state.op_id_policy);
        p.bulk_load(state.entries)
            .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
        p.dedupe = Dedupe::restore(state.op_id_policy, state.op_id_clock, state.op_ids)?;
        Ok(p)
    }

    /// Gives the partition the op-id policy `policy` (its board's).
    pub(crate) fn set_op_id_policy(&mut self, policy: OpIdPolicy) {
        self.dedupe.set_policy(policy);
    }

    /// Serializes the partition (entries, metadata, op-id memory and clock)
    /// behind a versioned header.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write(&Write::new("a", 1, 0), &BoardConfig::default()).unwrap();
    /// let q = Partition::restore(&p.snapshot()).unwrap();
    /// assert_eq!(q.entries(), p.entries());
    /// ```
    pub fn snapshot(&self) -> Vec<u8> {
        encode_versioned(PARTITION_MAGIC, &self.state())
    }

    /// Rebuilds a partition from [`Partition::snapshot`] bytes (of this
    /// version or of version 1, see [`crate::SNAPSHOT_VERSION`]); unknown
    /// versions are rejected with [`Error::UnsupportedSnapshotVersion`].
    ///
    /// ```
    /// use leaderboard_core::{Error, Partition};
    /// assert!(matches!(Partition::restore(b"nope"), Err(Error::CorruptSnapshot(_))));
    /// ```
    pub fn restore(bytes: &[u8]) -> Result<Partition> {
        let state = match decode_header(PARTITION_MAGIC, bytes)? {
            (SNAPSHOT_VERSION, body) => decode_body::<PartitionState>(body)?,
            (_, body) => decode_body::<PartitionStateV1>(body)?.into(),
        };
        Partition::from_state(state)
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
    /// and about `op_ids` remembered op ids, whose op-id memory follows
    /// `policy` and whose op-id clock was `op_id_clock`.
    pub fn new(
        order: Order,
        policy: OpIdPolicy,
        op_id_clock: i64,
        expected: u64,
        op_ids: u64,
    ) -> Self {
        let mut p = Partition::new(order, policy);
        p.dedupe = Dedupe::loading(policy, op_id_clock);
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

    /// Remembers an op id with its stamp (oldest first, as written); a
    /// stamp out of order or after the clock is [`Error::CorruptSnapshot`].
    pub fn remember(&mut self, op: RememberedOp) -> Result<()> {
        self.p.dedupe.load(op)
    }

    /// The finished partition; fails if entries are missing or repeated.
    /// Op ids already past the horizon are forgotten.
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
        self.p.dedupe.loaded();
        Ok(self.p)
    }
}
