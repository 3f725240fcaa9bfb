//! Benchmarks and load generator support code.

pub mod alloc;
pub mod workload;
