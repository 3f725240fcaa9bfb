//! Daily and weekly leaderboards: the reset at the end of each period, the previous period read
//! back, a late write into it, and a timer that rolls a board with no writes.
//!
//! ```sh
//! cargo run -p leaderboard-core --example windows
//! ```
//!
//! Periods are UTC; a week starts on Monday 00:00. The board never reads a clock: each write's
//! `at` (milliseconds since the Unix epoch, from your clock) picks its period, and
//! [`Board::roll`] moves a board forward when your timer says a period is over.

use leaderboard_core::{
    Board, BoardConfig, Error, Leaderboards, RankedEntry, ResetSchedule, Write, WriteOp,
};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Monday 2024-01-01 00:00 UTC.
const MONDAY: i64 = 1_704_067_200_000;

/// "Mon 09:00 (week 1)" for a time in the weeks after `MONDAY`.
fn when(at: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let d = (at - MONDAY).div_euclid(DAY);
    let h = (at - MONDAY).rem_euclid(DAY) / HOUR;
    format!(
        "{} {h:02}:00 (week {})",
        DAYS[d.rem_euclid(7) as usize],
        d / 7 + 1
    )
}

fn show(title: &str, rows: &[RankedEntry]) {
    let line: Vec<String> = rows
        .iter()
        .map(|r| format!("#{} {} {}", r.rank, r.entry.member, r.entry.score))
        .collect();
    println!("  {title:<34} {}", line.join(", "));
}

/// A game writes each score to both boards (points add up within a period).
fn score(boards: &[&Board], member: &str, points: i64, at: i64) -> Result<(), Error> {
    for b in boards {
        b.write(Write::new(member, points, at))?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let boards = Leaderboards::new();
    let daily = boards.create(
        "daily",
        BoardConfig::default()
            .default_op(WriteOp::Incr)
            .reset(ResetSchedule::Daily),
    )?;
    let weekly = boards.create(
        "weekly",
        BoardConfig::default()
            .default_op(WriteOp::Incr)
            .reset(ResetSchedule::Weekly),
    )?;
    let both = [&*daily, &*weekly];

    println!("Monday");
    score(&both, "alice", 50, MONDAY + 10 * HOUR)?;
    score(&both, "bob", 70, MONDAY + 11 * HOUR)?;
    score(&both, "carol", 20, MONDAY + 12 * HOUR)?;
    show("daily, today:", &daily.top(3));

    println!("Tuesday: the first write of the day resets the daily board");
    score(&both, "alice", 40, MONDAY + DAY + 9 * HOUR)?;
    let monday = daily.previous_window().expect("Monday is kept");
    show("daily, today:", &daily.top(3));
    show("daily, yesterday:", &monday.top(3));
    show("weekly, this week:", &weekly.top(3));
    assert_eq!(daily.count(), 1);
    assert_eq!(monday.top(1)[0].entry.member, "bob");

    // A score reached on Monday 23:30 that arrives late still counts for Monday: its `at`
    // falls in the previous window, which is kept until the next reset.
    println!("Tuesday: a late score for Monday 23:30 arrives");
    score(&both, "carol", 100, MONDAY + 23 * HOUR + HOUR / 2)?;
    show("daily, yesterday:", &monday.top(3));
    assert_eq!(monday.top(1)[0].entry.member, "carol");
    println!(
        "  the previous day ran {} .. {}",
        when(monday.span().start),
        when(monday.span().end)
    );

    // Nobody plays on Wednesday; a timer rolls the board at midnight so that readers see an
    // empty day and can still fetch Tuesday's winners.
    println!("Wednesday 00:00: the timer calls roll");
    assert!(daily.roll(MONDAY + 2 * DAY));
    show("daily, today:", &daily.top(3));
    show(
        "daily, yesterday:",
        &daily.previous_window().unwrap().top(3),
    );
    assert_eq!(daily.count(), 0);

    // Only two periods are kept: Monday is gone now.
    match daily.write(Write::new("dave", 10, MONDAY + 8 * HOUR)) {
        Err(Error::WindowExpired { .. }) => println!("  a score for Monday is now refused"),
        other => panic!("expected WindowExpired, got {other:?}"),
    }

    println!("next Monday: the weekly board resets too");
    score(&both, "bob", 5, MONDAY + 7 * DAY + 8 * HOUR)?;
    let last_week = weekly.previous_window().expect("last week is kept");
    show("weekly, this week:", &weekly.top(3));
    show("weekly, last week:", &last_week.top(3));
    // Several days passed without a roll: "yesterday" is the (empty) Sunday, not Tuesday.
    show(
        "daily, yesterday (Sunday):",
        &daily.previous_window().unwrap().top(3),
    );
    assert_eq!(last_week.top(1)[0].entry.member, "carol");
    assert_eq!(last_week.top(3).len(), 3);
    assert_eq!(daily.previous_window().unwrap().count(), 0);
    Ok(())
}
