//! Fault injection: cut this node's links to chosen peers.
//!
//! Used by tests to partition a cluster on loopback without touching the OS: a node refuses to
//! *send* Raft RPCs to a blocked peer and refuses to *serve* Raft RPCs that a blocked peer sent.
//! Blocking a peer on every node of one side therefore isolates the two sides completely, in both
//! directions. Client traffic is not affected. Empty (no-op) in production.

use std::collections::BTreeSet;
use std::sync::RwLock;

use crate::types::NodeId;

/// The set of peers this node is cut off from.
#[derive(Debug, Default)]
pub struct Faults {
    blocked: RwLock<BTreeSet<NodeId>>,
}

impl Faults {
    /// Cuts the link to `peer`.
    pub fn block(&self, peer: NodeId) {
        self.blocked.write().expect("poisoned").insert(peer);
    }

    /// Restores the link to `peer`.
    pub fn unblock(&self, peer: NodeId) {
        self.blocked.write().expect("poisoned").remove(&peer);
    }

    /// Restores every link.
    pub fn heal(&self) {
        self.blocked.write().expect("poisoned").clear();
    }

    /// Whether the link to `peer` is cut.
    pub fn is_blocked(&self, peer: NodeId) -> bool {
        self.blocked.read().expect("poisoned").contains(&peer)
    }
}
