//! The accept loop: HTTP/1.1 connections served by hyper, with the connection-level limits
//! that keep idle and slow clients from holding the process's descriptors.
//!
//! * **Header timeout** ([`ConnectionsConfig::header_read_timeout`]): hyper's header-read
//!   timer runs from the moment a connection opens, and again from the moment it goes idle
//!   after a response, until a request's headers are complete; a connection that sends
//!   nothing, trickles header lines, or idles between keep-alive requests is closed when it
//!   fires. After a WebSocket upgrade hyper no longer owns the connection, so the timer is
//!   gone (the live module pings its sockets itself).
//! * **Per-address cap** ([`ConnectionsConfig::max_conns_per_ip`]): a connection from an
//!   address (IPv6: its /64, which one subscriber typically holds) that already has that many
//!   open is closed at once, before anything is read. Trusted proxies are exempt: every
//!   client behind them shares their address.
//! * **Global cap** ([`connection_cap`]): never more open connections than the descriptor
//!   limit leaves after a reserve for the database and Redis pools and files. At the cap the
//!   loop stops accepting until a connection closes; waiting clients queue in the kernel's
//!   backlog instead of the process failing accepts with "too many open files".
//!
//! Connections (WebSockets too) are counted until their socket is dropped: the count lives
//! in the I/O object, which an upgrade hands on to the WebSocket task. Shutdown stops the
//! accepting (the listener is closed, so a load balancer sends new connections elsewhere), tells
//! the caller (`stopped_accepting`: the gateway then hands its live sessions over), lets every
//! connection finish its in-flight request, and returns when all have closed (upgraded
//! WebSockets are not waited for; the live module ends them).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

use crate::config::{Config, ConnectionsConfig};

/// Descriptors kept for everything but client connections, besides the database pools:
/// Redis Cluster and live-cluster links, the SQLite and search-index files, logs, the
/// listener itself.
const FIXED_RESERVE: u64 = 256;
/// Fewest client connections worth starting with.
const MIN_CONNECTIONS: u64 = 16;
/// Pause after a failed accept: the failure (typically out of descriptors) does not clear
/// by retrying at once, and retrying at once would spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connections the kernel completes and queues for us while the accept loop is at its cap
/// (the standard library's 128 would make clients beyond it retry their SYN after seconds).
const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `addr` with a backlog of 1,024 connections (the kernel caps it at
/// `net.core.somaxconn`).
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How many connections the gateway may hold open at once, from `MAX_CONNECTIONS` or the
/// descriptor limit. Raises the soft descriptor limit to the hard one first (the default soft
/// limit, often 1024, is far below what a gateway needs). Errors name `MAX_CONNECTIONS`.
pub fn connection_cap(config: &Config) -> anyhow::Result<usize> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).map_err(|e| {
        anyhow::anyhow!("cannot read the descriptor limit for MAX_CONNECTIONS: {e}")
    })?;
    let reserve = FIXED_RESERVE + 2 * u64::from(config.db_max_connections);
    let available = limit.saturating_sub(reserve);
    match config.connections.max_connections {
        Some(n) if n as u64 > available => anyhow::bail!(
            "MAX_CONNECTIONS={n} is more than the descriptor limit allows: {limit} descriptors \
             minus {reserve} kept for the database, Redis and files leaves {available}; raise \
             the limit (ulimit -n, LimitNOFILE=) or lower MAX_CONNECTIONS"
        ),
        Some(n) => Ok(n),
        None if available < MIN_CONNECTIONS => anyhow::bail!(
            "the descriptor limit {limit} leaves {available} connections after {reserve} kept \
             for the database, Redis and files; raise it (ulimit -n) or set MAX_CONNECTIONS"
        ),
        None => Ok(available as usize),
    }
}

/// What the accept loop enforces.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// See [`ConnectionsConfig`].
    pub connections: ConnectionsConfig,
    /// The resolved global cap ([`connection_cap`]).
    pub max_connections: usize,
    /// Peers exempt from the per-address cap (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Serves `app` on `listener` until `shutdown` resolves, then closes the listener, calls
/// `stopped_accepting`, and drains (see the module docs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stopped_accepting: impl FnOnce() + Send,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = Arc::new(PerAddress::new(
        limits.connections.max_conns_per_ip,
        limits.trusted_proxies.clone(),
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.connections.header_read_timeout);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; `recv` returns `None` once all have ended.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut accept_errors = ThrottledLog::default();
    tokio::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                metrics::counter!("http_connections_at_capacity_total").increment(1);
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    metrics::counter!("http_accept_errors_total").increment(1);
                    accept_errors.warn(&e);
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        _ = &mut shutdown => break,
                    }
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(address_slot) = per_ip.admit(peer.ip()) else {
            metrics::counter!("http_connections_refused_total", "reason" => "per_address")
                .increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        metrics::gauge!("http_connections_open").increment(1.0);
        let io = TokioIo::new(Counted {
            io: stream,
            _permit: permit,
            _address: address_slot,
        });
        let app = app
            .clone()
            .map_request(move |req: axum::http::Request<Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = http
            .serve_connection(io, TowerToHyperService::new(app))
            .with_upgrades();
        let mut stop = stop_rx.clone();
        let alive = alive_tx.clone();
        tokio::spawn(async move {
            let _alive = alive;
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if e.is_timeout() {
                    metrics::counter!("http_header_timeouts_total").increment(1);
                }
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stopped_accepting();
    let _ = stop_tx.send(true);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
}

/// A client socket that counts as one open connection (globally and for its address) until
/// it is dropped, which for a WebSocket is when the WebSocket task ends.
struct Counted {
    io: TcpStream,
    _permit: OwnedSemaphorePermit,
    _address: AddressSlot,
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!("http_connections_open").decrement(1.0);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Open connections per client address.
struct PerAddress {
    max: u32,
    trusted: Vec<ipnet::IpNet>,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One counted connection of an address; uncounts it when dropped.
struct AddressSlot {
    owner: Option<(Arc<PerAddress>, IpAddr)>,
}

impl PerAddress {
    fn new(max: u32, trusted: Vec<ipnet::IpNet>) -> PerAddress {
        PerAddress {
            max,
            trusted,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `peer`, or `None` when its address is at the cap.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<AddressSlot> {
        let peer = peer.to_canonical();
        if self.max == 0 || self.trusted.iter().any(|n| n.contains(&peer)) {
            return Some(AddressSlot { owner: None });
        }
        let key = address_key(peer);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            owner: Some((self.clone(), key)),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some((per, key)) = self.owner.take() {
            let mut open = per.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&key);
                }
            }
        }
    }
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber's
/// network, whose addresses cost an attacker nothing).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// Logs accept errors at most once a second, with how many were left out in between.
#[derive(Default)]
struct ThrottledLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl ThrottledLog {
    fn warn(&mut self, e: &io::Error) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(error = %e, suppressed = self.suppressed, "accept error");
        self.last = Some(now);
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_is_capped_and_its_slots_come_back_when_dropped() {
        let per = Arc::new(PerAddress::new(2, vec![ip("10.0.0.1").into()]));
        let a = per.admit(ip("127.0.0.2")).unwrap();
        let _b = per.admit(ip("127.0.0.2")).unwrap();
        assert!(per.admit(ip("127.0.0.2")).is_none());
        assert!(
            per.admit(ip("::ffff:127.0.0.2")).is_none(),
            "mapped IPv4 is the same"
        );
        assert!(per.admit(ip("127.0.0.3")).is_some());
        drop(a);
        assert!(per.admit(ip("127.0.0.2")).is_some());
        // A trusted proxy carries many clients: never capped.
        let proxied: Vec<_> = (0..10).map(|_| per.admit(ip("10.0.0.1"))).collect();
        assert!(proxied.iter().all(Option::is_some));
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_count() {
        let per = Arc::new(PerAddress::new(1, vec![]));
        let _a = per.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(per.admit(ip("2001:db8:1:2:ffff::9")).is_none());
        let _c = per.admit(ip("2001:db8:1:3::1")).unwrap();
        let slots = per.open.lock().unwrap();
        assert_eq!(slots.len(), 2);
    }
}
