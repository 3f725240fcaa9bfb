//! shard-node (essay to be written).
#![warn(missing_docs)]

pub mod certs;
pub mod client;
pub mod codec;
pub mod command;
pub mod config;
pub mod error;
pub mod http;
pub mod layout;
pub mod log_store;
pub mod metrics;
pub mod node;
pub mod protocol;
pub mod publish;
pub mod raft;
pub mod router;
pub mod state_machine;
pub mod transport;
pub mod types;

pub use error::{ClientError, Error, Result};
