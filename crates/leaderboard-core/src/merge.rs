//! Merging per-partition results into board-wide answers.
//!
//! These are the pieces a distributed deployment needs when partitions live
//! on different nodes: each node answers for its partitions (top n,
//! entries after a cursor, count above a key) and the caller combines:
//!
//! - global rank of a key = 1 + sum over partitions of entries above it
//!   ([`global_rank`]);
//! - global top n / page = k-way merge of each partition's sorted run,
//!   truncated to n ([`kway`]); every partition must contribute its own
//!   best n, since all n winners may come from one partition.
//!
//! ```
//! use leaderboard_core::{merge, Entry, Order, RankStyle};
//! // two nodes each answered with their partition's best 2 and the
//! // number of entries above "c"'s key
//! let runs = vec![
//!     vec![Entry::new("a", 9, 0), Entry::new("c", 4, 0)],
//!     vec![Entry::new("b", 7, 0), Entry::new("d", 1, 0)],
//! ];
//! let top = merge::assign_ranks(merge::kway(runs, Order::HighFirst, 3), 1, 1, RankStyle::Ordinal);
//! assert_eq!(top[2].entry.member, "c");
//! assert_eq!(merge::global_rank([1, 1]), 3); // rank of "c"
//! ```

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::{Entry, Order, Partition, RankStyle, RankedEntry};

/// `1 + sum(counts_above)`: a key's global rank from each partition's
/// count of entries ranking above it.
///
/// ```
/// assert_eq!(leaderboard_core::merge::global_rank([3, 0, 2]), 6);
/// ```
pub fn global_rank(counts_above: impl IntoIterator<Item = u64>) -> u64 {
    1 + counts_above.into_iter().sum::<u64>()
}

struct Head<'a> {
    entry: &'a Entry,
    run: usize,
    idx: usize,
    order: Order,
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head<'_> {}
impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head<'_> {
    /// Reversed so the max-heap pops the best-ranked entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.entry;
        let b = other.entry;
        crate::key::compare_parts(
            self.order,
            (b.score, b.subscore.unwrap_or(0), b.at, &b.member),
            (a.score, a.subscore.unwrap_or(0), a.at, &a.member),
        )
    }
}

/// K-way merge of runs that are each sorted best-first, keeping the best
/// `limit` entries. O(limit * log(runs)).
///
/// ```
/// use leaderboard_core::{merge::kway, Entry, Order};
/// let a = vec![Entry::new("a", 9, 0), Entry::new("c", 5, 0)];
/// let b = vec![Entry::new("b", 7, 0)];
/// let top: Vec<_> = kway(vec![a, b], Order::HighFirst, 2).into_iter().map(|e| e.member).collect();
/// assert_eq!(top, ["a", "b"]);
/// ```
pub fn kway(runs: Vec<Vec<Entry>>, order: Order, limit: usize) -> Vec<Entry> {
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (run, r) in runs.iter().enumerate() {
        if let Some(entry) = r.first() {
            heap.push(Head {
                entry,
                run,
                idx: 0,
                order,
            });
        }
    }
    let mut picked: Vec<(usize, usize)> =
        Vec::with_capacity(limit.min(runs.iter().map(Vec::len).sum()));
    while picked.len() < limit {
        let Some(h) = heap.pop() else { break };
        picked.push((h.run, h.idx));
        if let Some(entry) = runs[h.run].get(h.idx + 1) {
            heap.push(Head {
                entry,
                run: h.run,
                idx: h.idx + 1,
                order,
            });
        }
    }
    drop(heap);
    let mut runs: Vec<Vec<Option<Entry>>> = runs
        .into_iter()
        .map(|r| r.into_iter().map(Some).collect())
        .collect();
    picked
        .into_iter()
        .map(|(r, i)| runs[r][i].take().expect("each entry is picked once"))
        .collect()
}

/// Numbers a best-first run of entries. `first_ordinal` is the ordinal
/// rank of the first entry; `first_rank` its rank in `style` (equal to
/// `first_ordinal` for ordinal ranks; for competition ranks the caller
/// computes it, since ties may start before the run).
///
/// ```
/// use leaderboard_core::{merge::assign_ranks, Entry, RankStyle};
/// let run = vec![Entry::new("a", 9, 0), Entry::new("b", 9, 1), Entry::new("c", 5, 0)];
/// let ranks: Vec<_> = assign_ranks(run, 1, 1, RankStyle::Competition).iter().map(|r| r.rank).collect();
/// assert_eq!(ranks, [1, 1, 3]);
/// ```
pub fn assign_ranks(
    entries: Vec<Entry>,
    first_ordinal: u64,
    first_rank: u64,
    style: RankStyle,
) -> Vec<RankedEntry> {
    let mut out: Vec<RankedEntry> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let ordinal = first_ordinal + i as u64;
        let rank = match (style, out.last()) {
            (RankStyle::Ordinal, _) => ordinal,
            (RankStyle::Competition, None) => first_rank,
            (RankStyle::Competition, Some(prev)) => {
                let p = &prev.entry;
                if p.score == entry.score && p.subscore.unwrap_or(0) == entry.subscore.unwrap_or(0)
                {
                    prev.rank
                } else {
                    ordinal
                }
            }
        };
        out.push(RankedEntry { rank, entry });
    }
    out
}

/// Top `n` across partitions: each partition's top `n` extracted on the
/// rayon pool, then [`kway`]-merged. Pays off for large `n * partitions`;
/// for small ones the board merges lazily on the calling thread instead.
///
/// ```
/// use leaderboard_core::{merge::parallel_top, BoardConfig, Order, Partition, Write};
/// let cfg = BoardConfig::default();
/// let mut a = Partition::new(Order::HighFirst, Default::default());
/// let mut b = Partition::new(Order::HighFirst, Default::default());
/// a.write(&Write::new("x", 1, 0), &cfg).unwrap();
/// b.write(&Write::new("y", 2, 0), &cfg).unwrap();
/// let top = parallel_top(&[&a, &b], 1);
/// assert_eq!(top[0].member, "y");
/// ```
pub fn parallel_top(partitions: &[&Partition], n: usize) -> Vec<Entry> {
    let Some(first) = partitions.first() else {
        return Vec::new();
    };
    let order = first.order();
    let runs: Vec<Vec<Entry>> = partitions.par_iter().map(|p| p.top(n)).collect();
    kway(runs, order, n)
}
