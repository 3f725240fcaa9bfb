//! Board-wide reads over a consistent set of locked partitions.
//!
//! Every function takes `&[&Partition]`: the caller read-locks all
//! partitions of a window once (in index order), so a listing never mixes
//! states from before and after one write.

use crate::key::compare_parts;
use crate::merge::assign_ranks;
use crate::partition::{Pos, seek_each, seek_each_hinted};
use crate::{Entry, Order, Partition, RankStyle, RankedEntry, SortKey};

/// Entries of all partitions ranking strictly above the given key parts.
pub(crate) fn count_above(parts: &[&Partition], k: (i64, i64, i64, &str)) -> u64 {
    if let [p] = parts {
        return p.count_above_parts(k.0, k.1, k.2, k.3) as u64;
    }
    seek_each(parts, k).iter().map(|&(_, n)| n as u64).sum()
}

/// Global rank of a key in `style`.
pub(crate) fn rank_of(parts: &[&Partition], key: &SortKey, style: RankStyle) -> u64 {
    1 + match style {
        RankStyle::Ordinal => count_above(parts, (key.score, key.subscore, key.at, &key.member)),
        RankStyle::Competition => count_above(parts, (key.score, key.subscore, i64::MIN, "")),
    }
}

fn order_of(parts: &[&Partition]) -> Order {
    parts.first().map_or(Order::HighFirst, |p| p.order())
}

type Parts<'a> = (i64, i64, i64, &'a str);

/// Lazy k-way merge from per-partition start positions, forward (rank
/// order) or backward (nearest first). Each head's key is read from the
/// slab once per step, so a step costs one record access plus `P`
/// in-cache comparisons. Returns the entries and whether any remain.
fn merge_lazy(
    parts: &[&Partition],
    heads: Vec<Option<Pos>>,
    limit: usize,
    forward: bool,
) -> (Vec<Entry>, bool) {
    let order = order_of(parts);
    let mut heads: Vec<Option<(Pos, Parts<'_>)>> = heads
        .into_iter()
        .zip(parts)
        .map(|(h, p)| h.map(|pos| (pos, p.parts_at(pos))))
        .collect();
    let mut out = Vec::with_capacity(limit.min(1024));
    while out.len() < limit {
        let mut best: Option<(usize, Parts<'_>)> = None;
        for (i, h) in heads.iter().enumerate() {
            if let Some((_, k)) = h {
                let better = match best {
                    None => true,
                    Some((_, b)) => {
                        let c = compare_parts(order, *k, b);
                        if forward { c.is_lt() } else { c.is_gt() }
                    }
                };
                if better {
                    best = Some((i, *k));
                }
            }
        }
        let Some((b, _)) = best else { break };
        let (pos, _) = heads[b].expect("head");
        out.push(parts[b].entry_at(pos));
        let next = if forward {
            parts[b].next_pos(pos)
        } else {
            parts[b].prev_pos(pos)
        };
        heads[b] = next.map(|p| (p, parts[b].parts_at(p)));
    }
    (out, heads.iter().any(Option::is_some))
}

/// Lazy k-way merge forward from per-partition start positions. Returns
/// the entries and whether any remain after them.
pub(crate) fn merge_forward(
    parts: &[&Partition],
    heads: Vec<Option<Pos>>,
    limit: usize,
) -> (Vec<Entry>, bool) {
    merge_lazy(parts, heads, limit, true)
}

/// Lazy merge backward: up to `limit` entries before the heads, nearest first.
pub(crate) fn merge_backward(
    parts: &[&Partition],
    heads: Vec<Option<Pos>>,
    limit: usize,
) -> Vec<Entry> {
    merge_lazy(parts, heads, limit, false).0
}

/// Global rank in `style` of a member's borrowed key parts; `own` is the
/// member's partition index and slot (its ties there need no record reads).
pub(crate) fn rank_of_parts(
    parts: &[&Partition],
    k: Parts<'_>,
    own: (usize, u32),
    style: RankStyle,
) -> u64 {
    1 + match style {
        RankStyle::Ordinal => match parts {
            [p] => p.count_above_own(k, own.1) as u64,
            _ => seek_each_hinted(parts, k, Some(own))
                .iter()
                .map(|&(_, n)| n as u64)
                .sum(),
        },
        RankStyle::Competition => count_above(parts, (k.0, k.1, i64::MIN, "")),
    }
}

/// Ranks a run whose first entry has global ordinal rank `first_ordinal`.
pub(crate) fn rank_run(
    parts: &[&Partition],
    run: Vec<Entry>,
    first_ordinal: u64,
    style: RankStyle,
) -> Vec<RankedEntry> {
    let first_rank = match (style, run.first()) {
        (RankStyle::Competition, Some(e)) => rank_of(parts, &e.sort_key(), style),
        _ => first_ordinal,
    };
    assign_ranks(run, first_ordinal, first_rank, style)
}

/// Per-partition start indexes of the entry at global 0-based `offset`:
/// a vector `s` with `sum(s) == offset` such that every entry before the
/// starts ranks above every entry at or after them. `None` past the end.
///
/// Bisects on pivots taken from the partition with the widest candidate
/// range; each step costs one count per partition, and the widest range
/// halves, so it takes O(P log n) steps.
pub(crate) fn select_starts(parts: &[&Partition], offset: u64) -> Option<Vec<usize>> {
    let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
    if offset >= total {
        return None;
    }
    let mut lo = vec![0usize; parts.len()];
    let mut hi: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    let mut counts = vec![0usize; parts.len()];
    loop {
        let (q, width) = (0..parts.len())
            .map(|i| (i, hi[i] - lo[i]))
            .max_by_key(|&(_, w)| w)
            .expect("partitions");
        if width == 0 {
            return Some(lo);
        }
        let m = lo[q] + width / 2;
        let k = parts[q].parts_at(parts[q].pos_at(m).expect("index in range"));
        for (i, (_, n)) in seek_each(parts, k).into_iter().enumerate() {
            counts[i] = if i == q { m } else { n };
        }
        let less: u64 = counts.iter().map(|&c| c as u64).sum();
        if less == offset {
            return Some(counts);
        }
        if less < offset {
            for i in 0..parts.len() {
                lo[i] = lo[i].max(counts[i]);
            }
            lo[q] = m + 1;
        } else {
            for i in 0..parts.len() {
                hi[i] = hi[i].min(counts[i]);
            }
        }
    }
}
