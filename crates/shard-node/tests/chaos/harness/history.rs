//! The record of what the workload asked and what it was told, with client-side times.
//!
//! Times are taken in the test process (one monotonic clock) just before a call and just after
//! its answer, so each interval contains the moment the cluster acted on the operation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use super::checker::{self, Kind, Verdict};

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Add `delta` to the member's score (a write with `WriteOp::Incr` and op id `op_id`).
    Incr {
        /// The increment (> 0).
        delta: i64,
        /// The write's op id.
        op_id: u128,
        /// The write's time field.
        at: i64,
    },
    /// A linearizable read of the member's score.
    Read,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The increment's old and new score (and whether this answer applied it, or repeated the
    /// remembered outcome of an earlier attempt).
    Incr {
        /// Score before.
        old: i64,
        /// Score after.
        new: i64,
        /// False when answered from the op-id memory.
        applied: bool,
    },
    /// The score read (0 for a member without an entry).
    Read(i64),
    /// No answer: the call failed with this error, so the write may or may not have happened.
    Unknown(String),
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Record {
    /// Logical client: a sequence of operations, each invoked after the previous returned. A
    /// client whose write got no answer is retired (its next operation gets a new id).
    pub process: u64,
    /// Board.
    pub board: String,
    /// Member.
    pub member: String,
    /// What was asked.
    pub call: Call,
    /// Invocation, ns since the start of the run.
    pub invoke: u64,
    /// Answer time, ns since the start of the run; `None` without an answer.
    pub ret: Option<u64>,
    /// The answer.
    pub answer: Answer,
    /// Answered only when re-sent after the faults healed (the interval runs from the first
    /// invocation to the answer of the re-send).
    pub resent: bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self
            .ret
            .map_or_else(|| "       ...".to_string(), |r| format!("{:10.3}", ms(r)));
        write!(
            f,
            "[{:10.3} .. {end} ms] p{:<4} {}/{} ",
            ms(self.invoke),
            self.process,
            self.board,
            self.member
        )?;
        match &self.call {
            Call::Incr { delta, op_id, .. } => write!(f, "incr(+{delta}, op {op_id:#x})")?,
            Call::Read => write!(f, "read")?,
        }
        match &self.answer {
            Answer::Incr { old, new, applied } => write!(
                f,
                " -> {old} => {new}{}",
                if *applied { "" } else { " (from op-id memory)" }
            )?,
            Answer::Read(v) => write!(f, " -> {v}")?,
            Answer::Unknown(e) => write!(f, " -> no answer: {e}")?,
        }
        if self.resent {
            write!(f, " [answered by the re-send after healing]")?;
        }
        Ok(())
    }
}

/// The history of a run.
pub struct History {
    start: Instant,
    records: Mutex<Vec<Record>>,
}

impl History {
    /// An empty history; times count from now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            records: Mutex::new(Vec::new()),
        }
    }

    /// The time origin.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Nanoseconds since the start.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Adds a record.
    pub fn push(&self, r: Record) {
        self.records.lock().expect("poisoned").push(r);
    }

    /// Every record so far, by invocation time.
    pub fn records(&self) -> Vec<Record> {
        let mut v = self.records.lock().expect("poisoned").clone();
        v.sort_by_key(|r| r.invoke);
        v
    }

    /// Replaces the records (after the re-sends resolved the unanswered writes).
    pub fn replace(&self, records: Vec<Record>) {
        *self.records.lock().expect("poisoned") = records;
    }
}

/// The records of each (board, member), by invocation time.
pub fn by_key(records: &[Record]) -> BTreeMap<(String, String), Vec<Record>> {
    let mut out: BTreeMap<(String, String), Vec<Record>> = BTreeMap::new();
    for r in records {
        out.entry((r.board.clone(), r.member.clone()))
            .or_default()
            .push(r.clone());
    }
    for v in out.values_mut() {
        v.sort_by_key(|r| r.invoke);
    }
    out
}

/// Checks one member's records for linearizability; `Err` explains a violation (or a search
/// that gave up) with the records around it.
pub fn check_key(records: &[Record], max_steps: u64) -> Result<(), String> {
    let ops: Vec<checker::Op> = records
        .iter()
        .map(|r| checker::Op {
            invoke: r.invoke,
            ret: match r.answer {
                Answer::Unknown(_) => None,
                _ => r.ret,
            },
            kind: match (&r.call, &r.answer) {
                (Call::Incr { delta, .. }, Answer::Incr { old, new, .. }) => Kind::Incr {
                    delta: *delta,
                    outcome: Some((*old, *new)),
                },
                (Call::Incr { delta, .. }, _) => Kind::Incr {
                    delta: *delta,
                    outcome: None,
                },
                (Call::Read, Answer::Read(v)) => Kind::Read { value: *v },
                (Call::Read, other) => unreachable!("a read recorded with answer {other:?}"),
            },
        })
        .collect();
    match checker::check(&ops, 0, max_steps) {
        Verdict::Linearizable => Ok(()),
        Verdict::GaveUp { steps } => Err(format!(
            "the linearizability search gave up after {steps} steps ({} operations)",
            records.len()
        )),
        Verdict::Violation(v) => {
            let stuck = &records[v.stuck];
            let mut out = format!(
                "not linearizable: {} of {} operations can be ordered (value {} there), but \
                 then no order explains this answer:\n  {stuck}\n",
                v.linearized,
                records.len(),
                v.value
            );
            if let Some(note) = &v.note {
                out.push_str(&format!("  ({note})\n"));
            }
            // The operations around it: everything overlapping a window before its answer.
            let end = stuck.ret.unwrap_or(stuck.invoke);
            let from = stuck.invoke.saturating_sub(2_000_000_000);
            out.push_str("operations of this member from 2 s before it until its answer:\n");
            let near: Vec<&Record> = records
                .iter()
                .filter(|r| r.invoke <= end && r.ret.unwrap_or(u64::MAX) >= from)
                .collect();
            let skip = near.len().saturating_sub(60);
            if skip > 0 {
                out.push_str(&format!("  ... {skip} earlier ones left out\n"));
            }
            for r in near.into_iter().skip(skip) {
                out.push_str(&format!("  {r}\n"));
            }
            Err(out)
        }
    }
}
