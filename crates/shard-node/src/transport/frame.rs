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
//! The cap ([`MAX_FRAME`]) is large enough for a snapshot chunk plus a big append batch;
//! openraft sends snapshots in chunks of `snapshot_max_chunk_size`, kept well below it.

use serde::{de::DeserializeOwned, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::codec;
use crate::error::{Error, Result};

/// The protocol version this build speaks. Bump it on any incompatible message change.
/// Version 2: certificates carry roles, requests are authorized by role, and errors include
/// `Forbidden`.
pub const PROTOCOL_VERSION: u16 = 2;

/// Largest frame (version + body) accepted or sent: 16 MiB.
pub const MAX_FRAME: usize = 16 << 20;

/// Encodes `msg` into one frame (header included).
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    // Encode straight after a header placeholder: one buffer, no copy of the body.
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    codec::encode_into(msg, &mut out)?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(Error::FrameTooLarge {
            size: len,
            limit: MAX_FRAME,
        });
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
