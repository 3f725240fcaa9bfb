//! CPU cost of the live engine at 10,000 players:
//!
//! - taking a session over: `Session::restore` rebuilding it from its
//!   checkpoint and 30,000 durable answers (two questions revealed, the third
//!   open with every player answered); the Redis/SQL reads and the clients'
//!   reconnects come on top (see docs/PERFORMANCE.md, "live quiz");
//! - the push after a reveal: every player's rank and score moved, so one
//!   `Session::push` reads the board in order and builds 10,000 rank frames
//!   and 10,000 top lists (serialising and writing them to sockets comes on
//!   top); and the same push when every connection declared
//!   `reads_reveal_standing` (the reveal told each standing: no rank frames,
//!   only the top lists).
//!
//! `cargo bench -p benches --bench live_restore`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use live_engine::{
    AnswerRecord, Instant, LiveQuestion, LiveQuiz, PhaseCheckpoint, PhaseRecord, PlayerRecord,
    Session, SessionMeta,
};
use livequiz_sdk::live::{Capabilities, ScoringRules};

const PLAYERS: u64 = 10_000;

fn inputs() -> (
    SessionMeta,
    Vec<PlayerRecord>,
    PhaseCheckpoint,
    Vec<AnswerRecord>,
) {
    let questions = (0..3)
        .map(|i| LiveQuestion {
            question_id: i,
            text: format!("question {i}"),
            choices: (0..4).map(|c| format!("choice {c}")).collect(),
            correct: vec![1],
            time_limit_ms: 20_000,
        })
        .collect();
    let meta = SessionMeta {
        session_id: 1,
        code: "123456".into(),
        host_token: "host".into(),
        quiz: LiveQuiz {
            quiz_id: 1,
            questions,
            rules: ScoringRules::default(),
            reveal_ms: 2_000,
            top_n: 10,
            hide_text_on_devices: false,
        },
        join: Default::default(),
        created_at: 1_000,
        hostless: None,
    };
    let players = (1..=PLAYERS)
        .map(|id| PlayerRecord {
            id,
            nickname: format!("player-{id}"),
            account_id: None,
            resume_token: format!("{id:032x}"),
            joined_at: 1_000,
            banned: false,
            extra_time_percent: 100,
        })
        .collect();
    let answers = (0..3u32)
        .flat_map(|q| {
            (1..=PLAYERS).map(move |player| {
                let correct = (player + u64::from(q)) % 10 < 7;
                AnswerRecord {
                    question: q,
                    player,
                    choices: vec![if correct { 1 } else { 0 }],
                    correct,
                    points: if correct {
                        500 + (player % 500) as u32
                    } else {
                        0
                    },
                    answered_at: 2_000 + i64::from(q) * 30_000 + player as i64,
                }
            })
        })
        .collect();
    let phase = PhaseCheckpoint {
        phase: PhaseRecord::Question {
            index: 2,
            opened_at: 60_000,
            closing: false,
            extra_time: Vec::new(),
        },
        end_requested: false,
        locked: false,
    };
    (meta, players, phase, answers)
}

fn restore(c: &mut Criterion) {
    let (meta, players, phase, answers) = inputs();
    c.bench_function("live/restore_10k_players_30k_answers", |b| {
        b.iter(|| {
            let (session, writes) = Session::restore(
                meta.clone(),
                players.clone(),
                phase.clone(),
                &answers,
                Instant::ZERO,
                70_000,
                [7; 32],
            );
            black_box((session.roster.len(), writes.len()))
        })
    });
}

/// A 10,000-player session just revealed: everyone attached, every rank
/// pushed once before the question, and the question's points applied.
/// `declared`: every connection declared `reads_reveal_standing`.
fn revealed(declared: bool) -> Session {
    let (meta, players, _, answers) = inputs();
    let lobby = PhaseCheckpoint {
        phase: PhaseRecord::Lobby,
        end_requested: false,
        locked: false,
    };
    let mut t = Instant::ZERO;
    let (mut s, _) = Session::restore(meta, players, lobby, &[], t, 70_000, [7; 32]);
    let capabilities = Capabilities {
        reads_reveal_standing: declared,
    };
    for id in 1..=PLAYERS {
        s.attach_with(t, id, capabilities);
    }
    s.push(t);
    s.start(t).unwrap();
    s.take_effects();
    t += std::time::Duration::from_millis(300);
    let pending: Vec<_> = answers
        .iter()
        .filter(|a| a.question == 0)
        .map(|a| s.answer(t, a.player, 0, &a.choices, None).unwrap())
        .collect();
    s.commit(t, pending);
    s.take_effects();
    s
}

fn push(c: &mut Criterion) {
    let t = Instant::ZERO + std::time::Duration::from_secs(1);
    for (name, declared) in [
        ("live/push_after_reveal_10k_players", false),
        (
            "live/push_after_reveal_10k_players_reading_reveal_standing",
            true,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter_batched(
                || revealed(declared),
                |mut s| {
                    s.push(t);
                    black_box(s.take_effects().len())
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = restore, push
}
criterion_main!(benches);
