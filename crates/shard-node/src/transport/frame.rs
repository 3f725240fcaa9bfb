//! Length-prefixed, versioned bincode frames.
//!
//! ```text
//! +----------------+------------------+---------------------+
//! | len: u32 BE    | version: u16 BE  | bincode body        |
//! +----------------+------------------+---------------------+
//!   len = 2 + body length (the version is counted)
//! ```
//!
//! The reader checks the announced length against a cap *before* allocating, then the version,
//! then decodes. Every failure is a typed [`Error`] (`FrameTooLarge`, `VersionMismatch`,
//! `Malformed`, `Unavailable` for a broken stream); nothing here panics on peer input.
//! The cap ([`MAX_FRAME`] by default, configurable down to [`MIN_FRAME`]) bounds everything
//! that travels: nodes keep every log entry below it ([`max_entry_bytes`]), the network layer
//! tells openraft to send fewer entries when an AppendEntries would exceed it (openraft's
//! `PayloadTooLarge`, see [`crate::raft::network`]), and snapshot chunks are cut smaller.

use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::codec;
use crate::error::{Error, Result};

/// The protocol version this build speaks. Bump it on any incompatible message change.
/// Version 2: certificates carry roles, requests are authorized by role, and errors include
/// `Forbidden`. Version 3: write batches carry the leader's time (`Batch::proposed_at_ms`) and
/// board configurations an op-id policy instead of a count.
pub const PROTOCOL_VERSION: u16 = 3;

/// Largest frame (version + body) accepted or sent: 16 MiB. The default cap, and the highest
/// one a node or client may be configured with.
pub const MAX_FRAME: usize = 16 << 20;

/// Lowest configurable frame cap: one write of the largest size leaderboard-core accepts
/// (member id and metadata) and its reply must fit with room to spare.
pub const MIN_FRAME: usize = 256 << 10;

/// Bytes of a frame kept for what travels around one log entry: the AppendEntries header
/// (vote, log ids, commit index) and the frame's own header need far less.
pub const ENTRY_HEADROOM: usize = 16 << 10;

/// Checks a configured frame cap: between [`MIN_FRAME`] and [`MAX_FRAME`].
pub fn check_max_frame(limit: usize) -> Result<usize> {
    if (MIN_FRAME..=MAX_FRAME).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::Config(format!(
            "frame cap {limit} is outside {MIN_FRAME}..={MAX_FRAME} bytes"
        )))
    }
}

/// The largest log entry (encoded) that still travels in one AppendEntries frame under the cap
/// `max_frame`: nodes refuse bigger write batches, so that a follower can always be sent at
/// least one entry.
pub fn max_entry_bytes(max_frame: usize) -> usize {
    max_frame.saturating_sub(ENTRY_HEADROOM)
}

/// Encodes `msg` into one frame (header included), at most [`MAX_FRAME`].
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    encode_frame_limited(msg, MAX_FRAME)
}

/// Encodes `msg` into one frame (header included); `FrameTooLarge` if it exceeds `limit` (at
/// most [`MAX_FRAME`]).
pub fn encode_frame_limited<T: Serialize>(msg: &T, limit: usize) -> Result<Vec<u8>> {
    let limit = limit.min(MAX_FRAME);
    // Encode straight after a header placeholder: one buffer, no copy of the body.
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    codec::encode_into(msg, &mut out)?;
    let len = out.len() - 4;
    if len > limit {
        return Err(Error::FrameTooLarge { size: len, limit });
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Writes one frame.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> Result<()>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let bytes = encode_frame(msg)?;
    w.write_all(&bytes)
        .await
        .map_err(|e| Error::Unavailable(format!("write: {e}")))
}

/// Reads one frame and decodes it, enforcing `limit` (at most [`MAX_FRAME`]).
pub async fn read_frame<R, T>(r: &mut R, limit: usize) -> Result<T>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let limit = limit.min(MAX_FRAME);
    let mut header = [0u8; 4];
    r.read_exact(&mut header)
        .await
        .map_err(|e| Error::Unavailable(format!("read: {e}")))?;
    let len = u32::from_be_bytes(header) as usize;
    if len > limit {
        return Err(Error::FrameTooLarge { size: len, limit });
    }
    if len < 2 {
        return Err(Error::Malformed(format!(
            "frame length {len} is shorter than its header"
        )));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)
        .await
        .map_err(|e| Error::Unavailable(format!("read: {e}")))?;
    let version = u16::from_be_bytes([buf[0], buf[1]]);
    if version != PROTOCOL_VERSION {
        return Err(Error::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: version,
        });
    }
    codec::decode(&buf[2..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Msg {
        a: u64,
        b: String,
    }

    #[tokio::test]
    async fn roundtrip() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let m = Msg {
            a: 7,
            b: "hi".into(),
        };
        write_frame(&mut a, &m).await.unwrap();
        let got: Msg = read_frame(&mut b, MAX_FRAME).await.unwrap();
        assert_eq!(got, m);
    }

    #[tokio::test]
    async fn rejects_oversized_before_reading_body() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let err = read_frame::<_, Msg>(&mut bytes.as_slice(), MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::FrameTooLarge { .. }), "{err:?}");
    }

    #[test]
    fn encoding_enforces_a_lower_cap() {
        let m = Msg {
            a: 1,
            b: "x".repeat(1000),
        };
        let frame = encode_frame_limited(&m, 2000).unwrap();
        let err = encode_frame_limited(&m, 500).unwrap_err();
        assert_eq!(
            err,
            Error::FrameTooLarge {
                size: frame.len() - 4,
                limit: 500
            }
        );
        assert!(check_max_frame(MIN_FRAME - 1).is_err());
        assert!(check_max_frame(MAX_FRAME + 1).is_err());
        assert_eq!(check_max_frame(1 << 20).unwrap(), 1 << 20);
    }

    #[tokio::test]
    async fn rejects_other_version() {
        let mut bytes = encode_frame(&Msg {
            a: 1,
            b: String::new(),
        })
        .unwrap();
        bytes[4..6].copy_from_slice(&99u16.to_be_bytes());
        let err = read_frame::<_, Msg>(&mut bytes.as_slice(), MAX_FRAME)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            Error::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: 99
            }
        );
    }

    #[tokio::test]
    async fn rejects_garbage_and_truncation() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&10u32.to_be_bytes());
        bytes.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        bytes.extend_from_slice(&[0xff; 8]);
        let err = read_frame::<_, Msg>(&mut bytes.as_slice(), MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err:?}");

        let good = encode_frame(&Msg {
            a: 1,
            b: "abc".into(),
        })
        .unwrap();
        let cut = &good[..good.len() - 1];
        let err = read_frame::<_, Msg>(&mut &cut[..], MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");

        let tiny = 1u32.to_be_bytes();
        let err = read_frame::<_, Msg>(&mut &tiny[..], MAX_FRAME)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err:?}");
    }
}
