//! The gateway that owns a live session crashes (a real process, killed with SIGKILL) in the
//! middle of a question; another gateway takes the session over from its Redis checkpoint and
//! the durable answers, and the game goes on: same players, same scores (an answer to the open
//! question keeps its points held until the reveal), the same open question with its deadline,
//! answer-once across the crash, final standings stored. The same game when the owner is
//! stopped with SIGTERM instead: it hands the session over, and the other gateway takes it at
//! once instead of after the lease. Real
//! stack (MySQL primary + replica, Redis Cluster; env from `scripts/stack env`, panics with a
//! clear message when missing).

#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;
#[path = "support/listening.rs"]
mod listening;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{
    connect_to, drop_database, host_session, make_quiz_with, mysql_config, register_host, wait_for,
    wait_msg, Proxy,
};
use gateway::config::Config;
use gateway::live::engine::scoring::score_answer;
use gateway::testing::spawn;
use livequiz_sdk::live::{
    close, ClientMsg, Credentials, ErrorCode, LiveClient, LiveEvent, ScoringRules, ServerMsg,
    Welcome,
};
use livequiz_sdk::Client;

/// Owner leases in this test: a crash is noticed within about this long.
const LEASE_MS: u64 = 1_500;

/// A gateway in its own process (so it can really crash), killed on drop.
struct GatewayProcess {
    child: Child,
    base_url: String,
}

impl GatewayProcess {
    /// A gateway of the real stack (`config`'s MySQL and Redis Cluster).
    async fn with_stack(config: &Config, data_dir: &std::path::Path) -> GatewayProcess {
        Self::with_stack_and(config, data_dir, &[]).await
    }

    /// [`GatewayProcess::with_stack`] with `more` variables (they win over the defaults).
    async fn with_stack_and(
        config: &Config,
        data_dir: &std::path::Path,
        more: &[(&str, &str)],
    ) -> GatewayProcess {
        let nodes = config.redis_cluster_nodes.join(",");
        let lease = LEASE_MS.to_string();
        let mut env = vec![
            ("DATABASE_URL", config.database_url.as_deref().unwrap()),
            (
                "DATABASE_REPLICA_URL",
                config.database_replica_url.as_deref().unwrap(),
            ),
            ("REDIS_CLUSTER_NODES", &nodes),
            ("LIVE_OWNER_LEASE_MS", &lease),
            ("MIGRATE_ON_START", "false"),
            ("DB_MAX_CONNECTIONS", "4"),
        ];
        env.extend_from_slice(more);
        Self::start(data_dir, &env).await
    }

    /// A gateway with `env` on top of the embedded default in `data_dir`.
    async fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> GatewayProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_REPLICA_URL")
            .env_remove("REDIS_CLUSTER_NODES")
            .env_remove("SHARD_NODES")
            .env("BIND", "127.0.0.1:0")
            .env("DATA_DIR", data_dir)
            .env("ARGON2_MEMORY_KIB", "1024")
            .env("ARGON2_ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the gateway binary");
        // The port as the process reports it once bound: one picked in advance could be
        // taken meanwhile by another test's gateway, which would then answer for this one.
        let stdout = child.stdout.take().expect("piped stdout");
        let addr = tokio::time::timeout(
            Duration::from_secs(30),
            listening::listening_address(stdout),
        )
        .await
        .expect("the gateway reports its address within 30 s")
        .expect("the gateway listens before it exits");
        let port = addr.port();
        let base_url = format!("http://{addr}");
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

    /// Sends SIGTERM (as an orchestrator stopping the gateway does).
    fn terminate(&self) {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "SIGTERM the gateway");
    }

    /// Waits (at most 30 s) for the process to exit by itself.
    async fn exited(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the gateway") {
                return status;
            }
            assert!(Instant::now() < deadline, "the gateway never exited");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
async fn answer_acked(c: &mut LiveClient, who: &str, question: u32) -> u32 {
    c.answer(question, vec![1], Some(u64::from(question)))
        .unwrap();
    wait_msg(c, &format!("{who}'s ack for {question}"), |m| match m {
        ServerMsg::AnswerAck {
            question: q,
            elapsed_ms,
            ..
        } if *q == question => Some(*elapsed_ms),
        ServerMsg::Error { code, message, .. } => panic!("{who}: {code:?} {message}"),
        _ => None,
    })
    .await
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

/// A player of the test game.
struct Player {
    name: &'static str,
    client: LiveClient,
    total: i64,
}

/// Every player answers `question` right; adds their points to their totals.
async fn play_question(players: &mut [Player], question: u32) {
    for p in players.iter_mut() {
        wait_msg(
            &mut p.client,
            &format!("{}: question {question}", p.name),
            |m| match m {
                ServerMsg::Question(q) if q.index == question => Some(()),
                _ => None,
            },
        )
        .await;
        answer_acked(&mut p.client, p.name, question).await;
    }
    for p in players.iter_mut() {
        let (points, score) = revealed(&mut p.client, p.name, question).await;
        p.total += i64::from(points);
        assert_eq!(score, p.total, "{} after question {question}", p.name);
    }
}

/// The game both crash tests play: everyone connects through `entry` (the host and ann,
/// bob, cy as `players_at`), question 0, ann's answer to question 1 is acknowledged, then
/// `crash` runs (it must leave every client able to reconnect to a gateway that takes the
/// session over); then the checks that the session continued with the same players,
/// scores, question and deadline and answer-once, questions 1 and 2, and the final frames.
/// Returns the players' totals (best effort order: ann, bob, cy), `crash`'s output, and when
/// every client had reconnected (the host and the players, all welcomed again).
async fn game_across_a_crash<T>(
    code: &str,
    host_token: &str,
    host_at: &str,
    players_at: [&str; 3],
    crash: impl std::future::Future<Output = T>,
) -> (Vec<i64>, T, Instant) {
    let mut host = connect_to(host_at, code, Credentials::Host(host_token.to_string())).await;
    let mut players = Vec::new();
    for (name, base) in ["ann", "bob", "cy"].into_iter().zip(players_at) {
        let client = connect_to(base, code, Credentials::Guest(name.into())).await;
        players.push(Player {
            name,
            client,
            total: 0,
        });
    }
    let ids: Vec<_> = players
        .iter()
        .map(|p| p.client.welcome().player_id)
        .collect();
    let session_id = host.welcome().session_id;
    host.send(ClientMsg::Start).unwrap();
    play_question(&mut players, 0).await;

    let (deadline_1, limit_1) = wait_msg(&mut players[0].client, "question 1", |m| match m {
        ServerMsg::Question(q) if q.index == 1 => Some((q.deadline, q.time_limit_ms)),
        _ => None,
    })
    .await;
    // ann's answer to question 1 is acknowledged (so durable); then the gateway dies.
    let ann_elapsed = answer_acked(&mut players[0].client, "ann", 1).await;
    // Its points (a streak of 2) are held until question 1 closes.
    let ann_q1 = i64::from(
        score_answer(
            &ScoringRules::default(),
            true,
            u64::from(ann_elapsed),
            u64::from(limit_1),
            1,
        )
        .points,
    );
    let crashed = crash.await;

    let w_host = reconnected(&mut host, "host").await;
    assert_eq!(w_host.player_id, None);
    let mut welcomes = Vec::new();
    for (p, id) in players.iter_mut().zip(&ids) {
        let w = reconnected(&mut p.client, p.name).await;
        assert_eq!(
            &w.player_id, id,
            "{} is the same player after the takeover",
            p.name
        );
        assert_eq!(w.session_id, session_id);
        assert_eq!(w.players, 3);
        let q = w.question.as_ref().expect("question 1 is still open");
        assert_eq!(
            (q.index, q.deadline),
            (1, deadline_1),
            "same question, same deadline"
        );
        welcomes.push(w);
    }
    let reconnected_at = Instant::now();
    assert!(welcomes[0].answered, "ann's durable answer counts");
    assert!(!welcomes[1].answered && !welcomes[2].answered);
    assert_eq!(welcomes[1].score, players[1].total, "bob's score is back");
    assert_eq!(welcomes[2].score, players[2].total, "cy's score is back");
    assert_eq!(
        welcomes[0].score, players[0].total,
        "ann's question-1 points stay held until the reveal"
    );

    // Answer-once holds across the crash.
    players[0].client.answer(1, vec![1], Some(77)).unwrap();
    wait_msg(
        &mut players[0].client,
        "ann's refused second answer",
        |m| match m {
            ServerMsg::Error { code, req, .. } => {
                assert_eq!((*code, *req), (ErrorCode::AlreadyAnswered, Some(77)));
                Some(())
            }
            _ => None,
        },
    )
    .await;
    for p in &mut players[1..] {
        answer_acked(&mut p.client, p.name, 1).await;
    }
    for (i, p) in players.iter_mut().enumerate() {
        let (points, score) = revealed(&mut p.client, p.name, 1).await;
        if i == 0 {
            assert_eq!(
                i64::from(points),
                ann_q1,
                "ann's points as scored before the crash"
            );
        }
        p.total += i64::from(points);
        assert_eq!(score, p.total, "{} after question 1", p.name);
    }
    play_question(&mut players, 2).await;
    for p in players.iter_mut() {
        let you = wait_msg(&mut p.client, "finished", |m| match m {
            ServerMsg::Finished { you, .. } => you.clone(),
            _ => None,
        })
        .await;
        assert_eq!((you.nickname.as_str(), you.score), (p.name, p.total));
        let closed = wait_for(&mut p.client, "close", |e| match e {
            LiveEvent::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(closed, Some(close::SESSION_FINISHED));
    }
    (
        players.iter().map(|p| p.total).collect(),
        crashed,
        reconnected_at,
    )
}

/// The stored final standings' scores equal `totals` (as multisets).
async fn assert_stored(base_url: &str, session_id: i64, totals: &[i64]) {
    let stored = Client::new(base_url)
        .unwrap()
        .login("host", "host-password")
        .await
        .expect("login")
        .live_standings(session_id)
        .await
        .expect("standings");
    let mut scores: Vec<i64> = stored.iter().map(|st| st.score).collect();
    scores.sort_unstable();
    let mut want = totals.to_vec();
    want.sort_unstable();
    assert_eq!(scores, want, "stored final standings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_the_crash_of_its_gateway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut config, admin_url, db_name) = mysql_config(dir.path()).await;
    config.live_owner_lease = Duration::from_millis(LEASE_MS);
    // B runs in this process (and applies the migrations); A is a separate process.
    let b = spawn(config.clone()).await.expect("spawn gateway B");
    let dir_a = tempfile::tempdir().expect("tempdir");
    let mut a = GatewayProcess::with_stack(&config, dir_a.path()).await;
    // cy reaches A directly through a "load balancer" that moves to B when A dies.
    let balancer = Proxy::start(&a.base_url).await;
    let host_api = register_host(&a.base_url).await;
    // Question 1 stays open long enough for the crash, the lease expiry and the takeover.
    let quiz_id = make_quiz_with(&host_api, &[5_000, 60_000, 5_000]).await;
    let s = host_session(&host_api, quiz_id, 50).await; // created on A

    // The host, ann and bob are bridged from B to A; cy is on A itself. When A dies, B
    // notices the expired lease, sends its clients to reconnect and takes the session
    // over; cy's socket dies with A and comes back through the balancer.
    let (totals, (), _) = game_across_a_crash(
        &s.code,
        &s.host_token,
        &b.base_url,
        [&b.base_url, &b.base_url, &balancer.base_url],
        async {
            a.crash();
            balancer.retarget(&b.base_url);
        },
    )
    .await;
    assert_stored(&b.base_url, s.session_id, &totals).await;
    assert_eq!(
        b.state
            .live
            .store()
            .answer_count(s.session_id)
            .await
            .unwrap(),
        9,
        "every answer recorded once"
    );

    b.state.db.close().await;
    b.stop().await;
    drop(a);
    drop_database(&admin_url, &db_name).await;
}

/// Owner leases in the hand-over test: far longer than anything the test waits for (10 s at
/// most per event), so a session that reaches the other gateway in time cannot have waited
/// for its lease to expire.
const HAND_OVER_LEASE_MS: u64 = 30_000;

/// Answers stored for a session, read from the primary.
async fn answers_stored(database_url: &str, session_id: i64) -> i64 {
    use sqlx::Connection as _;
    let mut c = sqlx::MySqlConnection::connect(database_url)
        .await
        .expect("connect to the primary");
    sqlx::query_scalar("SELECT COUNT(*) FROM live_answers WHERE session_id = ?")
        .bind(session_id)
        .fetch_one(&mut c)
        .await
        .expect("count answers")
}

/// A counter's value on a gateway's `/metrics` (0 when it was never incremented).
async fn counter(base_url: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base_url}/metrics"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// Two gateway processes; the session's owner A is stopped with SIGTERM in the middle of a
/// question. A hands the session over (stores what it accepted, writes the checkpoint,
/// releases its lease, then tells every client, bridged ones included, to reconnect now) and
/// exits cleanly; gateway B takes the session over as soon as the first client reconnects:
/// the game goes on with the same players, scores, question and deadline (the checks of the
/// crash test), long before A's lease could have expired. Prints the hand-over time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_stopped_with_sigterm_hands_its_sessions_over_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, admin_url, db_name) = mysql_config(dir.path()).await;
    let lease = HAND_OVER_LEASE_MS.to_string();
    let dir_a = tempfile::tempdir().expect("tempdir");
    let mut a = GatewayProcess::with_stack_and(
        &config,
        dir_a.path(),
        &[
            ("LIVE_OWNER_LEASE_MS", &lease),
            ("MIGRATE_ON_START", "true"),
        ],
    )
    .await;
    let dir_b = tempfile::tempdir().expect("tempdir");
    let b =
        GatewayProcess::with_stack_and(&config, dir_b.path(), &[("LIVE_OWNER_LEASE_MS", &lease)])
            .await;
    // cy reaches A through a "load balancer" that uses B whenever A refuses a connection (A
    // closes its listener first thing when it stops).
    let balancer = Proxy::with_fallback(&a.base_url, &b.base_url).await;
    let host_api = register_host(&a.base_url).await;
    // Question 1 stays open (60 s) across the stop.
    let quiz_id = make_quiz_with(&host_api, &[5_000, 60_000, 5_000]).await;
    let s = host_session(&host_api, quiz_id, 50).await; // created on A

    let (totals, stopped_at, reconnected_at) = game_across_a_crash(
        &s.code,
        &s.host_token,
        &b.base_url,
        [&b.base_url, &b.base_url, &balancer.base_url],
        async {
            let stopped_at = Instant::now();
            a.terminate();
            stopped_at
        },
    )
    .await;
    let hand_over = reconnected_at - stopped_at;
    println!(
        "hand-over: every client welcomed back by the new owner {} ms after SIGTERM",
        hand_over.as_millis()
    );
    assert!(
        hand_over < Duration::from_millis(HAND_OVER_LEASE_MS),
        "the session moved before A's lease could have expired ({hand_over:?})"
    );
    let status = a.exited().await;
    assert!(status.success(), "A exits cleanly after SIGTERM: {status}");
    assert_eq!(
        counter(&b.base_url, "live_sessions_taken_over_total").await,
        1,
        "B runs the session now"
    );
    assert_stored(&b.base_url, s.session_id, &totals).await;
    assert_eq!(
        answers_stored(config.database_url.as_deref().unwrap(), s.session_id).await,
        9,
        "every answer recorded once"
    );
    drop(b);
    drop_database(&admin_url, &db_name).await;
}

/// The embedded default (one gateway, SQLite, no Redis): the gateway process is killed in the
/// middle of a question and started again on the same data directory; the session comes back
/// from its checkpoint in the database when the clients reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_gateway_resumes_its_sessions_after_a_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut first = GatewayProcess::start(data.path(), &[]).await;
    // Clients reach the gateway through a proxy that follows it to its new port.
    let front = Proxy::start(&first.base_url).await;
    let host_api = register_host(&front.base_url).await;
    let quiz_id = make_quiz_with(&host_api, &[5_000, 60_000, 5_000]).await;
    let s = host_session(&host_api, quiz_id, 50).await;
    let url = front.base_url.clone();
    let (totals, second, _) =
        game_across_a_crash(&s.code, &s.host_token, &url, [&url, &url, &url], async {
            first.crash();
            let second = GatewayProcess::start(data.path(), &[]).await;
            front.retarget(&second.base_url);
            front.cut(); // sockets of the dead process, if any are still open
            second
        })
        .await;
    assert_stored(&front.base_url, s.session_id, &totals).await;
    drop(second);
}

/// One gateway on MySQL without Redis Cluster (checkpoints in the database, as on SQLite):
/// the process is killed in the middle of a question and started again; the session comes
/// back from its checkpoint rows when the clients reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_gateway_on_mysql_resumes_its_sessions_after_a_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let (config, admin_url, db_name) = mysql_config(data.path()).await;
    let primary = config.database_url.clone().expect("primary url");
    let replica = config.database_replica_url.clone().expect("replica url");
    let env = [
        ("DATABASE_URL", primary.as_str()),
        ("DATABASE_REPLICA_URL", replica.as_str()),
        ("MIGRATE_ON_START", "true"),
        ("DB_MAX_CONNECTIONS", "4"),
    ];
    let mut first = GatewayProcess::start(data.path(), &env).await;
    let front = Proxy::start(&first.base_url).await;
    let host_api = register_host(&front.base_url).await;
    let quiz_id = make_quiz_with(&host_api, &[5_000, 60_000, 5_000]).await;
    let s = host_session(&host_api, quiz_id, 50).await;
    let url = front.base_url.clone();
    let (totals, second, _) =
        game_across_a_crash(&s.code, &s.host_token, &url, [&url, &url, &url], async {
            first.crash();
            let second = GatewayProcess::start(data.path(), &env).await;
            front.retarget(&second.base_url);
            front.cut();
            second
        })
        .await;
    assert_stored(&front.base_url, s.session_id, &totals).await;
    drop(second);
    drop_database(&admin_url, &db_name).await;
}

/// One gateway in cluster mode with a short lease, a session in its lobby with player ann,
/// and a Redis connection to play with the owner key.
struct LeaseFixture {
    _dir: tempfile::TempDir,
    admin_url: String,
    db_name: String,
    a: gateway::testing::TestServer,
    s: livequiz_sdk::live::CreatedSession,
    ann: LiveClient,
    r: redis::cluster_async::ClusterConnection,
    owner_key: String,
}

impl LeaseFixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut config, admin_url, db_name) = mysql_config(dir.path()).await;
        config.live_owner_lease = Duration::from_millis(LEASE_MS);
        let nodes = config.redis_urls();
        let a = spawn(config).await.expect("spawn gateway");
        let host_api = register_host(&a.base_url).await;
        let quiz_id = make_quiz_with(&host_api, &[60_000]).await;
        let s = host_session(&host_api, quiz_id, 50).await;
        let ann = connect_to(&a.base_url, &s.code, Credentials::Guest("ann".into())).await;
        let r = redis::cluster::ClusterClient::new(nodes)
            .expect("redis client")
            .get_async_connection()
            .await
            .expect("connect to Redis Cluster");
        let owner_key = format!("live:{{{}}}:owner", s.code);
        LeaseFixture {
            _dir: dir,
            admin_url,
            db_name,
            a,
            s,
            ann,
            r,
            owner_key,
        }
    }

    async fn finish(self) {
        self.ann.close();
        self.a.state.db.close().await;
        self.a.stop().await;
        drop_database(&self.admin_url, &self.db_name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_that_nobody_took_is_claimed_again() {
    let mut f = LeaseFixture::new().await;
    // The lease lapses (as when the owner's renewal is late on a saturated machine) and
    // nobody else claims it: the owner takes it again and keeps running the session.
    let owner: String = redis::AsyncCommands::get(&mut f.r, &f.owner_key)
        .await
        .expect("read the owner");
    let _: () = redis::AsyncCommands::del(&mut f.r, &f.owner_key)
        .await
        .expect("let the lease lapse");
    let claimed = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now: Option<String> = redis::AsyncCommands::get(&mut f.r, &f.owner_key)
            .await
            .expect("read the owner");
        if now.as_deref() == Some(owner.as_str()) {
            break;
        }
        assert!(now.is_none(), "nobody else may claim it: {now:?}");
        assert!(
            tokio::time::Instant::now() < claimed,
            "the owner must claim its lapsed lease again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(f.a.state.live.running(), 1, "the session keeps running");
    // Ann's connection was never touched: the host starts and she gets the question.
    let host = connect_to(
        &f.a.base_url,
        &f.s.code,
        Credentials::Host(f.s.host_token.clone()),
    )
    .await;
    host.send(ClientMsg::Start).expect("start");
    wait_for(&mut f.ann, "ann gets the question", |e| match e {
        LiveEvent::Message(ServerMsg::Question(q)) => Some(q.index),
        LiveEvent::Disconnected => panic!("ann must stay connected"),
        LiveEvent::Closed { code, reason } => panic!("ann closed: {code:?} {reason}"),
        _ => None,
    })
    .await;
    host.close();
    f.finish().await;
}

/// A gateway that loses its lease (here: the owner key is overwritten, as when the gateway
/// stalled longer than the lease and another one took over) stops running the session and
/// sends its clients away; they keep retrying while the key names a gateway that is not
/// there, and once the session has no owner, a gateway takes it over from the checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_loses_its_lease_abdicates() {
    let mut f = LeaseFixture::new().await;
    let ann_id = f.ann.welcome().player_id;
    let _: () = redis::AsyncCommands::set(&mut f.r, &f.owner_key, "a-gateway-that-is-not-there")
        .await
        .expect("overwrite the owner");
    wait_for(&mut f.ann, "ann sent away", |e| match e {
        LiveEvent::Disconnected => Some(()),
        LiveEvent::Closed { code, reason } => panic!("ann closed: {code:?} {reason}"),
        _ => None,
    })
    .await;
    let stopped = tokio::time::Instant::now() + Duration::from_secs(10);
    while f.a.state.live.running() != 0 {
        assert!(
            tokio::time::Instant::now() < stopped,
            "the session must stop on the old owner"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While the key names a missing gateway, rejoins are refused as transient; the client
    // keeps trying. The key goes (as a lease expires); the next try takes the session over.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _: () = redis::AsyncCommands::del(&mut f.r, &f.owner_key)
        .await
        .expect("expire the owner");
    let w = reconnected(&mut f.ann, "ann").await;
    assert_eq!(w.player_id, ann_id, "same player");
    assert_eq!(w.phase, livequiz_sdk::live::Phase::Lobby);
    assert_eq!(
        f.a.state.live.running(),
        1,
        "taken over from the checkpoint"
    );
    f.finish().await;
}
