//! The Raft seams that are not storage: network, fault injection, and the leader's proposer
//! (client write requests merged into entries).

pub mod faults;
pub mod network;
pub mod proposer;

pub use faults::Faults;
pub use network::NetworkFactory;
pub use proposer::{Proposer, ProposerLimits};
