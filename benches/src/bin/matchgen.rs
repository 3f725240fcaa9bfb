//! Quick-match load generator: N players cycling queue -> duel -> queue against one gateway.
//!
//! ```text
//! ulimit -n 20000                                       # one socket per player, both sides
//! ARGON2_MEMORY_KIB=1024 ARGON2_ITERATIONS=1 \           # cheap hashing for the sign-ups
//!   REGISTER_PER_IP_PER_MIN=1000000 LOGIN_PER_IP_PER_MIN=1000000 \
//!   LOGIN_PER_USER_PER_MIN=1000000 JOIN_PER_IP_PER_MIN=1000000 MAX_CONNS_PER_IP=0 \
//!   MATCH_QUESTIONS=2 MATCH_TIME_LIMIT_MS=2000 MATCH_REVEAL_MS=200 MATCH_TICK_MS=100 \
//!   cargo run --release -p gateway &                     # embedded default on 127.0.0.1:8080
//! cargo run --release -p benches --bin matchgen -- --players 1000 --secs 80 --warmup 20 \
//!   --parallel 8
//! ```
//!
//! Measured figures and how they were taken: `docs/PERFORMANCE.md`, "Quick match".
//!
//! It registers `--players` accounts (and, on a fresh database, an author who adds questions),
//! then every player loops until `--secs` have passed: queue for a duel (any topic) through the
//! SDK's `MatchClient`, join the match with `LiveClient`, answer every question after a random
//! think time (`--think-ms MIN-MAX`, default `0-300`; e.g. `1000-9000` for people), wait for the
//! end, queue again. It reports, with HDR histograms:
//!
//! - **time to match**: queue request sent until `matched` (client side), p50/p95/p99/max;
//! - **matches per second**: distinct matches players were put in, over the run;
//! - **results lost**: matches played to the end minus results the gateway recorded
//!   (`matchmaking_results_recorded_total` on `/metrics`, read before and after): must be 0;
//! - errors by kind.
//!
//! With `--warmup W`, time to match and the steady matches per second count only the queue
//! requests sent after the first W seconds (the start-up burst, when every player queues at
//! once, is left out); matches formed and results lost still count the whole run.
//!
//! Without `--ramp`, every player queues at the same instant, and since games last about as
//! long, they come back together: a burst of N/2 matches every game length (the worst case, a
//! measure of how many matches per second the gateway opens). With `--ramp R`, player i
//! starts at i/N of R seconds: arrivals spread as in a population whose players come and go
//! (use a ramp near the game length and a warm-up past it for the steady state).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use livequiz_sdk::live::{Credentials, LiveClient, ServerMsg};
use livequiz_sdk::matchmaking::{MatchClient, QueueRequest};
use livequiz_sdk::types::{ChoiceInput, QuestionInput, RegisterRequest};
use livequiz_sdk::Client;

struct Args {
    url: String,
    players: usize,
    secs: u64,
    warmup: u64,
    parallel: usize,
    /// Each answer waits a time drawn from `think.0..think.1` ms.
    think: (u64, u64),
    /// Players start spread evenly over this many seconds (0: all at once).
    ramp: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: "http://127.0.0.1:8080".into(),
        players: 200,
        secs: 60,
        warmup: 0,
        parallel: 4,
        think: (0, 300),
        ramp: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val()?,
            "--players" => a.players = val()?.parse()?,
            "--secs" => a.secs = val()?.parse()?,
            "--warmup" => a.warmup = val()?.parse()?,
            "--ramp" => a.ramp = val()?.parse()?,
            "--parallel" => a.parallel = val()?.parse()?,
            "--think-ms" => {
                let v = val()?;
                let (lo, hi) = v
                    .split_once('-')
                    .with_context(|| format!("--think-ms MIN-MAX (got {v:?})"))?;
                a.think = (lo.trim().parse()?, hi.trim().parse()?);
                anyhow::ensure!(a.think.0 < a.think.1, "--think-ms: MIN must be below MAX");
            }
            other => anyhow::bail!(
                "unknown flag {other}; flags: --url U --players N --secs S --warmup W \
                 --parallel P --think-ms MIN-MAX --ramp R"
            ),
        }
    }
    anyhow::ensure!(
        a.url.contains("://127.") || a.url.contains("://localhost"),
        "load is only sent to 127.0.0.0/8 (got {})",
        a.url
    );
    anyhow::ensure!(a.players >= 2, "--players must be at least 2");
    anyhow::ensure!(a.warmup < a.secs, "--warmup must be shorter than --secs");
    anyhow::ensure!(a.ramp < a.secs, "--ramp must be shorter than --secs");
    Ok(a)
}

#[derive(Default)]
struct Stats {
    /// Queue requests sent before this are not measured (the start-up burst).
    measure_from: Option<Instant>,
    time_to_match: Option<Histogram<u64>>,
    matches: HashSet<String>,
    /// Matches whose first player queued after `measure_from`.
    measured: HashSet<String>,
    finished: HashSet<String>,
    errors: BTreeMap<String, u64>,
}

async fn recorded(url: &str) -> anyhow::Result<u64> {
    let text = Client::new(url)?.metrics().await.context("read /metrics")?;
    Ok(text
        .lines()
        .find(|l| l.starts_with("matchmaking_results_recorded_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as u64)
}

async fn seed_questions(url: &str, run: &str) -> anyhow::Result<()> {
    let anon = Client::new(url)?;
    let name = format!("mga{run}");
    anon.register(&RegisterRequest {
        username: name.clone(),
        password: "matchgen-password".into(),
    })
    .await?;
    let author = anon.login(&name, "matchgen-password").await?;
    for i in 0..20 {
        let q = QuestionInput {
            text: format!("matchgen question {i}?"),
            topic: "matchgen".into(),
            tags: vec![],
            difficulty: 3,
            explanation: String::new(),
            choices: vec![
                ChoiceInput {
                    id: None,
                    text: "no".into(),
                    correct: false,
                },
                ChoiceInput {
                    id: None,
                    text: "yes".into(),
                    correct: true,
                },
            ],
        };
        if author.create_question(&q).await.is_err() {
            println!("(not an author: using the questions already in the bank)");
            return Ok(());
        }
    }
    Ok(())
}

async fn player_loop(
    url: String,
    token: String,
    until: Instant,
    think: (u64, u64),
    stats: Arc<Mutex<Stats>>,
) {
    let err = |stats: &Arc<Mutex<Stats>>, kind: String| {
        *stats.lock().unwrap().errors.entry(kind).or_default() += 1;
    };
    while Instant::now() < until {
        let t0 = Instant::now();
        let mut q = match MatchClient::queue(&url, &token, QueueRequest::duel(None)).await {
            Ok(q) => q,
            Err(e) => {
                err(&stats, format!("queue: {e}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        let m = match tokio::time::timeout(left, q.wait()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                err(&stats, format!("wait: {e}"));
                continue;
            }
            Err(_) => {
                let _ = q.leave().await;
                break;
            }
        };
        let waited = t0.elapsed().as_millis() as u64;
        // Out of the queue socket before the match socket opens: one socket per player.
        drop(q);
        {
            let mut s = stats.lock().unwrap();
            if s.measure_from.is_none_or(|from| t0 >= from) {
                if let Some(h) = s.time_to_match.as_mut() {
                    let _ = h.record(waited.max(1));
                }
                s.measured.insert(m.match_id.clone());
            }
            s.matches.insert(m.match_id.clone());
        }
        let mut live =
            match LiveClient::connect(&url, &m.code, Credentials::Account(token.clone())).await {
                Ok(c) => c,
                Err(e) => {
                    err(&stats, format!("join: {e}"));
                    continue;
                }
            };
        loop {
            // A match that never ends (it could not start) does not hold the run forever.
            let next = tokio::time::timeout(Duration::from_secs(60), live.next_message()).await;
            let Ok(next) = next else {
                err(&stats, "match silent for 60 s".into());
                break;
            };
            match next {
                Some(ServerMsg::Question(qv)) => {
                    let wait = rand::random_range(think.0..think.1);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let choice = rand::random_range(0..2u32);
                    let _ = live.answer(qv.index, vec![choice], None);
                }
                Some(ServerMsg::Finished { .. }) => {
                    stats.lock().unwrap().finished.insert(m.match_id.clone());
                    break;
                }
                Some(_) => {}
                None => {
                    err(&stats, "match connection ended".into());
                    break;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let run = format!("{:x}", rand::random::<u32>());
    seed_questions(&args.url, &run).await?;
    println!("registering {} players...", args.players);
    let sem = Arc::new(tokio::sync::Semaphore::new(args.parallel.max(1)));
    let mut regs = Vec::new();
    for i in 0..args.players {
        let (url, sem, run) = (args.url.clone(), sem.clone(), run.clone());
        regs.push(tokio::spawn(async move {
            let _p = sem.acquire().await?;
            let anon = Client::new(&url)?;
            let name = format!("mg{run}p{i}");
            // Password hashing is bounded on the gateway (503 when busy): retry.
            let mut registered = false;
            for _ in 0..60 {
                if !registered {
                    match anon
                        .register(&RegisterRequest {
                            username: name.clone(),
                            password: "matchgen-password".into(),
                        })
                        .await
                    {
                        Ok(_) => registered = true,
                        Err(e) if e.to_string().contains("503") => {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                match anon.login(&name, "matchgen-password").await {
                    Ok(c) => return anyhow::Ok(c.token().unwrap_or_default().to_string()),
                    Err(e) if e.to_string().contains("503") => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            anyhow::bail!("{name}: the gateway stayed busy")
        }));
    }
    let mut tokens = Vec::new();
    for r in regs {
        tokens.push(r.await??);
    }
    let before = recorded(&args.url).await?;
    let start = Instant::now();
    let stats = Arc::new(Mutex::new(Stats {
        measure_from: Some(start + Duration::from_secs(args.warmup)),
        time_to_match: Some(Histogram::new(3)?),
        ..Stats::default()
    }));
    let until = start + Duration::from_secs(args.secs);
    println!("{} players cycling for {} s...", tokens.len(), args.secs);
    let mut tasks = Vec::new();
    let n = tokens.len().max(1) as f64;
    for (i, t) in tokens.into_iter().enumerate() {
        // With a ramp, player i starts at i/n of it: arrivals spread as in a real population,
        // instead of one burst that echoes every game length.
        let delay = Duration::from_secs_f64(args.ramp as f64 * i as f64 / n);
        let (url, think, stats) = (args.url.clone(), args.think, stats.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            player_loop(url, t, until, think, stats).await
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Let the authority record the last matches (it sweeps every tick, up to 100 a turn, so a
    // backlog of the last waves takes a while): up to 60 s.
    let finished = stats.lock().unwrap().finished.len() as u64;
    let mut after = recorded(&args.url).await?;
    for _ in 0..300 {
        if after - before >= finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = recorded(&args.url).await?;
    }
    let s = stats.lock().unwrap();
    let h = s.time_to_match.as_ref().expect("histogram");
    println!("players                 {}", args.players);
    println!("run                     {elapsed:.1} s");
    println!(
        "time to match (ms)      p50 {}  p95 {}  p99 {}  max {}  (n = {})",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.95),
        h.value_at_quantile(0.99),
        h.max(),
        h.len()
    );
    println!(
        "matches                 {} formed ({:.1}/s), {} played to the end",
        s.matches.len(),
        s.matches.len() as f64 / elapsed,
        finished
    );
    if args.warmup > 0 {
        let steady = (elapsed - args.warmup as f64).max(1.0);
        println!(
            "after the warm-up       {} s: {} matches ({:.1}/s); time to match above is of \
             this part only",
            args.warmup,
            s.measured.len(),
            s.measured.len() as f64 / steady
        );
    }
    println!(
        "results recorded        {} (lost: {})",
        after - before,
        finished.saturating_sub(after - before)
    );
    for (k, v) in &s.errors {
        println!("error                   {v} x {k}");
    }
    Ok(())
}
