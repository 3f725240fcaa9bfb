//! The live-quiz score mirror on a real shard-node cluster (3 nodes in this
//! process, QUIC on 127.0.0.1, generated certificates): it holds what the
//! sessions' own boards hold, and a game whose mirror stalls goes on.

use std::path::Path;
use std::time::Duration;

use gateway::live::engine::ranks::Ranks;
use gateway::live::engine::{Ranked, ScoreWrite};
use gateway::live::mirror::{board_id, MirrorTarget, ShardMirror};
use gateway::testing::TestServer;
use livequiz_sdk::live::{
    ClientMsg, CreateSession, CreatedSession, Credentials, LiveClient, LiveEvent,
};
use livequiz_sdk::live::{PlayerResult, ServerMsg};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest};
use shard_node::client::ShardClient;
use shard_node::layout::Layout;
use shard_node::testing::{LocalCluster, ThreadCluster};

/// Held while a test points `SHARD_CERTS_DIR` at its cluster and starts a
/// gateway, which reads it then: the tests of this binary run at once.
static SHARD_ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A gateway whose scores are mirrored to the cluster at `nodes`, reading
/// its certificates from `certs` the way a deployment does.
async fn gateway_on(nodes: &str, certs: &Path, dir: &Path) -> TestServer {
    let mut config = gateway::config::Config::for_tests(dir.join("gw"));
    config.shard_nodes = vec![nodes.to_string()];
    let _env = SHARD_ENV.lock().await;
    std::env::set_var("SHARD_CERTS_DIR", certs);
    gateway::testing::spawn(config)
        .await
        .expect("spawn gateway")
}

fn w(player: u64, delta: i64, key: &str, at: i64) -> ScoreWrite {
    ScoreWrite {
        player,
        delta,
        op_key: key.into(),
        at,
    }
}

/// Every entry of a session's board on the cluster, best first.
async fn mirrored(client: &ShardClient, session: i64) -> Vec<Ranked> {
    let board = board_id(session);
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = match client.page_after(&board, cursor.as_ref(), 1_000).await {
            Ok(page) => page,
            Err(e) if matches!(&e, shard_node::Error::Leaderboard(l) if l.is_not_found()) => {
                return out;
            }
            Err(e) => panic!("reading {board}: {e}"),
        };
        out.extend(page.entries.into_iter().map(|r| Ranked {
            player: r.entry.member.parse().unwrap(),
            rank: r.rank,
            score: r.entry.score,
            at: r.entry.at,
        }));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// The engine's boards of the sessions the script writes to.
#[derive(Default)]
struct Engines(std::collections::HashMap<i64, Ranks>);

impl Engines {
    fn apply(&mut self, session: i64, writes: &[ScoreWrite]) {
        self.0.entry(session).or_default().apply(writes);
    }

    fn all(&self, session: i64) -> Vec<Ranked> {
        self.0.get(&session).map(Ranks::all).unwrap_or_default()
    }
}

/// Runs the same changes through the mirror on the cluster and through the
/// engine's own boards (which apply each change once, as a session does; the
/// mirror also gets retries), and compares the two after each step: joins,
/// answers, retried writes, ties, a removal, a second session, many players,
/// a drop and a reuse of the id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_on_the_cluster_holds_what_the_engine_holds() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(3, Layout::default(), dir.path())
        .await
        .expect("start a 3-node shard cluster");
    let mirror = ShardMirror::new(cluster.client_config().unwrap());
    let client = cluster.client().await.unwrap();
    let mut engine = Engines::default();
    let mut steps: Vec<(&str, Vec<Ranked>)> = Vec::new();
    macro_rules! step {
        ($name:expr, $session:expr) => {{
            let remote = mirrored(&client, $session).await;
            assert_eq!(remote, engine.all($session), "{}", $name);
            steps.push(($name, remote));
        }};
    }
    let joins: Vec<ScoreWrite> = (1..=4)
        .map(|p| w(p, 0, &format!("7:join:{p}"), 1))
        .collect();
    mirror.write(7, &joins).await.unwrap();
    engine.apply(7, &joins);
    step!("joined", 7);
    let q0 = vec![
        w(1, 500, "7:0:1", 2),
        w(2, 500, "7:0:2", 2),
        w(3, 200, "7:0:3", 3),
    ];
    mirror.write(7, &q0).await.unwrap();
    engine.apply(7, &q0);
    // Retries of writes already applied count once, even mixed with a new one.
    mirror
        .write(7, &[w(1, 500, "7:0:1", 2), w(4, 100, "7:0:4", 4)])
        .await
        .unwrap();
    mirror.write(7, &[w(2, 500, "7:0:2", 2)]).await.unwrap();
    engine.apply(7, &[w(4, 100, "7:0:4", 4)]);
    step!("answered", 7);
    let q1 = vec![w(3, 300, "7:1:3", 5), w(1, 0, "7:1:1", 5)];
    mirror.write(7, &q1).await.unwrap();
    engine.apply(7, &q1);
    step!("after q1", 7);
    mirror.remove(7, 2).await.unwrap();
    mirror.remove(7, 42).await.unwrap(); // absent player: harmless
    engine.0.get_mut(&7).unwrap().remove(2);
    step!("removed", 7);
    // Another session is a separate board.
    mirror.write(8, &[w(1, 10, "8:0:1", 1)]).await.unwrap();
    engine.apply(8, &[w(1, 10, "8:0:1", 1)]);
    step!("other session", 8);
    let many: Vec<ScoreWrite> = (100..160)
        .map(|p| w(p, (p % 7) as i64 * 10, &format!("8:0:{p}"), 2))
        .collect();
    mirror.write(8, &many).await.unwrap();
    engine.apply(8, &many);
    step!("many", 8);
    // A dropped session's board is gone; using the id again starts empty.
    mirror.drop_board(7).await.unwrap();
    engine.0.remove(&7);
    step!("dropped", 7);
    mirror.write(7, &[w(9, 1, "7:join:9", 9)]).await.unwrap();
    engine.apply(7, &[w(9, 1, "7:join:9", 9)]);
    step!("reused", 7);
    mirror.drop_board(8).await.unwrap();
    mirror.drop_board(8).await.unwrap(); // twice: harmless

    // And the answers are the ones a game expects.
    let get = |name: &str| {
        steps
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let r = |v: Vec<Ranked>| v.iter().map(|x| (x.rank, x.score)).collect::<Vec<_>>();
    assert_eq!(get("joined").len(), 4);
    assert_eq!(
        r(get("answered")),
        vec![(1, 500), (1, 500), (3, 200), (4, 100)]
    );
    assert_eq!(r(get("removed")), vec![(1, 500), (1, 500), (3, 100)]);
    assert!(get("removed").iter().all(|x| x.player != 2));
    assert_eq!(r(get("other session")), vec![(1, 10)]);
    assert_eq!(get("many").len(), 61);
    assert!(get("dropped").is_empty());
    assert_eq!(
        get("reused")
            .iter()
            .map(|x| (x.player, x.score))
            .collect::<Vec<_>>(),
        vec![(9, 1)]
    );

    cluster.shutdown().await;
}

#[tokio::test]
async fn broken_configuration_fails_operations_with_a_clear_error() {
    let m = ShardMirror::unavailable("SHARD_CERTS_DIR is not set".into());
    let e = m.write(1, &[w(1, 0, "1:join:1", 1)]).await.unwrap_err();
    assert!(e.to_string().contains("SHARD_CERTS_DIR"), "{e}");
}

/// A whole game through a gateway whose `SHARD_NODES` is set: the session's
/// scores are mirrored on the cluster (written behind: the test waits for
/// them), held points stay off it until the reveal, and the game finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_ranks_on_the_cluster_when_shard_nodes_is_set() {
    async fn next_msg<T>(
        c: &mut LiveClient,
        what: &str,
        mut f: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let ev = tokio::time::timeout_at(deadline, c.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .unwrap_or_else(|| panic!("connection ended while waiting for {what}"));
            if let LiveEvent::Message(m) = &ev {
                if let Some(v) = f(m) {
                    return v;
                }
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(3, Layout::default(), &dir.path().join("shards"))
        .await
        .expect("start a 3-node shard cluster");
    let server = gateway_on(&cluster.shard_nodes(), &cluster.certs_dir, dir.path()).await;

    let anon = livequiz_sdk::Client::new(&server.base_url).unwrap();
    anon.register(&RegisterRequest {
        username: "host".into(),
        password: "host-password".into(),
    })
    .await
    .unwrap();
    let host = anon.login("host", "host-password").await.unwrap();
    let q = host
        .create_question(&QuestionInput {
            text: "Sharded?".into(),
            topic: "live".into(),
            tags: vec![],
            difficulty: 1,
            explanation: "because".into(),
            choices: ["no", "yes"]
                .iter()
                .enumerate()
                .map(|(i, t)| ChoiceInput {
                    id: None,
                    text: t.to_string(),
                    correct: i == 1,
                })
                .collect(),
        })
        .await
        .unwrap();
    let quiz = host
        .create_quiz(&QuizInput {
            title: "shard quiz".into(),
            description: String::new(),
            // Long enough that only bob's answer closes it.
            questions: vec![QuizItemInput {
                question_id: q.id,
                time_limit_ms: 60_000,
            }],
        })
        .await
        .unwrap();
    let s = host
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            scoring: None,
            reveal_ms: Some(50),
            top_n: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut h = LiveClient::connect(&server.base_url, &s.code, Credentials::Host(s.host_token))
        .await
        .unwrap();
    let mut ann = LiveClient::connect(&server.base_url, &s.code, Credentials::Guest("ann".into()))
        .await
        .unwrap();
    let mut bob = LiveClient::connect(&server.base_url, &s.code, Credentials::Guest("bob".into()))
        .await
        .unwrap();
    next_msg(&mut h, "bob joined", |m| match m {
        ServerMsg::Roster { nickname, .. } if nickname == "bob" => Some(()),
        _ => None,
    })
    .await;
    // The joins registered both players on the session's board in the cluster.
    let client = cluster.client().await.unwrap();
    let board = board_id(s.session_id);
    eventually("both players on the cluster's board", || async {
        client.count(&board).await.ok() == Some(2)
    })
    .await;
    assert!(client
        .boards()
        .await
        .unwrap()
        .iter()
        .any(|b| b.as_str() == board));

    h.send(ClientMsg::Start).unwrap();
    for p in [&mut ann, &mut bob] {
        next_msg(p, "question", |m| {
            matches!(m, ServerMsg::Question(q) if q.index == 0).then_some(())
        })
        .await;
    }
    ann.answer(0, vec![1], None).unwrap();
    next_msg(&mut ann, "ann's ack", |m| {
        matches!(m, ServerMsg::AnswerAck { .. }).then_some(())
    })
    .await;
    // ann's right answer is durable, but its points are held while the question is open:
    // the cluster's board still has her at 0.
    let ann_id = ann.welcome().player_id.expect("ann's id");
    let held = client
        .entry(&board, &gateway::live::engine::ranks::member(ann_id))
        .await
        .unwrap()
        .expect("ann is on the board");
    assert_eq!(held.entry.score, 0, "points on the board before the reveal");
    // bob's answer closes the question: the points reach the cluster.
    bob.answer(0, vec![0], None).unwrap();
    let top = next_msg(&mut ann, "finished", |m| match m {
        ServerMsg::Finished { top, .. } => Some(top.clone()),
        _ => None,
    })
    .await;
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].nickname, "ann");
    assert!(top[0].score > 0);
    assert_eq!(top[1].score, 0);
    server.stop().await;
    cluster.shutdown().await;
}

/// Polls `check` until it holds (the mirror is written behind the game).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The next message `f` picks, within `within`.
async fn next_msg<T>(
    c: &mut LiveClient,
    what: &str,
    within: Duration,
    mut f: impl FnMut(&ServerMsg) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let ev = tokio::time::timeout_at(deadline, c.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("connection ended while waiting for {what}"));
        if let LiveEvent::Message(m) = &ev {
            if let Some(v) = f(m) {
                return v;
            }
        }
    }
}

/// A session of one question (`time_limit_ms`, choice 1 right) on `server`,
/// hosted by a fresh account; a long reveal keeps it from finishing.
async fn one_question_session(server: &TestServer, time_limit_ms: u32) -> CreatedSession {
    let anon = livequiz_sdk::Client::new(&server.base_url).unwrap();
    anon.register(&RegisterRequest {
        username: "host".into(),
        password: "host-password".into(),
    })
    .await
    .unwrap();
    let host = anon.login("host", "host-password").await.unwrap();
    let q = host
        .create_question(&QuestionInput {
            text: "Does the game wait for the mirror?".into(),
            topic: "live".into(),
            tags: vec![],
            difficulty: 1,
            explanation: "it is written behind".into(),
            choices: ["yes", "no"]
                .iter()
                .enumerate()
                .map(|(i, t)| ChoiceInput {
                    id: None,
                    text: t.to_string(),
                    correct: i == 1,
                })
                .collect(),
        })
        .await
        .unwrap();
    let quiz = host
        .create_quiz(&QuizInput {
            title: "stall quiz".into(),
            description: String::new(),
            questions: vec![QuizItemInput {
                question_id: q.id,
                time_limit_ms,
            }],
        })
        .await
        .unwrap();
    host.create_live_session(&CreateSession {
        quiz_id: quiz.id,
        scoring: None,
        reveal_ms: Some(60_000),
        top_n: Some(5),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The score mirror stalls mid-question: the shard group's leader is killed,
/// and the node that takes over is frozen (for at least 5 s), so one node of
/// three runs and the group cannot commit anything. Meanwhile every player
/// answers, well before the deadline: every answer is accepted and
/// acknowledged, the question is revealed and the new ranks pushed, all
/// while the node is still frozen (it thaws only after). Then the mirror
/// catches up with every player's score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_score_mirror_holds_up_no_answer() {
    const PLAYERS: usize = 20;
    const FREEZE: Duration = Duration::from_secs(5);
    // How long a frame may take on a loaded test machine (a failure, not a
    // measure: nothing here waits for the cluster).
    const WITHIN: Duration = Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = ThreadCluster::start(3, Layout::default(), &dir.path().join("shards"))
        .await
        .expect("start a 3-node shard cluster");
    let server = gateway_on(&cluster.shard_nodes(), &cluster.certs_dir, dir.path()).await;
    let reader = cluster.client().await.unwrap();
    let s = one_question_session(&server, 60_000).await;
    let board = board_id(s.session_id);
    let url = &server.base_url;
    let h = LiveClient::connect(url, &s.code, Credentials::Host(s.host_token.clone()))
        .await
        .unwrap();
    let mut players = Vec::new();
    for i in 0..PLAYERS {
        let p = LiveClient::connect(url, &s.code, Credentials::Guest(format!("p{i}")))
            .await
            .unwrap();
        players.push(p);
    }
    // The mirror works before the fault: every player is on the cluster's board.
    eventually("every player on the cluster's board", || async {
        reader.count(&board).await.ok() == Some(PLAYERS as u64)
    })
    .await;
    h.send(ClientMsg::Start).unwrap();
    for p in &mut players {
        next_msg(p, "the question", WITHIN, |m| {
            matches!(m, ServerMsg::Question(q) if q.index == 0).then_some(())
        })
        .await;
    }

    // The fault: the leader dies, and its successor freezes.
    let group = cluster.layout.group_ids().next().unwrap();
    let first = cluster.leader(group).await.expect("a leader");
    cluster.kill(first).unwrap();
    let second = loop {
        match cluster.leader(group).await {
            Some(l) if l != first => break l,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    cluster.freeze(second).unwrap();
    let frozen_at = tokio::time::Instant::now();

    // Everyone answers (even players right), well before the 60 s deadline.
    for (i, p) in players.iter_mut().enumerate() {
        let choice = if i % 2 == 0 { 1 } else { 0 };
        p.answer(0, vec![choice], Some(i as u64)).unwrap();
    }
    // Every answer is acknowledged, the last one closes the question, and the
    // results and new ranks arrive, while the mirror cannot write anything.
    let mut results: Vec<PlayerResult> = Vec::new();
    for (i, p) in players.iter_mut().enumerate() {
        let ack = next_msg(p, "the answer's ack", WITHIN, |m| match m {
            ServerMsg::AnswerAck { req, .. } => Some(Ok(*req)),
            ServerMsg::Error { code, .. } => Some(Err(*code)),
            _ => None,
        })
        .await;
        assert_eq!(ack, Ok(Some(i as u64)), "player {i}");
        let result = next_msg(p, "the reveal", WITHIN, |m| match m {
            ServerMsg::Reveal { result, .. } => *result,
            _ => None,
        })
        .await;
        assert!(result.answered, "player {i}: {result:?}");
        assert_eq!(result.correct, i % 2 == 0, "player {i}: {result:?}");
        // The new rank comes with the reveal (the SDK says in its hello that it reads it
        // there, so no rank frame repeats it).
        assert!(
            result.rank.is_some() && result.players == Some(PLAYERS as u32),
            "player {i}: {result:?}"
        );
        results.push(result);
    }
    assert!(results.iter().any(|r| r.score > 0));

    // The cluster comes back (after 5 s of freeze at least); the mirror
    // catches up.
    tokio::time::sleep(FREEZE.saturating_sub(frozen_at.elapsed())).await;
    cluster.thaw(second).unwrap();
    let welcome_ids: Vec<u64> = players
        .iter()
        .map(|p| p.welcome().player_id.expect("a player id"))
        .collect();
    let expected: std::collections::HashMap<u64, i64> = welcome_ids
        .iter()
        .zip(&results)
        .map(|(&id, r)| (id, r.score))
        .collect();
    let mut last = Vec::new();
    let caught_up = async {
        loop {
            last = mirrored(&reader, s.session_id).await;
            let got: std::collections::HashMap<u64, i64> =
                last.iter().map(|r| (r.player, r.score)).collect();
            if got == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), caught_up)
        .await
        .is_err()
    {
        panic!("the mirror never caught up: {last:?}, expected {expected:?}");
    }
    server.stop().await;
    cluster.shutdown().await;
}
