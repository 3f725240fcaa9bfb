//! A cached top N per window, invalidated only by writes that reach it.
//!
//! A live quiz reads the top of the board far more often than the top
//! changes: most writes move members far below it. So the last `top(n)`
//! answer (n up to [`TOP_CACHE_MAX`]) is kept with the key of its last
//! entry (the *boundary*), and a write invalidates it only if the
//! member's old or new key ranks at or above the boundary.
//!
//! Correctness rests on lock order. Writers check the cache while still
//! holding their partition's write lock, after changing it; readers fill
//! the cache while holding every partition's read lock. So a fill never
//! races a write (they exclude each other), and a write is invalidated
//! before any reader can see its result through the partitions. A reader
//! that hits the cache during a write sees the state before that write,
//! which is a valid answer for a read concurrent with it.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::key::compare_parts;
use crate::partition::{KeyParts, entry_parts};
use crate::{Entry, Order, RankedEntry, SortKey};

/// Largest `n` whose `top(n)` answer is cached (bounds the memory).
pub(crate) const TOP_CACHE_MAX: usize = 1024;

struct Cached {
    n: usize,
    entries: Vec<RankedEntry>,
    /// Key of the last entry, or `None` when the board had fewer than
    /// `n` entries (then any change invalidates).
    boundary: Option<SortKey>,
}

#[derive(Default)]
pub(crate) struct TopCache {
    /// Fast path for writers: whether `cached` may be `Some`.
    live: AtomicBool,
    cached: Mutex<Option<Cached>>,
}

impl TopCache {
    /// The cached answer for `top(n)`, if it covers `n`.
    pub fn get(&self, n: usize) -> Option<Vec<RankedEntry>> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let c = self.cached.lock();
        let c = c.as_ref()?;
        (n <= c.n || c.boundary.is_none()).then(|| c.entries[..n.min(c.entries.len())].to_vec())
    }

    /// Stores `top(n)`; the caller holds every partition's read lock.
    pub fn fill(&self, n: usize, entries: &[RankedEntry]) {
        if n > TOP_CACHE_MAX {
            return;
        }
        let boundary = (entries.len() == n)
            .then(|| entries.last().map(|r| r.entry.sort_key()))
            .flatten();
        let mut c = self.cached.lock();
        if c.as_ref().is_some_and(|c| c.n >= n) {
            return;
        }
        *c = Some(Cached {
            n,
            entries: entries.to_vec(),
            boundary: if n == 0 { None } else { boundary },
        });
        self.live.store(true, Ordering::Release);
    }

    /// Called by every write that changed an entry, under the partition's
    /// write lock, with the member's entry before and after (`None` for
    /// absent).
    pub fn on_change(&self, order: Order, old: Option<&Entry>, new: Option<&Entry>) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        self.on_change_parts(order, old.map(entry_parts), new.map(entry_parts));
    }

    /// [`TopCache::on_change`] with the keys' parts (score, subscore or 0,
    /// time, member) instead of entries.
    pub fn on_change_parts(
        &self,
        order: Order,
        old: Option<KeyParts<'_>>,
        new: Option<KeyParts<'_>>,
    ) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let mut c = self.cached.lock();
        let Some(cached) = c.as_ref() else { return };
        let reaches = match &cached.boundary {
            None => true,
            Some(b) => [old, new]
                .into_iter()
                .flatten()
                .any(|k| compare_parts(order, k, (b.score, b.subscore, b.at, &b.member)).is_le()),
        };
        if reaches {
            *c = None;
            self.live.store(false, Ordering::Release);
        }
    }

    /// Drops the cached answer (bulk loads).
    pub fn clear(&self) {
        *self.cached.lock() = None;
        self.live.store(false, Ordering::Release);
    }
}
