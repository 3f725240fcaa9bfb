//! Placeholder until leaderboard-core lands.
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One write.
pub type Command = u64;
/// One write's outcome.
pub type CommandOutcome = u64;

/// A batch of commands committed as one Raft entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Commands.
    pub commands: Vec<Command>,
}

/// One result per command of a batch, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchReply {
    /// Results.
    pub results: Vec<Result<CommandOutcome, Error>>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.commands.len())
    }
}
/// Query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Query {
    /// All.
    All,
}
/// Query reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueryReply {
    /// All.
    All(Vec<u64>),
}
