//! Certificates carry roles and the nodes enforce them: a client certificate (the gateway's)
//! reads and writes but cannot speak Raft or change the group; a node certificate speaks Raft
//! only as its own id; `shard-node certs` writes private keys 0600, keeps the CA, and issues a
//! node from it later that joins the running group.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{create_board, eventually, identity, names, put, TestCluster, BOARD};
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use shard_node::auth::Role;
use shard_node::certs::{self, DevCerts, PemPair};
use shard_node::layout::Layout;
use shard_node::node::{NodeOptions, RaftTuning, ShardNode};
use shard_node::protocol::{RaftReply, RaftRequest, RpcRequest, RpcResponse};
use shard_node::transport::Transport;
use shard_node::types::{NodeId, NodeInfo, Vote};
use shard_node::Error;

const L: Layout = Layout { groups: 1 };
const T: Duration = Duration::from_secs(10);

fn vote_as(candidate: NodeId, term: u64) -> RpcRequest {
    RpcRequest::Raft {
        group: 0,
        rpc: RaftRequest::Vote(VoteRequest::new(Vote::new(term, candidate), None)),
    }
}

fn append_as(leader: NodeId, term: u64) -> RpcRequest {
    RpcRequest::Raft {
        group: 0,
        rpc: RaftRequest::Append(AppendEntriesRequest {
            vote: Vote::new_committed(term, leader),
            prev_log_id: None,
            entries: Vec::new(),
            leader_commit: None,
        }),
    }
}

fn forbidden<T: std::fmt::Debug>(r: shard_node::Result<T>) -> String {
    match r {
        Err(Error::Forbidden(why)) => why,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

fn failed_forbidden(r: shard_node::Result<RpcResponse>) -> String {
    match r {
        Ok(RpcResponse::Failed(Error::Forbidden(why))) => why,
        other => panic!("expected a Forbidden reply, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_read_and_write_but_cannot_speak_raft_or_change_the_group() {
    let c = TestCluster::start(3, 3, L, RaftTuning::fast()).await;
    let gateway = c.client_as(certs::CLIENT).await;
    // Reads and writes are what a client certificate is for.
    create_board(&gateway).await;
    put(&gateway, 1).await.unwrap();
    assert_eq!(gateway.count(BOARD).await.unwrap(), 1);
    assert!(gateway.status(0, 1).await.is_ok());
    let leader = c.leader(0).await;
    let before = c.status(leader, 0).await;

    // Raft RPCs from a client certificate: a vote and an append with a far higher term (which
    // would depose the leader if accepted) are refused before Raft sees them.
    let raw = Transport::client(&identity(&c.certs, certs::CLIENT)).unwrap();
    for id in [1, 2, 3] {
        let why = failed_forbidden(raw.call(id, &c.info(id), &vote_as(2, 1_000), T).await);
        assert!(why.contains("Raft RPCs are for node certificates"), "{why}");
        failed_forbidden(raw.call(id, &c.info(id), &append_as(2, 1_000), T).await);
    }

    // Membership changes, initialize and snapshots.
    forbidden(gateway.add_learner(0, 4, c.info(1)).await);
    forbidden(gateway.add_node(0, 4, c.info(1)).await);
    forbidden(gateway.remove_node(0, 3).await);
    forbidden(gateway.change_membership(0, [1].into(), false).await);
    forbidden(gateway.trigger_snapshot(0).await);
    let why = forbidden(gateway.initialize(0, 1, vec![(9, c.info(1))]).await);
    assert!(why.contains("admin or node certificate"), "{why}");

    // Nothing changed: same term, same members, still serving.
    for id in [1, 2, 3] {
        let st = c.status(id, 0).await;
        assert_eq!(st.term, before.term, "node {id}: {st:?}");
        assert_eq!(st.voters, [1, 2, 3].into(), "node {id}");
        assert!(st.learners.is_empty(), "node {id}");
    }
    put(&gateway, 2).await.unwrap();
    let refused = c.nodes[&1]
        .router()
        .metrics()
        .forbidden
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(refused >= 2, "{refused}");

    // The admin certificate may do what the client may not.
    let admin = c.client().await;
    admin.trigger_snapshot(0).await.unwrap();
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_certificate_speaks_raft_only_as_its_own_id() {
    let c = TestCluster::start(3, 3, L, RaftTuning::fast()).await;
    let leader = c.leader(0).await;
    let term = c.status(leader, 0).await.term;
    let target = if leader == 1 { 3 } else { 1 };
    let other = [1, 2, 3]
        .into_iter()
        .find(|i| *i != leader && *i != target)
        .unwrap();
    let as_other = Transport::client(&identity(&c.certs, &format!("n{other}"))).unwrap();

    // Posing as the leader (append) or as a third node (vote), with a higher term: refused.
    let why = failed_forbidden(
        as_other
            .call(target, &c.info(target), &append_as(leader, term + 100), T)
            .await,
    );
    assert!(why.contains("speaks only for itself"), "{why}");
    let third = [1, 2, 3]
        .into_iter()
        .find(|i| *i != other && *i != target)
        .unwrap();
    failed_forbidden(
        as_other
            .call(target, &c.info(target), &vote_as(third, term + 100), T)
            .await,
    );
    // A spare node certificate (node 5, not a member) is a node too, but still only node 5.
    let spare = Transport::client(&identity(&c.certs, "n5")).unwrap();
    failed_forbidden(
        spare
            .call(target, &c.info(target), &vote_as(other, term + 100), T)
            .await,
    );
    // None of the forged terms was taken: the target's term is its own (which may still be
    // catching up with the leader's, or moved on by a real election, never by 100).
    let now = c.status(target, 0).await.term;
    assert!(
        now < term + 100,
        "the target took a forged term: {now} (leader's was {term})"
    );

    // As itself, with a stale term, the RPC reaches Raft (which answers it).
    let resp = as_other
        .call(target, &c.info(target), &vote_as(other, 0), T)
        .await
        .unwrap();
    assert!(
        matches!(resp, RpcResponse::Raft(RaftReply::Vote(Ok(ref v))) if !v.vote_granted),
        "{resp:?}"
    );

    // A node refuses to run under another node's certificate.
    let mut opts = NodeOptions::new(
        4,
        "127.0.0.1:0".parse().unwrap(),
        c.dir.path().join("wrong"),
        identity(&c.certs, "n3"),
    );
    opts.raft = RaftTuning::fast();
    match ShardNode::start(opts).await {
        Err(Error::Config(m)) => assert!(m.contains("node 3"), "{m}"),
        Err(e) => panic!("unexpected {e:?}"),
        Ok(_) => panic!("node 4 started with node 3's certificate"),
    }
    c.shutdown().await;
}

fn shard_node_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shard-node"))
        .args(args)
        .output()
        .expect("run shard-node")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn read_pair(dir: &Path, name: &str, role: Role) -> PemPair {
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap();
    PemPair {
        name: name.into(),
        role,
        cert_pem: read("pem"),
        key_pem: read("key"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certs_keeps_the_ca_and_a_node_issued_later_joins() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    let out_s = out.to_str().unwrap();
    let run = shard_node_cli(&["certs", "--out", out_s, "--nodes", "n1,n2,n3"]);
    assert!(run.status.success(), "{run:?}");
    // A second new CA over the kept one is refused.
    let again = shard_node_cli(&["certs", "--out", out_s, "--nodes", "n1"]);
    assert!(!again.status.success());
    // Later: a fourth node from the same CA.
    let add = shard_node_cli(&["certs", "--out", out_s, "--add-node", "4=n4"]);
    assert!(add.status.success(), "{add:?}");
    #[cfg(unix)]
    for key in ["n1.key", "n4.key", "client.key", "admin.key", "ca/ca.key"] {
        assert_eq!(mode(&out.join(key)), 0o600, "{key}");
    }
    assert!(!out.join("ca.key").exists(), "the CA key is kept apart");

    let mut leaves: Vec<PemPair> = (1..=4)
        .map(|i| read_pair(&out, &format!("n{i}"), Role::Node(i)))
        .collect();
    leaves.push(read_pair(
        &out,
        certs::CLIENT,
        Role::Client("client".into()),
    ));
    leaves.push(read_pair(&out, certs::ADMIN, Role::Admin("admin".into())));
    let files = DevCerts {
        ca_pem: std::fs::read_to_string(out.join("ca.pem")).unwrap(),
        ca_key_pem: String::new(),
        leaves,
    };
    let mut c = TestCluster::start_nodes_with(files, 3, L, RaftTuning::fast(), None).await;
    let members: Vec<(NodeId, NodeInfo)> = (1..=3).map(|i| (i, c.info(i))).collect();
    c.nodes[&1].initialize(0, members).await.unwrap();
    c.leader(0).await;
    let admin = c.client().await;
    create_board(&admin).await;
    for i in 0..20 {
        put(&admin, i).await.unwrap();
    }
    c.start_node(4, "127.0.0.1:0".parse().unwrap()).await;
    let admin = c.client().await;
    admin.add_node(0, 4, c.info(4)).await.unwrap();
    let want = names(0..20);
    eventually("node 4 holds the data", T, || async {
        (c.members(4, 0).await == want).then_some(())
    })
    .await;
    assert_eq!(c.status(4, 0).await.voters, [1, 2, 3, 4].into());
    c.shutdown().await;
}
