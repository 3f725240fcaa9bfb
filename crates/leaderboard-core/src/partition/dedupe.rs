//! Memory of applied op ids: what makes a retried write apply exactly once.
//!
//! Each partition remembers the op ids it applied, with the outcome of
//! their write, for at least [`OpIdPolicy::horizon_ms`] of its *op-id
//! clock*: the largest time it has been told (see [`Dedupe::observe`]).
//! The clock only moves forward and is never read from the machine, so
//! replicas told the same times in the same order remember and forget the
//! same ids. An id is stamped with the clock when it is remembered; stamps
//! therefore never decrease, and forgetting pops the oldest ids from the
//! front of a queue (amortized O(1) per write).
//!
//! The memory is bounded in bytes ([`OpIdPolicy::max_bytes`]). A new op id
//! that does not fit, when nothing is old enough to forget, is refused
//! ([`Error::OpIdMemoryFull`]) before its write changes anything: silently
//! forgetting a younger id instead would let its retry apply twice.
//!
//! Outcomes are kept encoded (bincode with fixed-width integers, ~90 bytes
//! for a short member id instead of ~250 for the decoded value and its two
//! strings). With fixed-width integers the length depends only on the
//! entries, never on the ranks, so the accounted bytes are the same on a
//! replica that remembered partition-local ranks and on the leader that
//! replaced them with board-wide ones.

use std::collections::VecDeque;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::{Entry, Error, OpId, OpIdPolicy, Result, WriteOutcome};

/// Bytes accounted per remembered op id on top of its encoded outcome: the
/// hash map slot (id and boxed outcome, 32 bytes, plus a control byte, at
/// the table's typical load), the expiry queue slot (stamp and id, 32
/// bytes, at the queue's typical fill) and the allocator's rounding of the
/// boxed outcome. Chosen to match the measured heap use
/// (`docs/PERFORMANCE.md`).
pub(crate) const ENTRY_OVERHEAD: u64 = 112;

/// Op-id clock value of a partition that has never been told a time; ids
/// stamped with it are restamped at the first time it is told (see
/// [`Dedupe::observe`]).
pub(crate) const NO_TIME: i64 = i64::MIN;

fn codec() -> impl bincode::config::Config {
    bincode::config::standard().with_fixed_int_encoding()
}

/// Encoded length of an entry (see [`outcome_len`]).
fn entry_len(e: &Entry) -> u64 {
    let member = 8 + e.member.len() as u64;
    let subscore = 1 + if e.subscore.is_some() { 8 } else { 0 };
    let metadata = 1 + e.metadata.as_ref().map_or(0, |m| 8 + m.len() as u64);
    member + 8 + subscore + 8 + metadata
}

/// Exact encoded length of the outcome of a write that leaves `new` and
/// found `old`: three flags, the optional old ranked entry, the new one.
pub(crate) fn outcome_len(old: Option<&Entry>, new: &Entry) -> u64 {
    3 + 1 + old.map_or(0, |e| 8 + entry_len(e)) + 8 + entry_len(new)
}

/// Accounted bytes of a remembered id whose outcome encodes to `len` bytes.
fn cost(len: u64) -> u64 {
    ENTRY_OVERHEAD + len
}

/// Counters and size of op-id memory (of a partition, or summed over a
/// board's partitions). `entries` and `bytes` describe what is held now;
/// `refused` and `expired` count since the partition was created or
/// restored (they are statistics, not snapshot state). More counters may be
/// added in minor releases.
///
/// ```
/// use leaderboard_core::{Board, OpId, Write};
/// let b = Board::new("b", Default::default()).unwrap();
/// b.write(Write::new("a", 1, 0).op_id(OpId(1))).unwrap();
/// let s = b.op_id_stats();
/// assert_eq!((s.entries, s.refused, s.expired), (1, 0, 0));
/// assert!(s.bytes > 100);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpIdStats {
    /// Op ids remembered now.
    pub entries: u64,
    /// Bytes they take, as accounted against [`OpIdPolicy::max_bytes`]: the
    /// encoded outcome plus a fixed per-id overhead close to the measured
    /// heap use of the map and queue slots.
    pub bytes: u64,
    /// Op-id writes refused with [`Error::OpIdMemoryFull`].
    pub refused: u64,
    /// Op ids forgotten because they aged past the horizon.
    pub expired: u64,
}

impl OpIdStats {
    /// Sum of two.
    ///
    /// ```
    /// let mut a = leaderboard_core::OpIdStats::default();
    /// (a.entries, a.bytes, a.refused, a.expired) = (1, 2, 3, 4);
    /// assert_eq!(a.add(&a).expired, 8);
    /// ```
    pub fn add(&self, o: &OpIdStats) -> OpIdStats {
        OpIdStats {
            entries: self.entries + o.entries,
            bytes: self.bytes + o.bytes,
            refused: self.refused + o.refused,
            expired: self.expired + o.expired,
        }
    }
}

/// A remembered op id as a snapshot holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RememberedOp {
    pub id: OpId,
    /// The op-id clock when it was remembered ([`NO_TIME`]: before the
    /// partition was told any time).
    pub at: i64,
    pub outcome: WriteOutcome,
}

/// Time-bounded, byte-bounded map from op id to the outcome it produced
/// (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Dedupe {
    policy: OpIdPolicy,
    clock: i64,
    map: HashMap<OpId, Box<[u8]>>,
    /// (stamp, id), oldest first; stamps never decrease.
    queue: VecDeque<(i64, OpId)>,
    bytes: u64,
    refused: u64,
    expired: u64,
}

impl Dedupe {
    pub fn new(policy: OpIdPolicy) -> Self {
        Dedupe {
            policy,
            clock: NO_TIME,
            map: HashMap::new(),
            queue: VecDeque::new(),
            bytes: 0,
            refused: 0,
            expired: 0,
        }
    }

    pub fn policy(&self) -> OpIdPolicy {
        self.policy
    }

    /// Replaces the policy (a restored partition takes its board's); ids
    /// that are now past the horizon are forgotten.
    pub fn set_policy(&mut self, policy: OpIdPolicy) {
        self.policy = policy;
        self.expire();
    }

    /// Makes room for `n` more op ids at once (at most as many as the byte
    /// bound leaves room for, and at most a few million: `n` may come from
    /// a damaged snapshot), so that loading a known number does not grow
    /// the table step by step. A failed reservation is left to ordinary
    /// growth.
    pub fn reserve(&mut self, n: usize) {
        let room = self.policy.max_bytes.saturating_sub(self.bytes) / ENTRY_OVERHEAD;
        let n = n
            .min(usize::try_from(room).unwrap_or(usize::MAX))
            .min(1 << 22);
        let _ = self.map.try_reserve(n);
        let _ = self.queue.try_reserve(n);
    }

    /// The op-id clock ([`NO_TIME`] until told a time).
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// Moves the op-id clock to `now` if that is later, and forgets the ids
    /// that are then older than the horizon. Ids remembered before any time
    /// was told (restored from a format that kept no times) count as
    /// remembered now.
    pub fn observe(&mut self, now: i64) {
        if now <= self.clock {
            return;
        }
        if self.clock == NO_TIME {
            for (at, _) in self.queue.iter_mut() {
                if *at != NO_TIME {
                    break;
                }
                *at = now;
            }
        }
        self.clock = now;
        self.expire();
    }

    fn is_old(&self, at: i64) -> bool {
        i128::from(self.clock) - i128::from(at) > i128::from(self.policy.horizon_ms)
    }

    fn expire(&mut self) {
        while let Some(&(at, id)) = self.queue.front() {
            if !self.is_old(at) {
                break;
            }
            self.queue.pop_front();
            if let Some(o) = self.map.remove(&id) {
                self.bytes -= cost(o.len() as u64);
                self.expired += 1;
            }
        }
    }

    /// The remembered outcome of `id`.
    pub fn get(&self, id: OpId) -> Option<WriteOutcome> {
        self.map.get(&id).map(|b| decode(b))
    }

    /// Whether an id whose outcome encodes to `len` bytes fits; counts and
    /// reports a refusal if not. Call after [`Dedupe::observe`], before the
    /// write changes anything.
    pub fn admit(&mut self, len: u64) -> Result<()> {
        if self.bytes.saturating_add(cost(len)) <= self.policy.max_bytes {
            return Ok(());
        }
        self.refused += 1;
        let retry_after_ms = match self.queue.front() {
            Some(&(at, _)) if at != NO_TIME => {
                let due = i128::from(at) + i128::from(self.policy.horizon_ms) + 1;
                u64::try_from(due - i128::from(self.clock))
                    .unwrap_or(1)
                    .max(1)
            }
            _ => self.policy.horizon_ms.max(1),
        };
        Err(Error::OpIdMemoryFull {
            used_bytes: self.bytes,
            limit_bytes: self.policy.max_bytes,
            retry_after_ms,
        })
    }

    /// Remembers the outcome of `id`, stamped with the clock (replacing the
    /// outcome if `id` is remembered already). The caller has admitted it.
    pub fn insert(&mut self, id: OpId, outcome: &WriteOutcome) {
        let clock = self.clock;
        self.insert_at(id, clock, outcome);
    }

    fn insert_at(&mut self, id: OpId, at: i64, outcome: &WriteOutcome) {
        let enc = encode(outcome);
        self.bytes += cost(enc.len() as u64);
        if let Some(old) = self.map.insert(id, enc) {
            self.bytes -= cost(old.len() as u64);
            return;
        }
        self.queue.push_back((at, id));
    }

    /// Replaces the outcome of an op id that is still remembered.
    pub fn update(&mut self, id: OpId, outcome: &WriteOutcome) {
        if let Some(slot) = self.map.get_mut(&id) {
            let enc = encode(outcome);
            self.bytes = self.bytes - cost(slot.len() as u64) + cost(enc.len() as u64);
            *slot = enc;
        }
    }

    /// Rebuilds the memory a snapshot described: `clock` and the ids with
    /// their stamps, oldest first. Ids past the horizon are forgotten; stamps
    /// out of order or after the clock mean the snapshot is damaged.
    pub fn restore(
        policy: OpIdPolicy,
        clock: i64,
        ids: impl IntoIterator<Item = RememberedOp>,
    ) -> Result<Dedupe> {
        let mut d = Dedupe::loading(policy, clock);
        for r in ids {
            d.load(r)?;
        }
        d.expire();
        Ok(d)
    }

    /// An empty memory whose clock is `clock`, to be filled from a snapshot
    /// one id at a time with [`Dedupe::load`] and closed with
    /// [`Dedupe::loaded`] (what [`Dedupe::restore`] does from a list).
    pub fn loading(policy: OpIdPolicy, clock: i64) -> Dedupe {
        let mut d = Dedupe::new(policy);
        d.clock = clock;
        d
    }

    /// Adds the next id of a snapshot (oldest first). A stamp before the
    /// previous id's, or after the clock, means the snapshot is damaged.
    pub fn load(&mut self, r: RememberedOp) -> Result<()> {
        let last = self.queue.back().map_or(NO_TIME, |&(at, _)| at);
        if r.at < last || (r.at > self.clock && r.at != NO_TIME) {
            return Err(Error::CorruptSnapshot(format!(
                "op id stamped {} after {last} (clock {})",
                r.at, self.clock
            )));
        }
        self.insert_at(r.id, r.at, &r.outcome);
        Ok(())
    }

    /// Ends a load: forgets the ids that are past the horizon.
    pub fn loaded(&mut self) {
        self.expire();
    }

    /// Number of op ids remembered: exactly what [`Dedupe::iter`] yields,
    /// since an id enters and leaves the map and the queue together.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Appends every remembered op id, oldest first, to a snapshot stream:
    /// `each` gets the bytes of one [`RememberedOp`] as bincode's standard
    /// (varint) configuration encodes it, the same bytes as encoding an item
    /// of [`Dedupe::iter`], but transcoded from the stored outcome without
    /// decoding it (no allocation per id; decoding was most of the cost of
    /// writing a large memory, which happens under the board's read lock).
    pub fn try_for_each_encoded<E>(
        &self,
        mut each: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut buf = Vec::with_capacity(256);
        for &(at, id) in &self.queue {
            if let Some(fixed) = self.map.get(&id) {
                buf.clear();
                varint::u128(&mut buf, id.0);
                varint::i64(&mut buf, at);
                transcode_outcome(fixed, &mut buf);
                each(&buf)?;
            }
        }
        Ok(())
    }

    /// Remembered op ids, oldest first, with their stamps and outcomes.
    pub fn iter(&self) -> impl Iterator<Item = RememberedOp> + '_ {
        self.queue.iter().filter_map(|&(at, id)| {
            self.map.get(&id).map(|b| RememberedOp {
                id,
                at,
                outcome: decode(b),
            })
        })
    }

    pub fn stats(&self) -> OpIdStats {
        OpIdStats {
            entries: self.map.len() as u64,
            bytes: self.bytes,
            refused: self.refused,
            expired: self.expired,
        }
    }
}

fn encode(o: &WriteOutcome) -> Box<[u8]> {
    let mut out =
        Vec::with_capacity(outcome_len(o.old.as_ref().map(|r| &r.entry), &o.new.entry) as usize);
    bincode::serde::encode_into_std_write(o, &mut out, codec())
        .expect("encoding into a Vec cannot fail");
    debug_assert_eq!(
        out.len() as u64,
        outcome_len(o.old.as_ref().map(|r| &r.entry), &o.new.entry)
    );
    out.into_boxed_slice()
}

fn decode(bytes: &[u8]) -> WriteOutcome {
    bincode::serde::decode_from_slice(bytes, codec())
        .expect("op-id memory only holds outcomes it encoded")
        .0
}

/// bincode's variable-length integers (standard configuration, little
/// endian): below 251 one byte, else a marker byte (251 to 254) and the
/// value in 2, 4, 8 or 16 bytes; signed values zigzag-encoded first.
mod varint {
    pub fn u128(out: &mut Vec<u8>, v: u128) {
        if v <= 250 {
            out.push(v as u8);
        } else if v <= u128::from(u16::MAX) {
            out.push(251);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        } else if v <= u128::from(u32::MAX) {
            out.push(252);
            out.extend_from_slice(&(v as u32).to_le_bytes());
        } else if v <= u128::from(u64::MAX) {
            out.push(253);
            out.extend_from_slice(&(v as u64).to_le_bytes());
        } else {
            out.push(254);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    pub fn u64(out: &mut Vec<u8>, v: u64) {
        u128(out, u128::from(v));
    }

    pub fn i64(out: &mut Vec<u8>, v: i64) {
        u64(
            out,
            if v < 0 {
                !(v as u64) * 2 + 1
            } else {
                (v as u64) * 2
            },
        );
    }
}

/// Reads the stored (fixed-width) encoding of a [`WriteOutcome`] and
/// appends its standard (varint) encoding: the bytes `bincode` gives for
/// the decoded value with the standard configuration. Field order follows
/// the types: `applied`, `changed`, `old` (option tag, then rank and
/// entry), `new` (rank, entry), `top_changed`; an entry is `member`
/// (length, bytes), `score`, `subscore` (tag, value), `at`, `metadata`
/// (tag, length, bytes).
fn transcode_outcome(fixed: &[u8], out: &mut Vec<u8>) {
    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> &'a [u8] {
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            head
        }
        fn byte(&mut self) -> u8 {
            self.take(1)[0]
        }
        fn word(&mut self) -> [u8; 8] {
            self.take(8).try_into().expect("8 bytes")
        }
    }
    fn ranked(c: &mut Cursor<'_>, out: &mut Vec<u8>) {
        varint::u64(out, u64::from_le_bytes(c.word()));
        let len = u64::from_le_bytes(c.word());
        varint::u64(out, len);
        out.extend_from_slice(c.take(len as usize));
        varint::i64(out, i64::from_le_bytes(c.word()));
        let tag = c.byte();
        out.push(tag);
        if tag == 1 {
            varint::i64(out, i64::from_le_bytes(c.word()));
        }
        varint::i64(out, i64::from_le_bytes(c.word()));
        let tag = c.byte();
        out.push(tag);
        if tag == 1 {
            let len = u64::from_le_bytes(c.word());
            varint::u64(out, len);
            out.extend_from_slice(c.take(len as usize));
        }
    }
    let mut c = Cursor(fixed);
    out.extend_from_slice(c.take(2));
    let tag = c.byte();
    out.push(tag);
    if tag == 1 {
        ranked(&mut c, out);
    }
    ranked(&mut c, out);
    out.push(c.byte());
    debug_assert!(c.0.is_empty(), "an outcome's encoding is used up exactly");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RankedEntry;

    fn outcome(member: &str, old: bool, sub: bool, meta: Option<usize>) -> WriteOutcome {
        let mut e = Entry::new(member, 7, 3);
        if sub {
            e.subscore = Some(-1);
        }
        e.metadata = meta.map(|n| vec![1; n]);
        WriteOutcome {
            applied: true,
            changed: true,
            old: old.then(|| RankedEntry {
                rank: u64::MAX,
                entry: Entry::new(member, 1, 0),
            }),
            new: RankedEntry { rank: 1, entry: e },
            top_changed: false,
        }
    }

    #[test]
    fn encoded_length_is_the_formula_whatever_the_ranks() {
        for old in [false, true] {
            for sub in [false, true] {
                for meta in [None, Some(0), Some(17)] {
                    let mut o = outcome("player-42", old, sub, meta);
                    let len = outcome_len(o.old.as_ref().map(|r| &r.entry), &o.new.entry);
                    assert_eq!(encode(&o).len() as u64, len);
                    o.new.rank = u64::MAX;
                    assert_eq!(encode(&o).len() as u64, len);
                    assert_eq!(decode(&encode(&o)), o);
                }
            }
        }
    }

    /// What the snapshot stream writes for an id is exactly bincode's
    /// standard encoding of the decoded `RememberedOp`, at every boundary
    /// of the variable-length integers.
    #[test]
    fn transcoding_gives_the_standard_encoding() {
        let standard = bincode::config::standard();
        let ints: [u64; 9] = [
            0,
            250,
            251,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        let signed: Vec<i64> = ints
            .iter()
            .flat_map(|&v| {
                [
                    v as i64,
                    (v / 2) as i64,
                    -((v / 2) as i64),
                    ((v / 2) as i64).wrapping_add(1),
                ]
            })
            .chain([i64::MIN, i64::MAX, -1, -126, -125, 125, 126])
            .collect();
        let ids = [
            0u128,
            250,
            251,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            u128::MAX,
        ];
        let mut n = 0;
        for (i, &rank) in ints.iter().enumerate() {
            for (j, &v) in signed.iter().enumerate() {
                let mut o = outcome(
                    &"m".repeat(1 + (i * 37 + j) % 300),
                    i % 2 == 0,
                    j % 3 == 0,
                    None,
                );
                o.applied = j % 2 == 0;
                o.top_changed = i % 3 == 0;
                o.new.rank = rank;
                o.new.entry.score = v;
                o.new.entry.at = signed[(j + 5) % signed.len()];
                o.new.entry.subscore = (j % 3 == 1).then_some(v.wrapping_neg());
                o.new.entry.metadata = match j % 4 {
                    0 => None,
                    1 => Some(Vec::new()),
                    2 => Some(vec![7; 251]),
                    _ => Some(vec![9; 65_536 + j]),
                };
                if let Some(old) = o.old.as_mut() {
                    old.rank = ints[(i + 3) % ints.len()];
                    old.entry.score = signed[(j + 1) % signed.len()];
                }
                let op = RememberedOp {
                    id: OpId(ids[(i + j) % ids.len()]),
                    at: signed[(j + 2) % signed.len()],
                    outcome: o,
                };
                let want = bincode::serde::encode_to_vec(&op, standard).unwrap();
                let mut got = Vec::new();
                varint::u128(&mut got, op.id.0);
                varint::i64(&mut got, op.at);
                transcode_outcome(&encode(&op.outcome), &mut got);
                assert_eq!(got, want, "{op:?}");
                n += 1;
            }
        }
        assert!(n > 300);
        // And through a memory: the same bytes, in the same order, as
        // encoding what `iter` yields.
        let mut d = Dedupe::new(OpIdPolicy {
            horizon_ms: 10,
            max_bytes: u64::MAX,
        });
        for i in 0..50u128 {
            d.observe(i as i64 * 3);
            d.insert(
                OpId(i * 1_000_003),
                &outcome("p", i % 2 == 0, i % 3 == 0, Some(i as usize)),
            );
        }
        let mut got = Vec::new();
        d.try_for_each_encoded(|b| {
            got.push(b.to_vec());
            Ok::<_, ()>(())
        })
        .unwrap();
        let want: Vec<Vec<u8>> = d
            .iter()
            .map(|r| bincode::serde::encode_to_vec(&r, standard).unwrap())
            .collect();
        assert_eq!(got.len(), d.len());
        assert_eq!(got, want);
    }

    #[test]
    fn forgets_only_past_the_horizon_and_refuses_when_full() {
        let o = outcome("m", false, false, None);
        let one = cost(encode(&o).len() as u64);
        let policy = OpIdPolicy {
            horizon_ms: 100,
            max_bytes: 2 * one,
        };
        let mut d = Dedupe::new(policy);
        d.observe(1_000);
        d.insert(OpId(1), &o);
        d.observe(1_050);
        d.insert(OpId(2), &o);
        let len = encode(&o).len() as u64;
        match d.admit(len) {
            Err(Error::OpIdMemoryFull { retry_after_ms, .. }) => assert_eq!(retry_after_ms, 51),
            other => panic!("expected a refusal, got {other:?}"),
        }
        d.observe(1_100);
        assert!(d.get(OpId(1)).is_some(), "exactly the horizon old is kept");
        d.observe(1_101);
        assert!(d.get(OpId(1)).is_none());
        assert!(d.get(OpId(2)).is_some());
        d.admit(len).unwrap();
        d.insert(OpId(3), &o);
        // A time going backwards changes nothing.
        d.observe(0);
        assert_eq!(d.clock(), 1_101);
        assert_eq!(
            d.stats(),
            OpIdStats {
                entries: 2,
                bytes: 2 * one,
                refused: 1,
                expired: 1
            }
        );
    }

    #[test]
    fn ids_from_before_any_time_are_stamped_at_the_first_one() {
        let o = outcome("m", false, false, None);
        let policy = OpIdPolicy {
            horizon_ms: 10,
            max_bytes: u64::MAX,
        };
        let old = RememberedOp {
            id: OpId(1),
            at: NO_TIME,
            outcome: o,
        };
        let mut d = Dedupe::restore(policy, NO_TIME, [old]).unwrap();
        d.observe(5_000);
        assert!(d.get(OpId(1)).is_some());
        d.observe(5_011);
        assert!(d.get(OpId(1)).is_none());
    }
}
