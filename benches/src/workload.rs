//! The leaderboard workload shared by the criterion bench
//! (`benches/core.rs`) and the one-operation profiling driver
//! (`src/bin/hotpath.rs`), so both measure the same members and scores.
//!
//! N members `user:00000042` (13-byte ids), scores uniform in
//! 0..1,000,000 (so ties happen), all from a fixed-seed generator.

use leaderboard_core::Entry;

/// Deterministic xorshift64* so every run (and every system compared)
/// sees the same members and scores.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The id of member `i`.
pub fn member(i: u64) -> String {
    format!("user:{i:08}")
}

/// Random score in 0..1,000,000.
fn score(rng: &mut Rng) -> i64 {
    (rng.next_u64() % 1_000_000) as i64
}

/// The `n` entries a board is loaded with.
pub fn entries(n: u64) -> Vec<Entry> {
    let mut rng = Rng(42);
    (0..n)
        .map(|i| Entry::new(member(i), score(&mut rng), 0))
        .collect()
}

/// `count` random (member, new score) pairs over `n` members, replayed by
/// the update benchmarks.
pub fn updates(n: u64, count: usize) -> Vec<(String, i64)> {
    let mut rng = Rng(7);
    (0..count)
        .map(|_| (member(rng.next_u64() % n), score(&mut rng)))
        .collect()
}

/// `count` random members over `n`, for the read benchmarks.
pub fn probes(n: u64, count: usize) -> Vec<String> {
    let mut rng = Rng(99);
    (0..count).map(|_| member(rng.next_u64() % n)).collect()
}
