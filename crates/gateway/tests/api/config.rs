//! ADMIN_USERNAME (with the admin made as `gateway admin create` does), token expiry (TOKEN_TTL) and rebuilding the search index (`gateway reindex`).

use std::time::Duration;

use gateway::config::Config;
use livequiz_sdk::types::{RegisterRequest, Role, SearchParams};

use crate::common::{expect_status, question, Ctx};

pub fn tweak(c: &mut Config) {
    c.admin_username = Some("Boss".into());
    c.token_ttl = Duration::from_secs(1);
}

pub async fn scenario(ctx: &Ctx) {
    let reg = |name: &str| RegisterRequest {
        username: name.into(),
        password: format!("pw-{name}-123"),
    };
    // With ADMIN_USERNAME set nobody becomes admin by registering, and the name is the
    // operator's: `gateway admin create` makes it.
    let first = ctx.anon.register(&reg("first")).await.unwrap();
    expect_status(ctx.anon.register(&reg("boss")).await, 409);
    let state = &ctx.server.state;
    let created = gateway::auth::admin::create_admin(
        &state.db,
        &state.passwords,
        "boss",
        "pw-boss-123".into(),
        false,
    )
    .await
    .unwrap();
    let gateway::auth::admin::AdminCreated::Created(boss) = created else {
        panic!("boss was created, not promoted: {created:?}");
    };
    let third = ctx.anon.register(&reg("third")).await.unwrap();
    assert_eq!(
        (first.role, boss.role, third.role),
        (Role::Player, Role::Admin, Role::Player)
    );

    // Tokens expire after TOKEN_TTL.
    let c = ctx.anon.login("boss", "pw-boss-123").await.unwrap();
    let q = c
        .create_question(&question(
            "Which command rebuilds the index?",
            "ops",
            &["cli"],
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let p = expect_status(c.me().await, 401);
    assert!(p.detail.contains("expired"), "{p:?}");

    // Losing the index and rebuilding it from the database (what `gateway reindex` runs).
    // Tokens live 1 s here and an index rebuild can take about that on a loaded machine:
    // every search logs in afresh.
    let params = SearchParams {
        q: "rebuilds index".into(),
        ..Default::default()
    };
    let search = || async {
        let c = ctx.anon.login("boss", "pw-boss-123").await.unwrap();
        c.search_questions(&params).await.unwrap()
    };
    assert_eq!(search().await.total, 1);
    state.search.rebuild(Vec::new()).await.unwrap();
    assert_eq!(search().await.total, 0);
    assert_eq!(gateway::reindex::reindex_all(state).await.unwrap(), 1);
    let r = search().await;
    assert_eq!(r.items[0].question.id, q.id);
}
