//! A running node answers malformed frames (wrong version, oversized, garbage, truncated) with
//! typed errors and keeps serving.

mod common;

use std::time::Duration;

use common::{create_board, identity, put, TestCluster};
use shard_node::layout::Layout;
use shard_node::node::RaftTuning;
use shard_node::protocol::{ClientRequest, RpcRequest, RpcResponse};
use shard_node::transport::frame::{encode_frame, MAX_FRAME, PROTOCOL_VERSION};
use shard_node::transport::Transport;
use shard_node::Error;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_typed_errors_and_do_not_crash_the_node() {
    let c = TestCluster::start(3, 3, Layout::new(1), RaftTuning::fast()).await;
    let client = c.client().await;
    create_board(&client).await;
    put(&client, 1).await.unwrap();

    let raw = Transport::client(&identity(&c.certs, shard_node::certs::CLIENT)).unwrap();
    let node = c.info(1);
    let t = Duration::from_secs(10);
    let status = RpcRequest::Client {
        group: 0,
        req: ClientRequest::Status,
    };

    // Wrong protocol version.
    let mut bytes = encode_frame(&status).unwrap();
    bytes[4..6].copy_from_slice(&(PROTOCOL_VERSION + 1).to_be_bytes());
    let resp = raw.call_raw(1, &node, &bytes, t).await.unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::VersionMismatch { theirs, .. }) if theirs == PROTOCOL_VERSION + 1),
        "{resp:?}"
    );

    // Oversized length prefix: refused before the body is read.
    let mut bytes = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    let resp = raw.call_raw(1, &node, &bytes, t).await.unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::FrameTooLarge { .. })),
        "{resp:?}"
    );

    // Garbage body with a valid header.
    let mut bytes = 34u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    bytes.extend_from_slice(&[0xEE; 32]);
    let resp = raw.call_raw(1, &node, &bytes, t).await.unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::Malformed(_))),
        "{resp:?}"
    );

    // A frame shorter than its header, and a truncated frame.
    let resp = raw
        .call_raw(1, &node, &1u32.to_be_bytes(), t)
        .await
        .unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::Malformed(_))),
        "{resp:?}"
    );
    let good = encode_frame(&status).unwrap();
    let resp = raw
        .call_raw(1, &node, &good[..good.len() - 2], t)
        .await
        .unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::Unavailable(_))),
        "{resp:?}"
    );

    // A request for a group the node does not host.
    let resp = raw
        .call(
            1,
            &node,
            &RpcRequest::Client {
                group: 9,
                req: ClientRequest::Status,
            },
            t,
        )
        .await
        .unwrap();
    assert!(
        matches!(resp, RpcResponse::Failed(Error::UnknownGroup(9))),
        "{resp:?}"
    );

    // The node still serves, and counted the bad frames.
    put(&client, 2).await.unwrap();
    assert!(matches!(
        raw.call(1, &node, &status, t).await.unwrap(),
        RpcResponse::Client(Ok(_))
    ));
    let bad = c.nodes[&1]
        .router()
        .metrics()
        .bad_frames
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(bad, 5);
    c.shutdown().await;
}
