//! Live session records: the host's list, the session report (numbers equal to a game played
//! here through `LiveClient`), who may read it, and the `live` part of `/v1/me/progress`.

use std::time::Duration;

use livequiz_sdk::live::{ClientMsg, CreateSession, Credentials, LiveClient, LiveEvent, ServerMsg};
use livequiz_sdk::types::{LiveSessionFilter, QuizInput, QuizItemInput};

use crate::common::{choice, eventually, expect_status, question, Ctx};

/// Waits (at most 10 s) for a server message matching `f`, skipping others.
async fn wait_msg<T>(
    c: &mut LiveClient,
    what: &str,
    mut f: impl FnMut(&ServerMsg) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, c.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("connection ended while waiting for {what}"));
        if let LiveEvent::Message(m) = &ev {
            if let Some(v) = f(m) {
                return v;
            }
        }
    }
}

async fn connect(base: &str, code: &str, creds: Credentials) -> LiveClient {
    LiveClient::connect(base, code, creds)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

pub async fn scenario(ctx: &Ctx) {
    let (admin, author, player) = ctx.cast().await;
    let other = ctx.user("writer2").await;
    let other_id = other.me().await.unwrap().id;
    admin
        .set_role(other_id, livequiz_sdk::types::Role::Author)
        .await
        .unwrap();
    let player_id = player.me().await.unwrap().id;

    // A quiz of two questions with three choices each; choice 1 ("right") is correct.
    let mut items = Vec::new();
    for i in 0..2 {
        let mut q = question(&format!("Live record {i}?"), "live", &[]);
        q.choices = vec![
            choice("wrong", false),
            choice("right", true),
            choice("other", false),
        ];
        let q = author.create_question(&q).await.unwrap();
        items.push(QuizItemInput {
            question_id: q.id,
            time_limit_ms: 5_000,
        });
    }
    let quiz = author
        .create_quiz(&QuizInput {
            title: "records quiz".into(),
            description: String::new(),
            questions: items,
        })
        .await
        .unwrap();
    let s = author
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            reveal_ms: Some(50),
            ..Default::default()
        })
        .await
        .unwrap();

    // Play: the logged-in player answers right twice; guest bob wrong (choice 2), then right.
    let base = &ctx.server.base_url;
    let mut host = connect(base, &s.code, Credentials::Host(s.host_token.clone())).await;
    let token = player.token().expect("player token").to_string();
    let mut ann = connect(base, &s.code, Credentials::Account(token)).await;
    let mut bob = connect(base, &s.code, Credentials::Guest("bob".into())).await;
    wait_msg(&mut host, "bob joined", |m| match m {
        ServerMsg::Roster {
            nickname, event, ..
        } if nickname == "bob" && event == "joined" => Some(()),
        _ => None,
    })
    .await;
    host.send(ClientMsg::Start).unwrap();
    let picks = [[1u32, 2], [1, 1]];
    let mut elapsed = [[0u32; 2]; 2];
    for qi in 0..2u32 {
        for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
            wait_msg(p, "question", |m| match m {
                ServerMsg::Question(q) if q.index == qi => Some(()),
                _ => None,
            })
            .await;
            p.answer(qi, vec![picks[qi as usize][i]], None).unwrap();
        }
        for (i, p) in [&mut ann, &mut bob].into_iter().enumerate() {
            elapsed[qi as usize][i] = wait_msg(p, "ack", |m| match m {
                ServerMsg::AnswerAck {
                    question,
                    elapsed_ms,
                    ..
                } if *question == qi => Some(*elapsed_ms),
                ServerMsg::Error { message, .. } => panic!("answer refused: {message}"),
                _ => None,
            })
            .await;
        }
    }
    let top = wait_msg(&mut ann, "finished", |m| match m {
        ServerMsg::Finished { top, .. } => Some(top.clone()),
        _ => None,
    })
    .await;
    assert_eq!(top.len(), 2);

    // The report (replica: wait until the finished session has arrived).
    let report = eventually("finished report", || async {
        let r = author
            .live_session_report(s.session_id)
            .await
            .expect("report");
        (r.session.status == "finished" && r.players.len() == 2).then_some(r)
    })
    .await;
    assert_eq!(report.session.id, s.session_id);
    assert_eq!(report.session.quiz_title, "records quiz");
    assert_eq!(report.session.players, 2);
    assert_eq!(report.questions.len(), 2);
    for (qi, q) in report.questions.iter().enumerate() {
        let right = picks[qi].iter().filter(|&&c| c == 1).count() as u64;
        assert_eq!(q.index, qi as u32);
        assert_eq!(q.answers, 2, "{q:?}");
        assert_eq!(q.correct, right, "{q:?}");
        assert!((q.accuracy - right as f64 / 2.0).abs() < 1e-9, "{q:?}");
        let mean = f64::from(elapsed[qi][0] + elapsed[qi][1]) / 2.0;
        assert!((q.mean_time_ms - mean).abs() < 1e-9, "{q:?} vs {mean}");
        let flags: Vec<bool> = q.choices.iter().map(|c| c.correct).collect();
        assert_eq!(flags, [false, true, false]);
        let selected: Vec<u64> = q.choices.iter().map(|c| c.selected).collect();
        let want: Vec<u64> = (0..3)
            .map(|c| picks[qi].iter().filter(|&&p| p == c).count() as u64)
            .collect();
        assert_eq!(selected, want, "{q:?}");
    }
    let ann_row = &report.players[0];
    assert_eq!(ann_row.rank, 1);
    assert_eq!(ann_row.account_id, Some(player_id));
    assert_eq!((ann_row.answered, ann_row.correct), (2, 2));
    assert_eq!(ann_row.score, top[0].score);
    let bob_row = &report.players[1];
    assert_eq!(bob_row.nickname, "bob");
    assert_eq!((bob_row.answered, bob_row.correct), (2, 1));
    assert_eq!(bob_row.score, top[1].score);
    assert_eq!(bob_row.account_id, None);

    let csv = author.live_session_report_csv(s.session_id).await.unwrap();
    assert!(csv.starts_with("kind,question_index"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.starts_with("choice,")).count(), 6);
    assert_eq!(csv.lines().filter(|l| l.starts_with("player,")).count(), 2);

    // Who may read it: the host and admins; not a player (even one who played), not another
    // author; unknown sessions are 404, bad formats 422.
    admin.live_session_report(s.session_id).await.unwrap();
    expect_status(player.live_session_report(s.session_id).await, 403);
    expect_status(other.live_session_report(s.session_id).await, 403);
    expect_status(ctx.anon.live_session_report(s.session_id).await, 401);
    expect_status(author.live_session_report(987_654).await, 404);
    let (status, _) = author
        .raw(
            livequiz_sdk::Method::GET,
            &format!("/v1/live/sessions/{}/report?format=xml", s.session_id),
            "application/json",
            "",
        )
        .await
        .unwrap();
    assert_eq!(status, 422);

    // The host's list, newest first; other users host nothing.
    let second = author
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            ..Default::default()
        })
        .await
        .unwrap();
    let list = eventually("both sessions listed", || async {
        let p = author
            .list_live_sessions(&LiveSessionFilter::default())
            .await
            .unwrap();
        (p.total == 2).then_some(p)
    })
    .await;
    let ids: Vec<i64> = list.items.iter().map(|i| i.id).collect();
    assert_eq!(ids, [second.session_id, s.session_id]);
    assert_eq!(list.items[1].status, "finished");
    assert!(list.items[1].finished_at.is_some());
    assert_eq!(list.items[1].quiz_id, quiz.id);
    assert!(list.items[0].finished_at.is_none());
    let paged = author
        .list_live_sessions(&LiveSessionFilter {
            limit: Some(1),
            offset: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(paged.items.len(), 1);
    assert_eq!(paged.items[0].id, s.session_id);
    assert_eq!(
        other
            .list_live_sessions(&LiveSessionFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    expect_status(
        author
            .list_live_sessions(&LiveSessionFilter {
                limit: Some(0),
                offset: None,
            })
            .await,
        422,
    );

    // Progress: the account that played has a live part; the practice totals are unchanged.
    let p = player.progress().await.unwrap();
    assert_eq!(p.answered, 0);
    let live = p.live.expect("live part");
    assert_eq!((live.sessions, live.answered, live.correct), (1, 2, 2));
    assert!((live.accuracy - 1.0).abs() < 1e-9);
    let live = other.progress().await.unwrap().live.expect("live part");
    assert_eq!((live.sessions, live.answered), (0, 0));
    assert_eq!(live.accuracy, 0.0);
}
