//! The join-bot flood: a tool fires thousands of joins at one join code. With the default
//! per-address join limit, 5,000 attempts from one address are refused before the
//! WebSocket upgrade after the first burst, while real players from other addresses join
//! and play a quiz to the end with correct scores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::live_abuse::{join, joined, lo, query, quiz, session, user, Refused};
use crate::process::Gateway;

/// Join attempts of the flood.
const ATTEMPTS: u64 = 5_000;
/// Attempts in flight at once.
const IN_FLIGHT: u64 = 50;
/// Real players, each from its own address.
const PLAYERS: u8 = 5;
/// Questions of the quiz.
const QUESTIONS: u32 = 3;

/// How the flood went.
#[derive(Debug, Default)]
struct Tally {
    welcomed: AtomicU64,
    refused_429: AtomicU64,
    refused_other: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_flood_from_one_address_does_not_stop_real_players() {
    // The defaults: 120 join attempts a minute per address, bursts of 60.
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &vec![2_000; QUESTIONS as usize]).await;
    let (code, host_token, id) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "reveal_ms": 300}),
    )
    .await;
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;

    // The flood, from 127.0.0.2.
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut bots = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (tally, next, code, addr) = (tally.clone(), next.clone(), code.clone(), gw.addr);
        bots.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ATTEMPTS {
                    return;
                }
                let q = query(&[("code", &code), ("nickname", &format!("bot{i}"))]);
                match join(addr, lo(2), &q).await {
                    Ok(_) => &tally.welcomed,
                    Err(Refused::Http(r)) if r.status == 429 => &tally.refused_429,
                    Err(_) => &tally.refused_other,
                }
                .fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Real players join while the flood runs.
    while next.load(Ordering::Relaxed) < 500 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut players = Vec::new();
    for p in 0..PLAYERS {
        let nick = format!("player{p}");
        let q = query(&[("code", &code), ("nickname", &nick)]);
        players.push((nick, joined(gw.addr, lo(10 + p), &q).await));
    }
    h.send(json!({"type": "start"})).await;

    // Player p answers question q right when (p + q) is even, else wrong; each tracks the
    // points its reveals announce.
    let games = players
        .into_iter()
        .enumerate()
        .map(|(p, (nick, mut live))| {
            tokio::spawn(async move {
                let mut points = 0i64;
                let mut right = 0;
                loop {
                    let m = live.next().await;
                    let crate::live_abuse::Next::Msg(m) = m else {
                        panic!("{nick}: closed before the end: {m:?}");
                    };
                    match m["type"].as_str() {
                        Some("question") => {
                            let q = m["index"].as_u64().expect("index") as usize;
                            let choice = if (p + q) % 2 == 0 { 1 } else { 0 };
                            live.send(
                                json!({"type": "answer", "question": q, "choices": [choice]}),
                            )
                            .await;
                        }
                        Some("reveal") => {
                            let r = &m["result"];
                            assert_eq!(r["answered"], true, "{nick}: {m}");
                            let q = m["question"].as_u64().expect("question") as usize;
                            assert_eq!(r["correct"], (p + q) % 2 == 0, "{nick}: {m}");
                            if r["correct"] == true {
                                right += 1;
                                assert!(r["points"].as_i64().expect("points") > 0, "{m}");
                            } else {
                                assert_eq!(r["points"], 0, "{m}");
                            }
                            points += r["points"].as_i64().expect("points");
                            assert_eq!(r["score"], points, "{nick}: {m}");
                        }
                        Some("finished") => {
                            assert_eq!(m["you"]["nickname"], nick.as_str());
                            assert_eq!(m["you"]["score"], points, "{nick}: {m}");
                            return (nick, points, right);
                        }
                        _ => {}
                    }
                }
            })
        });
    let mut results = Vec::new();
    for g in games.collect::<Vec<_>>() {
        results.push(g.await.expect("player task"));
    }
    for b in bots {
        b.await.expect("bot task");
    }
    let elapsed = started.elapsed();

    // Every real player played every question; scores are what the rules give.
    for (p, (nick, points, right)) in results.iter().enumerate() {
        let expected_right = (0..QUESTIONS as usize).filter(|q| (p + q) % 2 == 0).count();
        assert_eq!(*right, expected_right, "{nick}");
        assert!(*points > 0, "{nick}");
    }
    let stored = host.client.live_standings(id).await.expect("standings");
    for (nick, points, _) in &results {
        let row = stored
            .iter()
            .find(|s| &s.nickname == nick)
            .unwrap_or_else(|| panic!("{nick} in the stored standings"));
        assert_eq!(row.score, *points, "{nick}");
    }

    // The flood: every attempt answered; past the burst, the address's rate (2 a second)
    // is all that got through, refused before the upgrade.
    let welcomed = tally.welcomed.load(Ordering::Relaxed);
    let refused_429 = tally.refused_429.load(Ordering::Relaxed);
    let other = tally.refused_other.load(Ordering::Relaxed);
    assert_eq!(welcomed + refused_429 + other, ATTEMPTS, "{tally:?}");
    let allowed = 60 + 2 * elapsed.as_secs() + 2;
    assert!(
        welcomed + other <= allowed,
        "{tally:?} in {elapsed:?}: at most {allowed} may pass the limit"
    );
    eprintln!(
        "join flood: {ATTEMPTS} attempts from one address in {:.1} s: {welcomed} welcomed, \
         {refused_429} refused with 429, {other} refused by frame; {PLAYERS} players finished",
        elapsed.as_secs_f64()
    );
}
