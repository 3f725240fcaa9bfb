//! The Raft seams that are not storage: network and fault injection.

pub mod faults;
pub mod network;

pub use faults::Faults;
pub use network::NetworkFactory;
