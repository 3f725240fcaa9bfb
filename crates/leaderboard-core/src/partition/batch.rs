//! Batches of writes to one partition, software-pipelined.
//!
//! A random write on a large partition waits for about five cache misses
//! in turn: the member's index line, its record, the leaf holding its old
//! key, the leaf where the new key goes, and the records of entries tied
//! with the new key. One at a time, that is most of its cost. A batch
//! knows its next writes, so while write `i` runs, the lines of the
//! writes after it are already being fetched, each stage a few writes
//! ahead of the one that needs its result:
//!
//! ```text
//! write i+8: request the index line         (hash known up front)
//! write i+6: request the candidate records  (index line has arrived)
//! write i+4: look up the old score, predict the new one, descend the
//!            (cache-resident) inner nodes toward both and request the
//!            two leaves
//! write i+2: read the leaves, request the records tied with either key
//! write i:   the write itself, on warm lines
//! ```
//!
//! The stages only read and only request lines: a prediction made stale
//! by an earlier write of the same batch costs a miss, never a wrong
//! result, since the write itself runs the ordinary code path.

use super::{KeyParts, Partition, orient};
use crate::{BoardConfig, Result, Write, WriteOp, member_hash};

/// Partitions smaller than this run batches without prefetching (their
/// lines are mostly in cache anyway).
const PIPELINE_MIN_LEN: usize = 2048;
/// How many writes ahead each stage runs (see the module docs). About
/// one memory latency's worth of work separates consecutive stages.
const AHEAD_INDEX: usize = 8;
const AHEAD_RECORD: usize = 6;
const AHEAD_PATH: usize = 4;
const AHEAD_TIES: usize = 2;

impl Partition {
    /// Applies `writes` in order, each exactly like [`Partition::write`]
    /// (same rules, same op-id memory, a failed write does not stop the
    /// rest), returning per write whether it was applied (`false` for a
    /// remembered op id).
    ///
    /// Faster than one call per write on a large partition: while one
    /// write runs, the cache lines of the next few (index line, record,
    /// the tree leaves of their old and new keys) are already being
    /// fetched, so their memory latencies overlap instead of adding up.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write, WriteOp};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// let ws = [Write::new("a", 5, 0), Write::new("a", 2, 1).op(WriteOp::Incr), Write::new("", 1, 0)];
    /// let out = p.apply_batch(&ws.iter().collect::<Vec<_>>(), &BoardConfig::default());
    /// assert!(out[0].is_ok() && out[1].is_ok() && out[2].is_err());
    /// assert_eq!(p.get("a").unwrap().score, 7);
    /// ```
    pub fn apply_batch(&mut self, writes: &[&Write], cfg: &BoardConfig) -> Vec<Result<bool>> {
        self.write_batch_local(writes, cfg, None, |_, _| ())
    }

    /// [`Partition::apply_batch`] with every write at time `now_ms` of the
    /// op-id clock instead of its own `at` (see [`Partition::write_at`]).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, OpId, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// let w = Write::new("a", 5, 0).op_id(OpId(1));
    /// let out = p.apply_batch_at(&[&w, &w], &BoardConfig::default(), 7_000);
    /// assert_eq!((out[0].as_ref().ok(), out[1].as_ref().ok()), (Some(&true), Some(&false)));
    /// assert_eq!(p.op_id_clock(), 7_000);
    /// ```
    pub fn apply_batch_at(
        &mut self,
        writes: &[&Write],
        cfg: &BoardConfig,
        now_ms: i64,
    ) -> Vec<Result<bool>> {
        self.write_batch_local(writes, cfg, Some(now_ms), |_, _| ())
    }

    /// [`Partition::apply_batch`] at op-id time `now` (each write's own
    /// `at` if `None`), calling `on_change` with the old and new key of
    /// every write that changed an entry (see [`Partition::write_quiet`]).
    pub(crate) fn write_batch_local(
        &mut self,
        writes: &[&Write],
        cfg: &BoardConfig,
        now: Option<i64>,
        mut on_change: impl FnMut(Option<KeyParts<'_>>, KeyParts<'_>),
    ) -> Vec<Result<bool>> {
        let n = writes.len();
        let mut out = Vec::with_capacity(n);
        let pipelined = self.len() >= PIPELINE_MIN_LEN;
        let hashes: Vec<u64> = if pipelined {
            writes.iter().map(|w| member_hash(&w.member)).collect()
        } else {
            Vec::new()
        };
        // Predicted (old, new) oriented scores and the leaves they lead
        // to, filled by the path stage for the ties stage.
        let mut keys: Vec<[Option<(i64, u32)>; 2]> = vec![[None; 2]; hashes.len()];
        // Tick `t` runs stage X for write `t - (AHEAD_INDEX - AHEAD_X)`.
        for t in 0..n + AHEAD_INDEX {
            if pipelined {
                let at = |ahead: usize| (t + ahead).checked_sub(AHEAD_INDEX).filter(|&j| j < n);
                if let Some(j) = at(AHEAD_INDEX) {
                    self.slab.prefetch_index(hashes[j]);
                }
                if let Some(j) = at(AHEAD_RECORD) {
                    self.slab.prefetch_candidates(hashes[j]);
                }
                if let Some(j) = at(AHEAD_PATH) {
                    let (old, new) = self.predict(writes[j], hashes[j], cfg);
                    keys[j] = [old, Some(new)].map(|k| k.map(|s| (s, self.tree.prefetch_path(s))));
                }
                if let Some(j) = at(AHEAD_TIES) {
                    for (s, leaf) in keys[j].iter().flatten() {
                        self.tree
                            .prefetch_ties(*leaf, *s, |slot| self.slab.prefetch(slot));
                    }
                }
            }
            let Some(i) = t.checked_sub(AHEAD_INDEX) else {
                continue;
            };
            let w = writes[i];
            out.push(self.write_quiet(w, cfg, now.unwrap_or(w.at), &mut on_change));
        }
        out
    }

    /// The oriented (old, new) scores `w` will likely remove and insert,
    /// as of now: a hint for prefetching, not a decision.
    fn predict(&self, w: &Write, hash: u64, cfg: &BoardConfig) -> (Option<i64>, i64) {
        let old = self
            .slab
            .find(&w.member, hash)
            .map(|s| self.slab.rec(s).score);
        let new = match (w.op.unwrap_or(cfg.default_op), old) {
            (WriteOp::Incr, Some(o)) => o.saturating_add(w.score),
            (WriteOp::Decr, Some(o)) => o.saturating_sub(w.score),
            (WriteOp::Decr, None) => 0i64.saturating_sub(w.score),
            _ => w.score,
        };
        (old.map(|o| orient(self.order, o)), orient(self.order, new))
    }
}
