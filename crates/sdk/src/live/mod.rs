//! Live quiz sessions over WebSocket: the protocol types and a client.

pub mod protocol;

pub use protocol::*;
