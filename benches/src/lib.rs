//! Benchmarks and load generator support code.
