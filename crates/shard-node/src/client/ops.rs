//! Leaderboard operations (placeholder until leaderboard-core lands).
use super::{unexpected, ShardClient, Target};
use crate::command::{Command, CommandOutcome, Query, QueryReply};
use crate::error::Result;
use crate::protocol::{ClientReply, ClientRequest, ReadConsistency};
use crate::types::GroupId;

impl ShardClient {
    /// Submits one command to `group` through its batcher.
    pub async fn submit(&self, group: GroupId, cmd: Command) -> Result<CommandOutcome> {
        self.batchers[group as usize].submit(cmd).await
    }

    /// Reads `group`.
    pub async fn query(&self, group: GroupId, query: Query, consistency: ReadConsistency) -> Result<QueryReply> {
        match self.call(group, ClientRequest::Read { query, consistency }, Target::from(consistency)).await? {
            ClientReply::Read(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }
}
