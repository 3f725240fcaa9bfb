//! Time windows against a model: one naive model per window, the current
//! window chosen by the latest write or roll, the previous one queryable
//! and open to late writes, older ones rejected.

mod common;

use std::collections::HashMap;

use common::Model;
use leaderboard_core::{
    Board, BoardConfig, Error, Fanout, RankStyle, ResetSchedule, Window, Write, WriteOp,
};
use proptest::prelude::*;

const PERIOD: i64 = 10;

#[derive(Debug, Clone)]
enum Op {
    Write(u8, i64, i64),
    Roll(i64),
}

struct Windows {
    cfg: BoardConfig,
    current: i64,
    rolled: bool,
    models: HashMap<i64, Model>,
}

impl Windows {
    fn start(at: i64) -> i64 {
        at.div_euclid(PERIOD) * PERIOD
    }

    fn model(&mut self, start: i64) -> &mut Model {
        let c = &self.cfg;
        self.models
            .entry(start)
            .or_insert_with(|| Model::new(c.order, c.rank_style, c.default_op, c.top_n_watch))
    }

    fn roll_to(&mut self, at: i64) -> bool {
        let s = Self::start(at);
        if s <= self.current {
            return false;
        }
        // The old current window becomes the previous one if adjacent;
        // otherwise the previous one is a fresh, empty window (no model yet).
        self.current = s;
        self.rolled = true;
        true
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            8 => (0u8..12, -5i64..20, 0i64..80).prop_map(|(m, s, at)| Op::Write(m, s, at)),
            1 => (0i64..90).prop_map(Op::Roll),
        ],
        1..80,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn windows_match_model(ops in ops(), incr in any::<bool>()) {
        let cfg = BoardConfig::new()
            .reset(ResetSchedule::Every { period_ms: PERIOD, origin_ms: 0 })
            .default_op(if incr { WriteOp::Incr } else { WriteOp::Best })
            .partitions(3)
            .rank_style(RankStyle::Competition)
            .top_n_watch(2);
        let board = Board::new("w", cfg.clone()).unwrap();
        let mut w = Windows { cfg, current: 0, rolled: false, models: HashMap::new() };
        for op in ops {
            match op {
                Op::Roll(now) => prop_assert_eq!(board.roll(now), w.roll_to(now)),
                Op::Write(m, score, at) => {
                    let write = Write::new(format!("m{m}"), score, at);
                    let got = board.write(write.clone());
                    w.roll_to(at);
                    let s = Windows::start(at);
                    if s == w.current || (w.rolled && s == w.current - PERIOD) {
                        let want = w.model(s).write(&write).unwrap();
                        let got = got.unwrap();
                        prop_assert_eq!(got.old, want.old);
                        prop_assert_eq!(got.new, want.new);
                        prop_assert_eq!(got.top_changed, want.top_changed);
                    } else {
                        let oldest = if w.rolled { w.current - PERIOD } else { w.current };
                        prop_assert_eq!(got.unwrap_err(), Error::WindowExpired { at, oldest_start: oldest });
                    }
                }
            }
            let cur = w.current;
            prop_assert_eq!(board.current_window().start, cur);
            let want_cur = w.model(cur).ranked();
            prop_assert_eq!(board.top(3), want_cur[..3.min(want_cur.len())].to_vec());
            prop_assert_eq!(board.top_with(usize::MAX, Fanout::Sequential), want_cur);
            match board.previous_window() {
                None => prop_assert!(!w.rolled),
                Some(prev) => {
                    prop_assert!(w.rolled);
                    prop_assert_eq!(prev.span().start, cur - PERIOD);
                    let want_prev = w.model(cur - PERIOD).ranked();
                    prop_assert_eq!(prev.top(usize::MAX), want_prev.clone());
                    if let Some(first) = want_prev.first() {
                        prop_assert_eq!(prev.entry(&first.entry.member), Some(first.clone()));
                        prop_assert_eq!(board.standings(Window::Previous).unwrap().count(), want_prev.len() as u64);
                    }
                }
            }
        }
    }
}

#[test]
fn calendar_schedules_reset_on_boundaries() {
    // 2024-01-31T23:59:59Z and 2024-02-01T00:00:00Z
    let (jan_end, feb_start) = (1_706_745_599_000, 1_706_745_600_000);
    for (reset, rolls) in [
        (ResetSchedule::Hourly, true),
        (ResetSchedule::Daily, true),
        (ResetSchedule::Monthly, true),
        (ResetSchedule::Weekly, false), // 2024-02-01 is a Thursday
        (ResetSchedule::ExpiresAt { at_ms: feb_start }, true),
    ] {
        let b = Board::new("c", BoardConfig::new().reset(reset)).unwrap();
        b.write(Write::new("a", 5, jan_end)).unwrap();
        b.write(Write::new("b", 7, feb_start)).unwrap();
        if rolls {
            assert_eq!(b.count(), 1, "{reset:?}");
            assert_eq!(b.previous_window().unwrap().top(5)[0].entry.member, "a");
            assert_eq!(b.current_window().start, feb_start);
        } else {
            assert_eq!(b.count(), 2, "{reset:?}");
        }
    }
}
