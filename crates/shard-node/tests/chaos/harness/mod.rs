//! The chaos harness: real `shard-node` processes behind UDP proxies, faults (SIGKILL, SIGSTOP,
//! partitions, delay, loss), a recorded `incr`/read workload, and the checks (linearizability,
//! exactly-once increments, replicas agree). Shared by the `chaos` test of this crate and the
//! longer `chaos` run in `benches/`, which includes this directory by path.
#![allow(dead_code)]

pub mod checker;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod proxy;
pub mod rng;
pub mod scenario;
pub mod workload;
