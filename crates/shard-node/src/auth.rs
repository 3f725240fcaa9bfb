//! Who may do what: roles bound into certificates, and the check every request passes.
//!
//! Every certificate the cluster CA issues ([`crate::certs`]) carries exactly one role, as a URI
//! subject alternative name:
//!
//! | role | URI SAN | extended key usage | may send |
//! |------|---------|--------------------|----------|
//! | node | `urn:lbshard:node:<id>` | server + client auth | Raft RPCs *as node `<id>` only*, and everything below |
//! | admin | `urn:lbshard:admin:<name>` | client auth | membership changes, initialize, snapshot trigger, and everything below |
//! | client | `urn:lbshard:client:<name>` | client auth | reads, writes, status |
//!
//! The server reads the peer's certificate once per connection (after rustls verified it against
//! the CA) and [`authorize`]s each request against the [`Peer`] it found:
//!
//! * **Raft RPCs** (append, vote, install snapshot) only from a node certificate whose bound id is
//!   the sender the RPC claims (the leader or candidate in its vote). A node cannot speak for
//!   another node, and a gateway's client certificate cannot speak Raft at all.
//! * **Administration** (add learner, change membership, add/remove voters, initialize, trigger a
//!   snapshot) from admin certificates (the `shard-node admin` tool) and node certificates (a node
//!   can already vote and append entries, so this gives it nothing new).
//! * **Reads, writes and status** from any role.
//!
//! A refused request gets [`Error::Forbidden`] (not retryable); a certificate without a role
//! (issued before roles existed) is refused for everything. The dialing side checks the other way
//! round: a node reached as node `N` must present the node certificate of `N` (see
//! [`crate::transport::Transport::call`]), so a mixed-up address list cannot send one node's
//! traffic to another.

use std::fmt;
use std::net::SocketAddr;

use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::protocol::{ClientRequest, RaftRequest, RpcRequest};
use crate::types::NodeId;

/// Prefix of every role URI.
pub const ROLE_URI_PREFIX: &str = "urn:lbshard:";

/// The role a certificate is issued for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// A shard node with this Raft node id.
    Node(NodeId),
    /// An administrator (the `shard-node admin` tool).
    Admin(String),
    /// A client such as the gateway: reads and writes only.
    Client(String),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Node(id) => write!(f, "node {id}"),
            Role::Admin(n) => write!(f, "admin {n:?}"),
            Role::Client(n) => write!(f, "client {n:?}"),
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl Role {
    /// The URI SAN that binds this role into a certificate.
    pub fn uri(&self) -> String {
        match self {
            Role::Node(id) => format!("{ROLE_URI_PREFIX}node:{id}"),
            Role::Admin(n) => format!("{ROLE_URI_PREFIX}admin:{n}"),
            Role::Client(n) => format!("{ROLE_URI_PREFIX}client:{n}"),
        }
    }

    /// Parses a role URI; `None` for anything else (other URIs, bad ids or names).
    pub fn from_uri(uri: &str) -> Option<Role> {
        let rest = uri.strip_prefix(ROLE_URI_PREFIX)?;
        let (kind, value) = rest.split_once(':')?;
        match kind {
            "node" => {
                let id: NodeId = value.parse().ok()?;
                (id > 0 && value == id.to_string()).then_some(Role::Node(id))
            }
            "admin" if valid_name(value) => Some(Role::Admin(value.to_string())),
            "client" if valid_name(value) => Some(Role::Client(value.to_string())),
            _ => None,
        }
    }

    /// The role of a DER certificate: its one `urn:lbshard:` URI SAN. A certificate with none,
    /// with several, or with one that does not parse has no role (a typed error, never a panic:
    /// this runs on certificates from the network, after the CA signature was verified).
    pub fn from_cert_der(der: &CertificateDer<'_>) -> Result<Role> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| Error::Tls(format!("unreadable certificate: {e}")))?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| Error::Tls(format!("unreadable subject alternative names: {e}")))?;
        let mut roles = Vec::new();
        if let Some(san) = san {
            for name in &san.value.general_names {
                if let x509_parser::extensions::GeneralName::URI(uri) = name {
                    if uri.starts_with(ROLE_URI_PREFIX) {
                        roles.push(Role::from_uri(uri).ok_or_else(|| {
                            Error::Tls(format!("certificate has a malformed role URI {uri:?}"))
                        })?);
                    }
                }
            }
        }
        match roles.len() {
            1 => Ok(roles.remove(0)),
            0 => Err(Error::Tls(format!(
                "certificate carries no role ({ROLE_URI_PREFIX}node|admin|client:...); \
                 reissue it with `shard-node certs`"
            ))),
            _ => Err(Error::Tls("certificate carries more than one role".into())),
        }
    }

    /// The role of the first certificate of a verified chain.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Result<Role> {
        let leaf = chain
            .first()
            .ok_or_else(|| Error::Tls("no certificate presented".into()))?;
        Self::from_cert_der(leaf)
    }
}

/// The other end of an inbound connection, as its verified certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Remote address (for logs).
    pub addr: SocketAddr,
    /// Its role, or why it has none (then every request is refused).
    pub role: std::result::Result<Role, String>,
}

impl Peer {
    /// A peer with a known role.
    pub fn new(addr: SocketAddr, role: Role) -> Self {
        Self {
            addr,
            role: Ok(role),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            Ok(r) => write!(f, "{r} at {}", self.addr),
            Err(_) => write!(f, "peer without a role at {}", self.addr),
        }
    }
}

/// The node a Raft RPC claims to come from: the leader (append, snapshot) or the candidate
/// (vote) named in its vote.
pub fn raft_sender(rpc: &RaftRequest) -> Option<NodeId> {
    match rpc {
        RaftRequest::Append(r) => r.vote.leader_id.voted_for(),
        RaftRequest::Vote(r) => r.vote.leader_id.voted_for(),
        RaftRequest::Snapshot(r) => r.vote.leader_id.voted_for(),
    }
}

/// True for the client requests reserved to admin and node certificates.
pub fn is_admin_request(req: &ClientRequest) -> bool {
    match req {
        ClientRequest::Write(_) | ClientRequest::Read { .. } | ClientRequest::Status => false,
        ClientRequest::AddLearner { .. }
        | ClientRequest::ChangeMembership { .. }
        | ClientRequest::AddVoters { .. }
        | ClientRequest::RemoveVoters { .. }
        | ClientRequest::Initialize { .. }
        | ClientRequest::TriggerSnapshot => true,
    }
}

/// Decides whether `peer` may send `req` (see the [module docs](self)).
pub fn authorize(peer: &Peer, req: &RpcRequest) -> Result<()> {
    let role = peer
        .role
        .as_ref()
        .map_err(|why| Error::Forbidden(why.clone()))?;
    match req {
        RpcRequest::Raft { rpc, .. } => {
            let Role::Node(id) = role else {
                return Err(Error::Forbidden(format!(
                    "Raft RPCs are for node certificates; {role} may not send them"
                )));
            };
            match raft_sender(rpc) {
                Some(claimed) if claimed == *id => Ok(()),
                claimed => Err(Error::Forbidden(format!(
                    "node {id} sent a Raft RPC as node {claimed:?}; a node speaks only for itself"
                ))),
            }
        }
        RpcRequest::Client { req, .. } => {
            if is_admin_request(req) && matches!(role, Role::Client(_)) {
                return Err(Error::Forbidden(format!(
                    "{role} may read and write; membership, initialize and snapshots need an \
                     admin or node certificate"
                )));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_uris_round_trip_and_refuse_junk() {
        for r in [
            Role::Node(7),
            Role::Admin("ops".into()),
            Role::Client("gateway-1".into()),
        ] {
            assert_eq!(Role::from_uri(&r.uri()), Some(r));
        }
        for bad in [
            "urn:lbshard:node:0",
            "urn:lbshard:node:x",
            "urn:lbshard:node:+4",
            "urn:lbshard:node:04",
            "urn:lbshard:client:",
            "urn:lbshard:client:a b",
            "urn:lbshard:root:x",
            "urn:other:node:1",
            "urn:lbshard:node",
        ] {
            assert_eq!(Role::from_uri(bad), None, "{bad}");
        }
    }
}
