//! A gateway that shuts down hands its live sessions over instead of dropping them.

use livequiz_sdk::live::{
    close, ClientMsg, Credentials, LiveClient, LiveEvent, LiveOptions, ServerMsg,
};

use crate::common::{host_session, make_quiz_with, wait_msg, Ctx};
use gateway::live::engine::PhaseRecord;

/// Connects without automatic reconnects, so the close code is seen.
async fn connect_once(ctx: &Ctx, code: &str, creds: Credentials) -> LiveClient {
    let options = LiveOptions::default().reconnect(false);
    LiveClient::connect_with(&ctx.server.base_url, code, creds, options)
        .await
        .expect("connect")
}

/// The events up to the close: whether an ack for `req` came, and the close code.
async fn until_closed(c: &mut LiveClient, who: &str, req: u64) -> (bool, Option<u16>) {
    let mut acked = false;
    loop {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), c.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: no close within 10 s"))
            .unwrap_or_else(|| panic!("{who}: events ended without a close"));
        match ev {
            LiveEvent::Message(ServerMsg::AnswerAck { req: Some(r), .. }) if r == req => {
                acked = true
            }
            LiveEvent::Closed { code, .. } => return (acked, code),
            _ => {}
        }
    }
}

/// Mid-question, with one answer acknowledged and another just sent, the gateway shuts down
/// (as on SIGTERM): the server task returns, every live task has ended, every client is told
/// to reconnect now (4010), an answer is acknowledged exactly when it is stored, the
/// checkpoint holds the players and the open question for the next owner, and with Redis
/// Cluster the owner lease is given up rather than left to expire.
pub async fn shutdown_hands_sessions_over(ctx: &Ctx) {
    let quiz_id = make_quiz_with(&ctx.host, &[60_000, 60_000]).await;
    let s = host_session(&ctx.host, quiz_id, 300).await;
    let host = connect_once(ctx, &s.code, Credentials::Host(s.host_token.clone())).await;
    let mut ann = connect_once(ctx, &s.code, Credentials::Guest("ann".into())).await;
    let mut bob = connect_once(ctx, &s.code, Credentials::Guest("bob".into())).await;
    // cy does not answer: the question stays open whatever bob's answer does.
    let mut cy = connect_once(ctx, &s.code, Credentials::Guest("cy".into())).await;
    host.send(ClientMsg::Start).unwrap();
    for (who, c) in [("ann", &mut ann), ("bob", &mut bob)] {
        wait_msg(c, &format!("{who}: question 0"), |m| match m {
            ServerMsg::Question(q) if q.index == 0 => Some(()),
            _ => None,
        })
        .await;
    }
    ann.answer(0, vec![1], Some(1)).unwrap();
    wait_msg(&mut ann, "ann's ack", |m| match m {
        ServerMsg::AnswerAck { req: Some(1), .. } => Some(()),
        _ => None,
    })
    .await;
    // In flight when the gateway stops: taken and acknowledged, or never taken.
    bob.answer(0, vec![1], Some(2)).unwrap();

    ctx.server.shut_down().await;
    let live = &ctx.server.state.live;
    assert_eq!(live.lifecycle().running(), 0, "every live task ended");
    assert_eq!(live.running(), 0, "no session left here");

    let mut host = host;
    let (_, host_close) = until_closed(&mut host, "host", 0).await;
    let (_, ann_close) = until_closed(&mut ann, "ann", 0).await;
    let (bob_acked, bob_close) = until_closed(&mut bob, "bob", 2).await;
    let (_, cy_close) = until_closed(&mut cy, "cy", 0).await;
    let now = Some(close::RECONNECT_NOW);
    assert_eq!(
        (host_close, ann_close, bob_close, cy_close),
        (now, now, now, now)
    );
    assert_eq!(
        ctx.answers_recorded(s.session_id).await,
        1 + i64::from(bob_acked),
        "an answer is acknowledged exactly when it is stored"
    );

    let saved = live
        .checkpoints()
        .load(&s.code)
        .await
        .expect("read the checkpoint")
        .expect("the session is checkpointed for the next owner");
    assert_eq!(saved.players.len(), 3);
    assert!(
        matches!(saved.phase.phase, PhaseRecord::Question { index: 0, .. }),
        "{:?}",
        saved.phase
    );
    if let Some(redis) = &ctx.server.state.redis {
        let owner: Option<String> =
            redis::AsyncCommands::get(&mut redis.clone(), format!("live:{{{}}}:owner", s.code))
                .await
                .expect("read the owner key");
        assert_eq!(owner, None, "the lease is released, not left to expire");
    }
}
