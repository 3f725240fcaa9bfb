//! The replicated state machine of a group (openraft `RaftStateMachine`).
//!
//! It applies committed entries to the group's [`AppState`] (the leaderboard partitions the group
//! owns), remembers the last applied log id and the membership, and makes snapshots.
//!
//! A snapshot is a file of bounded records ([`snapfile`]): a header with openraft's metadata,
//! the boards in chunks of about [`SnapshotOptions::record_bytes`], an end record with counts. It
//! lives in `DIR/snapshot.lbs`, replaced atomically (written to a `.tmp` file, fsynced, renamed,
//! directory fsynced) both when this node builds one and when it installs one received from the
//! leader. Building, storing, sending, receiving and installing all stream record by record, so
//! none of them holds the encoded state in memory: the leader sends its file in
//! `snapshot_max_chunk_size` pieces ([`SnapshotData`] is an open file), the follower writes them
//! into a file of its own and restores from it. On start the state machine is restored from the
//! file and openraft re-applies the log entries after it.
//!
//! Concurrency: nothing that may take long runs on the async workers, which must keep serving
//! heartbeats and votes. openraft drives `apply` from one task; a call of at most
//! [`INLINE_APPLY_COMMANDS`] commands whose locks are free at once applies its entries right
//! there (a few hundred microseconds at most), any other call on tokio's blocking pool under the
//! write lock. A snapshot is built on the blocking pool under
//! the read lock (one consistent cut at the last applied entry); restoring (on start and on
//! install) builds the new state there without the lock and swaps it in. Queries from clients
//! ([`StateMachineHandle::query`]) run inline only when they are small and the lock is free at
//! once, otherwise on the blocking pool. Writers first take an `exclusive` mutex that a build
//! holds throughout, so during a build `apply` waits there rather than queued on the state lock
//! (a queued writer would also hold back every new reader): queries keep being answered while a
//! snapshot is built, and writes resume when it is done.

pub mod app;
pub mod data;
pub mod snapfile;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockWriteGuard};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{AnyError, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};

pub use app::AppState;
pub use data::SnapshotData;

use crate::command::{BatchReply, Query, QueryReply};
use crate::error::{Error, Result};
use crate::log_store::record;
use crate::types::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

/// Hook called on every replica with each applied batch, its log index and its reply (change
/// publishing; the hook decides whether this replica publishes). It runs on the apply path, so
/// it must only enqueue, never block.
pub type ApplyHook = Arc<dyn Fn(u64, &crate::command::Batch, &BatchReply) + Send + Sync>;

/// Snapshot settings of a state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Target payload size of a snapshot file record. Building, restoring and installing a
    /// snapshot hold about one record (plus I/O buffers) besides the state itself.
    pub record_bytes: usize,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            record_bytes: snapfile::DEFAULT_RECORD_BYTES,
        }
    }
}

/// Buffer size of snapshot file reads and writes.
const IO_BUFFER: usize = 256 << 10;

struct SmState {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    app: AppState,
}

struct Shared {
    state: RwLock<SmState>,
    /// Held by a snapshot build for its whole duration, and by a writer while it waits for and
    /// holds the write lock (see the module docs).
    exclusive: Mutex<()>,
    /// Metadata of the snapshot in `DIR/snapshot.lbs`, if there is one.
    current: Mutex<Option<SnapshotMeta>>,
    /// Serializes replacing the snapshot file (a build and an install may finish together).
    persist: Mutex<()>,
    counter: AtomicU64,
    dir: PathBuf,
    opts: SnapshotOptions,
    hook: Option<ApplyHook>,
    /// This node's id (0 = unknown). Entries this node proposed as leader are applied with full
    /// outcomes (a client waits for them); entries proposed by others take the cheaper path.
    node: AtomicU64,
}

/// openraft's handle on the state machine.
pub struct StateMachine {
    shared: Arc<Shared>,
}

/// Read-side handle for queries; cheap to clone.
#[derive(Clone)]
pub struct StateMachineHandle {
    shared: Arc<Shared>,
}

/// Builds snapshots off the apply path (the state is streamed to disk under a read lock).
pub struct SnapshotBuilder {
    shared: Arc<Shared>,
}

fn sm_err(verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(
        ErrorSubject::StateMachine,
        verb,
        AnyError::error(e.to_string()),
    )
    .into()
}

fn snap_err(verb: ErrorVerb, e: impl ToString) -> StorageError {
    StorageIOError::new(
        ErrorSubject::Snapshot(None),
        verb,
        AnyError::error(e.to_string()),
    )
    .into()
}

/// Runs blocking snapshot work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    verb: ErrorVerb,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> std::result::Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| snap_err(verb, e))?
        .map_err(|e| snap_err(verb, e))
}

/// Removes leftover temporary files (`build-*`, `incoming-*`, `install-*`) of `dir`.
fn remove_temporaries(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "tmp") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Removes `incoming-*.tmp` files of `dir` (abandoned or finished receptions).
fn remove_incoming(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let incoming = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("incoming-") && n.ends_with(".tmp"));
        if incoming {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Copies everything read from `input` to `out`.
struct Tee<R, W> {
    input: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl StateMachine {
    /// Opens the state machine in `dir` with default snapshot settings, restoring the last
    /// snapshot if there is one.
    pub fn open(
        dir: &Path,
        app: AppState,
        hook: Option<ApplyHook>,
    ) -> Result<(Self, StateMachineHandle)> {
        Self::open_with(dir, app, hook, SnapshotOptions::default())
    }

    /// Opens the state machine in `dir`, restoring the last snapshot if there is one (record by
    /// record). A format-1 snapshot (`DIR/snapshot`, one record) is read once, rewritten in the
    /// current format and removed.
    pub fn open_with(
        dir: &Path,
        app: AppState,
        hook: Option<ApplyHook>,
        opts: SnapshotOptions,
    ) -> Result<(Self, StateMachineHandle)> {
        fs::create_dir_all(dir)?;
        remove_temporaries(dir)?;
        let (group, layout) = (app.group(), app.layout());
        let mut state = SmState {
            last_applied: None,
            membership: StoredMembership::default(),
            app,
        };
        let path = dir.join(snapfile::FILE);
        let legacy = dir.join(snapfile::LEGACY_FILE);
        let mut current = None;
        match File::open(&path) {
            Ok(f) => {
                let (header, app) =
                    snapfile::read_app(BufReader::with_capacity(IO_BUFFER, f), group, layout)
                        .map_err(|e| match e {
                            Error::Corrupt(m) => Error::Corrupt(format!("{}: {m}", path.display())),
                            e => e,
                        })?;
                state.app = app;
                current = Some(header.meta);
                if legacy.exists() {
                    // Converted before a crash that came before the old file was removed.
                    fs::remove_file(&legacy)?;
                    record::sync_dir(dir)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(meta) = convert_legacy(dir, &legacy, &mut state.app, opts)? {
                    current = Some(meta);
                }
            }
            Err(e) => return Err(e.into()),
        }
        if let Some(meta) = &current {
            state.last_applied = meta.last_log_id;
            state.membership = meta.last_membership.clone();
        }
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            exclusive: Mutex::new(()),
            current: Mutex::new(current),
            persist: Mutex::new(()),
            counter: AtomicU64::new(0),
            dir: dir.to_path_buf(),
            opts,
            hook,
            node: AtomicU64::new(0),
        });
        Ok((
            Self {
                shared: shared.clone(),
            },
            StateMachineHandle { shared },
        ))
    }

    /// Tells the state machine which node it runs on, so that it computes write outcomes only
    /// for the entries this node proposed (see [`AppState::apply_as`]). Without it every entry
    /// gets full outcomes.
    pub fn set_node(&self, node: crate::types::NodeId) {
        self.shared.node.store(node, Ordering::Relaxed);
    }
}

/// Reads a format-1 snapshot file into `app`, writes it in the current format and removes it.
/// Returns its metadata, or `None` if there is no such file.
fn convert_legacy(
    dir: &Path,
    legacy: &Path,
    app: &mut AppState,
    opts: SnapshotOptions,
) -> Result<Option<SnapshotMeta>> {
    let len = match fs::metadata(legacy) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if len > snapfile::LEGACY_LIMIT + record::HEADER as u64 {
        return Err(Error::Corrupt(format!(
            "{}: format-1 snapshot of {len} bytes was written past 4 GiB with a truncated \
             length and cannot be read; move the group's data directory away and add the node \
             back so it installs a snapshot from the leader",
            legacy.display()
        )));
    }
    let (meta, data) = snapfile::read_legacy_file(&fs::read(legacy)?)?;
    app.restore(&data)?;
    drop(data);
    let tmp = dir.join("convert.tmp");
    write_file(&tmp, &meta, app, opts.record_bytes)?;
    fs::rename(&tmp, dir.join(snapfile::FILE))?;
    record::sync_dir(dir)?;
    fs::remove_file(legacy)?;
    record::sync_dir(dir)?;
    Ok(Some(meta))
}

/// Writes `app` as a snapshot file at `path` (created, fsynced). Returns the open file.
fn write_file(
    path: &Path,
    meta: &SnapshotMeta,
    app: &AppState,
    record_bytes: usize,
) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?;
    let (out, _, _) = snapfile::write_app(
        BufWriter::with_capacity(IO_BUFFER, &file),
        meta,
        app,
        record_bytes,
    )?;
    out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file)
}

/// Commands up to which an `apply` call runs on the async worker that calls it, when the state
/// is not locked (a few hundred microseconds of work at most); larger calls go to the blocking
/// pool. Handing a small call to a pool thread and back costs more than applying it, and it
/// is on the path of every write: the leader answers its clients after applying.
pub const INLINE_APPLY_COMMANDS: usize = 256;

/// Rows up to which a listing query counts as small enough to answer on an async worker.
const INLINE_ROWS: usize = 1_000;

/// Whether `q` is cheap: a point read, a count, or a listing of at most [`INLINE_ROWS`].
fn is_small(q: &Query) -> bool {
    match q {
        Query::After { n, .. } | Query::Before { n, .. } => *n <= INLINE_ROWS,
        _ => true,
    }
}

impl StateMachineHandle {
    /// Runs a query against the applied state: inline when it is small and the state lock is
    /// free at once, otherwise on the blocking pool (a large listing, or the lock held by an
    /// `apply` batch or a snapshot swap).
    pub async fn query(&self, q: Query) -> Result<QueryReply> {
        if is_small(&q) {
            if let Ok(st) = self.shared.state.try_read() {
                return st.app.query(&q);
            }
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.state.read().expect("poisoned").app.query(&q))
            .await
            .map_err(|e| Error::Io(format!("query task: {e}")))?
    }

    /// Op-id memory of the group's boards (for metrics). Waits for the state lock like
    /// [`StateMachineHandle::last_applied`]; call it off the async workers.
    pub fn op_id_stats(&self) -> leaderboard_core::OpIdStats {
        self.shared
            .state
            .read()
            .expect("poisoned")
            .app
            .op_id_stats()
    }

    /// Index of the last applied entry. Waits for the state lock (an `apply` batch holds it
    /// briefly): for tests and tools, not for an async hot path.
    pub fn last_applied(&self) -> Option<u64> {
        self.shared
            .state
            .read()
            .expect("poisoned")
            .last_applied
            .map(|l| l.index)
    }

    /// Index covered by the latest snapshot held by this node.
    pub fn snapshot_index(&self) -> Option<u64> {
        self.shared
            .current
            .lock()
            .expect("poisoned")
            .as_ref()
            .and_then(|m| m.last_log_id)
            .map(|l| l.index)
    }
}

impl Shared {
    /// The write lock, taken after the `exclusive` mutex (held with it).
    fn write_state(&self) -> (MutexGuard<'_, ()>, RwLockWriteGuard<'_, SmState>) {
        let exclusive = self.exclusive.lock().expect("poisoned");
        (exclusive, self.state.write().expect("poisoned"))
    }

    /// Applies committed entries, waiting for the locks (on the blocking pool).
    fn apply(&self, entries: Vec<Entry>) -> Vec<BatchReply> {
        let (_exclusive, mut st) = self.write_state();
        self.apply_locked(&mut st, entries)
    }

    /// Applies `entries` at once when they hold at most [`INLINE_APPLY_COMMANDS`] commands and
    /// both locks are free; otherwise hands them back untouched.
    fn try_apply_inline(
        &self,
        entries: Vec<Entry>,
    ) -> std::result::Result<Vec<BatchReply>, Vec<Entry>> {
        let commands: usize = entries
            .iter()
            .map(|e| match &e.payload {
                EntryPayload::Normal(batch) => batch.commands.len(),
                _ => 0,
            })
            .sum();
        if commands > INLINE_APPLY_COMMANDS {
            return Err(entries);
        }
        let Ok(_exclusive) = self.exclusive.try_lock() else {
            return Err(entries);
        };
        let Ok(mut st) = self.state.try_write() else {
            return Err(entries);
        };
        Ok(self.apply_locked(&mut st, entries))
    }

    /// Applies committed entries to the locked state.
    fn apply_locked(&self, st: &mut SmState, entries: Vec<Entry>) -> Vec<BatchReply> {
        let mut replies = Vec::with_capacity(entries.len());
        for entry in entries {
            st.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => replies.push(BatchReply::default()),
                EntryPayload::Normal(batch) => {
                    let me = self.node.load(Ordering::Relaxed);
                    let outcomes = me == 0 || entry.log_id.leader_id.node_id == me;
                    let reply = st.app.apply_as(&batch, outcomes);
                    if let Some(hook) = &self.hook {
                        hook(entry.log_id.index, &batch, &reply);
                    }
                    replies.push(reply);
                }
                EntryPayload::Membership(m) => {
                    st.membership = StoredMembership::new(Some(entry.log_id), m);
                    replies.push(BatchReply::default());
                }
            }
        }
        replies
    }

    /// Makes the fsynced file at `tmp` the current snapshot, unless the current one is newer
    /// (then `tmp` is removed). Returns whether it was installed.
    fn commit(&self, tmp: &Path, meta: &SnapshotMeta) -> Result<bool> {
        let _guard = self.persist.lock().expect("poisoned");
        let newer = self
            .current
            .lock()
            .expect("poisoned")
            .as_ref()
            .is_some_and(|c| c.last_log_id > meta.last_log_id);
        if newer {
            fs::remove_file(tmp)?;
            return Ok(false);
        }
        fs::rename(tmp, self.dir.join(snapfile::FILE))?;
        record::sync_dir(&self.dir)?;
        *self.current.lock().expect("poisoned") = Some(meta.clone());
        Ok(true)
    }

    fn temp_path(&self, kind: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{kind}-{n}.tmp"))
    }

    /// Streams the applied state into a new snapshot file and makes it current. Returns its
    /// metadata and the open file, positioned at the start.
    fn build(&self) -> Result<(SnapshotMeta, File)> {
        let tmp = self.temp_path("build");
        let (meta, written) = {
            let _exclusive = self.exclusive.lock().expect("poisoned");
            let st = self.state.read().expect("poisoned");
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let id = match st.last_applied {
                Some(l) => format!("{}-{}-{n}", l.leader_id.term, l.index),
                None => format!("0-0-{n}"),
            };
            let meta = SnapshotMeta {
                last_log_id: st.last_applied,
                last_membership: st.membership.clone(),
                snapshot_id: id,
            };
            let written = write_file(&tmp, &meta, &st.app, self.opts.record_bytes);
            (meta, written)
        };
        let mut file = match written {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        self.commit(&tmp, &meta)?;
        file.seek(SeekFrom::Start(0))?;
        Ok((meta, file))
    }

    /// Opens the current snapshot file and reads its metadata from the file itself, so that the
    /// two always match even if a newer snapshot replaces the name meanwhile.
    fn open_current(&self) -> Result<Option<(SnapshotMeta, File)>> {
        let mut file = match File::open(self.dir.join(snapfile::FILE)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let (_, header) = snapfile::Reader::open(&mut file)?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Some((header.meta, file)))
    }

    /// Restores the state from a received (or handed over) snapshot file, stores it as the
    /// current snapshot and swaps it in.
    fn install(
        &self,
        meta: &SnapshotMeta,
        mut file: File,
        incoming: Option<PathBuf>,
    ) -> Result<()> {
        let (group, layout) = {
            let st = self.state.read().expect("poisoned");
            (st.app.group(), st.app.layout())
        };
        file.seek(SeekFrom::Start(0))?;
        let mut prefix = Vec::with_capacity(16);
        (&mut file).take(16).read_to_end(&mut prefix)?;
        file.seek(SeekFrom::Start(0))?;
        // A file this node received into can become the snapshot as it is; anything else (a
        // handle on another file) is copied while it is read.
        let own = incoming.filter(|p| p.parent() == Some(self.dir.as_path()));
        let (app, path) = if snapfile::is_current_format(&prefix) {
            match own {
                Some(path) => {
                    let (header, app) = snapfile::read_app(
                        BufReader::with_capacity(IO_BUFFER, &file),
                        group,
                        layout,
                    )?;
                    check_meta(&header.meta, meta)?;
                    file.sync_all()?;
                    (app, path)
                }
                None => {
                    let tmp = self.temp_path("install");
                    let out = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
                    let mut tee = Tee {
                        input: BufReader::with_capacity(IO_BUFFER, &file),
                        out: BufWriter::with_capacity(IO_BUFFER, &out),
                    };
                    let read = snapfile::read_app(&mut tee, group, layout).and_then(|r| {
                        tee.out.flush()?;
                        Ok(r)
                    });
                    drop(tee);
                    let (header, app) = match read {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = fs::remove_file(&tmp);
                            return Err(e);
                        }
                    };
                    check_meta(&header.meta, meta)?;
                    out.sync_all()?;
                    (app, tmp)
                }
            }
        } else {
            // A format-1 leader sends the encoded state as one blob.
            snapfile::legacy_data_fits(file.metadata()?.len())?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            let mut app = AppState::new(group, layout);
            app.restore(&bytes)?;
            drop(bytes);
            let tmp = self.temp_path("install");
            write_file(&tmp, meta, &app, self.opts.record_bytes)?;
            (app, tmp)
        };
        drop(file);
        self.commit(&path, meta)?;
        let old = {
            let (_exclusive, mut st) = self.write_state();
            st.last_applied = meta.last_log_id;
            st.membership = meta.last_membership.clone();
            std::mem::replace(&mut st.app, app)
        };
        drop(old);
        remove_incoming(&self.dir)?;
        Ok(())
    }
}

/// The metadata inside a received file must be the metadata openraft installs it under.
fn check_meta(found: &SnapshotMeta, want: &SnapshotMeta) -> Result<()> {
    if found != want {
        return Err(Error::Corrupt(format!(
            "snapshot file holds {found:?}, expected {want:?}"
        )));
    }
    Ok(())
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot<TypeConfig>, StorageError> {
        let shared = self.shared.clone();
        let (meta, file) = blocking(ErrorVerb::Write, move || shared.build()).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(SnapshotData::reader(file)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> std::result::Result<(Option<LogId>, StoredMembership), StorageError> {
        let st = self.shared.state.read().expect("poisoned");
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> std::result::Result<Vec<BatchReply>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let entries = match self.shared.try_apply_inline(entries) {
            Ok(replies) => return Ok(replies),
            Err(entries) => entries,
        };
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.apply(entries))
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            shared: self.shared.clone(),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> std::result::Result<Box<SnapshotData>, StorageError> {
        let shared = self.shared.clone();
        let (file, path) = blocking(ErrorVerb::Write, move || {
            // One reception at a time: earlier, abandoned ones are dropped.
            remove_incoming(&shared.dir)?;
            let path = shared.temp_path("incoming");
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            Ok((file, path))
        })
        .await?;
        Ok(Box::new(SnapshotData::incoming(file, path)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<SnapshotData>,
    ) -> std::result::Result<(), StorageError> {
        let (file, incoming) = snapshot
            .into_std()
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let shared = self.shared.clone();
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || shared.install(&meta, file, incoming))
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))?
            .map_err(|e| sm_err(ErrorVerb::Write, e))
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> std::result::Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let shared = self.shared.clone();
        let cur = blocking(ErrorVerb::Read, move || shared.open_current()).await?;
        Ok(cur.map(|(meta, file)| Snapshot {
            meta,
            snapshot: Box::new(SnapshotData::reader(file)),
        }))
    }
}

#[cfg(test)]
mod tests;
