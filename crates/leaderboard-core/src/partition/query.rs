//! Read paths of a partition: listings, positions, memory accounting.

use serde::{Deserialize, Serialize};

use super::{Partition, Pos, probe};
use crate::{Entry, SortKey};

/// Bytes held by a partition or board, split so the index's own cost can
/// be told apart from the member ids' and the metadata's (more counters may
/// be added in minor releases).
///
/// ```
/// use leaderboard_core::{BoardConfig, Partition, Write};
/// let mut p = Partition::new(Default::default(), Default::default());
/// p.write(&Write::new("alice", 1, 0), &BoardConfig::default()).unwrap();
/// let m = p.memory();
/// assert_eq!(m.entries, 1);
/// assert_eq!(m.member_bytes, 5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryUsage {
    /// Number of entries.
    pub entries: u64,
    /// Record arena (minus the id bytes), hash index, B+tree nodes and free
    /// lists (allocated capacity).
    pub index_bytes: u64,
    /// Bytes of separately allocated member-id handles included in
    /// `index_bytes`: 0 since ids are stored inline in their record (kept
    /// so stored usage reports stay comparable).
    pub member_handle_bytes: u64,
    /// The member ids' UTF-8 bytes (heap, excluding allocator overhead).
    pub member_bytes: u64,
    /// Metadata bytes plus the side table holding them.
    pub metadata_bytes: u64,
}

impl MemoryUsage {
    /// Index bytes per entry beyond the member id (`index_bytes` minus the
    /// id handles, divided by `entries`).
    ///
    /// ```
    /// let mut m = leaderboard_core::MemoryUsage::default();
    /// (m.entries, m.index_bytes, m.member_handle_bytes) = (2, 100, 32);
    /// assert_eq!(m.bytes_per_entry_beyond_id(), 34.0);
    /// ```
    pub fn bytes_per_entry_beyond_id(&self) -> f64 {
        if self.entries == 0 {
            return 0.0;
        }
        (self.index_bytes - self.member_handle_bytes) as f64 / self.entries as f64
    }

    /// Sum of two usages.
    ///
    /// ```
    /// use leaderboard_core::MemoryUsage;
    /// let mut a = MemoryUsage::default();
    /// a.entries = 1;
    /// assert_eq!(a.add(&a).entries, 2);
    /// ```
    pub fn add(&self, o: &MemoryUsage) -> MemoryUsage {
        MemoryUsage {
            entries: self.entries + o.entries,
            index_bytes: self.index_bytes + o.index_bytes,
            member_handle_bytes: self.member_handle_bytes + o.member_handle_bytes,
            member_bytes: self.member_bytes + o.member_bytes,
            metadata_bytes: self.metadata_bytes + o.metadata_bytes,
        }
    }
}

impl Partition {
    /// The best `n` entries, best first.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 1), ("b", 3), ("c", 2)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// let top: Vec<_> = p.top(2).into_iter().map(|e| e.member).collect();
    /// assert_eq!(top, ["b", "c"]);
    /// ```
    pub fn top(&self, n: usize) -> Vec<Entry> {
        self.collect_forward(self.tree.first(), n)
    }

    /// Up to `n` entries ranking strictly after `key` (from the start if
    /// `None`), in rank order.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 1), ("b", 3), ("c", 2)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// let k = p.key_of("b").unwrap();
    /// assert_eq!(p.after(Some(&k), 5)[0].member, "c");
    /// ```
    pub fn after(&self, key: Option<&SortKey>, n: usize) -> Vec<Entry> {
        self.collect_forward(self.seek_after(key), n)
    }

    /// Up to `n` entries ranking strictly before `key`, nearest first.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 1), ("b", 3), ("c", 2)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// let k = p.key_of("a").unwrap();
    /// let before: Vec<_> = p.before(&k, 5).into_iter().map(|e| e.member).collect();
    /// assert_eq!(before, ["c", "b"]);
    /// ```
    pub fn before(&self, key: &SortKey, n: usize) -> Vec<Entry> {
        let mut out = Vec::with_capacity(n.min(self.len()));
        let mut pos = self.seek_before(key);
        while let Some(p) = pos {
            if out.len() == n {
                break;
            }
            out.push(self.entry_of_slot(self.tree.at(p).1));
            pos = self.tree.prev(p);
        }
        out
    }

    /// `n` entries starting at 0-based index `start`, in rank order.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 1), ("b", 3), ("c", 2)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// assert_eq!(p.range(1, 1)[0].member, "c");
    /// assert!(p.range(3, 1).is_empty());
    /// ```
    pub fn range(&self, start: usize, n: usize) -> Vec<Entry> {
        self.collect_forward(self.tree.select(start), n)
    }

    /// Every entry in rank order.
    ///
    /// ```
    /// let p = leaderboard_core::Partition::new(Default::default(), Default::default());
    /// assert!(p.entries().is_empty());
    /// ```
    pub fn entries(&self) -> Vec<Entry> {
        self.collect_forward(self.tree.first(), usize::MAX)
    }

    /// Allocated bytes of this partition, by kind.
    ///
    /// ```
    /// let p = leaderboard_core::Partition::new(Default::default(), Default::default());
    /// assert_eq!(p.memory().entries, 0);
    /// ```
    pub fn memory(&self) -> MemoryUsage {
        let (slab_bytes, member_bytes) = self.slab.heap_bytes();
        let meta: usize = self.metadata.values().map(|m| m.len()).sum::<usize>()
            + self.metadata.capacity() * (std::mem::size_of::<(u32, Box<[u8]>)>() + 1);
        MemoryUsage {
            entries: self.len() as u64,
            index_bytes: (slab_bytes + self.tree.heap_bytes()) as u64,
            member_handle_bytes: 0,
            member_bytes: member_bytes as u64,
            metadata_bytes: meta as u64,
        }
    }

    fn collect_forward(&self, mut pos: Option<Pos>, n: usize) -> Vec<Entry> {
        let mut out = Vec::with_capacity(n.min(self.len()));
        while let Some(p) = pos {
            if out.len() == n {
                break;
            }
            out.push(self.entry_of_slot(self.tree.at(p).1));
            pos = self.tree.next(p);
        }
        out
    }

    /// First position strictly after `key` (the first position if `None`).
    pub(crate) fn seek_after(&self, key: Option<&SortKey>) -> Option<Pos> {
        let Some(key) = key else {
            return self.tree.first();
        };
        let (pos, _) = self.tree.seek(&probe(
            &self.slab,
            self.order,
            key.score,
            key.subscore,
            key.at,
            &key.member,
        ));
        match pos {
            Some(p) if self.pos_has_key(p, key) => self.tree.next(p),
            other => other,
        }
    }

    /// Last position strictly before `key`.
    pub(crate) fn seek_before(&self, key: &SortKey) -> Option<Pos> {
        let (pos, idx) = self.tree.seek(&probe(
            &self.slab,
            self.order,
            key.score,
            key.subscore,
            key.at,
            &key.member,
        ));
        match pos {
            Some(p) => self.tree.prev(p),
            None if idx > 0 => self.tree.last(),
            None => None,
        }
    }

    fn pos_has_key(&self, pos: Pos, key: &SortKey) -> bool {
        let r = self.slab.rec(self.tree.at(pos).1);
        r.score == key.score && r.sub == key.subscore && r.at == key.at && r.member == key.member
    }

    /// Position of the 0-based index `i`.
    pub(crate) fn pos_at(&self, i: usize) -> Option<Pos> {
        self.tree.select(i)
    }

    pub(crate) fn next_pos(&self, pos: Pos) -> Option<Pos> {
        self.tree.next(pos)
    }

    pub(crate) fn prev_pos(&self, pos: Pos) -> Option<Pos> {
        self.tree.prev(pos)
    }

    /// Requests the records of up to `n` entries from `pos` on (backward
    /// if `!forward`), so a merge walking them does not wait for each
    /// record's cache miss in turn.
    pub(crate) fn prefetch_run(&self, mut pos: Option<Pos>, n: usize, forward: bool) {
        for _ in 0..n {
            let Some(p) = pos else { break };
            self.slab.prefetch(self.tree.at(p).1);
            pos = if forward {
                self.tree.next(p)
            } else {
                self.tree.prev(p)
            };
        }
    }

    /// Position of the last entry.
    pub(crate) fn last_pos(&self) -> Option<Pos> {
        self.tree.last()
    }

    /// Key parts of a member, borrowed (no allocation), and its slot, if present.
    #[inline]
    pub(crate) fn parts_of(&self, member: &str) -> Option<(super::KeyParts<'_>, u32)> {
        let slot = self.slab.find(member, crate::member_hash(member))?;
        let r = self.slab.rec(slot);
        Some(((r.score, r.sub, r.at, r.member), slot))
    }

    /// Key parts at `pos`, borrowed (for merging without allocating).
    #[inline]
    pub(crate) fn parts_at(&self, pos: Pos) -> (i64, i64, i64, &str) {
        let r = self.slab.rec(self.tree.at(pos).1);
        (r.score, r.sub, r.at, r.member)
    }

    pub(crate) fn entry_at(&self, pos: Pos) -> Entry {
        self.entry_of_slot(self.tree.at(pos).1)
    }
}
