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
    // A current-thread runtime: the disk work goes to the blocking pool.
    reopen_round_trip().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_restores_entries_vote_and_purge_on_a_multi_thread_runtime() {
    // The disk work runs on the calling worker, inside `block_in_place`.
    reopen_round_trip().await;
}

async fn reopen_round_trip() {
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

/// Writes entries `1..=n` with `segment_bytes` segments and closes the log.
async fn write_log(dir: &Path, n: u64, segment_bytes: u64) {
    let mut s = LogStore::open(
        dir,
        LogOptions {
            segment_bytes,
            ..opts()
        },
    )
    .unwrap();
    s.blocking_append(ents(1, n)).await.unwrap();
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn flip_bit(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x40;
    std::fs::write(path, &bytes).unwrap();
}

/// Every segment file with its length.
fn snapshot_of_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    segment_files(dir)
        .into_iter()
        .map(|p| {
            let len = std::fs::metadata(&p).unwrap().len();
            (p, len)
        })
        .collect()
}

/// Opening must fail with a `Corrupt` error naming the file, an offset and an entry index,
/// and must leave every segment file as it was.
fn assert_refused(dir: &Path, file: &Path) -> String {
    let before = snapshot_of_files(dir);
    let err = match LogStore::open(dir, opts()) {
        Ok(_) => panic!("a log damaged outside its torn tail must not open"),
        Err(e) => e,
    };
    let Error::Corrupt(msg) = &err else {
        panic!("expected a Corrupt error, got {err:?}");
    };
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(msg.contains(&name), "names the file: {msg}");
    assert!(msg.contains("offset"), "names the offset: {msg}");
    assert!(msg.contains("entry"), "names the entry: {msg}");
    assert_eq!(snapshot_of_files(dir), before, "nothing deleted or cut");
    // Still refused on a second attempt: nothing was repaired behind the operator's back.
    assert!(matches!(
        LogStore::open(dir, opts()),
        Err(Error::Corrupt(_))
    ));
    msg.clone()
}

#[tokio::test]
async fn flipped_bit_in_an_earlier_segment_stops_the_log() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 40, 128).await;
    let files = segment_files(dir.path());
    assert!(files.len() > 3, "small segments rotate");
    let first = &files[0];
    let len = std::fs::metadata(first).unwrap().len() as usize;
    flip_bit(first, len / 2);
    let msg = assert_refused(dir.path(), first);
    assert!(msg.contains("acknowledged"), "{msg}");
}

#[tokio::test]
async fn torn_looking_end_of_an_earlier_segment_stops_the_log() {
    // Only the last segment can have been cut by a crash: later segments are created after the
    // earlier one was synced. A short earlier segment is damage, not a torn write.
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 40, 128).await;
    let files = segment_files(dir.path());
    let second = &files[1];
    let len = std::fs::metadata(second).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(second)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    assert_refused(dir.path(), second);
}

/// Byte offsets of the records of a segment file.
fn record_offsets(path: &Path) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap();
    let mut offsets = Vec::new();
    let mut pos = 0;
    while let record::Decoded::Record(_, used) = record::decode(&bytes[pos..]) {
        offsets.push(pos);
        pos += used;
    }
    assert_eq!(pos, bytes.len());
    offsets
}

#[tokio::test]
async fn flipped_bit_in_the_middle_of_the_last_segment_stops_the_log() {
    // In the payload, in the checksum, and in the high byte of the length (which makes the
    // record claim the rest of the file, like a torn write, while intact records follow it).
    for within_record in [record::HEADER, 4, 2] {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), 10, 1 << 20).await;
        let seg = segment_files(dir.path()).pop().unwrap();
        let offsets = record_offsets(&seg);
        flip_bit(&seg, offsets[5] + within_record);
        let msg = assert_refused(dir.path(), &seg);
        assert!(
            msg.contains(&format!("offset {}", offsets[5])) && msg.contains("entry 6"),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn undecodable_entry_with_a_good_checksum_stops_the_log() {
    // A record whose checksum holds but whose payload is not the entry it should be was
    // written that way (a bug, or damage before the checksum was computed): not a torn write.
    for payload in [
        b"not an entry".to_vec(),
        codec::encode(&blank_ent::<TypeConfig>(1, 1, 99)).unwrap(),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), 10, 1 << 20).await;
        let seg = segment_files(dir.path()).pop().unwrap();
        let mut rec = Vec::new();
        record::encode_into(&mut rec, &payload).unwrap();
        append_bytes(&seg, &rec);
        let msg = assert_refused(dir.path(), &seg);
        assert!(msg.contains("entry 11"), "{msg}");
    }
}

#[tokio::test]
async fn torn_tails_of_the_last_segment_are_still_repaired() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 40, 128).await;
    let n_files = segment_files(dir.path()).len();
    assert!(n_files > 3, "small segments rotate");
    let seg = segment_files(dir.path()).pop().unwrap();
    let reopen = || async {
        let mut s = LogStore::open(dir.path(), opts()).unwrap();
        let got = indexes(&mut s).await;
        assert_eq!(segment_files(dir.path()).len(), n_files, "segments kept");
        (s, got)
    };

    // The last record fails its checksum and ends exactly at the end of the file: the sectors
    // of an unsynced write never reached the disk.
    let len = std::fs::metadata(&seg).unwrap().len() as usize;
    flip_bit(&seg, len - 1);
    let (mut s, got) = reopen().await;
    assert_eq!(got, (1..=39).collect::<Vec<_>>());
    s.blocking_append(ents(40, 40)).await.unwrap();
    drop(s);

    // A header that announces more bytes than the file holds.
    let mut rec = Vec::new();
    record::encode_into(&mut rec, &[7u8; 100]).unwrap();
    append_bytes(&seg, &rec[..50]);
    let (_, got) = reopen().await;
    assert_eq!(got, (1..=40).collect::<Vec<_>>());

    // A complete header whose payload is damaged, then zeros: the rest of an unsynced batch
    // never arrived.
    let mut rec = Vec::new();
    record::encode_into(&mut rec, &codec::encode(&ents(41, 41)[0]).unwrap()).unwrap();
    let last = rec.len() - 1;
    rec[last] ^= 0xff;
    append_bytes(&seg, &rec);
    append_bytes(&seg, &[0u8; 512]);
    let (_, got) = reopen().await;
    assert_eq!(got, (1..=40).collect::<Vec<_>>());

    // Zeros after the last record (the file grew, its data never arrived).
    let len = std::fs::metadata(&seg).unwrap().len();
    append_bytes(&seg, &[0u8; 4096]);
    let (mut s, got) = reopen().await;
    assert_eq!(got, (1..=40).collect::<Vec<_>>());
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), len, "zeros cut");
    s.blocking_append(ents(41, 45)).await.unwrap();
    drop(s);
    let mut s = LogStore::open(dir.path(), opts()).unwrap();
    assert_eq!(indexes(&mut s).await, (1..=45).collect::<Vec<_>>());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_stops_the_log() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("log");
    let mut s = LogStore::open(&dir, opts()).unwrap();
    s.blocking_append(ents(1, 3)).await.unwrap();
    // The next segment cannot be created: the append fails, and so does everything after it,
    // even once the directory is back (what reached the disk is unknown).
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(s.blocking_append(ents(4, 40)).await.is_err());
    std::fs::create_dir_all(&dir).unwrap();
    assert!(s.blocking_append(ents(4, 40)).await.is_err());
    assert!(s.truncate(log_id(1, 1, 2)).await.is_err());
    assert!(s.purge(log_id(1, 1, 1)).await.is_err());
}
