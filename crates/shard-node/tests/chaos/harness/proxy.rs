//! A UDP relay in front of each node, so the test can cut, slow or thin out the network between
//! chosen processes without root (no network namespaces, no firewall rules).
//!
//! Every node is told the *proxy* addresses of its peers (they are the addresses in the
//! bootstrap list, hence in the Raft membership), and the workload's client dials the proxies
//! too. This works because QUIC does not care which address a packet came from, and TLS checks
//! the certificate (name and role), not the address. A node dials its peers from its single
//! serving endpoint, so the source address of a packet tells the proxy which node sent it; any
//! other source is the client.
//!
//! A proxy keeps one upstream socket per source, so the node sees each peer as a distinct
//! address and its answers can be sent back to the right one. Each packet crossing a proxy is
//! judged by the [`Net`]'s rule for its direction (`from → to`): passed, dropped, delayed
//! (with jitter, which also reorders) or dropped with some probability. Rules are per directed
//! link, so a partition can be one-way as well as symmetric.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shard_node::types::NodeId;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use super::rng::Rng;

/// One end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// A shard node.
    Node(NodeId),
    /// The workload's client (any source that is not a node).
    Client,
}

/// What happens to packets on one directed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Delivered at once.
    Pass,
    /// Lost.
    Drop,
    /// Delivered after `ms` plus up to `jitter_ms` more (so packets also get reordered).
    Delay {
        /// Fixed part of the delay.
        ms: u64,
        /// Random extra delay, uniform in `0..=jitter_ms`.
        jitter_ms: u64,
    },
    /// Each packet lost with probability `per_mille / 1000`.
    Lossy {
        /// Loss rate in thousandths.
        per_mille: u64,
    },
}

/// The rules of every link, shared by all proxies.
pub struct Net {
    rules: Mutex<HashMap<(Peer, Peer), Rule>>,
    rng: Mutex<Rng>,
    /// Packets relayed.
    pub passed: AtomicU64,
    /// Packets dropped by a rule.
    pub dropped: AtomicU64,
}

impl Net {
    /// Every link passes.
    pub fn new(seed: u64) -> Self {
        Self {
            rules: Mutex::new(HashMap::new()),
            rng: Mutex::new(Rng::derive(seed, 0x6e6574)),
            passed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Sets the rule of the directed link `from → to`.
    pub fn set(&self, from: Peer, to: Peer, rule: Rule) {
        let mut rules = self.rules.lock().expect("poisoned");
        if rule == Rule::Pass {
            rules.remove(&(from, to));
        } else {
            rules.insert((from, to), rule);
        }
    }

    /// Sets the rule of both directions between `a` and `b`.
    pub fn set_both(&self, a: Peer, b: Peer, rule: Rule) {
        self.set(a, b, rule);
        self.set(b, a, rule);
    }

    /// Every link passes again.
    pub fn heal(&self) {
        self.rules.lock().expect("poisoned").clear();
    }

    /// `None` to drop the packet, else the delay before it is sent.
    fn judge(&self, from: Peer, to: Peer) -> Option<Duration> {
        let rule = self
            .rules
            .lock()
            .expect("poisoned")
            .get(&(from, to))
            .copied()
            .unwrap_or(Rule::Pass);
        let verdict = match rule {
            Rule::Pass => Some(Duration::ZERO),
            Rule::Drop => None,
            Rule::Delay { ms, jitter_ms } => {
                let extra = self.rng.lock().expect("poisoned").range(0, jitter_ms);
                Some(Duration::from_millis(ms + extra))
            }
            Rule::Lossy { per_mille } => {
                if self.rng.lock().expect("poisoned").chance(per_mille) {
                    None
                } else {
                    Some(Duration::ZERO)
                }
            }
        };
        let counter = if verdict.is_some() {
            &self.passed
        } else {
            &self.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
        verdict
    }
}

/// Largest UDP datagram.
const DATAGRAM: usize = 65_536;

/// Asks for large socket buffers, so bursts (snapshot chunks, append batches) are not lost in
/// the relay itself. Best effort: the kernel caps the size at `net.core.rmem_max`.
fn big_buffers(sock: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 8 << 20;
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: a valid socket descriptor and a pointer to a c_int that outlives the call.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                std::ptr::addr_of!(size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// Sends `bytes` on `sock` (to `to`, or to the connected peer) now or after `delay`.
async fn forward(
    tasks: &mut JoinSet<()>,
    sock: &Arc<UdpSocket>,
    to: Option<SocketAddr>,
    bytes: &[u8],
    delay: Duration,
) {
    if delay.is_zero() {
        // Errors (a node that is down: connection refused) are packet loss to QUIC.
        let _ = match to {
            Some(a) => sock.send_to(bytes, a).await,
            None => sock.send(bytes).await,
        };
        return;
    }
    let sock = sock.clone();
    let bytes = bytes.to_vec();
    tasks.spawn(async move {
        tokio::time::sleep(delay).await;
        let _ = match to {
            Some(a) => sock.send_to(&bytes, a).await,
            None => sock.send(&bytes).await,
        };
    });
}

/// The relay in front of one node. Dropping it stops every task it started.
pub struct Proxy {
    /// The address peers and clients use for the node.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Binds a proxy for node `node`, whose real QUIC address is `target`. `nodes` maps the
    /// nodes' real addresses (the source of their packets) to their ids.
    pub async fn start(
        node: NodeId,
        target: SocketAddr,
        nodes: Arc<HashMap<SocketAddr, NodeId>>,
        net: Arc<Net>,
    ) -> std::io::Result<Self> {
        let listen = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        big_buffers(&listen);
        let addr = listen.local_addr()?;
        let task = tokio::spawn(async move {
            // Upstream socket per source, and everything spawned (aborted with this task).
            let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut tasks = JoinSet::new();
            let mut buf = vec![0u8; DATAGRAM];
            let me = Peer::Node(node);
            loop {
                let (n, src) = match listen.recv_from(&mut buf).await {
                    Ok(x) => x,
                    // ICMP errors reported on the listening socket: not a packet.
                    Err(_) => continue,
                };
                while tasks.try_join_next().is_some() {}
                let from = nodes.get(&src).map_or(Peer::Client, |id| Peer::Node(*id));
                let up = match upstreams.get(&src) {
                    Some(u) => u.clone(),
                    None => {
                        let Ok(up) = UdpSocket::bind("127.0.0.1:0").await else {
                            continue;
                        };
                        if up.connect(target).await.is_err() {
                            continue;
                        }
                        big_buffers(&up);
                        let up = Arc::new(up);
                        upstreams.insert(src, up.clone());
                        tasks.spawn(relay_back(
                            up.clone(),
                            listen.clone(),
                            src,
                            me,
                            from,
                            net.clone(),
                        ));
                        up
                    }
                };
                if let Some(delay) = net.judge(from, me) {
                    forward(&mut tasks, &up, None, &buf[..n], delay).await;
                }
            }
        });
        Ok(Self { addr, task })
    }
}

/// Relays the node's answers to one source (`to`), judged as packets `me → peer`.
async fn relay_back(
    up: Arc<UdpSocket>,
    listen: Arc<UdpSocket>,
    to: SocketAddr,
    me: Peer,
    peer: Peer,
    net: Arc<Net>,
) {
    let mut buf = vec![0u8; DATAGRAM];
    let mut delayed = JoinSet::new();
    loop {
        let n = match up.recv(&mut buf).await {
            Ok(n) => n,
            // The node is down (ICMP port unreachable on the connected socket): keep relaying
            // once it is back.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        while delayed.try_join_next().is_some() {}
        if let Some(delay) = net.judge(me, peer) {
            forward(&mut delayed, &listen, Some(to), &buf[..n], delay).await;
        }
    }
}
