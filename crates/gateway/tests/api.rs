//! API integration tests: every REST endpoint driven through `livequiz_sdk::Client` against an
//! in-process gateway, on the embedded backend (SQLite + tantivy + in-process tokens) AND on
//! MySQL/MariaDB primary + replica with Redis Cluster tokens (env from `scripts/stack env`).
//!
//! Each scenario is one async fn run twice by `both!`: `<scenario>::sqlite` and
//! `<scenario>::mysql`. The MySQL variant creates a throwaway database `quiz_t_<random>` on the
//! primary (it replicates to the replica), and panics with a clear message when DATABASE_URL,
//! DATABASE_REPLICA_URL or REDIS_CLUSTER_NODES is missing. Reads that go to the replica (lists,
//! search hydration, reports) are polled with a bounded wait (`eventually`).

#[path = "api/common.rs"]
mod common;
#[macro_use]
#[path = "support/both.rs"]
mod both;

#[path = "api/auth.rs"]
mod auth;
#[path = "api/bank.rs"]
mod bank;
#[path = "api/config.rs"]
mod config;
#[path = "api/live_records.rs"]
mod live_records;
#[path = "api/ops.rs"]
mod ops;
#[path = "api/practice.rs"]
mod practice;
#[path = "api/questions.rs"]
mod questions;
#[path = "api/quizzes.rs"]
mod quizzes;
#[path = "api/search.rs"]
mod search;

both!(crate::auth::scenario, auth_and_users);

/// Scenarios that need a non-default configuration.
mod configured {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let ctx = crate::common::Ctx::sqlite_with(crate::config::tweak).await;
        crate::config::scenario(&ctx).await;
        ctx.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        let ctx = crate::common::Ctx::mysql_with(crate::config::tweak).await;
        crate::config::scenario(&ctx).await;
        ctx.finish().await;
    }
}
/// A gateway that does not migrate at start (the MySQL default) refuses to start on a
/// database whose schema is behind, saying what to run, instead of failing later on a
/// missing table; once migrated, it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_mysql_database_asks_for_gateway_migrate() {
    let fresh = common::FreshMysql::new(|c| c.migrate_on_start = Some(false)).await;
    let err = match gateway::state::AppState::connect(fresh.config.clone()).await {
        Ok(_) => panic!("a gateway started on a database without its schema"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("run `gateway migrate`") && err.contains("MIGRATE_ON_START=true"),
        "{err}"
    );
    let db = gateway::db::Db::connect(&fresh.config)
        .await
        .expect("connect");
    db.migrate().await.expect("gateway migrate");
    db.close().await;
    let state = gateway::state::AppState::connect(fresh.config.clone())
        .await
        .expect("starts once migrated");
    state.db.close().await;
}

both!(crate::bank::scenario, question_bank_import_export);
both!(crate::live_records::scenario, live_session_records);
both!(crate::ops::scenario, ops_endpoints);

/// The import caps, lowered by configuration.
mod question_bank_caps {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let ctx = crate::common::Ctx::sqlite_with(crate::bank::small_caps).await;
        crate::bank::caps_scenario(&ctx).await;
        ctx.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        let ctx = crate::common::Ctx::mysql_with(crate::bank::small_caps).await;
        crate::bank::caps_scenario(&ctx).await;
        ctx.finish().await;
    }
}
both!(crate::questions::scenario, questions_and_choices);
both!(crate::search::scenario, search_questions);
both!(crate::practice::scenario, practice_and_progress);
both!(crate::quizzes::scenario, quizzes_and_reports);
