//! SDK quick start: `cargo run -p gateway` in one terminal, then
//! `cargo run -p livequiz-sdk --example quickstart [http://127.0.0.1:8080]` (on a fresh data directory).

use livequiz_sdk::types::{ChoiceInput, QuestionFilter, QuestionInput, RegisterRequest};

#[tokio::main]
async fn main() -> Result<(), livequiz_sdk::Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    run(&base).await
}

/// Registers an account, writes a question, answers it, lists and fetches questions.
pub async fn run(base: &str) -> Result<(), livequiz_sdk::Error> {
    let anon = livequiz_sdk::Client::new(base)?;
    anon.register(&RegisterRequest {
        username: "ada".into(),
        password: "correct horse battery".into(),
    })
    .await?;
    let ada = anon.login("ada", "correct horse battery").await?;
    let q = ada
        .create_question(&QuestionInput {
            text: "Which keyword makes a Rust binding mutable?".into(),
            topic: "Rust".into(),
            tags: vec!["basics".into()],
            difficulty: 1,
            explanation: "`let mut`".into(),
            choices: vec![
                ChoiceInput {
                    id: None,
                    text: "mut".into(),
                    correct: true,
                },
                ChoiceInput {
                    id: None,
                    text: "var".into(),
                    correct: false,
                },
            ],
        })
        .await?;
    let result = ada.answer(q.id, &[q.choices[0].id]).await?;
    println!(
        "correct: {}, because {}",
        result.correct, result.explanation
    );
    let page = ada
        .list_questions(&QuestionFilter {
            topic: Some("rust".into()),
            ..Default::default()
        })
        .await?;
    println!("{} Rust questions", page.total);
    match ada.get_question(999_999).await {
        Err(livequiz_sdk::Error::Api(problem)) => {
            println!("{}: {}", problem.status, problem.detail)
        }
        other => println!("{other:?}"),
    }
    Ok(())
}
