//! The replicated state machine of a group (openraft `RaftStateMachine`).
//!
//! It applies committed entries to the group's [`AppState`] (the leaderboard partitions the group
//! owns), remembers the last applied log id and the membership, and makes snapshots.
//!
//! A snapshot is `bincode(SnapshotFile { meta, data })` where `data` is the application state;
//! it is written to `DIR/snapshot` as one checksummed record, atomically replaced
//! ([`crate::log_store::record::write_atomic`]), both when this node builds one and when it
//! installs one received from the leader. On start the state machine is restored from that file
//! and openraft re-applies the log entries after it.
//!
//! Concurrency: openraft drives `apply` from one task; queries from clients read through a
//! [`StateMachineHandle`] under a read lock. `apply` holds the write lock for one batch only.

pub mod app;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{AnyError, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, StorageIOError};
use serde::{Deserialize, Serialize};

pub use app::AppState;

use crate::codec;
use crate::command::{BatchReply, Query, QueryReply};
use crate::error::Result;
use crate::log_store::record;
use crate::types::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

/// Hook called on every replica with each applied batch, its log index and its reply (change
/// publishing; the hook decides whether this replica publishes). It runs on the apply path, so
/// it must only enqueue, never block.
pub type ApplyHook = Arc<dyn Fn(u64, &crate::command::Batch, &BatchReply) + Send + Sync>;

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

struct SmState {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    app: AppState,
}

struct Shared {
    state: RwLock<SmState>,
    current: Mutex<Option<Arc<SnapshotFile>>>,
    counter: AtomicU64,
    dir: PathBuf,
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

/// Builds snapshots off the apply path (the state is encoded under a read lock).
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

impl StateMachine {
    /// Opens the state machine in `dir`, restoring the last snapshot if there is one.
    pub fn open(
        dir: &Path,
        app: AppState,
        hook: Option<ApplyHook>,
    ) -> Result<(Self, StateMachineHandle)> {
        std::fs::create_dir_all(dir)?;
        let mut state = SmState {
            last_applied: None,
            membership: StoredMembership::default(),
            app,
        };
        let mut current = None;
        if let Some(bytes) = record::read_atomic(&dir.join("snapshot"))? {
            let file: SnapshotFile = codec::decode(&bytes)?;
            state.app.restore(&file.data)?;
            state.last_applied = file.meta.last_log_id;
            state.membership = file.meta.last_membership.clone();
            current = Some(Arc::new(file));
        }
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            current: Mutex::new(current),
            counter: AtomicU64::new(0),
            dir: dir.to_path_buf(),
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
}

impl StateMachine {
    /// Tells the state machine which node it runs on, so that it computes write outcomes only
    /// for the entries this node proposed (see [`AppState::apply_as`]). Without it every entry
    /// gets full outcomes.
    pub fn set_node(&self, node: crate::types::NodeId) {
        self.shared.node.store(node, Ordering::Relaxed);
    }
}

impl StateMachineHandle {
    /// Runs a query against the applied state.
    pub fn query(&self, q: &Query) -> Result<QueryReply> {
        self.shared.state.read().expect("poisoned").app.query(q)
    }

    /// Op-id memory of the group's boards (for metrics).
    pub fn op_id_stats(&self) -> leaderboard_core::OpIdStats {
        self.shared
            .state
            .read()
            .expect("poisoned")
            .app
            .op_id_stats()
    }

    /// Index of the last applied entry.
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
            .and_then(|s| s.meta.last_log_id)
            .map(|l| l.index)
    }
}

impl Shared {
    async fn persist(&self, file: SnapshotFile) -> std::result::Result<(), StorageError> {
        let bytes = codec::encode(&file).map_err(|e| snap_err(ErrorVerb::Write, e))?;
        let path = self.dir.join("snapshot");
        tokio::task::spawn_blocking(move || record::write_atomic(&path, &bytes))
            .await
            .map_err(|e| snap_err(ErrorVerb::Write, e))?
            .map_err(|e| snap_err(ErrorVerb::Write, e))?;
        *self.current.lock().expect("poisoned") = Some(Arc::new(file));
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot<TypeConfig>, StorageError> {
        let (meta, data) = {
            let st = self.shared.state.read().expect("poisoned");
            let data = st
                .app
                .snapshot()
                .map_err(|e| snap_err(ErrorVerb::Read, e))?;
            let n = self.shared.counter.fetch_add(1, Ordering::Relaxed);
            let id = match st.last_applied {
                Some(l) => format!("{}-{}-{n}", l.leader_id.term, l.index),
                None => format!("0-0-{n}"),
            };
            let meta = SnapshotMeta {
                last_log_id: st.last_applied,
                last_membership: st.membership.clone(),
                snapshot_id: id,
            };
            (meta, data)
        };
        self.shared
            .persist(SnapshotFile {
                meta: meta.clone(),
                data: data.clone(),
            })
            .await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
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
        let mut replies = Vec::new();
        let mut st = self.shared.state.write().expect("poisoned");
        for entry in entries {
            st.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => replies.push(BatchReply::default()),
                EntryPayload::Normal(batch) => {
                    let me = self.shared.node.load(Ordering::Relaxed);
                    let outcomes = me == 0 || entry.log_id.leader_id.node_id == me;
                    let reply = st.app.apply_as(&batch, outcomes);
                    if let Some(hook) = &self.shared.hook {
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
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            shared: self.shared.clone(),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> std::result::Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> std::result::Result<(), StorageError> {
        let data = snapshot.into_inner();
        {
            let mut st = self.shared.state.write().expect("poisoned");
            st.app
                .restore(&data)
                .map_err(|e| sm_err(ErrorVerb::Write, e))?;
            st.last_applied = meta.last_log_id;
            st.membership = meta.last_membership.clone();
        }
        self.shared
            .persist(SnapshotFile {
                meta: meta.clone(),
                data,
            })
            .await
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> std::result::Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let cur = self.shared.current.lock().expect("poisoned").clone();
        Ok(cur.map(|f| Snapshot {
            meta: f.meta.clone(),
            snapshot: Box::new(Cursor::new(f.data.clone())),
        }))
    }
}
