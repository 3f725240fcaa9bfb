//! The write path for callers that read no outcome ([`Partition::apply_batch`],
//! [`crate::Board::apply`], [`crate::Board::apply_batch`]).
//!
//! [`Partition::write_local`] returns the old and new [`crate::Entry`] with
//! their positions, which costs two `String`s, a metadata copy, a boxed
//! outcome and, for unchanged entries, a tree descent, all dropped right
//! away by a caller that only wants "applied or not". This path applies
//! the same rules ([`super::next_score`], the same metadata rules, the
//! same tree and slab steps) straight from the record, allocating
//! nothing, and reports a change only as borrowed key parts (what the
//! top-N cache needs). Writes with an op id still take the general path:
//! the op-id memory stores their full outcome.

use super::{KeyParts, LocalWrite, Partition, entry_parts, next_score, orient, probe};
use crate::{BoardConfig, Result, Write, member_hash};

impl Partition {
    /// Applies `w` like [`Partition::write_local`] at op-id time `now`;
    /// returns whether it was applied (`false` for a remembered op id) and
    /// calls `on_change` with the member's key before (`None` if new) and
    /// after when the stored entry changed (metadata included).
    pub(crate) fn write_quiet(
        &mut self,
        w: &Write,
        cfg: &BoardConfig,
        now: i64,
        on_change: &mut impl FnMut(Option<KeyParts<'_>>, KeyParts<'_>),
    ) -> Result<bool> {
        if w.op_id.is_some() {
            return Ok(match self.write_local(w, cfg, now)? {
                LocalWrite::Duplicate(_) => false,
                LocalWrite::Done(a) => {
                    if a.changed {
                        let old = a.old.as_ref().map(|(e, _)| entry_parts(e));
                        on_change(old, entry_parts(&a.new.0));
                    }
                    true
                }
            });
        }
        w.validate(cfg.max_metadata_bytes)?;
        self.dedupe.observe(now);
        let order = self.order;
        let member = w.member.as_str();
        let hash = member_hash(member);
        let slot = self.slab.find(member, hash);
        let old = slot.map(|s| {
            let r = self.slab.rec(s);
            (r.score, r.has_sub.then_some(r.sub), r.at)
        });
        let op = w.op.unwrap_or(cfg.default_op);
        let Some((score, subscore)) = next_score(old.map(|o| (o.0, o.1)), w, op, order)? else {
            // `Best` that does not improve: nothing changes.
            return Ok(true);
        };
        let new_key = (score, subscore.unwrap_or(0), w.at, member);
        let Some((slot, (old_score, old_sub, old_at))) = slot.zip(old) else {
            let slot = self.slab.insert(member, score, subscore, w.at, hash);
            if let Some(m) = w.metadata.as_ref().filter(|m| !m.is_empty()) {
                self.metadata.insert(slot, m.clone().into_boxed_slice());
            }
            let p = probe(&self.slab, order, score, new_key.1, w.at, member);
            self.tree.insert(orient(order, score), slot, &p);
            on_change(None, new_key);
            return Ok(true);
        };
        let old_key = (old_score, old_sub.unwrap_or(0), old_at, member);
        if old_score == score && old_sub == subscore && old_at == w.at {
            // Same key and record shape: at most the metadata changes.
            let changed = match &w.metadata {
                None => false,
                Some(m) if m.is_empty() => self.metadata.remove(&slot).is_some(),
                Some(m) => {
                    let same = self.metadata.get(&slot).is_some_and(|o| **o == **m);
                    if !same {
                        self.metadata.insert(slot, m.clone().into_boxed_slice());
                    }
                    !same
                }
            };
            if changed {
                on_change(Some(old_key), new_key);
            }
            return Ok(true);
        }
        let p = probe(&self.slab, order, old_score, old_key.1, old_at, member).hinted(slot);
        self.tree
            .remove(&p)
            .expect("an existing member is in the tree");
        let moved = self.slab.set_key(slot, score, subscore, w.at, hash);
        match &w.metadata {
            None => {
                if moved != slot && !self.metadata.is_empty() {
                    if let Some(m) = self.metadata.remove(&slot) {
                        self.metadata.insert(moved, m);
                    }
                }
            }
            Some(m) => {
                if !self.metadata.is_empty() {
                    self.metadata.remove(&slot);
                }
                if !m.is_empty() {
                    self.metadata.insert(moved, m.clone().into_boxed_slice());
                }
            }
        }
        let p = probe(&self.slab, order, score, new_key.1, w.at, member);
        self.tree.insert(orient(order, score), moved, &p);
        on_change(Some(old_key), new_key);
        Ok(true)
    }
}
