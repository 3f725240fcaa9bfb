//! Idle and slow connections (slowloris): connections that never finish their headers are
//! closed after `HEADER_READ_TIMEOUT_MS`, one address cannot hold more than
//! `MAX_CONNS_PER_IP` connections, and the gateway never accepts more connections than its
//! descriptor limit allows, so health checks from other addresses keep getting through.
//!
//! The flooding client binds its sockets to 127.0.0.2 and the well-behaved one to 127.0.0.3
//! (both loopback on Linux), so the gateway sees two addresses.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::process::Gateway;

/// The flooding address.
const FLOOD: &str = "127.0.0.2";
/// The well-behaved client's address.
const OTHER: &str = "127.0.0.3";

/// A TCP connection to `addr` from the local address `from`.
pub async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("local address");
    socket.bind(local).expect("bind the client address");
    socket.connect(addr).await.expect("connect to the gateway")
}

/// Opens `n` connections from `from` that send nothing.
async fn idle_connections(from: &str, addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(connect_from(from, addr).await);
    }
    out
}

/// Watches each connection until the server closes it (EOF or reset); the receiver gets
/// the index of every connection that was closed.
fn watch_closes(conns: Vec<TcpStream>) -> mpsc::UnboundedReceiver<usize> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, mut c) in conns.into_iter().enumerate() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
            let _ = tx.send(i);
        });
    }
    rx
}

/// Waits until `want` connections were reported closed or `deadline` passes; the count.
async fn count_closes(
    rx: &mut mpsc::UnboundedReceiver<usize>,
    want: usize,
    within: Duration,
) -> usize {
    let deadline = Instant::now() + within;
    let mut n = 0;
    while n < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(_)) => n += 1,
            _ => break,
        }
    }
    n
}

/// `GET path` on a fresh connection from `from`: the status line and body, or `None` when
/// the connection was closed (or nothing came) before a full response within `within`.
pub async fn get_from(
    from: &str,
    addr: SocketAddr,
    path: &str,
    within: Duration,
) -> Option<String> {
    let attempt = async {
        let mut s = connect_from(from, addr).await;
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.ok()?;
        (!resp.is_empty()).then(|| String::from_utf8_lossy(&resp).into_owned())
    };
    tokio::time::timeout(within, attempt).await.ok().flatten()
}

/// Whether `/healthz` from `from` answers 200, retrying until `within` passes.
async fn healthy_from(from: &str, addr: SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        if let Some(r) = get_from(from, addr, "/healthz", left).await {
            if r.starts_with("HTTP/1.1 200") {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_kept_alive_connections_are_closed_after_the_header_timeout() {
    let mut gw = Gateway::sqlite(&[("HEADER_READ_TIMEOUT_MS", "1000")]).await;
    let idle = idle_connections(FLOOD, gw.addr, 300).await;

    // Slowloris proper: a header line every 200 ms, never the blank line that ends them.
    let mut slow = Vec::new();
    for _ in 0..5 {
        let mut s = connect_from(FLOOD, gw.addr).await;
        slow.push(tokio::spawn(async move {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
            for i in 0..150 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if s.write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return true;
                }
                let mut buf = [0u8; 64];
                // A closed connection reads EOF (or a reset) instead of blocking.
                if let Ok(Ok(0) | Err(_)) =
                    tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
                {
                    return true;
                }
            }
            false
        }));
    }

    // A keep-alive connection that made one request and then went quiet.
    let mut kept = connect_from(FLOOD, gw.addr).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.expect("first response");
    assert_eq!(&first, b"HTTP/1.1 200");

    let mut closes = watch_closes(idle);
    let closed = count_closes(&mut closes, 300, Duration::from_secs(30)).await;
    assert_eq!(closed, 300, "idle connections never closed by the gateway");
    for t in slow {
        assert!(
            t.await.expect("slow client"),
            "a slowloris connection stayed open"
        );
    }
    let kept_closed = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = Vec::new();
        kept.read_to_end(&mut rest).await.is_ok()
    })
    .await;
    assert!(
        matches!(kept_closed, Ok(true)),
        "an idle keep-alive connection stayed open"
    );
    assert!(healthy_from(OTHER, gw.addr, Duration::from_secs(10)).await);
    assert!(gw.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_beyond_its_connection_cap_is_refused_and_others_are_served() {
    let mut gw = Gateway::sqlite(&[
        ("MAX_CONNS_PER_IP", "50"),
        ("HEADER_READ_TIMEOUT_MS", "60000"),
    ])
    .await;
    let conns = idle_connections(FLOOD, gw.addr, 200).await;
    let (held, extra): (Vec<_>, Vec<_>) = conns.into_iter().enumerate().partition(|(i, _)| *i < 50);
    let mut held_closes = watch_closes(held.into_iter().map(|(_, c)| c).collect());
    let mut extra_closes = watch_closes(extra.into_iter().map(|(_, c)| c).collect());
    let closed = count_closes(&mut extra_closes, 150, Duration::from_secs(20)).await;
    assert_eq!(
        closed, 150,
        "connections beyond the per-address cap were kept open"
    );
    // The first 50 are within the cap and stay open (nothing closes them for 60 s).
    assert!(
        held_closes.try_recv().is_err(),
        "a connection within the cap was closed"
    );

    assert!(
        healthy_from(OTHER, gw.addr, Duration::from_secs(10)).await,
        "another address was not served while one address was at its cap"
    );
    assert_eq!(
        get_from(FLOOD, gw.addr, "/healthz", Duration::from_secs(10)).await,
        None,
        "the capped address got one more connection"
    );
    assert!(gw.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_stays_below_the_descriptor_limit_and_health_checks_get_through() {
    // 512 descriptors: the gateway keeps a reserve for its database pool and files, so it may
    // hold a few hundred connections; the flood asks for 800.
    let mut gw = Gateway::sqlite_with_nofile(
        &[
            ("HEADER_READ_TIMEOUT_MS", "1500"),
            ("MAX_CONNS_PER_IP", "0"),
        ],
        512,
    )
    .await;
    let flood = idle_connections(FLOOD, gw.addr, 800).await;
    assert!(
        healthy_from(OTHER, gw.addr, Duration::from_secs(40)).await,
        "health checks from another address did not get through the flood"
    );
    let metrics = get_from(OTHER, gw.addr, "/metrics", Duration::from_secs(40))
        .await
        .expect("/metrics answers");
    assert!(
        !metrics.contains("http_accept_errors_total"),
        "the gateway ran out of descriptors:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("accept"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        metrics.contains("http_connections_open"),
        "no open-connections gauge"
    );
    drop(flood);
    assert!(gw.alive());
}

/// Starts the gateway binary with `name=value` (and a descriptor limit of `nofile`) and
/// asserts that it refuses to start with an error naming the variable.
pub async fn assert_refused_at_start(name: &str, value: &str, nofile: Option<u64>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_gateway");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = std::process::Command::new("prlimit");
            c.arg(format!("--nofile={n}:{n}")).arg("--").arg(bin);
            c
        }
        None => std::process::Command::new(bin),
    };
    let mut child = cmd
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_REPLICA_URL")
        .env_remove("REDIS_CLUSTER_NODES")
        .env("BIND", "127.0.0.1:0")
        .env("DATA_DIR", dir.path())
        .env(name, value)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the gateway binary");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut err);
    }
    let status = status.unwrap_or_else(|| panic!("{name}={value} was accepted"));
    assert!(!status.success(), "{name}={value} was accepted");
    assert!(
        err.contains(name),
        "the refusal of {name}={value} does not name the variable: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_connection_limits_are_refused_at_start() {
    assert_refused_at_start("MAX_CONNECTIONS", "0", None).await;
    assert_refused_at_start("MAX_CONNECTIONS", "lots", None).await;
    // More connections than the descriptor limit can hold.
    assert_refused_at_start("MAX_CONNECTIONS", "100000", Some(512)).await;
    assert_refused_at_start("HEADER_READ_TIMEOUT_MS", "0", None).await;
    assert_refused_at_start("MAX_CONNS_PER_IP", "-1", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_outlives_the_header_timeout() {
    use livequiz_sdk::live::{ClientMsg, Credentials, LiveClient, LiveOptions, ServerMsg};
    let gw = Gateway::sqlite(&[("HEADER_READ_TIMEOUT_MS", "500")]).await;
    let accounts = super::input::accounts(&gw).await;
    let session = super::input::live_session(&accounts.author).await;
    let options = LiveOptions::default().reconnect(false);
    let mut player = LiveClient::connect_with(
        &gw.base_url,
        &session.code,
        Credentials::Guest("quiet".into()),
        options,
    )
    .await
    .expect("join as a guest");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    player.send(ClientMsg::Ping).expect("send a ping");
    let pong = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = player.next_message().await {
            if matches!(m, ServerMsg::Pong { .. }) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(pong, Ok(true)),
        "the WebSocket was closed by the header timeout"
    );
}
