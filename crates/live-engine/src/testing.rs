//! What the unit tests share: the test's clock and a seed.
//!
//! The clock is a plain value per test (each test runs on its own thread):
//! [`now`] reads it, [`advance`] moves it. The engine only ever sees the
//! instants a test passes in.

use std::cell::Cell;
use std::time::Duration;

use crate::clock::Instant;

thread_local! {
    static NOW: Cell<Instant> = const { Cell::new(Instant::ZERO) };
}

/// The test's current time.
pub fn now() -> Instant {
    NOW.with(Cell::get)
}

/// Moves the test's clock forward.
pub fn advance(d: Duration) {
    NOW.with(|t| t.set(t.get() + d));
}

/// The seed of the sessions the tests build.
pub const SEED: [u8; 32] = [7; 32];
