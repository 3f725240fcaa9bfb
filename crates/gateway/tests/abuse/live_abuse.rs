//! Live session abuse against a real gateway process: sessions without end (per-user limit,
//! lobby expiry, maximum lifetime), join-code exhaustion, bad settings; the join rules are in
//! `joins`, the raw clients (shared with the join-flood test) in `client`.
//!
//! Frames are read as JSON values and sent as raw text, so what is asserted is the wire
//! protocol of docs/PROTOCOL.md, whatever the Rust types are called.

#[path = "live_abuse/client.rs"]
pub mod client;
#[path = "live_abuse/joins.rs"]
mod joins;

use serde_json::json;

use crate::process::Gateway;
pub use client::*;

/// The per-user limit: the third session is a 429 problem naming the limit, other users
/// are not affected, and ending a session frees a slot. `peer`: where the third try goes
/// (another gateway on the same database in cluster mode).
async fn per_user_limit(gw: &Gateway, peer: &Gateway) {
    let host = user(gw, "host").await;
    let other = user(gw, "other").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let body = json!({"quiz_id": quiz_id});
    let (code, host_token, _) = session(gw, &host.token, body.clone()).await;
    session(gw, &host.token, body.clone()).await;
    let refused = create(peer, &host.token, &body).await;
    refused.assert_problem(429);
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains('2') && detail.contains("LIVE_MAX_SESSIONS_PER_USER"),
        "the refusal names the limit: {detail}"
    );
    // Another account has its own quota (hosting needs its own quiz: the host sees the keys).
    let other_id = other.client.me().await.expect("me").id;
    host.client
        .set_role(other_id, livequiz_sdk::types::Role::Author)
        .await
        .expect("make the other user an author");
    let other_quiz = quiz(&other.client, &[5_000]).await;
    session(peer, &other.token, json!({"quiz_id": other_quiz})).await;
    // The host ends one session: a slot is free again.
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    h.send(json!({"type": "end"})).await;
    h.wait("finished").await;
    session(peer, &host.token, body).await;
}

#[tokio::test]
async fn running_sessions_per_user_are_limited_sqlite() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_SESSIONS_PER_USER", "2")]).await;
    per_user_limit(&gw, &gw).await;
}

#[tokio::test]
async fn running_sessions_per_user_are_limited_across_gateways_mysql() {
    let env = [("LIVE_MAX_SESSIONS_PER_USER", "2")];
    let gw = Gateway::mysql(&env).await;
    let peer = gw.peer(&env).await;
    per_user_limit(&gw, &peer).await;
}

/// A lobby nobody hosts ends by itself: its players get `finished` (reason `lobby_idle`)
/// and close 4000, the record is finished, the code is free and the host's slot too.
#[tokio::test]
async fn an_idle_lobby_expires() {
    let gw = Gateway::sqlite(&[
        ("LIVE_LOBBY_IDLE_SECS", "2"),
        ("LIVE_MAX_SESSIONS_PER_USER", "1"),
    ])
    .await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, id) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let mut ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    let finished = ann.wait("finished").await;
    assert_eq!(finished["reason"], "lobby_idle", "{finished}");
    assert_eq!(ann.closed().await, Some(CLOSE_FINISHED));
    assert_eq!(sqlite_status(&gw, id).await, "finished");
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    assert_eq!(r.frame().0, "unknown_session");
    session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
}

/// A running game ends at the maximum lifetime: the open question is revealed with the
/// answers given, then everyone gets `finished` (reason `max_duration`) and the standings
/// are stored.
#[tokio::test]
async fn a_session_ends_at_its_maximum_lifetime() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_SESSION_SECS", "3")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[60_000, 60_000]).await;
    let (code, host_token, id) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    let mut ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    let _bob = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    h.send(json!({"type": "start"})).await;
    let q = ann.wait("question").await;
    ann.send(json!({"type": "answer", "question": q["index"], "choices": [1]}))
        .await;
    ann.wait("answer_ack").await;
    let reveal = ann.wait("reveal").await;
    let points = reveal["result"]["points"].as_i64().expect("points");
    assert!(points > 0, "{reveal}");
    let finished = ann.wait("finished").await;
    assert_eq!(finished["reason"], "max_duration", "{finished}");
    assert_eq!(finished["you"]["score"], points);
    assert_eq!(ann.closed().await, Some(CLOSE_FINISHED));
    assert_eq!(h.wait("finished").await["reason"], "max_duration");
    assert_eq!(sqlite_status(&gw, id).await, "finished");
    let stored = host.client.live_standings(id).await.expect("standings");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].nickname, "ann");
    assert_eq!(stored[0].score, points);
}

/// With every join code taken, creating a session is a 503 problem, not an endless loop
/// (the code space is shrunk to one digit for the test).
#[tokio::test]
async fn no_free_join_code_is_a_clear_error() {
    let gw = Gateway::sqlite(&[
        ("LIVE_CODE_DIGITS", "1"),
        ("LIVE_MAX_SESSIONS_PER_USER", "20"),
    ])
    .await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let mut codes = std::collections::HashSet::new();
    for _ in 0..10 {
        let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
        assert_eq!(code.len(), 1);
        codes.insert(code);
    }
    assert_eq!(codes.len(), 10);
    let full = tokio::time::timeout(WAIT, create(&gw, &host.token, &json!({"quiz_id": quiz_id})))
        .await
        .expect("creating a session with no free code must answer");
    full.assert_problem(503);
    assert!(
        full.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no free join code"),
        "{full:?}"
    );
}

/// A gateway holds at most `LIVE_MAX_WS_CONNECTIONS` live WebSockets: one more is refused
/// before the upgrade with a 503 problem naming the bound and a `Retry-After`, the REST API
/// still answers, and a socket that closes gives its slot back.
#[tokio::test]
async fn websockets_beyond_the_gateway_bound_are_refused_before_the_upgrade() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_WS_CONNECTIONS", "2")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let _h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    let ann = joined(
        gw.addr,
        lo(2),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    let bob = query(&[("code", &code), ("nickname", "bob")]);
    match refused(gw.addr, lo(3), &bob).await {
        Refused::Http(r) => {
            r.assert_problem(503);
            let detail = r.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("LIVE_MAX_WS_CONNECTIONS") && detail.contains('2'),
                "the refusal names the bound: {detail}"
            );
        }
        other => panic!("expected a 503 before the upgrade, got {other:?}"),
    }
    // The REST API is not affected: the host creates another session.
    session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    // Ann leaves; her slot comes back once her connection has ended.
    drop(ann);
    let deadline = tokio::time::Instant::now() + WAIT;
    let bob = loop {
        match join(gw.addr, lo(3), &bob).await {
            Ok(live) => break live,
            Err(Refused::Http(r)) if r.status == 503 => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "ann's slot never came back: {r:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(other) => panic!("bob refused: {other:?}"),
        }
    };
    assert_eq!(bob.welcome["type"], "welcome");
}

/// Bad live tuning stops the gateway at start with an error naming the variable; so does a
/// WebSocket bound larger than the connection cap (which would be no bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_live_tuning_is_refused_at_start() {
    for (name, value) in [
        ("LIVE_PUSH_INTERVAL_MS", "0"),
        ("LIVE_CONN_QUEUE", "many"),
        ("LIVE_CMD_BATCH", "0"),
        ("LIVE_ANSWER_BATCH_MAX", "0"),
        ("LIVE_CHECKPOINT_TTL_SECS", "60"),
        ("LIVE_MAX_WS_CONNECTIONS", "0"),
        ("LIVE_OWNER_LEASE_MS", "10"),
    ] {
        crate::connections::assert_refused_at_start(name, value, None).await;
    }
    crate::connections::assert_refused_at_start("LIVE_MAX_WS_CONNECTIONS", "100000", Some(1024))
        .await;
}

/// Bad live-session and quick-match settings stop the gateway at start with an error naming
/// the variable.
#[test]
fn bad_live_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, value) in [
        ("LIVE_MAX_SESSIONS_PER_USER", "-1"),
        ("LIVE_LOBBY_IDLE_SECS", "0"),
        ("LIVE_MAX_SESSION_SECS", "90000"),
        ("LIVE_MAX_PLAYERS_PER_SESSION", "0"),
        ("LIVE_CODE_DIGITS", "7"),
        ("LIVE_NICKNAME_BLOCKLIST_FILE", "/nonexistent/words.txt"),
        ("MATCH_GHOST_MAX_GAP", "0"),
        ("MATCH_MAX_WAIT_MS", "soon"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_CLUSTER_NODES")
            .env("BIND", "127.0.0.1:0")
            .env("DATA_DIR", dir.path())
            .env(name, value)
            .output()
            .expect("run the gateway binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} was accepted");
        assert!(stderr.contains(name), "{name}={value}: {stderr}");
    }
}
