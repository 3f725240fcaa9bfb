//! Abuse tests: what a stranger on the internet can do to a gateway, tried against a real
//! gateway process (the binary, started per test) on the embedded default and, where the
//! limit lives in shared state, on MySQL + Redis Cluster from `scripts/stack env`.
//!
//! Each module covers one attack named in docs/SECURITY.md; every test failed on the code
//! before its fix.

#[path = "abuse/connections.rs"]
mod connections;
#[path = "abuse/fuzz.rs"]
mod fuzz;
#[path = "abuse/headers.rs"]
mod headers;
#[path = "abuse/input.rs"]
mod input;
#[path = "abuse/process.rs"]
#[allow(dead_code)]
mod process;
