//! Bulk-imports questions into a gateway's question bank: a CSV file (the bank's CSV layout) or,
//! without a file, questions generated in code and sent as one JSON batch. An import is all or
//! nothing: if any question is invalid the gateway stores none and names every bad field.
//!
//! ```sh
//! cargo run -p gateway &                     # a gateway on its embedded default, 127.0.0.1:8080
//! cargo run -p livequiz-sdk --example import_questions -- http://127.0.0.1:8080 ada 'correct horse 1' \
//!     crates/sdk/examples/questions.csv
//! cargo run -p livequiz-sdk --example import_questions -- http://127.0.0.1:8080 ada 'correct horse 1' \
//!     --generate 1000
//! ```
//!
//! The account is registered if it does not exist yet (on a fresh gateway the first account is an
//! admin; importing needs the author or admin role).

use livequiz_sdk::types::{
    ChoiceInput, ImportResult, QuestionBatch, QuestionInput, RegisterRequest, CSV_HEADER,
};
use livequiz_sdk::{Client, Error};

/// The questions shipped beside this example, in the CSV layout of [`CSV_HEADER`].
pub const SAMPLE_CSV: &str = include_str!("questions.csv");

/// Logs in, registering the account first if the gateway does not know it.
pub async fn login_or_register(
    base_url: &str,
    username: &str,
    password: &str,
) -> Result<Client, Error> {
    let anon = Client::new(base_url)?;
    match anon.login(username, password).await {
        Ok(client) => Ok(client),
        Err(e) if e.status() == Some(401) => {
            anon.register(&RegisterRequest {
                username: username.into(),
                password: password.into(),
            })
            .await?;
            anon.login(username, password).await
        }
        Err(e) => Err(e),
    }
}

/// `n` generated multiple-choice questions (arithmetic, so the answer key is obvious).
pub fn generated(n: usize) -> QuestionBatch {
    let questions = (0..n)
        .map(|i| {
            let (a, b) = (i % 97 + 2, i % 13 + 3);
            QuestionInput {
                text: format!("What is {a} × {b}? (#{i})"),
                topic: "Arithmetic".into(),
                tags: vec!["generated".into(), "multiplication".into()],
                difficulty: (1 + i % 5) as u8,
                explanation: format!("{a} × {b} = {}", a * b),
                choices: [a * b, a * b + a, a * b - b, a * b + 1]
                    .iter()
                    .enumerate()
                    .map(|(k, v)| ChoiceInput {
                        id: None,
                        text: v.to_string(),
                        correct: k == 0,
                    })
                    .collect(),
            }
        })
        .collect();
    QuestionBatch { questions }
}

/// Imports CSV text; on a validation error prints every bad field and returns the error.
pub async fn import_csv(client: &Client, csv: &str) -> Result<ImportResult, Error> {
    match client.import_questions_csv(csv).await {
        Err(Error::Api(problem)) => {
            eprintln!("import refused: {}", problem.detail);
            for field in &problem.errors {
                eprintln!("  {}: {}", field.field, field.message);
            }
            Err(Error::Api(problem))
        }
        other => other,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, user, password, rest @ ..] = args.as_slice() else {
        return Err("usage: import_questions <base-url> <username> <password> [<file.csv> | --generate <n>]".into());
    };
    let client = login_or_register(base, user, password).await?;
    let result = match rest {
        [flag, n] if flag == "--generate" => {
            client.import_questions(&generated(n.parse()?)).await?
        }
        [path] => import_csv(&client, &std::fs::read_to_string(path)?).await?,
        [] => import_csv(&client, SAMPLE_CSV).await?,
        _ => return Err("expected one CSV file or --generate <n>".into()),
    };
    println!(
        "imported {} questions (ids {:?} .. {:?}); columns: {}",
        result.imported,
        result.ids.first(),
        result.ids.last(),
        CSV_HEADER.join(",")
    );
    // Everything imported can be exported again in the same layout.
    let csv = client.export_questions_csv().await?;
    println!(
        "the bank now exports {} CSV rows",
        csv.lines().count().saturating_sub(1)
    );
    Ok(())
}
