//! bincode helpers with one fixed configuration.
//!
//! Every byte the crate writes (frames, log records, snapshots, the vote file) goes through these
//! two functions so that the encoding is the same everywhere. Decoding is bounded by
//! [`DECODE_LIMIT`] so that a hostile length inside a frame cannot make us allocate gigabytes.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::Result;

/// Upper bound on the bytes any one decode may allocate: the largest record
/// ([`crate::log_store::record::MAX_RECORD`]). Snapshots are decoded a record at a time, so no
/// value is ever bigger.
pub const DECODE_LIMIT: usize = 256 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Encodes `value` with the crate's bincode configuration.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    Ok(bincode::serde::encode_to_vec(value, config())?)
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    bincode::serde::encode_into_std_write(value, out, config())?;
    Ok(())
}

/// The number of bytes [`encode`] would produce for `value`, without allocating them.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> Result<usize> {
    let mut size = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut size, config())?;
    Ok(size.bytes_written)
}

/// Decodes a whole buffer; trailing bytes are an error (they mean a framing bug or garbage).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())?;
    if used != bytes.len() {
        return Err(crate::Error::Malformed(format!(
            "{} trailing bytes after value",
            bytes.len() - used
        )));
    }
    Ok(value)
}
