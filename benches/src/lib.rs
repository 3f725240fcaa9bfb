//! Benchmarks and load generator support code.

pub mod workload;
