//! One score partition: an order-statistic index over its members.
//!
//! A [`Partition`] is the unit a distributed deployment places on a node
//! (one Raft state machine can hold many). It owns everything about its
//! members: the slab (member -> slot, current values), the B+tree (rank
//! order), the metadata side table and the op-id memory. A [`crate::Board`]
//! is `P` partitions plus the merge; a shard cluster can hold partitions on
//! different nodes and merge with [`crate::merge`] itself.

mod arena;
mod batch;
mod dedupe;
mod huge;
mod index;
mod query;
mod quiet;
mod slab;
mod state;
#[cfg(test)]
mod tests;
mod tree;

use std::cmp::Ordering;

use hashbrown::HashMap;

use crate::{
    BoardConfig, Entry, Error, OpId, OpIdPolicy, Order, RankStyle, RankedEntry, Result, SortKey,
    Write, WriteOp, WriteOutcome, member_hash,
};
use dedupe::Dedupe;
use slab::Slab;
pub(crate) use tree::Pos;
use tree::{Descent, Probe, Tree};

pub use dedupe::OpIdStats;
pub(crate) use dedupe::{NO_TIME, RememberedOp};
pub use query::MemoryUsage;
pub(crate) use state::{PartitionLoader, PartitionState, PartitionStateV1};

/// One partition's order-statistic index (see the module docs).
///
/// Ranks reported by a partition are *local*: 1 + the number of entries of
/// this partition that rank above. The global rank of a member of a board
/// is its local rank plus the [`Partition::count_above`] of every other
/// partition ([`crate::merge::global_rank`]).
///
/// ```
/// use leaderboard_core::{BoardConfig, Order, Partition, Write};
/// let cfg = BoardConfig::default();
/// let mut p = Partition::new(Order::HighFirst, Default::default());
/// p.write(&Write::new("alice", 10, 0), &cfg).unwrap();
/// p.write(&Write::new("bob", 20, 0), &cfg).unwrap();
/// assert_eq!(p.len(), 2);
/// assert_eq!(p.top(1)[0].member, "bob");
/// ```
pub struct Partition {
    order: Order,
    slab: Slab,
    tree: Tree,
    /// Metadata only for members that have some (most have none).
    metadata: HashMap<u32, Box<[u8]>>,
    dedupe: Dedupe,
}

/// A sort key's parts (score, subscore, time, member id), borrowed.
pub(crate) type KeyParts<'a> = (i64, i64, i64, &'a str);

/// An entry's key parts (a missing subscore is 0).
pub(crate) fn entry_parts(e: &Entry) -> KeyParts<'_> {
    (e.score, e.subscore.unwrap_or(0), e.at, &e.member)
}

/// Maps a score so that ascending tree order is rank order.
#[inline]
fn orient(order: Order, x: i64) -> i64 {
    match order {
        Order::HighFirst => !x,
        Order::LowFirst => x,
    }
}

/// A full key looked up in the tree; ties on score compare via the slab.
struct KeyProbe<'a> {
    s: i64,
    sub: i64,
    at: i64,
    member: &'a str,
    slab: &'a Slab,
    order: Order,
    /// The slot holding exactly this key, when known (see [`Probe::slot_hint`]).
    hint: Option<u32>,
}

impl KeyProbe<'_> {
    /// The same probe, knowing the key is the entry in `slot`.
    fn hinted(self, slot: u32) -> Self {
        KeyProbe {
            hint: Some(slot),
            ..self
        }
    }
}

impl Probe for KeyProbe<'_> {
    #[inline]
    fn score(&self) -> i64 {
        self.s
    }

    #[inline]
    fn slot_hint(&self) -> Option<u32> {
        self.hint
    }

    #[inline]
    fn prefetch_tail(&self, slot: u32) {
        self.slab.prefetch(slot);
    }

    #[inline]
    fn tail_cmp(&self, slot: u32) -> Ordering {
        if self.hint == Some(slot) {
            return Ordering::Equal;
        }
        let r = self.slab.rec(slot);
        self.sub
            .cmp(&orient(self.order, r.sub))
            .then(self.at.cmp(&r.at))
            .then_with(|| self.member.as_bytes().cmp(r.member.as_bytes()))
    }
}

fn probe<'a>(
    slab: &'a Slab,
    order: Order,
    score: i64,
    sub: i64,
    at: i64,
    member: &'a str,
) -> KeyProbe<'a> {
    KeyProbe {
        s: orient(order, score),
        sub: orient(order, sub),
        at,
        member,
        slab,
        order,
        hint: None,
    }
}

/// [`probe`] for a stored entry's key.
fn entry_probe<'a>(slab: &'a Slab, order: Order, e: &'a Entry) -> KeyProbe<'a> {
    probe(
        slab,
        order,
        e.score,
        e.subscore.unwrap_or(0),
        e.at,
        &e.member,
    )
}

/// Result of a write inside one partition, with what the board needs to
/// turn local positions into global ranks.
pub(crate) enum LocalWrite {
    /// The op id was seen before: the remembered outcome.
    Duplicate(WriteOutcome),
    /// Applied (or a no-op).
    Done(Box<Applied>),
}

pub(crate) struct Applied {
    pub old: Option<(Entry, usize)>,
    pub new: (Entry, usize),
    pub changed: bool,
}

impl Partition {
    /// An empty partition remembering op ids as `op_ids` says.
    ///
    /// ```
    /// use leaderboard_core::{Order, Partition};
    /// let p = Partition::new(Order::LowFirst, Default::default());
    /// assert!(p.is_empty());
    /// ```
    pub fn new(order: Order, op_ids: OpIdPolicy) -> Self {
        Partition {
            order,
            slab: Slab::default(),
            tree: Tree::default(),
            metadata: HashMap::new(),
            dedupe: Dedupe::new(op_ids),
        }
    }

    /// Size and counters of the op-id memory.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, OpId, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write(&Write::new("a", 1, 0).op_id(OpId(1)), &BoardConfig::default()).unwrap();
    /// assert_eq!(p.op_id_stats().entries, 1);
    /// ```
    pub fn op_id_stats(&self) -> OpIdStats {
        self.dedupe.stats()
    }

    /// The op-id clock: the largest time this partition has been told
    /// (`i64::MIN` before the first), which ages its remembered op ids.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write_at(&Write::new("a", 1, 0), &BoardConfig::default(), 5_000).unwrap();
    /// p.write_at(&Write::new("a", 1, 0), &BoardConfig::default(), 4_000).unwrap();
    /// assert_eq!(p.op_id_clock(), 5_000);
    /// ```
    pub fn op_id_clock(&self) -> i64 {
        self.dedupe.clock()
    }

    /// The partition's rank order.
    ///
    /// ```
    /// use leaderboard_core::{Order, Partition};
    /// assert_eq!(Partition::new(Order::LowFirst, Default::default()).order(), Order::LowFirst);
    /// ```
    pub fn order(&self) -> Order {
        self.order
    }

    /// Number of entries.
    ///
    /// ```
    /// assert_eq!(leaderboard_core::Partition::new(Default::default(), Default::default()).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether the partition has no entries.
    ///
    /// ```
    /// assert!(leaderboard_core::Partition::new(Default::default(), Default::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot_of(&self, member: &str) -> Option<u32> {
        self.slab.find(member, member_hash(member))
    }

    fn entry_of_slot(&self, slot: u32) -> Entry {
        let r = self.slab.rec(slot);
        Entry {
            member: r.member.to_string(),
            score: r.score,
            subscore: r.has_sub.then_some(r.sub),
            at: r.at,
            metadata: if self.metadata.is_empty() {
                None
            } else {
                self.metadata.get(&slot).map(|m| m.to_vec())
            },
        }
    }

    fn key_of_slot(&self, slot: u32) -> SortKey {
        let r = self.slab.rec(slot);
        SortKey {
            score: r.score,
            subscore: r.sub,
            at: r.at,
            member: r.member.to_string(),
        }
    }

    /// The member's entry, if present.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write(&Write::new("a", 5, 1).subscore(2), &BoardConfig::default()).unwrap();
    /// let e = p.get("a").unwrap();
    /// assert_eq!((e.score, e.subscore, e.at), (5, Some(2), 1));
    /// assert!(p.get("b").is_none());
    /// ```
    pub fn get(&self, member: &str) -> Option<Entry> {
        self.slot_of(member).map(|s| self.entry_of_slot(s))
    }

    /// The member's full sort key, if present.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write(&Write::new("a", 5, 1), &BoardConfig::default()).unwrap();
    /// assert_eq!(p.key_of("a").unwrap().score, 5);
    /// ```
    pub fn key_of(&self, member: &str) -> Option<SortKey> {
        self.slot_of(member).map(|s| self.key_of_slot(s))
    }

    /// Number of entries of this partition ranking strictly above `key`.
    /// `key` need not belong to an entry of this partition.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, SortKey, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 3), ("b", 2), ("c", 1)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// assert_eq!(p.count_above(&SortKey::new(2, 0, 0, "zz")), 2);
    /// assert_eq!(p.count_above(&SortKey::new(9, 0, 0, "x")), 0);
    /// ```
    pub fn count_above(&self, key: &SortKey) -> u64 {
        let p = probe(
            &self.slab,
            self.order,
            key.score,
            key.subscore,
            key.at,
            &key.member,
        );
        self.tree.count_less(&p) as u64
    }

    /// Local rank of `key` in `style`: 1 + entries above it (ordinal), or
    /// 1 + entries above its tie group (competition).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, RankStyle, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// for (m, s) in [("a", 3), ("b", 3), ("c", 1)] {
    ///     p.write(&Write::new(m, s, 0), &BoardConfig::default()).unwrap();
    /// }
    /// let k = p.key_of("b").unwrap();
    /// assert_eq!(p.rank_of_key(&k, RankStyle::Ordinal), 2);
    /// assert_eq!(p.rank_of_key(&k, RankStyle::Competition), 1);
    /// ```
    pub fn rank_of_key(&self, key: &SortKey, style: RankStyle) -> u64 {
        1 + match style {
            RankStyle::Ordinal => self.count_above(key),
            RankStyle::Competition => self.count_above(&key.tie_floor()),
        }
    }

    /// Applies a write with the board rules in `cfg` (default operator,
    /// metadata cap, rank style, top-N watch). Ranks in the outcome are
    /// local to this partition. Errors change nothing (but the op-id clock,
    /// which moves to the write's `at` first: see [`Partition::write_at`]).
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Error, OpId, Partition, Write, WriteOp};
    /// let cfg = BoardConfig::default();
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// let w = Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1));
    /// assert!(p.write(&w, &cfg).unwrap().applied);
    /// let again = p.write(&w, &cfg).unwrap();
    /// assert!(!again.applied);
    /// assert_eq!(p.get("a").unwrap().score, 5);
    /// let overflow = Write::new("a", i64::MAX, 0).op(WriteOp::Incr);
    /// assert!(matches!(p.write(&overflow, &cfg), Err(Error::Overflow { .. })));
    /// ```
    pub fn write(&mut self, w: &Write, cfg: &BoardConfig) -> Result<WriteOutcome> {
        self.write_at(w, cfg, w.at)
    }

    /// [`Partition::write`] at time `now_ms` of the op-id clock instead of
    /// the write's `at`: the clock moves to `now_ms` if that is later, op ids
    /// older than the horizon are forgotten, and a new op id is stamped with
    /// the clock (see [`OpIdPolicy`]). A replicated deployment passes one
    /// time chosen where the write is proposed, so that every replica
    /// forgets the same ids. A new op id that does not fit the memory's
    /// byte bound fails with [`Error::OpIdMemoryFull`] and changes nothing.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Error, OpId, OpIdPolicy, Partition, Write, WriteOp};
    /// let cfg = BoardConfig::default();
    /// let policy = OpIdPolicy::new().horizon_ms(1_000);
    /// let mut p = Partition::new(Default::default(), policy);
    /// let w = Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1));
    /// p.write_at(&w, &cfg, 10_000).unwrap();
    /// assert!(!p.write_at(&w, &cfg, 11_000).unwrap().applied); // within the horizon
    /// p.write_at(&Write::new("b", 1, 0), &cfg, 11_001).unwrap(); // time moves on
    /// assert!(p.write_at(&w, &cfg, 11_001).unwrap().applied); // forgotten
    /// assert_eq!(p.get("a").unwrap().score, 10);
    /// ```
    pub fn write_at(&mut self, w: &Write, cfg: &BoardConfig, now_ms: i64) -> Result<WriteOutcome> {
        match self.write_local(w, cfg, now_ms)? {
            LocalWrite::Duplicate(o) => Ok(o),
            LocalWrite::Done(a) => Ok(self.local_outcome(&a, cfg)),
        }
    }

    /// The outcome of an applied write with partition-local ranks.
    fn local_outcome(&self, a: &Applied, cfg: &BoardConfig) -> WriteOutcome {
        let rank = |e: &Entry, pos: usize, before: bool| match cfg.rank_style {
            RankStyle::Ordinal => pos as u64 + 1,
            RankStyle::Competition => {
                let mut above =
                    self.count_above_parts(e.score, e.subscore.unwrap_or(0), i64::MIN, "") as u64;
                let ne = &a.new.0;
                let moved_above = crate::key::compare_parts(
                    self.order,
                    (ne.score, ne.subscore.unwrap_or(0), ne.at, &ne.member),
                    (e.score, e.subscore.unwrap_or(0), i64::MIN, ""),
                )
                .is_lt();
                if before && a.changed && moved_above {
                    above -= 1;
                }
                above + 1
            }
        };
        let old_pos = a.old.as_ref().map(|(_, p)| *p);
        let n = cfg.top_n_watch;
        WriteOutcome {
            applied: true,
            changed: a.changed,
            old: a.old.as_ref().map(|(e, p)| RankedEntry {
                rank: rank(e, *p, true),
                entry: e.clone(),
            }),
            new: RankedEntry {
                rank: rank(&a.new.0, a.new.1, false),
                entry: a.new.0.clone(),
            },
            top_changed: a.changed && (a.new.1 < n || old_pos.is_some_and(|p| p < n)),
        }
    }

    /// The write itself at op-id time `now`; positions are 0-based indexes
    /// in this partition.
    pub(crate) fn write_local(
        &mut self,
        w: &Write,
        cfg: &BoardConfig,
        now: i64,
    ) -> Result<LocalWrite> {
        let out = self.apply(w, cfg, now)?;
        if let (LocalWrite::Done(a), Some(id)) = (&out, w.op_id) {
            // Remembered under the same lock as the write, so a concurrent
            // retry can never apply it twice. A board replaces these local
            // ranks with global ones right after (`remember`).
            let o = self.local_outcome(a, cfg);
            self.dedupe.insert(id, &o);
        }
        Ok(out)
    }

    fn apply(&mut self, w: &Write, cfg: &BoardConfig, now: i64) -> Result<LocalWrite> {
        w.validate(cfg.max_metadata_bytes)?;
        self.dedupe.observe(now);
        if let Some(id) = w.op_id {
            if let Some(mut o) = self.dedupe.get(id) {
                o.applied = false;
                return Ok(LocalWrite::Duplicate(o));
            }
        }
        let hash = member_hash(&w.member);
        let slot = self.slab.find(&w.member, hash);
        let old = slot.map(|s| self.entry_of_slot(s));
        let new = next_entry(old.as_ref(), w, w.op.unwrap_or(cfg.default_op), self.order)?;
        if w.op_id.is_some() {
            // The outcome to remember has the old entry (if any) and the
            // new one (the old one again when it is kept): make sure it fits
            // before anything changes.
            let kept = new.as_ref().or(old.as_ref());
            let kept = kept.expect("a write without a new entry keeps an existing one");
            self.dedupe.admit(dedupe::outcome_len(old.as_ref(), kept))?;
        }
        let order = self.order;
        let new = match new {
            Some(new) if old.as_ref() != Some(&new) => new,
            // `Best` that does not improve, or a write that leaves the
            // entry as it is: nothing changes.
            kept => {
                let e = kept.or(old).expect("only an existing entry can be kept");
                let slot = slot.expect("an existing entry has a slot");
                let pos = self
                    .tree
                    .count_less(&entry_probe(&self.slab, order, &e).hinted(slot));
                return Ok(LocalWrite::Done(Box::new(Applied {
                    old: Some((e.clone(), pos)),
                    new: (e, pos),
                    changed: false,
                })));
            }
        };
        let new_sub = new.subscore.unwrap_or(0);
        let (slot, old_pos) = match (slot, &old) {
            (Some(slot), Some(o)) => {
                // Same key and same record shape (a subscore appearing or
                // disappearing moves the record, so it goes through the tree).
                let same_key = o.score == new.score
                    && o.subscore.unwrap_or(0) == new_sub
                    && o.subscore.is_some() == new.subscore.is_some()
                    && o.at == new.at;
                let p = entry_probe(&self.slab, order, o).hinted(slot);
                let pos = if same_key {
                    self.tree.count_less(&p)
                } else {
                    self.tree
                        .remove(&p)
                        .expect("an existing member is in the tree")
                };
                let slot = if same_key {
                    slot
                } else {
                    let moved = self
                        .slab
                        .set_key(slot, new.score, new.subscore, new.at, hash);
                    if moved != slot {
                        self.metadata.remove(&slot);
                    }
                    moved
                };
                if same_key {
                    self.set_metadata(slot, &new.metadata);
                    return Ok(LocalWrite::Done(Box::new(Applied {
                        old: Some((o.clone(), pos)),
                        new: (new, pos),
                        changed: true,
                    })));
                }
                (slot, Some(pos))
            }
            _ => {
                let slot = self
                    .slab
                    .insert(&new.member, new.score, new.subscore, new.at, hash);
                (slot, None)
            }
        };
        self.set_metadata(slot, &new.metadata);
        let p = probe(&self.slab, order, new.score, new_sub, new.at, &new.member);
        let new_pos = self.tree.insert(orient(order, new.score), slot, &p);
        Ok(LocalWrite::Done(Box::new(Applied {
            old: old.map(|o| (o, old_pos.expect("old position"))),
            new: (new, new_pos),
            changed: true,
        })))
    }

    fn set_metadata(&mut self, slot: u32, metadata: &Option<Vec<u8>>) {
        match metadata {
            Some(m) => {
                self.metadata.insert(slot, m.clone().into_boxed_slice());
            }
            None => {
                self.metadata.remove(&slot);
            }
        }
    }

    /// Replaces the remembered outcome of `op_id` (a board stores the
    /// global-rank outcome over the local one). No-op if forgotten.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, OpId, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// let mut out = p.write(&Write::new("a", 1, 0).op_id(OpId(9)), &BoardConfig::default()).unwrap();
    /// out.new.rank = 42;
    /// p.remember(OpId(9), out);
    /// let again = p.write(&Write::new("a", 1, 0).op_id(OpId(9)), &BoardConfig::default()).unwrap();
    /// assert_eq!(again.new.rank, 42);
    /// ```
    pub fn remember(&mut self, op_id: OpId, outcome: WriteOutcome) {
        self.dedupe.update(op_id, &outcome);
    }

    /// Removes a member; returns its entry with its local ordinal rank.
    ///
    /// ```
    /// use leaderboard_core::{BoardConfig, Partition, Write};
    /// let mut p = Partition::new(Default::default(), Default::default());
    /// p.write(&Write::new("a", 1, 0), &BoardConfig::default()).unwrap();
    /// assert_eq!(p.remove("a").unwrap().rank, 1);
    /// assert!(p.remove("a").is_none());
    /// ```
    pub fn remove(&mut self, member: &str) -> Option<RankedEntry> {
        let hash = member_hash(member);
        let slot = self.slab.find(member, hash)?;
        let entry = self.entry_of_slot(slot);
        let r = self.slab.rec(slot);
        let p = probe(&self.slab, self.order, r.score, r.sub, r.at, r.member).hinted(slot);
        let pos = self
            .tree
            .remove(&p)
            .expect("an existing member is in the tree");
        self.metadata.remove(&slot);
        self.slab.remove(slot, hash);
        Some(RankedEntry {
            rank: pos as u64 + 1,
            entry,
        })
    }
}

/// The entry after applying `op`, or `None` when `Best` keeps the old one.
pub(crate) fn next_entry(
    old: Option<&Entry>,
    w: &Write,
    op: WriteOp,
    order: Order,
) -> Result<Option<Entry>> {
    let Some((score, subscore)) = next_score(old.map(|o| (o.score, o.subscore)), w, op, order)?
    else {
        return Ok(None);
    };
    let metadata = match &w.metadata {
        None => old.and_then(|o| o.metadata.clone()),
        Some(m) if m.is_empty() => None,
        Some(m) => Some(m.clone()),
    };
    Ok(Some(Entry {
        member: w.member.clone(),
        score,
        subscore,
        at: w.at,
        metadata,
    }))
}

/// The (score, subscore) after applying `op` to the old ones, or `None`
/// when `Best` keeps the old entry (the rules of [`next_entry`]).
pub(crate) fn next_score(
    old: Option<(i64, Option<i64>)>,
    w: &Write,
    op: WriteOp,
    order: Order,
) -> Result<Option<(i64, Option<i64>)>> {
    let base = old.map_or(0, |o| o.0);
    let old_sub = old.and_then(|o| o.1);
    Ok(Some(match op {
        WriteOp::Set => (w.score, w.subscore),
        WriteOp::Best => {
            if let Some(o) = old {
                let new_key = (w.score, w.subscore.unwrap_or(0));
                let old_key = (o.0, o.1.unwrap_or(0));
                let better = match order {
                    Order::HighFirst => new_key > old_key,
                    Order::LowFirst => new_key < old_key,
                };
                if !better {
                    return Ok(None);
                }
            }
            (w.score, w.subscore)
        }
        WriteOp::Incr => (
            base.checked_add(w.score).ok_or(Error::Overflow {
                current: base,
                op: '+',
                delta: w.score,
            })?,
            w.subscore.or(old_sub),
        ),
        WriteOp::Decr => (
            base.checked_sub(w.score).ok_or(Error::Overflow {
                current: base,
                op: '-',
                delta: w.score,
            })?,
            w.subscore.or(old_sub),
        ),
    }))
}

impl Partition {
    /// [`Partition::count_above`] on borrowed key parts (no allocation).
    pub(crate) fn count_above_parts(&self, score: i64, sub: i64, at: i64, member: &str) -> usize {
        self.tree
            .count_less(&probe(&self.slab, self.order, score, sub, at, member))
    }

    /// [`Partition::count_above_parts`] of the key of the entry in `slot`
    /// (which `k` must be): its ties are resolved without record reads.
    pub(crate) fn count_above_own(&self, k: (i64, i64, i64, &str), slot: u32) -> usize {
        self.tree
            .count_less(&probe(&self.slab, self.order, k.0, k.1, k.2, k.3).hinted(slot))
    }
}

/// [`Partition`] seek in every partition of `parts` at once: for each, the
/// first position at or after the key parts `k` and the number of its
/// entries before that position (= entries ranking strictly above `k`).
///
/// The descents run interleaved, one tree level of every partition per
/// round, each step requesting the next node's cache lines before moving on
/// to the next partition; so a board-wide rank costs about one descent's
/// worth of memory latency instead of `P`.
pub(crate) fn seek_each(
    parts: &[&Partition],
    k: (i64, i64, i64, &str),
) -> Vec<(Option<Pos>, usize)> {
    seek_each_hinted(parts, k, None)
}

/// [`seek_each`] where `own`, if given, says that the key is the entry in
/// slot `own.1` of `parts[own.0]` (its ties there need no record reads).
pub(crate) fn seek_each_hinted(
    parts: &[&Partition],
    k: (i64, i64, i64, &str),
    own: Option<(usize, u32)>,
) -> Vec<(Option<Pos>, usize)> {
    let probes: Vec<KeyProbe<'_>> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pr = probe(&p.slab, p.order, k.0, k.1, k.2, k.3);
            match own {
                Some((q, slot)) if q == i => pr.hinted(slot),
                _ => pr,
            }
        })
        .collect();
    let mut descents: Vec<Descent> = parts.iter().map(|p| p.tree.descent()).collect();
    let mut out: Vec<Option<(Option<Pos>, usize)>> = vec![None; parts.len()];
    let mut left = parts.len();
    while left > 0 {
        for (i, part) in parts.iter().enumerate() {
            if out[i].is_none() {
                if let Some(found) = part.tree.step(&mut descents[i], &probes[i]) {
                    out[i] = Some(found);
                    left -= 1;
                }
            }
        }
    }
    out.into_iter()
        .map(|o| o.expect("every descent finished"))
        .collect()
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("order", &self.order)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
