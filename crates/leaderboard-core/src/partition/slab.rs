//! Member storage: each member's record (current score, time, optional
//! subscore and the member id's bytes) packed into a byte arena and named
//! by a `u32` handle.
//!
//! A record is 18 bytes of header plus the id, 26 when a subscore is set,
//! rounded up to 4 bytes:
//!
//! ```text
//! 0      8      16        17     18           (26)
//! score  at     len - 1   flags  [subscore]   member id bytes
//! ```
//!
//! Keeping the id inline means a member lookup costs one cache miss for
//! the record (the id being compared sits right after the header) instead
//! of one for the record and one for a separately allocated string, and
//! there is no 16-byte pointer nor allocator overhead per member. Handles
//! are byte offsets / 4 in a virtual space of chunks that grow from 1 KiB
//! to 64 KiB and then stay at 64 KiB, so a small partition stays small and
//! a large one wastes at most one chunk. At 2 MiB the records are copied
//! into a 2 MiB huge page at the same virtual addresses, and every further
//! 2 MiB of chunks moves into a new page (`huge.rs`: a TLB miss less per
//! random record read; no page partly empty). A freed record goes to a free
//! list for its size (ids never change, so a member's record only moves
//! when its subscore appears or disappears).
//!
//! A [`MemberIndex`] maps member -> handle (one cache line per probe,
//! ~5.3 bytes per bucket), hashing through the arena.

use super::huge::HugeBuf;
use super::index::MemberIndex;
use crate::hash::index_hash;

const FIRST_CHUNK: usize = 1024;
/// Chunks `0..GROWING` are [`FIRST_CHUNK`], then doubling to 32 KiB (64 KiB
/// in all), later ones [`BIG_CHUNK`], so chunks never straddle a multiple
/// of their size, nor of a huge page.
const GROWING: usize = 7;
const BIG_CHUNK: usize = 64 << 10;
/// Bytes covered by the growing chunks.
const GROWING_END: usize = BIG_CHUNK;
/// Arena size at which the chunks are copied into huge pages (see
/// [`Slab::page_out`]); a multiple of [`PAGE`].
const PAGED_FROM: usize = 2 << 20;
/// Size of a huge page, into which every whole 2 MiB of records moves
/// once the arena is paged.
const PAGE: usize = super::huge::HUGE_PAGE;
const HEADER: usize = 18;
const HAS_SUB: u8 = 1;
/// Largest record in 4-byte units (header, subscore, longest id).
const MAX_UNITS: usize = (HEADER + 8 + crate::MAX_MEMBER_BYTES).div_ceil(4);

/// One member's current values, borrowed from the arena.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec<'a> {
    pub score: i64,
    /// Subscore, 0 when absent (see `has_sub`).
    pub sub: i64,
    pub has_sub: bool,
    pub at: i64,
    pub member: &'a str,
}

/// Byte arena of records plus the member -> handle hash index.
#[derive(Default)]
pub(crate) struct Slab {
    /// Huge pages holding virtual bytes `0..pages.len() * PAGE` (see
    /// [`Slab::page_out`]).
    pages: Vec<HugeBuf<u8>>,
    /// The bytes after the pages: growing then big chunks while there are
    /// no pages, big chunks (the tail) after.
    chunks: Vec<HugeBuf<u8>>,
    /// Bytes used in the last chunk.
    used: usize,
    /// Free records by size in 4-byte units.
    free: Vec<Vec<u32>>,
    index: MemberIndex,
    len: usize,
}

#[inline]
fn chunk_size(k: usize) -> usize {
    match k {
        0 => FIRST_CHUNK,
        _ if k < GROWING => FIRST_CHUNK << (k - 1),
        _ => BIG_CHUNK,
    }
}

#[inline]
fn chunk_start(k: usize) -> usize {
    match k {
        0 => 0,
        _ if k < GROWING => FIRST_CHUNK << (k - 1),
        _ => GROWING_END + (k - GROWING) * BIG_CHUNK,
    }
}

/// (chunk, offset) of a virtual byte address `b` among the chunks that
/// follow the first `base` bytes (those in huge pages).
#[inline]
fn locate(base: usize, b: usize) -> (usize, usize) {
    if base > 0 {
        let r = b - base;
        (r / BIG_CHUNK, r % BIG_CHUNK)
    } else if b < FIRST_CHUNK {
        (0, b)
    } else if b < GROWING_END {
        let k = (usize::BITS - (b / FIRST_CHUNK).leading_zeros()) as usize;
        (k, b - chunk_start(k))
    } else {
        let r = b - GROWING_END;
        (GROWING + r / BIG_CHUNK, r % BIG_CHUNK)
    }
}

/// The bytes from record `slot` on.
#[inline]
fn record<'a>(pages: &'a [HugeBuf<u8>], chunks: &'a [HugeBuf<u8>], slot: u32) -> &'a [u8] {
    let b = slot as usize * 4;
    let base = pages.len() * PAGE;
    if b < base {
        &pages[b / PAGE][b % PAGE..]
    } else {
        let (k, off) = locate(base, b);
        &chunks[k][off..]
    }
}

#[inline]
fn units(member_len: usize, has_sub: bool) -> usize {
    (HEADER + if has_sub { 8 } else { 0 } + member_len).div_ceil(4)
}

#[inline]
fn word(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl Slab {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn bytes(&self, slot: u32) -> &[u8] {
        record(&self.pages, &self.chunks, slot)
    }

    #[inline]
    fn bytes_mut(&mut self, slot: u32) -> &mut [u8] {
        let b = slot as usize * 4;
        let base = self.pages.len() * PAGE;
        if b < base {
            &mut self.pages[b / PAGE][b % PAGE..]
        } else {
            let (k, off) = locate(base, b);
            &mut self.chunks[k][off..]
        }
    }

    /// Requests the cache lines of `slot`'s record (header and a short id).
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        super::tree::prefetch(self.bytes(slot).as_ptr(), 48);
    }

    /// The record of `slot`.
    #[inline]
    pub fn rec(&self, slot: u32) -> Rec<'_> {
        let b = self.bytes(slot);
        let len = b[16] as usize + 1;
        let has_sub = b[17] & HAS_SUB != 0;
        let (sub, id_at) = if has_sub {
            (word(b, HEADER), HEADER + 8)
        } else {
            (0, HEADER)
        };
        let id = &b[id_at..id_at + len];
        Rec {
            score: word(b, 0),
            sub,
            has_sub,
            at: word(b, 8),
            // SAFETY: the bytes were copied from a `&str` by `write_record`
            // and are never modified afterwards (only the header is).
            member: unsafe { std::str::from_utf8_unchecked(id) },
        }
    }

    /// The member id of `slot` (cheaper than [`Slab::rec`]).
    #[inline]
    fn member(&self, slot: u32) -> &[u8] {
        let b = self.bytes(slot);
        let len = b[16] as usize + 1;
        let id_at = if b[17] & HAS_SUB != 0 {
            HEADER + 8
        } else {
            HEADER
        };
        &b[id_at..id_at + len]
    }

    /// First stage of a pipelined lookup of `hash`'s member: requests its
    /// index line.
    #[inline]
    pub fn prefetch_index(&self, hash: u64) {
        self.index.prefetch(index_hash(hash));
    }

    /// Second stage, once the index line is in: requests the records a
    /// [`Slab::find`] of `hash`'s member would compare (usually one).
    #[inline]
    pub fn prefetch_candidates(&self, hash: u64) {
        self.index
            .candidates(index_hash(hash), |slot| self.prefetch(slot));
    }

    /// The slot of `member`, given its [`crate::member_hash`].
    #[inline]
    pub fn find(&self, member: &str, hash: u64) -> Option<u32> {
        self.index
            .find(index_hash(hash), |s| self.member(s) == member.as_bytes())
    }

    /// Space for a record of `u` units: a freed one of that size, or the
    /// end of the arena (opening a new chunk when the last one is full).
    fn alloc(&mut self, u: usize) -> u32 {
        if let Some(slot) = self.free.get_mut(u).and_then(Vec::pop) {
            return slot;
        }
        let bytes = u * 4;
        let k = self.chunks.len();
        let paged = !self.pages.is_empty();
        let size = |k| if paged { BIG_CHUNK } else { chunk_size(k) };
        if k == 0 || self.used + bytes > size(k - 1) {
            if (!paged && chunk_start(k) == PAGED_FROM) || (paged && k == PAGE / BIG_CHUNK) {
                self.page_out();
            }
            let k = self.chunks.len();
            self.chunks.push(HugeBuf::zeroed(if self.pages.is_empty() {
                chunk_size(k)
            } else {
                BIG_CHUNK
            }));
            self.used = 0;
        }
        let last = self.chunks.len() - 1;
        let start = if self.pages.is_empty() {
            chunk_start(last)
        } else {
            self.pages.len() * PAGE + last * BIG_CHUNK
        } + self.used;
        self.used += bytes;
        u32::try_from(start / 4).expect("a partition holds under 16 GiB of records")
    }

    /// Copies the records in chunks into huge pages at the same virtual
    /// addresses (so handles stay valid): the first [`PAGED_FROM`] bytes
    /// when the arena reaches them, then every full 2 MiB of tail chunks.
    /// A large partition's random record reads then miss the TLB less
    /// (see `huge.rs`), and no page is ever partly empty.
    fn page_out(&mut self) {
        let first = self.pages.is_empty();
        let covered = if first { PAGED_FROM } else { PAGE };
        let mut pages: Vec<HugeBuf<u8>> = (0..covered / PAGE).map(|_| HugeBuf::page()).collect();
        for (k, c) in self.chunks.iter().enumerate() {
            let start = if first { chunk_start(k) } else { k * BIG_CHUNK };
            let (p, off) = (start / PAGE, start % PAGE);
            pages[p][off..off + c.len()].copy_from_slice(c);
        }
        self.pages.extend(pages);
        self.chunks.clear();
    }

    fn release(&mut self, slot: u32, u: usize) {
        if self.free.len() <= u {
            self.free.resize_with(u + 1, Vec::new);
        }
        self.free[u].push(slot);
    }

    fn write_record(&mut self, slot: u32, member: &str, score: i64, sub: Option<i64>, at: i64) {
        let b = self.bytes_mut(slot);
        b[0..8].copy_from_slice(&score.to_le_bytes());
        b[8..16].copy_from_slice(&at.to_le_bytes());
        b[16] = u8::try_from(member.len() - 1).expect("member ids are 1..=256 bytes");
        let id_at = match sub {
            Some(s) => {
                b[17] = HAS_SUB;
                b[HEADER..HEADER + 8].copy_from_slice(&s.to_le_bytes());
                HEADER + 8
            }
            None => {
                b[17] = 0;
                HEADER
            }
        };
        b[id_at..id_at + member.len()].copy_from_slice(member.as_bytes());
    }

    /// Stores a new member (which must not be present) and returns its slot.
    pub fn insert(
        &mut self,
        member: &str,
        score: i64,
        sub: Option<i64>,
        at: i64,
        hash: u64,
    ) -> u32 {
        debug_assert!(member.len() <= crate::MAX_MEMBER_BYTES && !member.is_empty());
        let slot = self.alloc(units(member.len(), sub.is_some()));
        self.write_record(slot, member, score, sub, at);
        let (pages, chunks) = (&self.pages, &self.chunks);
        self.index.insert(index_hash(hash), slot, |s| {
            let b = record(pages, chunks, s);
            let len = b[16] as usize + 1;
            let id_at = if b[17] & HAS_SUB != 0 {
                HEADER + 8
            } else {
                HEADER
            };
            index_hash(xxhash_rust::xxh3::xxh3_64(&b[id_at..id_at + len]))
        });
        self.len += 1;
        slot
    }

    /// Sets the key of the member in `slot` and returns its slot, which
    /// changes only when the subscore appears or disappears (the record
    /// changes size). `hash` is the member's [`crate::member_hash`].
    pub fn set_key(&mut self, slot: u32, score: i64, sub: Option<i64>, at: i64, hash: u64) -> u32 {
        let had_sub = self.bytes(slot)[17] & HAS_SUB != 0;
        if had_sub == sub.is_some() {
            let b = self.bytes_mut(slot);
            b[0..8].copy_from_slice(&score.to_le_bytes());
            b[8..16].copy_from_slice(&at.to_le_bytes());
            if let Some(s) = sub {
                b[HEADER..HEADER + 8].copy_from_slice(&s.to_le_bytes());
            }
            return slot;
        }
        let member = self.rec(slot).member.to_owned();
        let old_units = units(member.len(), had_sub);
        let moved = self.alloc(units(member.len(), sub.is_some()));
        self.write_record(moved, &member, score, sub, at);
        let indexed = self.index.replace(index_hash(hash), slot, moved);
        assert!(indexed, "slot {slot} is indexed");
        self.release(slot, old_units);
        moved
    }

    /// Forgets a member; its record goes to the free list.
    pub fn remove(&mut self, slot: u32, hash: u64) {
        let indexed = self.index.remove(index_hash(hash), slot);
        assert!(indexed, "slot {slot} is indexed");
        let r = self.rec(slot);
        let u = units(r.member.len(), r.has_sub);
        self.release(slot, u);
        self.len -= 1;
    }

    /// Approximate heap bytes held (capacities, not lengths), excluding
    /// the member ids' own bytes, and the id bytes.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let arena = self
            .pages
            .iter()
            .chain(&self.chunks)
            .map(HugeBuf::heap_bytes)
            .sum::<usize>()
            + (self.pages.capacity() + self.chunks.capacity()) * size_of::<HugeBuf<u8>>();
        let index = self.index.heap_bytes();
        let free = self.free.iter().map(|f| f.capacity() * 4).sum::<usize>()
            + self.free.capacity() * std::mem::size_of::<Vec<u32>>();
        let member_bytes = self
            .iter_slots()
            .map(|s| self.member(s).len())
            .sum::<usize>();
        (arena + index + free - member_bytes, member_bytes)
    }

    /// Every occupied slot (unordered).
    pub fn iter_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.iter()
    }
}

const _: () = assert!(
    MAX_UNITS * 4 <= FIRST_CHUNK,
    "a record fits in the smallest chunk"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member_hash;

    #[test]
    fn locate_covers_every_chunk_boundary() {
        for k in 0..GROWING + 3 {
            let s = chunk_start(k);
            assert_eq!(locate(0, s), (k, 0));
            assert_eq!(locate(0, s + chunk_size(k) - 1), (k, chunk_size(k) - 1));
            // Chunks never straddle a huge page, so paging keeps addresses.
            assert!(s % PAGE + chunk_size(k) <= PAGE);
        }
        assert_eq!(locate(PAGE, PAGE + BIG_CHUNK + 5), (1, 5));
    }

    #[test]
    fn records_round_trip_move_and_reuse() {
        // ~12 MB of records: paged out at 2 MiB, then full tails paged too.
        const N: usize = 90_000;
        let mut slab = Slab::default();
        let mut slots = Vec::new();
        for i in 0..N {
            let m = format!("member-{i}-{}", "x".repeat(i % 200));
            let sub = (i % 3 == 0).then_some(i as i64);
            let s = slab.insert(&m, i as i64, sub, -(i as i64), member_hash(&m));
            slots.push((m, s));
        }
        for (i, (m, s)) in slots.iter().enumerate() {
            let r = slab.rec(*s);
            assert_eq!(
                (r.member, r.score, r.at),
                (m.as_str(), i as i64, -(i as i64))
            );
            assert_eq!(r.has_sub, i % 3 == 0);
            assert_eq!(slab.find(m, member_hash(m)), Some(*s));
        }
        // Toggle the subscore: the record moves, the index follows.
        let (m, s) = slots[1].clone();
        let moved = slab.set_key(s, 9, Some(4), 1, member_hash(&m));
        assert_ne!(moved, s);
        assert_eq!(slab.find(&m, member_hash(&m)), Some(moved));
        let r = slab.rec(moved);
        assert_eq!(
            (r.score, r.sub, r.has_sub, r.at, r.member),
            (9, 4, true, 1, m.as_str())
        );
        // Same shape: updated in place.
        assert_eq!(slab.set_key(moved, 10, Some(5), 2, member_hash(&m)), moved);
        // A removed record's space is reused by a record of the same size.
        let (m0, s0) = slots[0].clone();
        slab.remove(s0, member_hash(&m0));
        assert_eq!(slab.find(&m0, member_hash(&m0)), None);
        let again = slab.insert(&m0, 1, Some(0), 0, member_hash(&m0));
        assert_eq!(again, s0);
        assert_eq!(slab.len(), N);
        assert!(slab.pages.len() > PAGED_FROM / PAGE, "moved to huge pages");
        let longest = "é".repeat(crate::MAX_MEMBER_BYTES / 2);
        let s = slab.insert(&longest, 1, Some(1), 1, member_hash(&longest));
        assert_eq!(slab.rec(s).member, longest);
    }
}
