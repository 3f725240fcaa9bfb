//! The frames a session's owner sends to the gateways bridging its sockets
//! (see [`super::cluster`]), and how they cross between gateways.
//!
//! Everything the owner queued for one gateway's sockets since its last
//! publish goes as one message: a 4-byte [`HEADER`], then the [`Entry`]
//! list in bincode (variable-length integers, each frame's text as
//! length-prefixed bytes). Frames are carried as they are: no JSON string
//! escaping on the owner, no unescaping on the bridging gateway, one copy
//! of each frame's text into a `Utf8Bytes` there (bincode checks that it
//! is UTF-8).
//!
//! A frame queued for several sockets of one gateway (the leaderboard top
//! every player gets in a push: the same `Utf8Bytes`, told apart by its
//! address) crosses once, as a [`Entry::Fan`] with the connection ids,
//! and is shared by those sockets' queues on the bridging gateway. A
//! connection's frame joins an earlier entry only if nothing else for
//! that connection lies between, so each connection sees its frames and
//! its close in the order queued.

use std::collections::HashMap;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};

/// First bytes of a frame batch: never the start of a JSON message (the
/// other messages between gateways), and names the format's version.
pub const HEADER: &[u8; 4] = b"\0lq1";

/// What an owner sends one bridged socket.
#[derive(Debug, Clone)]
pub enum Relayed {
    /// A JSON text frame.
    Frame(Utf8Bytes),
    /// Close the socket with this code (4008: at once, as too slow).
    Close(u16),
}

/// One entry of a batch, as it crosses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entry<'a> {
    /// A frame for one socket.
    Frame {
        /// The connection id on the bridging gateway.
        conn: u64,
        /// The frame, as the owner serialised it.
        text: &'a str,
    },
    /// One frame for several sockets.
    Fan {
        /// The connection ids on the bridging gateway.
        conns: Vec<u64>,
        /// The frame.
        text: &'a str,
    },
    /// Close a socket with this code.
    Close {
        /// The connection id on the bridging gateway.
        conn: u64,
        /// The close code.
        code: u16,
    },
}

/// A payload that is not a frame batch, or a damaged one.
#[derive(Debug, thiserror::Error)]
pub enum BadBatch {
    /// It does not start with [`HEADER`].
    #[error("not a frame batch")]
    Header,
    /// The entries do not decode.
    #[error("bad frame batch: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// Bytes left after the entries.
    #[error("bad frame batch: {0} bytes after the entries")]
    Trailing(usize),
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// One gateway's entries from what was queued for its sockets, in the
/// order queued, `(connection id, what)`; frames shared by several of its
/// sockets become [`Entry::Fan`]s (see the module docs).
pub fn entries<'a, I>(queued: I) -> Vec<Entry<'a>>
where
    I: IntoIterator<Item = (u64, &'a Relayed)>,
{
    let queued = queued.into_iter();
    let mut out: Vec<Entry<'a>> = Vec::with_capacity(queued.size_hint().0);
    // The entry that carries a frame's bytes, by address and length.
    let mut carried: HashMap<(usize, usize), usize> = HashMap::new();
    // Each connection's latest entry: its next frame may only join a later one.
    let mut latest: HashMap<u64, usize> = HashMap::new();
    for (conn, what) in queued {
        let at = out.len();
        match what {
            Relayed::Frame(frame) => {
                let text = frame.as_str();
                let key = (text.as_ptr() as usize, text.len());
                let joinable = carried
                    .get(&key)
                    .copied()
                    .filter(|&i| latest.get(&conn).map_or(true, |&last| last < i));
                let Some(i) = joinable else {
                    out.push(Entry::Frame { conn, text });
                    carried.insert(key, at);
                    latest.insert(conn, at);
                    continue;
                };
                let entry = &mut out[i];
                match entry {
                    Entry::Fan { conns, .. } => conns.push(conn),
                    Entry::Frame { conn: first, text } => {
                        *entry = Entry::Fan {
                            conns: vec![*first, conn],
                            text,
                        };
                    }
                    // Not in `carried`.
                    Entry::Close { .. } => {}
                }
                latest.insert(conn, i);
            }
            Relayed::Close(code) => {
                out.push(Entry::Close { conn, code: *code });
                latest.insert(conn, at);
            }
        }
    }
    out
}

/// The message carrying `entries`.
pub fn encode(entries: &[Entry<'_>]) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|e| match e {
            Entry::Frame { text, .. } => text.len() + 12,
            Entry::Fan { conns, text } => text.len() + 10 * conns.len() + 12,
            Entry::Close { .. } => 12,
        })
        .sum();
    let mut payload = Vec::with_capacity(HEADER.len() + 10 + size);
    payload.extend_from_slice(HEADER);
    // Writing to a Vec does not fail, nor does serialising these types.
    let _ = bincode::serde::encode_into_std_write(entries, &mut payload, config());
    payload
}

/// Whether a message between gateways is a frame batch.
pub fn is_batch(payload: &[u8]) -> bool {
    payload.starts_with(HEADER)
}

/// The entries of a frame batch, borrowing their texts from `payload`.
pub fn decode(payload: &[u8]) -> Result<Vec<Entry<'_>>, BadBatch> {
    let body = payload.strip_prefix(HEADER).ok_or(BadBatch::Header)?;
    let (entries, read): (Vec<Entry<'_>>, usize) =
        bincode::serde::borrow_decode_from_slice(body, config())?;
    match body.len() - read {
        0 => Ok(entries),
        left => Err(BadBatch::Trailing(left)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Relayed {
        Relayed::Frame(Utf8Bytes::from(text.to_string()))
    }

    /// Each connection's frames and closes, in the order a bridging
    /// gateway delivers the entries.
    fn per_conn(entries: &[Entry<'_>]) -> HashMap<u64, Vec<String>> {
        let mut got: HashMap<u64, Vec<String>> = HashMap::new();
        for e in entries {
            match e {
                Entry::Frame { conn, text } => got.entry(*conn).or_default().push(text.to_string()),
                Entry::Fan { conns, text } => {
                    for c in conns {
                        got.entry(*c).or_default().push(text.to_string());
                    }
                }
                Entry::Close { conn, code } => {
                    got.entry(*conn).or_default().push(format!("close {code}"))
                }
            }
        }
        got
    }

    #[test]
    fn a_raw_frame_crosses_byte_identical() {
        let texts = [
            r#"{"type":"leaderboard","top":[{"nickname":"Zoë \"the\" ⚡ 🦀","score":1}]}"#,
            "{\"type\":\"error\",\"message\":\"tab\\tnewline\\n back\\\\slash \\u0000 \\ud83e\\udd80\"}",
            "{\"type\":\"pong\",\"note\":\"raw\ttab and\nnewline, \u{0} nul, ĳ\"}",
            "",
        ];
        let queued: Vec<Relayed> = texts.iter().map(|t| frame(t)).collect();
        let entries = entries(queued.iter().enumerate().map(|(i, r)| (i as u64, r)));
        let payload = encode(&entries);
        assert!(is_batch(&payload));
        let back = decode(&payload).expect("decodes");
        assert_eq!(back, entries);
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(
                back[i],
                Entry::Frame {
                    conn: i as u64,
                    text: t
                }
            );
        }
    }

    #[test]
    fn a_shared_frame_crosses_once_and_each_connection_keeps_its_order() {
        let top = frame(r#"{"type":"leaderboard","top":[]}"#);
        let (r1, r2, r3) = (frame("rank 1"), frame("rank 2"), frame("rank 3"));
        let queued = [
            (1, top.clone()),
            (1, r1),
            (2, top.clone()),
            (2, r2),
            (3, frame("question")),
            (3, top.clone()),
            (3, r3),
            (1, Relayed::Close(4000)),
        ];
        let entries = entries(queued.iter().map(|(c, r)| (*c, r)));
        let fans: Vec<&Entry<'_>> = entries
            .iter()
            .filter(|e| matches!(e, Entry::Fan { .. }))
            .collect();
        assert_eq!(
            fans,
            [&Entry::Fan {
                conns: vec![1, 2],
                text: r#"{"type":"leaderboard","top":[]}"#
            }],
            "connection 3 had a frame after the shared one's entry: {entries:?}"
        );
        let payload = encode(&entries);
        let got = per_conn(&decode(&payload).expect("decodes"));
        let top = r#"{"type":"leaderboard","top":[]}"#;
        assert_eq!(got[&1], [top, "rank 1", "close 4000"]);
        assert_eq!(got[&2], [top, "rank 2"]);
        assert_eq!(got[&3], ["question", top, "rank 3"]);
    }

    #[test]
    fn a_close_after_frames_arrives_after_them() {
        let top = frame("top");
        let queued = [
            (5, frame("a")),
            (6, top.clone()),
            (5, Relayed::Close(4008)),
            // A frame shared with an entry before the close may not join it.
            (5, top.clone()),
            (6, Relayed::Close(4010)),
        ];
        let entries = entries(queued.iter().map(|(c, r)| (*c, r)));
        let got = per_conn(&decode(&encode(&entries)).expect("decodes"));
        assert_eq!(got[&5], ["a", "close 4008", "top"]);
        assert_eq!(got[&6], ["top", "close 4010"]);
    }

    #[test]
    fn equal_texts_in_different_frames_stay_apart_and_identical_ones_merge() {
        let (a, b) = (frame("same"), frame("same"));
        let queued = [(1, &a), (2, &b), (3, &a)];
        let entries = entries(queued);
        assert_eq!(
            entries,
            [
                Entry::Fan {
                    conns: vec![1, 3],
                    text: "same"
                },
                Entry::Frame {
                    conn: 2,
                    text: "same"
                },
            ]
        );
    }

    #[test]
    fn damaged_or_foreign_payloads_are_errors() {
        let good = encode(&[
            Entry::Frame {
                conn: 1,
                text: "{}",
            },
            Entry::Close {
                conn: 1,
                code: 4000,
            },
        ]);
        assert!(matches!(
            decode(br#"{"t":"attached"}"#),
            Err(BadBatch::Header)
        ));
        assert!(!is_batch(br#"{"t":"attached"}"#));
        for cut in HEADER.len()..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(decode(&longer), Err(BadBatch::Trailing(1))));
        // A length far past the end, invalid UTF-8, an unknown entry kind.
        let mut huge = HEADER.to_vec();
        huge.extend_from_slice(&[0xfc, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(decode(&huge).is_err());
        let mut bad_utf8 = HEADER.to_vec();
        bad_utf8.extend_from_slice(&[1, 0, 1, 2, 0xc3, 0x28]);
        assert!(matches!(decode(&bad_utf8), Err(BadBatch::Decode(_))));
        let mut unknown = HEADER.to_vec();
        unknown.extend_from_slice(&[1, 9, 1]);
        assert!(decode(&unknown).is_err());
        assert_eq!(decode(&good).expect("intact").len(), 2);
    }
}
