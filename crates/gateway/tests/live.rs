//! Live quiz integration tests through the SDK's `LiveClient`, on the embedded default
//! (SQLite, in-process) and on the real stack (MySQL primary + replica, Redis Cluster; env from
//! `scripts/stack env`, panics with a clear message when missing).

#[path = "live/common.rs"]
mod common;
#[macro_use]
#[path = "support/both.rs"]
mod both;
#[path = "live/batch.rs"]
mod batch;
#[path = "live/features.rs"]
mod features;
#[path = "live/game.rs"]
mod game;
#[path = "live/shutdown.rs"]
mod shutdown;
#[path = "live/standing.rs"]
mod standing;

both!(crate::game::happy_path, happy_path);
both!(crate::game::bad_input, bad_input);
both!(crate::game::reconnect_resume, reconnect_resume);
both!(crate::game::host_controls, host_controls);
both!(crate::game::auto_reconnect, auto_reconnect);
both!(crate::features::extra_time, extra_time);
both!(
    crate::features::account_tokens_are_checked_like_rest,
    account_tokens_are_checked_like_rest
);
both!(crate::features::hidden_question, hidden_question);
both!(
    crate::features::host_reconnect_roster,
    host_reconnect_roster
);
both!(
    crate::features::players_see_the_count_and_cap,
    players_see_the_count_and_cap
);
both!(
    crate::shutdown::shutdown_hands_sessions_over,
    shutdown_hands_sessions_over
);
both!(
    crate::batch::store_records_a_batch_of_sessions,
    store_records_a_batch_of_sessions
);
both!(
    crate::batch::hostless_batch_is_playable,
    hostless_batch_is_playable
);
both!(
    crate::batch::failed_batch_leaves_nothing,
    failed_batch_leaves_nothing
);
both!(
    crate::standing::reveal_standing_repeat_is_opt_out,
    reveal_standing_repeat_is_opt_out
);
