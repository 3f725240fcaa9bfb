//! The crate's one error type.
//!
//! Every failure a caller can see — a transport hiccup, a leader change, a torn log, a bad write —
//! is a variant of [`Error`]. The enum is `Clone + Serialize` so that a node can send the exact
//! error back to a client over the wire: payloads of foreign errors (I/O, TLS, openraft) are carried
//! as strings for that reason. Callers decide what to do with [`Error::is_retryable`] and
//! [`Error::leader_hint`].

use serde::{Deserialize, Serialize};

use crate::types::{GroupId, NodeId};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The name the client side of the crate uses for [`Error`]; it is the same type.
pub type ClientError = Error;

/// Everything that can go wrong in a shard node or in the client library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {
    /// The contacted node is not the leader of the group. `leader` is its best guess of who is;
    /// the client retries there.
    #[error("node is not the leader of group {group} (leader hint: {leader:?})")]
    NotLeader {
        /// The group the request was for.
        group: GroupId,
        /// The leader the node knows of, if any (none during an election).
        leader: Option<NodeId>,
    },
    /// The node does not host this group.
    #[error("group {0} is not hosted on this node")]
    UnknownGroup(GroupId),
    /// The peer could not be reached or the connection broke (retryable: another node or a
    /// later attempt may succeed).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The operation did not finish in time. The write may or may not have been committed;
    /// retrying with the same operation id is safe because leaderboard writes are idempotent.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The peer speaks another protocol version.
    #[error("protocol version mismatch: we speak {ours}, peer sent {theirs}")]
    VersionMismatch {
        /// Our protocol version.
        ours: u16,
        /// The version found in the peer's frame.
        theirs: u16,
    },
    /// A frame was larger than the configured cap.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Announced frame size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// A frame could not be decoded (garbage, truncated, wrong type).
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// TLS or certificate problem (bad CA, unreadable key, peer not signed by the CA).
    #[error("tls: {0}")]
    Tls(String),
    /// Local disk I/O failed.
    #[error("io: {0}")]
    Io(String),
    /// The on-disk log or a snapshot failed its checksum somewhere other than a torn tail.
    #[error("corrupt data on disk: {0}")]
    Corrupt(String),
    /// Bad configuration (missing file, unknown peer, invalid address).
    #[error("config: {0}")]
    Config(String),
    /// The state machine refused the operation (bad board name, invalid score...). Not
    /// retryable: the same input will be refused again.
    #[error("rejected: {0}")]
    Rejected(String),
    /// leaderboard-core refused the operation (board not found or exists, empty member id,
    /// overflow, expired window...). Not retryable except for its backend errors; use the inner
    /// error's classifiers (`is_not_found`, `is_conflict`, `is_invalid_input`) to map it.
    #[error("leaderboard: {0}")]
    Leaderboard(#[from] leaderboard_core::Error),
    /// A write reached a group that does not own the member's partition: the client's layout
    /// (number of groups) differs from the nodes'. Not retryable: fix the configuration.
    #[error("group {group} does not own member {member:?} (owner: group {owner}); layouts differ")]
    WrongGroup {
        /// The group that received the write.
        group: GroupId,
        /// The member.
        member: String,
        /// The group that owns it under this node's layout.
        owner: GroupId,
    },
    /// A membership change was refused (e.g. another change is in progress).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// Raft reported an unrecoverable error or the node is shutting down.
    #[error("raft: {0}")]
    Raft(String),
    /// The peer's certificate does not allow this request (a client certificate asking for a
    /// membership change or sending Raft RPCs, a node speaking for another node, a certificate
    /// without a role). Not retryable: use a certificate with the right role.
    #[error("forbidden: {0}")]
    Forbidden(String),
}

impl Error {
    /// True when the same request may succeed if sent again, possibly to another node.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::NotLeader { .. } | Error::Unavailable(_) | Error::Timeout(_) | Error::Raft(_)
        ) || matches!(self, Error::Leaderboard(e) if e.is_retryable())
    }

    /// The leader to try next, when the error carries a hint.
    pub fn leader_hint(&self) -> Option<NodeId> {
        match self {
            Error::NotLeader { leader, .. } => *leader,
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<bincode::error::EncodeError> for Error {
    fn from(e: bincode::error::EncodeError) -> Self {
        Error::Malformed(format!("encode: {e}"))
    }
}

impl From<bincode::error::DecodeError> for Error {
    fn from(e: bincode::error::DecodeError) -> Self {
        Error::Malformed(format!("decode: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_retryable() {
        assert!(Error::NotLeader {
            group: 0,
            leader: Some(2)
        }
        .is_retryable());
        assert_eq!(
            Error::NotLeader {
                group: 0,
                leader: Some(2)
            }
            .leader_hint(),
            Some(2)
        );
        assert!(Error::Unavailable("x".into()).is_retryable());
        assert!(!Error::Rejected("bad".into()).is_retryable());
        assert!(!Error::Forbidden("client role".into()).is_retryable());
        assert!(!Error::VersionMismatch { ours: 1, theirs: 2 }.is_retryable());
    }
}
