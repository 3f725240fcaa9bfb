//! One QUIC endpoint per process: it accepts connections (nodes) and dials peers (nodes and
//! clients alike), keeping one cached connection per peer address.
//!
//! Each RPC opens a fresh bidirectional stream on the cached connection, writes one request frame,
//! finishes the send side, and reads one response frame. Streams are cheap in QUIC, so this keeps
//! request/response matching trivial while still multiplexing everything over one connection.
//! Limits: at most [`MAX_CONNECTIONS`] inbound connections (further handshakes are refused) and
//! [`MAX_STREAMS`] concurrent streams per connection (QUIC flow control makes the peer wait).
//!
//! Identity: the server reads the role of the peer's verified certificate once per connection
//! and hands it ([`Peer`]) to the [`Handler`] with every request, which authorizes it
//! ([`crate::auth`]). The dialing side checks that the node it reached presents the node
//! certificate of the id it meant to reach.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, Endpoint, TransportConfig, VarInt};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::frame::{encode_frame_limited, read_frame, MAX_FRAME};
use super::tls::TlsIdentity;
use crate::auth::{Peer, Role};
use crate::error::{Error, Result};
use crate::protocol::{RpcRequest, RpcResponse};
use crate::types::{NodeId, NodeInfo};

/// Inbound connection cap. Generous for a cluster (peers + gateways), small enough to bound memory.
pub const MAX_CONNECTIONS: usize = 1024;
/// Concurrent bidirectional streams (= in-flight RPCs) per connection.
pub const MAX_STREAMS: u32 = 1024;

/// Serves decoded requests. Implemented by the router; tests implement it directly.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request from `peer` (whose role comes from its verified certificate). Must
    /// authorize it and must not panic on any input.
    fn handle(&self, peer: &Peer, req: RpcRequest) -> impl Future<Output = RpcResponse> + Send;

    /// Told about every request frame that could not be read (metrics); the peer already got
    /// the typed error.
    fn bad_frame(&self, _error: &Error) {}
}

fn transport_config() -> Arc<TransportConfig> {
    let mut t = TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS));
    t.max_concurrent_uni_streams(VarInt::from_u32(0));
    // Dead peers are noticed within a few seconds; keep-alives keep idle links open.
    t.max_idle_timeout(Some(VarInt::from_u32(5_000).into()));
    t.keep_alive_interval(Some(Duration::from_millis(1_000)));
    // Loopback and LAN: allow large windows so snapshot chunks and append batches flow.
    t.stream_receive_window(VarInt::from_u32(32 << 20));
    t.receive_window(VarInt::from_u32(64 << 20));
    t.send_window(64 << 20);
    Arc::new(t)
}

/// The process's QUIC endpoint.
pub struct Transport {
    endpoint: Endpoint,
    client_config: quinn::ClientConfig,
    /// Cached connections by address, with the role the server's certificate showed.
    conns: Mutex<HashMap<String, (Connection, Role)>>,
    inbound: Arc<AtomicUsize>,
    max_frame: AtomicUsize,
}

impl Transport {
    /// Binds a server+client endpoint on `addr` (use port 0 in tests).
    pub fn bind(addr: SocketAddr, identity: &TlsIdentity) -> Result<Arc<Self>> {
        let mut server = identity.server_config()?;
        server.transport_config(transport_config());
        let endpoint = Endpoint::server(server, addr)
            .map_err(|e| Error::Config(format!("bind {addr}: {e}")))?;
        Self::with_endpoint(endpoint, identity)
    }

    /// A dial-only endpoint (clients such as the gateway).
    pub fn client(identity: &TlsIdentity) -> Result<Arc<Self>> {
        let endpoint = Endpoint::client("0.0.0.0:0".parse().expect("literal address"))
            .map_err(|e| Error::Config(format!("client endpoint: {e}")))?;
        Self::with_endpoint(endpoint, identity)
    }

    fn with_endpoint(endpoint: Endpoint, identity: &TlsIdentity) -> Result<Arc<Self>> {
        let mut client_config = identity.client_config()?;
        client_config.transport_config(transport_config());
        Ok(Arc::new(Self {
            endpoint,
            client_config,
            conns: Mutex::new(HashMap::new()),
            inbound: Arc::new(AtomicUsize::new(0)),
            max_frame: AtomicUsize::new(MAX_FRAME),
        }))
    }

    /// Sets the largest frame this endpoint sends or accepts (default
    /// [`MAX_FRAME`]; check it with
    /// [`check_max_frame`](super::frame::check_max_frame)). Applies to calls made and connections
    /// accepted afterwards: set it before [`Transport::serve`].
    pub fn set_max_frame(&self, limit: usize) {
        self.max_frame
            .store(limit.min(MAX_FRAME), Ordering::Relaxed);
    }

    /// The largest frame this endpoint sends or accepts.
    pub fn max_frame(&self) -> usize {
        self.max_frame.load(Ordering::Relaxed)
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.endpoint.local_addr()?)
    }

    /// A connection to node `target` at `node`, cached per address. The server must present
    /// the node certificate of `target`; anything else (another node's, a certificate without
    /// a role) is `Unavailable` — a wrong address list, not a node to talk to — and the
    /// connection is closed.
    async fn connection(&self, target: NodeId, node: &NodeInfo) -> Result<Connection> {
        let expected = Role::Node(target);
        let cached = self
            .conns
            .lock()
            .expect("poisoned")
            .get(&node.addr)
            .filter(|(c, _)| c.close_reason().is_none())
            .cloned();
        if let Some((c, role)) = cached {
            if role == expected {
                return Ok(c);
            }
            return Err(wrong_node(target, node, &role.to_string()));
        }
        let addr: SocketAddr = tokio::net::lookup_host(&node.addr)
            .await
            .map_err(|e| Error::Unavailable(format!("resolve {}: {e}", node.addr)))?
            .next()
            .ok_or_else(|| Error::Unavailable(format!("resolve {}: no address", node.addr)))?;
        let conn = self
            .endpoint
            .connect_with(self.client_config.clone(), addr, &node.name)
            .map_err(|e| Error::Unavailable(format!("connect {node}: {e}")))?
            .await
            .map_err(|e| Error::Unavailable(format!("connect {node}: {e}")))?;
        let role = match peer_role(&conn) {
            Ok(r) if r == expected => r,
            Ok(r) => {
                conn.close(VarInt::from_u32(1), b"wrong node");
                return Err(wrong_node(target, node, &r.to_string()));
            }
            Err(e) => {
                conn.close(VarInt::from_u32(1), b"no role");
                return Err(wrong_node(target, node, &e.to_string()));
            }
        };
        self.conns
            .lock()
            .expect("poisoned")
            .insert(node.addr.clone(), (conn.clone(), role));
        Ok(conn)
    }

    fn forget(&self, node: &NodeInfo) {
        self.conns.lock().expect("poisoned").remove(&node.addr);
    }

    /// Sends `req` to node `target`, reached at `node`, and waits for its response, at most
    /// `timeout`. The server must present the node certificate of `target`. A request over the
    /// frame cap fails with `FrameTooLarge` before anything is sent.
    pub async fn call(
        &self,
        target: NodeId,
        node: &NodeInfo,
        req: &RpcRequest,
        timeout: Duration,
    ) -> Result<RpcResponse> {
        self.call_limited(target, node, req, timeout, usize::MAX)
            .await
    }

    /// [`Transport::call`] (the server must present the node certificate of `target`) with a
    /// request cap of `limit` bytes, if lower than the frame cap: a larger request fails with
    /// `FrameTooLarge { limit }` before anything is sent.
    pub async fn call_limited(
        &self,
        target: NodeId,
        node: &NodeInfo,
        req: &RpcRequest,
        timeout: Duration,
        limit: usize,
    ) -> Result<RpcResponse> {
        let frame_cap = self.max_frame();
        let fut = async {
            let bytes = encode_frame_limited(req, limit.min(frame_cap))?;
            let conn = self.connection(target, node).await?;
            let (mut send, mut recv) = match conn.open_bi().await {
                Ok(s) => s,
                Err(e) => {
                    self.forget(node);
                    return Err(Error::Unavailable(format!("open stream to {node}: {e}")));
                }
            };
            if let Err(e) = send.write_all(&bytes).await {
                // A peer that refuses the request early (a frame over its own cap) stops our
                // stream but still answers why: prefer its answer to the write error.
                return match read_frame::<_, RpcResponse>(&mut recv, frame_cap).await {
                    Ok(resp) => Ok(resp),
                    Err(_) => Err(Error::Unavailable(format!("write: {e}"))),
                };
            }
            send.finish()
                .map_err(|e| Error::Unavailable(format!("finish: {e}")))?;
            read_frame::<_, RpcResponse>(&mut recv, frame_cap).await
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(format!("rpc to {node} after {timeout:?}"))),
        }
    }

    /// Sends raw, already framed bytes on a new stream and reads one response frame: lets tests
    /// and tools check how a node treats frames the encoder would never produce.
    pub async fn call_raw(
        &self,
        target: NodeId,
        node: &NodeInfo,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<RpcResponse> {
        let fut = async {
            let conn = self.connection(target, node).await?;
            let (mut send, mut recv) = conn
                .open_bi()
                .await
                .map_err(|e| Error::Unavailable(format!("open stream to {node}: {e}")))?;
            send.write_all(bytes)
                .await
                .map_err(|e| Error::Unavailable(format!("write: {e}")))?;
            send.finish()
                .map_err(|e| Error::Unavailable(format!("finish: {e}")))?;
            read_frame::<_, RpcResponse>(&mut recv, self.max_frame()).await
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| Error::Timeout(format!("raw rpc to {node} after {timeout:?}")))?
    }

    /// Accepts connections and serves every stream with `handler` until [`Transport::close`].
    pub fn serve<H: Handler>(self: &Arc<Self>, handler: Arc<H>) -> JoinHandle<()> {
        let this = self.clone();
        let limit = self.max_frame();
        tokio::spawn(async move {
            while let Some(incoming) = this.endpoint.accept().await {
                if this.inbound.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    warn!("refusing connection: {MAX_CONNECTIONS} already open");
                    incoming.refuse();
                    continue;
                }
                let handler = handler.clone();
                let inbound = this.inbound.clone();
                tokio::spawn(async move {
                    let conn = match incoming.await {
                        Ok(c) => c,
                        Err(e) => {
                            debug!("handshake failed: {e}");
                            return;
                        }
                    };
                    inbound.fetch_add(1, Ordering::Relaxed);
                    serve_connection(conn, handler, limit).await;
                    inbound.fetch_sub(1, Ordering::Relaxed);
                });
            }
        })
    }

    /// Waits (at most `limit`) until closed connections have told their peers.
    pub async fn wait_idle(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.endpoint.wait_idle()).await;
    }

    /// Closes the endpoint: every connection is dropped and `serve` returns.
    pub fn close(&self) {
        self.endpoint.close(VarInt::from_u32(0), b"shutdown");
        self.conns.lock().expect("poisoned").clear();
    }
}

fn wrong_node(target: NodeId, node: &NodeInfo, found: &str) -> Error {
    warn!("{node} was dialed as node {target} but presented {found}");
    Error::Unavailable(format!(
        "{node} is not node {target}: its certificate is that of {found}"
    ))
}

/// The role in the certificate the peer of `conn` presented (verified by rustls against the CA
/// during the handshake).
pub fn peer_role(conn: &Connection) -> Result<Role> {
    let identity = conn
        .peer_identity()
        .ok_or_else(|| Error::Tls("the peer presented no certificate".into()))?;
    let chain = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .map_err(|_| Error::Tls("unexpected peer identity type".into()))?;
    Role::from_chain(&chain)
}

async fn serve_connection<H: Handler>(conn: Connection, handler: Arc<H>, limit: usize) {
    let peer = Arc::new(Peer {
        addr: conn.remote_address(),
        role: peer_role(&conn).map_err(|e| e.to_string()),
    });
    if let Err(why) = &peer.role {
        warn!("connection from {} without a usable role: {why}", peer.addr);
    }
    loop {
        let (mut send, mut recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => {
                debug!("connection from {} ended: {e}", conn.remote_address());
                return;
            }
        };
        let handler = handler.clone();
        let peer = peer.clone();
        tokio::spawn(async move {
            let resp = match read_frame::<_, RpcRequest>(&mut recv, limit).await {
                Ok(req) => handler.handle(&peer, req).await,
                Err(e) => {
                    debug!("bad request frame: {e}");
                    handler.bad_frame(&e);
                    RpcResponse::Failed(e)
                }
            };
            let resp = match encode_frame_limited(&resp, limit) {
                Ok(b) => b,
                Err(e) => match encode_frame_limited(&RpcResponse::Failed(e), limit) {
                    Ok(b) => b,
                    Err(_) => return,
                },
            };
            if send.write_all(&resp).await.is_ok() {
                let _ = send.finish();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs;
    use crate::protocol::{ClientRequest, RpcRequest};

    struct Echo;
    impl Handler for Echo {
        async fn handle(&self, _peer: &Peer, req: RpcRequest) -> RpcResponse {
            match req {
                RpcRequest::Client { group, .. } => RpcResponse::Failed(Error::UnknownGroup(group)),
                RpcRequest::Raft { .. } => RpcResponse::Failed(Error::Rejected("raft".into())),
            }
        }
    }

    fn identity(c: &certs::DevCerts, name: &str) -> TlsIdentity {
        let p = c.get(name).unwrap();
        TlsIdentity::from_pem(&c.ca_pem, &p.cert_pem, &p.key_pem).unwrap()
    }

    fn status(group: u32) -> RpcRequest {
        RpcRequest::Client {
            group,
            req: ClientRequest::Status,
        }
    }

    #[tokio::test]
    async fn mutual_tls_roundtrip_and_typed_errors() {
        let c = certs::dev_cluster(1).unwrap();
        let server = Transport::bind("127.0.0.1:0".parse().unwrap(), &identity(&c, "n1")).unwrap();
        let _task = server.serve(Arc::new(Echo));
        let node = NodeInfo::new(server.local_addr().unwrap().to_string(), "n1");
        let client = Transport::client(&identity(&c, "client")).unwrap();
        let resp = client
            .call(1, &node, &status(7), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(
            matches!(resp, RpcResponse::Failed(Error::UnknownGroup(7))),
            "{resp:?}"
        );

        // A frame with another protocol version gets a typed error reply, not a panic.
        let conn = client.connection(1, &node).await.unwrap();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        let mut bytes = super::super::frame::encode_frame(&status(1)).unwrap();
        bytes[4..6].copy_from_slice(&42u16.to_be_bytes());
        send.write_all(&bytes).await.unwrap();
        send.finish().unwrap();
        let resp: RpcResponse = read_frame(&mut recv, MAX_FRAME).await.unwrap();
        assert!(matches!(
            resp,
            RpcResponse::Failed(Error::VersionMismatch { theirs: 42, .. })
        ));

        // An oversized length prefix is refused before anything is allocated.
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        send.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        send.finish().unwrap();
        let resp: RpcResponse = read_frame(&mut recv, MAX_FRAME).await.unwrap();
        assert!(matches!(
            resp,
            RpcResponse::Failed(Error::FrameTooLarge { .. })
        ));

        // The server still works afterwards.
        let resp = client
            .call(1, &node, &status(3), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(matches!(resp, RpcResponse::Failed(Error::UnknownGroup(3))));
        server.close();
    }

    #[tokio::test]
    async fn rejects_certificates_from_another_ca() {
        let good = certs::dev_cluster(1).unwrap();
        let rogue = certs::dev_cluster(0).unwrap();
        let server =
            Transport::bind("127.0.0.1:0".parse().unwrap(), &identity(&good, "n1")).unwrap();
        let _task = server.serve(Arc::new(Echo));
        let node = NodeInfo::new(server.local_addr().unwrap().to_string(), "n1");
        // Client trusts the good CA but presents a rogue certificate: the server refuses it.
        let p = rogue.get("client").unwrap();
        let mixed = TlsIdentity::from_pem(&good.ca_pem, &p.cert_pem, &p.key_pem).unwrap();
        let client = Transport::client(&mixed).unwrap();
        let err = client
            .call(1, &node, &status(1), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            err.is_retryable() || matches!(err, Error::Timeout(_)),
            "{err:?}"
        );
        // Client trusts only the rogue CA: it refuses the server.
        let client = Transport::client(&identity(&rogue, "client")).unwrap();
        let err = client
            .call(1, &node, &status(1), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        server.close();
    }

    /// Answers every request with the role it saw, as a `Rejected` error.
    struct WhoAmI;
    impl Handler for WhoAmI {
        async fn handle(&self, peer: &Peer, _req: RpcRequest) -> RpcResponse {
            RpcResponse::Failed(Error::Rejected(match &peer.role {
                Ok(r) => r.uri(),
                Err(e) => format!("no role: {e}"),
            }))
        }
    }

    async fn seen_as(client: &Transport, node: &NodeInfo) -> String {
        match client
            .call(1, node, &status(0), Duration::from_secs(5))
            .await
        {
            Ok(RpcResponse::Failed(Error::Rejected(s))) => s,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_server_sees_each_peers_role_and_the_dialer_checks_the_node_id() {
        let c = certs::dev_cluster(2).unwrap();
        let server = Transport::bind("127.0.0.1:0".parse().unwrap(), &identity(&c, "n1")).unwrap();
        let _task = server.serve(Arc::new(WhoAmI));
        let node = NodeInfo::new(server.local_addr().unwrap().to_string(), "n1");

        let as_client = Transport::client(&identity(&c, certs::CLIENT)).unwrap();
        assert_eq!(
            seen_as(&as_client, &node).await,
            "urn:lbshard:client:client"
        );
        let as_admin = Transport::client(&identity(&c, certs::ADMIN)).unwrap();
        assert_eq!(seen_as(&as_admin, &node).await, "urn:lbshard:admin:admin");
        let as_n2 = Transport::client(&identity(&c, "n2")).unwrap();
        assert_eq!(seen_as(&as_n2, &node).await, "urn:lbshard:node:2");

        // A certificate from the CA but without a role reaches the handler as such.
        let ca = c.ca().unwrap();
        let old = ca.issue_without_role("legacy").unwrap();
        let legacy = TlsIdentity::from_pem(&c.ca_pem, &old.cert_pem, &old.key_pem).unwrap();
        let as_legacy = Transport::client(&legacy).unwrap();
        let seen = seen_as(&as_legacy, &node).await;
        assert!(seen.starts_with("no role"), "{seen}");

        // Dialing node 1's address as node 2: refused after the handshake, whatever the name.
        let fresh = Transport::client(&identity(&c, certs::CLIENT)).unwrap();
        let err = fresh
            .call(2, &node, &status(0), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("node 1")),
            "{err:?}"
        );
        // ... and a cached connection to node 1 is not reused for node 2 either.
        let err = as_client
            .call(2, &node, &status(0), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        server.close();
    }

    #[tokio::test]
    async fn a_client_certificate_cannot_serve_as_a_node() {
        let c = certs::dev_cluster(1).unwrap();
        // The client certificate has no server-auth usage: the dialer's verifier refuses it.
        let server =
            Transport::bind("127.0.0.1:0".parse().unwrap(), &identity(&c, certs::CLIENT)).unwrap();
        let _task = server.serve(Arc::new(Echo));
        let node = NodeInfo::new(server.local_addr().unwrap().to_string(), "localhost");
        let dialer = Transport::client(&identity(&c, "n1")).unwrap();
        let err = dialer
            .call(1, &node, &status(0), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("server auth")),
            "{err:?}"
        );
        server.close();
    }
}
