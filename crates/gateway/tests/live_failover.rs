//! The gateway that owns a live session crashes (a real process, killed with SIGKILL) in the
//! middle of a question; another gateway takes the session over from its Redis checkpoint and
//! the durable answers, and the game goes on: same players, same scores, the same open
//! question with its deadline, answer-once across the crash, final standings stored. Real
//! stack (MySQL primary + replica, Redis Cluster; env from `scripts/stack env`, panics with a
//! clear message when missing).

#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{make_quiz_with, mysql_config, wait_for, wait_msg};
use gateway::config::Config;
use gateway::testing::spawn;
use sdk::live::{
    close, ClientMsg, CreateSession, Credentials, ErrorCode, LiveClient, LiveEvent, ServerMsg,
    Welcome,
};
use sdk::types::RegisterRequest;
use sdk::Client;
use sqlx::Connection as _;

/// Owner leases in this test: a crash is noticed within about this long.
const LEASE_MS: u64 = 1_500;

/// A gateway in its own process (so it can really crash), killed on drop.
struct GatewayProcess {
    child: Child,
    base_url: String,
}

impl GatewayProcess {
    async fn start(config: &Config, data_dir: &std::path::Path) -> GatewayProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", data_dir)
            .env("DATABASE_URL", config.database_url.as_deref().unwrap())
            .env(
                "DATABASE_REPLICA_URL",
                config.database_replica_url.as_deref().unwrap(),
            )
            .env("REDIS_CLUSTER_NODES", config.redis_cluster_nodes.join(","))
            .env("LIVE_OWNER_LEASE_MS", LEASE_MS.to_string())
            .env("MIGRATE_ON_START", "false")
            .env("DB_MAX_CONNECTIONS", "4")
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start the gateway binary");
        let base_url = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
                let req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                let mut resp = Vec::new();
                if s.write_all(req.as_bytes()).await.is_ok()
                    && s.read_to_end(&mut resp).await.is_ok()
                    && resp.starts_with(b"HTTP/1.1 200")
                {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gateway process on port {port} never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        GatewayProcess { child, base_url }
    }

    fn crash(&mut self) {
        self.child.kill().expect("SIGKILL the gateway");
        self.child.wait().expect("reap the gateway");
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(base: &str, code: &str, creds: Credentials) -> LiveClient {
    LiveClient::connect(base, code, creds)
        .await
        .unwrap_or_else(|e| panic!("connect to {base}: {e}"))
}

/// Waits for the client to lose its connection and come back; the fresh welcome.
async fn reconnected(c: &mut LiveClient, who: &str) -> Welcome {
    wait_for(c, &format!("{who} reconnected"), |e| match e {
        LiveEvent::Reconnected(w) => Some(w.clone()),
        LiveEvent::Closed { code, reason } => panic!("{who} closed: {code:?} {reason}"),
        _ => None,
    })
    .await
}

/// Answers `question` with choice 1 and returns the acknowledged elapsed ms.
async fn answer_acked(c: &mut LiveClient, who: &str, question: u32) {
    c.answer(question, vec![1], Some(u64::from(question)))
        .unwrap();
    wait_msg(c, &format!("{who}'s ack for {question}"), |m| match m {
        ServerMsg::AnswerAck { question: q, .. } if *q == question => Some(()),
        ServerMsg::Error { code, message, .. } => panic!("{who}: {code:?} {message}"),
        _ => None,
    })
    .await;
}

/// Waits for the reveal of `question` and returns (points, score) of the player.
async fn revealed(c: &mut LiveClient, who: &str, question: u32) -> (u32, i64) {
    wait_msg(c, &format!("{who}'s reveal of {question}"), |m| match m {
        ServerMsg::Reveal {
            question: q,
            result: Some(r),
            ..
        } if *q == question => {
            assert!(r.answered && r.correct, "{who} question {question}: {r:?}");
            Some((r.points, r.score))
        }
        _ => None,
    })
    .await
}

/// Both players answer `question` right; adds their points to `totals`.
async fn play_question(
    ann: &mut LiveClient,
    bob: &mut LiveClient,
    question: u32,
    totals: &mut [i64; 2],
) {
    for (name, p) in [("ann", &mut *ann), ("bob", &mut *bob)] {
        wait_msg(p, &format!("{name}: question {question}"), |m| match m {
            ServerMsg::Question(q) if q.index == question => Some(()),
            _ => None,
        })
        .await;
        answer_acked(p, name, question).await;
    }
    for (i, (name, p)) in [("ann", ann), ("bob", bob)].into_iter().enumerate() {
        let (points, score) = revealed(p, name, question).await;
        totals[i] += i64::from(points);
        assert_eq!(score, totals[i], "{name} after question {question}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_the_crash_of_its_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut config, admin_url, db_name) = mysql_config(dir.path()).await;
    config.live_owner_lease = Duration::from_millis(LEASE_MS);
    // B runs in this process (and applies the migrations); A is a separate process.
    let b = spawn(config.clone()).await.expect("spawn gateway B");
    let dir_a = tempfile::tempdir().expect("tempdir");
    let mut a = GatewayProcess::start(&config, dir_a.path()).await;

    let anon = Client::new(&a.base_url).unwrap();
    anon.register(&RegisterRequest {
        username: "host".into(),
        password: "host-password".into(),
    })
    .await
    .expect("register host");
    let host_api = anon
        .login("host", "host-password")
        .await
        .expect("login host");
    // Question 1 stays open long enough for the crash, the lease expiry and the takeover.
    let quiz_id = make_quiz_with(&host_api, &[5_000, 60_000, 5_000]).await;
    let s = host_api
        .create_live_session(&CreateSession {
            quiz_id,
            scoring: None,
            reveal_ms: Some(50),
            top_n: Some(5),
        })
        .await
        .expect("create live session on A");

    // Everyone connects through B; the session runs on A.
    let mut host = connect(
        &b.base_url,
        &s.code,
        Credentials::Host(s.host_token.clone()),
    )
    .await;
    let mut ann = connect(&b.base_url, &s.code, Credentials::Guest("ann".into())).await;
    let mut bob = connect(&b.base_url, &s.code, Credentials::Guest("bob".into())).await;
    let (ann_id, bob_id) = (ann.welcome().player_id, bob.welcome().player_id);
    host.send(ClientMsg::Start).unwrap();

    let mut totals = [0i64; 2];
    play_question(&mut ann, &mut bob, 0, &mut totals).await;
    let deadline_1 = wait_msg(&mut ann, "question 1", |m| match m {
        ServerMsg::Question(q) if q.index == 1 => Some(q.deadline),
        _ => None,
    })
    .await;
    // ann's answer to question 1 is acknowledged (so durable); then A dies.
    answer_acked(&mut ann, "ann", 1).await;
    a.crash();

    // B notices the expired lease, sends the clients to reconnect, and takes the session over.
    let w_ann = reconnected(&mut ann, "ann").await;
    let w_bob = reconnected(&mut bob, "bob").await;
    let w_host = reconnected(&mut host, "host").await;
    assert_eq!(w_ann.player_id, ann_id, "same player after the takeover");
    assert_eq!(w_bob.player_id, bob_id);
    assert_eq!(w_host.player_id, None);
    assert_eq!(w_ann.session_id, s.session_id);
    for w in [&w_ann, &w_bob] {
        assert_eq!(w.players, 2);
        let q = w.question.as_ref().expect("question 1 is still open");
        assert_eq!(
            (q.index, q.deadline),
            (1, deadline_1),
            "same question, same deadline"
        );
    }
    assert!(w_ann.answered, "ann's durable answer counts");
    assert!(!w_bob.answered);
    assert_eq!(w_bob.score, totals[1], "bob's score is back");
    assert!(w_ann.score > totals[0], "ann's question-1 points are back");
    let ann_q1 = w_ann.score - totals[0];

    // Answer-once holds across the crash.
    ann.answer(1, vec![1], Some(77)).unwrap();
    wait_msg(&mut ann, "ann's refused second answer", |m| match m {
        ServerMsg::Error { code, req, .. } => {
            assert_eq!((*code, *req), (ErrorCode::AlreadyAnswered, Some(77)));
            Some(())
        }
        _ => None,
    })
    .await;
    answer_acked(&mut bob, "bob", 1).await;
    for (i, (name, p)) in [("ann", &mut ann), ("bob", &mut bob)]
        .into_iter()
        .enumerate()
    {
        let (points, score) = revealed(p, name, 1).await;
        if i == 0 {
            assert_eq!(
                i64::from(points),
                ann_q1,
                "ann's points as scored before the crash"
            );
        }
        totals[i] += i64::from(points);
        assert_eq!(score, totals[i], "{name} after question 1");
    }
    // The last question, then the end, all on B.
    play_question(&mut ann, &mut bob, 2, &mut totals).await;
    for (i, (name, p)) in [("ann", &mut ann), ("bob", &mut bob)]
        .into_iter()
        .enumerate()
    {
        let you = wait_msg(p, "finished", |m| match m {
            ServerMsg::Finished { you, .. } => you.clone(),
            _ => None,
        })
        .await;
        assert_eq!((you.nickname.as_str(), you.score), (name, totals[i]));
        let closed = wait_for(p, "close", |e| match e {
            LiveEvent::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(closed, Some(close::SESSION_FINISHED));
    }
    let stored = Client::new(&b.base_url)
        .unwrap()
        .login("host", "host-password")
        .await
        .expect("login via B")
        .live_standings(s.session_id)
        .await
        .expect("standings via B");
    let mut scores: Vec<i64> = stored.iter().map(|st| st.score).collect();
    scores.sort_unstable();
    let mut want = totals.to_vec();
    want.sort_unstable();
    assert_eq!(scores, want, "stored final standings");
    assert_eq!(
        b.state
            .live
            .store()
            .answer_count(s.session_id)
            .await
            .unwrap(),
        6,
        "every answer recorded once"
    );

    b.state.db.close().await;
    b.stop().await;
    drop(a);
    if let Ok(mut c) = sqlx::MySqlConnection::connect(&admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name}"))
            .execute(&mut c)
            .await;
    }
}
