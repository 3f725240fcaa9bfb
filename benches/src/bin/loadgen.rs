//! Live-quiz load generator: N simulated players in one session, on one gateway or spread over
//! several (`--url` once per gateway: REST goes to the first, players connect to each in turn).
//! Past one process's open-file limit, a second process adds players to the same session
//! (`--code C --first-player K`; the first one's host waits for `--expect-players` in all).
//!
//! ```text
//! ulimit -n 65535
//! cargo run --release -p gateway &                       # embedded default on 127.0.0.1:8080
//! cargo run --release -p benches --bin loadgen -- --players 10000
//! ```
//!
//! It registers a host, creates a quiz (`--questions`, `--time-limit-ms`) and a live session
//! over REST, connects the host and `--players` guests over WebSocket (the SDK's `LiveClient`,
//! `--connect-parallel` at a time, spread over `--source-ips` loopback addresses is not needed
//! below ~28k sockets), starts the game, and every player answers each question after a random
//! think time in `[0, --think-ms)` (right with probability 0.7). Progress is printed every
//! second. At the end it reports, with HDR histograms (p50/p90/p99/max):
//!
//! - **join**: WebSocket connect + join until the welcome frame;
//! - **answer ack**: answer sent until its `answer_ack` (the ack is sent only after the answer
//!   is durably written to the database), and apart for the answers sent within 0.5 s of their
//!   question arriving (they race the question's fan-out to every player);
//! - **push (end to end)**: answer sent until the player's own `reveal` or `rank` frame first
//!   shows the new score (correct answers only; includes the database write and the wait for
//!   the question's close);
//! - **push latency**: every `rank`/`leaderboard` frame received minus the frame's `pushed_at`
//!   (when the gateway built the push): how long the fan-out of a push to 10,000 sockets takes,
//!   which is what the issue's "p99 push < 250 ms" target measures (same machine, same clock;
//!   ms resolution);
//! - **push age**: the same frames' receipt minus `changed_at` (the oldest change a frame
//!   carries), i.e. push latency plus the wait for the coalescing window (250 ms);
//! - **score change age**: receipt minus `changed_at` of the frame that shows a player a new
//!   score: the `reveal` (it carries the player's score and standing after the question, and
//!   its `changed_at` is when the points were applied; reveals without `changed_at`, from older
//!   gateways, are not counted) or a `rank` frame (a score changed outside a reveal, or a
//!   gateway that does not put the standing in the reveal). Players declare that they read the
//!   standing from the reveal (the SDK's default), so the gateway sends them no `rank` frame
//!   repeating it; with `--old-clients` they do not, and get that frame as clients that
//!   predate the standing in the reveal do. Either way it shows no new score, so each change
//!   counts once;
//! - **rank frames a second a player while joining** (each player's `rank` frames from its join
//!   to the last player's join, over that window: the count moves with every push then) and
//!   the per-second timeline of `rank` frames per connected player;
//! - errors by code, and **lost answers**: answers sent that were neither acknowledged nor
//!   refused, or acknowledged but reported unanswered in the reveal.
//!
//! **Failover runs** (`--player-url U2 --reconnect`): REST and the session's creation go to
//! `--url` (gateway A, which then owns the session) while the host and every player connect to
//! `--player-url` (gateway B, which bridges them to A through Redis Cluster). Kill A while the
//! game runs (`scripts/loadgen-failover` does it mid-question): B closes the bridged sockets,
//! the SDK reconnects with each player's resume token, and once A's lease expires B takes the
//! session over. A player whose answer was unacknowledged when the connection dropped sends it
//! again if the welcome after the resume says the open question has no answer from them
//! (answer-once makes that safe), and a player who missed a question's frame answers the one the
//! welcome shows. Reported in addition: **resume** (connection dropped until resumed),
//! **ack across the outage** (answers sent before the drop, acknowledged after it; kept out of
//! *answer ack*), answers found stored by the welcome (their ack was lost with A), and answers
//! that never got an ack because their question's deadline passed during the outage (the
//! player was never told they counted; reported apart from *lost*, which stays "acknowledged
//! but missing" or "never answered at all").

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use livequiz_sdk::live::{
    ClientMsg, CreateSession, Credentials, LiveClient, LiveEvent, LiveOptions, ServerMsg,
};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizInput, QuizItemInput, RegisterRequest};

#[derive(Debug, Clone)]
struct Args {
    /// REST and session creation go to the first; players connect to them in turn.
    urls: Vec<String>,
    players: usize,
    questions: usize,
    time_limit_ms: u32,
    think_ms: u64,
    reveal_ms: u64,
    connect_parallel: usize,
    /// Where the host and players connect (default `url`).
    player_url: Option<String>,
    /// Players reconnect and resume after a dropped connection.
    reconnect: bool,
    /// Join this existing session (players only: no host, no start): a second process adds
    /// players to a session another one runs, past one process's open-file limit.
    code: Option<String>,
    /// Index of this process's first player (their names are `p<index>`).
    first_player: usize,
    /// Players the host waits for in the session before it starts (all processes'; default
    /// `--players`).
    expect_players: Option<usize>,
    /// Players connect as clients that predate the standing in the reveal: their first frame
    /// does not declare `reads_reveal_standing`, so the push after each reveal sends each of
    /// them the `rank` frame repeating it (the old behaviour, to compare).
    old_clients: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        urls: Vec::new(),
        players: 1000,
        questions: 3,
        time_limit_ms: 10_000,
        think_ms: 4_000,
        reveal_ms: 3_000,
        connect_parallel: 256,
        player_url: None,
        reconnect: false,
        code: None,
        first_player: 0,
        expect_players: None,
        old_clients: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.urls.push(value()?),
            "--players" => a.players = value()?.parse()?,
            "--questions" => a.questions = value()?.parse()?,
            "--time-limit-ms" => a.time_limit_ms = value()?.parse()?,
            "--think-ms" => a.think_ms = value()?.parse()?,
            "--reveal-ms" => a.reveal_ms = value()?.parse()?,
            "--connect-parallel" => a.connect_parallel = value()?.parse()?,
            "--player-url" => a.player_url = Some(value()?),
            "--reconnect" => a.reconnect = true,
            "--code" => a.code = Some(value()?),
            "--first-player" => a.first_player = value()?.parse()?,
            "--expect-players" => a.expect_players = Some(value()?.parse()?),
            "--old-clients" => a.old_clients = true,
            "-h" | "--help" => {
                println!("loadgen [--url U]... [--players N] [--questions Q] [--time-limit-ms T] [--think-ms T] [--reveal-ms T] [--connect-parallel P] [--player-url U2] [--reconnect] [--code C --first-player K] [--expect-players M] [--old-clients]");
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if a.urls.is_empty() {
        a.urls.push("http://127.0.0.1:8080".into());
    }
    if a.think_ms >= u64::from(a.time_limit_ms) {
        bail!("--think-ms must be below --time-limit-ms so every answer can make the deadline");
    }
    Ok(a)
}

impl Args {
    /// Where REST calls go (the first `--url`).
    fn url(&self) -> &str {
        &self.urls[0]
    }

    /// Where WebSocket client `i` connects: `--player-url` if given, else the `--url`s in turn.
    fn ws_url(&self, i: usize) -> &str {
        self.player_url
            .as_deref()
            .unwrap_or(&self.urls[i % self.urls.len()])
    }
}

/// Histogram shards: 10,000 player tasks record tens of thousands of samples a second, so
/// each records into the shard of its index instead of contending on one lock.
struct Sharded(Vec<Mutex<Histogram<u64>>>);

const SHARDS: usize = 16;

impl Sharded {
    fn new() -> Self {
        Sharded((0..SHARDS).map(|_| hist()).collect())
    }
    fn record(&self, i: usize, d: Duration) {
        Stats::record(&self.0[i % SHARDS], d);
    }
    fn merged(&self) -> Mutex<Histogram<u64>> {
        let all = hist();
        {
            let mut h = all.lock().expect("stats");
            for s in &self.0 {
                let _ = h.add(&*s.lock().expect("stats"));
            }
        }
        all
    }
}

/// Answers sent this soon after their question arrived are also reported apart: they race the
/// question's fan-out to every player.
const EARLY: Duration = Duration::from_millis(500);

/// Seconds of per-second frame counts kept.
const TIMELINE: usize = 600;

/// Shared measurements (µs histograms; counters).
struct Stats {
    join: Sharded,
    ack: Sharded,
    ack_early: Sharded,
    push_e2e: Sharded,
    push_latency: Sharded,
    push_age: Sharded,
    /// Age of `rank` frames that show the player a new score (the score change's age).
    score_age: Sharded,
    /// Per player: `rank` frames a second while players were still joining (milli-Hz).
    join_rate: Sharded,
    /// `rank` frames received in each second since the start (see [`TIMELINE`]).
    rank_timeline: Vec<AtomicU64>,
    /// Players connected at the end of each second since the start.
    joined_timeline: Vec<AtomicU64>,
    /// When the run started and when the last player joined (ms since the start; 0 = not yet).
    t0: Instant,
    all_joined_ms: AtomicU64,
    resume: Sharded,
    ack_outage: Sharded,
    disconnects: AtomicU64,
    resumed: AtomicU64,
    resent: AtomicU64,
    found_stored: AtomicU64,
    unacked_outage: AtomicU64,
    leaderboard_frames: AtomicU64,
    rank_frames: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    joined: AtomicU64,
    join_failed: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    lost: AtomicU64,
    finished: AtomicU64,
}

fn hist() -> Mutex<Histogram<u64>> {
    Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"))
}

impl Stats {
    fn record(h: &Mutex<Histogram<u64>>, d: Duration) {
        let us = (d.as_micros() as u64).max(1);
        let _ = h.lock().expect("stats").record(us.min(600_000_000));
    }
    /// A `leaderboard`/`rank` frame arrived now.
    fn push_received(&self, i: usize, changed_at: i64, pushed_at: i64) {
        let now = now_ms();
        let ms = |t: i64| Duration::from_millis((now - t).max(0) as u64);
        self.push_age.record(i, ms(changed_at));
        if pushed_at > 0 {
            self.push_latency.record(i, ms(pushed_at));
        }
    }
    /// A `rank` frame arrived now; `new_score` if it changed the player's score.
    fn rank_received(&self, i: usize, changed_at: i64, new_score: bool) {
        let sec = self.t0.elapsed().as_secs() as usize;
        if let Some(c) = self.rank_timeline.get(sec) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.score_changed(i, changed_at, new_score);
    }
    /// A frame that tells the player their score (`rank` or `reveal`) arrived now; `new_score`
    /// if the score differs from the last one the player saw.
    fn score_changed(&self, i: usize, changed_at: i64, new_score: bool) {
        if new_score {
            let ms = (now_ms() - changed_at).max(0) as u64;
            self.score_age.record(i, Duration::from_millis(ms));
        }
    }
    /// Whether every player has joined (ms since the start, if so).
    fn all_joined(&self) -> Option<u64> {
        Some(self.all_joined_ms.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }
    fn error(&self, what: String) {
        *self.errors.lock().expect("stats").entry(what).or_default() += 1;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn setup(
    a: &Args,
) -> anyhow::Result<(livequiz_sdk::Client, livequiz_sdk::live::CreatedSession)> {
    let anon = livequiz_sdk::Client::new(a.url())?;
    let name = format!("loadhost{:08x}", rand::random::<u32>());
    let password = "load-generator-password".to_string();
    anon.register(&RegisterRequest {
        username: name.clone(),
        password: password.clone(),
    })
    .await
    .context("register host")?;
    let host = anon.login(&name, &password).await.context("login host")?;
    let mut items = Vec::new();
    for i in 0..a.questions {
        let q = host
            .create_question(&QuestionInput {
                text: format!("Load question {i}: which is right?"),
                topic: "load".into(),
                tags: vec![],
                difficulty: 1,
                explanation: "the second".into(),
                choices: (0..4)
                    .map(|c| ChoiceInput { id: None, text: format!("choice {c}"), correct: c == 1 })
                    .collect(),
            })
            .await
            .context("create question (the host must be an author: use a fresh database, whose first user is admin)")?;
        items.push(QuizItemInput {
            question_id: q.id,
            time_limit_ms: a.time_limit_ms,
        });
    }
    let quiz = host
        .create_quiz(&QuizInput {
            title: "load".into(),
            description: String::new(),
            questions: items,
        })
        .await
        .context("create quiz")?;
    let session = host
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            scoring: None,
            reveal_ms: Some(a.reveal_ms),
            top_n: Some(10),
            ..Default::default()
        })
        .await
        .context("create live session")?;
    Ok((host, session))
}

async fn player(
    i: usize,
    a: Arc<Args>,
    code: String,
    stats: Arc<Stats>,
    gate: Arc<tokio::sync::Semaphore>,
) {
    let permit = gate.acquire_owned().await.expect("semaphore");
    let started = Instant::now(); // join time excludes waiting for a connect slot
    let opts = LiveOptions::default()
        .reconnect(a.reconnect)
        .max_attempts(100)
        .reads_reveal_standing(!a.old_clients);
    let creds = Credentials::Guest(format!("p{}", a.first_player + i));
    let mut client = match LiveClient::connect_with(a.ws_url(i), &code, creds, opts).await {
        Ok(c) => c,
        Err(e) => {
            stats.join_failed.fetch_add(1, Ordering::Relaxed);
            stats.error(format!("join: {e}"));
            return;
        }
    };
    drop(permit);
    stats.join.record(i, started.elapsed());
    stats.joined.fetch_add(1, Ordering::Relaxed);
    let joined_at = stats.t0.elapsed();
    let mut join_phase_frames = 0u64;
    let mut join_rate_done = false;
    let mut seen_score: Option<i64> = None;
    let mut score = 0i64;
    let mut sent_at: Option<(u32, Instant)> = None;
    let mut early = false;
    let mut awaiting_push: Option<Instant> = None;
    let mut acked_questions: Vec<u32> = Vec::new();
    // Failover: when the connection dropped, and whether the unacknowledged answer (if any)
    // was in flight across the drop.
    let mut down_since: Option<Instant> = None;
    let mut crossed = false;
    let mut last_choice = 0u32;
    // The next answer to send: (question, choice, when the question arrived), after `think`.
    // A timer in this task, not a spawned task per answer: 10,000 spawns at each question
    // would compete with the acks being measured.
    let mut planned: Option<(u32, u32, Instant)> = None;
    let think = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(think);
    // A player whose join raced the start gets the first question in its welcome rather than
    // as a `question` frame: it answers that one.
    if let Some(q) = client
        .welcome()
        .question
        .as_ref()
        .filter(|_| !client.welcome().answered)
    {
        planned = Some(plan_answer(&a, think.as_mut(), q.index));
    }
    loop {
        let ev = tokio::select! {
            ev = client.next() => ev,
            () = &mut think, if planned.is_some() => {
                let Some((q, choice, shown)) = planned.take() else { continue };
                let now = Instant::now();
                sent_at = Some((q, now));
                crossed = down_since.is_some();
                last_choice = choice;
                early = now.duration_since(shown) < EARLY;
                stats.sent.fetch_add(1, Ordering::Relaxed);
                send_answer(&client, &stats, q, choice);
                continue;
            }
        };
        let Some(ev) = ev else { break };
        let msg = match ev {
            LiveEvent::Message(m) => m,
            LiveEvent::Disconnected => {
                stats.disconnects.fetch_add(1, Ordering::Relaxed);
                down_since.get_or_insert_with(Instant::now);
                crossed |= sent_at.is_some();
                continue;
            }
            LiveEvent::Reconnected(w) => {
                if let Some(t) = down_since.take() {
                    stats.resume.record(i, t.elapsed());
                }
                stats.resumed.fetch_add(1, Ordering::Relaxed);
                let open = w.question.as_ref().map(|q| q.index);
                match sent_at {
                    // Stored before the drop; its ack was lost on the way.
                    Some((q, _)) if open == Some(q) && w.answered => {
                        sent_at = None;
                        acked_questions.push(q);
                        stats.found_stored.fetch_add(1, Ordering::Relaxed);
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                    }
                    // Not stored: send it again (the original send time stays).
                    Some((q, _)) if open == Some(q) => {
                        stats.resent.fetch_add(1, Ordering::Relaxed);
                        send_answer(&client, &stats, q, last_choice);
                    }
                    _ => {}
                }
                // A question whose frame was lost with the old connection.
                if let Some(q) = w.question.filter(|q| {
                    !w.answered
                        && planned.is_none()
                        && sent_at.is_none()
                        && !acked_questions.contains(&q.index)
                }) {
                    planned = Some(plan_answer(&a, think.as_mut(), q.index));
                }
                continue;
            }
            LiveEvent::Closed { code, reason } => {
                if code != Some(livequiz_sdk::live::close::SESSION_FINISHED) {
                    stats.error(format!("closed {code:?} {reason}"));
                }
                break;
            }
            // Connection events a newer SDK may add: nothing to measure.
            _ => continue,
        };
        match msg {
            ServerMsg::Question(q) => planned = Some(plan_answer(&a, think.as_mut(), q.index)),
            ServerMsg::AnswerAck { question, .. } => {
                if let Some((q, at)) = sent_at.take() {
                    if q == question && crossed {
                        stats.ack_outage.record(i, at.elapsed());
                    } else if q == question {
                        stats.ack.record(i, at.elapsed());
                        if early {
                            stats.ack_early.record(i, at.elapsed());
                        }
                        awaiting_push = Some(at);
                    }
                }
                acked_questions.push(question);
                stats.acked.fetch_add(1, Ordering::Relaxed);
            }
            ServerMsg::Rank {
                score: s,
                changed_at,
                pushed_at,
                ..
            } => {
                stats.rank_frames.fetch_add(1, Ordering::Relaxed);
                stats.push_received(i, changed_at, pushed_at);
                stats.rank_received(i, changed_at, seen_score.is_some_and(|old| old != s));
                seen_score = Some(s);
                match stats.all_joined() {
                    None => join_phase_frames += 1,
                    Some(all) if !join_rate_done => {
                        join_rate_done = true;
                        record_join_rate(&stats, i, joined_at, all, join_phase_frames);
                    }
                    Some(_) => {}
                }
                if s > score {
                    if let Some(at) = awaiting_push.take() {
                        stats.push_e2e.record(i, at.elapsed());
                    }
                }
                score = s;
            }
            ServerMsg::Leaderboard {
                changed_at,
                pushed_at,
                ..
            } => {
                stats.leaderboard_frames.fetch_add(1, Ordering::Relaxed);
                stats.push_received(i, changed_at, pushed_at);
            }
            ServerMsg::Reveal {
                question,
                result: Some(r),
                changed_at,
                ..
            } => {
                // The reveal carries the new score (and, from servers that send `changed_at`,
                // the standing), so it is where a score change arrives first.
                if changed_at > 0 {
                    stats.score_changed(
                        i,
                        changed_at,
                        seen_score.is_some_and(|old| old != r.score),
                    );
                    seen_score = Some(r.score);
                }
                if r.score > score {
                    if let Some(at) = awaiting_push.take() {
                        stats.push_e2e.record(i, at.elapsed());
                    }
                }
                score = score.max(r.score);
                awaiting_push = None; // wrong answers never move the score
                if acked_questions.contains(&question) && !r.answered {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                }
                if let Some((q, _)) = sent_at.take() {
                    if q == question && crossed {
                        // The deadline passed while the connection was down: never acked, so
                        // the player was never told it counted.
                        stats.unacked_outage.fetch_add(1, Ordering::Relaxed);
                    } else if q == question {
                        stats.lost.fetch_add(1, Ordering::Relaxed); // sent, never acked or refused
                    }
                }
            }
            ServerMsg::Error { code, .. } => {
                sent_at = None;
                stats.refused.fetch_add(1, Ordering::Relaxed);
                stats.error(format!("error frame {code:?}"));
            }
            ServerMsg::Finished { .. } => {
                stats.finished.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    if let Some(all) = stats.all_joined().filter(|_| !join_rate_done) {
        record_join_rate(&stats, i, joined_at, all, join_phase_frames);
    }
}

/// Records player `i`'s `rank` frames a second between its join and the last player's, if
/// that window is at least a second long (shorter ones say little about a rate).
fn record_join_rate(stats: &Stats, i: usize, joined_at: Duration, all_ms: u64, frames: u64) {
    let window = Duration::from_millis(all_ms).saturating_sub(joined_at);
    if window >= Duration::from_secs(1) {
        let milli_hz = frames * 1_000_000 / window.as_millis() as u64;
        // Stored as "µs" so the histogram helpers apply; printed as Hz.
        stats.join_rate.record(i, Duration::from_micros(milli_hz));
    }
}

/// Plans the answer to `question`: a choice (right with probability 0.7) sent when `think`
/// fires, after a random think time from now. Returns (question, choice, when it was shown).
fn plan_answer(
    a: &Args,
    think: std::pin::Pin<&mut tokio::time::Sleep>,
    question: u32,
) -> (u32, u32, Instant) {
    let ms = rand::random_range(0..a.think_ms.max(1));
    let choice = if rand::random_bool(0.7) { 1 } else { 0 };
    let now = Instant::now();
    think.reset((now + Duration::from_millis(ms)).into());
    (question, choice, now)
}

/// Sends the answer `choice` to `question` (its `req` is the question index).
fn send_answer(client: &LiveClient, stats: &Stats, question: u32, choice: u32) {
    let msg = ClientMsg::Answer {
        question,
        choices: vec![choice],
        req: Some(u64::from(question)),
    };
    if client.send(msg).is_err() {
        stats.error("send failed".into());
    }
}

fn line(name: &str, h: &Mutex<Histogram<u64>>) -> String {
    let h = h.lock().expect("stats");
    if h.is_empty() {
        return format!("{name:<24} (no samples)");
    }
    let ms = |v: u64| v as f64 / 1000.0;
    format!(
        "{name:<24} n={:<7} p50={:>8.1}ms p90={:>8.1}ms p99={:>8.1}ms max={:>8.1}ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Arc::new(parse_args()?);
    // This process's own session and host, unless it joins another one's.
    let (code, mut host) = match &a.code {
        Some(code) => {
            println!("joining session {code} with {} players", a.players);
            (code.clone(), None)
        }
        None => {
            let (_host_client, session) = setup(&a).await?;
            println!(
                "session {} code {} - {} players, {} questions",
                session.session_id, session.code, a.players, a.questions
            );
            let host = LiveClient::connect(
                a.ws_url(0),
                &session.code,
                Credentials::Host(session.host_token.clone()),
            )
            .await?;
            (session.code, Some(host))
        }
    };
    let stats = Arc::new(Stats {
        join: Sharded::new(),
        ack: Sharded::new(),
        ack_early: Sharded::new(),
        push_e2e: Sharded::new(),
        push_latency: Sharded::new(),
        push_age: Sharded::new(),
        score_age: Sharded::new(),
        join_rate: Sharded::new(),
        rank_timeline: (0..TIMELINE).map(|_| AtomicU64::new(0)).collect(),
        joined_timeline: (0..TIMELINE).map(|_| AtomicU64::new(0)).collect(),
        t0: Instant::now(),
        all_joined_ms: AtomicU64::new(0),
        resume: Sharded::new(),
        ack_outage: Sharded::new(),
        disconnects: AtomicU64::new(0),
        resumed: AtomicU64::new(0),
        resent: AtomicU64::new(0),
        found_stored: AtomicU64::new(0),
        unacked_outage: AtomicU64::new(0),
        leaderboard_frames: AtomicU64::new(0),
        rank_frames: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
        joined: AtomicU64::new(0),
        join_failed: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        finished: AtomicU64::new(0),
    });
    let gate = Arc::new(tokio::sync::Semaphore::new(a.connect_parallel.max(1)));
    // The host reads its frames from the start (one roster frame per join: a host that stopped
    // reading would be dropped as too slow) and starts the game once every player of every
    // process is in; then drains its frames (answer counts) until the end.
    let host_task = host.take().map(|mut host| {
        let expect = a.expect_players.unwrap_or(a.players) as u32;
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let t = tokio::spawn(async move {
            let mut started_tx = Some(started_tx);
            let mut seen = 0;
            while let Some(msg) = host.next_message().await {
                if let ServerMsg::Roster { players, .. } = msg {
                    seen = seen.max(players);
                }
                if seen >= expect {
                    if let Some(tx) = started_tx.take() {
                        let _ = host.send(ClientMsg::Start);
                        let _ = tx.send(seen);
                    }
                }
            }
        });
        (t, started_rx)
    });
    let t0 = stats.t0;
    let mut tasks = Vec::with_capacity(a.players);
    for i in 0..a.players {
        tasks.push(tokio::spawn(player(
            i,
            a.clone(),
            code.clone(),
            stats.clone(),
            gate.clone(),
        )));
    }
    let progress = {
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut sec = 0usize;
            loop {
                tokio::time::sleep_until((t0 + Duration::from_secs(sec as u64 + 1)).into()).await;
                if let Some(c) = stats.joined_timeline.get(sec) {
                    c.store(stats.joined.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                sec += 1;
                println!(
                    "[{:>5.1}s] joined {} (failed {}) sent {} acked {} refused {} finished {} dropped {} resumed {}",
                    t0.elapsed().as_secs_f64(),
                    stats.joined.load(Ordering::Relaxed),
                    stats.join_failed.load(Ordering::Relaxed),
                    stats.sent.load(Ordering::Relaxed),
                    stats.acked.load(Ordering::Relaxed),
                    stats.refused.load(Ordering::Relaxed),
                    stats.finished.load(Ordering::Relaxed),
                    stats.disconnects.load(Ordering::Relaxed),
                    stats.resumed.load(Ordering::Relaxed),
                );
            }
        })
    };
    while (stats.joined.load(Ordering::Relaxed) + stats.join_failed.load(Ordering::Relaxed))
        < a.players as u64
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let join_secs = t0.elapsed().as_secs_f64();
    stats
        .all_joined_ms
        .store((t0.elapsed().as_millis() as u64).max(1), Ordering::Relaxed);
    let host_task = match host_task {
        Some((t, started)) => {
            let seen = started
                .await
                .context("the host's connection closed before the start")?;
            println!("all joined in {join_secs:.1}s ({seen} in the session); started");
            Some(t)
        }
        None => {
            println!("all joined in {join_secs:.1}s; waiting for the host to start");
            None
        }
    };
    let game = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    if let Some(t) = host_task {
        let _ = t.await;
    }
    progress.abort();
    println!();
    println!(
        "players {} joined {} join-failed {} in {join_secs:.1}s; game {:.1}s",
        a.players,
        stats.joined.load(Ordering::Relaxed),
        stats.join_failed.load(Ordering::Relaxed),
        game.elapsed().as_secs_f64()
    );
    println!("{}", line("join", &stats.join.merged()));
    println!("{}", line("answer ack", &stats.ack.merged()));
    println!("{}", line("  sent in 1st 0.5 s", &stats.ack_early.merged()));
    println!("{}", line("push latency", &stats.push_latency.merged()));
    println!("{}", line("push age", &stats.push_age.merged()));
    println!("{}", line("push end-to-end", &stats.push_e2e.merged()));
    println!("{}", line("score change age", &stats.score_age.merged()));
    {
        let h = stats.join_rate.merged();
        let h = h.lock().expect("stats");
        let hz = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        if h.is_empty() {
            println!(
                "rank frames/s a player while joining: (no player joined >= 1 s before the last)"
            );
        } else {
            println!(
                "rank frames/s a player while joining: n={} min={:.2} p1={:.2} p10={:.2} p50={:.2} max={:.2}",
                h.len(),
                h.min() as f64 / 1000.0,
                hz(0.01),
                hz(0.1),
                hz(0.5),
                h.max() as f64 / 1000.0
            );
        }
    }
    let timeline: Vec<String> = (0..TIMELINE)
        .map(|s| {
            (
                stats.rank_timeline[s].load(Ordering::Relaxed),
                stats.joined_timeline[s].load(Ordering::Relaxed),
            )
        })
        .take_while(|&(_, j)| j > 0)
        .map(|(f, j)| format!("{:.1}", f as f64 / j as f64))
        .collect();
    println!(
        "rank frames a connected player, per second: {}",
        timeline.join(" ")
    );
    println!(
        "frames received: leaderboard {} rank {}",
        stats.leaderboard_frames.load(Ordering::Relaxed),
        stats.rank_frames.load(Ordering::Relaxed)
    );
    let sent = stats.sent.load(Ordering::Relaxed);
    let acked = stats.acked.load(Ordering::Relaxed);
    println!(
        "answers sent {sent} acked {acked} refused {} lost {} ; finished frames {}",
        stats.refused.load(Ordering::Relaxed),
        stats.lost.load(Ordering::Relaxed),
        stats.finished.load(Ordering::Relaxed)
    );
    if a.reconnect {
        println!("{}", line("resume", &stats.resume.merged()));
        println!(
            "{}",
            line("ack across the outage", &stats.ack_outage.merged())
        );
        println!(
            "failover: dropped {} resumed {} ; answers re-sent {} found stored {} unacked (deadline passed while down) {}",
            stats.disconnects.load(Ordering::Relaxed),
            stats.resumed.load(Ordering::Relaxed),
            stats.resent.load(Ordering::Relaxed),
            stats.found_stored.load(Ordering::Relaxed),
            stats.unacked_outage.load(Ordering::Relaxed),
        );
    }
    for (k, v) in stats.errors.lock().expect("stats").iter() {
        println!("error {k}: {v}");
    }
    Ok(())
}
