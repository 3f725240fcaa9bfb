//! Times a 10,000-question bulk import on the embedded default (SQLite file + tantivy index on
//! disk in a temporary directory), through HTTP like a client: JSON import, export, CSV import,
//! and as a baseline 500 of the same questions created one request at a time.
//!
//! Run: `cargo run --release -p gateway --example import_bench [questions] [rounds]`
//! (defaults 10000 and 3). Each round uses a fresh data directory. Prints one line per step
//! and round; the figures in docs/PERFORMANCE.md come from here.

use std::time::Instant;

use gateway::config::Config;
use gateway::testing::spawn;
use livequiz_sdk::types::{ChoiceInput, QuestionBatch, QuestionInput, RegisterRequest};
use livequiz_sdk::Client;

/// Questions created one by one per round, as the baseline.
const BASELINE: usize = 500;

fn bank(n: usize) -> Vec<QuestionInput> {
    (0..n)
        .map(|i| QuestionInput {
            text: format!("Bulk question number {i}: which of these options is the right one?"),
            topic: format!("topic {}", i % 40),
            tags: vec![format!("tag{}", i % 13), format!("set{}", i % 7)],
            difficulty: (i % 5) as u8 + 1,
            explanation: format!("Explanation of question {i}, long enough to be realistic."),
            choices: (0..4)
                .map(|c| ChoiceInput {
                    id: None,
                    text: format!("option {c} of {i}"),
                    correct: c == i % 4,
                })
                .collect(),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    let questions = bank(n);
    let body_bytes = serde_json::to_vec(&QuestionBatch {
        questions: questions.clone(),
    })?
    .len();
    println!("questions={n} json_body_bytes={body_bytes}");
    for round in 1..=rounds {
        let dir = tempfile::tempdir()?;
        let server = spawn(Config::for_tests(dir.path())).await?;
        let anon = Client::new(&server.base_url)?;
        anon.register(&RegisterRequest {
            username: "admin".into(),
            password: "bench-password".into(),
        })
        .await?;
        let admin = anon.login("admin", "bench-password").await?;

        let t = Instant::now();
        let res = admin
            .import_questions(&QuestionBatch {
                questions: questions.clone(),
            })
            .await?;
        let import_json = t.elapsed();
        assert_eq!(res.imported as usize, n);

        let t = Instant::now();
        let csv = admin.export_questions_csv().await?;
        let export_csv = t.elapsed();

        let t = Instant::now();
        let res = admin.import_questions_csv(csv).await?;
        let import_csv = t.elapsed();
        assert_eq!(res.imported as usize, n);

        // Baseline: the same questions one `POST /v1/questions` at a time (a transaction and
        // an index commit each), for the first `BASELINE` of them.
        let t = Instant::now();
        for q in questions.iter().take(BASELINE) {
            admin.create_question(q).await?;
        }
        let single = t.elapsed();

        println!(
            "round={round} import_json_ms={} export_csv_ms={} import_csv_ms={} \
             single_creates={BASELINE} single_ms={} single_per_question_ms={:.2}",
            import_json.as_millis(),
            export_csv.as_millis(),
            import_csv.as_millis(),
            single.as_millis(),
            single.as_secs_f64() * 1000.0 / BASELINE as f64
        );
        server.state.db.close().await;
        server.stop().await;
    }
    Ok(())
}
