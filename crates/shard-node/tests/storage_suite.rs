//! openraft's own storage conformance suite against the durable log and the state machine.

use openraft::testing::{StoreBuilder, Suite};
use shard_node::log_store::{LogOptions, LogStore};
use shard_node::state_machine::{AppState, StateMachine};
use shard_node::types::{StorageError, TypeConfig};

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().unwrap();
        let log = LogStore::open(&dir.path().join("log"), LogOptions::default()).unwrap();
        let (sm, _) = StateMachine::open(
            &dir.path().join("sm"),
            AppState::new(0, shard_node::layout::Layout::default()),
            None,
        )
        .unwrap();
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).unwrap();
}
