//! The actor with a session, a store in a temporary SQLite database and
//! connections as queues: what it does when it is late.

use std::sync::Arc;
use std::time::Duration;

use sdk::live::{ClientMsg, ScoringRules, ServerMsg};

use super::*;
use crate::config::LiveTuningConfig;
use crate::live::checkpoint::{CheckpointFuture, CheckpointStore, Saved, Write};
use crate::live::conn::{CONN_QUEUE, HOST_QUEUE};
use crate::live::engine::{LiveQuestion, LiveQuiz, SessionMeta};

/// Checkpoints accepted and forgotten.
struct NoCheckpoints;

impl CheckpointStore for NoCheckpoints {
    fn exists<'a>(&'a self, _: &'a str) -> CheckpointFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    fn create<'a>(&'a self, _: &'a SessionMeta) -> CheckpointFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn load<'a>(&'a self, _: &'a str) -> CheckpointFuture<'a, Option<Saved>> {
        Box::pin(async { Ok(None) })
    }
    fn write<'a>(&'a self, _: &'a str, _: &'a [Write]) -> CheckpointFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// One question of `limit_ms` (choice 1 is right), a long reveal.
fn quiz(limit_ms: u32) -> Arc<LiveQuiz> {
    Arc::new(LiveQuiz {
        quiz_id: 1,
        questions: vec![LiveQuestion {
            question_id: 10,
            text: "late?".into(),
            choices: vec!["no".into(), "yes".into()],
            correct: vec![1],
            time_limit_ms: limit_ms,
        }],
        rules: ScoringRules::default(),
        reveal_ms: 60_000,
        top_n: 5,
        hide_text_on_devices: false,
    })
}

/// A running actor over a session of `quiz`, its answers stored in a
/// database in the returned directory.
async fn start(quiz: Arc<LiveQuiz>) -> (SessionHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::db::Db::connect(&crate::config::Config::for_tests(dir.path()))
        .await
        .expect("sqlite");
    db.migrate().await.expect("migrate");
    let store = LiveStore::new(&db);
    let tuning = Arc::new(LiveTuningConfig::default());
    let deps = ActorDeps {
        writer: AnswerWriter::spawn(store.clone(), tuning.answer_batch_max, tuning.answer_flush),
        store,
        tuning: tuning.clone(),
        mirror: None,
        clock: Clock::start(),
    };
    let session = Session::new(
        1,
        "123456".into(),
        quiz,
        deps.clock.now(),
        1_000_000,
        [7; 32],
    );
    let (tx, rx) = mpsc::channel(CMD_QUEUE);
    let cp = Checkpointer::spawn(
        Arc::new(NoCheckpoints),
        "123456".into(),
        tuning.checkpoint_batch,
        tuning.checkpoint_attempts,
    );
    tokio::spawn(run(session, deps, rx, cp, || {}));
    let handle = SessionHandle {
        id: 1,
        host_token: "host".into(),
        tx,
    };
    (handle, dir)
}

/// The next frame on a connection's queue.
async fn next(rx: &mut mpsc::Receiver<Out>) -> ServerMsg {
    let out = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a frame within 10 s")
        .expect("the connection is open");
    match out {
        Out::Frame(f) => serde_json::from_str(f.as_str()).expect("a server frame"),
        Out::Close(code, _) => panic!("closed with {code}"),
    }
}

/// Frames until one `f` picks.
async fn until<T>(rx: &mut mpsc::Receiver<Out>, mut f: impl FnMut(ServerMsg) -> Option<T>) -> T {
    loop {
        if let Some(t) = f(next(rx).await) {
            return t;
        }
    }
}

/// `players` answer in time, but the actor only gets to their answers well
/// after the deadline (its thread is blocked: on a busy machine, behind a
/// slow turn). Every answer is judged by when it was received: accepted,
/// acknowledged, scored at the reveal. `filler` other messages are queued
/// before the answers: with more than one actor turn takes ([`CMD_BATCH`]),
/// the deadline must wait for all of them, not just the first batch.
async fn late_actor_accepts_answers_received_in_time(players: usize, filler: usize) {
    let limit = Duration::from_millis(1_500);
    let (session, _db) = start(quiz(limit.as_millis() as u32)).await;
    let (host, mut host_rx) = ConnTx::new(0, HOST_QUEUE);
    let role = Role::Host {
        host_token: "host".into(),
    };
    session.attach(role, host).await.unwrap();
    let mut conns = Vec::new();
    for i in 0..players {
        let (conn, rx) = ConnTx::new(i as u64 + 1, CONN_QUEUE);
        let role = Role::Join {
            nickname: format!("p{i}"),
            account_id: None,
            pattern: None,
        };
        let id = session.attach(role, conn).await.unwrap().unwrap();
        conns.push((id, rx));
    }
    session
        .send(None, ClientMsg::Start, tokio::time::Instant::now())
        .await;
    for (_, rx) in &mut conns {
        until(rx, |m| matches!(m, ServerMsg::Question(_)).then_some(())).await;
    }
    // Every answer arrives (is stamped and queued) right away...
    for _ in 0..filler {
        let ping = Cmd::Msg {
            player: Some(conns[0].0),
            msg: ClientMsg::Ping,
            received: tokio::time::Instant::now(),
        };
        session.tx.try_send(ping).expect("room in the queue");
    }
    for (i, (id, _)) in conns.iter().enumerate() {
        let answer = ClientMsg::Answer {
            question: 0,
            choices: vec![1],
            req: Some(i as u64),
        };
        let cmd = Cmd::Msg {
            player: Some(*id),
            msg: answer,
            received: tokio::time::Instant::now(),
        };
        session.tx.try_send(cmd).expect("room in the queue");
    }
    // ... and the actor gets to them only after the deadline: this test's
    // thread is the runtime's only one, and it sleeps through the deadline.
    std::thread::sleep(limit + Duration::from_millis(300));
    for (id, rx) in &mut conns {
        let ack = until(rx, |m| match m {
            ServerMsg::AnswerAck { req, .. } => Some(Ok(req)),
            ServerMsg::Error { code, .. } => Some(Err(code)),
            _ => None,
        })
        .await;
        assert!(ack.is_ok(), "player {id}: {ack:?}");
        let result = until(rx, |m| match m {
            ServerMsg::Reveal { result, .. } => result,
            _ => None,
        })
        .await;
        assert!(result.answered && result.correct, "player {id}: {result:?}");
        // Full speed points: paid for when it arrived, not when it was handled.
        assert_eq!(result.points, 1_000, "player {id}: {result:?}");
    }
    let counts = until(&mut host_rx, |m| match m {
        ServerMsg::Reveal { counts, .. } => Some(counts),
        _ => None,
    })
    .await;
    assert_eq!(counts, vec![0, players as u32]);
}

#[tokio::test]
async fn a_late_actor_accepts_an_answer_received_in_time() {
    late_actor_accepts_answers_received_in_time(1, 0).await;
}

#[tokio::test]
async fn a_late_actor_takes_every_queued_answer_before_the_deadline_passes() {
    late_actor_accepts_answers_received_in_time(CMD_BATCH + 100, 0).await;
}

#[tokio::test]
async fn a_late_actor_empties_its_queue_before_the_deadline_passes() {
    late_actor_accepts_answers_received_in_time(3, 2 * CMD_BATCH).await;
}
