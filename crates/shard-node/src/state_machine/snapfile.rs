//! The snapshot file: a group's state as a sequence of bounded, checksummed records.
//!
//! ```text
//! record 0      "LBSN" | format version u16 LE | bincode(Header { meta, group, layout })
//! record 1..n   0x01 | one chunk of a board (leaderboard-core's `Board::snapshot_chunks`)
//! record n+1    0xff | bincode(End { boards, records, digest })
//! ```
//!
//! Every record is `len: u32 | crc32: u32 | payload` ([`crate::log_store::record`]), with
//! payloads of about `record_bytes` (a board chunk exceeds it by at most one entry), so a writer
//! and a reader hold one record at a time whatever the size of the group. `End` counts the board
//! records and carries a crc32 over their checksums in order, so a file with a record missing,
//! repeated or out of place is refused even though each record is intact; nothing may follow
//! `End`. The same bytes are the snapshot's data on the wire: the leader's file is sent in chunks
//! as it is and the receiver writes them into a file of its own.
//!
//! Versions:
//!
//! 1. One record holding the whole encoded state (refused on read above 256 MiB); read by
//!    [`read_legacy_file`] and [`legacy_data_fits`] + [`AppState::restore`] and converted.
//! 2. The records above, with boards in leaderboard-core's chunk stream version 1: op-id memory
//!    as a count of ids, without the times they were remembered at. Still read (leaderboard-core
//!    reads both stream versions): such boards get the default op-id policy, and their op ids
//!    count as remembered at the first time each partition is told after the restore, so a
//!    retry within the horizon after that is still answered from memory.
//! 3. The same records, boards in stream version 2: each partition's op-id clock, and every
//!    remembered op id with the clock it was remembered at and its outcome.
//!
//! The file's version says what its boards hold, so an older build refuses a newer file at its
//! first record, with an error naming both versions, rather than deep inside a board.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use super::app::AppState;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::log_store::record::{self, HEADER, MAX_RECORD};
use crate::types::{GroupId, SnapshotMeta};

/// Name of the current snapshot file in a state machine directory.
pub const FILE: &str = "snapshot.lbs";
/// Name of the format-1 snapshot file (read once and converted).
pub const LEGACY_FILE: &str = "snapshot";
/// Format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u16 = 3;
/// Oldest format version of this record layout that this build reads (format 1 has its own
/// readers).
pub const OLDEST_FORMAT_VERSION: u16 = 2;
/// First bytes of the first record's payload.
pub const MAGIC: &[u8; 4] = b"LBSN";
/// Default payload size of a snapshot record.
pub const DEFAULT_RECORD_BYTES: usize = 1 << 20;
/// Largest format-1 snapshot accepted (it is read into memory whole, once).
pub const LEGACY_LIMIT: u64 = 4 << 30;

const BOARD_CHUNK: u8 = 0x01;
const END: u8 = 0xff;

/// What the first record says about the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// openraft's metadata: last log id, membership, snapshot id.
    pub meta: SnapshotMeta,
    /// The group whose state this is.
    pub group: GroupId,
    /// The layout the group belongs to.
    pub layout: Layout,
}

#[derive(Serialize, Deserialize)]
struct End {
    boards: u64,
    records: u64,
    digest: u32,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("snapshot: {what}"))
}

/// Writes a snapshot file record by record.
pub struct Writer<W: Write> {
    out: W,
    records: u64,
    digest: crc32fast::Hasher,
    bytes: u64,
    largest: usize,
}

impl<W: Write> Writer<W> {
    /// Starts a file with its header record.
    pub fn new(out: W, header: &Header) -> Result<Self> {
        let mut payload = Vec::with_capacity(256);
        payload.extend_from_slice(MAGIC);
        payload.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        crate::codec::encode_into(header, &mut payload)?;
        let mut w = Writer {
            out,
            records: 0,
            digest: crc32fast::Hasher::new(),
            bytes: 0,
            largest: 0,
        };
        w.record(&[&payload])?;
        Ok(w)
    }

    /// Writes one record whose payload is the concatenation of `parts`; returns its crc.
    fn record(&mut self, parts: &[&[u8]]) -> io::Result<u32> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut h = crc32fast::Hasher::new();
        for p in parts {
            h.update(p);
        }
        let crc = h.finalize();
        self.out
            .write_all(&record::checked_len(len)?.to_le_bytes())?;
        self.out.write_all(&crc.to_le_bytes())?;
        for p in parts {
            self.out.write_all(p)?;
        }
        self.bytes += (HEADER + len) as u64;
        self.largest = self.largest.max(len);
        Ok(crc)
    }

    /// Appends one board chunk. A chunk starting with a board's head begins a new board.
    pub fn board_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        let crc = self.record(&[&[BOARD_CHUNK], chunk])?;
        self.digest.update(&crc.to_le_bytes());
        self.records += 1;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The largest record payload written so far.
    pub fn largest_record(&self) -> usize {
        self.largest
    }

    /// Writes the end record, announcing `boards` boards, and returns the output (not flushed
    /// or synced).
    pub fn finish(mut self, boards: u64) -> Result<W> {
        let end = End {
            boards,
            records: self.records,
            digest: self.digest.clone().finalize(),
        };
        let body = crate::codec::encode(&end)?;
        self.record(&[&[END], &body])?;
        Ok(self.out)
    }
}

/// One item of a snapshot file after its header.
#[derive(Debug)]
pub enum Item<'a> {
    /// A board chunk.
    BoardChunk(&'a [u8]),
    /// The end record, checked against what came before (boards counted by the caller).
    End {
        /// Boards the writer announced.
        boards: u64,
    },
}

/// Reads a snapshot file record by record, checking every checksum and the final counts.
pub struct Reader<R: Read> {
    input: R,
    buf: Vec<u8>,
    records: u64,
    digest: crc32fast::Hasher,
    ended: bool,
}

/// Reads one record into `buf`. `Ok(false)` at a clean end of input.
fn read_record<R: Read>(input: &mut R, buf: &mut Vec<u8>) -> Result<Option<u32>> {
    let mut head = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(corrupt("file ends inside a record header")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    if len > MAX_RECORD {
        return Err(corrupt(format!("record length {len} over the limit")));
    }
    buf.clear();
    buf.resize(len, 0);
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt("file ends inside a record"),
        _ => e.into(),
    })?;
    if crc32fast::hash(buf) != crc {
        return Err(corrupt("record checksum mismatch"));
    }
    Ok(Some(crc))
}

impl<R: Read> Reader<R> {
    /// Reads and checks the header record. A file of a format version this build does not read
    /// is refused with an error naming the versions; a format-1 snapshot is not recognised here
    /// (see [`is_current_format`]).
    pub fn open(mut input: R) -> Result<(Self, Header)> {
        let mut buf = Vec::new();
        if read_record(&mut input, &mut buf)?.is_none() {
            return Err(corrupt("empty file"));
        }
        if buf.len() < 6 || &buf[..4] != MAGIC {
            return Err(corrupt("not a snapshot file (bad magic)"));
        }
        let version = u16::from_le_bytes([buf[4], buf[5]]);
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::Corrupt(format!(
                "snapshot format version {version} is not supported (this build reads versions \
                 {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}); refusing to guess at its contents"
            )));
        }
        let header: Header = crate::codec::decode(&buf[6..])?;
        Ok((
            Reader {
                input,
                buf,
                records: 0,
                digest: crc32fast::Hasher::new(),
                ended: false,
            },
            header,
        ))
    }

    /// The next item. After [`Item::End`] the input must be exhausted.
    pub fn next_item(&mut self) -> Result<Item<'_>> {
        if self.ended {
            return Err(corrupt("read past the end record"));
        }
        let Some(crc) = read_record(&mut self.input, &mut self.buf)? else {
            return Err(corrupt("file ends before its end record"));
        };
        match self.buf.split_first() {
            Some((&BOARD_CHUNK, _)) => {
                self.records += 1;
                self.digest.update(&crc.to_le_bytes());
                Ok(Item::BoardChunk(&self.buf[1..]))
            }
            Some((&END, body)) => {
                let end: End = crate::codec::decode(body)?;
                if end.records != self.records || end.digest != self.digest.clone().finalize() {
                    return Err(corrupt(format!(
                        "end record counts {} records, file has {} (or their order differs)",
                        end.records, self.records
                    )));
                }
                let mut probe = [0u8; 1];
                loop {
                    match self.input.read(&mut probe) {
                        Ok(0) => break,
                        Ok(_) => return Err(corrupt("bytes after the end record")),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                self.ended = true;
                Ok(Item::End { boards: end.boards })
            }
            Some((kind, _)) => Err(corrupt(format!("unknown record kind {kind:#x}"))),
            None => Err(corrupt("empty record")),
        }
    }
}

/// Whether `prefix` (the first bytes of some snapshot data, at least 14 if available) starts
/// like this format (any version): a record header then the magic.
pub fn is_current_format(prefix: &[u8]) -> bool {
    prefix.len() >= HEADER + MAGIC.len() && &prefix[HEADER..HEADER + MAGIC.len()] == MAGIC
}

/// Writes `app` as a complete snapshot file into `out` with `meta`, in records of about
/// `record_bytes`. Returns the output and the writer's statistics (bytes, largest record).
pub fn write_app<W: Write>(
    out: W,
    meta: &SnapshotMeta,
    app: &AppState,
    record_bytes: usize,
) -> Result<(W, u64, usize)> {
    let header = Header {
        meta: meta.clone(),
        group: app.group(),
        layout: app.layout(),
    };
    let mut w = Writer::new(out, &header)?;
    let boards =
        app.write_snapshot(record_bytes.saturating_sub(1), |chunk| w.board_chunk(chunk))?;
    let (bytes, largest) = (w.bytes(), w.largest_record());
    let out = w.finish(boards)?;
    Ok((out, bytes, largest))
}

/// Rebuilds the state of `group` under `layout` from a snapshot file, one record at a time.
/// Returns the header and the state; the file must be complete and consistent.
pub fn read_app<R: Read>(input: R, group: GroupId, layout: Layout) -> Result<(Header, AppState)> {
    let (mut reader, header) = Reader::open(input)?;
    if header.group != group || header.layout != layout {
        return Err(Error::Corrupt(format!(
            "snapshot of group {} under {:?} cannot be restored into group {group} under {layout:?}",
            header.group, header.layout
        )));
    }
    let mut app = AppState::new(group, layout);
    let mut loader: Option<leaderboard_core::BoardLoader> = None;
    let mut boards = 0u64;
    loop {
        match reader.next_item()? {
            Item::BoardChunk(chunk) => {
                let l = loader.get_or_insert_with(leaderboard_core::BoardLoader::new);
                l.push(chunk)?;
                if l.is_done() {
                    let board = loader.take().expect("loader present").finish()?;
                    app.insert_board(board)?;
                    boards += 1;
                }
            }
            Item::End { boards: announced } => {
                if loader.is_some() || announced != boards {
                    return Err(corrupt(format!(
                        "end record announces {announced} boards, file holds {boards} complete ones"
                    )));
                }
                return Ok((header, app));
            }
        }
    }
}

/// The format-1 file's content.
#[derive(Deserialize)]
struct LegacyFile {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

fn legacy_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ LEGACY_LIMIT as usize }>()
}

/// Reads a format-1 snapshot file (one record: `bincode { meta, data }`), whole. Returns its
/// metadata and the encoded state for [`AppState::restore`]. A file over 4 GiB was written with
/// its length cut to 32 bits and cannot be read back; it is refused with an explanation.
pub fn read_legacy_file(bytes: &[u8]) -> Result<(SnapshotMeta, Vec<u8>)> {
    if bytes.len() < HEADER {
        return Err(corrupt("format-1 file shorter than a record header"));
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if bytes.len() - HEADER != len {
        return Err(Error::Corrupt(format!(
            "format-1 snapshot file of {} bytes announces a {len}-byte record: written past \
             4 GiB with a truncated length, or damaged; it cannot be read. Move the group's \
             data directory away and add the node back so it installs a snapshot from the leader",
            bytes.len()
        )));
    }
    let payload = &bytes[HEADER..];
    if crc32fast::hash(payload) != crc {
        return Err(corrupt("format-1 record checksum mismatch"));
    }
    let (file, used): (LegacyFile, usize) =
        bincode::serde::decode_from_slice(payload, legacy_config())?;
    if used != payload.len() {
        return Err(corrupt("trailing bytes in the format-1 file"));
    }
    Ok((file.meta, file.data))
}

/// Whether a snapshot data stream of `len` bytes that is not in the current format may be read
/// as format-1 data (the encoded state as a format-1 leader sends it).
pub fn legacy_data_fits(len: u64) -> Result<()> {
    if len > LEGACY_LIMIT {
        return Err(Error::Corrupt(format!(
            "snapshot data of {len} bytes is neither in format {FORMAT_VERSION} nor a readable \
             format-1 state (at most {LEGACY_LIMIT} bytes)"
        )));
    }
    Ok(())
}
