//! Quick-match integration tests: the queue over `/v1/match/ws` through the SDK's
//! `MatchClient`, server-run matches played through `LiveClient`, results recorded once. On the
//! embedded default (SQLite, one gateway) and on the real stack (MySQL primary + replica and
//! Redis Cluster from `scripts/stack env`, two gateways sharing the queue).

#[allow(dead_code)]
#[path = "live/common.rs"]
mod live_common;
#[macro_use]
#[path = "support/both.rs"]
mod both;
#[path = "matchmaking/common.rs"]
mod common;
#[path = "matchmaking/scenarios.rs"]
mod scenarios;

both!(
    crate::scenarios::duel_played_to_the_end,
    duel_played_to_the_end
);
both!(crate::scenarios::room_formation, room_formation);
both!(
    crate::scenarios::gap_widens_with_the_wait,
    gap_widens_with_the_wait
);
both!(
    crate::scenarios::no_double_match_under_concurrency,
    no_double_match_under_concurrency
);
both!(crate::scenarios::leaving_and_dropping, leaving_and_dropping);
both!(
    crate::scenarios::absent_player_abandons,
    absent_player_abandons
);
both!(crate::scenarios::resume_during_match, resume_during_match);
both!(crate::scenarios::ghost_duel, ghost_duel);
both!(
    crate::scenarios::turn_claims_each_ticket_once,
    turn_claims_each_ticket_once
);
both!(
    crate::scenarios::results_batch_skips_the_repeat,
    results_batch_skips_the_repeat
);
both!(
    crate::scenarios::ghost_offer_within_the_rating_gap,
    ghost_offer_within_the_rating_gap
);
both!(
    crate::scenarios::ghost_duel_leaves_out_questions_seen_lately,
    ghost_duel_leaves_out_questions_seen_lately
);
both!(
    crate::scenarios::ghost_duel_plays_all_when_every_question_was_seen,
    ghost_duel_plays_all_when_every_question_was_seen
);
both!(
    crate::scenarios::chunk_draws_questions_its_players_did_not_see,
    chunk_draws_questions_its_players_did_not_see
);
both!(
    crate::scenarios::candidate_pool_is_a_window_of_a_larger_bank,
    candidate_pool_is_a_window_of_a_larger_bank
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duel_updates_the_ratings_once_sqlite() {
    let ctx = common::Ctx::sqlite_rated().await;
    scenarios::duel_updates_the_ratings_once(&ctx).await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duel_updates_the_ratings_once_mysql() {
    let ctx = common::Ctx::mysql_rated().await;
    scenarios::duel_updates_the_ratings_once(&ctx).await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_duel_rates_only_the_live_player_sqlite() {
    let ctx = common::Ctx::sqlite_rated().await;
    scenarios::ghost_duel_rates_only_the_live_player(&ctx).await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_duel_rates_only_the_live_player_mysql() {
    let ctx = common::Ctx::mysql_rated().await;
    scenarios::ghost_duel_rates_only_the_live_player(&ctx).await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_killed_while_players_wait() {
    let ctx = common::Ctx::mysql().await;
    scenarios::authority_killed(&ctx).await;
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_duel_survives_a_takeover_mysql() {
    let ctx = common::Ctx::mysql().await;
    scenarios::ghost_duel_survives_a_takeover(&ctx).await;
    ctx.finish().await;
}
