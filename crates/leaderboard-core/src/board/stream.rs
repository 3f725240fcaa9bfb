//! Chunked board snapshots: a board written, and rebuilt, a bounded piece
//! at a time, so that neither side ever holds the whole encoded board (or
//! a list of all its entries) in memory.
//!
//! A stream is a sequence of chunks, each a byte string the caller frames
//! and stores or ships as it likes (a shard node puts each in one
//! checksummed file record). The first chunk is a versioned head (magic
//! `LBS1`, [`crate::SNAPSHOT_VERSION`], then the board id, configuration
//! and whether a previous window follows). Every later chunk starts with a
//! kind byte:
//!
//! | kind | body |
//! |-----:|------|
//! | 1 window | the window's span; its `P` partitions follow |
//! | 2 partition | op-id clock, entry count, op-id count |
//! | 3 entries | `u32` LE count, then that many entries, in rank order |
//! | 4 op ids | `u32` LE count, then that many (op id, stamp, outcome), oldest first |
//! | 5 end | the board's total entry count |
//!
//! Bodies are bincode (v2, standard config). The loader checks every count
//! and the order of the pieces, so a stream with a chunk missing, repeated
//! or out of place is refused as [`Error::CorruptSnapshot`], never half
//! loaded. The op-id memory is carried whole, like the entries a list
//! chunk at a time: each partition's op-id clock, and every remembered id
//! with the clock it was remembered at and its outcome; the policy (horizon
//! and byte bound) is the board configuration's.
//!
//! Versions (of the head; the same numbers as the other snapshots):
//!
//! 1. The configuration held an op-id count (`dedupe_capacity`), the
//!    partition chunk that count instead of the clock, and op ids were
//!    (op id, outcome) without a stamp. Still read: the board gets the
//!    default op-id policy and its ids count as remembered at the first
//!    time each partition is told (as for version-1 board snapshots).
//! 2. The layout above.
//!
//! A head of any other version is refused with
//! [`Error::UnsupportedSnapshotVersion`] before anything is loaded.

use std::sync::Arc;

use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Board, Standings, Windows};
use crate::partition::{NO_TIME, PartitionLoader, RememberedOp};
use crate::snapshot::{SNAPSHOT_VERSION, decode_body, decode_header, encode_versioned};
use crate::{
    BoardConfig, BoardConfigV1, BoardId, Entry, Error, OpId, Partition, Result, WindowSpan,
    WriteOutcome,
};

const STREAM_MAGIC: &[u8; 4] = b"LBS1";

const WINDOW: u8 = 1;
const PARTITION: u8 = 2;
const ENTRIES: u8 = 3;
const OP_IDS: u8 = 4;
const END: u8 = 5;

/// Smallest chunk target accepted (smaller requests are raised to it).
const MIN_CHUNK: usize = 256;

#[derive(Serialize, Deserialize)]
struct Head {
    id: String,
    config: BoardConfig,
    previous: bool,
}

/// The head of a version-1 stream.
#[derive(Serialize, Deserialize)]
struct HeadV1 {
    id: String,
    config: BoardConfigV1,
    previous: bool,
}

#[derive(Serialize, Deserialize)]
struct PartitionHead {
    /// The partition's op-id clock ([`NO_TIME`] if never told a time).
    op_id_clock: i64,
    entries: u64,
    op_ids: u64,
}

/// A partition chunk of a version-1 stream.
#[derive(Serialize, Deserialize)]
struct PartitionHeadV1 {
    /// The old op-id count bound; the default policy replaces it.
    dedupe_capacity: u64,
    entries: u64,
    op_ids: u64,
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 1 << 30 }>()
}

fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    bincode::serde::encode_into_std_write(value, out, bincode_config())
        .expect("encoding into a Vec cannot fail");
}

/// Decodes one value from the front of `bytes`; returns it and the rest.
fn decode_front<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8])> {
    let (v, used) = bincode::serde::decode_from_slice(bytes, bincode_config())
        .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
    Ok((v, &bytes[used..]))
}

/// Decodes exactly one value filling `bytes`.
fn decode_all<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (v, rest) = decode_front(bytes)?;
    if !rest.is_empty() {
        return Err(Error::CorruptSnapshot(format!(
            "{} trailing bytes in a snapshot chunk",
            rest.len()
        )));
    }
    Ok(v)
}

/// Packs list items into chunks of about `max` bytes.
struct Packer<'s, F> {
    buf: Vec<u8>,
    kind: u8,
    count: u32,
    max: usize,
    sink: &'s mut F,
}

impl<F, E> Packer<'_, F>
where
    F: FnMut(&[u8]) -> std::result::Result<(), E>,
{
    /// Emits the list being packed, if any.
    fn flush(&mut self) -> std::result::Result<(), E> {
        if self.count > 0 {
            self.buf[1..5].copy_from_slice(&self.count.to_le_bytes());
            (self.sink)(&self.buf)?;
        }
        self.buf.clear();
        self.count = 0;
        Ok(())
    }

    /// Adds one item to a list chunk of `kind`; emits the chunk once it
    /// reaches the size target.
    fn item<T: Serialize>(&mut self, kind: u8, item: &T) -> std::result::Result<(), E> {
        self.item_with(kind, |buf| encode_into(item, buf))
    }

    /// Adds one item, whose encoding `encode` appends, to a list chunk of
    /// `kind`; emits the chunk once it reaches the size target.
    fn item_with(
        &mut self,
        kind: u8,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> std::result::Result<(), E> {
        if self.count > 0 && (self.kind != kind || self.count == u32::MAX) {
            self.flush()?;
        }
        if self.count == 0 {
            self.buf.clear();
            self.buf.push(kind);
            self.buf.extend_from_slice(&[0; 4]);
            self.kind = kind;
        }
        encode(&mut self.buf);
        self.count += 1;
        if self.buf.len() >= self.max {
            self.flush()?;
        }
        Ok(())
    }

    /// Emits a single-value chunk of `kind` (after the pending list).
    fn single<T: Serialize>(&mut self, kind: u8, value: &T) -> std::result::Result<(), E> {
        self.flush()?;
        self.buf.push(kind);
        encode_into(value, &mut self.buf);
        (self.sink)(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

impl Board {
    /// Writes the whole board (config, both windows, metadata, op-id
    /// memory with its clock and stamps) as a stream of chunks handed to
    /// `sink` one at a time, each about `max_chunk` bytes (a list chunk is
    /// emitted as soon as it reaches the target, so it exceeds it by at
    /// most one entry). Only one chunk is in memory at once; [`BoardLoader`]
    /// rebuilds the board from the chunks in the same order. The board is
    /// read-locked for the duration, so the stream is one consistent cut.
    /// The first error of `sink` stops the stream and is returned.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardLoader, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// for i in 0..100 {
    ///     b.write(Write::new(format!("m{i}"), i, 0)).unwrap();
    /// }
    /// let mut chunks: Vec<Vec<u8>> = Vec::new();
    /// b.snapshot_chunks(512, |c| Ok::<_, ()>(chunks.push(c.to_vec()))).unwrap();
    /// assert!(chunks.len() > 3);
    /// let mut loader = BoardLoader::new();
    /// for c in &chunks {
    ///     loader.push(c).unwrap();
    /// }
    /// let copy = loader.finish().unwrap();
    /// assert_eq!(copy.top(100), b.top(100));
    /// ```
    pub fn snapshot_chunks<F, E>(&self, max_chunk: usize, mut sink: F) -> std::result::Result<(), E>
    where
        F: FnMut(&[u8]) -> std::result::Result<(), E>,
    {
        let windows = self.windows.read();
        let head = Head {
            id: self.id.to_string(),
            config: (*self.config).clone(),
            previous: windows.previous.is_some(),
        };
        sink(&encode_versioned(STREAM_MAGIC, &head))?;
        let mut packer = Packer {
            buf: Vec::new(),
            kind: 0,
            count: 0,
            max: max_chunk.max(MIN_CHUNK),
            sink: &mut sink,
        };
        let mut total: u64 = 0;
        for standings in std::iter::once(&windows.current).chain(windows.previous.as_ref()) {
            packer.single(WINDOW, &standings.span)?;
            let guards = standings.read_all();
            for part in guards.iter() {
                let head = PartitionHead {
                    op_id_clock: part.op_id_clock(),
                    entries: part.len() as u64,
                    op_ids: part.op_id_count() as u64,
                };
                packer.single(PARTITION, &head)?;
                part.try_for_each_entry(|e| packer.item(ENTRIES, &e))?;
                // Each id as the bytes of its `RememberedOp`, transcoded from
                // the stored outcome rather than decoded and encoded again.
                part.try_for_each_op_id_encoded(|op| {
                    packer.item_with(OP_IDS, |buf| buf.extend_from_slice(op))
                })?;
                total += head.entries;
            }
        }
        packer.single(END, &total)
    }
}

/// A partition being loaded, with what its head announced.
struct OpenPartition {
    loader: PartitionLoader,
    op_ids: u64,
    op_ids_seen: u64,
}

/// A window being loaded.
struct OpenWindow {
    span: WindowSpan,
    partitions: Vec<RwLock<Partition>>,
}

/// Rebuilds a [`Board`] from the chunks of [`Board::snapshot_chunks`],
/// one chunk at a time: entries go straight into their partition, so the
/// loader never holds more than the board being built plus one chunk.
///
/// ```
/// use leaderboard_core::{Board, BoardLoader, Error};
/// let b = Board::new("b", Default::default()).unwrap();
/// let mut chunks: Vec<Vec<u8>> = Vec::new();
/// b.snapshot_chunks(4096, |c| Ok::<_, ()>(chunks.push(c.to_vec()))).unwrap();
/// // A stream cut short is refused.
/// let mut loader = BoardLoader::new();
/// loader.push(&chunks[0]).unwrap();
/// assert!(!loader.is_done());
/// assert!(matches!(loader.finish(), Err(Error::CorruptSnapshot(_))));
/// ```
#[derive(Default)]
pub struct BoardLoader {
    head: Option<(BoardId, Arc<BoardConfig>, bool)>,
    /// Format version of the stream (from its head).
    version: u16,
    windows: Vec<Arc<Standings>>,
    window: Option<OpenWindow>,
    partition: Option<OpenPartition>,
    entries: u64,
    done: Option<Board>,
}

impl BoardLoader {
    /// A loader waiting for a stream's first chunk.
    ///
    /// ```
    /// assert!(!leaderboard_core::BoardLoader::new().is_done());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the stream's last chunk has been pushed.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardLoader};
    /// let mut chunks: Vec<Vec<u8>> = Vec::new();
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.snapshot_chunks(4096, |c| Ok::<_, ()>(chunks.push(c.to_vec()))).unwrap();
    /// let mut loader = BoardLoader::new();
    /// for c in &chunks {
    ///     loader.push(c).unwrap();
    /// }
    /// assert!(loader.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.done.is_some()
    }

    /// Consumes the next chunk of the stream. Chunks must come in the order
    /// they were written; anything out of place, inconsistent or after the
    /// end is [`Error::CorruptSnapshot`], and a head of a format version
    /// this build does not read [`Error::UnsupportedSnapshotVersion`].
    ///
    /// ```
    /// use leaderboard_core::{BoardLoader, Error};
    /// let mut head = b"LBS1".to_vec();
    /// head.extend_from_slice(&99u16.to_le_bytes());
    /// let err = BoardLoader::new().push(&head).unwrap_err();
    /// assert!(matches!(err, Error::UnsupportedSnapshotVersion { found: 99, .. }));
    /// ```
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if self.done.is_some() {
            return Err(corrupt("chunk after the end of the board"));
        }
        let Some((_, config, _)) = &self.head else {
            let (version, body) = decode_header(STREAM_MAGIC, chunk)?;
            let head = match version {
                SNAPSHOT_VERSION => decode_body::<Head>(body)?,
                _ => {
                    let h: HeadV1 = decode_body(body)?;
                    Head {
                        id: h.id,
                        config: h.config.into(),
                        previous: h.previous,
                    }
                }
            };
            head.config
                .validate()
                .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
            self.version = version;
            self.head = Some((BoardId::from(head.id), Arc::new(head.config), head.previous));
            return Ok(());
        };
        let config = config.clone();
        let (&kind, body) = chunk.split_first().ok_or_else(|| corrupt("empty chunk"))?;
        match kind {
            WINDOW => {
                self.close_window(&config)?;
                let span: WindowSpan = decode_all(body)?;
                self.window = Some(OpenWindow {
                    span,
                    partitions: Vec::with_capacity(config.partitions as usize),
                });
            }
            PARTITION => {
                self.close_partition()?;
                let w = self
                    .window
                    .as_ref()
                    .ok_or_else(|| corrupt("partition outside a window"))?;
                if w.partitions.len() >= config.partitions as usize {
                    return Err(corrupt("more partitions than the board has"));
                }
                let head = match self.version {
                    SNAPSHOT_VERSION => decode_all::<PartitionHead>(body)?,
                    _ => {
                        let h: PartitionHeadV1 = decode_all(body)?;
                        PartitionHead {
                            op_id_clock: NO_TIME,
                            entries: h.entries,
                            op_ids: h.op_ids,
                        }
                    }
                };
                self.partition = Some(OpenPartition {
                    loader: PartitionLoader::new(
                        config.order,
                        config.op_ids,
                        head.op_id_clock,
                        head.entries,
                        head.op_ids,
                    ),
                    op_ids: head.op_ids,
                    op_ids_seen: 0,
                });
                self.entries += head.entries;
            }
            ENTRIES => {
                let p = self
                    .partition
                    .as_mut()
                    .ok_or_else(|| corrupt("entries outside a partition"))?;
                let (n, mut rest) = list_head(body)?;
                for _ in 0..n {
                    let (e, r): (Entry, _) = decode_front(rest)?;
                    p.loader.push(e)?;
                    rest = r;
                }
                if !rest.is_empty() {
                    return Err(corrupt("trailing bytes after entries"));
                }
            }
            OP_IDS => {
                let p = self
                    .partition
                    .as_mut()
                    .ok_or_else(|| corrupt("op ids outside a partition"))?;
                let (n, mut rest) = list_head(body)?;
                for _ in 0..n {
                    let (op, r) = if self.version == SNAPSHOT_VERSION {
                        decode_front::<RememberedOp>(rest)?
                    } else {
                        let ((id, outcome), r): ((OpId, WriteOutcome), _) = decode_front(rest)?;
                        let op = RememberedOp {
                            id,
                            at: NO_TIME,
                            outcome,
                        };
                        (op, r)
                    };
                    p.op_ids_seen += 1;
                    if p.op_ids_seen > p.op_ids {
                        return Err(corrupt("more op ids than the partition announced"));
                    }
                    p.loader.remember(op)?;
                    rest = r;
                }
                if !rest.is_empty() {
                    return Err(corrupt("trailing bytes after op ids"));
                }
            }
            END => {
                self.close_window(&config)?;
                let total: u64 = decode_all(body)?;
                let (id, config, previous) = self.head.take().expect("head checked above");
                if self.windows.len() != 1 + usize::from(previous) {
                    return Err(corrupt("window missing before the end"));
                }
                if total != self.entries {
                    return Err(Error::CorruptSnapshot(format!(
                        "board announced {total} entries, partitions hold {}",
                        self.entries
                    )));
                }
                let mut windows = std::mem::take(&mut self.windows).into_iter();
                let current = windows.next().expect("one window at least");
                self.done = Some(Board {
                    id,
                    config,
                    windows: parking_lot::RwLock::new(Windows {
                        current,
                        previous: windows.next(),
                    }),
                });
            }
            other => {
                return Err(Error::CorruptSnapshot(format!(
                    "unknown snapshot chunk kind {other}"
                )));
            }
        }
        Ok(())
    }

    /// The rebuilt board; an error if the stream has not reached its end.
    ///
    /// ```
    /// use leaderboard_core::{Board, BoardLoader, Write};
    /// let b = Board::new("b", Default::default()).unwrap();
    /// b.write(Write::new("a", 1, 0)).unwrap();
    /// let mut loader = BoardLoader::new();
    /// b.snapshot_chunks(4096, |c| loader.push(c)).unwrap();
    /// assert_eq!(loader.finish().unwrap().count(), 1);
    /// ```
    pub fn finish(self) -> Result<Board> {
        self.done
            .ok_or_else(|| corrupt("the board's snapshot stream ends early"))
    }

    fn close_partition(&mut self) -> Result<()> {
        let Some(p) = self.partition.take() else {
            return Ok(());
        };
        if p.op_ids_seen != p.op_ids {
            return Err(Error::CorruptSnapshot(format!(
                "partition announced {} op ids, found {}",
                p.op_ids, p.op_ids_seen
            )));
        }
        let part = p.loader.finish()?;
        self.window
            .as_mut()
            .expect("a partition is only opened inside a window")
            .partitions
            .push(RwLock::new(part));
        Ok(())
    }

    fn close_window(&mut self, config: &Arc<BoardConfig>) -> Result<()> {
        self.close_partition()?;
        let Some(w) = self.window.take() else {
            return Ok(());
        };
        if w.partitions.len() != config.partitions as usize {
            return Err(Error::CorruptSnapshot(format!(
                "window has {} partitions, config says {}",
                w.partitions.len(),
                config.partitions
            )));
        }
        let previous = self.head.as_ref().is_some_and(|h| h.2);
        if self.windows.len() > usize::from(previous) {
            return Err(corrupt("more windows than the head announced"));
        }
        self.windows.push(Arc::new(Standings {
            span: w.span,
            config: config.clone(),
            partitions: w.partitions.into_boxed_slice(),
            top_cache: Default::default(),
        }));
        Ok(())
    }
}

fn corrupt(what: &str) -> Error {
    Error::CorruptSnapshot(what.to_string())
}

/// The item count at the start of a list chunk, and the items' bytes.
fn list_head(body: &[u8]) -> Result<(u32, &[u8])> {
    if body.len() < 4 {
        return Err(corrupt("list chunk without a count"));
    }
    let (n, rest) = body.split_at(4);
    Ok((u32::from_le_bytes(n.try_into().expect("4 bytes")), rest))
}

impl std::fmt::Debug for BoardLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardLoader")
            .field("board", &self.head.as_ref().map(|h| &h.0))
            .field("entries", &self.entries)
            .field("done", &self.done.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Order, RankStyle, RankedEntry, Write, WriteOp};

    /// A chunk of `kind` whose body is `value`.
    fn single<T: Serialize>(kind: u8, value: &T) -> Vec<u8> {
        let mut out = vec![kind];
        encode_into(value, &mut out);
        out
    }

    /// A list chunk of `kind` holding `items`.
    fn list<T: Serialize>(kind: u8, items: &[T]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(items.len() as u32).to_le_bytes());
        for i in items {
            encode_into(i, &mut out);
        }
        out
    }

    /// A version-1 stream as the release before op-id times wrote it: one
    /// partition holding `alice` (10 points, from an `incr` with op id 1).
    fn version_1_stream() -> Vec<Vec<u8>> {
        let alice = Entry::new("alice", 10, 5);
        let outcome = WriteOutcome {
            applied: true,
            changed: true,
            old: None,
            new: RankedEntry {
                rank: 1,
                entry: alice.clone(),
            },
            top_changed: true,
        };
        let head = HeadV1 {
            id: "old".into(),
            config: BoardConfigV1 {
                order: Order::HighFirst,
                partitions: 1,
                default_op: WriteOp::Incr,
                rank_style: RankStyle::Ordinal,
                reset: None,
                top_n_watch: 10,
                dedupe_capacity: 16_384,
                max_metadata_bytes: 256,
            },
            previous: false,
        };
        let mut head = encode_versioned(STREAM_MAGIC, &head);
        head[4..6].copy_from_slice(&1u16.to_le_bytes());
        vec![
            head,
            single(WINDOW, &WindowSpan::forever()),
            single(
                PARTITION,
                &PartitionHeadV1 {
                    dedupe_capacity: 16_384,
                    entries: 1,
                    op_ids: 1,
                },
            ),
            list(ENTRIES, &[alice]),
            list(OP_IDS, &[(OpId(1), outcome)]),
            single(END, &1u64),
        ]
    }

    fn load(chunks: &[Vec<u8>]) -> Result<Board> {
        let mut loader = BoardLoader::new();
        for c in chunks {
            loader.push(c)?;
        }
        loader.finish()
    }

    #[test]
    fn version_1_streams_are_read_with_the_default_policy() {
        assert_eq!(SNAPSHOT_VERSION, 2);
        let b = load(&version_1_stream()).unwrap();
        assert_eq!(b.config().op_ids, Default::default());
        assert_eq!(b.entry("alice").unwrap().entry.score, 10);
        // The id, kept without a time, counts as remembered at the first
        // time the partition is told, and is forgotten a horizon later.
        let retry = Write::new("alice", 10, 5).op(WriteOp::Incr).op_id(OpId(1));
        let out = b.write_at(retry.clone(), 1_000_000).unwrap();
        assert!(!out.applied);
        assert_eq!(out.new.entry.score, 10);
        assert!(!b.apply_at(retry.clone(), 1_060_000).unwrap());
        assert!(b.apply_at(retry, 1_060_001).unwrap());
        assert_eq!(b.entry("alice").unwrap().entry.score, 20);
        // Written again, it is a version-2 stream.
        let mut chunks = Vec::new();
        b.snapshot_chunks(4096, |c| {
            chunks.push(c.to_vec());
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(u16::from_le_bytes([chunks[0][4], chunks[0][5]]), 2);
        assert_eq!(load(&chunks).unwrap().top(10), b.top(10));
    }

    #[test]
    fn unknown_versions_and_damaged_op_ids_are_refused() {
        let mut chunks = version_1_stream();
        chunks[0][4..6].copy_from_slice(&3u16.to_le_bytes());
        assert!(matches!(
            load(&chunks),
            Err(Error::UnsupportedSnapshotVersion {
                found: 3,
                supported: 2
            })
        ));
        chunks[0][4..6].copy_from_slice(&0u16.to_le_bytes());
        assert!(matches!(
            load(&chunks),
            Err(Error::UnsupportedSnapshotVersion { found: 0, .. })
        ));
        // Version 2: an op id stamped after its partition's clock, or
        // before the id listed ahead of it, is damage.
        let b = Board::new(
            "b",
            BoardConfig {
                partitions: 1,
                ..Default::default()
            },
        )
        .unwrap();
        b.write_at(
            Write::new("a", 1, 0).op(WriteOp::Incr).op_id(OpId(1)),
            1_000,
        )
        .unwrap();
        b.write_at(
            Write::new("a", 1, 0).op(WriteOp::Incr).op_id(OpId(2)),
            2_000,
        )
        .unwrap();
        let mut chunks = Vec::new();
        b.snapshot_chunks(4096, |c| {
            chunks.push(c.to_vec());
            Ok::<_, ()>(())
        })
        .unwrap();
        let at = chunks.iter().position(|c| c[0] == OP_IDS).unwrap();
        let (n, rest) = list_head(&chunks[at][1..]).unwrap();
        assert_eq!(n, 2);
        let (first, rest) = decode_front::<RememberedOp>(rest).unwrap();
        let (second, _) = decode_front::<RememberedOp>(rest).unwrap();
        assert_eq!((first.at, second.at), (1_000, 2_000));
        for ops in [
            [
                first.clone(),
                RememberedOp {
                    at: 2_001,
                    ..second.clone()
                },
            ],
            [
                RememberedOp { at: 2_000, ..first },
                RememberedOp {
                    at: 1_000,
                    ..second
                },
            ],
        ] {
            let mut bad = chunks.clone();
            bad[at] = list(OP_IDS, &ops);
            assert!(matches!(load(&bad), Err(Error::CorruptSnapshot(_))));
        }
    }
}
