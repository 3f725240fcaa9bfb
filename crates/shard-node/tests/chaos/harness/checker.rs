//! A linearizability checker for one counter (one member's score): `incr(d)` answering the old
//! and new value (a fetch-and-add; leaderboard-core's write outcome carries both), `incr(d)`
//! whose answer was lost (it may have taken effect or not), and `read` answering the value.
//!
//! The search is the Wing & Gong algorithm with Lowe's memoization (P. Lowe, "Testing for
//! linearizability", 2017): walk the history's call and return events in time order; at a call,
//! try to linearize that operation now (the model accepts its answer in the current state); at
//! the return of an operation not linearized yet, backtrack. A configuration (set of linearized
//! operations, counter value) is explored at most once. Linearizability is local (compositional),
//! so each member is checked on its own history.
//!
//! Why not a general tester (such as `stateright`'s): this model is a single integer, so a
//! configuration is cheap to remember and the memoization makes the search effectively linear
//! here — every completed `incr` names the exact value it moved from, which pins its place among
//! the others, and reads can only sit where the value matches. A general tester enumerates
//! interleavings per thread without that memo and is meant for short histories; the chaos run
//! records thousands of operations per member.

use std::collections::HashSet;

/// One operation on the counter, with its real-time interval (any monotonic unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// When it was invoked.
    pub invoke: u64,
    /// When its answer arrived; `None` if it never did (then it may or may not have happened).
    pub ret: Option<u64>,
    /// What it did.
    pub kind: Kind,
}

/// The operations of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Add `delta`; `outcome` is the (old, new) value it answered, if it answered.
    Incr {
        /// The increment.
        delta: i64,
        /// Old and new value, when known.
        outcome: Option<(i64, i64)>,
    },
    /// Read the value.
    Read {
        /// The value answered.
        value: i64,
    },
}

/// The checker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations, consistent with real time, explains every answer.
    Linearizable,
    /// No order does.
    Violation(Violation),
    /// The search took more than its step budget (it says nothing either way).
    GaveUp {
        /// Steps taken.
        steps: u64,
    },
}

/// Where the search got furthest before every order failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Operations linearized at the deepest point.
    pub linearized: usize,
    /// The counter value there.
    pub value: i64,
    /// The operation whose return the search could not get past (its index in the input): it
    /// could not be placed anywhere before its answer arrived.
    pub stuck: usize,
    /// Indexes of the operations still unplaced at that point, by invocation time.
    pub unplaced: Vec<usize>,
    /// A reason found before the search, when one operation contradicts itself.
    pub note: Option<String>,
}

/// The model: the counter value after `kind` from `value`, if its answer fits.
fn step(value: i64, kind: Kind) -> Option<i64> {
    match kind {
        Kind::Incr {
            delta,
            outcome: None,
        } => Some(value + delta),
        Kind::Incr {
            delta,
            outcome: Some((old, new)),
        } => (old == value && new == old + delta).then_some(new),
        Kind::Read { value: v } => (v == value).then_some(value),
    }
}

#[derive(Clone, Copy)]
struct Event {
    op: usize,
    call: bool,
}

/// A set of operation indexes.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Checks `ops` against a counter starting at `initial`, taking at most `max_steps` steps.
pub fn check(ops: &[Op], initial: i64, max_steps: u64) -> Verdict {
    // An answer that contradicts itself needs no search.
    for (i, op) in ops.iter().enumerate() {
        if let Kind::Incr {
            delta,
            outcome: Some((old, new)),
        } = op.kind
        {
            if new != old + delta {
                return Verdict::Violation(Violation {
                    linearized: 0,
                    value: initial,
                    stuck: i,
                    unplaced: vec![i],
                    note: Some(format!("incr({delta}) answered {old} -> {new}")),
                });
            }
        }
        if op.ret.is_some_and(|r| r < op.invoke) {
            return Verdict::Violation(Violation {
                linearized: 0,
                value: initial,
                stuck: i,
                unplaced: vec![i],
                note: Some("returned before it was invoked (a recording error)".into()),
            });
        }
    }

    // Events in time order; at equal times calls first (the operations then overlap, which
    // allows more orders, never fewer).
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.invoke, false, i));
        if let Some(r) = op.ret {
            events.push((r, true, i));
        }
    }
    events.sort_unstable();
    let events: Vec<Event> = events
        .into_iter()
        .map(|(_, is_ret, op)| Event { op, call: !is_ret })
        .collect();

    // A doubly linked list over the events: node 0 is the head, node m + 1 the tail, event k is
    // node k + 1. Linearizing an operation unlinks its call and return; backtracking relinks
    // them in the reverse order (dancing links).
    let m = events.len();
    let (head, tail) = (0, m + 1);
    let mut next: Vec<usize> = (1..=m + 2).collect();
    let mut prev: Vec<usize> = (0..m + 2).map(|i| i.saturating_sub(1)).collect();
    let mut call_node = vec![0; ops.len()];
    let mut ret_node = vec![None; ops.len()];
    for (k, e) in events.iter().enumerate() {
        if e.call {
            call_node[e.op] = k + 1;
        } else {
            ret_node[e.op] = Some(k + 1);
        }
    }
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, n) = (prev[x], next[x]);
        next[p] = n;
        prev[n] = p;
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, n) = (prev[x], next[x]);
        next[p] = x;
        prev[n] = x;
    };

    let mut remaining = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut bits = Bits::new(ops.len());
    let mut seen: HashSet<(Bits, i64)> = HashSet::new();
    let mut stack: Vec<(usize, i64)> = Vec::new();
    let mut value = initial;
    let mut best: (usize, i64, Bits) = (0, initial, bits.clone());
    let mut steps = 0u64;
    let mut entry = next[head];
    while remaining > 0 {
        steps += 1;
        if steps > max_steps {
            return Verdict::GaveUp { steps };
        }
        let e = if entry == tail {
            None
        } else {
            Some(events[entry - 1])
        };
        match e {
            Some(Event { op, call: true }) => {
                if let Some(v) = step(value, ops[op].kind) {
                    bits.set(op);
                    if seen.insert((bits.clone(), v)) {
                        stack.push((op, value));
                        value = v;
                        unlink(&mut next, &mut prev, call_node[op]);
                        if let Some(r) = ret_node[op] {
                            unlink(&mut next, &mut prev, r);
                            remaining -= 1;
                        }
                        if stack.len() > best.0 {
                            best = (stack.len(), value, bits.clone());
                        }
                        entry = next[head];
                        continue;
                    }
                    bits.clear(op);
                }
                entry = next[entry];
            }
            // A return of an operation not linearized yet (or the end of the list, which the
            // loop only reaches with such a return behind it): undo the last choice.
            Some(Event { call: false, .. }) | None => {
                let Some((op, old)) = stack.pop() else {
                    return Verdict::Violation(violation(ops, &best));
                };
                bits.clear(op);
                value = old;
                if let Some(r) = ret_node[op] {
                    relink(&mut next, &mut prev, r);
                    remaining += 1;
                }
                relink(&mut next, &mut prev, call_node[op]);
                entry = next[call_node[op]];
            }
        }
    }
    Verdict::Linearizable
}

fn violation(ops: &[Op], best: &(usize, i64, Bits)) -> Violation {
    let (linearized, value, bits) = best;
    let mut unplaced: Vec<usize> = (0..ops.len()).filter(|i| !bits.has(*i)).collect();
    unplaced.sort_by_key(|i| ops[*i].invoke);
    let stuck = unplaced
        .iter()
        .copied()
        .filter(|i| ops[*i].ret.is_some())
        .min_by_key(|i| ops[*i].ret)
        .unwrap_or(0);
    Violation {
        linearized: *linearized,
        value: *value,
        stuck,
        unplaced,
        note: None,
    }
}
