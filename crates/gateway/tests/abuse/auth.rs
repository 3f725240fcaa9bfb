//! Login and registration floods: per-address and per-username limits (429 + Retry-After,
//! checked before any password hashing) and the bound on concurrent password hashing (503 +
//! Retry-After, memory bounded by the number of hashing slots).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use crate::process::{http_from, loopback, rss_kib_of, Gateway};

/// What one request got back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    /// `Retry-After` in seconds, when present and numeric.
    retry_after: Option<u64>,
    /// The problem document's `type`, when the body is one.
    problem: Option<String>,
    content_type: String,
}

async fn post(from: IpAddr, url: String, body: serde_json::Value) -> Answer {
    let resp = http_from(from)
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request reaches the gateway");
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after").and_then(|v| v.parse().ok());
    let content_type = header("content-type").unwrap_or_default();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    Answer {
        status,
        retry_after,
        problem: body["type"].as_str().map(str::to_string),
        content_type,
    }
}

async fn login(gw: &Gateway, from: IpAddr, username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    post(from, format!("{}/v1/auth/login", gw.base_url), body).await
}

async fn register(gw: &Gateway, from: IpAddr, username: &str, password: &str) -> Answer {
    let body = json!({"username": username, "password": password});
    post(from, format!("{}/v1/auth/register", gw.base_url), body).await
}

fn localhost() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// A refusal that passes with time: the given status, problem+json of the given type and a
/// `Retry-After` of at least one second.
fn assert_refused(a: &Answer, status: StatusCode, kind: &str) {
    assert_eq!(a.status, status, "{a:?}");
    assert_eq!(a.content_type, "application/problem+json", "{a:?}");
    assert_eq!(a.problem.as_deref(), Some(kind), "{a:?}");
    assert!(a.retry_after.is_some_and(|s| s >= 1), "{a:?}");
}

/// 100 concurrent logins for unknown users from one address: only about the burst of the
/// per-address limit (30) is looked at, the rest are refused with 429 + Retry-After before
/// any hashing, `/healthz` answers throughout, and other addresses are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_from_one_address_gets_429_and_health_stays_ok() {
    // A queue long enough that the hashing bound does not answer for the limit here.
    let gw = Gateway::sqlite(&[("HASH_QUEUE", "200")]).await;
    let mut flood = JoinSet::new();
    for i in 0..100 {
        let url = format!("{}/v1/auth/login", gw.base_url);
        let body = json!({"username": format!("nobody{i}"), "password": "wrong-password"});
        flood.spawn(post(localhost(), url, body));
    }
    let mut health_checks = 0;
    while !flood.is_empty() && health_checks < 200 {
        assert!(gw.healthy().await, "/healthz failed during the flood");
        health_checks += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answers = flood.join_all().await;
    let looked_at = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(looked_at + limited.len(), 100, "{answers:?}");
    assert!(
        (1..=40).contains(&looked_at),
        "{looked_at} of 100 logins from one address were looked at"
    );
    for a in &limited {
        assert_refused(a, StatusCode::TOO_MANY_REQUESTS, "/problems/rate-limited");
    }
    assert!(gw.healthy().await);
    // The limit is per address: another one is still served.
    let other = login(&gw, loopback(0), "nobody", "wrong-password").await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{other:?}");
}

/// Guessing one account's password from many addresses is limited like from one: the
/// per-username limit (bursts of 5) counts every address, and spellings that differ only in
/// case or surrounding spaces count as the same username. Other usernames are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_username_login_limit_holds_across_addresses() {
    let gw = Gateway::sqlite(&[]).await;
    let created = register(&gw, localhost(), "victim", "right-password").await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let spellings = ["victim", "VICTIM", " victim ", "Victim"];
    let mut answers = Vec::new();
    for i in 0..12u8 {
        let name = spellings[usize::from(i) % spellings.len()];
        answers.push(login(&gw, loopback(i), name, "guess-password").await);
    }
    let looked_at = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        (1..=6).contains(&looked_at),
        "{looked_at} of 12 guesses from 12 addresses were looked at: {answers:?}"
    );
    for a in answers
        .iter()
        .filter(|a| a.status != StatusCode::UNAUTHORIZED)
    {
        assert_refused(a, StatusCode::TOO_MANY_REQUESTS, "/problems/rate-limited");
    }
    // The account is limited for everyone for now, even with the right password...
    let right = login(&gw, loopback(20), "victim", "right-password").await;
    assert_refused(
        &right,
        StatusCode::TOO_MANY_REQUESTS,
        "/problems/rate-limited",
    );
    // ...while other usernames from the same addresses are served.
    let other = login(&gw, loopback(0), "bystander", "guess-password").await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{other:?}");
}

/// Registrations from one address stop after the burst (15) with 429 + Retry-After; a
/// refused registration creates nothing, and other addresses can still register.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_from_one_address_are_limited() {
    let gw = Gateway::sqlite(&[]).await;
    let mut answers = Vec::new();
    for i in 0..25 {
        answers.push(register(&gw, localhost(), &format!("user{i}"), "some-password").await);
    }
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert!(
        (1..=17).contains(&created),
        "{created} of 25 registrations from one address were accepted"
    );
    let refused_name = answers
        .iter()
        .position(|a| a.status != StatusCode::CREATED)
        .map(|i| format!("user{i}"))
        .expect("a refused registration");
    for a in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_refused(a, StatusCode::TOO_MANY_REQUESTS, "/problems/rate-limited");
    }
    // Nothing was created for the refused one: another address can take the name.
    let again = register(&gw, loopback(0), &refused_name, "some-password").await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
}

/// With one hashing slot and a queue of one, 20 simultaneous logins (limits off, from 20
/// addresses) get at most two hashes in progress: the rest are refused at once with 503 +
/// Retry-After, and the process's memory grows by about one argon2 buffer (64 MiB here), not
/// twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturated_password_hashing_answers_503_and_memory_stays_bounded() {
    const ARGON2_MIB: u64 = 64;
    let memory_kib = (ARGON2_MIB * 1024).to_string();
    let gw = Gateway::sqlite(&[
        ("HASH_CONCURRENCY", "1"),
        ("HASH_QUEUE", "1"),
        ("ARGON2_MEMORY_KIB", &memory_kib),
        ("ARGON2_ITERATIONS", "2"),
        ("LOGIN_PER_IP_PER_MIN", "0"),
        ("LOGIN_PER_USER_PER_MIN", "0"),
    ])
    .await;
    let baseline = gw.rss_kib();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (pid, sampling) = (gw.pid(), sampling.clone());
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib_of(pid).unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let mut flood = JoinSet::new();
    for i in 0..20u8 {
        let url = format!("{}/v1/auth/login", gw.base_url);
        let body = json!({"username": format!("nobody{i}"), "password": "wrong-password"});
        flood.spawn(post(loopback(i), url, body));
    }
    let answers = flood.join_all().await;
    sampling.store(false, Ordering::Relaxed);
    let peak = sampler.await.expect("RSS sampler").max(baseline);
    assert_eq!(answers.len(), 20);
    let hashed = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        (1..=10).contains(&hashed),
        "{hashed} of 20 simultaneous logins were hashed with one slot and a queue of one"
    );
    for a in answers
        .iter()
        .filter(|a| a.status != StatusCode::UNAUTHORIZED)
    {
        assert_refused(a, StatusCode::SERVICE_UNAVAILABLE, "/problems/overloaded");
    }
    let grown_mib = peak.saturating_sub(baseline) / 1024;
    assert!(
        grown_mib < 4 * ARGON2_MIB,
        "RSS grew by {grown_mib} MiB during the flood (baseline {} MiB)",
        baseline / 1024
    );
    assert!(gw.healthy().await);
}
