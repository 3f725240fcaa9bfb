//! The versioned snapshot envelope shared by partitions and boards.
//!
//! Layout: 4 magic bytes (what kind of snapshot), a little-endian `u16`
//! format version, then the bincode (v2, standard config) encoding of the
//! serde state. A reader rejects other magics as corrupt and other
//! versions with [`Error::UnsupportedSnapshotVersion`], so a node never
//! half-reads a snapshot written by a newer release.

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
pub const SNAPSHOT_VERSION: u16 = 1;

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

pub(crate) fn decode_versioned<T: DeserializeOwned>(magic: &[u8; 4], bytes: &[u8]) -> Result<T> {
    if bytes.len() < 6 || &bytes[..4] != magic {
        return Err(Error::CorruptSnapshot(format!(
            "missing header {:?}",
            String::from_utf8_lossy(magic)
        )));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != SNAPSHOT_VERSION {
        return Err(Error::UnsupportedSnapshotVersion {
            found: version,
            supported: SNAPSHOT_VERSION,
        });
    }
    let config = bincode::config::standard().with_limit::<{ 1 << 34 }>();
    let (state, used) = bincode::serde::decode_from_slice(&bytes[6..], config)
        .map_err(|e| Error::CorruptSnapshot(e.to_string()))?;
    if used != bytes.len() - 6 {
        return Err(Error::CorruptSnapshot(
            "trailing bytes after the snapshot".into(),
        ));
    }
    Ok(state)
}
