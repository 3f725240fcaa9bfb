//! Read queries, on one window's [`Standings`] and (for the current
//! window) directly on the [`Board`].

use rayon::prelude::*;

use super::Standings;
use super::view::{self, merge_backward, merge_forward, rank_run, select_starts};
use crate::partition::seek_each;
use crate::{Cursor, Fanout, Page, RankStyle, RankedEntry, member_hash, partition_of_hash};

/// `top` fans out to the rayon pool from this many candidate entries
/// (`n * partitions`); below it the thread hand-off costs more than the
/// merge (measured in `docs/PERFORMANCE.md`).
///
/// ```
/// use leaderboard_core::PARALLEL_TOP_THRESHOLD;
/// // top(100) on 8 partitions merges on the calling thread
/// assert!(100 * 8 < PARALLEL_TOP_THRESHOLD);
/// ```
pub const PARALLEL_TOP_THRESHOLD: usize = 16_384;

/// Most neighbour records per partition and direction that `around`
/// requests ahead of its merge.
const PREFETCH_RUN: usize = 16;

impl Standings {
    /// Number of entries.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.standings(Default::default()).unwrap().count(), 1);
    /// ```
    pub fn count(&self) -> u64 {
        self.partitions.iter().map(|p| p.read().len() as u64).sum()
    }

    /// The member's entry and rank (board's rank style).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.standings(Default::default()).unwrap().entry("a").unwrap().rank, 1);
    /// ```
    pub fn entry(&self, member: &str) -> Option<crate::RankedEntry> {
        let style = self.config.rank_style;
        self.with_view(|parts| {
            let h = member_hash(member);
            let e = parts[partition_of_hash(h, self.config.partitions) as usize].get(member)?;
            Some(RankedEntry {
                rank: view::rank_of(parts, &e.sort_key(), style),
                entry: e,
            })
        })
    }

    /// The member's rank in `style`.
    ///
    /// ```
    /// use leaderboard_core::{Board, RankStyle, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// b.write(Write::new("b", 1, 1)).unwrap();
    /// let s = b.standings(Default::default()).unwrap();
    /// assert_eq!(s.rank("b", RankStyle::Ordinal), Some(2));
    /// assert_eq!(s.rank("b", RankStyle::Competition), Some(1));
    /// ```
    pub fn rank(&self, member: &str, style: RankStyle) -> Option<u64> {
        self.with_view(|parts| {
            let q = partition_of_hash(member_hash(member), self.config.partitions) as usize;
            let (k, slot) = parts[q].parts_of(member)?;
            Some(view::rank_of_parts(parts, k, (q, slot), style))
        })
    }

    /// Ranks of many members in one consistent read (`None` for absent ones).
    ///
    /// ```
    /// use leaderboard_core::{Board, RankStyle, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// let s = b.standings(Default::default()).unwrap();
    /// assert_eq!(s.ranks(&["a", "zz"], RankStyle::Ordinal), vec![Some(1), None]);
    /// ```
    pub fn ranks<S: AsRef<str> + Sync>(&self, members: &[S], style: RankStyle) -> Vec<Option<u64>> {
        let p = self.config.partitions;
        self.with_view(|parts| {
            let one = |m: &S| {
                let m = m.as_ref();
                let q = partition_of_hash(member_hash(m), p) as usize;
                let (k, slot) = parts[q].parts_of(m)?;
                Some(view::rank_of_parts(parts, k, (q, slot), style))
            };
            if members.len() >= 256 {
                members.par_iter().map(one).collect()
            } else {
                members.iter().map(one).collect()
            }
        })
    }

    /// The best `n` entries, ranked (see [`Standings::top_with`]).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// assert_eq!(b.standings(Default::default()).unwrap().top(10).len(), 1);
    /// ```
    pub fn top(&self, n: usize) -> Vec<RankedEntry> {
        self.top_with(n, Fanout::Auto)
    }

    /// The best `n` entries: a k-way merge of each partition's top `n`,
    /// on the calling thread (lazy, materialising only the winners) or
    /// extracted in parallel on the rayon pool. With [`Fanout::Auto`]
    /// (what [`Standings::top`] uses) the answer for `n <= 1024` is cached
    /// until a write reaches it (see the crate docs).
    ///
    /// ```
    /// use leaderboard_core::{Board, Fanout, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..50 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let s = b.standings(Default::default()).unwrap();
    /// assert_eq!(s.top_with(5, Fanout::Parallel), s.top_with(5, Fanout::Sequential));
    /// ```
    pub fn top_with(&self, n: usize, fanout: Fanout) -> Vec<RankedEntry> {
        let style = self.config.rank_style;
        let cache = fanout == Fanout::Auto;
        if cache {
            if let Some(hit) = self.top_cache.get(n) {
                return hit;
            }
        }
        self.with_view(|parts| {
            let parallel = match fanout {
                Fanout::Parallel => true,
                Fanout::Sequential => false,
                Fanout::Auto => {
                    n.saturating_mul(parts.len()) >= PARALLEL_TOP_THRESHOLD && parts.len() > 1
                }
            };
            let run = if parallel {
                crate::merge::parallel_top(parts, n)
            } else {
                let heads = parts.iter().map(|p| p.pos_at(0)).collect();
                merge_forward(parts, heads, n).0
            };
            let out = rank_run(parts, run, 1, style);
            if cache {
                // Still under every partition's read lock: no write can
                // slip between this answer and its caching.
                self.top_cache.fill(n, &out);
            }
            out
        })
    }

    /// `limit` entries starting at 0-based rank `offset` (offset 0 = top).
    /// Costs O(P² log n) to locate the offset; prefer
    /// [`Standings::page_after`] for scrolling.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..10 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let page = b.standings(Default::default()).unwrap().page(3, 2);
    /// assert_eq!((page[0].rank, page[0].entry.member.as_str()), (4, "m6"));
    /// ```
    pub fn page(&self, offset: u64, limit: usize) -> Vec<RankedEntry> {
        let style = self.config.rank_style;
        self.with_view(|parts| {
            let Some(starts) = select_starts(parts, offset) else {
                return Vec::new();
            };
            let heads = parts
                .iter()
                .zip(&starts)
                .map(|(p, &s)| p.pos_at(s))
                .collect();
            let (run, _) = merge_forward(parts, heads, limit);
            rank_run(parts, run, offset + 1, style)
        })
    }

    /// Up to `limit` entries ranking after `cursor` (from the top if
    /// `None`), plus the cursor of the next page. Cursors stay valid across
    /// writes (they are positions in the order, not offsets).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..5 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let s = b.standings(Default::default()).unwrap();
    /// let p1 = s.page_after(None, 3);
    /// let p2 = s.page_after(p1.next_cursor.as_ref(), 3);
    /// assert_eq!((p2.entries.len(), p2.entries[0].rank), (2, 4));
    /// ```
    pub fn page_after(&self, cursor: Option<&Cursor>, limit: usize) -> Page {
        let style = self.config.rank_style;
        self.with_view(|parts| {
            let key = cursor.map(Cursor::key);
            let heads = parts.iter().map(|p| p.seek_after(key)).collect();
            let (run, more) = merge_forward(parts, heads, limit);
            let first_ordinal = match run.first() {
                Some(e) => view::rank_of(parts, &e.sort_key(), RankStyle::Ordinal),
                None => 1,
            };
            let next_cursor = if more && !run.is_empty() {
                run.last().map(|e| Cursor::from_key(e.sort_key()))
            } else {
                None
            };
            Page {
                entries: rank_run(parts, run, first_ordinal, style),
                next_cursor,
            }
        })
    }

    /// The member with up to `above` entries ranking just above it and up
    /// to `below` just below, in rank order (`None` if absent).
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..10 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let s = b.standings(Default::default()).unwrap();
    /// let near: Vec<_> = s.around("m5", 1, 2).unwrap().into_iter().map(|r| r.rank).collect();
    /// assert_eq!(near, [4, 5, 6, 7]);
    /// ```
    pub fn around(&self, member: &str, above: usize, below: usize) -> Option<Vec<RankedEntry>> {
        let style = self.config.rank_style;
        let p = self.config.partitions;
        self.with_view(|parts| {
            let q = partition_of_hash(member_hash(member), p) as usize;
            let own = parts[q].get(member)?;
            let k = (
                own.score,
                own.subscore.unwrap_or(0),
                own.at,
                own.member.as_str(),
            );
            // One interleaved descent per partition gives both the rank and
            // where the neighbours start: in the member's own partition the
            // seek lands on the member, elsewhere on the first entry below.
            let seeks = seek_each(parts, k);
            let ordinal = 1 + seeks.iter().map(|&(_, n)| n as u64).sum::<u64>();
            let before = seeks
                .iter()
                .zip(parts)
                .map(|(&(pos, n), part)| match pos {
                    Some(pos) => part.prev_pos(pos),
                    None if n > 0 => part.last_pos(),
                    None => None,
                })
                .collect();
            let after = seeks
                .iter()
                .enumerate()
                .map(|(i, &(pos, _))| {
                    if i == q {
                        pos.and_then(|pos| parts[i].next_pos(pos))
                    } else {
                        pos
                    }
                })
                .collect();
            let before: Vec<_> = before;
            let after: Vec<_> = after;
            // About n/P neighbours come from each partition; request twice
            // that (a few wasted lines cost less than waiting for misses).
            let share = |n: usize| (2 * n).div_ceil(parts.len()).min(n).min(PREFETCH_RUN);
            for (i, part) in parts.iter().enumerate() {
                part.prefetch_run(before[i], share(above), false);
                part.prefetch_run(after[i], share(below), true);
            }
            let mut run = merge_backward(parts, before, above);
            run.reverse();
            let first_ordinal = ordinal - run.len() as u64;
            run.push(own);
            let (after, _) = merge_forward(parts, after, below);
            run.extend(after);
            Some(rank_run(parts, run, first_ordinal, style))
        })
    }

    /// Share of entries (in %) that rank at or below the member: 100 for
    /// the leader, `100 / count` for the last.
    ///
    /// ```
    /// use leaderboard_core::{Board, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..4 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let s = b.standings(Default::default()).unwrap();
    /// assert_eq!(s.percentile("m3"), Some(100.0));
    /// assert_eq!(s.percentile("m0"), Some(25.0));
    /// ```
    pub fn percentile(&self, member: &str) -> Option<f64> {
        let p = self.config.partitions;
        self.with_view(|parts| {
            let q = partition_of_hash(member_hash(member), p) as usize;
            let (k, slot) = parts[q].parts_of(member)?;
            let rank = view::rank_of_parts(parts, k, (q, slot), RankStyle::Ordinal);
            let count: u64 = parts.iter().map(|p| p.len() as u64).sum();
            Some(100.0 * (count - rank + 1) as f64 / count as f64)
        })
    }

    /// Memory held by this window, by kind.
    ///
    /// ```
    /// use leaderboard_core::Board;
    /// let b = Board::new("b", Default::default()).unwrap();
    /// assert_eq!(b.standings(Default::default()).unwrap().memory().entries, 0);
    /// ```
    pub fn memory(&self) -> crate::MemoryUsage {
        self.partitions
            .iter()
            .fold(crate::MemoryUsage::default(), |acc, p| {
                acc.add(&p.read().memory())
            })
    }
}
