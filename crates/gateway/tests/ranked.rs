//! Ratings and global leaderboards (`gateway::ranked`, `/v1/leaderboards`), each scenario on
//! two gateways sharing one database: a SQLite file (`<name>::sqlite`) and MySQL primary +
//! replica with Redis Cluster (`<name>::mysql`, env from `scripts/stack env`). The boards'
//! clock is a `ManualClock` shared by both gateways, so windows roll over without waiting.

#[macro_use]
#[path = "ranked/ctx.rs"]
mod ctx;
#[path = "ranked/scenarios.rs"]
mod scenarios;

both!(crate::scenarios::exactly_once, exactly_once);
both!(crate::scenarios::duel_and_room, duel_and_room);
both!(crate::scenarios::windows_roll_over, windows_roll_over);
both!(crate::scenarios::paging_rank_around, paging_rank_around);
both!(crate::scenarios::gateways_agree_and_watch, gateways_agree_and_watch);
both!(crate::scenarios::bad_input, bad_input);
