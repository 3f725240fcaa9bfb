//! The versioned snapshot envelope shared by partitions, boards, registries
//! and the head of a board's chunk stream (`Board::snapshot_chunks`).
//!
//! Layout: 4 magic bytes (what kind of snapshot), a little-endian `u16`
//! format version, then the bincode (v2, standard config) encoding of the
//! serde state. A reader rejects other magics as corrupt and versions it
//! does not know with [`Error::UnsupportedSnapshotVersion`], so a node never
//! half-reads a snapshot written by a newer release.
//!
//! Versions:
//!
//! 1. Op-id memory as a count of ids (`dedupe_capacity` in the board
//!    configuration and in each partition) and a list of ids, oldest first.
//! 2. Op-id memory by time and bytes: the board configuration holds an
//!    [`crate::OpIdPolicy`]; each partition its policy, its op-id clock and
//!    its ids with the clock at which each was remembered (a chunk stream:
//!    each partition's clock and each id's time; the policy is the board's).
//!    Version 1 is still read, whole or streamed: its boards get the default
//!    policy and their ids count as remembered at the first time the
//!    partition is told.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Format version this build writes and reads.
///
/// ```
/// use leaderboard_core::{Board, SNAPSHOT_VERSION};
/// let bytes = Board::new("b", Default::default()).unwrap().snapshot();
/// assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), SNAPSHOT_VERSION);
/// ```
pub const SNAPSHOT_VERSION: u16 = 2;

/// The oldest format version this build still reads.
pub(crate) const OLDEST_READABLE_VERSION: u16 = 1;

pub(crate) const PARTITION_MAGIC: &[u8; 4] = b"LBP1";
pub(crate) const BOARD_MAGIC: &[u8; 4] = b"LBB1";
pub(crate) const REGISTRY_MAGIC: &[u8; 4] = b"LBR1";

pub(crate) fn encode_versioned<T: Serialize>(magic: &[u8; 4], state: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(magic);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    bincode::serde::encode_into_std_write(state, &mut out, bincode::config::standard())
        .expect("encoding into a Vec cannot fail");
    out
}

/// Checks the magic and that the version is one this build reads
/// ([`OLDEST_READABLE_VERSION`] to [`SNAPSHOT_VERSION`]); returns the
/// version and the body.
pub(crate) fn decode_header<'a>(magic: &[u8; 4], bytes: &'a [u8]) -> Result<(u16, &'a [u8])> {
    if bytes.len() < 6 || &bytes[..4] != magic {
        return Err(Error::CorruptSnapshot(format!(
            "missing header {:?}",
            String::from_utf8_lossy(magic)
        )));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if !(OLDEST_READABLE_VERSION..=SNAPSHOT_VERSION).contains(&version) {
        return Err(Error::UnsupportedSnapshotVersion {
            found: version,
            supported: SNAPSHOT_VERSION,
        });
    }
    Ok((version, &bytes[6..]))
}

/// Decodes a snapshot body (after the header); it must be used up exactly.
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let config = bincode::config::standard().with_limit::<{ 1 << 34 }>();
    let (state, used) = bincode::serde::decode_from_slice(body, config)
        .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
    if used != body.len() {
        return Err(Error::CorruptSnapshot(
            "trailing bytes after the snapshot".into(),
        ));
    }
    Ok(state)
}
