//! A node whose log is damaged somewhere other than a torn tail refuses to start, with an error
//! naming the damage (in process and as the `shard-node run` binary), and rejoins its group by
//! the documented recovery: remove it, move its data directory away, add it back.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{create_board, eventually, names, put, TestCluster};
use openraft::storage::RaftLogStorageExt;
use openraft::testing::blank_ent;
use shard_node::layout::Layout;
use shard_node::log_store::record::{self, Decoded};
use shard_node::log_store::{LogOptions, LogStore};
use shard_node::node::{RaftTuning, ShardNode};
use shard_node::types::TypeConfig;

/// The last segment file of the log in `dir`.
fn last_segment(dir: &Path) -> PathBuf {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v.pop().expect("a segment file")
}

/// Flips a bit in the payload of the `n`th record of `seg` (intact records follow it) and
/// returns the record's byte offset.
fn damage_record(seg: &Path, n: usize) -> usize {
    let mut bytes = std::fs::read(seg).unwrap();
    let mut pos = 0;
    let mut offsets = Vec::new();
    while let Decoded::Record(_, used) = record::decode(&bytes[pos..]) {
        offsets.push(pos);
        pos += used;
    }
    assert!(offsets.len() > n + 1, "{} records", offsets.len());
    bytes[offsets[n] + record::HEADER] ^= 0x10;
    std::fs::write(seg, &bytes).unwrap();
    offsets[n]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_damaged_log_refuses_to_start_and_rejoins_after_a_wipe() {
    let mut c = TestCluster::start(3, 3, Layout::new(1), RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 0..30u64 {
        put(&client, i).await.unwrap();
    }
    let leader = c.leader(0).await;
    let last = c.status(leader, 0).await.last_applied.unwrap();
    c.applied(0, last).await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    c.stop(victim).await;

    let seg = last_segment(&c.data_dir(victim).join("group-0").join("log"));
    let offset = damage_record(&seg, 10);
    let damaged = std::fs::read(&seg).unwrap();
    let opts = c.node_options(victim, c.addrs[&victim]);
    let err = match ShardNode::start(opts).await {
        Ok(_) => panic!("a node with a damaged log must not start"),
        Err(e) => e,
    };
    let shard_node::Error::Corrupt(msg) = &err else {
        panic!("expected a corruption error, got {err:?}");
    };
    assert!(msg.contains(&seg.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("offset {offset}")), "{msg}");
    assert!(msg.contains("entry"), "{msg}");
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        damaged,
        "the log is left as found"
    );

    // The recovery the README documents: remove the node, move its data away, start it empty
    // (without bootstrapping anything) and add it back; it copies the group from the others.
    client.remove_node(0, victim).await.unwrap();
    std::fs::rename(c.data_dir(victim), c.dir.path().join("damaged")).unwrap();
    c.restart(victim).await;
    client.add_node(0, victim, c.info(victim)).await.unwrap();
    put(&client, 100).await.unwrap();
    let mut want = names(0..30);
    want.insert("m100".to_string());
    eventually(
        "the rejoined node holds every write",
        Duration::from_secs(30),
        || async { (c.members(victim, 0).await == want).then_some(()) },
    )
    .await;
    let st = c.status(c.leader(0).await, 0).await;
    assert!(st.voters.contains(&victim), "{st:?}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_node_run_exits_non_zero_naming_the_damage() {
    let bin = env!("CARGO_BIN_EXE_shard-node");
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let data = dir.path().join("data");
    let out = std::process::Command::new(bin)
        .env_clear()
        .arg("certs")
        .arg("--out")
        .arg(&certs)
        .args(["--nodes", "n1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // A log of ten entries for group 0, with entry 5 damaged.
    let log_dir = data.join("group-0").join("log");
    {
        let mut log = LogStore::open(&log_dir, LogOptions::default()).unwrap();
        let entries: Vec<_> = (1..=10).map(|i| blank_ent::<TypeConfig>(1, 1, i)).collect();
        log.blocking_append(entries).await.unwrap();
    }
    let seg = last_segment(&log_dir);
    let offset = damage_record(&seg, 4);

    let child = tokio::process::Command::new(bin)
        .env_clear()
        .arg("run")
        .args(["--id", "1", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--certs-dir")
        .arg(&certs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("shard-node run must exit on a damaged log, not keep running")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    assert!(stderr.contains("corrupt data on disk"), "{stderr}");
    assert!(stderr.contains(&seg.display().to_string()), "{stderr}");
    assert!(stderr.contains(&format!("offset {offset}")), "{stderr}");
    assert!(stderr.contains("entry 5"), "{stderr}");
}
