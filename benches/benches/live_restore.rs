//! CPU cost of taking a live session over: `Session::restore` rebuilding a
//! 10,000-player session from its checkpoint and 30,000 durable answers
//! (two questions revealed, the third open with every player answered).
//! The Redis/SQL reads and the clients' reconnects come on top (see
//! docs/PERFORMANCE.md, "live quiz").
//!
//! `cargo bench -p benches --bench live_restore`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::live::engine::{
    AnswerRecord, LiveQuestion, LiveQuiz, PhaseCheckpoint, PhaseRecord, PlayerRecord, Session,
    SessionMeta,
};
use livequiz_sdk::live::ScoringRules;

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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let (meta, players, phase, answers) = inputs();
    c.bench_function("live/restore_10k_players_30k_answers", |b| {
        b.iter(|| {
            // Instants need a runtime context (tokio's clock).
            let _guard = rt.enter();
            let now = tokio::time::Instant::now();
            let (session, writes) = Session::restore(
                meta.clone(),
                players.clone(),
                phase.clone(),
                &answers,
                now,
                70_000,
            );
            black_box((session.roster.len(), writes.len()))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = restore
}
criterion_main!(benches);
