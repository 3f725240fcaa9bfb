//! A naive reference model: a plain Vec of entries, sorted on every query.
#![allow(dead_code)]

use std::collections::HashMap;

use leaderboard_core::{Entry, Error, OpId, Order, RankStyle, RankedEntry, Write, WriteOp};

/// What the model says a write did.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutcome {
    pub applied: bool,
    pub changed: bool,
    pub old: Option<RankedEntry>,
    pub new: RankedEntry,
    pub top_changed: bool,
}

pub struct Model {
    pub order: Order,
    pub style: RankStyle,
    pub default_op: WriteOp,
    pub top_n: usize,
    pub max_meta: usize,
    pub entries: Vec<Entry>,
    pub seen: HashMap<OpId, ModelOutcome>,
}

impl Model {
    pub fn new(order: Order, style: RankStyle, default_op: WriteOp, top_n: usize) -> Self {
        Model {
            order,
            style,
            default_op,
            top_n,
            max_meta: 16,
            entries: Vec::new(),
            seen: HashMap::new(),
        }
    }

    pub fn sorted(&self) -> Vec<Entry> {
        let mut v = self.entries.clone();
        v.sort_by(|a, b| a.sort_key().cmp_in(&b.sort_key(), self.order));
        v
    }

    fn better(&self, a: (i64, i64), b: (i64, i64)) -> bool {
        match self.order {
            Order::HighFirst => a > b,
            Order::LowFirst => a < b,
        }
    }

    pub fn ranked(&self) -> Vec<RankedEntry> {
        let sorted = self.sorted();
        let mut out: Vec<RankedEntry> = Vec::new();
        for (i, e) in sorted.iter().enumerate() {
            let rank = match self.style {
                RankStyle::Ordinal => i as u64 + 1,
                RankStyle::Competition => {
                    1 + sorted
                        .iter()
                        .filter(|o| self.better(tie(o), tie(e)))
                        .count() as u64
                }
                other => panic!("the model has no rank style {other:?} yet"),
            };
            out.push(RankedEntry {
                rank,
                entry: e.clone(),
            });
        }
        out
    }

    pub fn rank(&self, member: &str, style: RankStyle) -> Option<u64> {
        let sorted = self.sorted();
        let i = sorted.iter().position(|e| e.member == member)?;
        Some(match style {
            RankStyle::Ordinal => i as u64 + 1,
            RankStyle::Competition => {
                1 + sorted
                    .iter()
                    .filter(|o| self.better(tie(o), tie(&sorted[i])))
                    .count() as u64
            }
            other => panic!("the model has no rank style {other:?} yet"),
        })
    }

    fn ordinal(&self, member: &str) -> Option<u64> {
        self.rank(member, RankStyle::Ordinal)
    }

    pub fn write(&mut self, w: &Write) -> Result<ModelOutcome, Error> {
        w.validate(self.max_meta)?;
        if let Some(id) = w.op_id {
            if let Some(o) = self.seen.get(&id) {
                let mut o = o.clone();
                o.applied = false;
                return Ok(o);
            }
        }
        let idx = self.entries.iter().position(|e| e.member == w.member);
        let old = idx.map(|i| self.entries[i].clone());
        let old_ranked = old.as_ref().map(|e| RankedEntry {
            rank: self.rank(&e.member, self.style).unwrap(),
            entry: e.clone(),
        });
        let old_ord = old.as_ref().map(|e| self.ordinal(&e.member).unwrap());
        let op = w.op.unwrap_or(self.default_op);
        let metadata = match &w.metadata {
            None => old.as_ref().and_then(|o| o.metadata.clone()),
            Some(m) if m.is_empty() => None,
            Some(m) => Some(m.clone()),
        };
        let base = old.as_ref().map_or(0, |o| o.score);
        let keep_sub = || w.subscore.or_else(|| old.as_ref().and_then(|o| o.subscore));
        let candidate = match op {
            WriteOp::Set => Some((w.score, w.subscore)),
            WriteOp::Best => match &old {
                Some(o) if !self.better((w.score, w.subscore.unwrap_or(0)), tie(o)) => None,
                _ => Some((w.score, w.subscore)),
            },
            WriteOp::Incr => Some((
                base.checked_add(w.score).ok_or(Error::Overflow {
                    current: base,
                    op: '+',
                    delta: w.score,
                })?,
                keep_sub(),
            )),
            WriteOp::Decr => Some((
                base.checked_sub(w.score).ok_or(Error::Overflow {
                    current: base,
                    op: '-',
                    delta: w.score,
                })?,
                keep_sub(),
            )),
            other => panic!("the model has no operator {other:?} yet"),
        };
        let new = match candidate {
            None => old.clone().unwrap(),
            Some((score, subscore)) => Entry {
                member: w.member.clone(),
                score,
                subscore,
                at: w.at,
                metadata,
            },
        };
        let changed = old.as_ref() != Some(&new);
        match idx {
            Some(i) => self.entries[i] = new.clone(),
            None => self.entries.push(new.clone()),
        }
        let new_ord = self.ordinal(&new.member).unwrap();
        let n = self.top_n as u64;
        let out = ModelOutcome {
            applied: true,
            changed,
            old: old_ranked,
            new: RankedEntry {
                rank: self.rank(&new.member, self.style).unwrap(),
                entry: new,
            },
            top_changed: changed && (new_ord <= n || old_ord.is_some_and(|o| o <= n)),
        };
        if let Some(id) = w.op_id {
            self.seen.insert(id, out.clone());
        }
        Ok(out)
    }

    pub fn remove(&mut self, member: &str) -> Option<(RankedEntry, bool)> {
        let rank = self.rank(member, self.style)?;
        let ord = self.ordinal(member)?;
        let i = self.entries.iter().position(|e| e.member == member)?;
        let e = self.entries.remove(i);
        Some((RankedEntry { rank, entry: e }, ord <= self.top_n as u64))
    }

    /// Ranked entries with ranks recomputed in the model's style.
    pub fn slice(&self, start: usize, len: usize) -> Vec<RankedEntry> {
        self.ranked().into_iter().skip(start).take(len).collect()
    }
}

pub fn tie(e: &Entry) -> (i64, i64) {
    (e.score, e.subscore.unwrap_or(0))
}
