//! Two gateways, one live session: the host and one player on gateway A, another player on
//! gateway B, all against the real stack (MySQL primary + replica, Redis Cluster; env from
//! `scripts/stack env`, panics with a clear message when missing).

#[allow(dead_code)]
#[path = "live/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "live/standing.rs"]
mod standing;

use common::{connect_to, host_session, make_quiz, register_host, wait_for, wait_msg, MysqlPair};
use livequiz_sdk::live::{
    close, ClientMsg, Credentials, ErrorCode, LiveClient, LiveEvent, ServerMsg,
};
use livequiz_sdk::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_on_two_gateways_play_one_session() {
    let pair = MysqlPair::start().await;
    let (a, b) = (&pair.a, &pair.b);

    let host_api = register_host(&a.base_url).await;
    let quiz_id = make_quiz(&host_api, 3).await;
    let s = host_session(&host_api, quiz_id, 50).await; // created on A

    // The host watches on B (bridged), ann plays on A (local), bob on B (bridged).
    let mut host = connect_to(
        &b.base_url,
        &s.code,
        Credentials::Host(s.host_token.clone()),
    )
    .await;
    let mut ann = connect_to(&a.base_url, &s.code, Credentials::Guest("ann".into())).await;
    let mut bob = connect_to(&b.base_url, &s.code, Credentials::Guest("bob".into())).await;
    assert!(bob.welcome().resume_token.is_some());
    assert_ne!(ann.welcome().player_id, bob.welcome().player_id);
    assert_eq!(bob.welcome().session_id, s.session_id);
    // Nicknames are unique across gateways: the owner's roster decides.
    match LiveClient::connect(&b.base_url, &s.code, Credentials::Guest("ann".into())).await {
        Err(livequiz_sdk::live::LiveError::Refused { code, .. }) => {
            assert_eq!(code, ErrorCode::NicknameTaken)
        }
        other => panic!("a taken nickname via B must be refused, got {other:?}"),
    }
    wait_msg(&mut host, "bob joined (host on B)", |m| match m {
        ServerMsg::Roster {
            nickname, event, ..
        } if nickname == "bob" && event == "joined" => Some(()),
        _ => None,
    })
    .await;
    host.send(ClientMsg::Start).unwrap();

    let mut totals = [0i64; 2];
    for qi in 0..3u32 {
        let mut acked = [false; 2];
        // bob (via B) answers first; on question 0 he answers twice, and ann answers only
        // once the owner has refused the second one, so the question is still open for it.
        wait_msg(&mut bob, "question (bob)", |m| match m {
            ServerMsg::Question(q) if q.index == qi => Some(()),
            _ => None,
        })
        .await;
        bob.answer(qi, vec![1], Some(u64::from(qi))).unwrap();
        if qi == 0 {
            bob.answer(qi, vec![2], Some(99)).unwrap();
            wait_msg(&mut bob, "refusal of bob's second answer", |m| match m {
                ServerMsg::Error { code, req, message } => {
                    assert_eq!(
                        (*code, *req),
                        (ErrorCode::AlreadyAnswered, Some(99)),
                        "bob's second answer via B: {message}"
                    );
                    Some(())
                }
                ServerMsg::AnswerAck { question, .. } if *question == qi => {
                    acked[1] = true;
                    None
                }
                _ => None,
            })
            .await;
        }
        wait_msg(&mut ann, "question (ann)", |m| match m {
            ServerMsg::Question(q) if q.index == qi => Some(()),
            _ => None,
        })
        .await;
        ann.answer(qi, vec![1], Some(u64::from(qi))).unwrap();
        for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
            let result = wait_msg(p, "ack and reveal", |m| match m {
                ServerMsg::AnswerAck { question, req, .. } if *question == qi => {
                    assert_eq!(*req, Some(u64::from(qi)));
                    acked[i] = true;
                    None
                }
                ServerMsg::Reveal {
                    question,
                    correct,
                    result: Some(r),
                    ..
                } if *question == qi => {
                    assert_eq!(correct, &vec![1]);
                    Some(*r)
                }
                ServerMsg::Error { code, message, .. } => {
                    panic!("player {i} question {qi}: answer refused: {code:?} {message}")
                }
                _ => None,
            })
            .await;
            assert!(acked[i], "player {i} question {qi}: ack before the reveal");
            assert!(
                result.answered && result.correct,
                "player {i} question {qi}"
            );
            assert!(result.points > 0);
            totals[i] += i64::from(result.points);
            assert_eq!(result.score, totals[i]);
        }
    }

    let mut finals = Vec::new();
    for (name, p) in [("ann", &mut ann), ("bob", &mut bob)] {
        let (top, you) = wait_msg(p, "finished", |m| match m {
            ServerMsg::Finished { top, you, .. } => Some((top.clone(), you.clone())),
            _ => None,
        })
        .await;
        let you = you.unwrap_or_else(|| panic!("{name} gets its own standing"));
        assert_eq!(you.nickname, name);
        let closed = wait_for(p, "close", |e| match e {
            LiveEvent::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(closed, Some(close::SESSION_FINISHED));
        finals.push((top, you));
    }
    // Both gateways delivered the same final leaderboard.
    assert_eq!(finals[0].0, finals[1].0);
    assert_eq!(finals[0].0.len(), 2);
    assert_eq!(finals[0].1.score, totals[0]);
    assert_eq!(finals[1].1.score, totals[1]);
    let host_top = wait_msg(&mut host, "host finished", |m| match m {
        ServerMsg::Finished { top, you: None, .. } => Some(top.clone()),
        _ => None,
    })
    .await;
    assert_eq!(host_top, finals[0].0);

    // Stored standings read back through either gateway agree.
    let stored = host_api
        .live_standings(s.session_id)
        .await
        .expect("standings via A");
    assert_eq!(stored, finals[0].0);
    let via_b = Client::new(&b.base_url)
        .unwrap()
        .login("host", "host-password")
        .await
        .expect("login via B")
        .live_standings(s.session_id)
        .await
        .expect("standings via B");
    assert_eq!(via_b, stored);

    pair.stop().await;
}

/// A session that finishes gets its final standings and its "finished" close to the players
/// bridged through another gateway; that gateway does not send them to reconnect first. The
/// owner lets a finished session's lease expire instead of releasing it while those last frames
/// may still be on their way (a bridging gateway takes a released lease for a dead owner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_players_get_their_final_standings() {
    let pair = MysqlPair::start().await;
    let nodes = pair.a.state.config.redis_urls();
    let (a, b) = (&pair.a, &pair.b);

    let host_api = register_host(&a.base_url).await;
    let quiz_id = make_quiz(&host_api, 1).await;
    let s = host_session(&host_api, quiz_id, 50).await; // owned by A
    let mut host = connect_to(
        &a.base_url,
        &s.code,
        Credentials::Host(s.host_token.clone()),
    )
    .await;
    let mut players = Vec::new();
    for i in 0..20 {
        let p = connect_to(&b.base_url, &s.code, Credentials::Guest(format!("p{i}"))).await;
        players.push(p);
    }
    wait_msg(&mut host, "the last player joined", |m| match m {
        ServerMsg::Roster {
            nickname, event, ..
        } if nickname == "p19" && event == "joined" => Some(()),
        _ => None,
    })
    .await;
    host.send(ClientMsg::Start).unwrap();
    for p in &mut players {
        wait_msg(p, "the question", |m| match m {
            ServerMsg::Question(q) => Some(q.index),
            _ => None,
        })
        .await;
        p.answer(0, vec![1], None).unwrap();
    }
    wait_msg(&mut host, "host finished", |m| match m {
        ServerMsg::Finished { .. } => Some(()),
        _ => None,
    })
    .await;

    let mut r = redis::cluster::ClusterClient::new(nodes)
        .expect("redis client")
        .get_async_connection()
        .await
        .expect("connect to Redis Cluster");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let owner: Option<String> =
        redis::AsyncCommands::get(&mut r, format!("live:{{{}}}:owner", s.code))
            .await
            .expect("read the owner lease");
    assert!(
        owner.is_some(),
        "a finished session's lease is kept until it expires, not released at once"
    );
    for (i, p) in players.iter_mut().enumerate() {
        let you = wait_msg(p, "finished (bridged)", |m| match m {
            ServerMsg::Finished { you, .. } => Some(you.clone()),
            _ => None,
        })
        .await;
        assert_eq!(you.expect("own standing").nickname, format!("p{i}"));
        let closed = wait_for(p, "close", |e| match e {
            LiveEvent::Closed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(closed, Some(close::SESSION_FINISHED), "player p{i}");
    }

    pair.stop().await;
}

/// The capability crosses gateways: players bridged through B (the owner is A) get the
/// `rank` frame repeating their reveal's standing only when their first frame did not declare
/// `reads_reveal_standing`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_players_declare_that_they_read_the_reveal_standing() {
    let pair = MysqlPair::start().await;
    let (a, b) = (&pair.a, &pair.b);

    let host_api = register_host(&a.base_url).await;
    let quiz_id = make_quiz(&host_api, 3).await;
    let s = host_session(&host_api, quiz_id, 2_000).await; // owned by A
    standing::reveal_standing_repeats_only_to_connections_that_did_not_declare(
        &a.base_url,
        &b.base_url,
        &s.code,
        &s.host_token,
    )
    .await;

    pair.stop().await;
}
