//! What a group's log carries (commands) and what its state machine answers (queries).
//!
//! A Raft entry is a [`Batch`] of [`Command`]s; applying it yields one
//! `Result<CommandOutcome, Error>` per command, in order, so one failed write (empty member id,
//! overflow...) fails alone and the rest of its batch still applies. Every command is a pure
//! function of the state and its own fields (the time of a write is the caller's `at`, never the
//! node's clock), which is what makes replicas identical.
//!
//! A batch also carries the time its leader proposed it ([`Batch::proposed_at_ms`]), stamped by
//! the node before the batch enters the log: it is the clock of leaderboard-core's op-id memory,
//! so every replica forgets remembered op ids at the same point of the log, whatever its own
//! clock (see [`crate::state_machine::app`]).
//!
//! Queries are the per-group halves of board-wide reads: each group answers for the partitions
//! it owns and the client merges the answers with `leaderboard_core::merge` (see
//! [`crate::client`]).

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use leaderboard_core::{
    BoardConfig, BoardConfigV1, BoardId, Entry, RankStyle, RemoveOutcome, SortKey, Window, Write,
    WriteOutcome,
};

use crate::error::Error;

/// One replicated operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a board in this group. Committed in every group by the client; repeating it with
    /// the same configuration succeeds (so a half-done creation can simply be retried).
    CreateBoard {
        /// Board id.
        board: BoardId,
        /// Its configuration (fixed for the board's life).
        config: BoardConfig,
    },
    /// Drop a board (committed in every group).
    DropBoard {
        /// Board id.
        board: BoardId,
    },
    /// A score write for a member this group owns.
    Write {
        /// Board id.
        board: BoardId,
        /// The write (op id inside makes retries idempotent).
        write: Write,
    },
    /// Remove a member this group owns from the current window.
    Remove {
        /// Board id.
        board: BoardId,
        /// Member id.
        member: String,
    },
    /// Roll the board's windows forward to `now` (ms since the epoch, from the caller's clock,
    /// so that every replica rolls identically).
    Roll {
        /// Board id.
        board: BoardId,
        /// The caller's time.
        now: i64,
    },
    /// A score write whose caller does not want its outcome: the same change to the board as
    /// [`Command::Write`], but no node computes ranks for it (the board-wide rank of an outcome
    /// is a large part of a write's cost), and it is answered with
    /// [`CommandOutcome::Replicated`]: whether it was applied (false for a repeated op id).
    /// Its op id is remembered like a `Write`'s, so a retry as either command is answered from
    /// memory (a `Write` retry of it gets partition-local ranks).
    ///
    /// Added after format 2 of the log: a batch holding one is stored as format 3 (see
    /// [`Batch`]), which older nodes refuse by name rather than misread.
    Apply {
        /// Board id.
        board: BoardId,
        /// The write (op id inside makes retries idempotent).
        write: Write,
    },
}

impl Command {
    /// The board the command is about.
    pub fn board(&self) -> &BoardId {
        match self {
            Command::CreateBoard { board, .. }
            | Command::DropBoard { board }
            | Command::Write { board, .. }
            | Command::Apply { board, .. }
            | Command::Remove { board, .. }
            | Command::Roll { board, .. } => board,
        }
    }
}

/// The result of one applied [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandOutcome {
    /// The board exists (created now or before with the same configuration).
    Created,
    /// Whether a board was dropped.
    Dropped(bool),
    /// A write's change record. Entries and `applied`/`changed` are exact; ranks and
    /// `top_changed` are relative to the answering group (exact when the layout has one group;
    /// otherwise `top_changed` is true whenever the board-wide top may have changed).
    Written(WriteOutcome),
    /// A write applied without outcome ranks: a [`Command::Apply`] (its caller wants none), or
    /// a [`Command::Write`] on a replica that did not propose it (no client waits for this
    /// reply). Whether it was applied (false for a repeated op id).
    Replicated(bool),
    /// What a removal did (`None`: the member was absent). Ranks are group-relative.
    Removed(Option<RemoveOutcome>),
    /// Whether the windows rolled.
    Rolled(bool),
}

/// A batch of commands committed as one Raft entry.
///
/// The commands sit behind an `Arc` because openraft clones entries (from the log cache into
/// each follower's AppendEntries, into the apply queue); a batch of a thousand writes is then
/// copied by reference, not deeply.
///
/// # Encoding
///
/// A batch is a log entry, so its encoding is a stored format, versioned:
///
/// 1. (releases before the op-id clock) the commands as a sequence: their count, then each;
///    `CreateBoard` held a [`BoardConfigV1`].
/// 2. the marker `u64::MAX` (a count no format-1 batch can have), the format number `2: u16`,
///    [`Batch::proposed_at_ms`], then the commands.
/// 3. the same layout with the format number `3`: the commands may include
///    [`Command::Apply`]. Written only for a batch that holds one; every other batch is still
///    written as format 2, byte for byte, so nodes of the previous release keep reading the
///    batches they can apply, and refuse a format-3 batch by its number ("batch format 3 is not
///    supported") instead of misreading an unknown command.
///
/// All three are read, so a node restarted on a newer release replays the log its older release
/// wrote; format-1 batches apply without a time (see [`Batch::proposed_at_ms`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Commands, applied in order. An `Arc<Vec<_>>` rather than an `Arc<[_]>`: a decoded
    /// batch's vector becomes the shared value as is, where an `Arc<[_]>` would copy every
    /// command into a new allocation (measured at ~2% of the CPU of a loaded group, each entry
    /// being decoded on every node).
    pub commands: std::sync::Arc<Vec<Command>>,
    /// When the group's leader proposed the batch, in ms since the epoch by its clock. The
    /// node that receives a client's batch sets it just before proposing it (a client's value is
    /// replaced), so it is in the log and every replica applies the batch at the same time.
    /// leaderboard-core uses it as the op-id clock of the partitions the batch writes to
    /// (`Board::write_at`), never a replica's own clock. `None` (a batch not proposed through a
    /// node, or read from a format-1 log) leaves the op-id clock where it is.
    pub proposed_at_ms: Option<i64>,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl Batch {
    /// A batch of `commands`, not yet stamped with a time.
    pub fn new(commands: Vec<Command>) -> Self {
        Self {
            commands: commands.into(),
            proposed_at_ms: None,
        }
    }

    /// The same batch stamped with `now_ms` as the time it is proposed.
    pub fn proposed_at(mut self, now_ms: i64) -> Self {
        self.proposed_at_ms = Some(now_ms);
        self
    }
}

/// First value of a batch encoded in format 2 or later (see [`Batch`]): a format-1 batch starts
/// with its number of commands, which is never this large.
const BATCH_MARKER: u64 = u64::MAX;
/// The batch format this build writes for batches without [`Command::Apply`].
const BATCH_FORMAT_2: u16 = 2;
/// The newest batch format this build reads and writes (batches with [`Command::Apply`]).
const BATCH_FORMAT: u16 = 3;

impl Batch {
    /// The format this batch is encoded in: the oldest that can hold its commands.
    fn format(&self) -> u16 {
        if self
            .commands
            .iter()
            .any(|c| matches!(c, Command::Apply { .. }))
        {
            BATCH_FORMAT
        } else {
            BATCH_FORMAT_2
        }
    }
}

impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(4)?;
        t.serialize_element(&BATCH_MARKER)?;
        t.serialize_element(&self.format())?;
        t.serialize_element(&self.proposed_at_ms)?;
        t.serialize_element(self.commands.as_slice())?;
        t.end()
    }
}

/// A [`Command`] as format-1 batches stored it (only `CreateBoard` differs).
#[derive(Serialize, Deserialize)]
enum CommandV1 {
    CreateBoard {
        board: BoardId,
        config: BoardConfigV1,
    },
    DropBoard {
        board: BoardId,
    },
    Write {
        board: BoardId,
        write: Write,
    },
    Remove {
        board: BoardId,
        member: String,
    },
    Roll {
        board: BoardId,
        now: i64,
    },
}

impl From<CommandV1> for Command {
    fn from(c: CommandV1) -> Self {
        match c {
            CommandV1::CreateBoard { board, config } => Command::CreateBoard {
                board,
                config: config.into(),
            },
            CommandV1::DropBoard { board } => Command::DropBoard { board },
            CommandV1::Write { board, write } => Command::Write { board, write },
            CommandV1::Remove { board, member } => Command::Remove { board, member },
            CommandV1::Roll { board, now } => Command::Roll { board, now },
        }
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BatchVisitor;

        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = Batch;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a batch of commands")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
                let first: u64 = element(&mut seq, 0)?;
                if first != BATCH_MARKER {
                    // Format 1: `first` commands follow.
                    let n = usize::try_from(first)
                        .map_err(|_| de::Error::custom("batch length out of range"))?;
                    // Capacity from data only up to a small bound: the length may be damaged.
                    let mut commands = Vec::with_capacity(n.min(1024));
                    for i in 0..n {
                        commands.push(Command::from(element::<CommandV1, A>(&mut seq, i + 1)?));
                    }
                    return Ok(Batch::new(commands));
                }
                let format: u16 = element(&mut seq, 1)?;
                if !(BATCH_FORMAT_2..=BATCH_FORMAT).contains(&format) {
                    return Err(de::Error::custom(format!(
                        "batch format {format} is not supported (this build reads formats 1 to \
                         {BATCH_FORMAT})"
                    )));
                }
                let proposed_at_ms: Option<i64> = element(&mut seq, 2)?;
                let commands: Vec<Command> = element(&mut seq, 3)?;
                if format == BATCH_FORMAT_2
                    && commands.iter().any(|c| matches!(c, Command::Apply { .. }))
                {
                    return Err(de::Error::custom(
                        "a format-2 batch holds a command of format 3 (damaged entry)",
                    ));
                }
                Ok(Batch {
                    commands: commands.into(),
                    proposed_at_ms,
                })
            }
        }

        // Read as an open-ended tuple: the first value decides what follows.
        d.deserialize_tuple(usize::MAX, BatchVisitor)
    }
}

/// The next value of a sequence, which must be there.
fn element<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    index: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(index, &"a complete batch"))
}

/// One result per command of a batch, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReply {
    /// Results.
    pub results: Vec<Result<CommandOutcome, Error>>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.commands.len())
    }
}

/// A read of one group's state. Board-wide answers are assembled by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// The board's configuration (`None` if the board does not exist).
    BoardConfig {
        /// Board id.
        board: BoardId,
    },
    /// Board ids, sorted.
    Boards,
    /// Number of entries this group holds.
    Count {
        /// Board id.
        board: BoardId,
        /// Window.
        window: Window,
    },
    /// A member's entry (asked of the member's group).
    Entry {
        /// Board id.
        board: BoardId,
        /// Member id.
        member: String,
        /// Window.
        window: Window,
    },
    /// Entries of this group ranking strictly above `key`; with [`RankStyle::Competition`]
    /// strictly above the key's tie group.
    CountAbove {
        /// Board id.
        board: BoardId,
        /// The key.
        key: SortKey,
        /// Rank style.
        style: RankStyle,
        /// Window.
        window: Window,
    },
    /// The best `n` entries ranking strictly after `after` (from the top if `None`), plus how
    /// many entries of this group rank at or before `after`.
    After {
        /// Board id.
        board: BoardId,
        /// Position to continue from.
        after: Option<SortKey>,
        /// How many.
        n: usize,
        /// Window.
        window: Window,
    },
    /// Up to `n` entries ranking strictly before `key`, nearest first.
    Before {
        /// Board id.
        board: BoardId,
        /// The key.
        key: SortKey,
        /// How many.
        n: usize,
        /// Window.
        window: Window,
    },
}

/// Answers to [`Query`]s, in the same order of variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryReply {
    /// Answer to [`Query::BoardConfig`].
    BoardConfig(Option<BoardConfig>),
    /// Answer to [`Query::Boards`].
    Boards(Vec<BoardId>),
    /// Answer to [`Query::Count`].
    Count(u64),
    /// Answer to [`Query::Entry`].
    Entry(Option<Entry>),
    /// Answer to [`Query::CountAbove`].
    CountAbove(u64),
    /// Answer to [`Query::After`].
    After {
        /// Entries after the position, best first.
        entries: Vec<Entry>,
        /// Entries of this group at or before the position.
        at_or_before: u64,
    },
    /// Answer to [`Query::Before`]: nearest first.
    Before(Vec<Entry>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use leaderboard_core::{OpId, Order, RankStyle, WriteOp};

    /// A batch as format 1 encoded it: the derived encoding of its command list.
    #[derive(Serialize)]
    struct BatchV1 {
        commands: Vec<CommandV1>,
    }

    fn config_v1() -> BoardConfigV1 {
        BoardConfigV1 {
            order: Order::LowFirst,
            partitions: 4,
            default_op: WriteOp::Incr,
            rank_style: RankStyle::Competition,
            reset: None,
            top_n_watch: 3,
            dedupe_capacity: 16_384,
            max_metadata_bytes: 64,
        }
    }

    #[test]
    fn batches_round_trip_with_their_time() {
        let batch = Batch::new(vec![
            Command::CreateBoard {
                board: BoardId::new("b"),
                config: BoardConfig::default(),
            },
            Command::Write {
                board: BoardId::new("b"),
                write: Write::new("a", 1, 2).op_id(OpId(3)),
            },
        ]);
        for b in [batch.clone(), batch.proposed_at(1_700_000_000_123)] {
            let bytes = crate::codec::encode(&b).unwrap();
            assert_eq!(crate::codec::decode::<Batch>(&bytes).unwrap(), b);
        }
    }

    #[test]
    fn format_1_batches_still_decode() {
        let old = BatchV1 {
            commands: vec![
                CommandV1::CreateBoard {
                    board: BoardId::new("b"),
                    config: config_v1(),
                },
                CommandV1::Write {
                    board: BoardId::new("b"),
                    write: Write::new("a", 1, 2).op_id(OpId(3)),
                },
                CommandV1::DropBoard {
                    board: BoardId::new("b"),
                },
                CommandV1::Remove {
                    board: BoardId::new("b"),
                    member: "a".into(),
                },
                CommandV1::Roll {
                    board: BoardId::new("b"),
                    now: 9,
                },
            ],
        };
        let bytes = crate::codec::encode(&old).unwrap();
        let batch: Batch = crate::codec::decode(&bytes).unwrap();
        assert_eq!(batch.proposed_at_ms, None);
        assert_eq!(batch.commands.len(), 5);
        assert_eq!(
            batch.commands[0],
            Command::CreateBoard {
                board: BoardId::new("b"),
                config: config_v1().into(),
            }
        );
        assert_eq!(
            batch.commands[4],
            Command::Roll {
                board: BoardId::new("b"),
                now: 9
            }
        );
        // The empty batch of format 1 (openraft's storage tests write one).
        let empty = crate::codec::encode(&BatchV1 { commands: vec![] }).unwrap();
        assert_eq!(
            crate::codec::decode::<Batch>(&empty).unwrap(),
            Batch::default()
        );
    }

    /// [`Command`] as format 2 had it (before [`Command::Apply`]).
    #[derive(Serialize)]
    #[allow(dead_code)] // variants kept for their position (the encoded variant index)
    enum CommandV2 {
        CreateBoard { board: BoardId, config: BoardConfig },
        DropBoard { board: BoardId },
        Write { board: BoardId, write: Write },
        Remove { board: BoardId, member: String },
        Roll { board: BoardId, now: i64 },
    }

    /// A batch exactly as format 2 wrote it.
    fn format_2_bytes(proposed_at_ms: Option<i64>, commands: Vec<CommandV2>) -> Vec<u8> {
        crate::codec::encode(&(u64::MAX, 2u16, proposed_at_ms, commands)).unwrap()
    }

    #[test]
    fn batches_without_apply_are_still_written_as_format_2() {
        let batch = Batch::new(vec![
            Command::CreateBoard {
                board: BoardId::new("b"),
                config: BoardConfig::default(),
            },
            Command::Write {
                board: BoardId::new("b"),
                write: Write::new("a", 1, 2).op_id(OpId(3)),
            },
        ])
        .proposed_at(77);
        let old = format_2_bytes(
            Some(77),
            vec![
                CommandV2::CreateBoard {
                    board: BoardId::new("b"),
                    config: BoardConfig::default(),
                },
                CommandV2::Write {
                    board: BoardId::new("b"),
                    write: Write::new("a", 1, 2).op_id(OpId(3)),
                },
            ],
        );
        // Byte for byte what the previous release wrote and reads.
        assert_eq!(crate::codec::encode(&batch).unwrap(), old);
        assert_eq!(crate::codec::decode::<Batch>(&old).unwrap(), batch);
    }

    #[test]
    fn a_format_2_entry_still_applies_with_outcomes() {
        let old = format_2_bytes(
            Some(1_000),
            vec![
                CommandV2::CreateBoard {
                    board: BoardId::new("b"),
                    config: BoardConfig::default(),
                },
                CommandV2::Write {
                    board: BoardId::new("b"),
                    write: Write::new("a", 7, 0).op_id(OpId(1)),
                },
                CommandV2::Write {
                    board: BoardId::new("b"),
                    write: Write::new("c", 9, 0),
                },
            ],
        );
        let batch: Batch = crate::codec::decode(&old).unwrap();
        let mut app = crate::state_machine::app::AppState::new(0, crate::layout::Layout::default());
        let results = app.apply(&batch).results;
        assert_eq!(results[0], Ok(CommandOutcome::Created));
        match (&results[1], &results[2]) {
            (Ok(CommandOutcome::Written(a)), Ok(CommandOutcome::Written(c))) => {
                assert!(a.applied && c.applied);
                assert_eq!((a.new.rank, c.new.rank), (1, 1));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn apply_changes_the_board_like_write_without_ranks() {
        use crate::state_machine::app::AppState;
        let board = BoardId::new("b");
        let create = Command::CreateBoard {
            board: board.clone(),
            config: BoardConfig::default(),
        };
        let writes = [
            Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1)),
            Write::new("b", 3, 1).op(WriteOp::Incr).op_id(OpId(2)),
            Write::new("a", 4, 2).op(WriteOp::Incr).op_id(OpId(3)),
            // A retry of op id 1: remembered, not applied again.
            Write::new("a", 5, 0).op(WriteOp::Incr).op_id(OpId(1)),
        ];
        let (mut ranked, mut unranked) = (
            AppState::new(0, crate::layout::Layout::default()),
            AppState::new(0, crate::layout::Layout::default()),
        );
        let with = |f: fn(BoardId, Write) -> Command| {
            let mut cmds = vec![create.clone()];
            cmds.extend(writes.iter().map(|w| f(board.clone(), w.clone())));
            Batch::new(cmds).proposed_at(10)
        };
        let r = ranked.apply(&with(|board, write| Command::Write { board, write }));
        let u = unranked.apply(&with(|board, write| Command::Apply { board, write }));
        let applied: Vec<bool> = u.results[1..]
            .iter()
            .map(|r| match r {
                Ok(CommandOutcome::Replicated(a)) => *a,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(applied, [true, true, true, false]);
        assert!(matches!(r.results[1], Ok(CommandOutcome::Written(_))));
        // The same entries either way.
        let (rb, ub) = (
            ranked.boards().get("b").unwrap(),
            unranked.boards().get("b").unwrap(),
        );
        for m in ["a", "b"] {
            assert_eq!(rb.entry(m), ub.entry(m), "{m}");
        }
        assert_eq!(ub.entry("a").unwrap().entry.score, 9);
        assert_eq!(rb.op_id_stats().entries, ub.op_id_stats().entries);
        // A retry of an unranked write as a ranked one is answered from memory.
        let retry = unranked.apply(&Batch::new(vec![Command::Write {
            board: board.clone(),
            write: writes[1].clone(),
        }]));
        match &retry.results[0] {
            Ok(CommandOutcome::Written(o)) => assert!(!o.applied),
            other => panic!("unexpected {other:?}"),
        }
        // Validation and ownership are checked as for a write.
        let bad = unranked.apply(&Batch::new(vec![Command::Apply {
            board: board.clone(),
            write: Write::new("", 1, 0),
        }]));
        assert!(bad.results[0].is_err());
    }

    #[test]
    fn batches_with_apply_are_format_3_and_round_trip() {
        let batch = Batch::new(vec![
            Command::Write {
                board: BoardId::new("b"),
                write: Write::new("a", 1, 2),
            },
            Command::Apply {
                board: BoardId::new("b"),
                write: Write::new("c", 4, 5).op_id(OpId(6)),
            },
        ])
        .proposed_at(9);
        let bytes = crate::codec::encode(&batch).unwrap();
        // The format number follows the 9-byte marker; the previous release reads only 1 and 2
        // and refuses anything else by its number.
        assert_eq!(bytes[9], 3);
        assert_eq!(crate::codec::decode::<Batch>(&bytes).unwrap(), batch);
        // The same commands labelled format 2 are damage, not a batch.
        let mut relabelled = bytes.clone();
        relabelled[9] = 2;
        let err = crate::codec::decode::<Batch>(&relabelled).unwrap_err();
        assert!(err.to_string().contains("format-2 batch"), "{err}");
    }

    #[test]
    fn unknown_formats_and_damaged_batches_are_errors() {
        let mut bytes = crate::codec::encode(&Batch::default().proposed_at(5)).unwrap();
        // Marker: 0xFD then eight 0xFF bytes; the format number follows.
        assert_eq!(bytes[0], 0xFD);
        bytes[9] = 4;
        let err = crate::codec::decode::<Batch>(&bytes).unwrap_err();
        assert!(err.to_string().contains("batch format 4"), "{err}");
        // A format-1 count far beyond the data fails without allocating for it.
        let huge = crate::codec::encode(&(u64::MAX - 1)).unwrap();
        assert!(crate::codec::decode::<Batch>(&huge).is_err());
        assert!(crate::codec::decode::<Batch>(&[]).is_err());
    }
}
