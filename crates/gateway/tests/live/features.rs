//! Session options and host accommodations over real WebSockets: per-player extra time,
//! texts hidden on devices with accuracy-only scoring, the host's roster snapshot after a
//! reconnect, the player cap and the live player count in players' frames.

use std::time::Duration;

use livequiz_sdk::live::{
    ClientMsg, CreateSession, CreatedSession, Credentials, ErrorCode, LiveClient, Phase,
    ScoringRules, ServerMsg,
};

use crate::common::{make_quiz_with, wait_msg, Ctx};

async fn create(ctx: &Ctx, req: CreateSession) -> CreatedSession {
    ctx.host
        .create_live_session(&req)
        .await
        .expect("create live session")
}

async fn expect_error(c: &mut LiveClient, want: ErrorCode) {
    let got = wait_msg(c, "error frame", |m| match m {
        ServerMsg::Error { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(got, want);
}

async fn question(c: &mut LiveClient, index: u32) -> livequiz_sdk::live::QuestionView {
    wait_msg(c, "question", |m| match m {
        ServerMsg::Question(q) if q.index == index => Some(q.clone()),
        _ => None,
    })
    .await
}

/// The host gives ann triple time: her question frame carries her own deadline, the room
/// waits past everyone else's deadline for her, her late answer is accepted and scored
/// against her own limit. Bad percents and players' attempts are refused.
pub async fn extra_time(ctx: &Ctx) {
    let quiz_id = make_quiz_with(&ctx.host, &[2_000]).await;
    let s = create(
        ctx,
        CreateSession {
            quiz_id,
            reveal_ms: Some(60_000),
            ..Default::default()
        },
    )
    .await;
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let mut bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let ann_id = ann.welcome().player_id.expect("ann's id");
    assert_eq!(ann.welcome().extra_time_percent, Some(100));

    host.extra_time(ann_id, 301).unwrap();
    expect_error(&mut host, ErrorCode::BadExtraTime).await;
    host.extra_time(ann_id, 99).unwrap();
    expect_error(&mut host, ErrorCode::BadExtraTime).await;
    host.extra_time(999, 150).unwrap();
    expect_error(&mut host, ErrorCode::UnknownPlayer).await;
    bob.extra_time(ann_id, 300).unwrap();
    expect_error(&mut bob, ErrorCode::NotHost).await;
    host.extra_time(ann_id, 300).unwrap();
    let confirmed = wait_msg(&mut host, "extra time confirmed", |m| match m {
        ServerMsg::Roster {
            player_id,
            event,
            extra_time_percent,
            ..
        } if *player_id == ann_id && event == "extra_time" => Some(*extra_time_percent),
        _ => None,
    })
    .await;
    assert_eq!(confirmed, Some(300));

    host.send(ClientMsg::Start).unwrap();
    let hq = question(&mut host, 0).await;
    let aq = question(&mut ann, 0).await;
    let bq = question(&mut bob, 0).await;
    assert_eq!(hq.latest_deadline, Some(hq.opened_at + 6_000));
    assert_eq!(
        (bq.time_limit_ms, bq.deadline),
        (2_000, bq.opened_at + 2_000)
    );
    assert_eq!(bq.extra_time_percent, None);
    assert_eq!(
        (aq.time_limit_ms, aq.deadline, aq.extra_time_percent),
        (6_000, aq.opened_at + 6_000, Some(300))
    );

    // Past everyone else's deadline: bob is too late, ann is not.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    bob.answer(0, vec![1], None).unwrap();
    expect_error(&mut bob, ErrorCode::TooLate).await;
    ann.answer(0, vec![1], Some(1)).unwrap();
    let elapsed = wait_msg(&mut ann, "ack", |m| match m {
        ServerMsg::AnswerAck { elapsed_ms, .. } => Some(*elapsed_ms),
        ServerMsg::Error { code, message, .. } => panic!("refused: {code:?} {message}"),
        _ => None,
    })
    .await;
    assert!(elapsed >= 2_000, "answered after the question's own limit");
    let points = wait_msg(&mut ann, "reveal", |m| match m {
        ServerMsg::Reveal {
            result: Some(r), ..
        } => Some(r.points),
        _ => None,
    })
    .await;
    let t = f64::from(elapsed.min(6_000)) / 6_000.0;
    assert_eq!(points, (1000.0 * (1.0 - t / 2.0)).round() as u32);
    assert!(points > 500, "not penalised as if her limit were 2 s");
    wait_msg(&mut host, "reveal", |m| {
        matches!(m, ServerMsg::Reveal { .. }).then_some(())
    })
    .await;
}

/// Texts hidden on devices: players get indices only (also in a resumed welcome), the host
/// the full texts; accuracy-only scoring pays `max_points` however late the answer.
pub async fn hidden_question(ctx: &Ctx) {
    let s = create(
        ctx,
        CreateSession {
            quiz_id: ctx.quiz_id,
            reveal_ms: Some(60_000),
            show_question_on_devices: Some(false),
            scoring: Some(ScoringRules {
                speed: false,
                ..ScoringRules::default()
            }),
            ..Default::default()
        },
    )
    .await;
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let _bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let token = ann.welcome().resume_token.clone().unwrap();
    host.send(ClientMsg::Start).unwrap();
    let hq = question(&mut host, 0).await;
    assert!(!hq.hidden);
    assert_eq!(hq.text, "Live question 0?");
    assert_eq!(hq.choices[1].text, "yes");
    let aq = question(&mut ann, 0).await;
    assert!(aq.hidden);
    assert_eq!(aq.text, "");
    assert_eq!(aq.choices.len(), 3);
    assert!(aq.choices.iter().all(|c| c.text.is_empty()));
    // A resumed player is not shown them either.
    ann.close();
    let mut ann = ctx.connect(&s.code, Credentials::Resume(token)).await;
    let w = ann.welcome().question.clone().expect("the open question");
    assert!(w.hidden && w.text.is_empty() && w.choices.iter().all(|c| c.text.is_empty()));
    ann.answer(0, vec![1], None).unwrap();
    let points = wait_msg(&mut ann, "reveal", |m| match m {
        ServerMsg::Reveal {
            result: Some(r), ..
        } => Some(r.points),
        _ => None,
    })
    .await;
    assert_eq!(points, 1000, "accuracy only");
}

/// A host that reconnects mid-question gets the roster (connected or away, extra time), the
/// open question's counts and the lock state in its welcome; players' welcomes have none.
pub async fn host_reconnect_roster(ctx: &Ctx) {
    // A long limit: the question is still open when the host is back.
    let quiz_id = make_quiz_with(&ctx.host, &[60_000]).await;
    let s = create(
        ctx,
        CreateSession {
            quiz_id,
            reveal_ms: Some(60_000),
            max_players: Some(7),
            ..Default::default()
        },
    )
    .await;
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    assert_eq!(host.welcome().roster, Some(vec![]));
    assert_eq!(host.welcome().max_players, 7);
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    assert_eq!(ann.welcome().roster, None);
    let (ann_id, bob_id) = (
        ann.welcome().player_id.unwrap(),
        bob.welcome().player_id.unwrap(),
    );
    host.extra_time(bob_id, 150).unwrap();
    host.send(ClientMsg::Lock).unwrap();
    wait_msg(&mut host, "locked", |m| {
        matches!(m, ServerMsg::JoinsLocked { locked: true }).then_some(())
    })
    .await;
    bob.close();
    wait_msg(&mut host, "bob left", |m| match m {
        ServerMsg::Roster {
            player_id, event, ..
        } if *player_id == bob_id && event == "left" => Some(()),
        _ => None,
    })
    .await;
    host.send(ClientMsg::Start).unwrap();
    question(&mut ann, 0).await;
    ann.answer(0, vec![2], None).unwrap();
    wait_msg(&mut ann, "ack", |m| {
        matches!(m, ServerMsg::AnswerAck { .. }).then_some(())
    })
    .await;
    host.close();

    let host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let w = host.welcome();
    assert_eq!(w.phase, Phase::Question);
    assert!(w.locked);
    assert_eq!(w.max_players, 7);
    let roster: Vec<(u64, &str, bool, u32)> = w
        .roster
        .as_ref()
        .expect("the host's roster")
        .iter()
        .map(|e| {
            (
                e.player_id,
                e.nickname.as_str(),
                e.connected,
                e.extra_time_percent,
            )
        })
        .collect();
    assert_eq!(
        roster,
        vec![(ann_id, "ann", true, 100), (bob_id, "bob", false, 150)]
    );
    let counts = w
        .answer_counts
        .as_ref()
        .expect("the open question's counts");
    assert_eq!(
        (counts.question, counts.answered, counts.players),
        (0, 1, 2)
    );
    assert_eq!(counts.counts, vec![0, 0, 1]);
    let q = w.question.as_ref().expect("the open question, in full");
    assert_eq!(q.latest_deadline, Some(q.opened_at + 90_000));
}

/// Every welcome carries the player cap, and players (not only the host) see the player
/// count grow in the lobby through their `rank` frames, with their percentile.
pub async fn players_see_the_count_and_cap(ctx: &Ctx) {
    let s = create(
        ctx,
        CreateSession {
            quiz_id: ctx.quiz_id,
            max_players: Some(5),
            ..Default::default()
        },
    )
    .await;
    let host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    assert_eq!(host.welcome().max_players, 5);
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    assert_eq!(ann.welcome().max_players, 5);
    assert_eq!(ann.welcome().players, 1);
    let bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    assert_eq!(bob.welcome().max_players, 5);
    let tied = wait_msg(&mut ann, "two players", |m| match m {
        ServerMsg::Rank {
            players: 2,
            percentile,
            ..
        } => Some(*percentile),
        _ => None,
    })
    .await;
    assert_eq!(tied, 0, "tied with bob: ahead of nobody");
    let _cy = ctx.connect(&s.code, Credentials::Guest("cy".into())).await;
    wait_msg(&mut ann, "three players", |m| match m {
        ServerMsg::Rank { players: 3, .. } => Some(()),
        _ => None,
    })
    .await;
}

/// A join frame's login token is checked by the same function as a REST request's bearer
/// token: what REST accepts the WebSocket accepts (as that account), what REST refuses with
/// 401 it refuses as `unauthorized`, and when the check itself fails (the database is down)
/// both say so: 503 over REST, `internal` with close 1001 (retry) over the WebSocket, not a
/// verdict on the token.
pub async fn account_tokens_are_checked_like_rest(ctx: &Ctx) {
    let url = &ctx.server.base_url;
    let s = ctx.session(5_000).await;
    let anon = livequiz_sdk::Client::new(url).unwrap();
    anon.register(&livequiz_sdk::types::RegisterRequest {
        username: "cleo".into(),
        password: "cleo-password".into(),
    })
    .await
    .expect("register");
    let cleo = anon.login("cleo", "cleo-password").await.expect("login");
    let token = cleo.token().expect("token").to_string();
    assert_eq!(
        cleo.me().await.expect("REST accepts the token").username,
        "cleo"
    );
    let joined = ctx
        .connect(&s.code, Credentials::Account(token.clone()))
        .await;
    assert_eq!(joined.welcome().nickname.as_deref(), Some("cleo"));
    drop(joined);

    // Logged out: refused by both.
    cleo.logout().await.expect("logout");
    assert_eq!(
        cleo.me().await.expect_err("REST refuses").status(),
        Some(401)
    );
    let r = LiveClient::connect(url, &s.code, Credentials::Account(token.clone())).await;
    match r {
        Err(livequiz_sdk::live::LiveError::Refused { code, .. }) => {
            assert_eq!(code, ErrorCode::Unauthorized)
        }
        other => panic!("expected an unauthorized join, got {other:?}"),
    }

    // The check cannot be made: a transient refusal, not `unauthorized`.
    let fresh = anon
        .login("cleo", "cleo-password")
        .await
        .expect("login again");
    let token = fresh.token().expect("token").to_string();
    ctx.server.state.db.primary().close().await;
    let status = fresh.me().await.expect_err("REST cannot check").status();
    assert_eq!(status, Some(503));
    let (code, close) = crate::common::raw_join(url, &s.code, &token).await;
    assert_eq!(code, ErrorCode::Internal);
    assert_eq!(close, Some(livequiz_sdk::live::close::GOING_AWAY));
}
