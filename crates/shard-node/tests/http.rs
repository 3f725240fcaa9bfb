//! `/metrics`, `/healthz` and `/readyz` of a running node, over real HTTP on loopback.

mod common;

use common::{create_board, put, TestCluster};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {buf:?}"));
    let body = buf
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_readiness() {
    let c = TestCluster::start(3, 3, Layout::new(1), RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    for i in 0..5 {
        put(&client, i).await.unwrap();
    }
    let leader = c.leader(0).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(shard_node::http::serve(
        listener,
        c.nodes[&leader].router().clone(),
        None,
        async move {
            let _ = stopped.await;
        },
    ));

    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("shard_group_is_leader{group=\"0\"} 1"),
        "{body}"
    );
    // Five writes with op ids, all remembered, none refused.
    assert!(body.contains("shard_opid_entries{group=\"0\"} 5"), "{body}");
    assert!(
        body.contains("shard_opid_refused_total{group=\"0\"} 0"),
        "{body}"
    );
    assert!(body.contains("# TYPE shard_opid_bytes gauge"), "{body}");
    let _served: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("shard_write_commands_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no write counter in {body}"));
    let _entries: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("shard_write_entries_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no entry counter in {body}"));
    // Whichever node led when each write arrived counted it.
    let commands: u64 = c
        .nodes
        .values()
        .map(|n| {
            n.router()
                .metrics()
                .write_commands
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .sum();
    assert!(commands >= 6, "{commands} commands counted");
    assert_eq!(get(addr, "/nope").await.0, 404);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    c.shutdown().await;
}
