//! The actor with a session, a store in a temporary SQLite database and
//! connections as queues: what it does when it is late, and how it hands
//! its session over when the gateway stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use livequiz_sdk::live::{Capabilities, ClientMsg, ScoringRules, ServerMsg};

use super::*;
use crate::config::LiveTuningConfig;
use crate::live::checkpoint::{CheckpointFuture, CheckpointStore, Saved, Write};
use crate::live::conn::{CONN_QUEUE, HOST_QUEUE};
use crate::live::engine::{LiveQuestion, LiveQuiz, PhaseRecord, SessionMeta};
use crate::live::lifecycle::Lifecycle;

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

/// Checkpoints accepted and remembered as a log of writes.
#[derive(Default)]
struct LogCheckpoints(Mutex<Vec<Write>>);

impl CheckpointStore for LogCheckpoints {
    fn exists<'a>(&'a self, _: &'a str) -> CheckpointFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    fn create<'a>(&'a self, _: &'a SessionMeta) -> CheckpointFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn load<'a>(&'a self, _: &'a str) -> CheckpointFuture<'a, Option<Saved>> {
        Box::pin(async { Ok(None) })
    }
    fn write<'a>(&'a self, _: &'a str, writes: &'a [Write]) -> CheckpointFuture<'a, ()> {
        self.0.lock().unwrap().extend(writes.iter().cloned());
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
    let (store, dir) = database().await;
    let checkpoints = Arc::new(NoCheckpoints);
    let handle = start_with(quiz, store, checkpoints, &Lifecycle::new(), None);
    (handle, dir)
}

/// A live store in a fresh SQLite database in the returned directory.
async fn database() -> (LiveStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::db::Db::connect(&crate::config::Config::for_tests(dir.path()))
        .await
        .expect("sqlite");
    db.migrate().await.expect("migrate");
    (LiveStore::new(&db), dir)
}

/// The database file of [`database`], locked for writing until the
/// returned connection commits: answer flushes wait meanwhile.
async fn lock_database(dir: &tempfile::TempDir) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", dir.path().join("quiz.db").display());
    let mut lock = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock the database");
    lock
}

async fn unlock_database(mut lock: sqlx::SqliteConnection) {
    sqlx::query("COMMIT")
        .execute(&mut lock)
        .await
        .expect("unlock the database");
}

/// A running actor over a session of `quiz` on `store` and `checkpoints`,
/// a task of `life`, holding `lease`.
fn start_with(
    quiz: Arc<LiveQuiz>,
    store: LiveStore,
    checkpoints: Arc<dyn CheckpointStore>,
    life: &Lifecycle,
    lease: Option<Lease>,
) -> SessionHandle {
    let tuning = Arc::new(LiveTuningConfig::default());
    let deps = ActorDeps {
        writer: AnswerWriter::spawn(store.clone(), tuning.answer_batch_max, tuning.answer_flush),
        store,
        tuning: tuning.clone(),
        mirror: None,
        clock: Clock::start(),
        life: life.clone(),
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
    let handle = SessionHandle::new(1, "host".into(), tx);
    let cp = Checkpointer::spawn(
        checkpoints,
        "123456".into(),
        tuning.checkpoint_batch,
        tuning.checkpoint_attempts,
        life,
    );
    let tenure = Tenure {
        lease,
        moved: handle.moved_flag(),
    };
    life.spawn_session(run(session, deps, rx, cp, tenure, || {}));
    handle
}

/// The next thing on a connection's queue: a frame, or a close code.
async fn next_out(rx: &mut mpsc::Receiver<Out>) -> Result<ServerMsg, u16> {
    let out = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a frame within 10 s")
        .expect("the connection is open");
    match out {
        Out::Frame(f) => Ok(serde_json::from_str(f.as_str()).expect("a server frame")),
        Out::Close(code, _) => Err(code),
    }
}

/// The next frame on a connection's queue.
async fn next(rx: &mut mpsc::Receiver<Out>) -> ServerMsg {
    next_out(rx)
        .await
        .unwrap_or_else(|code| panic!("closed with {code}"))
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
            capabilities: Capabilities::default(),
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

/// A host and `players` players attached to `session`, question 0 open.
async fn game_in_question(
    session: &SessionHandle,
    players: usize,
) -> (mpsc::Receiver<Out>, Vec<(u64, mpsc::Receiver<Out>)>) {
    let (host, host_rx) = ConnTx::new(0, HOST_QUEUE);
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
            capabilities: Capabilities::default(),
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
    (host_rx, conns)
}

/// The gateway stops while an accepted answer is still being stored: the
/// actor waits for it, acknowledges it, writes its checkpoint, releases its
/// lease, and only then tells its clients to reconnect now; then it ends,
/// and a connection arriving late is told to try again, not that the
/// session finished.
#[tokio::test]
async fn a_session_handed_over_acknowledges_what_it_accepted_before_it_lets_go() {
    let (store, dir) = database().await;
    let checkpoints = Arc::new(LogCheckpoints::default());
    let life = Lifecycle::new();
    let (lease, mut keeper) = Lease::new();
    let released = Arc::new(AtomicBool::new(false));
    let keeper_task = {
        let released = released.clone();
        tokio::spawn(async move {
            if let Some(done) = keeper.released().await {
                released.store(true, Ordering::SeqCst);
                let _ = done.send(());
            }
        })
    };
    let session = start_with(
        quiz(60_000),
        store.clone(),
        checkpoints.clone(),
        &life,
        Some(lease),
    );
    let (mut host_rx, mut conns) = game_in_question(&session, 2).await;
    let (ann, ann_rx) = &mut conns[0];
    // Queued before the gateway stops, so the actor takes it (before or
    // while it hands over); storing it waits for the database.
    let lock = lock_database(&dir).await;
    session
        .send(
            Some(*ann),
            ClientMsg::Answer {
                question: 0,
                choices: vec![1],
                req: Some(5),
            },
            tokio::time::Instant::now(),
        )
        .await;
    let stopping = tokio::spawn({
        let life = life.clone();
        async move { life.stop(crate::live::lifecycle::STEP_GRACE).await }
    });
    // Stopping, with the answer not stored: nobody is let go.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !released.load(Ordering::SeqCst),
        "the lease waits for the answer"
    );
    assert!(ann_rx.try_recv().is_err(), "ann hears nothing yet");
    unlock_database(lock).await;
    let ack = next(ann_rx).await;
    assert!(
        matches!(ack, ServerMsg::AnswerAck { req: Some(5), .. }),
        "{ack:?}"
    );
    assert_eq!(next_out(ann_rx).await.unwrap_err(), close::RECONNECT_NOW);
    assert!(released.load(Ordering::SeqCst), "released before the close");
    let (_, bob_rx) = &mut conns[1];
    assert_eq!(next_out(bob_rx).await.unwrap_err(), close::RECONNECT_NOW);
    let host_close = loop {
        if let Err(code) = next_out(&mut host_rx).await {
            break code;
        }
    };
    assert_eq!(host_close, close::RECONNECT_NOW);
    assert!(stopping.await.unwrap(), "every task ended in time");
    assert_eq!((life.sessions(), life.running()), (0, 0));
    keeper_task.await.unwrap();
    assert_eq!(store.answer_count(1).await.unwrap(), 1);
    // The checkpoint has both players and the open question.
    let log = checkpoints.0.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|w| matches!(w, Write::Player(_))).count(),
        2
    );
    assert!(matches!(
        log.last(),
        Some(Write::Phase(PhaseCheckpoint {
            phase: PhaseRecord::Question { index: 0, .. },
            ..
        }))
    ));
    let (late, _late_rx) = ConnTx::new(9, CONN_QUEUE);
    let role = Role::Resume {
        token: "whatever".into(),
        capabilities: Capabilities::default(),
    };
    assert_eq!(session.attach(role, late).await, Err(ErrorCode::Internal));
}

/// A session that finishes is not handed over: its standings are stored
/// and its clients told it finished, as ever; stopping then has nothing
/// to wait for.
#[tokio::test]
async fn stopping_after_a_session_finished_waits_for_nothing() {
    let life = Lifecycle::new();
    let (store, _dir) = database().await;
    let session = start_with(quiz(60_000), store, Arc::new(NoCheckpoints), &life, None);
    let (_host_rx, mut conns) = game_in_question(&session, 1).await;
    session
        .send(None, ClientMsg::End, tokio::time::Instant::now())
        .await;
    let (_, rx) = &mut conns[0];
    let code = loop {
        if let Err(code) = next_out(rx).await {
            break code;
        }
    };
    assert_eq!(code, close::SESSION_FINISHED);
    assert!(life.stop(crate::live::lifecycle::STEP_GRACE).await);
    assert_eq!(life.running(), 0);
}

/// Closing the answer writer stores everything submitted before, reports
/// it, and refuses what comes after.
#[tokio::test]
async fn a_closed_writer_has_stored_everything_submitted_before() {
    let (store, dir) = database().await;
    let writer = AnswerWriter::spawn(store.clone(), 100, Duration::from_millis(10));
    let lock = lock_database(&dir).await;
    let (commit_tx, mut commits) = mpsc::unbounded_channel();
    let answer = |player: u64| PendingAnswer {
        session_id: 1,
        question: 0,
        question_id: 10,
        player,
        choices: vec![1],
        correct: true,
        points: 1_000,
        elapsed_ms: 1,
        answered_at: 0,
        req: None,
        accepted: Clock::start().now(),
    };
    for p in 1..=3 {
        assert!(writer.submit(answer(p), commit_tx.clone()));
    }
    let closing = tokio::spawn({
        let writer = writer.clone();
        async move { writer.close().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!closing.is_finished(), "the writer waits for the database");
    unlock_database(lock).await;
    closing.await.unwrap();
    assert_eq!(store.answer_count(1).await.unwrap(), 3);
    let mut reported = 0;
    while let Ok(batch) = commits.try_recv() {
        reported += batch.len();
    }
    assert_eq!(reported, 3, "every stored answer is reported");
    assert!(!writer.submit(answer(4), commit_tx), "closed: refused");
}
