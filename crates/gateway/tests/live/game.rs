//! Live game scenarios, each run on the embedded default and on the real stack.

use livequiz_sdk::live::{
    close, ClientMsg, Credentials, ErrorCode, LiveError, LiveEvent, Phase, ScoringRules, ServerMsg,
};

use crate::common::{wait_for, wait_msg, Ctx, Proxy};

fn expected_points(elapsed_ms: u32, limit_ms: u32, streak: u32) -> u32 {
    let r = ScoringRules::default();
    let speed = if elapsed_ms < r.full_points_ms {
        r.max_points
    } else {
        let t = f64::from(elapsed_ms.min(limit_ms)) / f64::from(limit_ms);
        (f64::from(r.max_points) * (1.0 - t / 2.0)).round() as u32
    };
    speed
        + if streak > 1 {
            (100 * (streak - 1)).min(500)
        } else {
            0
        }
}

/// Join by code, start, answer, reveal, scores per formula, versioned leaderboard, final
/// standings stored.
pub async fn happy_path(ctx: &Ctx) {
    let s = ctx.session(50).await;
    assert_eq!(s.code.len(), 6);
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    assert_eq!(host.welcome().phase, Phase::Lobby);
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let mut bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    assert!(ann.welcome().resume_token.is_some());
    wait_msg(&mut host, "bob joined", |m| match m {
        ServerMsg::Roster {
            nickname, event, ..
        } if nickname == "bob" && event == "joined" => Some(()),
        _ => None,
    })
    .await;
    host.send(ClientMsg::Start).unwrap();
    let mut totals = [0i64; 2];
    let mut streaks = [0u32; 2];
    let mut last_versions = [0u64; 2];
    for qi in 0..3u32 {
        for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
            let q = wait_msg(p, "question", |m| match m {
                ServerMsg::Question(q) if q.index == qi => Some(q.clone()),
                _ => None,
            })
            .await;
            assert_eq!(q.choices.len(), 3);
            // ann always right; bob right only on question 1.
            let choice = if i == 0 || qi == 1 { 1 } else { 2 };
            p.answer(qi, vec![choice], Some(u64::from(qi))).unwrap();
        }
        for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
            let elapsed = wait_msg(p, "ack", |m| match m {
                ServerMsg::AnswerAck {
                    question,
                    elapsed_ms,
                    req,
                } if *question == qi => {
                    assert_eq!(*req, Some(u64::from(qi)));
                    Some(*elapsed_ms)
                }
                ServerMsg::Error { code, message, .. } => {
                    panic!("answer refused: {code:?} {message}")
                }
                _ => None,
            })
            .await;
            let right = i == 0 || qi == 1;
            streaks[i] = if right { streaks[i] + 1 } else { 0 };
            let points = if right {
                expected_points(elapsed, 1_000, streaks[i])
            } else {
                0
            };
            let result = wait_msg(p, "reveal", |m| match m {
                ServerMsg::Reveal {
                    question,
                    correct,
                    result: Some(r),
                    ..
                } if *question == qi => {
                    assert_eq!(correct, &vec![1]);
                    Some(*r)
                }
                ServerMsg::Rank { version, .. } => {
                    assert!(*version >= last_versions[i], "versions are monotonic");
                    last_versions[i] = *version;
                    None
                }
                _ => None,
            })
            .await;
            totals[i] += i64::from(points);
            assert!(result.answered);
            assert_eq!(result.correct, right);
            assert_eq!(result.points, points, "question {qi} player {i}");
            assert_eq!(result.score, totals[i]);
        }
    }
    let (top, you) = wait_msg(&mut ann, "finished", |m| match m {
        ServerMsg::Finished { top, you, .. } => Some((top.clone(), you.clone())),
        _ => None,
    })
    .await;
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].nickname, "ann");
    assert_eq!(top[0].score, totals[0]);
    assert_eq!(you.unwrap().rank, 1);
    let closed = wait_for(&mut ann, "close", |e| match e {
        LiveEvent::Closed { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(closed, Some(close::SESSION_FINISHED));
    wait_msg(&mut host, "host finished", |m| {
        matches!(m, ServerMsg::Finished { you: None, .. }).then_some(())
    })
    .await;
    let stored = ctx
        .host
        .live_standings(s.session_id)
        .await
        .expect("standings");
    assert_eq!(stored, top);
    assert_eq!(ctx.answers_recorded(s.session_id).await, 6);
}

fn refused(r: Result<livequiz_sdk::live::LiveClient, LiveError>) -> ErrorCode {
    match r {
        Err(LiveError::Refused { code, .. }) => code,
        other => panic!("expected a refused join, got {other:?}"),
    }
}

async fn expect_error(c: &mut livequiz_sdk::live::LiveClient, want: ErrorCode) {
    let got = wait_msg(c, "error frame", |m| match m {
        ServerMsg::Error { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(got, want);
}

/// Wrong code, duplicate nickname, bad host token, answer after deadline, double answer,
/// malformed JSON, role errors.
pub async fn bad_input(ctx: &Ctx) {
    let url = &ctx.server.base_url;
    let s = ctx.session(5_000).await;
    let bad = if s.code == "000000" {
        "000001"
    } else {
        "000000"
    };
    let r = livequiz_sdk::live::LiveClient::connect(url, bad, Credentials::Guest("x".into())).await;
    assert_eq!(refused(r), ErrorCode::UnknownSession);
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let _bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let r = livequiz_sdk::live::LiveClient::connect(url, &s.code, Credentials::Guest("ANN".into()))
        .await;
    assert_eq!(refused(r), ErrorCode::NicknameTaken);
    let r =
        livequiz_sdk::live::LiveClient::connect(url, &s.code, Credentials::Guest(" ".into())).await;
    assert_eq!(refused(r), ErrorCode::BadNickname);
    let r = livequiz_sdk::live::LiveClient::connect(url, &s.code, Credentials::Host("nope".into()))
        .await;
    assert_eq!(refused(r), ErrorCode::Unauthorized);
    let r =
        livequiz_sdk::live::LiveClient::connect(url, &s.code, Credentials::Resume("nope".into()))
            .await;
    assert_eq!(refused(r), ErrorCode::BadResumeToken);
    let r =
        livequiz_sdk::live::LiveClient::connect(url, &s.code, Credentials::Account("nope".into()))
            .await;
    assert_eq!(refused(r), ErrorCode::Unauthorized);

    ann.send_raw("{not json").unwrap();
    expect_error(&mut ann, ErrorCode::BadMessage).await;
    ann.send_raw(r#"{"type":"launch_missiles"}"#).unwrap();
    expect_error(&mut ann, ErrorCode::BadMessage).await;
    ann.send(ClientMsg::Start).unwrap();
    expect_error(&mut ann, ErrorCode::NotHost).await;
    ann.answer(0, vec![1], None).unwrap();
    expect_error(&mut ann, ErrorCode::NotOpen).await;
    host.answer(0, vec![1], None).unwrap();
    expect_error(&mut host, ErrorCode::NotPlayer).await;

    host.send(ClientMsg::Start).unwrap();
    wait_msg(&mut ann, "question", |m| {
        matches!(m, ServerMsg::Question(_)).then_some(())
    })
    .await;
    ann.answer(0, vec![9], None).unwrap();
    expect_error(&mut ann, ErrorCode::BadChoice).await;
    ann.answer(0, vec![1], Some(1)).unwrap();
    ann.answer(0, vec![2], Some(2)).unwrap();
    expect_error(&mut ann, ErrorCode::AlreadyAnswered).await;
    // bob does not answer: the question closes at its 1 s deadline, then a late answer fails.
    wait_msg(&mut ann, "reveal", |m| {
        matches!(m, ServerMsg::Reveal { .. }).then_some(())
    })
    .await;
    ann.answer(0, vec![1], None).unwrap();
    expect_error(&mut ann, ErrorCode::TooLate).await;
    host.send(ClientMsg::Remove { player_id: 999 }).unwrap();
    expect_error(&mut host, ErrorCode::UnknownPlayer).await;
    assert_eq!(
        ctx.answers_recorded(s.session_id).await,
        1,
        "one answer recorded, none doubled"
    );
}

/// A player who drops rejoins with the resume token as the same player with the same score
/// and the current question.
pub async fn reconnect_resume(ctx: &Ctx) {
    let s = ctx.session(60_000).await;
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let _bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let me = ann.welcome().player_id.unwrap();
    let token = ann.welcome().resume_token.clone().unwrap();
    host.send(ClientMsg::Start).unwrap();
    wait_msg(&mut ann, "question", |m| {
        matches!(m, ServerMsg::Question(_)).then_some(())
    })
    .await;
    ann.answer(0, vec![1], None).unwrap();
    wait_msg(&mut ann, "ack", |m| {
        matches!(m, ServerMsg::AnswerAck { .. }).then_some(())
    })
    .await;
    ann.close();
    wait_msg(&mut host, "ann left", |m| match m {
        ServerMsg::Roster {
            player_id, event, ..
        } if *player_id == me && event == "left" => Some(()),
        _ => None,
    })
    .await;
    let mut again = ctx
        .connect(&s.code, Credentials::Resume(token.clone()))
        .await;
    let w = again.welcome().clone();
    assert_eq!(w.player_id, Some(me));
    assert_eq!(w.nickname.as_deref(), Some("ann"));
    assert_eq!(w.phase, Phase::Question);
    assert!(w.answered, "the resumed state shows the answer was taken");
    assert_eq!(w.question.as_ref().map(|q| q.index), Some(0));
    again.answer(0, vec![1], None).unwrap();
    expect_error(&mut again, ErrorCode::AlreadyAnswered).await;
    // After the reveal the score is back and the same after another resume.
    let score = wait_msg(&mut again, "reveal", |m| match m {
        ServerMsg::Reveal {
            result: Some(r), ..
        } => Some(r.score),
        _ => None,
    })
    .await;
    assert!(score >= 500);
    let mut third = ctx.connect(&s.code, Credentials::Resume(token)).await;
    assert_eq!(third.welcome().score, score);
    // The older connection is closed as replaced.
    let code = wait_for(&mut again, "replaced", |e| match e {
        LiveEvent::Closed { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, Some(close::REPLACED));
    third.send(ClientMsg::Ping).unwrap();
    wait_msg(&mut third, "pong", |m| {
        matches!(m, ServerMsg::Pong { .. }).then_some(())
    })
    .await;
}

/// Host removes a player, skips a question, ends the session.
pub async fn host_controls(ctx: &Ctx) {
    let s = ctx.session(60_000).await;
    let mut host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = ctx.connect(&s.code, Credentials::Guest("ann".into())).await;
    let mut bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let bob_id = bob.welcome().player_id.unwrap();
    let bob_token = bob.welcome().resume_token.clone().unwrap();
    host.send(ClientMsg::Remove { player_id: bob_id }).unwrap();
    let code = wait_for(&mut bob, "removed", |e| match e {
        LiveEvent::Closed { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, Some(close::REMOVED));
    let r = livequiz_sdk::live::LiveClient::connect(
        &ctx.server.base_url,
        &s.code,
        Credentials::Resume(bob_token),
    )
    .await;
    assert_eq!(refused(r), ErrorCode::BadResumeToken);
    host.send(ClientMsg::Start).unwrap();
    wait_msg(&mut ann, "q0", |m| {
        matches!(m, ServerMsg::Question(q) if q.index == 0).then_some(())
    })
    .await;
    host.send(ClientMsg::Skip).unwrap();
    let r = wait_msg(&mut ann, "reveal", |m| match m {
        ServerMsg::Reveal {
            result: Some(r), ..
        } => Some(*r),
        _ => None,
    })
    .await;
    assert!(!r.answered);
    host.send(ClientMsg::Skip).unwrap();
    wait_msg(&mut ann, "q1", |m| {
        matches!(m, ServerMsg::Question(q) if q.index == 1).then_some(())
    })
    .await;
    host.send(ClientMsg::End).unwrap();
    wait_msg(&mut ann, "finished", |m| {
        matches!(m, ServerMsg::Finished { .. }).then_some(())
    })
    .await;
    wait_msg(&mut host, "finished", |m| {
        matches!(m, ServerMsg::Finished { .. }).then_some(())
    })
    .await;
    let stored = ctx.host.live_standings(s.session_id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].nickname, "ann");
    // The code is free again: joining now fails.
    let r = livequiz_sdk::live::LiveClient::connect(
        &ctx.server.base_url,
        &s.code,
        Credentials::Guest("late".into()),
    )
    .await;
    assert!(matches!(
        refused(r),
        ErrorCode::UnknownSession | ErrorCode::Finished
    ));
}

/// The SDK's automatic reconnect: a player whose socket is cut mid-game
/// (through a proxy) reconnects by itself with its resume token, is the
/// same player with the same answer state, gets what it sent while
/// offline, and plays on.
pub async fn auto_reconnect(ctx: &Ctx) {
    let s = ctx.session(300).await;
    let proxy = Proxy::start(&ctx.server.base_url).await;
    let host = ctx
        .connect(&s.code, Credentials::Host(s.host_token.clone()))
        .await;
    let mut ann = livequiz_sdk::live::LiveClient::connect(
        &proxy.base_url,
        &s.code,
        Credentials::Guest("ann".into()),
    )
    .await
    .expect("connect through the proxy");
    let _bob = ctx.connect(&s.code, Credentials::Guest("bob".into())).await;
    let me = ann.welcome().player_id.unwrap();
    host.send(ClientMsg::Start).unwrap();
    wait_msg(&mut ann, "question 0", |m| match m {
        ServerMsg::Question(q) if q.index == 0 => Some(()),
        _ => None,
    })
    .await;
    ann.answer(0, vec![1], None).unwrap();
    wait_msg(&mut ann, "ack", |m| {
        matches!(m, ServerMsg::AnswerAck { .. }).then_some(())
    })
    .await;

    proxy.cut();
    wait_for(&mut ann, "disconnected", |e| {
        matches!(e, LiveEvent::Disconnected).then_some(())
    })
    .await;
    // Sent while offline: queued, delivered after the reconnect.
    ann.send(ClientMsg::Ping).unwrap();
    let w = wait_for(&mut ann, "reconnected", |e| match e {
        LiveEvent::Reconnected(w) => Some(w.clone()),
        _ => None,
    })
    .await;
    assert_eq!(w.player_id, Some(me), "resumed as the same player");
    assert_eq!(w.nickname.as_deref(), Some("ann"));
    match w.phase {
        // Back before the deadline: the answer is remembered.
        Phase::Question => {
            assert!(w.answered);
            assert_eq!(w.question.as_ref().map(|q| q.index), Some(0));
        }
        // Back after the reveal: the points are there.
        _ => assert!(w.score >= 500, "score after resume: {}", w.score),
    }
    // The queued ping is answered, and the game goes on over the new
    // connection (in whichever order the two arrive).
    let (mut pong, mut next_question) = (false, false);
    while !(pong && next_question) {
        match wait_msg(
            &mut ann,
            "pong for the queued ping and question 1",
            |m| match m {
                ServerMsg::Pong { .. } => Some(true),
                ServerMsg::Question(q) if q.index == 1 => Some(false),
                _ => None,
            },
        )
        .await
        {
            true => pong = true,
            false => next_question = true,
        }
    }
    ann.answer(1, vec![1], None).unwrap();
    let score = wait_msg(&mut ann, "reveal 1", |m| match m {
        ServerMsg::Reveal {
            question: 1,
            result: Some(r),
            ..
        } => Some(r.score),
        _ => None,
    })
    .await;
    assert!(score >= 1_000, "two right answers, score {score}");
}
