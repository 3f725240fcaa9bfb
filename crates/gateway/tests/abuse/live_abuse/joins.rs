//! Join rules of a live session against a real gateway process: the per-address join limit
//! (enumeration), the player cap, lock, ban, two-step join, generated nicknames, the nickname
//! word filter, and all of them after a crash and takeover.

use serde_json::json;

use super::client::*;
use crate::process::Gateway;

/// Join attempts are limited per client address before the upgrade, unknown codes
/// included (enumeration); other addresses are not affected.
#[tokio::test]
async fn join_attempts_per_address_are_limited() {
    // 6 a minute, bursts of 3.
    let gw = Gateway::sqlite(&[("JOIN_PER_IP_PER_MIN", "6")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    for guess in ["999999x", "99999y", "9999z"] {
        let r = refused(
            gw.addr,
            lo(2),
            &query(&[("code", guess), ("nickname", "enum")]),
        )
        .await;
        assert_eq!(r.frame().0, "unknown_session");
    }
    match refused(
        gw.addr,
        lo(2),
        &query(&[("code", &code), ("nickname", "bot")]),
    )
    .await
    {
        Refused::Http(r) => r.assert_problem(429),
        other => panic!("expected 429 before the upgrade, got {other:?}"),
    }
    joined(
        gw.addr,
        lo(3),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
}

/// `max_players` caps a session (`session_full`, close 4003); it cannot exceed
/// `LIVE_MAX_PLAYERS_PER_SESSION`, which is also the default.
#[tokio::test]
async fn a_session_is_capped_at_max_players() {
    let gw = Gateway::sqlite(&[("LIVE_MAX_PLAYERS_PER_SESSION", "3")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let too_many = create(
        &gw,
        &host.token,
        &json!({"quiz_id": quiz_id, "max_players": 4}),
    )
    .await;
    assert_eq!(too_many.status, 422, "{too_many:?}");
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "max_players": 2}),
    )
    .await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    let _a = joined(gw.addr, lo(1), &q("ann")).await;
    let _b = joined(gw.addr, lo(1), &q("bob")).await;
    let r = refused(gw.addr, lo(1), &q("cy")).await;
    assert_eq!(r.frame(), ("session_full", Some(CLOSE_REFUSED)));
    // The default cap is the operator's maximum.
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    let mut held = Vec::new();
    for n in ["a", "b", "c"] {
        held.push(joined(gw.addr, lo(1), &q(n)).await);
    }
    assert_eq!(
        refused(gw.addr, lo(1), &q("d")).await.frame().0,
        "session_full"
    );
}

/// A locked session refuses new players (`locked`) but lets existing ones resume;
/// unlocking lets new players in again. The host sees the lock state.
#[tokio::test]
async fn a_locked_session_takes_no_new_players() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |k: &str, v: &str| query(&[("code", &code), (k, v)]);
    let mut h = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    let ann = joined(gw.addr, lo(1), &q("nickname", "ann")).await;
    let token = ann.resume_token();
    drop(ann);
    h.send(json!({"type": "lock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], true);
    let r = refused(gw.addr, lo(1), &q("nickname", "bob")).await;
    assert_eq!(r.frame(), ("locked", Some(CLOSE_REFUSED)));
    let back = joined(gw.addr, lo(1), &q("resume", &token)).await;
    assert_eq!(back.welcome["nickname"], "ann");
    // A host that reconnects sees the lock.
    let h2 = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    assert_eq!(h2.welcome["locked"], true);
    h.send(json!({"type": "unlock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], false);
    joined(gw.addr, lo(1), &q("nickname", "bob")).await;
}

/// A banned account cannot rejoin (login token or resume token), a banned guest's resume
/// token is dead; `remove` only kicks (the account may join again).
#[tokio::test]
async fn a_banned_player_stays_out() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let eve = user(&gw, "eve").await;
    let kim = user(&gw, "kim").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    let q = |k: &str, v: &str| query(&[("code", &code), (k, v)]);
    let mut h = joined(gw.addr, lo(1), &q("host_token", &host_token)).await;
    let mut e = joined(gw.addr, lo(1), &q("token", &eve.token)).await;
    let mut m = joined(gw.addr, lo(1), &q("nickname", "mallory")).await;
    let mut k = joined(gw.addr, lo(1), &q("token", &kim.token)).await;
    let (e_token, m_token) = (e.resume_token(), m.resume_token());
    for p in [e.player_id(), m.player_id()] {
        h.send(json!({"type": "ban", "player_id": p})).await;
        loop {
            let r = h.wait("roster").await;
            if r["player_id"] == p && r["event"] == "banned" {
                break;
            }
        }
    }
    assert_eq!(e.closed().await, Some(CLOSE_REMOVED));
    assert_eq!(m.closed().await, Some(CLOSE_REMOVED));
    for (key, value) in [
        ("token", eve.token.as_str()),
        ("resume", &e_token),
        ("resume", &m_token),
    ] {
        let r = refused(gw.addr, lo(1), &q(key, value)).await;
        assert_eq!(r.frame(), ("banned", Some(CLOSE_REFUSED)), "{key}");
    }
    // A kicked account may come back (as a new player).
    h.send(json!({"type": "remove", "player_id": k.player_id()}))
        .await;
    assert_eq!(k.closed().await, Some(CLOSE_REMOVED));
    joined(gw.addr, lo(1), &q("token", &kim.token)).await;
    // A guest is known only by its resume token: under a new nickname it gets in
    // (docs/SECURITY.md: lock, two-step join and the address limits are the answer).
    joined(gw.addr, lo(1), &q("nickname", "mallory2")).await;
}

/// Two-step join: the host gets a pattern; a join without it or with a wrong one is
/// refused (`bad_pattern`), with it welcomed.
#[tokio::test]
async fn two_step_join_needs_the_pattern() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "two_step": true}),
    )
    .await;
    let mut h = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("host_token", &host_token)]),
    )
    .await;
    let frame = h.wait("join_pattern").await;
    let pattern = frame["pattern"].as_str().expect("pattern").to_string();
    assert_eq!(pattern.chars().count(), 4, "{frame}");
    assert!(frame["expires_at"].as_i64().is_some(), "{frame}");
    let wrong: String = pattern
        .chars()
        .map(|c| if c == '1' { '2' } else { '1' })
        .collect();
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann")]),
    )
    .await;
    assert_eq!(r.frame(), ("bad_pattern", Some(CLOSE_REFUSED)));
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann"), ("pattern", &wrong)]),
    )
    .await;
    assert_eq!(r.frame().0, "bad_pattern");
    // The pattern just shown is valid at least until its rotation plus a grace period.
    let ann = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "ann"), ("pattern", &pattern)]),
    )
    .await;
    assert_eq!(ann.welcome["nickname"], "ann");
}

/// Generated nicknames: the server picks a friendly unique name, whatever was asked.
#[tokio::test]
async fn generated_nicknames_replace_requested_ones() {
    let gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "generated_nicknames": true}),
    )
    .await;
    let mut names = std::collections::HashSet::new();
    let mut held = Vec::new();
    for i in 0..30 {
        let asked = format!("Sh1t {i}");
        let p = joined(
            gw.addr,
            lo(1),
            &query(&[("code", &code), ("nickname", &asked)]),
        )
        .await;
        let got = p.welcome["nickname"]
            .as_str()
            .expect("nickname")
            .to_string();
        assert_ne!(got, asked);
        assert!(!got.is_empty() && got.chars().count() <= 32, "{got}");
        assert!(names.insert(got.to_lowercase()), "{got} given twice");
        held.push(p);
    }
}

/// The nickname word filter refuses listed words, in leetspeak and spaced out too, and the
/// operator's extra words; innocent names that contain a short listed word pass.
#[tokio::test]
async fn offensive_nicknames_are_refused_when_filtered() {
    let gw = Gateway::sqlite(&[("LIVE_NICKNAME_BLOCKLIST", "grumpkin, =zorp")]).await;
    let host = user(&gw, "host").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, _, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "nickname_filter": true}),
    )
    .await;
    let q = |n: &str| query(&[("code", &code), ("nickname", n)]);
    for bad in [
        "Sh1t head",
        "F.U.C.K",
        "fuuuck",
        "$h!t",
        "GRUMPKIN99",
        "zorp",
    ] {
        let r = refused(gw.addr, lo(1), &q(bad)).await;
        assert_eq!(r.frame(), ("bad_nickname", Some(CLOSE_REFUSED)), "{bad}");
    }
    let mut held = Vec::new();
    for ok in ["Classic Ann", "zorpy", "Bob"] {
        held.push(joined(gw.addr, lo(1), &q(ok)).await);
    }
    // Without the setting the filter is off.
    let (code, _, _) = session(&gw, &host.token, json!({"quiz_id": quiz_id})).await;
    joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "grumpkin")]),
    )
    .await;
}

/// A session taken over after a crash (the single gateway restarts on its data directory)
/// keeps its cap, lock, bans and two-step join.
#[tokio::test]
async fn join_rules_lock_and_bans_survive_a_crash() {
    let mut gw = Gateway::sqlite(&[]).await;
    let host = user(&gw, "host").await;
    let eve = user(&gw, "eve").await;
    let quiz_id = quiz(&host.client, &[5_000]).await;
    let (code, host_token, _) = session(
        &gw,
        &host.token,
        json!({"quiz_id": quiz_id, "max_players": 3, "two_step": true}),
    )
    .await;
    let host_q = query(&[("code", &code), ("host_token", &host_token)]);
    let with = |k: &str, v: &str, p: &str| query(&[("code", &code), (k, v), ("pattern", p)]);
    let mut h = joined(gw.addr, lo(1), &host_q).await;
    let p = h.wait("join_pattern").await["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    let e = joined(gw.addr, lo(1), &with("token", &eve.token, &p)).await;
    let ann = joined(gw.addr, lo(1), &with("nickname", "ann", &p)).await;
    let (eve_id, ann_token) = (e.player_id(), ann.resume_token());
    h.send(json!({"type": "ban", "player_id": eve_id})).await;
    h.send(json!({"type": "lock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], true);
    until_lock_and_ban_are_checkpointed(&gw, &code).await;
    drop((h, e, ann));

    gw.restart().await;
    // The host's reconnect brings the session back from its checkpoint.
    let mut h = joined(gw.addr, lo(1), &host_q).await;
    assert_eq!(h.welcome["locked"], true, "{}", h.welcome);
    let p = h.wait("join_pattern").await["pattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    // Login tokens of the embedded default live in the process: eve logs in again.
    let eve = gw
        .client()
        .login("eve", "long-enough-password")
        .await
        .expect("login eve");
    let eve_token = eve.token().expect("token");
    let r = refused(gw.addr, lo(1), &with("token", eve_token, &p)).await;
    assert_eq!(r.frame().0, "banned");
    let r = refused(gw.addr, lo(1), &with("nickname", "bob", &p)).await;
    assert_eq!(r.frame().0, "locked");
    let back = joined(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("resume", &ann_token)]),
    )
    .await;
    assert_eq!(back.welcome["nickname"], "ann");
    h.send(json!({"type": "unlock"})).await;
    assert_eq!(h.wait("joins_locked").await["locked"], false);
    let r = refused(
        gw.addr,
        lo(1),
        &query(&[("code", &code), ("nickname", "bob")]),
    )
    .await;
    assert_eq!(r.frame().0, "bad_pattern");
    let _bob = joined(gw.addr, lo(1), &with("nickname", "bob", &p)).await;
    let _cy = joined(gw.addr, lo(1), &with("nickname", "cy", &p)).await;
    let r = refused(gw.addr, lo(1), &with("nickname", "dan", &p)).await;
    assert_eq!(r.frame().0, "session_full");
}
