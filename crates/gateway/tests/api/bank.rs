//! Bulk import and export of the question bank: JSON and CSV round trips, all-or-nothing
//! validation naming every bad question, roles and the size cap.

use livequiz_sdk::types::{QuestionBatch, QuestionInput, SearchParams, CSV_HEADER};
use livequiz_sdk::Client;

use crate::common::{choice, eventually, expect_status, fields, question, Ctx};

/// Questions as the gateway stores them (trimmed, tags lowercased and sorted), so an export
/// must equal them exactly.
fn bank(n: usize, prefix: &str) -> Vec<QuestionInput> {
    (0..n)
        .map(|i| {
            let mut q = question(
                &format!("{prefix} question {i}, with \"quotes\""),
                "Bulk",
                &["alpha", "beta"],
            );
            q.difficulty = (i % 5) as u8 + 1;
            if i % 2 == 0 {
                q.choices.push(choice("also right", true));
            }
            q
        })
        .collect()
}

/// Waits until `client`'s export (served by the replica) holds `n` questions.
async fn export_of(client: &Client, n: usize) -> QuestionBatch {
    eventually("export complete", || async {
        let e = client.export_questions().await.expect("export");
        (e.questions.len() == n).then_some(e)
    })
    .await
}

pub async fn scenario(ctx: &Ctx) {
    let (admin, author, player) = ctx.cast().await;
    let writer2 = ctx.user("writer2").await;
    let id2 = writer2.me().await.unwrap().id;
    admin
        .set_role(id2, livequiz_sdk::types::Role::Author)
        .await
        .unwrap();

    // Roles: players may neither import nor export; anonymous callers are 401.
    let one = QuestionBatch {
        questions: bank(1, "p"),
    };
    expect_status(player.import_questions(&one).await, 403);
    expect_status(player.import_questions_csv(CSV_HEADER.join(",")).await, 403);
    expect_status(player.export_questions().await, 403);
    expect_status(ctx.anon.import_questions(&one).await, 401);

    // A good JSON import: every question stored, ids in input order, searchable at once.
    let input = bank(25, "json");
    let res = author
        .import_questions(&QuestionBatch {
            questions: input.clone(),
        })
        .await
        .expect("import");
    assert_eq!(res.imported, 25);
    assert_eq!(res.ids.len(), 25);
    let q7 = author.get_question(res.ids[7]).await.unwrap();
    assert_eq!(q7.text, input[7].text);
    assert_eq!(q7.choices.len(), input[7].choices.len());
    assert_eq!(q7.choices[0].correct, Some(true));
    let hits = author
        .search_questions(&SearchParams {
            q: "json question".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.total, 25, "the batch is indexed in one commit");

    // The export is the input again (JSON), and the author sees only their own questions.
    admin
        .import_questions(&QuestionBatch {
            questions: bank(2, "admin"),
        })
        .await
        .unwrap();
    let exported = export_of(&author, 25).await;
    assert_eq!(exported.questions, input);
    export_of(&admin, 27).await;

    // CSV round trip: the author's CSV export imported by another author gives the same bank.
    let csv = author.export_questions_csv().await.unwrap();
    assert!(csv.starts_with(&CSV_HEADER.join(",")), "{csv}");
    assert_eq!(csv.lines().count(), 26, "header + one line per question");
    let res = writer2.import_questions_csv(csv).await.expect("csv import");
    assert_eq!(res.imported, 25);
    assert_eq!(export_of(&writer2, 25).await.questions, input);

    // A bad JSON batch names every bad question and stores nothing.
    let mut bad = bank(20, "bad");
    bad[3].text = String::new();
    bad[17].choices = vec![choice("only", false)];
    bad[17].difficulty = 0;
    let p = expect_status(
        writer2
            .import_questions(&QuestionBatch { questions: bad })
            .await,
        422,
    );
    let f = fields(&p);
    for want in [
        "questions[3].text",
        "questions[17].choices",
        "questions[17].difficulty",
    ] {
        assert!(f.contains(&want.to_string()), "{want} missing in {f:?}");
    }
    assert_eq!(f.len(), 4, "{f:?}");

    // A bad CSV names every bad row (counted from 1 after the header) and stores nothing.
    let csv = format!(
        "{}\n\
         ok,t,a;b,1,,x,y,,,,,1\n\
         ,t,,2,,x,y,,,,,1\n\
         ok2,t,,9,,x,y,,,,,2\n\
         ok3,t,,2,,x,y,,,,,7\n",
        CSV_HEADER.join(",")
    );
    let p = expect_status(writer2.import_questions_csv(csv).await, 422);
    let f = fields(&p);
    for want in ["row 2", "row 3", "row 4"] {
        assert!(f.contains(&want.to_string()), "{want} missing in {f:?}");
    }
    assert!(!f.contains(&"row 1".to_string()), "{f:?}");
    let p = expect_status(writer2.import_questions_csv("a,b\n1,2\n").await, 422);
    assert_eq!(fields(&p), vec!["header"]);
    // Unknown fields are refused like everywhere else.
    let (status, _) = writer2
        .raw(
            livequiz_sdk::Method::POST,
            "/v1/questions/import",
            "application/json",
            r#"{"questions":[],"extra":1}"#,
        )
        .await
        .unwrap();
    assert_eq!(status, 422);
    let (status, _) = writer2
        .raw(
            livequiz_sdk::Method::POST,
            "/v1/questions/import",
            "text/plain",
            "text,topic",
        )
        .await
        .unwrap();
    assert_eq!(status, 415);
    expect_status(
        writer2
            .import_questions(&QuestionBatch { questions: vec![] })
            .await,
        422,
    );
    // Still exactly the 25 good questions: nothing of the bad batches was stored.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        writer2.export_questions().await.unwrap().questions.len(),
        25
    );

    // Over the cap (IMPORT_MAX_QUESTIONS, default 10,000): 413, nothing stored. This body is
    // about 2 MB: over the global body limit, within the import route's own one.
    let over = QuestionBatch {
        questions: vec![question("x", "t", &[]); 10_001],
    };
    let p = expect_status(writer2.import_questions(&over).await, 413);
    assert!(p.detail.contains("10000"), "{p:?}");
    assert_eq!(
        writer2.export_questions().await.unwrap().questions.len(),
        25
    );
}

/// Import caps lowered for [`caps_scenario`]: the byte cap is above the global
/// `MAX_BODY_BYTES` (64 KiB) to show that the import route has its own.
pub fn small_caps(c: &mut gateway::config::Config) {
    c.import_max_bytes = 150_000;
    c.import_max_questions = 10;
}

/// IMPORT_MAX_BYTES and IMPORT_MAX_QUESTIONS: a body over the global limit but within the
/// import's is accepted; more questions, or more bytes, are 413 and store nothing.
pub async fn caps_scenario(ctx: &Ctx) {
    let (_admin, author, _player) = ctx.cast().await;
    let big = |n: usize| QuestionBatch {
        questions: (0..n)
            .map(|i| {
                let mut q = question(&format!("{i} {}", "t".repeat(1990)), "caps", &[]);
                q.explanation = "e".repeat(4000);
                q.choices = (0..6)
                    .map(|c| choice(&format!("{c} {}", "c".repeat(490)), c == 0))
                    .collect();
                q
            })
            .collect(),
    };
    let ten = big(10);
    let size = serde_json::to_vec(&ten).unwrap().len();
    assert!(size > 64 * 1024 && size < 150_000, "{size}");
    assert_eq!(author.import_questions(&ten).await.unwrap().imported, 10);
    export_of(&author, 10).await;
    let p = expect_status(
        author
            .import_questions(&QuestionBatch {
                questions: bank(11, "over"),
            })
            .await,
        413,
    );
    assert!(p.detail.contains("IMPORT_MAX_QUESTIONS"), "{p:?}");
    // Over the byte cap: a separate client, as the server closes the connection after
    // refusing an oversized body unread.
    let huge = serde_json::to_string(&big(17)).unwrap();
    assert!(huge.len() > 150_000);
    let fresh = Client::new(author.base_url())
        .unwrap()
        .with_token(author.token().unwrap());
    let (status, body) = fresh
        .raw(
            livequiz_sdk::Method::POST,
            "/v1/questions/import",
            "application/json",
            huge,
        )
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("IMPORT_MAX_BYTES"), "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(author.export_questions().await.unwrap().questions.len(), 10);
}
