//! Segment files: the synchronous, on-disk half of the log.
//!
//! The log is a sequence of files `log-<first index, 20 digits>.seg`, each an append-only run of
//! [records](super::record) holding consecutive entries. A new segment starts when the current one
//! exceeds its size budget, or when the next entry does not follow the last one (after a snapshot
//! install moved the log forward). Truncation (Raft conflict resolution) cuts a file at a record
//! boundary and deletes later segments; purging deletes whole segments that lie entirely at or
//! below the purge point.
//!
//! On open every segment is scanned, and damage is told apart by where it is:
//!
//! * **A torn tail of the last segment** is repaired: the file is cut at the damaged record. With
//!   [`FsyncPolicy::Always`] a crash can only tear the end of the last segment (a new segment is
//!   created only after the previous one was synced), and a write that was not completely on
//!   disk was never acknowledged, so nothing acknowledged is lost. A damaged record counts as a
//!   torn tail when it reaches the end of the file (its header is cut short, its length claims
//!   every remaining byte, or only zeros follow it) and no intact record starts anywhere behind
//!   it.
//! * **Anything else** — a bad checksum with intact records after it, any damage in an earlier
//!   segment, and (checked by the [log store](super)) a record that passes its checksum but is
//!   not the expected entry — stops the open with [`Error::Corrupt`], naming the file, the byte
//!   offset and the entry index, and changes nothing on disk. Those entries may have been
//!   acknowledged: this node may be part of the majority that committed them, and cutting them
//!   away would let the group lose committed writes. The node refuses to start; the operator
//!   replaces its state from the other replicas (remove the node from its groups, move its data
//!   directory away, add it back: see the repository README, "Recovering a node with a damaged
//!   log").
//!
//! A torn tail and a damaged last record are indistinguishable when the damage is in the very
//! last record: that record is cut like a torn write. With [`FsyncPolicy::Never`] a power loss
//! can leave any unsynced part of the log damaged, which then stops the node the same way.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::record::{self, Decoded};
use crate::error::{Error, Result};

/// When the log calls `fdatasync`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Sync every append before Raft is told it is durable (default): one `fdatasync` per
    /// append, which is one entry on a leader and every entry of one AppendEntries on a
    /// follower. openraft 0.9 waits for each append to be durable before the next, so writes
    /// share a sync by sharing an entry: the leader merges the client requests that arrive
    /// meanwhile into its next entry ([`crate::raft::proposer`]).
    #[default]
    Always,
    /// Never sync: a write is reported durable once it is in the OS page cache. Survives a
    /// process crash, not a power loss or kernel crash. For benchmarks and throwaway clusters.
    Never,
}

struct Segment {
    first: u64,
    path: PathBuf,
    /// Byte offset of every record; `offsets[i]` holds entry `first + i`.
    offsets: Vec<u64>,
    len: u64,
}

impl Segment {
    fn next_index(&self) -> u64 {
        self.first + self.offsets.len() as u64
    }
}

/// The segment files of one log directory.
pub struct Segments {
    dir: PathBuf,
    segments: Vec<Segment>,
    active: Option<File>,
    max_bytes: u64,
    fsync: FsyncPolicy,
}

/// Intact record payloads found on open, with their log indexes, in order.
pub type Recovered = Vec<(u64, Vec<u8>)>;

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("log-{first:020}.seg"))
}

/// Bytes of checksums [`intact_record_behind`] may compute while looking for intact records
/// behind a damaged one; past it the damage is not called a torn tail (refusing is the safe
/// side).
const RESYNC_BUDGET: usize = 256 << 20;

/// Whether damage that starts at `rest` (a suffix of the last segment) can be a write cut short
/// by a crash, which is the only damage the log repairs by itself.
///
/// Two things must hold. The damaged record reaches the end of the file: its header is cut, its
/// length claims at least every remaining byte, or only zeros follow the bytes it claims (the
/// file grew but that data never reached the disk). And no intact record starts anywhere behind
/// it: a flipped bit in a length field also makes a record claim the rest of the file, and the
/// intact records after it show that the file went on, with entries that may have been
/// acknowledged.
fn is_torn_tail(rest: &[u8]) -> bool {
    if rest.len() < record::HEADER {
        return true;
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
    let end = record::HEADER.saturating_add(len);
    let reaches_end = end >= rest.len() || rest[end..].iter().all(|b| *b == 0);
    reaches_end && !intact_record_behind(rest)
}

/// Whether a record with a good checksum and a non-empty payload starts at any offset after the
/// first byte of `rest`. Gives up (answering yes, the safe side) after [`RESYNC_BUDGET`] bytes
/// of checksums.
fn intact_record_behind(rest: &[u8]) -> bool {
    let mut budget = RESYNC_BUDGET;
    for start in 1..rest.len() {
        let tail = &rest[start..];
        if tail.len() <= record::HEADER {
            break;
        }
        let len = u32::from_le_bytes(tail[0..4].try_into().expect("4 bytes")) as usize;
        if len == 0 || len > tail.len() - record::HEADER {
            continue;
        }
        if len > budget {
            return true;
        }
        budget -= len;
        if matches!(record::decode(tail), Decoded::Record(..)) {
            return true;
        }
    }
    false
}

/// The error for damage the log must not repair by itself.
pub(crate) fn corrupt(path: &Path, offset: u64, index: u64, what: &str) -> Error {
    Error::Corrupt(format!(
        "log segment {} at byte offset {offset} (entry {index}): {what}. Entries from {index} on \
         may have been acknowledged to the leader, so the log is not cut there and this node \
         does not start. Recover by removing the node from its groups (`shard-node admin \
         remove-node`), moving its data directory away and adding it back as a new member \
         (`shard-node admin add-node`), which copies the state from the other replicas",
        path.display()
    ))
}

impl Segments {
    /// Opens (or creates) the log in `dir`, repairs a torn tail of the last segment, and returns
    /// every record payload with its index, in order.
    ///
    /// Any other damage is an [`Error::Corrupt`] naming the file, the byte offset and the entry
    /// index, and nothing on disk is changed: see the module docs for why it must not be cut.
    pub fn open(dir: &Path, max_bytes: u64, fsync: FsyncPolicy) -> Result<(Self, Recovered)> {
        fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for ent in fs::read_dir(dir)? {
            let name = ent?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix("log-")
                .and_then(|s| s.strip_suffix(".seg"))
            {
                if let Ok(first) = n.parse::<u64>() {
                    firsts.push(first);
                }
            }
        }
        firsts.sort_unstable();

        let mut segments = Vec::new();
        let mut payloads = Vec::new();
        let count = firsts.len();
        for (n, first) in firsts.into_iter().enumerate() {
            let is_last = n + 1 == count;
            let path = segment_path(dir, first);
            let bytes = fs::read(&path)?;
            let mut seg = Segment {
                first,
                path,
                offsets: Vec::new(),
                len: 0,
            };
            let mut pos = 0usize;
            while pos < bytes.len() {
                let rest = &bytes[pos..];
                match record::decode(rest) {
                    // Entries never encode to zero bytes: an empty record is zeros on disk.
                    Decoded::Record(payload, used) if !payload.is_empty() => {
                        seg.offsets.push(pos as u64);
                        payloads.push((seg.next_index() - 1, payload.to_vec()));
                        pos += used;
                    }
                    d if is_last && is_torn_tail(rest) => {
                        warn!(
                            path = %seg.path.display(), offset = pos, entry = seg.next_index(),
                            kind = ?d, lost_bytes = rest.len(),
                            "torn write at the end of the log (never acknowledged); truncating"
                        );
                        let f = OpenOptions::new().write(true).open(&seg.path)?;
                        f.set_len(pos as u64)?;
                        f.sync_all()?;
                        break;
                    }
                    d => {
                        let what = match d {
                            Decoded::Record(..) => "is an empty record",
                            Decoded::Truncated => "is cut short",
                            Decoded::Corrupt => "fails its checksum",
                        };
                        let place = if is_last {
                            format!("{} more bytes follow it", rest.len())
                        } else {
                            "later segments follow it".to_string()
                        };
                        return Err(corrupt(
                            &seg.path,
                            pos as u64,
                            seg.next_index(),
                            &format!("the record {what} and is not a torn tail ({place})"),
                        ));
                    }
                }
            }
            seg.len = pos as u64;
            segments.push(seg);
        }
        let mut me = Self {
            dir: dir.to_path_buf(),
            segments,
            active: None,
            max_bytes,
            fsync,
        };
        if let Some(last) = me.segments.last() {
            me.active = Some(OpenOptions::new().append(true).open(&last.path)?);
        }
        record::sync_dir(dir)?;
        Ok((me, payloads))
    }

    /// The file and byte offset of the record holding entry `index`, if it is on disk.
    pub fn location(&self, index: u64) -> Option<(&Path, u64)> {
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.first <= index && index < s.next_index())?;
        Some((&seg.path, seg.offsets[(index - seg.first) as usize]))
    }

    /// Removes every entry with an index `>= index` (Raft conflict resolution).
    pub fn truncate(&mut self, index: u64) -> io::Result<()> {
        let mut removed_any = false;
        while let Some(seg) = self.segments.last() {
            if seg.first < index {
                break;
            }
            if self.active.is_some() {
                self.active = None;
            }
            fs::remove_file(&seg.path)?;
            self.segments.pop();
            removed_any = true;
        }
        if let Some(seg) = self.segments.last_mut() {
            if index < seg.next_index() {
                let cut = seg.offsets[(index - seg.first) as usize];
                seg.offsets.truncate((index - seg.first) as usize);
                seg.len = cut;
                let f = OpenOptions::new().write(true).open(&seg.path)?;
                f.set_len(cut)?;
                f.sync_all()?;
            }
            if self.active.is_none() {
                self.active = Some(OpenOptions::new().append(true).open(&seg.path)?);
            }
        }
        if removed_any {
            record::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Deletes every segment whose entries are all `<= upto`.
    pub fn purge(&mut self, upto: u64) -> io::Result<()> {
        let mut n = 0;
        while n < self.segments.len() && self.segments[n].next_index() <= upto + 1 {
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        if n == self.segments.len() {
            self.active = None;
        }
        for seg in self.segments.drain(..n) {
            fs::remove_file(&seg.path)?;
        }
        record::sync_dir(&self.dir)
    }

    fn start_segment(&mut self, first: u64) -> io::Result<()> {
        let path = segment_path(&self.dir, first);
        if let (FsyncPolicy::Always, Some(f)) = (self.fsync, self.active.as_ref()) {
            f.sync_data()?;
        }
        if let Some(last) = self.segments.last() {
            if last.offsets.is_empty() {
                fs::remove_file(&last.path)?;
                self.segments.pop();
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(0)?;
        self.segments.push(Segment {
            first,
            path,
            offsets: Vec::new(),
            len: 0,
        });
        self.active = Some(file);
        record::sync_dir(&self.dir)
    }

    /// Appends records for consecutive entries (index, payload). Not durable until [`Self::sync`].
    pub fn append(&mut self, records: &[(u64, Vec<u8>)]) -> io::Result<()> {
        let mut buf = Vec::new();
        for (index, payload) in records {
            let rotate = match self.segments.last() {
                None => true,
                Some(s) => s.next_index() != *index || s.len + buf.len() as u64 >= self.max_bytes,
            };
            if rotate {
                self.flush_buf(&mut buf)?;
                self.start_segment(*index)?;
            }
            let seg = self
                .segments
                .last_mut()
                .expect("segment exists after rotate");
            seg.offsets.push(seg.len + buf.len() as u64);
            record::encode_into(&mut buf, payload)?;
        }
        self.flush_buf(&mut buf)
    }

    fn flush_buf(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let file = self.active.as_mut().expect("active segment");
        file.write_all(buf)?;
        self.segments.last_mut().expect("segment").len += buf.len() as u64;
        buf.clear();
        Ok(())
    }

    /// Makes appended records durable according to the policy.
    pub fn sync(&mut self) -> io::Result<()> {
        match (self.fsync, self.active.as_ref()) {
            (FsyncPolicy::Always, Some(f)) => f.sync_data(),
            _ => Ok(()),
        }
    }

    /// Number of segment files (tests and metrics).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}
