//! A game-server loop driven by the change feed: every write says what it changed, so the server
//! pushes a new top 10 only when the top 10 changed, tells a player when they entered it, and
//! sends each player their own rank only when it moved.
//!
//! ```sh
//! cargo run -p leaderboard-core --example change_feed            # 1000 players, 20000 answers
//! cargo run -p leaderboard-core --example change_feed -- 200 2000
//! ```
//!
//! The game loop runs on one thread and hands messages to a "fan-out" thread over a channel, the
//! way a server hands them to its WebSocket writers; here the fan-out thread counts and prints.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::thread;

use leaderboard_core::{BoardConfig, Leaderboards, OpId, Write, WriteOp};

/// What the game server pushes to clients.
#[derive(Debug)]
enum Push {
    /// The new top 10, to everyone watching.
    Top(Vec<(u64, String, i64)>),
    /// "You entered the top 10", to one player.
    EnteredTop { member: String, rank: u64 },
    /// "You dropped out of the top 10", to one player.
    LeftTop { member: String },
    /// A player's own rank moved, to that player.
    Rank { member: String, from: u64, to: u64 },
}

/// A small deterministic generator (xorshift64*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

const TOP: usize = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let players: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let answers: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);

    let boards = Leaderboards::new();
    // `top_n_watch` is the N of "did the top N change" in every write outcome.
    let board = boards.create(
        "match-7",
        BoardConfig::default()
            .default_op(WriteOp::Incr)
            .top_n_watch(TOP),
    )?;

    let (tx, rx) = mpsc::channel::<Push>();
    let fanout = thread::spawn(move || {
        let (mut tops, mut entered, mut left, mut ranks) = (0u64, 0u64, 0u64, 0u64);
        for push in rx {
            match push {
                Push::Top(list) => {
                    tops += 1;
                    if tops <= 3 {
                        println!("push top {TOP}: {list:?}");
                    }
                }
                Push::EnteredTop { member, rank } => {
                    entered += 1;
                    if entered <= 5 {
                        println!("to {member}: you entered the top {TOP} at #{rank}");
                    }
                }
                Push::LeftTop { member } => {
                    left += 1;
                    if left <= 5 {
                        println!("to {member}: you dropped out of the top {TOP}");
                    }
                }
                Push::Rank { member, from, to } => {
                    ranks += 1;
                    if ranks <= 3 && from == 0 {
                        println!("to {member}: you are #{to}");
                    } else if ranks <= 3 {
                        println!("to {member}: you moved from #{from} to #{to}");
                    }
                }
            }
        }
        (tops, entered, left, ranks)
    });

    // The game loop: players answer, each correct answer scores points.
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut shown: BTreeSet<String> = BTreeSet::new(); // the top 10 clients last received
    let mut now = 1_700_000_000_000i64;
    let mut last: Option<Write> = None;
    for answer in 0..answers {
        now += 1 + rng.below(5) as i64;
        let player = rng.below(players);
        // Better players (lower numbers) answer right more often and faster.
        let points = if rng.below(players + 100) + 50 > player {
            500 + rng.below(500) as i64
        } else {
            0
        };
        let member = format!("player-{player:04}");
        // The op id makes a retried answer harmless: the same answer never scores twice.
        let write = Write::new(member.clone(), points, now)
            .op_id(OpId::hashed(format!("match-7/answer/{answer}")));
        last = Some(write.clone());
        let out = board.write(write)?;
        if !out.changed {
            continue; // a wrong answer or a retry: nothing to push
        }
        let old_rank = out.old.as_ref().map(|o| o.rank);
        if old_rank != Some(out.new.rank) {
            tx.send(Push::Rank {
                member: member.clone(),
                from: old_rank.unwrap_or(0),
                to: out.new.rank,
            })?;
        }
        if out.new.rank as usize <= TOP && old_rank.is_none_or(|r| r as usize > TOP) {
            tx.send(Push::EnteredTop {
                member: member.clone(),
                rank: out.new.rank,
            })?;
        }
        if out.top_changed {
            // Only now read the top 10; diff it with what clients have to find who left it.
            let top = board.top(TOP);
            let now_in: BTreeSet<String> = top.iter().map(|r| r.entry.member.clone()).collect();
            for gone in shown.difference(&now_in) {
                tx.send(Push::LeftTop {
                    member: gone.clone(),
                })?;
            }
            shown = now_in;
            let list = top
                .into_iter()
                .map(|r| (r.rank, r.entry.member, r.entry.score))
                .collect();
            tx.send(Push::Top(list))?;
        }
    }
    drop(tx);
    let (tops, entered, left, ranks) = fanout.join().expect("fan-out thread");

    println!(
        "{answers} answers from {players} players: {tops} top-{TOP} pushes, {entered} entered \
         and {left} left the top {TOP}, {ranks} personal rank updates"
    );
    let final_top: Vec<_> = board
        .top(3)
        .into_iter()
        .map(|r| (r.rank, r.entry.member, r.entry.score))
        .collect();
    println!("final top 3: {final_top:?}");

    // A replayed answer (the same write with the same op id: a client retrying after a
    // timeout) is not counted again, and its outcome says so, so the server pushes nothing.
    // Op ids are remembered for the board's op-id horizon (a minute by default) of the times
    // the writes carry, which covers any retry of a recent answer.
    let replay = board.write(last.expect("at least one answer"))?;
    assert!(!replay.applied);
    assert!(tops >= 1 && tops <= answers);
    // Every arrival in the top 10 came from a write outcome, every departure from a diff of
    // two pushed lists: together they account for the final list.
    assert_eq!(entered as i64 - left as i64, shown.len() as i64);
    Ok(())
}
