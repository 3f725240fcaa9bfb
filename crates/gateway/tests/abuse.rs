//! Abuse tests: what a stranger on the internet can do to a gateway, tried against a real
//! gateway process (the binary, started per test) on the embedded default and, where the
//! limit lives in shared state, on MySQL + Redis Cluster from `scripts/stack env`.
//!
//! Each module covers one attack named in docs/SECURITY.md; every test failed on the code
//! before its fix.

#[path = "abuse/admin.rs"]
mod admin;
#[path = "abuse/auth.rs"]
mod auth;
#[path = "abuse/connections.rs"]
mod connections;
#[path = "abuse/fuzz.rs"]
mod fuzz;
#[path = "abuse/headers.rs"]
mod headers;
#[path = "abuse/input.rs"]
mod input;
#[path = "abuse/join_flood.rs"]
mod join_flood;
#[path = "support/listening.rs"]
mod listening;
#[path = "abuse/live_abuse.rs"]
mod live_abuse;
#[path = "abuse/process.rs"]
#[allow(dead_code)]
mod process;

#[path = "abuse/answer_key.rs"]
mod answer_key;

#[path = "abuse/urls.rs"]
mod urls;
