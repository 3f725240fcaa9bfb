//! Stable member hashing: which partition a member lives in.
//!
//! The mapping is part of the on-disk and on-the-wire contract: a shard
//! cluster assigns partitions to Raft groups, so every process and every
//! version must place a member in the same partition. It is therefore a
//! frozen, specified function: XXH3-64 (seed 0) over the member id's UTF-8
//! bytes, modulo the partition count. XXH3's output is fixed by its
//! specification (xxHash 0.8), independent of platform and endianness.

/// Stable 64-bit hash of a member id (XXH3-64, seed 0, over UTF-8 bytes).
///
/// ```
/// use leaderboard_core::member_hash;
/// assert_eq!(member_hash("alice"), member_hash("alice"));
/// // frozen: this value must never change between versions
/// assert_eq!(member_hash(""), 0x2d06800538d394c2);
/// ```
pub fn member_hash(member: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(member.as_bytes())
}

/// The partition (`0..partitions`) that owns `member`:
/// `member_hash(member) % partitions`.
///
/// # Panics
/// If `partitions` is 0 (a board always has at least one partition).
///
/// ```
/// use leaderboard_core::partition_of;
/// let p = partition_of("alice", 8);
/// assert!(p < 8);
/// assert_eq!(p, partition_of("alice", 8));
/// assert_eq!(partition_of("alice", 1), 0);
/// ```
pub fn partition_of(member: &str, partitions: u16) -> u16 {
    partition_of_hash(member_hash(member), partitions)
}

/// [`partition_of`] for an already computed [`member_hash`].
///
/// ```
/// use leaderboard_core::{member_hash, partition_of, partition_of_hash};
/// assert_eq!(partition_of_hash(member_hash("x"), 5), partition_of("x", 5));
/// ```
pub fn partition_of_hash(hash: u64, partitions: u16) -> u16 {
    assert!(partitions > 0, "a board has at least one partition");
    (hash % partitions as u64) as u16
}

/// Hash used by a partition's member index. It rotates the member hash so
/// the bits that chose the partition (low bits, shared by every member of
/// one partition) do not decide the bucket.
pub(crate) fn index_hash(hash: u64) -> u64 {
    hash.rotate_right(32)
}
