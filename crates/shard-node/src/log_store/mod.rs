//! Durable Raft log and vote (openraft `RaftLogStorage`, storage-v2).
//!
//! Layout of a group's log directory:
//!
//! * `log-*.seg` — [segment files](segment) of checksummed entry records;
//! * `vote` — the last vote, one checksummed record, replaced atomically;
//! * `purged` — the id of the last purged entry, same format.
//!
//! All entries that are not purged are also kept in memory (`BTreeMap`), so reads for replication
//! never touch the disk; snapshots bound that memory (openraft purges the log behind each
//! snapshot). An append writes its entries, syncs (see [`FsyncPolicy`]), and only then reports
//! them flushed to openraft (`LogFlushed`), which is what lets openraft count this node in the
//! commit quorum.
//!
//! openraft 0.9 calls the store from its core task, one call at a time, and waits for each
//! append to be flushed before it does anything else (see [`crate::raft::proposer`]), so there
//! is never a second append to share a sync with. The disk work therefore runs on the calling
//! thread, not on a writer thread: on a multi-thread runtime inside `block_in_place` (tokio
//! moves the worker's other tasks to another thread for the duration), which saves the two
//! thread wake-ups a hand-off to a writer and back cost on every append, on the path of every
//! write; on a current-thread runtime on the blocking pool. Appends, truncates and purges are
//! ordered because openraft issues them one after another. The first failed write or sync stops
//! the log: every later append fails too.

pub mod record;
pub mod segment;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{AnyError, ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};
use tokio::runtime::RuntimeFlavor;
use tracing::error;

pub use segment::FsyncPolicy;
use segment::Segments;

use crate::codec;
use crate::error::{Error, Result};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// Tuning of a log.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Size after which a new segment file is started.
    pub segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::Always,
            segment_bytes: 64 << 20,
        }
    }
}

/// The segment files, and the first write error, after which the log takes no more appends
/// (what is on disk after a failed write or sync is unknown).
struct Disk {
    segments: Segments,
    failed: Option<String>,
}

#[derive(Default)]
struct MemLog {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
}

/// A group's durable log. Cloning is not offered: openraft owns the one instance; readers come
/// from [`RaftLogStorage::get_log_reader`].
pub struct LogStore {
    dir: PathBuf,
    mem: Arc<Mutex<MemLog>>,
    vote: Option<Vote>,
    /// Locked by one disk operation at a time (they come one after another from openraft's core
    /// task; the lock is never contended, it lets the blocking pool borrow the files).
    disk: Arc<Mutex<Disk>>,
}

/// Read-only view shared with openraft's replication tasks.
#[derive(Clone)]
pub struct LogReader {
    mem: Arc<Mutex<MemLog>>,
}

/// A [`segment::corrupt`] error for the record of entry `index`.
fn located(segments: &Segments, index: u64, what: &str) -> Error {
    match segments.location(index) {
        Some((path, offset)) => segment::corrupt(path, offset, index, what),
        None => Error::Corrupt(format!("log entry {index}: {what}")),
    }
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::error(e.to_string())).into()
}

impl LogStore {
    /// Opens the log in `dir`, repairing a torn tail.
    ///
    /// Damage anywhere else (a bad checksum before the end of the last segment, any damage in an
    /// earlier segment, a record that passes its checksum but is not the expected entry) is an
    /// [`Error::Corrupt`] naming the file, offset and entry: such entries may have been
    /// acknowledged to a leader, and cutting them away would let the group lose committed
    /// writes. See [`segment`] for the rules.
    pub fn open(dir: &Path, opts: LogOptions) -> Result<Self> {
        let (segments, payloads) = Segments::open(dir, opts.segment_bytes, opts.fsync)?;
        let last_purged: Option<LogId> = match record::read_atomic(&dir.join("purged"))? {
            Some(b) => Some(codec::decode(&b)?),
            None => None,
        };
        let vote: Option<Vote> = match record::read_atomic(&dir.join("vote"))? {
            Some(b) => Some(codec::decode(&b)?),
            None => None,
        };
        let purged_index = last_purged.map(|l| l.index);
        let mut entries = BTreeMap::new();
        let mut expected: Option<u64> = None;
        for (index, payload) in payloads {
            if purged_index.is_some_and(|p| index <= p) {
                // Covered by a snapshot; its segment is deleted by the next purge.
                continue;
            }
            // The checksum held, so these bytes are what was written: an entry that does not
            // decode, or that carries another index, was never valid. It is not a torn write,
            // and the entries after it may be acknowledged: refuse rather than cut.
            let entry = match codec::decode::<Entry>(&payload) {
                Ok(e) if e.log_id.index == index => e,
                Ok(e) => {
                    return Err(located(
                        &segments,
                        index,
                        &format!("the record holds entry {} instead", e.log_id.index),
                    ))
                }
                Err(e) => {
                    return Err(located(
                        &segments,
                        index,
                        &format!("the record passes its checksum but does not decode ({e})"),
                    ))
                }
            };
            let want = expected.unwrap_or(purged_index.map_or(index, |p| p + 1));
            if index != want {
                return Err(Error::Corrupt(format!(
                    "log in {} has a gap: expected entry {want}, found {index}",
                    dir.display()
                )));
            }
            expected = Some(index + 1);
            entries.insert(index, entry);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            mem: Arc::new(Mutex::new(MemLog {
                entries,
                last_purged,
            })),
            vote,
            disk: Arc::new(Mutex::new(Disk {
                segments,
                failed: None,
            })),
        })
    }

    fn state(&self) -> LogState<TypeConfig> {
        let mem = self.mem.lock().expect("poisoned");
        let last = mem
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(mem.last_purged);
        LogState {
            last_purged_log_id: mem.last_purged,
            last_log_id: last,
        }
    }

    /// Runs `op` on the segment files (see the module docs for where). With `stops_on_error`,
    /// an error of `op` stops the log; once stopped, `op` is not run and the error is returned.
    async fn on_disk<T: Send + 'static>(
        &self,
        stops_on_error: bool,
        op: impl FnOnce(&mut Segments) -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let disk = self.disk.clone();
        let run = move || {
            let mut disk = disk.lock().expect("poisoned");
            if let Some(e) = &disk.failed {
                return Err(std::io::Error::other(format!(
                    "the log stopped after a failed write: {e}"
                )));
            }
            let result = op(&mut disk.segments);
            if let (true, Err(e)) = (stops_on_error, &result) {
                error!("log write failed, the log stops: {e}");
                disk.failed = Some(e.to_string());
            }
            result
        };
        if tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(run)
        } else {
            tokio::task::spawn_blocking(run)
                .await
                .map_err(std::io::Error::other)?
        }
    }
}

fn read_range<RB: RangeBounds<u64>>(mem: &Mutex<MemLog>, range: RB) -> Vec<Entry> {
    mem.lock()
        .expect("poisoned")
        .entries
        .range(range)
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, StorageError> {
        Ok(read_range(&self.mem, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, StorageError> {
        Ok(read_range(&self.mem, range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> std::result::Result<LogState<TypeConfig>, StorageError> {
        Ok(self.state())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogReader {
            mem: self.mem.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> std::result::Result<(), StorageError> {
        let bytes =
            codec::encode(vote).map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        let path = self.dir.join("vote");
        tokio::task::spawn_blocking(move || record::write_atomic(&path, &bytes))
            .await
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))?
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> std::result::Result<Option<Vote>, StorageError> {
        Ok(self.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> std::result::Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut records = Vec::new();
        {
            let mut mem = self.mem.lock().expect("poisoned");
            for entry in entries {
                let bytes = codec::encode(&entry)
                    .map_err(|e| io_err(ErrorSubject::Log(entry.log_id), ErrorVerb::Write, e))?;
                records.push((entry.log_id.index, bytes));
                mem.entries.insert(entry.log_id.index, entry);
            }
        }
        let written = self
            .on_disk(true, move |segments| {
                segments.append(&records)?;
                segments.sync()
            })
            .await;
        callback.log_io_completed(written);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        self.mem
            .lock()
            .expect("poisoned")
            .entries
            .split_off(&log_id.index);
        self.on_disk(false, move |segments| {
            segments.sync()?;
            segments.truncate(log_id.index)
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        // Record the purge point first: a crash after it but before the files go away leaves
        // stale entries that the opener skips, never a hole.
        let bytes =
            codec::encode(&log_id).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        let path = self.dir.join("purged");
        tokio::task::spawn_blocking(move || record::write_atomic(&path, &bytes))
            .await
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        {
            let mut mem = self.mem.lock().expect("poisoned");
            mem.last_purged = Some(log_id);
            let keep = mem.entries.split_off(&(log_id.index + 1));
            mem.entries = keep;
        }
        self.on_disk(false, move |segments| {
            segments.sync()?;
            segments.purge(log_id.index)
        })
        .await
        .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}

#[cfg(test)]
mod tests;
