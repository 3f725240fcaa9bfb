//! The member -> slot hash index of a partition.
//!
//! An open-addressing table of 64-byte groups, each one cache line: 12
//! one-byte tags (7 bits of the hash, 0 = empty), a count of entries that
//! overflowed past this group while probing, and 12 four-byte slots. A
//! lookup reads its home group's line (tags and slots together) and, on a
//! tag match, the record to compare the id: one cache miss for the index
//! instead of two for a table keeping tags and slots in separate arrays.
//! Entries that find their home group full go to the next group and count
//! themselves in every group they pass, so a lookup stops at the first
//! group with no overflow; removal undoes those counts (no tombstones).
//! 5.3 bytes per bucket, grown by doubling at 7/8 load.

use super::huge::{HugeBuf, Zeroable};

/// Entries per group.
const WIDTH: usize = 12;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group {
    tags: [u8; WIDTH],
    /// Entries whose probe passed through this group full.
    overflow: u32,
    slots: [u32; WIDTH],
}

// SAFETY: a zeroed group is an empty one (integers only).
unsafe impl Zeroable for Group {}

/// Member -> slot index; the caller supplies hashes and the id comparison
/// (the ids live in the slab's records).
#[derive(Default)]
pub(crate) struct MemberIndex {
    groups: HugeBuf<Group>,
    len: usize,
}

#[inline]
fn tag(h: u64) -> u8 {
    ((h >> 57) as u8) | 0x80
}

impl MemberIndex {
    #[inline]
    fn mask(&self) -> usize {
        self.groups.len() - 1
    }

    /// The slot whose entry has hash `h` and satisfies `is_member`.
    #[inline]
    pub fn find(&self, h: u64, is_member: impl Fn(u32) -> bool) -> Option<u32> {
        self.probe(h, is_member)
            .map(|(g, i)| self.groups[g].slots[i])
    }

    /// Requests the cache line of `h`'s home group, so a lookup a little
    /// later does not wait for it (batches look up many members at once).
    #[inline]
    pub fn prefetch(&self, h: u64) {
        if !self.groups.is_empty() {
            super::tree::prefetch(&self.groups[h as usize & self.mask()], 64);
        }
    }

    /// Calls `touch` with every slot on `h`'s probe path whose tag matches
    /// (the candidates a [`MemberIndex::find`] would compare), without
    /// comparing them: for requesting their records ahead of the lookup.
    #[inline]
    pub fn candidates(&self, h: u64, mut touch: impl FnMut(u32)) {
        self.probe(h, |s| {
            touch(s);
            false
        });
    }

    /// Group and position of `slot` (whose hash is `h`).
    fn locate(&self, h: u64, slot: u32) -> Option<(usize, usize)> {
        self.probe(h, |s| s == slot)
    }

    /// Walks the probe sequence of `h` to the entry with its tag that
    /// satisfies `hit`, stopping at the first group nothing overflowed.
    #[inline]
    fn probe(&self, h: u64, mut hit: impl FnMut(u32) -> bool) -> Option<(usize, usize)> {
        if self.groups.is_empty() {
            return None;
        }
        let t = tag(h);
        let mut g = h as usize & self.mask();
        for _ in 0..self.groups.len() {
            let grp = &self.groups[g];
            for i in 0..WIDTH {
                if grp.tags[i] == t && hit(grp.slots[i]) {
                    return Some((g, i));
                }
            }
            if grp.overflow == 0 {
                return None;
            }
            g = (g + 1) & self.mask();
        }
        None
    }

    /// Adds `slot` with hash `h` (not present). `rehash` gives the hash of
    /// any stored slot, for growing.
    pub fn insert(&mut self, h: u64, slot: u32, rehash: impl Fn(u32) -> u64) {
        if (self.len + 1) * 8 > self.groups.len() * WIDTH * 7 {
            self.grow(&rehash);
        }
        Self::place(&mut self.groups, h, slot);
        self.len += 1;
    }

    fn place(groups: &mut [Group], h: u64, slot: u32) {
        let mask = groups.len() - 1;
        let mut g = h as usize & mask;
        loop {
            let grp = &mut groups[g];
            if let Some(i) = grp.tags.iter().position(|&t| t == 0) {
                grp.tags[i] = tag(h);
                grp.slots[i] = slot;
                return;
            }
            grp.overflow += 1;
            g = (g + 1) & mask;
        }
    }

    fn grow(&mut self, rehash: &impl Fn(u32) -> u64) {
        let n = (self.groups.len() * 2).max(1);
        let mut groups = HugeBuf::<Group>::zeroed(n);
        for grp in self.groups.iter() {
            for i in 0..WIDTH {
                if grp.tags[i] != 0 {
                    Self::place(&mut groups, rehash(grp.slots[i]), grp.slots[i]);
                }
            }
        }
        self.groups = groups;
    }

    /// Replaces `old` (hash `h`) by `new`; returns whether `old` was there.
    pub fn replace(&mut self, h: u64, old: u32, new: u32) -> bool {
        match self.locate(h, old) {
            Some((g, i)) => {
                self.groups[g].slots[i] = new;
                true
            }
            None => false,
        }
    }

    /// Removes `slot` (hash `h`); returns whether it was there.
    pub fn remove(&mut self, h: u64, slot: u32) -> bool {
        let Some((found, i)) = self.locate(h, slot) else {
            return false;
        };
        self.groups[found].tags[i] = 0;
        let mut g = h as usize & self.mask();
        while g != found {
            self.groups[g].overflow -= 1;
            g = (g + 1) & self.mask();
        }
        self.len -= 1;
        true
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.groups.heap_bytes()
    }

    /// Every stored slot (unordered).
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().flat_map(|grp| {
            (0..WIDTH)
                .filter(|&i| grp.tags[i] != 0)
                .map(|i| grp.slots[i])
        })
    }
}

const _: () = assert!(
    std::mem::size_of::<Group>() == 64,
    "a group is one cache line"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Hash of a slot in these tests: few distinct values, so groups fill,
    /// overflow and wrap around.
    fn h(slot: u32, spread: u64) -> u64 {
        (u64::from(slot) % spread).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    proptest! {
        #[test]
        fn matches_a_hash_map(ops in prop::collection::vec((0u32..300, 0u8..3), 1..2000), spread in 1u64..64) {
            let mut idx = MemberIndex::default();
            let mut model: HashMap<u32, ()> = HashMap::new();
            for (slot, op) in ops {
                let hs = h(slot, spread);
                match (op, model.contains_key(&slot)) {
                    (0, false) => {
                        idx.insert(hs, slot, |s| h(s, spread));
                        model.insert(slot, ());
                    }
                    (1, true) => {
                        prop_assert!(idx.remove(hs, slot));
                        model.remove(&slot);
                    }
                    _ => {}
                }
                prop_assert_eq!(idx.find(hs, |s| s == slot), model.get(&slot).map(|_| slot));
                prop_assert_eq!(idx.len, model.len());
            }
            let mut all: Vec<u32> = idx.iter().collect();
            all.sort_unstable();
            let mut want: Vec<u32> = model.keys().copied().collect();
            want.sort_unstable();
            prop_assert_eq!(all, want);
            for s in model.keys() {
                prop_assert_eq!(idx.find(h(*s, spread), |x| x == *s), Some(*s));
            }
            // Every overflow count is back to what the live entries need.
            let total: u64 = idx.groups.iter().map(|g| u64::from(g.overflow)).sum();
            let mask = idx.groups.len().saturating_sub(1);
            let need: u64 = idx.groups.iter().enumerate().flat_map(|(g, grp)| {
                (0..WIDTH).filter(move |&i| grp.tags[i] != 0).map(move |i| (g, grp.slots[i]))
            }).map(|(g, s)| ((g + idx.groups.len() - (h(s, spread) as usize & mask)) & mask) as u64).sum();
            prop_assert_eq!(total, need);
        }
    }

    #[test]
    fn replace_moves_a_slot() {
        let mut idx = MemberIndex::default();
        for s in 0..100 {
            idx.insert(h(s, 7), s, |x| h(x, 7));
        }
        assert!(idx.replace(h(5, 7), 5, 1000));
        assert_eq!(idx.find(h(5, 7), |x| x == 1000), Some(1000));
        assert_eq!(idx.find(h(5, 7), |x| x == 5), None);
        assert!(!idx.replace(h(5, 7), 5, 1001));
    }
}
