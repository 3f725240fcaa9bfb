//! Order-statistic B+tree over `(score, slot)` pairs.
//!
//! Leaves keep only the (oriented) score and the member's slot, in two
//! parallel arrays: 12 bytes per entry, scores contiguous so the binary
//! search walks one dense `i64` array. Only entries with an *equal* score
//! are compared on their tail (subscore, time, member), which lives in the
//! slab and is reached through the [`Probe`] trait. Inner nodes keep, per
//! child, its exact minimum key and its entry count, so one root-to-leaf
//! descent answers "how many entries sort before this key" (the rank) and
//! "which entry is at position i" (paging) in O(log n).
//!
//! Invariants (checked by `check` in tests):
//! - all leaves are at the same depth `height`;
//! - `mins[i]` of an inner node is the smallest key under child `i`;
//! - `counts[i]` is the number of entries under child `i`, never 0;
//! - leaves are doubly linked in key order; only the root may be empty.

use std::cmp::Ordering;

use super::arena::Arena;

/// Entries per leaf. Large leaves keep the tree shallow (3 levels at 10M
/// entries) and amortise per-node overhead to < 1 byte per entry; the
/// memmove on insert stays under ~1 KiB.
pub(crate) const LEAF_CAP: usize = 128;
/// Children per inner node.
pub(crate) const INNER_CAP: usize = 64;
/// Fill used by bulk loading, leaving room for inserts without splits.
const BULK_LEAF_FILL: usize = LEAF_CAP * 7 / 8;
const BULK_INNER_FILL: usize = INNER_CAP * 7 / 8;
const NIL: u32 = u32::MAX;

/// Asks the CPU to start loading `bytes` bytes from `p` into cache. A leaf
/// or inner node spans 8-16 cache lines; a binary search over it would
/// otherwise wait for 4-5 dependent misses, with the lines requested up
/// front they arrive in parallel (on a machine whose memory latency is
/// 100-400 ns this is most of a descent's cost).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = p.cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: prefetch never faults and has no architectural effect;
            // the address is inside (or one line past) a live node.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.wrapping_add(off),
                )
            };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (p, bytes);
    }
}

// Prefetches cover the whole capacity: reading `len` first would itself
// wait for the miss the prefetch is meant to hide.
impl Leaf {
    #[inline(always)]
    fn prefetch_keys(&self) {
        prefetch(self as *const Leaf, 64);
        prefetch(self.keys.as_ptr(), LEAF_CAP * 8);
    }

    /// Requests only the lines a search starting at index `guess` is
    /// likely to read: the keys within [`GUESS_REACH`] of it and the slots
    /// line at it (read when the score ties). A whole leaf is 16+ lines;
    /// when `P` descents run at once, requesting all of them makes the
    /// reads wait on memory bandwidth rather than latency.
    #[inline(always)]
    fn prefetch_near(&self, guess: usize) {
        let lo = guess.saturating_sub(GUESS_REACH);
        let hi = (guess + GUESS_REACH).min(LEAF_CAP - 1);
        prefetch_span(self.keys[lo..=hi].as_ptr(), (hi - lo + 1) * 8);
        prefetch(self.slots[guess.min(LEAF_CAP - 1)..].as_ptr(), 1);
    }
}

/// Keys either side of an interpolated guess whose lines a read-only
/// descent requests (see [`Leaf::prefetch_near`]). A leaf of ~110 entries
/// with locally even scores puts the target within a few entries of the
/// guess; a miss outside this reach costs one more memory round trip,
/// never a wrong answer.
const GUESS_REACH: usize = 8;
/// "No guess": the leaf is searched from scratch with all lines requested.
const NO_GUESS: u32 = u32::MAX;

/// Like [`prefetch`] but covering every line that `[p, p + bytes)`
/// touches, whatever the alignment of `p`.
#[inline(always)]
fn prefetch_span<T>(p: *const T, bytes: usize) {
    let start = p as usize;
    let first = start & !63;
    let last = (start + bytes.max(1) - 1) & !63;
    let base = p.cast::<u8>().wrapping_sub(start - first);
    prefetch(base, last - first + 1);
}

impl Inner {
    #[inline(always)]
    fn prefetch_search(&self) {
        prefetch(self.mins.as_ptr(), INNER_CAP * 8);
        prefetch(self.counts.as_ptr(), INNER_CAP * 4);
        prefetch(self.children.as_ptr(), INNER_CAP * 4);
    }
}

/// A root-to-leaf descent toward a probe, advanced one level per
/// [`Tree::step`], so the descents of several partitions can be run
/// interleaved and their cache misses overlap instead of adding up.
pub(crate) struct Descent {
    node: u32,
    height: u32,
    acc: usize,
    /// At a leaf: its entry count (from the parent, so the leaf's header
    /// line need not be read) and the interpolated index to search from,
    /// or [`NO_GUESS`].
    len: u32,
    guess: u32,
    /// At a leaf whose entries tying with the probe's score need their
    /// records compared: the index of the first of them (the records were
    /// requested, the next step orders them), else [`NO_GUESS`].
    tie_lo: u32,
}

/// A search key as seen by the tree: its oriented score, plus a way to
/// compare the rest of the key against a stored slot on score ties.
pub(crate) trait Probe {
    /// The oriented score (ascending tree order = rank order).
    fn score(&self) -> i64;
    /// `self` vs the tail (subscore, time, member) of the entry in `slot`.
    fn tail_cmp(&self, slot: u32) -> Ordering;
    /// The slot of the entry whose key this probe is, when the caller
    /// knows it is in the tree: ties on score are then resolved by finding
    /// that slot among the tied ones instead of reading their records.
    fn slot_hint(&self) -> Option<u32> {
        None
    }
    /// Requests the cache lines [`Probe::tail_cmp`] will read for `slot`.
    fn prefetch_tail(&self, slot: u32) {
        let _ = slot;
    }
}

// SAFETY: integers and arrays of them only; zeroed is an empty leaf.
unsafe impl super::huge::Zeroable for Leaf {}
// SAFETY: as for `Leaf`.
unsafe impl super::huge::Zeroable for Inner {}

pub(crate) struct Leaf {
    len: u32,
    prev: u32,
    next: u32,
    keys: [i64; LEAF_CAP],
    slots: [u32; LEAF_CAP],
}

impl Leaf {
    fn empty() -> Self {
        Leaf {
            len: 0,
            prev: NIL,
            next: NIL,
            keys: [0; LEAF_CAP],
            slots: [0; LEAF_CAP],
        }
    }

    fn insert_at(&mut self, pos: usize, s: i64, slot: u32) {
        let len = self.len as usize;
        self.keys.copy_within(pos..len, pos + 1);
        self.slots.copy_within(pos..len, pos + 1);
        self.keys[pos] = s;
        self.slots[pos] = slot;
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) {
        let len = self.len as usize;
        self.keys.copy_within(pos + 1..len, pos);
        self.slots.copy_within(pos + 1..len, pos);
        self.len -= 1;
    }
}

pub(crate) struct Inner {
    len: u32,
    mins: [i64; INNER_CAP],
    min_slots: [u32; INNER_CAP],
    counts: [u32; INNER_CAP],
    children: [u32; INNER_CAP],
}

impl Inner {
    fn empty() -> Self {
        Inner {
            len: 0,
            mins: [0; INNER_CAP],
            min_slots: [0; INNER_CAP],
            counts: [0; INNER_CAP],
            children: [0; INNER_CAP],
        }
    }

    fn insert_at(&mut self, pos: usize, child: u32, min: (i64, u32), count: u32) {
        let len = self.len as usize;
        self.mins.copy_within(pos..len, pos + 1);
        self.min_slots.copy_within(pos..len, pos + 1);
        self.counts.copy_within(pos..len, pos + 1);
        self.children.copy_within(pos..len, pos + 1);
        self.mins[pos] = min.0;
        self.min_slots[pos] = min.1;
        self.counts[pos] = count;
        self.children[pos] = child;
        self.len += 1;
    }

    fn remove_at(&mut self, pos: usize) {
        let len = self.len as usize;
        self.mins.copy_within(pos + 1..len, pos);
        self.min_slots.copy_within(pos + 1..len, pos);
        self.counts.copy_within(pos + 1..len, pos);
        self.children.copy_within(pos + 1..len, pos);
        self.len -= 1;
    }

    fn total(&self) -> u32 {
        self.counts[..self.len as usize].iter().sum()
    }

    /// Index of the child whose range holds `p` (last child with min <= p).
    #[inline]
    fn child_for<P: Probe>(&self, p: &P) -> usize {
        let n = self.len as usize;
        upper_bound(&self.mins[..n], &self.min_slots[..n], p).saturating_sub(1)
    }
}

/// Length of the run of keys equal to `s` at the start of `keys`. Runs
/// are short (ties on the exact score), so a scan beats a second binary
/// search.
#[inline]
fn run_len(keys: &[i64], s: i64) -> usize {
    keys.iter().take_while(|&&k| k == s).count()
}

/// Number of keys `< p`.
#[inline]
fn lower_bound<P: Probe>(keys: &[i64], slots: &[u32], p: &P) -> usize {
    let lo = keys.partition_point(|&k| k < p.score());
    resolve_ties(keys, slots, p, lo)
}

/// Number of keys `< p`, given `lo` = the number of keys whose score is
/// below `p`'s: only the run of equal scores at `lo` is left to order.
#[inline]
fn resolve_ties<P: Probe>(keys: &[i64], slots: &[u32], p: &P, lo: usize) -> usize {
    let run = run_len(&keys[lo..], p.score());
    if run == 0 {
        return lo;
    }
    let tied = &slots[lo..lo + run];
    if let Some(at) = p
        .slot_hint()
        .and_then(|h| tied.iter().position(|&s| s == h))
    {
        return lo + at;
    }
    lo + tied.partition_point(|&s| p.tail_cmp(s) == Ordering::Greater)
}

/// Number of keys `< s` in sorted `keys`, searched outward from index
/// `guess` (exponential steps, then a binary search inside the bracket),
/// so a good guess reads only the lines around it.
#[inline]
fn lower_bound_from(keys: &[i64], s: i64, guess: usize) -> usize {
    let n = keys.len();
    if n == 0 {
        return 0;
    }
    let g = guess.min(n - 1);
    if keys[g] < s {
        // The answer is in (g, n].
        let mut lo = g + 1;
        let mut step = 1;
        loop {
            let probe = lo + step - 1;
            if probe >= n {
                return lo + keys[lo..].partition_point(|&k| k < s);
            }
            if keys[probe] >= s {
                return lo + keys[lo..probe].partition_point(|&k| k < s);
            }
            lo = probe + 1;
            step *= 2;
        }
    }
    // keys[g] >= s: the answer is in [0, g].
    let mut hi = g;
    let mut step = 1;
    loop {
        if hi < step {
            return keys[..hi].partition_point(|&k| k < s);
        }
        let probe = hi - step;
        if keys[probe] < s {
            return probe + 1 + keys[probe + 1..hi].partition_point(|&k| k < s);
        }
        hi = probe;
        step *= 2;
    }
}

/// Number of keys `<= p`.
#[inline]
fn upper_bound<P: Probe>(keys: &[i64], slots: &[u32], p: &P) -> usize {
    let ps = p.score();
    let lo = keys.partition_point(|&k| k < ps);
    let run = run_len(&keys[lo..], ps);
    if run == 0 {
        return lo;
    }
    lo + slots[lo..lo + run].partition_point(|&s| p.tail_cmp(s) != Ordering::Less)
}

/// A position in the tree: leaf id and index inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    leaf: u32,
    idx: u32,
}

/// The order-statistic B+tree of one partition.
pub(crate) struct Tree {
    leaves: Arena<Leaf, 5>,
    inners: Arena<Inner, 3>,
    root: u32,
    /// 0 when the root is a leaf.
    height: u32,
    len: usize,
    first: u32,
    last: u32,
}

impl Default for Tree {
    fn default() -> Self {
        let mut leaves = Arena::default();
        let root = leaves.alloc(Leaf::empty());
        Tree {
            leaves,
            inners: Arena::default(),
            root,
            height: 0,
            len: 0,
            first: root,
            last: root,
        }
    }
}

impl Tree {
    /// Number of entries sorting strictly before `p`.
    pub fn count_less<P: Probe>(&self, p: &P) -> usize {
        self.seek(p).1
    }

    /// First position at or after `p`, with its index; `None` past the end.
    pub fn seek<P: Probe>(&self, p: &P) -> (Option<Pos>, usize) {
        let mut d = self.descent();
        loop {
            if let Some(found) = self.step(&mut d, p) {
                return found;
            }
        }
    }

    /// Starts a descent at the root (requesting the root's lines).
    pub fn descent(&self) -> Descent {
        self.prefetch_node(self.root, self.height);
        Descent {
            node: self.root,
            height: self.height,
            acc: 0,
            len: if self.height == 0 {
                self.leaves.get(self.root).len
            } else {
                0
            },
            guess: NO_GUESS,
            tie_lo: NO_GUESS,
        }
    }

    #[inline(always)]
    fn prefetch_node(&self, node: u32, h: u32) {
        if h == 0 {
            self.leaves.get(node).prefetch_keys();
        } else {
            self.inners.get(node).prefetch_search();
        }
    }

    /// Moves `d` one level down toward `p` and requests the next node's
    /// lines; at the leaf, returns what [`Tree::seek`] returns (one round
    /// later when score ties need records: see [`Descent::tie_lo`]).
    #[inline]
    pub fn step<P: Probe>(&self, d: &mut Descent, p: &P) -> Option<(Option<Pos>, usize)> {
        if d.height > 0 {
            let inner = self.inners.get(d.node);
            let i = inner.child_for(p);
            d.acc += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
            d.node = inner.children[i];
            d.height -= 1;
            if d.height > 0 {
                self.prefetch_node(d.node, d.height);
                return None;
            }
            // Into a leaf: guess where `p` sits from the key range the
            // parent knows (this child's min, the next child's min) and
            // request only the lines around that guess.
            d.len = inner.counts[i];
            let leaf = self.leaves.get(d.node);
            if i + 1 < inner.len as usize {
                let (lo, hi) = (inner.mins[i] as f64, inner.mins[i + 1] as f64);
                let frac = (p.score() as f64 - lo) / (hi - lo);
                // Saturating casts: NaN (lo == hi) and negatives give 0.
                let g = ((frac * f64::from(d.len)) as u32).min(d.len - 1);
                d.guess = g;
                leaf.prefetch_near(g as usize);
            } else {
                d.guess = NO_GUESS;
                leaf.prefetch_keys();
            }
            return None;
        }
        let node = d.node;
        let leaf = self.leaves.get(node);
        let n = d.len as usize;
        debug_assert_eq!(n, leaf.len as usize, "parent count is the leaf's length");
        let keys = &leaf.keys[..n];
        let slots = &leaf.slots[..n];
        let idx = if d.tie_lo != NO_GUESS {
            // Second visit: the tied records requested last round are in.
            resolve_ties(keys, slots, p, d.tie_lo as usize)
        } else {
            let lo = if d.guess == NO_GUESS {
                keys.partition_point(|&k| k < p.score())
            } else {
                lower_bound_from(keys, p.score(), d.guess as usize)
            };
            let tied = &slots[lo..lo + run_len(&keys[lo..], p.score())];
            let own = p.slot_hint().is_some_and(|h| tied.contains(&h));
            if !tied.is_empty() && !own {
                // Ordering the ties reads their records: request them all
                // now and order them next round, so their misses overlap
                // each other and the other partitions' descents.
                for &slot in tied {
                    p.prefetch_tail(slot);
                }
                d.tie_lo = lo as u32;
                return None;
            }
            resolve_ties(keys, slots, p, lo)
        };
        let pos = if idx < n {
            Some(Pos {
                leaf: node,
                idx: idx as u32,
            })
        } else if leaf.next != NIL {
            Some(Pos {
                leaf: leaf.next,
                idx: 0,
            })
        } else {
            None
        };
        Some((pos, d.acc + idx))
    }

    /// Descends the inner nodes toward the oriented score `s` alone (ties
    /// not resolved) and requests the lines of the leaf where it lands
    /// that a write there would touch: from a little before the
    /// interpolated position of `s` to the end of its keys and slots (an
    /// insert or removal shifts everything after its position). Reads no
    /// leaf and no record; returns the leaf for [`Tree::prefetch_ties`].
    /// For pipelined batches: the inner levels are small and stay in
    /// cache, so this costs no memory wait.
    pub fn prefetch_path(&self, s: i64) -> u32 {
        let mut node = self.root;
        let (mut from, mut to) = (0, LEAF_CAP);
        for h in (0..self.height).rev() {
            let inner = self.inners.get(node);
            let n = inner.len as usize;
            let i = inner.mins[..n]
                .partition_point(|&m| m < s)
                .saturating_sub(1);
            node = inner.children[i];
            if h == 0 {
                let len = inner.counts[i] as usize;
                to = (len + 1).min(LEAF_CAP);
                if i + 1 < n {
                    let (lo, hi) = (inner.mins[i] as f64, inner.mins[i + 1] as f64);
                    let g = ((s as f64 - lo) / (hi - lo) * len as f64) as usize;
                    from = g.min(len).saturating_sub(GUESS_REACH);
                }
            }
        }
        let leaf = self.leaves.get(node);
        prefetch(leaf as *const Leaf, 64);
        prefetch_span(leaf.keys[from..to].as_ptr(), (to - from) * 8);
        prefetch_span(leaf.slots[from..to].as_ptr(), (to - from) * 4);
        node
    }

    /// Reads `leaf` (requested earlier by [`Tree::prefetch_path`]) and
    /// calls `touch` with the slots of its entries scoring `s`, whose
    /// records a write of a key with that score would compare.
    pub fn prefetch_ties(&self, leaf: u32, s: i64, mut touch: impl FnMut(u32)) {
        let leaf = self.leaves.get(leaf);
        let keys = &leaf.keys[..leaf.len as usize];
        let lo = keys.partition_point(|&k| k < s);
        for (i, _) in keys[lo..].iter().take_while(|&&k| k == s).enumerate() {
            touch(leaf.slots[lo + i]);
        }
    }

    /// Position of the entry with index `i` (0-based) in key order.
    pub fn select(&self, mut i: usize) -> Option<Pos> {
        if i >= self.len {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = self.inners.get(node);
            let mut c = 0;
            while i >= inner.counts[c] as usize {
                i -= inner.counts[c] as usize;
                c += 1;
            }
            node = inner.children[c];
        }
        Some(Pos {
            leaf: node,
            idx: i as u32,
        })
    }

    pub fn first(&self) -> Option<Pos> {
        (self.len > 0).then_some(Pos {
            leaf: self.first,
            idx: 0,
        })
    }

    pub fn last(&self) -> Option<Pos> {
        (self.len > 0).then(|| Pos {
            leaf: self.last,
            idx: self.leaves.get(self.last).len - 1,
        })
    }

    /// The `(oriented score, slot)` at `pos`.
    #[inline]
    pub fn at(&self, pos: Pos) -> (i64, u32) {
        let leaf = self.leaves.get(pos.leaf);
        (leaf.keys[pos.idx as usize], leaf.slots[pos.idx as usize])
    }

    pub fn next(&self, pos: Pos) -> Option<Pos> {
        let leaf = self.leaves.get(pos.leaf);
        if pos.idx + 1 < leaf.len {
            Some(Pos {
                leaf: pos.leaf,
                idx: pos.idx + 1,
            })
        } else if leaf.next != NIL {
            Some(Pos {
                leaf: leaf.next,
                idx: 0,
            })
        } else {
            None
        }
    }

    pub fn prev(&self, pos: Pos) -> Option<Pos> {
        if pos.idx > 0 {
            return Some(Pos {
                leaf: pos.leaf,
                idx: pos.idx - 1,
            });
        }
        let prev = self.leaves.get(pos.leaf).prev;
        (prev != NIL).then(|| Pos {
            leaf: prev,
            idx: self.leaves.get(prev).len - 1,
        })
    }

    /// Inserts `(s, slot)`, whose full key `p` describes; the key must not
    /// be present. Returns its index after insertion.
    pub fn insert<P: Probe>(&mut self, s: i64, slot: u32, p: &P) -> usize {
        let mut below = 0usize;
        if let Some(right) = self.insert_rec(self.root, self.height, s, slot, p, &mut below) {
            let left = self.root;
            let mut root = Inner::empty();
            let (lmin, lcount) = self.summary(left, self.height);
            let (rmin, rcount) = self.summary(right, self.height);
            root.insert_at(0, left, lmin, lcount);
            root.insert_at(1, right, rmin, rcount);
            self.root = self.inners.alloc(root);
            self.height += 1;
        }
        self.len += 1;
        below
    }

    /// Min key and entry count of a node at height `h`.
    fn summary(&self, node: u32, h: u32) -> ((i64, u32), u32) {
        if h == 0 {
            let l = self.leaves.get(node);
            ((l.keys[0], l.slots[0]), l.len)
        } else {
            let n = self.inners.get(node);
            ((n.mins[0], n.min_slots[0]), n.total())
        }
    }

    fn insert_rec<P: Probe>(
        &mut self,
        node: u32,
        h: u32,
        s: i64,
        slot: u32,
        p: &P,
        below: &mut usize,
    ) -> Option<u32> {
        if h == 0 {
            return self.insert_leaf(node, s, slot, p, below);
        }
        let inner = self.inners.get(node);
        inner.prefetch_search();
        let i = inner.child_for(p);
        *below += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
        let child = inner.children[i];
        let split = self.insert_rec(child, h - 1, s, slot, p, below);
        let (cmin, ccount) = match split {
            None => {
                let m = self.summary_min(child, h - 1);
                (m, self.inners.get(node).counts[i] + 1)
            }
            Some(_) => self.summary(child, h - 1),
        };
        let inner = self.inners.get_mut(node);
        inner.mins[i] = cmin.0;
        inner.min_slots[i] = cmin.1;
        inner.counts[i] = ccount;
        let right = split?;
        let (rmin, rcount) = self.summary(right, h - 1);
        let inner = self.inners.get_mut(node);
        if (inner.len as usize) < INNER_CAP {
            inner.insert_at(i + 1, right, rmin, rcount);
            return None;
        }
        let new_id = self.inners.alloc(Inner::empty());
        let (l, r) = self.inners.pair_mut(node, new_id);
        let half = INNER_CAP / 2;
        let moved = INNER_CAP - half;
        r.mins[..moved].copy_from_slice(&l.mins[half..]);
        r.min_slots[..moved].copy_from_slice(&l.min_slots[half..]);
        r.counts[..moved].copy_from_slice(&l.counts[half..]);
        r.children[..moved].copy_from_slice(&l.children[half..]);
        r.len = moved as u32;
        l.len = half as u32;
        if i < half {
            l.insert_at(i + 1, right, rmin, rcount);
        } else {
            r.insert_at(i + 1 - half, right, rmin, rcount);
        }
        Some(new_id)
    }

    fn summary_min(&self, node: u32, h: u32) -> (i64, u32) {
        if h == 0 {
            let l = self.leaves.get(node);
            (l.keys[0], l.slots[0])
        } else {
            let n = self.inners.get(node);
            (n.mins[0], n.min_slots[0])
        }
    }

    fn insert_leaf<P: Probe>(
        &mut self,
        node: u32,
        s: i64,
        slot: u32,
        p: &P,
        below: &mut usize,
    ) -> Option<u32> {
        let leaf = self.leaves.get_mut(node);
        leaf.prefetch_keys();
        let n = leaf.len as usize;
        let pos = lower_bound(&leaf.keys[..n], &leaf.slots[..n], p);
        *below += pos;
        if n < LEAF_CAP {
            leaf.insert_at(pos, s, slot);
            return None;
        }
        let right_id = self.leaves.alloc(Leaf::empty());
        let (l, r) = self.leaves.pair_mut(node, right_id);
        let half = LEAF_CAP / 2;
        let moved = LEAF_CAP - half;
        r.keys[..moved].copy_from_slice(&l.keys[half..]);
        r.slots[..moved].copy_from_slice(&l.slots[half..]);
        r.len = moved as u32;
        l.len = half as u32;
        r.prev = node;
        r.next = l.next;
        l.next = right_id;
        if pos <= half {
            l.insert_at(pos, s, slot);
        } else {
            r.insert_at(pos - half, s, slot);
        }
        let after = r.next;
        if after == NIL {
            self.last = right_id;
        } else {
            self.leaves.get_mut(after).prev = right_id;
        }
        Some(right_id)
    }

    /// Removes the entry whose full key is `p`; returns its index before
    /// removal, or `None` if absent.
    pub fn remove<P: Probe>(&mut self, p: &P) -> Option<usize> {
        let mut below = 0usize;
        if !self.remove_rec(self.root, self.height, p, &mut below) {
            return None;
        }
        self.len -= 1;
        while self.height > 0 {
            let root = self.inners.get(self.root);
            match root.len {
                0 => {
                    self.inners.free(self.root);
                    let leaf = self.leaves.alloc(Leaf::empty());
                    (self.root, self.height, self.first, self.last) = (leaf, 0, leaf, leaf);
                }
                1 => {
                    let child = root.children[0];
                    self.inners.free(self.root);
                    self.root = child;
                    self.height -= 1;
                }
                _ => break,
            }
        }
        Some(below)
    }

    fn remove_rec<P: Probe>(&mut self, node: u32, h: u32, p: &P, below: &mut usize) -> bool {
        if h == 0 {
            let leaf = self.leaves.get_mut(node);
            leaf.prefetch_keys();
            let n = leaf.len as usize;
            let pos = lower_bound(&leaf.keys[..n], &leaf.slots[..n], p);
            if pos < n
                && leaf.keys[pos] == p.score()
                && p.tail_cmp(leaf.slots[pos]) == Ordering::Equal
            {
                *below += pos;
                leaf.remove_at(pos);
                return true;
            }
            return false;
        }
        let inner = self.inners.get(node);
        inner.prefetch_search();
        let i = inner.child_for(p);
        *below += inner.counts[..i].iter().map(|&c| c as usize).sum::<usize>();
        let child = inner.children[i];
        if !self.remove_rec(child, h - 1, p, below) {
            return false;
        }
        let inner = self.inners.get_mut(node);
        inner.counts[i] -= 1;
        if inner.counts[i] == 0 {
            inner.remove_at(i);
            if h == 1 {
                self.unlink_leaf(child);
            } else {
                self.inners.free(child);
            }
            return true;
        }
        let cmin = self.summary_min(child, h - 1);
        let inner = self.inners.get_mut(node);
        inner.mins[i] = cmin.0;
        inner.min_slots[i] = cmin.1;
        if h == 1 {
            self.maybe_merge_leaves(node, i);
        }
        true
    }

    /// Merges a small leaf child with a neighbour so deletes do not leave
    /// the tree full of near-empty leaves (memory per entry stays bounded).
    fn maybe_merge_leaves(&mut self, node: u32, i: usize) {
        let inner = self.inners.get(node);
        if inner.counts[i] as usize >= LEAF_CAP / 4 {
            return;
        }
        let n = inner.len as usize;
        let j = if i + 1 < n {
            i + 1
        } else if i > 0 {
            i - 1
        } else {
            return;
        };
        let (a, b) = (i.min(j), i.max(j));
        if (inner.counts[a] + inner.counts[b]) as usize > LEAF_CAP * 3 / 4 {
            return;
        }
        let (la, lb) = (inner.children[a], inner.children[b]);
        let (left, right) = self.leaves.pair_mut(la, lb);
        let (ln, rn) = (left.len as usize, right.len as usize);
        left.keys[ln..ln + rn].copy_from_slice(&right.keys[..rn]);
        left.slots[ln..ln + rn].copy_from_slice(&right.slots[..rn]);
        left.len += rn as u32;
        let inner = self.inners.get_mut(node);
        inner.counts[a] += inner.counts[b];
        inner.remove_at(b);
        self.unlink_leaf(lb);
    }

    fn unlink_leaf(&mut self, id: u32) {
        let (prev, next) = {
            let l = self.leaves.get(id);
            (l.prev, l.next)
        };
        if prev == NIL {
            self.first = next;
        } else {
            self.leaves.get_mut(prev).next = next;
        }
        if next == NIL {
            self.last = prev;
        } else {
            self.leaves.get_mut(next).prev = prev;
        }
        self.leaves.free(id);
    }

    /// Replaces the contents with `entries`, which must be sorted by key.
    pub fn build(&mut self, entries: &[(i64, u32)]) {
        *self = Tree::default();
        if entries.is_empty() {
            return;
        }
        self.leaves = Arena::default();
        let mut level: Vec<(u32, (i64, u32), u32)> = Vec::new();
        let mut prev = NIL;
        for chunk in entries.chunks(BULK_LEAF_FILL) {
            let mut leaf = Leaf::empty();
            for (k, &(s, slot)) in chunk.iter().enumerate() {
                leaf.keys[k] = s;
                leaf.slots[k] = slot;
            }
            leaf.len = chunk.len() as u32;
            leaf.prev = prev;
            let id = self.leaves.alloc(leaf);
            if prev != NIL {
                self.leaves.get_mut(prev).next = id;
            } else {
                self.first = id;
            }
            prev = id;
            level.push((id, chunk[0], chunk.len() as u32));
        }
        self.last = prev;
        let mut height = 0;
        while level.len() > 1 {
            let mut up = Vec::with_capacity(level.len() / BULK_INNER_FILL + 1);
            for group in level.chunks(BULK_INNER_FILL) {
                let mut inner = Inner::empty();
                for (k, &(child, min, count)) in group.iter().enumerate() {
                    inner.insert_at(k, child, min, count);
                }
                let total = inner.total();
                up.push((self.inners.alloc(inner), group[0].1, total));
            }
            level = up;
            height += 1;
        }
        self.root = level[0].0;
        self.height = height;
        self.len = entries.len();
    }

    /// Heap bytes held by the nodes (capacity, including free nodes).
    pub fn heap_bytes(&self) -> usize {
        self.leaves.heap_bytes() + self.inners.heap_bytes()
    }

    /// Verifies the invariants; panics with a message on violation.
    #[cfg(test)]
    pub fn check(&self, cmp: &dyn Fn((i64, u32), (i64, u32)) -> Ordering) {
        let mut count = 0;
        let mut prev: Option<(i64, u32)> = None;
        let mut pos = self.first();
        while let Some(p) = pos {
            let e = self.at(p);
            if let Some(q) = prev {
                assert_eq!(cmp(q, e), Ordering::Less, "leaf chain out of order");
            }
            prev = Some(e);
            count += 1;
            pos = self.next(p);
        }
        assert_eq!(count, self.len, "leaf chain length");
        if self.height > 0 {
            assert_eq!(self.check_node(self.root, self.height, cmp), self.len);
        }
    }

    #[cfg(test)]
    fn check_node(
        &self,
        node: u32,
        h: u32,
        cmp: &dyn Fn((i64, u32), (i64, u32)) -> Ordering,
    ) -> usize {
        if h == 0 {
            let l = self.leaves.get(node);
            assert!(l.len > 0, "empty non-root leaf");
            return l.len as usize;
        }
        let inner = self.inners.get(node);
        let mut total = 0;
        for c in 0..inner.len as usize {
            let child = inner.children[c];
            let n = self.check_node(child, h - 1, cmp);
            assert_eq!(n, inner.counts[c] as usize, "count of child");
            let m = self.summary_min(child, h - 1);
            assert_eq!(
                cmp(m, (inner.mins[c], inner.min_slots[c])),
                Ordering::Equal,
                "min of child"
            );
            total += n;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::lower_bound_from;
    use proptest::prelude::*;

    proptest! {
        /// The guided search finds what a plain binary search finds, from
        /// any starting guess (in or out of range).
        #[test]
        fn lower_bound_from_any_guess(
            mut keys in prop::collection::vec(-20i64..20, 0..140),
            s in -22i64..22,
            guess in 0usize..200,
        ) {
            keys.sort_unstable();
            prop_assert_eq!(
                lower_bound_from(&keys, s, guess),
                keys.partition_point(|&k| k < s)
            );
        }
    }
}
