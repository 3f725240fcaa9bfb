//! Search: typo tolerance, relevance, filters, sync on edit/delete, bad parameters.

use livequiz_sdk::types::SearchParams;

use crate::common::{choice, eventually, expect_status, fields, question, Ctx};

pub async fn scenario(ctx: &Ctx) {
    let (_admin, author, player) = ctx.cast().await;
    let borrow = author
        .create_question(&question(
            "What does the borrow checker enforce?",
            "Rust",
            &["ownership", "memory"],
        ))
        .await
        .unwrap();
    let lifetimes = author
        .create_question(&question(
            "How are lifetimes annotated?",
            "Rust",
            &["syntax"],
        ))
        .await
        .unwrap();
    let join = author
        .create_question(&question(
            "Which join keeps unmatched rows from the left table?",
            "SQL",
            &["joins"],
        ))
        .await
        .unwrap();

    let search = |q: &str, topic: Option<&str>, tags: Option<&str>| SearchParams {
        q: q.into(),
        topic: topic.map(Into::into),
        tags: tags.map(Into::into),
        ..Default::default()
    };
    // Typo tolerance ("borow", "checkr") and relevance.
    let r = eventually("typo search finds the question", || async {
        let r = player
            .search_questions(&search("borow checkr", None, None))
            .await
            .unwrap();
        (!r.items.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(r.items[0].question.id, borrow.id);
    assert!(r.items[0].score > 0.0);
    assert!(
        r.items[0].question.explanation.is_none(),
        "players get the player view"
    );
    // Filters.
    let r = player
        .search_questions(&search("", Some("rust"), None))
        .await
        .unwrap();
    assert_eq!(r.total, 2);
    let r = player
        .search_questions(&search("", None, Some("ownership,memory")))
        .await
        .unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.items[0].question.id, borrow.id);
    let r = player
        .search_questions(&search("table", Some("rust"), None))
        .await
        .unwrap();
    assert_eq!(r.total, 0);
    let r = player
        .search_questions(&search("left join", None, None))
        .await
        .unwrap();
    assert_eq!(r.items[0].question.id, join.id);

    // Edits and deletes are reflected.
    let mut edit = question(
        "How are generic lifetime parameters annotated?",
        "Rust",
        &["generics"],
    );
    edit.choices = vec![choice("with 'a", true), choice("with <T>", false)];
    author.replace_question(lifetimes.id, &edit).await.unwrap();
    let r = eventually("edited question found by new words", || async {
        let r = player
            .search_questions(&search("generic parameters", None, Some("generics")))
            .await
            .unwrap();
        (r.total == 1).then_some(r)
    })
    .await;
    assert_eq!(r.items[0].question.id, lifetimes.id);
    author.delete_question(join.id).await.unwrap();
    let r = player
        .search_questions(&search("left join", None, None))
        .await
        .unwrap();
    assert!(r.items.iter().all(|h| h.question.id != join.id));

    // Bad parameters.
    let p = expect_status(
        player
            .search_questions(&SearchParams {
                limit: Some(0),
                ..Default::default()
            })
            .await,
        422,
    );
    assert_eq!(fields(&p), vec!["limit"]);
    expect_status(
        player
            .search_questions(&search(&"q".repeat(600), None, None))
            .await,
        422,
    );
    expect_status(
        ctx.anon.search_questions(&search("x", None, None)).await,
        401,
    );
    // Garbage query text is harmless.
    player
        .search_questions(&search("\"(*&^%$ OR AND ~~ :", None, None))
        .await
        .unwrap();
}
