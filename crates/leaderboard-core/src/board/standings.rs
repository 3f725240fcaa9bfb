//! The standings of one time window: `P` locked partitions.

use std::sync::Arc;

use parking_lot::{RwLock, RwLockReadGuard};

use super::top_cache::TopCache;
use crate::partition::{Applied, LocalWrite};
use crate::{
    BoardConfig, Entry, Partition, RankStyle, RankedEntry, RemoveOutcome, Result, WindowSpan,
    Write, WriteOutcome, partition_of,
};

/// One window's entries, split into partitions, each behind its own
/// `RwLock` so writers to different partitions never contend and readers
/// never block each other. Obtained from [`crate::Board::standings`]; the
/// board's own query methods read the current window's standings.
///
/// ```
/// use leaderboard_core::{BoardConfig, Leaderboards, Window, Write};
/// let board = Leaderboards::new().create("b", BoardConfig::default()).unwrap();
/// board.write(Write::new("a", 1, 0)).unwrap();
/// let now = board.standings(Window::Current).unwrap();
/// assert_eq!(now.count(), 1);
/// ```
pub struct Standings {
    pub(crate) span: WindowSpan,
    pub(crate) config: Arc<BoardConfig>,
    pub(crate) partitions: Box<[RwLock<Partition>]>,
    /// The last `top(n)` answer, kept until a write reaches it.
    pub(crate) top_cache: TopCache,
}

/// Read access to one partition of a window, from [`Standings::partition`]: dereferences to
/// the [`Partition`]; writers to that partition wait until it is dropped.
///
/// ```
/// use leaderboard_core::{Board, Window, Write};
/// let board = Board::new("b", Default::default()).unwrap();
/// board.write(Write::new("alice", 1, 0)).unwrap();
/// let s = board.standings(Window::Current).unwrap();
/// let p = leaderboard_core::partition_of("alice", board.config().partitions);
/// let guard = s.partition(p).unwrap();
/// assert_eq!(guard.get("alice").unwrap().score, 1);
/// ```
pub struct PartitionReadGuard<'a>(RwLockReadGuard<'a, Partition>);

impl std::ops::Deref for PartitionReadGuard<'_> {
    type Target = Partition;

    fn deref(&self) -> &Partition {
        &self.0
    }
}

impl std::fmt::Debug for PartitionReadGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionReadGuard")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl Standings {
    pub(crate) fn new(span: WindowSpan, config: Arc<BoardConfig>) -> Self {
        let partitions = (0..config.partitions)
            .map(|_| RwLock::new(Partition::new(config.order, config.op_ids)))
            .collect();
        Standings {
            span,
            config,
            partitions,
            top_cache: TopCache::default(),
        }
    }

    /// The time range this window covers.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards, Window, WindowSpan};
    /// let board = Leaderboards::new().create("b", BoardConfig::default()).unwrap();
    /// assert_eq!(board.standings(Window::Current).unwrap().span(), WindowSpan::forever());
    /// ```
    pub fn span(&self) -> WindowSpan {
        self.span
    }

    /// Read-locks every partition in index order: a consistent view.
    pub(crate) fn read_all(&self) -> Vec<RwLockReadGuard<'_, Partition>> {
        self.partitions.iter().map(|p| p.read()).collect()
    }

    /// Read access to one partition (e.g. to snapshot it on its own).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Leaderboards, Window};
    /// let board = Leaderboards::new().create("b", BoardConfig::default()).unwrap();
    /// let s = board.standings(Window::Current).unwrap();
    /// assert_eq!(s.partition(0).unwrap().len(), 0);
    /// assert!(s.partition(99).is_err());
    /// ```
    pub fn partition(&self, index: u16) -> Result<PartitionReadGuard<'_>> {
        self.partitions
            .get(index as usize)
            .map(|p| PartitionReadGuard(p.read()))
            .ok_or(crate::Error::PartitionOutOfRange {
                index,
                partitions: self.config.partitions,
            })
    }

    fn partition_for(&self, member: &str) -> usize {
        partition_of(member, self.config.partitions) as usize
    }

    /// Counts above a key in every partition except `skip`, one lock at a time.
    fn count_above_others(&self, skip: usize, k: (i64, i64, i64, &str)) -> u64 {
        // Read-locks the others in index order (as `with_view` does), so
        // the interleaved descents see one consistent cut of them.
        let guards: Vec<_> = self
            .partitions
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, p)| p.read())
            .collect();
        let parts: Vec<&Partition> = guards.iter().map(|g| &**g).collect();
        match parts.as_slice() {
            [] => 0,
            [p] => p.count_above_parts(k.0, k.1, k.2, k.3) as u64,
            _ => crate::partition::seek_each(&parts, k)
                .iter()
                .map(|&(_, n)| n as u64)
                .sum(),
        }
    }

    /// Applies a write to this window (see [`crate::Board::write`]) at
    /// op-id time `now` (the write's `at` if `None`).
    pub(crate) fn write(&self, w: &Write, now: Option<i64>) -> Result<WriteOutcome> {
        let p = self.partition_for(&w.member);
        let local = self.write_partition(p, w, now.unwrap_or(w.at))?;
        let a = match local {
            LocalWrite::Duplicate(o) => return Ok(o),
            LocalWrite::Done(a) => a,
        };
        let out = self.globalize(p, &a);
        if let Some(id) = w.op_id {
            let mut part = self.partitions[p].write();
            part.remember(id, out.clone());
        }
        Ok(out)
    }

    /// Applies a write to one partition only (see [`crate::Board::apply`])
    /// at op-id time `now` (the write's `at` if `None`).
    pub(crate) fn apply(&self, w: &Write, now: Option<i64>) -> Result<bool> {
        let p = self.partition_for(&w.member);
        let mut part = self.partitions[p].write();
        part.write_quiet(w, &self.config, now.unwrap_or(w.at), &mut |old, new| {
            self.top_cache
                .on_change_parts(self.config.order, old, Some(new));
        })
    }

    /// Applies writes in order without change-feed ranks, one lock per
    /// partition (see [`crate::Board::apply_batch`]), at op-id time `now`
    /// (each write's `at` if `None`). The writes must already be validated
    /// and belong to this window.
    pub(crate) fn apply_batch(&self, writes: &[&Write], now: Option<i64>) -> Vec<Result<bool>> {
        let mut by_part: Vec<Vec<usize>> = vec![Vec::new(); self.partitions.len()];
        for (i, w) in writes.iter().enumerate() {
            by_part[self.partition_for(&w.member)].push(i);
        }
        let mut out: Vec<Option<Result<bool>>> = (0..writes.len()).map(|_| None).collect();
        for (p, idx) in by_part.iter().enumerate() {
            if idx.is_empty() {
                continue;
            }
            let ws: Vec<&Write> = idx.iter().map(|&i| writes[i]).collect();
            let mut part = self.partitions[p].write();
            let results = part.write_batch_local(&ws, &self.config, now, |old, new| {
                self.top_cache
                    .on_change_parts(self.config.order, old, Some(new));
            });
            for (&i, r) in idx.iter().zip(results) {
                out[i] = Some(r);
            }
        }
        out.into_iter()
            .map(|r| r.expect("every write answered"))
            .collect()
    }

    /// The partition write plus the top-N cache check, under one lock.
    fn write_partition(&self, p: usize, w: &Write, now: i64) -> Result<LocalWrite> {
        let mut part = self.partitions[p].write();
        let local = part.write_local(w, &self.config, now)?;
        if let LocalWrite::Done(a) = &local {
            if a.changed {
                let old = a.old.as_ref().map(|(e, _)| e);
                self.top_cache
                    .on_change(self.config.order, old, Some(&a.new.0));
            }
        }
        Ok(local)
    }

    /// Turns partition-local positions into board-wide ranks.
    fn globalize(&self, p: usize, a: &Applied) -> WriteOutcome {
        let style = self.config.rank_style;
        let n = self.config.top_n_watch as u64;
        let key = |e: &Entry| (e.score, e.subscore.unwrap_or(0), e.at, e.member.clone());
        let (ne, npos) = &a.new;
        let nk = key(ne);
        let new_ord = *npos as u64 + self.count_above_others(p, (nk.0, nk.1, nk.2, &nk.3));
        let old = a.old.as_ref().map(|(oe, opos)| {
            let ok = key(oe);
            let ord = if ok == nk {
                new_ord
            } else {
                *opos as u64 + self.count_above_others(p, (ok.0, ok.1, ok.2, &ok.3))
            };
            (oe, ord)
        });
        let rank_of = |e: &Entry, ord: u64, before: bool| -> u64 {
            match style {
                RankStyle::Ordinal => ord + 1,
                RankStyle::Competition => {
                    let mut c = 0;
                    for (i, part) in self.partitions.iter().enumerate() {
                        let part = part.read();
                        c += part.count_above_parts(e.score, e.subscore.unwrap_or(0), i64::MIN, "")
                            as u64;
                        if i == p && before && a.changed {
                            // The old rank is "before the write": discount the
                            // member's new position if it now sits above the
                            // old tie group.
                            let (ns, nsub) = (ne.score, ne.subscore.unwrap_or(0));
                            let above = crate::key::compare_parts(
                                self.config.order,
                                (ns, nsub, ne.at, &ne.member),
                                (e.score, e.subscore.unwrap_or(0), i64::MIN, ""),
                            )
                            .is_lt();
                            if above {
                                c -= 1;
                            }
                        }
                    }
                    c + 1
                }
            }
        };
        let old_ranked = old.map(|(oe, ord)| RankedEntry {
            rank: rank_of(oe, ord, true),
            entry: oe.clone(),
        });
        WriteOutcome {
            applied: true,
            changed: a.changed,
            top_changed: a.changed && (new_ord < n || old.is_some_and(|(_, o)| o < n)),
            old: old_ranked,
            new: RankedEntry {
                rank: rank_of(ne, new_ord, false),
                entry: ne.clone(),
            },
        }
    }

    /// Removes a member from this window.
    pub(crate) fn remove(&self, member: &str) -> Option<RemoveOutcome> {
        let p = self.partition_for(member);
        let removed = {
            let mut part = self.partitions[p].write();
            let removed = part.remove(member)?;
            self.top_cache
                .on_change(self.config.order, Some(&removed.entry), None);
            removed
        };
        let e = &removed.entry;
        let (sub, style) = (e.subscore.unwrap_or(0), self.config.rank_style);
        let ord = removed.rank - 1 + self.count_above_others(p, (e.score, sub, e.at, &e.member));
        let rank = match style {
            RankStyle::Ordinal => ord + 1,
            RankStyle::Competition => {
                1 + self
                    .partitions
                    .iter()
                    .map(|q| q.read().count_above_parts(e.score, sub, i64::MIN, "") as u64)
                    .sum::<u64>()
            }
        };
        Some(RemoveOutcome {
            top_changed: ord < self.config.top_n_watch as u64,
            removed: RankedEntry {
                rank,
                entry: removed.entry,
            },
        })
    }

    /// Replaces the window's entries (bulk load).
    pub(crate) fn load(&self, entries: Vec<Entry>) -> Result<()> {
        for e in &entries {
            crate::validate_member(&e.member)?;
        }
        let mut per: Vec<Vec<Entry>> = (0..self.partitions.len()).map(|_| Vec::new()).collect();
        for e in entries {
            per[self.partition_for(&e.member)].push(e);
        }
        let mut guards: Vec<_> = self.partitions.iter().map(|p| p.write()).collect();
        let parts: Vec<&mut Partition> = guards.iter_mut().map(|g| &mut **g).collect();
        use rayon::prelude::*;
        parts.into_par_iter().zip(per).for_each(|(p, list)| {
            p.bulk_load(list).expect("members validated above");
        });
        self.top_cache.clear();
        Ok(())
    }

    /// Consistent read view used by the query methods.
    pub(crate) fn with_view<R>(&self, f: impl FnOnce(&[&Partition]) -> R) -> R {
        /// Up to this many partitions, the guards live on the stack (a
        /// rank at 1M members costs ~1 µs; two allocations were ~5% of it).
        const ON_STACK: usize = 16;
        let n = self.partitions.len();
        if (1..=ON_STACK).contains(&n) {
            let guards: [Option<RwLockReadGuard<'_, Partition>>; ON_STACK] =
                std::array::from_fn(|i| self.partitions.get(i).map(|p| p.read()));
            let parts: [&Partition; ON_STACK] = std::array::from_fn(|i| {
                &**guards[i.min(n - 1)]
                    .as_ref()
                    .expect("the first n partitions are locked")
            });
            return f(&parts[..n]);
        }
        let guards = self.read_all();
        let parts: Vec<&Partition> = guards.iter().map(|g| &**g).collect();
        f(&parts)
    }
}

impl std::fmt::Debug for Standings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standings")
            .field("span", &self.span)
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}
