//! Sessions opened in a batch (what the matchmaker does with each chunk of matches): the
//! store's rows in one transaction, the service's host-less sessions all playable, and a
//! batch whose transaction fails leaves nothing behind.

use std::time::Duration;

use gateway::live::engine::{Hostless, LiveQuestion, LiveQuiz};
use gateway::live::LiveService;
use gateway::store::live::NewSession;
use livequiz_sdk::live::{Credentials, ScoringRules};
use livequiz_sdk::types::RegisterRequest;
use livequiz_sdk::Client;
use sqlx::{Executor as _, Row as _};

use crate::common::{answer_until_finished, connect_to, Ctx};

fn quiz(questions: usize) -> LiveQuiz {
    LiveQuiz {
        quiz_id: 0,
        questions: (0..questions)
            .map(|i| LiveQuestion {
                question_id: i as i64 + 1,
                text: format!("question {i}"),
                choices: vec!["right".into(), "wrong".into()],
                correct: vec![0],
                time_limit_ms: 2_000,
            })
            .collect(),
        rules: ScoringRules::default(),
        reveal_ms: 50,
        top_n: 10,
        hide_text_on_devices: false,
    }
}

fn duel(members: Vec<i64>) -> Hostless {
    Hostless {
        members,
        start_by: gateway::db::now_ms() + 20_000,
        ghost: None,
    }
}

async fn count(ctx: &Ctx, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(ctx.server.state.db.primary())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .try_get::<i64, _>(0)
        .unwrap()
}

/// A player account: its id and a logged-in client.
async fn player(ctx: &Ctx, name: &str) -> (i64, Client) {
    let anon = Client::new(&ctx.server.base_url).unwrap();
    let user = anon
        .register(&RegisterRequest {
            username: name.into(),
            password: format!("{name}-password"),
        })
        .await
        .expect("register player");
    let c = anon
        .login(name, &format!("{name}-password"))
        .await
        .expect("login player");
    (user.id, c)
}

/// `create_sessions` records every row in one transaction and returns each row's own id.
pub async fn store_records_a_batch_of_sessions(ctx: &Ctx) {
    let store = ctx.server.state.live.store();
    let rules = ScoringRules::default();
    let codes: Vec<String> = (0..25).map(|i| format!("9{i:05}")).collect();
    let rows: Vec<NewSession<'_>> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| NewSession {
            code,
            quiz_id: 1000 + i as i64,
            host_user_id: 0,
            rules: &rules,
        })
        .collect();
    let ids = store.create_sessions(&rows).await.expect("create sessions");
    assert_eq!(ids.len(), rows.len());
    let distinct: std::collections::HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "ids {ids:?}");
    for (row, id) in rows.iter().zip(&ids) {
        let got = sqlx::query(
            "SELECT code, quiz_id, host_user_id, status FROM live_sessions WHERE id = ?",
        )
        .bind(*id)
        .fetch_one(ctx.server.state.db.primary())
        .await
        .expect("the row of an id");
        assert_eq!(got.try_get::<String, _>(0).unwrap(), row.code, "id {id}");
        assert_eq!(got.try_get::<i64, _>(1).unwrap(), row.quiz_id, "id {id}");
        assert_eq!(got.try_get::<i64, _>(2).unwrap(), 0);
        assert_eq!(got.try_get::<String, _>(3).unwrap(), "live");
    }
    // An empty batch records nothing.
    assert!(store.create_sessions(&[]).await.expect("empty").is_empty());
    assert_eq!(count(ctx, "SELECT COUNT(*) FROM live_sessions").await, 25);
}

/// A batch of host-less sessions: an invalid one fails alone, the others get their own
/// codes and ids, and each is played to the end by its members.
pub async fn hostless_batch_is_playable(ctx: &Ctx) {
    let live: &LiveService = &ctx.server.state.live;
    let mut players = Vec::new();
    for name in ["ann", "bob", "cid", "dee", "eve", "fay"] {
        players.push(player(ctx, name).await);
    }
    let batch = vec![
        (quiz(2), duel(vec![players[0].0, players[1].0])),
        (quiz(0), duel(vec![players[2].0, players[3].0])),
        (quiz(1), duel(vec![players[2].0, players[3].0])),
        (quiz(2), duel(vec![players[4].0, players[5].0])),
    ];
    let created = live.create_hostless_many(batch).await;
    assert_eq!(created.len(), 4);
    assert!(
        created[1].is_err(),
        "a match without questions is refused alone"
    );
    let ok: Vec<_> = [0, 2, 3]
        .iter()
        .map(|&i| created[i].as_ref().expect("session created").clone())
        .collect();
    let codes: std::collections::HashSet<&str> = ok.iter().map(|c| c.code.as_str()).collect();
    let ids: std::collections::HashSet<i64> = ok.iter().map(|c| c.session_id).collect();
    assert_eq!((codes.len(), ids.len()), (3, 3), "{ok:?}");
    assert!(ok.iter().all(|c| c.host_token.is_empty()));
    assert_eq!(
        count(
            ctx,
            "SELECT COUNT(*) FROM live_sessions WHERE host_user_id = 0"
        )
        .await,
        3
    );
    if ctx.server.state.db.dialect() == gateway::db::Dialect::Sqlite {
        // Without Redis Cluster the checkpoints are in the database, written with the batch.
        assert_eq!(count(ctx, "SELECT COUNT(*) FROM live_checkpoints").await, 3);
    }
    // Every session plays: both members join, it starts by itself, they answer to the end.
    let mut games = Vec::new();
    for (s, pair) in ok.iter().zip([[0, 1], [2, 3], [4, 5]]) {
        for &p in &pair {
            let token = players[p].1.token().expect("token").to_string();
            let base = ctx.server.base_url.clone();
            let code = s.code.clone();
            games.push(tokio::spawn(async move {
                let mut c = connect_to(&base, &code, Credentials::Account(token)).await;
                answer_until_finished(&mut c, 0, Duration::ZERO).await
            }));
        }
    }
    let mut answered = Vec::new();
    for g in games {
        answered.push(g.await.expect("player task"));
    }
    assert_eq!(answered, vec![2, 2, 1, 1, 2, 2]);
}

/// A batch whose row transaction fails part-way (the third insert is refused by a trigger)
/// records no session and no checkpoint and leaves every code free; the next batch opens.
pub async fn failed_batch_leaves_nothing(ctx: &Ctx) {
    let live: &LiveService = &ctx.server.state.live;
    let db = ctx.server.state.db.primary();
    let mysql = ctx.server.state.db.dialect() == gateway::db::Dialect::MySql;
    let trigger = if mysql {
        "CREATE TRIGGER refuse_third BEFORE INSERT ON live_sessions FOR EACH ROW BEGIN \
         IF (SELECT COUNT(*) FROM live_sessions) >= 2 THEN \
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END"
    } else {
        "CREATE TRIGGER refuse_third BEFORE INSERT ON live_sessions \
         WHEN (SELECT COUNT(*) FROM live_sessions) >= 2 \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    };
    db.execute(trigger).await.expect("create the trigger");
    let running = live.running();
    let batch: Vec<_> = (0..3).map(|i| (quiz(1), duel(vec![100 + i]))).collect();
    let created = live.create_hostless_many(batch).await;
    assert_eq!(created.len(), 3);
    for r in &created {
        let e = r.as_ref().expect_err("the whole batch fails");
        assert!(e.to_string().contains("refused by the test"), "{e}");
    }
    assert_eq!(count(ctx, "SELECT COUNT(*) FROM live_sessions").await, 0);
    assert_eq!(count(ctx, "SELECT COUNT(*) FROM live_checkpoints").await, 0);
    assert_eq!(live.running(), running, "the batch's codes are forgotten");
    db.execute("DROP TRIGGER refuse_third")
        .await
        .expect("drop the trigger");
    let batch: Vec<_> = (0..3).map(|i| (quiz(1), duel(vec![100 + i]))).collect();
    let created = live.create_hostless_many(batch).await;
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    assert_eq!(count(ctx, "SELECT COUNT(*) FROM live_sessions").await, 3);
    assert_eq!(live.running(), running + 3);
}
