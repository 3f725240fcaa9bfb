use std::fs::OpenOptions;
use std::io::Write;

use openraft::storage::{RaftLogReader, RaftLogStorage, RaftLogStorageExt};
use openraft::testing::{blank_ent, log_id};

use super::*;

fn opts() -> LogOptions {
    LogOptions {
        fsync: FsyncPolicy::Always,
        segment_bytes: 128,
    }
}

fn ents(from: u64, to: u64) -> Vec<Entry> {
    (from..=to)
        .map(|i| blank_ent::<TypeConfig>(1, 1, i))
        .collect()
}

async fn indexes(store: &mut LogStore) -> Vec<u64> {
    store
        .try_get_log_entries(..)
        .await
        .unwrap()
        .iter()
        .map(|e| e.log_id.index)
        .collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn reopen_restores_entries_vote_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = LogStore::open(dir.path(), opts()).unwrap();
        s.blocking_append(ents(1, 40)).await.unwrap();
        s.save_vote(&Vote::new(3, 2)).await.unwrap();
        let before = segment_files(dir.path()).len();
        assert!(before > 3, "small segments rotate");
        s.purge(log_id(1, 1, 15)).await.unwrap();
        assert!(
            segment_files(dir.path()).len() < before,
            "purge deletes whole segments"
        );
        s.truncate(log_id(1, 1, 31)).await.unwrap();
        s.blocking_append(ents(31, 35)).await.unwrap();
    }
    let mut s = LogStore::open(dir.path(), opts()).unwrap();
    assert_eq!(indexes(&mut s).await, (16..=35).collect::<Vec<_>>());
    assert_eq!(s.read_vote().await.unwrap(), Some(Vote::new(3, 2)));
    let st = s.get_log_state().await.unwrap();
    assert_eq!(st.last_purged_log_id, Some(log_id(1, 1, 15)));
    assert_eq!(st.last_log_id, Some(log_id(1, 1, 35)));
}

#[tokio::test]
async fn torn_tail_is_detected_and_truncated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = LogStore::open(
            dir.path(),
            LogOptions {
                segment_bytes: 1 << 20,
                ..opts()
            },
        )
        .unwrap();
        s.blocking_append(ents(1, 10)).await.unwrap();
    }
    let seg = segment_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    // Cut the last record in half: entry 10 is lost, 1..=9 survive.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    {
        let mut s = LogStore::open(dir.path(), opts()).unwrap();
        assert_eq!(indexes(&mut s).await, (1..=9).collect::<Vec<_>>());
        // The log is usable again after repair.
        s.blocking_append(ents(10, 12)).await.unwrap();
    }
    // Garbage after the last good record (a torn header) is dropped too.
    let seg = segment_files(dir.path()).pop().unwrap();
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
        .unwrap();
    let mut s = LogStore::open(dir.path(), opts()).unwrap();
    assert_eq!(indexes(&mut s).await, (1..=12).collect::<Vec<_>>());
}

#[tokio::test]
async fn flipped_bit_fails_checksum_and_cuts_log_there() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = LogStore::open(
            dir.path(),
            LogOptions {
                segment_bytes: 1 << 20,
                ..opts()
            },
        )
        .unwrap();
        s.blocking_append(ents(1, 10)).await.unwrap();
    }
    let seg = segment_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let mut s = LogStore::open(dir.path(), opts()).unwrap();
    let got = indexes(&mut s).await;
    assert!(!got.is_empty() && got.len() < 10, "{got:?}");
    assert_eq!(got, (1..=got.len() as u64).collect::<Vec<_>>());
    assert!(
        std::fs::metadata(&seg).unwrap().len() < n as u64,
        "file truncated"
    );
}

#[tokio::test]
async fn purge_past_the_end_then_append_after_a_gap() {
    // What a snapshot install does to a lagging follower's log.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = LogStore::open(dir.path(), opts()).unwrap();
        s.blocking_append(ents(1, 5)).await.unwrap();
        s.purge(log_id(1, 1, 100)).await.unwrap();
        s.blocking_append(ents(101, 103)).await.unwrap();
    }
    let mut s = LogStore::open(dir.path(), opts()).unwrap();
    assert_eq!(indexes(&mut s).await, vec![101, 102, 103]);
}
