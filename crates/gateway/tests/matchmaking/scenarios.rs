//! The matchmaking scenarios, each run on both backends (see `matchmaking.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use gateway::matchmaking::ManualClock;
use livequiz_sdk::live::{Credentials, ErrorCode, LiveClient, LiveError, ServerMsg};
use livequiz_sdk::matchmaking::{
    GhostOffer, MatchClient, MatchError, MatchErrorCode, MatchServerMsg, Matched, QueueRequest,
};

use crate::common::{short_settings, Ctx};
use crate::live_common::{answer_until_finished, wait_msg};

async fn matched(c: &mut MatchClient) -> Matched {
    tokio::time::timeout(Duration::from_secs(20), c.wait())
        .await
        .expect("timed out waiting for a match")
        .unwrap_or_else(|e| panic!("no match: {e}"))
}

async fn join(base: &str, code: &str, token: &str) -> LiveClient {
    LiveClient::connect(base, code, Credentials::Account(token.into()))
        .await
        .unwrap_or_else(|e| panic!("join match {code}: {e}"))
}

/// Answers every question with `choice` until the match finishes; how many it answered.
async fn play(c: &mut LiveClient, choice: u32) -> usize {
    answer_until_finished(c, choice, Duration::ZERO).await
}

/// Two players (on two gateways with MySQL) are matched into one server-run session, play it
/// to the end without a host, and the result reaches the rating book exactly once.
pub async fn duel_played_to_the_end(ctx: &Ctx) {
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (bob_id, bob) = ctx.player("bob", 1520.0).await;
    let mut qa = ctx
        .queue(0, &ann, QueueRequest::duel(Some("mm".into())))
        .await;
    // The gap at (almost) no wait: 100, +20 a second.
    let gap = qa.status().rating_gap.expect("a gap at first");
    assert!((100.0..110.0).contains(&gap), "gap {gap}");
    assert!(qa.status().estimated_wait_ms > 0);
    let mut qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    let (ma, mb) = tokio::join!(matched(&mut qa), matched(&mut qb));
    assert_eq!(ma.code, mb.code);
    assert_eq!(ma.match_id, mb.match_id);
    assert_eq!(ma.topic.as_deref(), Some("mm"));
    let ids: HashSet<i64> = ma.players.iter().map(|p| p.user_id).collect();
    assert_eq!(ids, HashSet::from([ann_id, bob_id]));
    assert_eq!(
        ctx.queued_rows().await,
        0,
        "matched tickets leave the queue"
    );

    // Only the matched accounts may join: a guest and another account are refused.
    match LiveClient::connect(
        &ctx.gw(0).base_url,
        &ma.code,
        Credentials::Guest("eve".into()),
    )
    .await
    {
        Err(LiveError::Refused { code, .. }) => assert_eq!(code, ErrorCode::NotInMatch),
        other => panic!("a guest must be refused, got {:?}", other.map(|_| ())),
    }
    let mut a = join(&ctx.gw(0).base_url, &ma.code, &ann).await;
    let mut b = join(&ctx.gw(1).base_url, &mb.code, &bob).await;
    // Nobody hosts: it starts once both are in, ann answers right, bob wrong.
    let (_, _) = tokio::join!(play(&mut a, 1), play(&mut b, 0));
    let rec = ctx.record_of(&ma.match_id).await;
    assert_eq!(rec.topic.as_deref(), Some("mm"));
    let by: HashMap<i64, _> = rec.players.iter().map(|p| (p.user_id, p.clone())).collect();
    assert_eq!(by[&ann_id].placement, 1);
    assert_eq!(by[&bob_id].placement, 2);
    assert!(by[&ann_id].points > 0);
    assert_eq!(by[&bob_id].points, 0);
    assert!(!by[&ann_id].abandoned && !by[&bob_id].abandoned);
    // Recorded once: a few more matchmaker turns add nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ctx.book.calls.load(Ordering::SeqCst), 1);
    assert_eq!(ctx.results_rows(&ma.match_id).await, 1);
    // Time to match and queue length are exported.
    let metrics = reqwest::get(format!("{}/metrics", ctx.gw(0).base_url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(metrics.contains("matchmaking_time_to_match_seconds_bucket"));
    assert!(metrics.contains("matchmaking_time_to_match_seconds_count"));
    assert!(metrics.contains("matchmaking_queue_length"));
}

/// A player who drops during a match resumes it with the welcome's resume token, keeps their
/// points, and is not counted as having abandoned.
pub async fn resume_during_match(ctx: &Ctx) {
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (bob_id, bob) = ctx.player("bob", 1500.0).await;
    let mut qa = ctx.queue(0, &ann, QueueRequest::duel(None)).await;
    let mut qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    let (ma, _) = tokio::join!(matched(&mut qa), matched(&mut qb));
    let mut a = join(&ctx.gw(0).base_url, &ma.code, &ann).await;
    let b = join(&ctx.gw(1).base_url, &ma.code, &bob).await;
    let bob_player = b.welcome().player_id;
    let token = b.welcome().resume_token.clone().expect("resume token");
    let ann_play = tokio::spawn(async move { play(&mut a, 1).await });
    // Bob drops before answering anything, then comes back (on the other gateway with MySQL).
    drop(b);
    let mut b = LiveClient::connect(&ctx.gw(0).base_url, &ma.code, Credentials::Resume(token))
        .await
        .expect("resume the match");
    assert_eq!(b.welcome().player_id, bob_player);
    play(&mut b, 1).await;
    ann_play.await.expect("ann plays");
    let rec = ctx.record_of(&ma.match_id).await;
    let by: HashMap<i64, _> = rec.players.iter().map(|p| (p.user_id, p.clone())).collect();
    assert!(!by[&ann_id].abandoned);
    assert!(!by[&bob_id].abandoned, "bob resumed and finished");
}

/// Rooms form with the size asked for; sizes and topics do not mix.
pub async fn room_formation(ctx: &Ctx) {
    let mut queues = Vec::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, token) = ctx.player(&format!("room{i}"), 1500.0 + i as f64).await;
        ids.push(id);
        queues.push(ctx.queue(i, &token, QueueRequest::room(None, 3)).await);
    }
    // A duel player and a room player on another topic stay out.
    let (_, duel) = ctx.player("duelist", 1500.0).await;
    let d = ctx.queue(0, &duel, QueueRequest::duel(None)).await;
    let (_, other) = ctx.player("other", 1500.0).await;
    let mut o = ctx
        .queue(1, &other, QueueRequest::room(Some("other".into()), 3))
        .await;
    let mut codes = HashSet::new();
    for q in &mut queues {
        let m = matched(q).await;
        assert_eq!(m.players.len(), 3);
        codes.insert(m.code);
    }
    assert_eq!(codes.len(), 1, "one room for the three");
    assert_eq!(ctx.queued_rows().await, 2);
    assert_eq!(d.leave().await.expect("leave"), None);
    assert_eq!(
        o.next()
            .await
            .map(|m| matches!(m, MatchServerMsg::Queued(_)))
            .ok(),
        Some(true)
    );
    assert_eq!(o.leave().await.expect("leave"), None);
}

/// The accepted gap widens with the (injected) wait: 300 apart, no match at first; ten
/// seconds later both accept it and they are matched.
pub async fn gap_widens_with_the_wait(ctx: &Ctx) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (_, ann) = ctx.player("ann", 1500.0).await;
    let (_, bob) = ctx.player("bob", 1800.0).await;
    let mut qa = ctx.queue(0, &ann, QueueRequest::duel(None)).await;
    let mut qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    // Many matchmaker turns and status frames: still waiting, the gap still 100.
    for _ in 0..5 {
        match qa.next().await.expect("status") {
            MatchServerMsg::Queued(s) => assert_eq!(s.rating_gap, Some(100.0)),
            other => panic!("300 apart must not match at once: {other:?}"),
        }
    }
    clock.advance(Duration::from_secs(5));
    match qa.next().await.expect("status") {
        MatchServerMsg::Queued(s) => assert_eq!(s.rating_gap, Some(200.0)),
        other => panic!("300 apart must not match after 5 s: {other:?}"),
    }
    clock.advance(Duration::from_secs(5));
    let (ma, mb) = tokio::join!(matched(&mut qa), matched(&mut qb));
    assert_eq!(ma.code, mb.code);
    assert!(ma.waited_ms >= 10_000);
    // After 30 s any opponent: the gap is reported as none.
    let (_, carl) = ctx.player("carl", 1000.0).await;
    let mut qc = ctx.queue(0, &carl, QueueRequest::duel(None)).await;
    clock.advance(Duration::from_secs(30));
    loop {
        match qc.next().await.expect("status") {
            MatchServerMsg::Queued(s) if s.rating_gap.is_none() => break,
            MatchServerMsg::Queued(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // At the wait bound the player is told and leaves the queue.
    clock.advance(Duration::from_secs(120));
    match qc.wait().await {
        Err(MatchError::Timeout { waited_ms }) => assert!(waited_ms >= 120_000),
        other => panic!("expected the wait bound, got {other:?}"),
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ctx.queued_rows().await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed-out ticket left behind"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ten players queueing at once (alternating gateways) make five duels, nobody in two; the same
/// account queueing twice at once gets one ticket and one refusal.
pub async fn no_double_match_under_concurrency(ctx: &Ctx) {
    let mut players = Vec::new();
    for i in 0..10 {
        players.push(ctx.player(&format!("player{i}"), 1500.0).await);
    }
    let mut tasks = Vec::new();
    for (i, (id, token)) in players.iter().cloned().enumerate() {
        let base = ctx.gw(i).base_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut q = MatchClient::queue(&base, &token, QueueRequest::duel(None))
                .await
                .expect("queue");
            let m = tokio::time::timeout(Duration::from_secs(20), q.wait())
                .await
                .expect("match in time")
                .expect("match");
            (id, m)
        }));
    }
    let mut by_code: HashMap<String, Vec<i64>> = HashMap::new();
    for t in tasks {
        let (id, m) = t.await.expect("task");
        assert!(m.players.iter().any(|p| p.user_id == id));
        by_code.entry(m.code).or_default().push(id);
    }
    assert_eq!(by_code.len(), 5);
    let mut seen = HashSet::new();
    for ids in by_code.values() {
        assert_eq!(ids.len(), 2);
        for id in ids {
            assert!(seen.insert(*id), "player {id} in two matches");
        }
    }
    // One account, two sockets at once (on both gateways with MySQL).
    let (_, token) = ctx.player("twice", 1500.0).await;
    let (a, b) = tokio::join!(
        MatchClient::queue(
            &ctx.gw(0).base_url,
            &token,
            QueueRequest::duel(Some("other".into()))
        ),
        MatchClient::queue(
            &ctx.gw(1).base_url,
            &token,
            QueueRequest::duel(Some("other".into()))
        )
    );
    let (ok, refused) = match (a, b) {
        (Ok(q), Err(e)) | (Err(e), Ok(q)) => (q, e),
        (a, b) => panic!(
            "exactly one ticket per account: {:?} / {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        ),
    };
    match refused {
        MatchError::Refused { code, .. } => assert_eq!(code, MatchErrorCode::AlreadyQueued),
        other => panic!("expected already_queued, got {other}"),
    }
    assert_eq!(ok.leave().await.expect("leave"), None);
}

/// Leaving answers `left` and empties the queue; a player who drops is removed, and is never
/// matched afterwards; bad frames get an error and change nothing.
pub async fn leaving_and_dropping(ctx: &Ctx) {
    let (_, ann) = ctx.player("ann", 1500.0).await;
    let qa = ctx.queue(0, &ann, QueueRequest::duel(None)).await;
    assert_eq!(ctx.queued_rows().await, 1);
    assert_eq!(qa.leave().await.expect("leave"), None);
    assert_eq!(ctx.queued_rows().await, 0);

    let (_, bob) = ctx.player("bob", 1500.0).await;
    let qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    drop(qb);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ctx.queued_rows().await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a dropped player stays queued"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Carl waits alone: bob is gone.
    let (_, carl) = ctx.player("carl", 1500.0).await;
    let mut qc = ctx.queue(0, &carl, QueueRequest::duel(None)).await;
    for _ in 0..3 {
        assert!(matches!(
            qc.next().await.expect("status"),
            MatchServerMsg::Queued(_)
        ));
    }
    assert_eq!(qc.leave().await.expect("leave"), None);

    // Bad requests are refused with a clear error.
    let (_, dan) = ctx.player("dan", 1500.0).await;
    for (req, code) in [
        (QueueRequest::room(None, 9), MatchErrorCode::BadMessage),
        (
            QueueRequest::duel(Some("no such topic".into())),
            MatchErrorCode::BadMessage,
        ),
    ] {
        match MatchClient::queue(&ctx.gw(0).base_url, &dan, req).await {
            Err(MatchError::Refused { code: c, .. }) => assert_eq!(c, code),
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
    }
    match MatchClient::queue(&ctx.gw(0).base_url, "not-a-token", QueueRequest::duel(None)).await {
        Err(MatchError::Refused { code, .. }) => assert_eq!(code, MatchErrorCode::Unauthorized),
        other => panic!("expected unauthorized, got {:?}", other.map(|_| ())),
    }
    assert_eq!(ctx.queued_rows().await, 0);
}

/// A matched player who never joins: the match starts after the countdown with the other,
/// and the absent one is recorded as abandoned, placed last.
pub async fn absent_player_abandons(ctx: &Ctx) {
    ctx.set_settings(gateway::matchmaking::MatchSettings {
        countdown_ms: 1_000,
        ..short_settings()
    });
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (bob_id, bob) = ctx.player("bob", 1500.0).await;
    let mut qa = ctx.queue(0, &ann, QueueRequest::duel(None)).await;
    let mut qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    let (ma, _) = tokio::join!(matched(&mut qa), matched(&mut qb));
    let mut a = join(&ctx.gw(0).base_url, &ma.code, &ann).await;
    play(&mut a, 0).await;
    let rec = ctx.record_of(&ma.match_id).await;
    let by: HashMap<i64, _> = rec.players.iter().map(|p| (p.user_id, p.clone())).collect();
    assert!(!by[&ann_id].abandoned);
    assert!(by[&bob_id].abandoned);
    assert_eq!(by[&ann_id].placement, 1);
    assert_eq!(by[&bob_id].placement, 2);
}

/// Two gateways; the queue's authority dies (its lease and heartbeats just stop) while players
/// wait on the other, which takes the lease over and matches them.
pub async fn authority_killed(ctx: &Ctx) {
    let (a, b) = (&ctx.gateways[0], &ctx.gateways[1]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(a.state.matchmaking.is_authority() || b.state.matchmaking.is_authority()) {
        assert!(tokio::time::Instant::now() < deadline, "no authority");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (authority, survivor, survivor_index) = if a.state.matchmaking.is_authority() {
        (a, b, 1)
    } else {
        (b, a, 0)
    };
    let (_, ann) = ctx.player("ann", 1500.0).await;
    let (_, bob) = ctx.player("bob", 1500.0).await;
    // Ann waits alone; then the authority dies and bob arrives.
    let mut qa = ctx
        .queue(survivor_index, &ann, QueueRequest::duel(Some("mm".into())))
        .await;
    authority.state.matchmaking.halt();
    let mut qb = ctx
        .queue(survivor_index, &bob, QueueRequest::duel(Some("mm".into())))
        .await;
    let (ma, mb) = tokio::join!(matched(&mut qa), matched(&mut qb));
    assert_eq!(ma.code, mb.code);
    assert!(survivor.state.matchmaking.is_authority());
    assert!(!authority.state.matchmaking.is_authority());
}

/// With the gateway's own rating book, a quick-match duel played to the end moves both
/// players' ratings (the winner's mean up, the loser's down), counts one game each however
/// many matchmaker turns pass, and puts both on the global rating board.
pub async fn duel_updates_the_ratings_once(ctx: &Ctx) {
    let (ann_id, ann) = ctx.player("ann", 0.0).await;
    let (bob_id, bob) = ctx.player("bob", 0.0).await;
    let before = rating_of(ctx, &ann).await;
    assert_eq!(before["games"], 0);
    assert_eq!(before["display"], 1000);
    let mut qa = ctx.queue(0, &ann, QueueRequest::duel(None)).await;
    let mut qb = ctx.queue(1, &bob, QueueRequest::duel(None)).await;
    let (ma, mb) = tokio::join!(matched(&mut qa), matched(&mut qb));
    assert_eq!(ma.match_id, mb.match_id);
    let mut a = join(&ctx.gw(0).base_url, &ma.code, &ann).await;
    let mut b = join(&ctx.gw(1).base_url, &mb.code, &bob).await;
    let (_, _) = tokio::join!(play(&mut a, 1), play(&mut b, 0));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (ra, rb) = loop {
        let (ra, rb) = (rating_of(ctx, &ann).await, rating_of(ctx, &bob).await);
        if ra["games"] == 1 && rb["games"] == 1 {
            break (ra, rb);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ratings not updated: {ra} {rb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mu = |r: &serde_json::Value| r["mu"].as_f64().expect("mu");
    assert!(mu(&ra) > mu(&before) && mu(&rb) < mu(&before), "{ra} {rb}");
    assert!(ra["display"].as_i64() > rb["display"].as_i64(), "{ra} {rb}");
    // More matchmaker turns change nothing: recorded once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rating_of(ctx, &ann).await, ra);
    assert_eq!(rating_of(ctx, &bob).await, rb);
    // Both are on the global rating board, ann above bob (within 200 ms on the other gateway).
    for gw in 0..ctx.gateways.len() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let board = get_json(ctx, gw, &ann, "/v1/leaderboards/rating?limit=10").await;
            let ids: Vec<i64> = board["items"]
                .as_array()
                .map(|items| items.iter().filter_map(|e| e["user_id"].as_i64()).collect())
                .unwrap_or_default();
            if ids == [ann_id, bob_id] {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "rating board on gateway {gw}: {board}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn rating_of(ctx: &Ctx, token: &str) -> serde_json::Value {
    get_json(ctx, 0, token, "/v1/ratings/me").await
}

async fn get_json(ctx: &Ctx, gw: usize, token: &str, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}{path}", ctx.gw(gw).base_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .error_for_status()
        .expect("status")
        .json()
        .await
        .expect("json")
}

/// Like [`play`], but each answer `after` the question arrived.
async fn play_after(c: &mut LiveClient, choice: u32, after: Duration) {
    answer_until_finished(c, choice, after).await;
}

/// Points per question (in order) that `user_id` scored in match `match_id`, with the time
/// they answered after each question opened, from the session's answer log.
async fn recorded_points(ctx: &Ctx, match_id: &str, user_id: i64) -> Vec<(i64, i64)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT a.points AS points, a.elapsed_ms AS elapsed FROM live_answers a \
         JOIN mm_matches m ON m.session_id = a.session_id \
         JOIN live_standings s ON s.session_id = a.session_id AND s.player_id = a.player_id \
         WHERE m.match_id = ? AND s.account_id = ? ORDER BY a.question_index",
    )
    .bind(match_id.to_string())
    .bind(user_id)
    .fetch_all(ctx.gateways[0].state.db.primary())
    .await
    .expect("recorded answers")
    .iter()
    .map(|r| {
        (
            r.try_get::<i64, _>("points").unwrap(),
            r.try_get::<i64, _>("elapsed").unwrap(),
        )
    })
    .collect()
}

/// A duel ann (right, 600 ms after each question) and bob (wrong, at once) play to the end;
/// its match id once recorded.
async fn recorded_duel(ctx: &Ctx, ann: &str, bob: &str) -> String {
    let mut qa = ctx.queue(0, ann, QueueRequest::duel(None)).await;
    let mut qb = ctx.queue(1, bob, QueueRequest::duel(None)).await;
    let (ma, _) = tokio::join!(matched(&mut qa), matched(&mut qb));
    let mut a = join(&ctx.gw(0).base_url, &ma.code, ann).await;
    let mut b = join(&ctx.gw(1).base_url, &ma.code, bob).await;
    tokio::join!(
        play_after(&mut a, 1, Duration::from_millis(600)),
        play(&mut b, 0)
    );
    ma.match_id
}

/// Queues `token` for a duel and moves the injected clock past the wait bound: the ghost
/// offered, or `None` when the wait ended with a plain timeout.
async fn wait_past_the_bound(
    ctx: &Ctx,
    clock: &ManualClock,
    token: &str,
) -> (MatchClient, Option<GhostOffer>) {
    wait_for(
        ctx,
        clock,
        token,
        short_settings().curve.max_wait_ms + 1_000,
    )
    .await
}

/// Queues `token` for a duel and moves the injected clock `ms` on: the ghost offered, or
/// `None` when the wait ended with a plain timeout.
async fn wait_for(
    ctx: &Ctx,
    clock: &ManualClock,
    token: &str,
    ms: u64,
) -> (MatchClient, Option<GhostOffer>) {
    let mut q = ctx.queue(0, token, QueueRequest::duel(None)).await;
    clock.advance(Duration::from_millis(ms));
    let got = tokio::time::timeout(Duration::from_secs(20), q.wait_or_ghost())
        .await
        .expect("the wait bound is reached");
    match got {
        Ok(Err(offer)) => (q, Some(offer)),
        Err(MatchError::Timeout { .. }) => (q, None),
        Ok(Ok(m)) => panic!("nobody to match, yet matched: {m:?}"),
        Err(e) => panic!("unexpected end of the wait: {e}"),
    }
}

/// Ghost duels: without a recorded game the wait ends as before (timeout). After a recorded
/// duel, a lone player past the wait bound is offered the closest-rated recorded player,
/// accepts, and plays the same questions against the ghost's answers: the ghost's score only
/// ever shows the recorded running totals and ends at the recorded total (the same speed
/// points, so each answer was judged at its recorded time). The result is recorded once,
/// flagged as a ghost duel; the next offer is another player.
pub async fn ghost_duel(ctx: &Ctx) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (bob_id, bob) = ctx.player("bob", 1520.0).await;
    let (carl_id, carl) = ctx.player("carl", 1490.0).await;

    // Nothing recorded yet: a plain timeout, out of the queue.
    let (_, offer) = wait_past_the_bound(ctx, &clock, &carl).await;
    assert_eq!(offer, None, "no recorded game, no offer");

    let duel = recorded_duel(ctx, &ann, &bob).await;
    let _ = ctx.record_of(&duel).await;
    let recorded = recorded_points(ctx, &duel, ann_id).await;
    assert_eq!(recorded.len(), 2, "ann answered both: {recorded:?}");
    assert!(
        recorded.iter().all(|&(p, e)| p > 0 && e >= 600),
        "{recorded:?}"
    );
    let totals: Vec<i64> = recorded
        .iter()
        .scan(0, |t, &(p, _)| {
            *t += p;
            Some(*t)
        })
        .collect();

    let (q, offer) = wait_past_the_bound(ctx, &clock, &carl).await;
    let offer = offer.expect("a ghost is offered");
    assert_eq!(offer.user_id, ann_id, "closest rating to 1490");
    assert_eq!(offer.nickname, "ann");
    assert_eq!(offer.rating, 1500.0);
    assert_eq!(
        ctx.queued_rows().await,
        0,
        "an offered player is out of the queue"
    );
    let m = q.accept_ghost().await.expect("the ghost duel");
    let ids: HashSet<i64> = m.players.iter().map(|p| p.user_id).collect();
    assert_eq!(ids, HashSet::from([carl_id, ann_id]));

    // Carl answers wrong at once; the ghost answers as ann did.
    let mut c = join(&ctx.gw(0).base_url, &m.code, &carl).await;
    let mut ghost_scores = Vec::new();
    let final_top = loop {
        let msg = wait_msg(&mut c, "a frame of the ghost duel", |m| Some(m.clone())).await;
        match msg {
            ServerMsg::Question(q) => c.answer(q.index, vec![0], None).expect("answer"),
            ServerMsg::Leaderboard { top, .. } => {
                if let Some(s) = top.iter().find(|s| s.nickname == "ann") {
                    ghost_scores.push(s.score);
                }
            }
            ServerMsg::Finished { top, .. } => break top,
            _ => {}
        }
    };
    for s in &ghost_scores {
        assert!(
            *s == 0 || totals.contains(s),
            "the ghost's score {s} is not a recorded running total {totals:?}"
        );
    }
    let ghost_final = final_top
        .iter()
        .find(|s| s.nickname == "ann")
        .expect("ghost");
    assert_eq!(ghost_final.score, *totals.last().unwrap());

    let rec = ctx.record_of(&m.match_id).await;
    assert_eq!(rec.ghost, Some(ann_id));
    let by: HashMap<i64, _> = rec.players.iter().map(|p| (p.user_id, p.clone())).collect();
    assert_eq!(by[&ann_id].points, *totals.last().unwrap());
    assert_eq!(by[&ann_id].placement, 1);
    assert_eq!(by[&carl_id].placement, 2);
    assert!(!by[&carl_id].abandoned && !by[&ann_id].abandoned);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ctx.book.calls.load(Ordering::SeqCst), 2, "each match once");
    assert_eq!(ctx.results_rows(&m.match_id).await, 1);

    // Ann's ghost was just played: next time carl gets bob's, and may decline it. With
    // `ghost_after_ms` the offer comes that early, well before the bound.
    ctx.set_settings(gateway::matchmaking::MatchSettings {
        ghost_after_ms: Some(5_000),
        ..short_settings()
    });
    let (q, offer) = wait_for(ctx, &clock, &carl, 6_000).await;
    assert_eq!(offer.expect("another ghost").user_id, bob_id);
    assert_eq!(q.leave().await.expect("decline"), None);
}

/// With the gateway's own rating book: a ghost duel is rated for the live player only. The
/// ghost's account keeps its rating and its one game; the live player, who beat it, gains.
pub async fn ghost_duel_rates_only_the_live_player(ctx: &Ctx) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (ann_id, ann) = ctx.player("ann", 0.0).await;
    let (bob_id, bob) = ctx.player("bob", 0.0).await;
    let (_, carl) = ctx.player("carl", 0.0).await;
    recorded_duel(ctx, &ann, &bob).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while rating_of(ctx, &ann).await["games"] != 1 || rating_of(ctx, &bob).await["games"] != 1 {
        assert!(tokio::time::Instant::now() < deadline, "duel not rated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let carl_before = rating_of(ctx, &carl).await;
    let (q, offer) = wait_past_the_bound(ctx, &clock, &carl).await;
    let offer = offer.expect("a ghost is offered");
    let ghost = match offer.user_id {
        id if id == ann_id => &ann,
        id if id == bob_id => &bob,
        other => panic!("offered {other}, neither ann nor bob"),
    };
    let ghost_before = rating_of(ctx, ghost).await;
    let m = q.accept_ghost().await.expect("the ghost duel");
    // Carl answers right at once: at least as fast as the ghost, and right.
    let mut c = join(&ctx.gw(0).base_url, &m.code, &carl).await;
    play(&mut c, 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let carl_after = loop {
        let r = rating_of(ctx, &carl).await;
        if r["games"] == 1 {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ghost duel not rated: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mu = |r: &serde_json::Value| r["mu"].as_f64().expect("mu");
    assert!(
        mu(&carl_after) > mu(&carl_before),
        "{carl_before} -> {carl_after}"
    );
    // More matchmaker turns: the ghost's account is as it was, carl rated once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rating_of(ctx, ghost).await, ghost_before);
    assert_eq!(rating_of(ctx, &carl).await, carl_after);
}

/// The match ids in `ids` that `claimed` says were claimed.
fn claimed_ids(ids: &[String], claimed: &[bool]) -> Vec<String> {
    ids.iter()
        .zip(claimed)
        .filter(|(_, &c)| c)
        .map(|(m, _)| m.clone())
        .collect()
}

/// One turn forming many matches claims them in one transaction: each group all or nothing (a
/// group with a ticket gone or already claimed changes nothing, its other tickets stay free
/// for a later group), and two authorities claiming overlapping groups at once (two gateways
/// with MySQL) never put a ticket in two matches.
pub async fn turn_claims_each_ticket_once(ctx: &Ctx) {
    use gateway::matchmaking::store::{Claim, MatchStore, QueuedRow};
    use sqlx::Row;
    // The matchmakers stay out of the way: only the claims below touch these tickets.
    for g in &ctx.gateways {
        g.state.matchmaking.shutdown().await;
    }
    let stores: Vec<MatchStore> = ctx
        .gateways
        .iter()
        .map(|g| MatchStore::new(&g.state.db))
        .collect();
    let now = gateway::db::now_ms();
    for user in (9001..=9006).chain(9101..=9120) {
        let row = QueuedRow {
            user_id: user,
            ticket: format!("t{user}"),
            topic: None,
            size: 2,
            rating: 1000.0,
            enqueued_at: now,
        };
        assert!(stores[0].enqueue(&row, "test", now, 0).await.unwrap());
    }
    let claim = |id: &str, users: &[i64]| Claim {
        match_id: id.to_string(),
        members: users.iter().map(|&u| (u, format!("t{u}"))).collect(),
        topic: None,
        details: "{}".into(),
    };
    let turn = vec![
        claim("c1", &[9001, 9002]),
        claim("c2", &[9002, 9003]),
        claim("c3", &[9003, 9004]),
        claim("c4", &[9005, 9999]),
        claim("c5", &[9005, 9006]),
    ];
    assert_eq!(
        stores[0].claim_many(&turn, now).await.unwrap(),
        vec![true, false, true, false, true]
    );
    let pool = ctx.gateways[0].state.db.primary();
    let owner = |user: i64| async move {
        sqlx::query("SELECT match_id FROM mm_queue WHERE user_id = ?")
            .bind(user)
            .fetch_one(pool)
            .await
            .unwrap()
            .try_get::<Option<String>, _>("match_id")
            .unwrap()
    };
    for (user, m) in [
        (9001, "c1"),
        (9002, "c1"),
        (9003, "c3"),
        (9004, "c3"),
        (9005, "c5"),
        (9006, "c5"),
    ] {
        assert_eq!(owner(user).await.as_deref(), Some(m), "ticket of {user}");
    }
    let formed: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM mm_matches WHERE match_id IN ('c1','c2','c3','c4','c5')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(formed, 3, "only the claimed groups are matches");

    // Two turns at once over overlapping pairs, in opposite orders.
    let pairs = |prefix: &str, rev: bool| {
        let mut v: Vec<Claim> = (9101..9120)
            .map(|u| claim(&format!("{prefix}{u}"), &[u, u + 1]))
            .collect();
        if rev {
            v.reverse();
        }
        v
    };
    let (x, y) = (pairs("x", false), pairs("y", true));
    let other = &stores[stores.len() - 1];
    let (cx, cy) = tokio::join!(stores[0].claim_many(&x, now), other.claim_many(&y, now));
    // A deadlock between the two (MySQL) fails one turn as a whole; it is retried next tick.
    let ids = |v: &[Claim]| v.iter().map(|c| c.match_id.clone()).collect::<Vec<_>>();
    let mut won = Vec::new();
    let mut ok = 0;
    for (turn, r) in [(&x, cx), (&y, cy)] {
        if let Ok(c) = r {
            ok += 1;
            won.extend(claimed_ids(&ids(turn), &c));
        }
    }
    assert!(ok >= 1, "at least one turn commits");
    let mut seen = HashSet::new();
    for m in &won {
        let c = x.iter().chain(&y).find(|c| &c.match_id == m).unwrap();
        for (user, _) in &c.members {
            assert!(seen.insert(*user), "ticket {user} in two matches");
            assert_eq!(owner(*user).await.as_deref(), Some(m.as_str()));
        }
    }
    let taken: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM mm_queue WHERE user_id BETWEEN 9101 AND 9120 \
         AND match_id IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(taken as usize, 2 * won.len(), "no half-claimed group");
    assert!(!won.is_empty());
}

/// A batch of results with a repeat: the default rating book records the new ones and skips
/// the match id it has (one transaction), and says which were new.
pub async fn results_batch_skips_the_repeat(ctx: &Ctx) {
    use gateway::matchmaking::store::{MatchStore, ResultRow};
    let store = MatchStore::new(&ctx.gateways[0].state.db);
    let row = |id: &str| ResultRow {
        match_id: id.to_string(),
        topic: None,
        ended_at: 1,
        players: "[]".into(),
    };
    assert_eq!(
        store.record_results(&[row("r1")]).await.unwrap(),
        vec![true]
    );
    assert_eq!(
        store
            .record_results(&[row("r2"), row("r1"), row("r3")])
            .await
            .unwrap(),
        vec![true, false, true]
    );
    for id in ["r1", "r2", "r3"] {
        assert_eq!(ctx.results_rows(id).await, 1, "{id}");
    }
}

/// A ghost duel whose gateway hands the session over mid-match: the player plays on gateway B
/// while gateway A hosts the session; once the ghost has scored on question 0, A shuts down
/// and B takes the session over from its checkpoint. The ghost's answers are not in the answer
/// log, yet it goes on from its points (not from 0) and ends at its recorded total, in the
/// final standings and in the match record.
pub async fn ghost_duel_survives_a_takeover(ctx: &Ctx) {
    assert!(ctx.gateways.len() > 1, "needs two gateways");
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (_, bob) = ctx.player("bob", 1520.0).await;
    let (_, carl) = ctx.player("carl", 1490.0).await;
    let duel = recorded_duel(ctx, &ann, &bob).await;
    let _ = ctx.record_of(&duel).await;
    let recorded = recorded_points(ctx, &duel, ann_id).await;
    assert_eq!(recorded.len(), 2, "ann answered both: {recorded:?}");
    assert!(recorded[0].0 > 0, "{recorded:?}");
    let total: i64 = recorded.iter().map(|&(p, _)| p).sum();

    let (q, offer) = wait_past_the_bound(ctx, &clock, &carl).await;
    assert_eq!(offer.expect("a ghost is offered").user_id, ann_id);
    let m = q.accept_ghost().await.expect("the ghost duel");
    assert!(
        ctx.gw(0).state.live.running() > 0,
        "gateway A hosts the ghost duel"
    );
    let mut c = join(&ctx.gw(1).base_url, &m.code, &carl).await;
    // Question 0: carl answers wrong at once, the ghost right; question 1 opens after its reveal.
    loop {
        let msg = wait_msg(&mut c, "question 0 or 1", |m| match m {
            ServerMsg::Question(q) => Some(q.index),
            _ => None,
        })
        .await;
        if msg == 0 {
            c.answer(0, vec![0], None).expect("answer");
        } else {
            break;
        }
    }
    ctx.gw(0).shut_down().await;
    let final_top = loop {
        let msg = wait_msg(&mut c, "a frame after the takeover", |m| Some(m.clone())).await;
        match msg {
            ServerMsg::Question(q) => c.answer(q.index, vec![0], None).expect("answer"),
            ServerMsg::Finished { top, .. } => break top,
            _ => {}
        }
    };
    let ghost_final = final_top
        .iter()
        .find(|s| s.nickname == "ann")
        .expect("ghost");
    assert_eq!(ghost_final.score, total, "the ghost's recorded total");
    let rec = ctx.record_of(&m.match_id).await;
    assert_eq!(rec.ghost, Some(ann_id));
    let by: HashMap<i64, _> = rec.players.iter().map(|p| (p.user_id, p.clone())).collect();
    assert_eq!(by[&ann_id].points, total);
    assert_eq!(by[&ann_id].placement, 1);
}

/// Only a similar-rated ghost is offered: within the player's current gap, and never more
/// than `ghost_max_gap` (400) away. Ann (1500) and bob (1520) are recorded. Dan (2000) is
/// 480 away from the closest: at the bound a plain timeout, unless the bound is raised. Carl
/// (1900) asked at 6 s (gap 220) gets nothing and waits on; at the bound (any opponent, so
/// the 400 bound) he is offered bob, the closest.
pub async fn ghost_offer_within_the_rating_gap(ctx: &Ctx) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (_, ann) = ctx.player("ann", 1500.0).await;
    let (bob_id, bob) = ctx.player("bob", 1520.0).await;
    let (_, carl) = ctx.player("carl", 1900.0).await;
    let (_, dan) = ctx.player("dan", 2000.0).await;
    let duel = recorded_duel(ctx, &ann, &bob).await;
    let _ = ctx.record_of(&duel).await;

    let (_, offer) = wait_past_the_bound(ctx, &clock, &dan).await;
    assert_eq!(offer, None, "nobody within 400 of 2000: a plain timeout");

    ctx.set_settings(gateway::matchmaking::MatchSettings {
        ghost_after_ms: Some(5_000),
        ..short_settings()
    });
    let mut q = ctx.queue(0, &carl, QueueRequest::duel(None)).await;
    clock.advance(Duration::from_millis(6_000));
    // A status frame at 6 s comes after the ask, which found nobody within the gap (220).
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), q.next())
            .await
            .expect("a status frame")
            .expect("still queued");
        match msg {
            MatchServerMsg::Queued(s) if s.waited_ms >= 6_000 => break,
            MatchServerMsg::Queued(_) => {}
            other => panic!("nobody within 220 of 1900, yet {other:?}"),
        }
    }
    clock.advance(Duration::from_millis(short_settings().curve.max_wait_ms));
    let offer = tokio::time::timeout(Duration::from_secs(20), q.wait_or_ghost())
        .await
        .expect("the wait bound is reached")
        .expect("an offer")
        .expect_err("a ghost offer, not a match");
    assert_eq!(offer.user_id, bob_id, "380 away, the closest");
    assert_eq!(q.leave().await.expect("decline"), None);

    // The bound is a setting: raised to 600, dan is offered bob too.
    ctx.set_settings(gateway::matchmaking::MatchSettings {
        ghost_max_gap: 600.0,
        ..short_settings()
    });
    let (q, offer) = wait_past_the_bound(ctx, &clock, &dan).await;
    assert_eq!(offer.expect("bob within 600").user_id, bob_id);
    assert_eq!(q.leave().await.expect("decline"), None);
}

/// The questions `user_id` answered in match `match_id`, in order, from the answer log.
async fn answered_questions(ctx: &Ctx, match_id: &str, user_id: i64) -> Vec<i64> {
    use sqlx::Row;
    sqlx::query(
        "SELECT a.question_id AS question_id FROM live_answers a \
         JOIN mm_matches m ON m.session_id = a.session_id \
         JOIN live_standings s ON s.session_id = a.session_id AND s.player_id = a.player_id \
         WHERE m.match_id = ? AND s.account_id = ? ORDER BY a.question_index",
    )
    .bind(match_id.to_string())
    .bind(user_id)
    .fetch_all(ctx.gateways[0].state.db.primary())
    .await
    .expect("answered questions")
    .iter()
    .map(|r| r.try_get::<i64, _>("question_id").unwrap())
    .collect()
}

/// A ghost duel leaves out the recorded questions the live player saw in the last 7 days
/// (the ghost's answers to them with them): carl saw the first of ann's two, so the duel
/// against her ghost has only the second.
pub async fn ghost_duel_leaves_out_questions_seen_lately(ctx: &Ctx) {
    let (recorded, played) = ghost_duel_after_seeing(ctx, 1).await;
    assert_eq!(
        played,
        recorded[1..].to_vec(),
        "the seen question is left out"
    );
}

/// A ghost duel whose every recorded question the live player saw lately plays them all
/// rather than none.
pub async fn ghost_duel_plays_all_when_every_question_was_seen(ctx: &Ctx) {
    let (recorded, played) = ghost_duel_after_seeing(ctx, 2).await;
    assert_eq!(played, recorded, "every question is played");
}

/// Records a duel of ann against bob, marks the first `seen` of ann's questions as seen by
/// carl, lets carl take ann's ghost and answer every question it brings; returns ann's
/// recorded questions and those carl answered in the ghost duel.
async fn ghost_duel_after_seeing(ctx: &Ctx, seen: usize) -> (Vec<i64>, Vec<i64>) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let (ann_id, ann) = ctx.player("ann", 1500.0).await;
    let (_, bob) = ctx.player("bob", 1520.0).await;
    let (carl_id, carl) = ctx.player("carl", 1490.0).await;
    let duel = recorded_duel(ctx, &ann, &bob).await;
    let _ = ctx.record_of(&duel).await;
    let recorded = answered_questions(ctx, &duel, ann_id).await;
    assert_eq!(recorded.len(), 2, "ann answered both: {recorded:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    gateway::matchmaking::store::MatchStore::new(&ctx.gateways[0].state.db)
        .mark_seen(&[carl_id], &recorded[..seen], now)
        .await
        .expect("carl saw the questions");

    let (q, offer) = wait_past_the_bound(ctx, &clock, &carl).await;
    assert_eq!(offer.expect("a ghost is offered").user_id, ann_id);
    let m = q.accept_ghost().await.expect("the ghost duel");
    let mut c = join(&ctx.gw(0).base_url, &m.code, &carl).await;
    let questions = play(&mut c, 0).await;
    let _ = ctx.record_of(&m.match_id).await;
    let played = answered_questions(ctx, &m.match_id, carl_id).await;
    assert_eq!(
        questions,
        played.len(),
        "carl answered every question he got"
    );
    (recorded, played)
}

/// Three duels formed in one turn (one chunk) on a topic of three questions, two a match: each
/// gets questions none of its players saw in the last 7 days (one player of each saw a
/// different one), while a question seen longer ago counts as unseen.
pub async fn chunk_draws_questions_its_players_did_not_see(ctx: &Ctx) {
    use gateway::matchmaking::store::MatchStore;
    use sqlx::Row;
    let clock = Arc::new(ManualClock::new(1_000_000));
    ctx.set_clock(clock.clone());
    let pool = ctx.gateways[0].state.db.primary();
    let bank = mm_bank(ctx).await;
    // 300 apart within a pair, 700 or more between pairs: no match until the gap reaches 300
    // (10 s of waiting), then the three pairs at once.
    let mut players = Vec::new();
    for (i, rating) in [1000.0, 1300.0, 2000.0, 2300.0, 3000.0, 3300.0]
        .into_iter()
        .enumerate()
    {
        players.push(ctx.player(&format!("chunk{i}"), rating).await);
    }
    let store = MatchStore::new(&ctx.gateways[0].state.db);
    let now = gateway::db::now_ms();
    let week = 7 * 24 * 3_600_000;
    // Saw lately, per player: pair 1 bank[0], pair 2 bank[1], pair 3 bank[2].
    for (player, q) in [(0, 0), (3, 1), (4, 2)] {
        store
            .mark_seen(&[players[player].0], &[bank[q]], now - 60_000)
            .await
            .expect("seen");
    }
    // Seen more than 7 days ago: no longer counts.
    store
        .mark_seen(&[players[1].0], &[bank[1]], now - week - 60_000)
        .await
        .expect("seen long ago");
    let mut queues = Vec::new();
    for (i, (_, token)) in players.iter().enumerate() {
        queues.push(
            ctx.queue(i, token, QueueRequest::duel(Some("mm".into())))
                .await,
        );
    }
    clock.advance(Duration::from_secs(10));
    let mut matches: HashMap<String, HashSet<i64>> = HashMap::new();
    for (q, (id, _)) in queues.iter_mut().zip(&players) {
        let m = matched(q).await;
        matches.entry(m.match_id).or_default().insert(*id);
    }
    assert_eq!(matches.len(), 3, "three duels: {matches:?}");
    let mut turns = HashSet::new();
    for (match_id, users) in &matches {
        let row = sqlx::query("SELECT members, created_at FROM mm_matches WHERE match_id = ?")
            .bind(match_id.clone())
            .fetch_one(pool)
            .await
            .expect("the match");
        turns.insert(row.try_get::<i64, _>("created_at").unwrap());
        let details: serde_json::Value =
            serde_json::from_str(&gateway::store::text_column(&row, "members").unwrap()).unwrap();
        let got: HashSet<i64> = details["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(got.len(), 2, "two questions: {got:?}");
        let expected: HashSet<i64> = if users.contains(&players[0].0) {
            HashSet::from([bank[1], bank[2]])
        } else if users.contains(&players[2].0) {
            HashSet::from([bank[0], bank[2]])
        } else {
            HashSet::from([bank[0], bank[1]])
        };
        assert_eq!(got, expected, "match of {users:?}");
    }
    assert_eq!(turns.len(), 1, "the three duels were formed in one turn");
}

/// A chunk's candidate pool is the whole topic when the bank is no larger than the pool, else
/// a window of consecutive ids from the given point, wrapping around past the highest.
pub async fn candidate_pool_is_a_window_of_a_larger_bank(ctx: &Ctx) {
    use gateway::matchmaking::store::MatchStore;
    let store = MatchStore::new(&ctx.gateways[0].state.db);
    let bank = mm_bank(ctx).await;
    let ids = |pool: Vec<(i64, u8)>| {
        assert!(pool.iter().all(|&(_, d)| d == 3), "difficulty 3: {pool:?}");
        pool.into_iter().map(|(id, _)| id).collect::<Vec<i64>>()
    };
    let pool = |limit, start| store.candidate_pool(Some("mm"), limit, start);
    assert_eq!(ids(pool(10, 0.0).await.unwrap()), bank);
    assert_eq!(
        ids(pool(10, 1.0).await.unwrap()),
        [bank[2], bank[0], bank[1]]
    );
    assert_eq!(ids(pool(2, 0.0).await.unwrap()), [bank[0], bank[1]]);
    assert_eq!(ids(pool(2, 1.0).await.unwrap()), [bank[2], bank[0]]);
    assert_eq!(ids(pool(1, 1.0).await.unwrap()), [bank[2]]);
    // Any topic: both topics' questions.
    assert_eq!(store.candidate_pool(None, 100, 0.5).await.unwrap().len(), 6);
    assert!(store
        .candidate_pool(Some("nothing"), 100, 0.5)
        .await
        .unwrap()
        .is_empty());
}

/// The ids of the test bank's three questions of topic `mm`, in id order.
async fn mm_bank(ctx: &Ctx) -> Vec<i64> {
    use sqlx::Row;
    let bank: Vec<i64> = sqlx::query("SELECT id FROM questions WHERE topic = 'mm' ORDER BY id")
        .fetch_all(ctx.gateways[0].state.db.primary())
        .await
        .expect("the topic's questions")
        .iter()
        .map(|r| r.try_get::<i64, _>("id").unwrap())
        .collect();
    assert_eq!(bank.len(), 3);
    bank
}
