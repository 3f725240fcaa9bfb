//! Member storage: each member interned to a `u32` slot.
//!
//! A slot holds the member id and its current score, subscore and time
//! (24 bytes + the id). Slots live in fixed-size chunks so growth never
//! copies the whole slab and never leaves more than one chunk of slack
//! (a doubling `Vec` would waste up to half its capacity at 10M members).
//! A hashbrown `HashTable<u32>` maps member -> slot, hashing through the
//! slab, so the index itself costs 4 bytes per bucket plus a control byte.

use hashbrown::HashTable;

use crate::hash::index_hash;

/// Slots per chunk (a power of two so slot -> (chunk, offset) is a shift).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// One member's current values. The index orders slots by these.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub score: i64,
    /// Subscore, 0 when absent (see `has_sub`).
    pub sub: i64,
    pub at: i64,
    pub member: Box<str>,
}

/// Chunked slab of records plus the member -> slot hash index.
#[derive(Default)]
pub(crate) struct Slab {
    chunks: Vec<Vec<Record>>,
    /// Bit per slot: whether the subscore is present (`Some`).
    has_sub: Vec<u64>,
    free: Vec<u32>,
    index: HashTable<u32>,
    len: usize,
}

impl Slab {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn rec(&self, slot: u32) -> &Record {
        &self.chunks[(slot >> CHUNK_BITS) as usize][slot as usize & (CHUNK - 1)]
    }

    #[inline]
    pub fn rec_mut(&mut self, slot: u32) -> &mut Record {
        &mut self.chunks[(slot >> CHUNK_BITS) as usize][slot as usize & (CHUNK - 1)]
    }

    pub fn has_sub(&self, slot: u32) -> bool {
        self.has_sub[(slot / 64) as usize] & (1 << (slot % 64)) != 0
    }

    pub fn set_has_sub(&mut self, slot: u32, v: bool) {
        let w = &mut self.has_sub[(slot / 64) as usize];
        if v {
            *w |= 1 << (slot % 64);
        } else {
            *w &= !(1 << (slot % 64));
        }
    }

    /// The slot of `member`, given its [`crate::member_hash`].
    #[inline]
    pub fn find(&self, member: &str, hash: u64) -> Option<u32> {
        self.index
            .find(index_hash(hash), |&s| &*self.rec(s).member == member)
            .copied()
    }

    /// Stores a new member (which must not be present) and returns its slot.
    pub fn insert(&mut self, rec: Record, has_sub: bool, hash: u64) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => {
                *self.rec_mut(slot) = rec;
                slot
            }
            None => {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let n = self.chunks.len();
                let last = self.chunks.last_mut().expect("chunk exists");
                let slot = (n - 1) * CHUNK + last.len();
                last.push(rec);
                let slot = u32::try_from(slot).expect("a partition holds fewer than 2^32 members");
                if self.has_sub.len() * 64 <= slot as usize {
                    self.has_sub.push(0);
                }
                slot
            }
        };
        self.set_has_sub(slot, has_sub);
        let chunks = &self.chunks;
        self.index.insert_unique(index_hash(hash), slot, |&s| {
            index_hash(crate::member_hash(
                &chunks[(s >> CHUNK_BITS) as usize][s as usize & (CHUNK - 1)].member,
            ))
        });
        self.len += 1;
        slot
    }

    /// Forgets a member; its slot goes to the free list.
    pub fn remove(&mut self, slot: u32, hash: u64) {
        let found = self
            .index
            .find_entry(index_hash(hash), |&s| s == slot)
            .unwrap_or_else(|_| panic!("slot {slot} is indexed"));
        found.remove();
        let rec = self.rec_mut(slot);
        rec.member = Box::from("");
        self.free.push(slot);
        self.len -= 1;
    }

    /// Approximate heap bytes held (capacities, not lengths), excluding
    /// the member ids' own heap bytes.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let recs = self
            .chunks
            .iter()
            .map(|c| c.capacity() * std::mem::size_of::<Record>())
            .sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<Record>>();
        let buckets = if self.index.capacity() == 0 {
            0
        } else {
            (self.index.capacity() * 8 / 7).next_power_of_two()
        };
        let index = buckets * (std::mem::size_of::<u32>() + 1);
        let other = self.has_sub.capacity() * 8 + self.free.capacity() * 4;
        let member_heap = self
            .iter_slots()
            .map(|s| self.rec(s).member.len())
            .sum::<usize>();
        (recs + index + other, member_heap)
    }

    /// Every occupied slot (unordered).
    pub fn iter_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.iter().copied()
    }
}
