//! What a batch of frames for bridged sockets costs to cross between
//! gateways: the owner's encoding plus the bridging gateway's decoding into
//! the `Utf8Bytes` its sockets' queues take, for one batch of 1,024 frames.
//!
//! `json_escaped` is the earlier envelope, rebuilt here for comparison: a
//! `batch` JSON message whose items each carry the frame's JSON text as a
//! JSON string (copied out of its `Utf8Bytes` first, escaped, unescaped on
//! the other side). `raw_batch` is [`gateway::live::relay`]: bincode
//! entries, frames carried raw, a frame shared by several sockets once.
//!
//! Workloads: `push` is a leaderboard push as the fanout queues it: per
//! player the shared top-10 frame (~1 KB, one `Utf8Bytes`) then the
//! player's own `rank` frame (~150 bytes), 512 players; `distinct` is 1,024
//! different rank frames (nothing to share: the raw envelope alone).
//!
//! Run: `cargo bench -p gateway --bench relay`.
//!
//! One run (2-core VM shared with other builds, load 2-4; gateway, serde,
//! serde_json, bincode, bytes, tungstenite optimised, other dependencies
//! not): `push` 2.02 ms -> 0.14 ms per batch, message 623 KB -> 75 KB;
//! `distinct` 0.76 ms -> 0.21 ms, 196 KB -> 145 KB.

use std::hint::black_box;

use axum::extract::ws::Utf8Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gateway::live::relay::{self, Entry, Relayed};
use serde::{Deserialize, Serialize};

/// The earlier envelope.
#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum OldWire {
    Frame { conn: u64, text: String },
    Close { conn: u64, code: u16 },
    Batch { items: Vec<OldWire> },
}

fn top() -> Utf8Bytes {
    let top: Vec<String> = (1..=10)
        .map(|r| {
            format!(
                r#"{{"rank":{r},"player_id":{},"nickname":"Player \"{r}\" Zoë","score":{}}}"#,
                1000 + r,
                10_000 - r * 100
            )
        })
        .collect();
    Utf8Bytes::from(format!(
        r#"{{"type":"leaderboard","version":42,"top":[{}],"players":30000,"changed_at":1700000000000,"pushed_at":1700000000250}}"#,
        top.join(",")
    ))
}

fn rank(player: u64) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"type":"rank","version":42,"rank":{player},"score":{},"players":30000,"changed_at":1700000000000,"pushed_at":1700000000250,"percentile":{}}}"#,
        player * 37 % 9000,
        player % 100
    ))
}

fn push() -> Vec<(u64, Relayed)> {
    let top = top();
    (0..512u64)
        .flat_map(|p| {
            [
                (10_000 + p, Relayed::Frame(top.clone())),
                (10_000 + p, Relayed::Frame(rank(p))),
            ]
        })
        .collect()
}

fn distinct() -> Vec<(u64, Relayed)> {
    (0..1024u64)
        .map(|p| (10_000 + p, Relayed::Frame(rank(p))))
        .collect()
}

fn old_encode(queued: &[(u64, Relayed)]) -> Vec<u8> {
    let items = queued
        .iter()
        .map(|(conn, what)| match what {
            Relayed::Frame(f) => OldWire::Frame {
                conn: *conn,
                text: f.as_str().to_string(),
            },
            Relayed::Close(code) => OldWire::Close {
                conn: *conn,
                code: *code,
            },
        })
        .collect();
    serde_json::to_vec(&OldWire::Batch { items }).expect("serialises")
}

fn old_decode(payload: &[u8]) -> Vec<(u64, Utf8Bytes)> {
    let Ok(OldWire::Batch { items }) = serde_json::from_slice(payload) else {
        panic!("a batch")
    };
    items
        .into_iter()
        .filter_map(|w| match w {
            OldWire::Frame { conn, text } => Some((conn, Utf8Bytes::from(text))),
            _ => None,
        })
        .collect()
}

fn new_encode(queued: &[(u64, Relayed)]) -> Vec<u8> {
    relay::encode(&relay::entries(queued.iter().map(|(c, r)| (*c, r))))
}

fn new_decode(payload: &[u8]) -> Vec<(u64, Utf8Bytes)> {
    let mut out = Vec::with_capacity(1024);
    for e in relay::decode(payload).expect("a batch") {
        match e {
            Entry::Frame { conn, text } => out.push((conn, Utf8Bytes::from(text.to_owned()))),
            Entry::Fan { conns, text } => {
                let f = Utf8Bytes::from(text.to_owned());
                out.extend(conns.into_iter().map(|c| (c, f.clone())));
            }
            Entry::Close { .. } => {}
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    for (name, queued) in [("push", push()), ("distinct", distinct())] {
        let old = old_encode(&queued);
        let new = new_encode(&queued);
        // Both deliver the same frames to the same sockets.
        let (a, b) = (old_decode(&old), new_decode(&new));
        assert_eq!(a.len(), b.len());
        println!(
            "RELAY {name}: {} frames, {} bytes of frames; message json_escaped {} bytes, raw_batch {} bytes",
            queued.len(),
            a.iter().map(|(_, f)| f.len()).sum::<usize>(),
            old.len(),
            new.len()
        );
        let mut g = c.benchmark_group(format!("relay_{name}"));
        g.throughput(Throughput::Elements(queued.len() as u64));
        g.bench_function("json_escaped", |b| {
            b.iter(|| old_decode(&old_encode(black_box(&queued))))
        });
        g.bench_function("raw_batch", |b| {
            b.iter(|| new_decode(&new_encode(black_box(&queued))))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
