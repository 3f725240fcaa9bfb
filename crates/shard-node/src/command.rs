//! Placeholder until leaderboard-core lands.
use serde::{Deserialize, Serialize};

/// A batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Commands.
    pub commands: Vec<u64>,
}

/// Reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchReply {
    /// Outcomes.
    pub outcomes: Vec<u64>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.commands.len())
    }
}
/// Query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Query {
    /// Sum.
    Sum,
}
/// Query reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueryReply {
    /// Sum.
    Sum(u64),
}
