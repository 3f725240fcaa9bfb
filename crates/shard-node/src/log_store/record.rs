//! Checksummed records and atomically replaced small files.
//!
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`. A reader that meets a record
//! whose header or payload is cut short, or whose checksum does not match, knows that everything
//! from that offset on was never completely written (a torn write at a crash) or is damaged, and
//! stops there. Small files that must change as a whole (the vote, the purge mark, snapshots) are
//! written as one record into `NAME.tmp`, fsynced, renamed over `NAME`, and the directory is
//! fsynced, so a reader sees either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Size of the record header.
pub const HEADER: usize = 8;
/// Largest payload accepted when scanning; a bigger length is treated as garbage.
pub const MAX_RECORD: usize = 256 << 20;

/// Appends the encoded record for `payload` to `out`. A payload over [`MAX_RECORD`] is refused
/// (`InvalidInput`) rather than written with a length no reader accepts or, past 4 GiB, a length
/// cut to 32 bits.
pub fn encode_into(out: &mut Vec<u8>, payload: &[u8]) -> io::Result<()> {
    let len = checked_len(payload.len())?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The record length field for a payload of `len` bytes, or an error if it exceeds
/// [`MAX_RECORD`].
pub fn checked_len(len: usize) -> io::Result<u32> {
    if len > MAX_RECORD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("record of {len} bytes exceeds the limit of {MAX_RECORD} bytes"),
        ));
    }
    Ok(len as u32)
}

/// Outcome of decoding the record at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete record with a good checksum, and its total size including the header.
    Record(&'a [u8], usize),
    /// The buffer ends inside the record (torn write).
    Truncated,
    /// Length out of range or checksum mismatch.
    Corrupt,
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < HEADER {
        return Decoded::Truncated;
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if len > MAX_RECORD {
        return Decoded::Corrupt;
    }
    if buf.len() < HEADER + len {
        return Decoded::Truncated;
    }
    let payload = &buf[HEADER..HEADER + len];
    if crc32fast::hash(payload) != crc {
        return Decoded::Corrupt;
    }
    Decoded::Record(payload, HEADER + len)
}

/// fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Atomically replaces `path` with one record holding `payload`.
pub fn write_atomic(path: &Path, payload: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut buf = Vec::with_capacity(payload.len() + HEADER);
    encode_into(&mut buf, payload)?;
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Reads a file written by [`write_atomic`]. `Ok(None)` if it does not exist; an error of kind
/// `InvalidData` if its checksum fails (which atomic replacement should make impossible).
pub fn read_atomic(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match decode(&bytes) {
        Decoded::Record(p, used) if used == bytes.len() => Ok(Some(p.to_vec())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: checksum or length mismatch", path.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_torn_and_corrupt_records() {
        let mut buf = Vec::new();
        encode_into(&mut buf, b"hello").unwrap();
        assert_eq!(decode(&buf), Decoded::Record(b"hello", 13));
        assert_eq!(decode(&buf[..10]), Decoded::Truncated);
        assert_eq!(decode(&buf[..3]), Decoded::Truncated);
        let mut bad = buf.clone();
        bad[10] ^= 1;
        assert_eq!(decode(&bad), Decoded::Corrupt);
        let huge = [0xff; 16];
        assert_eq!(decode(&huge), Decoded::Corrupt);
    }

    #[test]
    fn oversized_payloads_are_refused_not_truncated() {
        assert!(checked_len(MAX_RECORD).is_ok());
        let err = checked_len(MAX_RECORD + 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // Past 4 GiB the old encoder wrote `len as u32`, a small wrong length.
        assert!(checked_len((u32::MAX as usize) + 2).is_err());
    }

    #[test]
    fn atomic_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vote");
        assert_eq!(read_atomic(&p).unwrap(), None);
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read_atomic(&p).unwrap().as_deref(), Some(&b"two"[..]));
        fs::write(&p, b"garbage!garbage!").unwrap();
        assert!(read_atomic(&p).is_err());
    }
}
