//! Segment files: the synchronous, on-disk half of the log.
//!
//! The log is a sequence of files `log-<first index, 20 digits>.seg`, each an append-only run of
//! [records](super::record) holding consecutive entries. A new segment starts when the current one
//! exceeds its size budget, or when the next entry does not follow the last one (after a snapshot
//! install moved the log forward). Truncation (Raft conflict resolution) cuts a file at a record
//! boundary and deletes later segments; purging deletes whole segments that lie entirely at or
//! below the purge point.
//!
//! On open every segment is scanned. The first record that is cut short, fails its checksum, or
//! carries an index out of sequence ends the log: the file is truncated at that offset and later
//! segments are removed. With [`FsyncPolicy::Always`] such a tail can only be a write that was
//! never acknowledged (a torn write at a crash), so nothing committed is lost.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::record::{self, Decoded};

/// When the log calls `fdatasync`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Sync every write batch before Raft is told it is durable (default). Appends queued while a
    /// sync runs are written together and share the next sync (group commit).
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

impl Segments {
    /// Opens (or creates) the log in `dir`, repairs a torn tail, and returns every intact record
    /// payload with its index, in order.
    pub fn open(dir: &Path, max_bytes: u64, fsync: FsyncPolicy) -> io::Result<(Self, Recovered)> {
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
        let mut broken = false;
        for first in firsts {
            let path = segment_path(dir, first);
            if broken {
                warn!(path = %path.display(), "removing segment after a damaged one");
                fs::remove_file(&path)?;
                continue;
            }
            let bytes = fs::read(&path)?;
            let mut seg = Segment {
                first,
                path,
                offsets: Vec::new(),
                len: 0,
            };
            let mut pos = 0usize;
            while pos < bytes.len() {
                match record::decode(&bytes[pos..]) {
                    Decoded::Record(payload, used) => {
                        seg.offsets.push(pos as u64);
                        payloads.push((seg.first + seg.offsets.len() as u64 - 1, payload.to_vec()));
                        pos += used;
                    }
                    d => {
                        warn!(
                            path = %seg.path.display(), offset = pos, kind = ?d, lost_bytes = bytes.len() - pos,
                            "torn or corrupt log tail; truncating"
                        );
                        let f = OpenOptions::new().write(true).open(&seg.path)?;
                        f.set_len(pos as u64)?;
                        f.sync_all()?;
                        broken = true;
                        break;
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

    /// Removes every entry with an index `>= index` (Raft conflict resolution; also used by the
    /// opener to drop records found out of sequence).
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
