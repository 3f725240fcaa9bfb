//! The scenarios of `tests/ranked.rs`.

use std::collections::HashSet;

use gateway::ranked::{MatchRecord, Recorded};
use gateway::store::ranked::result_count;
use serde_json::Value;

use crate::ctx::{record, Ctx, DAY, MONDAY_10H};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["user_id"].as_i64().unwrap())
        .collect()
}

/// The same match recorded 8 times at once, half through each gateway: one `Applied`, one
/// rating update and one result per player, points counted once.
pub async fn exactly_once(ctx: &Ctx) {
    let (ann, token) = ctx.user("ann").await;
    let (bob, _) = ctx.user("bob").await;
    let rec = record(
        "m-once",
        Some("Science"),
        MONDAY_10H,
        &[(ann, 1, 300, false), (bob, 2, 100, false)],
    );
    let calls = (0..8).map(|i| {
        let ranked = if i % 2 == 0 {
            ctx.a.state.ranked.clone()
        } else {
            ctx.b.state.ranked.clone()
        };
        let rec = rec.clone();
        tokio::spawn(async move { ranked.record_match(&rec).await })
    });
    let mut applied = 0;
    for c in futures_util::future::join_all(calls).await {
        match c.unwrap().expect("record_match") {
            Recorded::Applied(_) => applied += 1,
            Recorded::AlreadyRecorded => {}
        }
    }
    assert_eq!(
        applied, 1,
        "{}: exactly one call applies the match",
        ctx.backend
    );
    // And later, again.
    assert_eq!(
        ctx.b.state.ranked.record_match(&rec).await.unwrap(),
        Recorded::AlreadyRecorded
    );
    let pool = ctx.a.state.db.primary();
    assert_eq!(result_count(pool, ann).await.unwrap(), 1);
    assert_eq!(result_count(pool, bob).await.unwrap(), 1);
    for server in [&ctx.a, &ctx.b] {
        let r = server.state.ranked.ratings(&[ann, bob]).await.unwrap();
        assert_eq!((r[0].games, r[1].games), (1, 1));
    }
    for base in [&ctx.a.base_url, &ctx.b.base_url] {
        let me = ctx.ok(base, "/v1/ratings/me", &token).await;
        assert_eq!(me["games"], 1);
    }
    for base in [ctx.a.base_url.clone(), ctx.b.base_url.clone()] {
        for board in ["points-week", "points-day", "topic:science"] {
            let path = format!("/v1/leaderboards/{board}");
            let last = ctx
                .ok_until(&base, &path, &token, |v| ids(v) == vec![ann, bob])
                .await;
            assert_eq!(
                last["items"][0]["score"], 300,
                "{board}: points counted once"
            );
            assert_eq!(last["items"][1]["score"], 100);
        }
    }
}

/// Ratings move sensibly: the duel's winner up and loser down; in a room placements order
/// the changes, ties share, and an abandon is a loss whatever the placement said.
pub async fn duel_and_room(ctx: &Ctx) {
    let r = &ctx.a.state.ranked;
    let out = r
        .record_match(&record(
            "duel",
            None,
            MONDAY_10H,
            &[(11, 2, 10, false), (12, 1, 90, false)],
        ))
        .await
        .unwrap();
    let Recorded::Applied(rows) = out else {
        panic!("not applied")
    };
    let (loser, winner) = (&rows[0], &rows[1]);
    assert_eq!((loser.0, winner.0), (11, 12));
    assert_eq!(loser.1.display, 1000);
    assert!(
        winner.2.mu > winner.1.mu && winner.2.display > 1000,
        "{winner:?}"
    );
    assert!(
        loser.2.mu < loser.1.mu && loser.2.display < 1000,
        "{loser:?}"
    );
    assert!(winner.2.sigma < winner.1.sigma);
    assert_eq!(r.rating(12).await.unwrap(), winner.2);
    assert_eq!(
        r.rating(99).await.unwrap().games,
        0,
        "an unrated player has the initial rating"
    );

    // A room of 5: 21 first, 22 and 23 tie second, 24 fourth, 25 "first" but abandoned.
    let room = record(
        "room",
        Some("History"),
        MONDAY_10H + 1,
        &[
            (21, 1, 500, false),
            (22, 2, 300, false),
            (23, 2, 300, false),
            (24, 4, 100, false),
            (25, 1, 0, true),
        ],
    );
    let Recorded::Applied(rows) = r.record_match(&room).await.unwrap() else {
        panic!()
    };
    let mu: Vec<f64> = rows.iter().map(|x| x.2.mu).collect();
    assert!(mu[0] > mu[1] && mu[1] > mu[3] && mu[3] > mu[4], "{mu:?}");
    assert!((mu[1] - mu[2]).abs() < 1e-9, "a tie shares the update");
    assert!(rows[4].2.mu < rows[4].1.mu, "abandoning is a loss");
    // The rating board orders by the displayed rating, on both gateways.
    let (_, token) = ctx.user("viewer").await;
    for base in [ctx.a.base_url.clone(), ctx.b.base_url.clone()] {
        let page = ctx
            .ok_until(&base, "/v1/leaderboards/rating?limit=100", &token, |p| {
                p["total"] == 7
            })
            .await;
        let scores: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["score"].as_i64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert_eq!(page["items"][0]["user_id"], 21);
    }
}

/// Day and week windows roll over with the injected clock; the previous period and older
/// ones stay readable on both gateways, and each board says when it next resets.
pub async fn windows_roll_over(ctx: &Ctx) {
    let (ann, token) = ctx.user("ann").await;
    let r = &ctx.a.state.ranked;
    let m = |id: &str, at: i64, pts: i64| {
        record(id, None, at, &[(ann, 1, pts, false), (31, 2, 1, false)])
    };
    r.record_match(&m("w1", MONDAY_10H, 100)).await.unwrap();
    let week = |ago: u32| format!("/v1/leaderboards/points-week/me?period={ago}");
    let day = |ago: u32| format!("/v1/leaderboards/points-day/me?period={ago}");
    let score = |v: &Value| v["entry"]["score"].as_i64();
    let monday0 = MONDAY_10H - 10 * 3_600_000;

    let list = ctx.ok(&ctx.a.base_url, "/v1/leaderboards", &token).await;
    let by_id = |id: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id("points-day")["next_reset_ms"], monday0 + DAY);
    assert_eq!(by_id("points-week")["next_reset_ms"], monday0 + 7 * DAY);
    assert_eq!(by_id("points-week")["reset"], "weekly");
    assert_eq!(by_id("rating")["next_reset_ms"], Value::Null);

    // Tuesday: a new day, the same week.
    ctx.clock.advance(DAY);
    r.record_match(&m("w2", MONDAY_10H + DAY, 20))
        .await
        .unwrap();
    // Next Monday, then the one after: the first week is 1, then 2 periods ago.
    ctx.clock.advance(6 * DAY);
    ctx.b
        .state
        .ranked
        .record_match(&m("w3", MONDAY_10H + 7 * DAY, 7))
        .await
        .unwrap();
    for base in [ctx.a.base_url.clone(), ctx.b.base_url.clone()] {
        ctx.ok_until(&base, &week(0), &token, |v| score(v) == Some(7))
            .await;
        // The other gateway's matches arrive within a poll interval.
        let w1 = ctx
            .ok_until(&base, &week(1), &token, |v| score(v) == Some(120))
            .await;
        assert_eq!(w1["period"]["start_ms"], monday0);
        assert_eq!(w1["period"]["end_ms"], monday0 + 7 * DAY);
        assert_eq!(w1["next_reset_ms"], monday0 + 14 * DAY);
        // Days: today 7, yesterday nothing, 6 days ago (Tuesday) 20, 7 days ago (Monday) 100.
        assert_eq!(score(&ctx.ok(&base, &day(0), &token).await), Some(7));
        assert_eq!(score(&ctx.ok(&base, &day(1), &token).await), None);
        assert_eq!(score(&ctx.ok(&base, &day(6), &token).await), Some(20));
        assert_eq!(score(&ctx.ok(&base, &day(7), &token).await), Some(100));
    }
    ctx.clock.advance(7 * DAY);
    for base in [&ctx.a.base_url, &ctx.b.base_url] {
        assert_eq!(
            score(&ctx.ok(base, &week(0), &token).await),
            None,
            "a new week starts empty"
        );
        assert_eq!(score(&ctx.ok(base, &week(1), &token).await), Some(7));
        let w = ctx.ok(base, &week(2), &token).await;
        assert_eq!(
            score(&w),
            Some(120),
            "two weeks back is still readable: {w}"
        );
        assert_eq!(w["percentile"], 100.0);
        let page = ctx
            .ok(base, "/v1/leaderboards/points-week?period=2", &token)
            .await;
        assert_eq!(ids(&page), vec![ann, 31]);
    }
    // A fresh gateway start loads the same from the database.
    let restarted =
        gateway::ranked::Ranked::start_with_clock(ctx.a.state.db.clone(), ctx.clock.clone())
            .await
            .unwrap();
    let kind = gateway::ranked::BoardKind::PointsWeek;
    let v = restarted.view(&kind, 2).await.unwrap().unwrap();
    assert_eq!(v.me(ann).unwrap().0.score, 120);
    assert_eq!(
        restarted
            .view(&kind, 1)
            .await
            .unwrap()
            .unwrap()
            .me(ann)
            .unwrap()
            .0
            .score,
        7
    );
}

/// 31 players on a board: cursor pages cover it once in order; my rank, percentile and the
/// rows around me agree with the full list.
pub async fn paging_rank_around(ctx: &Ctx) {
    let (me, token) = ctx.user("meg").await;
    let r = &ctx.a.state.ranked;
    // Fake players 1001..1030 (no accounts needed for a board), in duels with distinct points.
    for i in 0..15i64 {
        let (p, q) = (1001 + 2 * i, 1002 + 2 * i);
        r.record_match(&record(
            &format!("p{i}"),
            None,
            MONDAY_10H,
            &[(p, 1, 10 * p, false), (q, 2, 10 * q, false)],
        ))
        .await
        .unwrap();
    }
    // `me` scores 10_155: between 1015 and 1016.
    r.record_match(&record(
        "mine",
        None,
        MONDAY_10H,
        &[(me, 1, 10_155, false), (2000, 2, 0, false)],
    ))
    .await
    .unwrap();
    let base = ctx.b.base_url.clone();
    ctx.ok_until(&base, "/v1/leaderboards/points-day?limit=1", &token, |v| {
        v["total"] == 32
    })
    .await;
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/leaderboards/points-day?limit=7&cursor={c}"),
            None => "/v1/leaderboards/points-day?limit=7".into(),
        };
        let page = ctx.ok(&base, &path, &token).await;
        pages += 1;
        for e in page["items"].as_array().unwrap() {
            all.push((
                e["rank"].as_u64().unwrap(),
                e["user_id"].as_i64().unwrap(),
                e["score"].as_i64().unwrap(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(all.len(), 32);
    assert_eq!(all.iter().map(|e| e.1).collect::<HashSet<_>>().len(), 32);
    assert!(all.iter().enumerate().all(|(i, e)| e.0 == i as u64 + 1));
    assert!(all.windows(2).all(|w| w[0].2 >= w[1].2));
    let my_rank = all.iter().position(|e| e.1 == me).unwrap() as u64 + 1;
    assert_eq!(my_rank, 16); // 1030..=1016 are above
    let mine = ctx
        .ok(&base, "/v1/leaderboards/points-day/me", &token)
        .await;
    assert_eq!(mine["entry"]["rank"], my_rank);
    assert_eq!(mine["entry"]["username"], "meg");
    let pct = mine["percentile"].as_f64().unwrap();
    assert!(
        (pct - 100.0 * (32.0 - 16.0 + 1.0) / 32.0).abs() < 1e-9,
        "{pct}"
    );
    let around = ctx
        .ok(
            &base,
            "/v1/leaderboards/points-day/around?above=2&below=3",
            &token,
        )
        .await;
    let got: Vec<i64> = ids(&around);
    let want: Vec<i64> = all[13..19].iter().map(|e| e.1).collect();
    assert_eq!(got, want);
    // Someone not on a board: no entry, empty neighbours.
    let (_, other) = ctx.user("nobody").await;
    let none = ctx
        .ok(&base, "/v1/leaderboards/points-day/me", &other)
        .await;
    assert_eq!(
        (none["entry"].clone(), none["percentile"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        ctx.ok(&base, "/v1/leaderboards/points-day/around", &other)
            .await["items"],
        serde_json::json!([])
    );
}

/// A match recorded on A shows on B (and the reverse) with the same answers, and B's watchers
/// get the new top pushed.
pub async fn gateways_agree_and_watch(ctx: &Ctx) {
    let (ann, token) = ctx.user("ann").await;
    // Watch on B before anything is recorded.
    let mut stream = ctx
        .http
        .get(format!(
            "{}/v1/leaderboards/points-week/watch?limit=5",
            ctx.b.base_url
        ))
        .bearer_auth(&token.b)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut buf = String::new();
    let first = next_top(&mut stream, &mut buf).await;
    assert_eq!(first["total"], 0);
    ctx.a
        .state
        .ranked
        .record_match(&record(
            "agree-1",
            None,
            MONDAY_10H,
            &[(ann, 1, 40, false), (41, 2, 30, false)],
        ))
        .await
        .unwrap();
    let pushed = next_top(&mut stream, &mut buf).await;
    assert_eq!(ids(&pushed), vec![ann, 41], "{pushed}");
    assert_eq!(pushed["items"][0]["username"], "ann");
    ctx.b
        .state
        .ranked
        .record_match(&record(
            "agree-2",
            None,
            MONDAY_10H + 5,
            &[(41, 1, 50, false), (42, 2, 1, false)],
        ))
        .await
        .unwrap();
    let pushed = next_top(&mut stream, &mut buf).await;
    assert_eq!(ids(&pushed), vec![41, ann, 42], "{pushed}");
    for path in [
        "/v1/leaderboards/points-week?limit=10",
        "/v1/leaderboards/rating?limit=10",
        "/v1/leaderboards/points-week/me",
    ] {
        let token = &token;
        ctx.eventually("A and B agree", || async move {
            let a = ctx.ok(&ctx.a.base_url, path, token).await;
            let b = ctx.ok(&ctx.b.base_url, path, token).await;
            (a == b && a["total"] == 3).then_some(())
        })
        .await;
    }
}

/// Bad requests get problem+json and change nothing; bad match records are refused.
pub async fn bad_input(ctx: &Ctx) {
    let (ann, token) = ctx.user("ann").await;
    let base = &ctx.a.base_url;
    for (path, status) in [
        ("/v1/leaderboards/nope", 404),
        ("/v1/leaderboards/topic:unknown", 404),
        ("/v1/leaderboards/topic:UPPER", 404),
        ("/v1/leaderboards/rating?period=1", 404),
        ("/v1/leaderboards/points-week?period=1001", 422),
        ("/v1/leaderboards/points-week?period=-1", 400),
        ("/v1/leaderboards/points-week?limit=0", 422),
        ("/v1/leaderboards/points-week?limit=101", 422),
        ("/v1/leaderboards/points-week?cursor=zz", 422),
        ("/v1/leaderboards/points-week?cursor=00", 422),
        ("/v1/leaderboards/points-week?bogus=1", 400),
        ("/v1/leaderboards/points-week/around?above=51", 422),
        ("/v1/leaderboards/points-week/watch?limit=0", 422),
        ("/v1/leaderboards/points-week/watch?limit=51", 422),
    ] {
        let (s, ct, body) = ctx.get(base, path, &token).await;
        assert_eq!(s, status, "{path}: {body}");
        assert!(ct.starts_with("application/problem+json"), "{path}: {ct}");
    }
    let (s, ct, _) = ctx
        .get(base, "/v1/leaderboards", &crate::ctx::Tok::bad())
        .await;
    assert_eq!((s, ct.starts_with("application/problem+json")), (401, true));

    let r = &ctx.a.state.ranked;
    let ok = [(ann, 1, 5, false), (51, 2, 1, false)];
    let bad: Vec<MatchRecord> = vec![
        record("", None, MONDAY_10H, &ok),
        record(&"x".repeat(129), None, MONDAY_10H, &ok),
        record("one", None, MONDAY_10H, &ok[..1]),
        record(
            "nine",
            None,
            MONDAY_10H,
            &(0..9).map(|i| (100 + i, 1, 0, false)).collect::<Vec<_>>(),
        ),
        record(
            "dup",
            None,
            MONDAY_10H,
            &[(ann, 1, 5, false), (ann, 2, 1, false)],
        ),
        record(
            "place0",
            None,
            MONDAY_10H,
            &[(ann, 0, 5, false), (51, 2, 1, false)],
        ),
        record(
            "pts",
            None,
            MONDAY_10H,
            &[(ann, 1, i64::MAX, false), (51, 2, 1, false)],
        ),
        record("topic", Some("   "), MONDAY_10H, &ok),
        record("future", None, MONDAY_10H + 2 * 3_600_000, &ok),
        record("past", None, -1, &ok),
    ];
    for rec in &bad {
        let e = r.record_match(rec).await.expect_err("refused");
        assert!(
            matches!(e, gateway::store::StoreError::Conflict(_)),
            "{e:?}"
        );
    }
    assert_eq!(
        result_count(ctx.a.state.db.primary(), ann).await.unwrap(),
        0
    );
    assert_eq!(r.rating(ann).await.unwrap().games, 0);
    let page = ctx.ok(base, "/v1/leaderboards/points-week", &token).await;
    assert_eq!(page["total"], 0);
}

/// The next `top` event of a watch stream.
async fn next_top(stream: &mut reqwest::Response, buf: &mut String) -> Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: top") {
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return serde_json::from_str(&data).unwrap();
            }
            continue;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("stream open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

/// A match whose transaction took its sequence number first but commits after a later match
/// (MySQL hands out auto-increment values before commit) still reaches both gateways: the
/// skipped number is re-checked until it appears.
pub async fn slow_commit_is_not_missed(ctx: &Ctx) {
    use gateway::db::Dialect;
    use gateway::store::ranked as store;
    let (ann, token) = ctx.user("ann").await;
    let week = leaderboard_core::ResetSchedule::Weekly
        .window_of(MONDAY_10H)
        .0;
    // The slow match: its rows written by hand in a transaction left open for a while.
    let mut tx = ctx.a.state.db.primary().begin().await.unwrap();
    let seq = store::insert_match(&mut tx, "slow", None, MONDAY_10H, MONDAY_10H, 2)
        .await
        .unwrap()
        .expect("new match");
    let dialect = ctx.a.state.db.dialect();
    assert_eq!(dialect, Dialect::MySql);
    store::add_points(
        &mut tx,
        dialect,
        "points-week",
        week,
        &[(ann, 77), (71, 1)],
        MONDAY_10H,
    )
    .await
    .unwrap();
    for (user, points) in [(ann, 77), (71, 1)] {
        let r = store::ResultRow {
            user_id: user,
            placement: if user == ann { 1 } else { 2 },
            points,
            abandoned: false,
            before: (25.0, 25.0 / 3.0),
            after: (25.0, 25.0 / 3.0),
        };
        store::insert_result(&mut tx, seq, &r).await.unwrap();
    }
    // A later match commits first and is seen by both gateways.
    ctx.a
        .state
        .ranked
        .record_match(&record(
            "fast",
            None,
            MONDAY_10H,
            &[(61, 1, 5, false), (62, 2, 4, false)],
        ))
        .await
        .unwrap();
    for base in [&ctx.a.base_url, &ctx.b.base_url] {
        ctx.ok_until(base, "/v1/leaderboards/points-week", &token, |v| {
            v["total"] == 2
        })
        .await;
    }
    tx.commit().await.unwrap();
    for base in [&ctx.a.base_url, &ctx.b.base_url] {
        let v = ctx
            .ok_until(base, "/v1/leaderboards/points-week", &token, |v| {
                v["total"] == 4
            })
            .await;
        assert_eq!(v["items"][0]["user_id"], ann, "{v}");
        assert_eq!(v["items"][0]["score"], 77);
    }
}

/// Several results recorded in one batch (one transaction), through both gateways at once:
/// a match id recorded before is skipped, an invalid record is refused alone, the others are
/// applied once each, and a player in two matches of the batch is rated by both in turn.
pub async fn batch_of_results(ctx: &Ctx) {
    let r = &ctx.a.state.ranked;
    let first = record(
        "b-1",
        None,
        MONDAY_10H,
        &[(31, 1, 10, false), (32, 2, 5, false)],
    );
    assert!(matches!(
        r.record_match(&first).await.unwrap(),
        Recorded::Applied(_)
    ));
    let second = record(
        "b-2",
        Some("Art"),
        MONDAY_10H + 1,
        &[(33, 1, 7, false), (34, 2, 3, false)],
    );
    let invalid = record("b-bad", None, MONDAY_10H, &[(35, 1, 1, false)]);
    let third = record(
        "b-3",
        None,
        MONDAY_10H + 2,
        &[(34, 1, 9, false), (31, 2, 1, false)],
    );
    let batch: Vec<(MatchRecord, Vec<i64>)> = [&second, &first, &invalid, &third]
        .into_iter()
        .map(|m| (m.clone(), Vec::new()))
        .collect();
    // The same batch through the other gateway at the same time: each match once overall.
    let (here, there) = tokio::join!(
        r.record_matches(&batch),
        ctx.b.state.ranked.record_matches(&batch)
    );
    let (here, there) = (here.expect("batch"), there.expect("batch"));
    assert_eq!(here.len(), 4);
    let mut applied_rows = Vec::new();
    for (i, (h, t)) in here.iter().zip(&there).enumerate() {
        match (h, t) {
            (Err(_), Err(_)) => assert_eq!(i, 2, "only the invalid record is refused"),
            (Ok(Recorded::Applied(rows)), Ok(Recorded::AlreadyRecorded))
            | (Ok(Recorded::AlreadyRecorded), Ok(Recorded::Applied(rows))) => {
                assert!(i == 0 || i == 3, "{}: record {i} applied", ctx.backend);
                applied_rows.push((i, rows.clone()));
            }
            (Ok(Recorded::AlreadyRecorded), Ok(Recorded::AlreadyRecorded)) => {
                assert_eq!(i, 1, "{}: only the repeat is skipped", ctx.backend)
            }
            other => panic!("{}: record {i}: {other:?}", ctx.backend),
        }
    }
    assert_eq!(applied_rows.len(), 2, "{}", ctx.backend);
    let pool = ctx.a.state.db.primary();
    for (user, games) in [(31, 2), (32, 1), (33, 1), (34, 2), (35, 0)] {
        assert_eq!(
            result_count(pool, user).await.unwrap(),
            games,
            "{}: results of {user}",
            ctx.backend
        );
        if games > 0 {
            assert_eq!(r.rating(user).await.unwrap().games, games as u32);
        }
    }
    // Player 34 played b-2 then b-3 in the batch: b-3 starts from b-2's result.
    let after_b2 = applied_rows.iter().find(|(i, _)| *i == 0).unwrap().1[1].2;
    let before_b3 = applied_rows.iter().find(|(i, _)| *i == 3).unwrap().1[0].1;
    assert_eq!(after_b2, before_b3, "{}", ctx.backend);
}

/// The SDK's typed calls (`livequiz_sdk::Client::leaderboards`, `leaderboard` with period,
/// limit and cursor paging, `leaderboard_me`, `leaderboard_around`, `my_rating`) against the
/// gateway: every response decodes into the SDK's types and says what the JSON says.
pub async fn sdk_methods(ctx: &Ctx) {
    use livequiz_sdk::types::{AroundQuery, BoardQuery};
    let (ann, ta) = ctx.user("ann").await;
    let (bob, tb) = ctx.user("bob").await;
    let (_, tc) = ctx.user("cal").await;
    let r = &ctx.a.state.ranked;
    r.record_match(&record(
        "old",
        None,
        MONDAY_10H - 7 * DAY,
        &[(ann, 1, 90, false), (1001, 2, 10, false)],
    ))
    .await
    .unwrap();
    r.record_match(&record(
        "new",
        Some("World History"),
        MONDAY_10H,
        &[(ann, 1, 40, false), (bob, 2, 30, false)],
    ))
    .await
    .unwrap();
    let base = ctx.b.base_url.clone();
    ctx.ok_until(&base, "/v1/leaderboards/points-week/me", &tb, |v| {
        v["total"] == 2 && v["entry"]["rank"] == 2
    })
    .await;
    let client = livequiz_sdk::Client::new(&base).unwrap();
    let (ann_c, bob_c, cal_c) = (
        client.with_token(&ta.b),
        client.with_token(&tb.b),
        client.with_token(&tc.b),
    );

    let boards = ann_c.leaderboards().await.expect("leaderboards");
    let ids: Vec<&str> = boards.items.iter().map(|b| b.id.as_str()).collect();
    for id in ["rating", "points-week", "points-day", "topic:world history"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let week = boards.items.iter().find(|b| b.id == "points-week").unwrap();
    assert_eq!(week.reset.as_deref(), Some("weekly"));
    assert_eq!(week.total, 2);
    assert_eq!(week.period.ago, 0);
    assert_eq!(week.next_reset_ms, week.period.end_ms);
    let rating = boards.items.iter().find(|b| b.id == "rating").unwrap();
    assert_eq!(
        (rating.reset.as_deref(), rating.next_reset_ms),
        (None, None)
    );

    // Pages of one row, followed by their cursors.
    let mut q = BoardQuery {
        limit: Some(1),
        ..Default::default()
    };
    let mut rows = Vec::new();
    loop {
        let page = ann_c.leaderboard("points-week", &q).await.expect("page");
        assert_eq!((page.board.as_str(), page.total), ("points-week", 2));
        assert!(page.items.len() <= 1);
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let got: Vec<(u64, i64, &str, i64)> = rows
        .iter()
        .map(|e| (e.rank, e.user_id, e.username.as_str(), e.score))
        .collect();
    assert_eq!(got, [(1, ann, "ann", 40), (2, bob, "bob", 30)]);

    // Last week, and a topic board (its id percent-encoded in the path).
    let last = ann_c
        .leaderboard(
            "points-week",
            &BoardQuery {
                period: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("last week");
    assert_eq!(last.period.ago, 1);
    assert_eq!(last.period.end_ms, week.period.start_ms);
    let got: Vec<(i64, &str, i64)> = last
        .items
        .iter()
        .map(|e| (e.user_id, e.username.as_str(), e.score))
        .collect();
    assert_eq!(got, [(ann, "ann", 90), (1001, "user 1001", 10)]);
    let topic = bob_c
        .leaderboard("topic:world history", &BoardQuery::default())
        .await
        .expect("topic board");
    assert_eq!(topic.board, "topic:world history");
    assert_eq!(topic.items.len(), 2);

    // Rank and percentile, now and last week; someone not on the board.
    let me = bob_c.leaderboard_me("points-week", None).await.unwrap();
    assert_eq!(me.entry.as_ref().map(|e| (e.rank, e.score)), Some((2, 30)));
    assert_eq!(me.percentile, Some(50.0));
    let then = ann_c.leaderboard_me("points-week", Some(1)).await.unwrap();
    assert_eq!(then.entry.map(|e| (e.rank, e.score)), Some((1, 90)));
    assert_eq!(then.percentile, Some(100.0));
    let none = cal_c.leaderboard_me("points-week", None).await.unwrap();
    assert_eq!((none.entry, none.percentile, none.total), (None, None, 2));

    // Neighbours.
    let around = bob_c
        .leaderboard_around(
            "points-week",
            &AroundQuery {
                above: Some(1),
                below: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got: Vec<i64> = around.items.iter().map(|e| e.user_id).collect();
    assert_eq!(got, [ann, bob]);
    assert_eq!(around.total, 2);
    let nobody = cal_c
        .leaderboard_around("points-week", &AroundQuery::default())
        .await
        .unwrap();
    assert!(nobody.items.is_empty());

    // Ratings: two rated games for ann, one for bob, none (the initial rating) for cal.
    let (ra, rb, rc) = (
        ann_c.my_rating().await.unwrap(),
        bob_c.my_rating().await.unwrap(),
        cal_c.my_rating().await.unwrap(),
    );
    assert_eq!((ra.games, rb.games, rc.games), (2, 1, 0));
    assert!(ra.display > rb.display, "{ra:?} {rb:?}");
    assert_eq!((rc.mu, rc.sigma), (25.0, 25.0 / 3.0), "the initial rating");

    // Refusals come back as problem documents.
    let e = ann_c
        .leaderboard("no-such-board", &BoardQuery::default())
        .await
        .expect_err("unknown board");
    assert_eq!(e.status(), Some(404), "{e}");
    let e = ann_c
        .leaderboard(
            "points-week",
            &BoardQuery {
                limit: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect_err("limit 0");
    assert_eq!(e.status(), Some(422), "{e}");
    assert_eq!(
        e.problem().map(|p| p.errors[0].field.as_str()),
        Some("limit")
    );
    let e = ann_c
        .leaderboard_me("rating", Some(1))
        .await
        .expect_err("no past periods");
    assert_eq!(e.status(), Some(404), "{e}");
    let e = client.my_rating().await.expect_err("no token");
    assert_eq!(e.status(), Some(401), "{e}");
}
