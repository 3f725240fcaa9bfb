//! The live-quiz score boards on a real shard-node cluster (3 nodes in this
//! process, QUIC on 127.0.0.1, generated certificates) behave exactly like
//! the in-process boards.

use gateway::live::engine::{BoardRank, ScoreWrite};
use gateway::live::score::{LocalBoards, ScoreBoard, ShardBoards};
use shard_node::layout::Layout;
use shard_node::testing::LocalCluster;

fn w(player: u64, delta: i64, key: &str, at: i64) -> ScoreWrite {
    ScoreWrite {
        player,
        delta,
        op_key: key.into(),
        at,
    }
}

/// Everything a board answered while running one script.
#[derive(Debug, PartialEq)]
struct Trace(Vec<(&'static str, Vec<BoardRank>)>);

/// The same sequence of engine calls on any board: joins, answers, a retried
/// answer, ties, a removal, a second session, a big rank lookup, a drop.
async fn script(b: &dyn ScoreBoard) -> Trace {
    let mut t = Vec::new();
    // Reads of a session nobody wrote to see an empty board.
    t.push(("empty top", b.top(7, 10).await.unwrap()));
    b.apply(
        7,
        (1..=4)
            .map(|p| w(p, 0, &format!("7:join:{p}"), 1))
            .collect(),
    )
    .await
    .unwrap();
    t.push(("joined", b.all(7).await.unwrap()));
    b.apply(
        7,
        vec![
            w(1, 500, "7:0:1", 2),
            w(2, 500, "7:0:2", 2),
            w(3, 200, "7:0:3", 3),
        ],
    )
    .await
    .unwrap();
    // A retry of writes already applied (a driver retry, a replay) counts once,
    // even when mixed with a new write.
    b.apply(7, vec![w(1, 500, "7:0:1", 2), w(4, 100, "7:0:4", 4)])
        .await
        .unwrap();
    b.apply(7, vec![w(2, 500, "7:0:2", 2)]).await.unwrap();
    t.push(("top 3", b.top(7, 3).await.unwrap()));
    t.push(("all", b.all(7).await.unwrap()));
    t.push(("ranks", b.ranks(7, &[3, 1, 99, 4]).await.unwrap()));
    b.apply(7, vec![w(3, 300, "7:1:3", 5), w(1, 0, "7:1:1", 5)])
        .await
        .unwrap();
    t.push(("after q1", b.all(7).await.unwrap()));
    b.remove(7, 2).await.unwrap();
    b.remove(7, 42).await.unwrap(); // absent player: harmless
    t.push(("removed", b.all(7).await.unwrap()));
    // Another session is a separate board.
    b.apply(8, vec![w(1, 10, "8:0:1", 1)]).await.unwrap();
    t.push(("other session", b.all(8).await.unwrap()));
    // Many players: ranks of all of them at once (the shard board reads the
    // whole board instead of one lookup each).
    let many: Vec<u64> = (100..160).collect();
    b.apply(
        8,
        many.iter()
            .map(|&p| w(p, (p % 7) as i64 * 10, &format!("8:0:{p}"), 2))
            .collect(),
    )
    .await
    .unwrap();
    t.push(("many ranks", b.ranks(8, &many).await.unwrap()));
    t.push(("few ranks", b.ranks(8, &many[..5]).await.unwrap()));
    // A dropped session's board is gone; using the id again starts empty.
    b.drop_session(7).await.unwrap();
    t.push(("dropped", b.all(7).await.unwrap()));
    b.apply(7, vec![w(9, 1, "7:join:9", 9)]).await.unwrap();
    t.push(("reused", b.all(7).await.unwrap()));
    b.drop_session(8).await.unwrap();
    b.drop_session(8).await.unwrap(); // twice: harmless
    Trace(t)
}

fn r(player: u64, rank: u64, score: i64) -> BoardRank {
    BoardRank {
        player,
        rank,
        score,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_boards_match_local_boards() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(3, Layout::default(), dir.path())
        .await
        .expect("start a 3-node shard cluster");
    let shard = ShardBoards::new(cluster.client_config().unwrap());
    let remote = script(&shard).await;
    let local = script(&LocalBoards::new()).await;
    assert_eq!(remote, local);

    // And the in-process answers are the ones the engine expects.
    let get = |name: &str| {
        local
            .0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert!(get("empty top").is_empty());
    assert_eq!(get("joined").len(), 4);
    let top: Vec<(u64, i64)> = get("top 3").iter().map(|x| (x.rank, x.score)).collect();
    assert_eq!(top, vec![(1, 500), (1, 500), (3, 200)]);
    assert_eq!(get("ranks"), vec![r(3, 3, 200), r(1, 1, 500), r(4, 4, 100)]);
    let removed: Vec<(u64, i64)> = get("removed").iter().map(|x| (x.rank, x.score)).collect();
    assert_eq!(removed, vec![(1, 500), (1, 500), (3, 100)]);
    assert!(get("removed").iter().all(|x| x.player != 2));
    assert_eq!(get("other session"), vec![r(1, 1, 10)]);
    assert_eq!(get("many ranks").len(), 60);
    assert_eq!(get("few ranks").len(), 5);
    assert!(get("dropped").is_empty());
    assert_eq!(get("reused"), vec![r(9, 1, 1)]);

    cluster.shutdown().await;
}

#[tokio::test]
async fn broken_configuration_fails_operations_with_a_clear_error() {
    let b = ShardBoards::unavailable("SHARD_CERTS_DIR is not set".into());
    let e = b.top(1, 10).await.unwrap_err();
    assert!(e.to_string().contains("SHARD_CERTS_DIR"), "{e}");
}

/// A whole game through a gateway whose `SHARD_NODES` is set: the session's
/// board lives on the cluster and the final standings come from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_ranks_on_the_cluster_when_shard_nodes_is_set() {
    use livequiz_sdk::live::{
        ClientMsg, CreateSession, Credentials, LiveClient, LiveEvent, ServerMsg,
    };
    use livequiz_sdk::types::{
        ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest,
    };

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
    // The gateway reads the certificates the way a deployment does. No other
    // test in this binary reads these variables.
    std::env::set_var("SHARD_CERTS_DIR", &cluster.certs_dir);
    let mut config = gateway::config::Config::for_tests(dir.path().join("gw"));
    config.shard_nodes = vec![cluster.shard_nodes()];
    let server = gateway::testing::spawn(config)
        .await
        .expect("spawn gateway");

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
    let board = gateway::live::score::board_id(s.session_id);
    assert!(client
        .boards()
        .await
        .unwrap()
        .iter()
        .any(|b| b.as_str() == board));
    assert_eq!(client.count(&board).await.unwrap(), 2);

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
        .entry(&board, &gateway::live::score::member(ann_id))
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
