//! Questions CRUD, choices sub-resource, list filters.

use livequiz_sdk::types::{ChoiceInput, QuestionFilter, QuestionPatch};

use crate::common::{choice, eventually, expect_status, fields, question, Ctx};

pub async fn scenario(ctx: &Ctx) {
    let (admin, author, player) = ctx.cast().await;
    let other_author = ctx.user("writer2").await;
    let id2 = other_author.me().await.unwrap().id;
    admin
        .set_role(id2, livequiz_sdk::types::Role::Author)
        .await
        .unwrap();

    // Players cannot author.
    expect_status(
        player.create_question(&question("q", "rust", &[])).await,
        403,
    );
    expect_status(
        ctx.anon.create_question(&question("q", "rust", &[])).await,
        401,
    );

    // Every invalid field is reported.
    let mut bad = question("", "", &["ok", ""]);
    bad.difficulty = 9;
    bad.choices = vec![choice("only", false)];
    let p = expect_status(author.create_question(&bad).await, 422);
    let f = fields(&p);
    for want in ["text", "topic", "tags[1]", "difficulty", "choices"] {
        assert!(f.contains(&want.to_string()), "{want} missing in {f:?}");
    }
    let mut dup = question("dup", "rust", &[]);
    dup.choices = vec![choice("Same", true), choice("same ", false)];
    assert_eq!(
        fields(&expect_status(author.create_question(&dup).await, 422)),
        vec!["choices[1].text"]
    );
    let mut many = question("many", "rust", &[]);
    many.choices = (0..7).map(|i| choice(&format!("c{i}"), i == 0)).collect();
    expect_status(author.create_question(&many).await, 422);
    let mut long = question(&"x".repeat(2001), "rust", &[]);
    long.tags = (0..11).map(|i| format!("t{i}")).collect();
    let p = expect_status(author.create_question(&long).await, 422);
    assert!(
        p.errors
            .iter()
            .any(|e| e.field == "text" && e.message.contains("2000")),
        "{p:?}"
    );
    assert!(fields(&p).contains(&"tags".to_string()));

    // Create: the author sees everything; players see no answers.
    let mut input = question(
        "What does `mut` do?",
        "Rust",
        &["Basics", "basics", "syntax"],
    );
    input.choices.push(choice("also right", true));
    let q = author.create_question(&input).await.unwrap();
    assert_eq!(
        q.tags,
        vec!["basics", "syntax"],
        "tags are lowercased and deduplicated"
    );
    assert_eq!(q.choices.len(), 3);
    assert!(q.multiple_correct);
    assert_eq!(q.choices[0].correct, Some(true));
    assert!(q.explanation.is_some());
    let seen = player.get_question(q.id).await.unwrap();
    assert!(seen.choices.iter().all(|c| c.correct.is_none()));
    assert!(seen.explanation.is_none());
    assert_eq!(seen.text, q.text);
    expect_status(player.get_question(987_654).await, 404);

    // Choices sub-resource.
    let cs = player.list_choices(q.id).await.unwrap();
    assert_eq!(cs.len(), 3);
    assert!(cs.iter().all(|c| c.correct.is_none()));
    let added = author
        .add_choice(q.id, &choice("fourth", false))
        .await
        .unwrap();
    assert_eq!(author.list_choices(q.id).await.unwrap().len(), 4);
    expect_status(author.add_choice(q.id, &choice("FOURTH", false)).await, 422);
    expect_status(author.add_choice(q.id, &choice("", false)).await, 422);
    expect_status(player.add_choice(q.id, &choice("p", false)).await, 403);
    expect_status(
        other_author.add_choice(q.id, &choice("p", false)).await,
        403,
    );
    expect_status(author.add_choice(424_242, &choice("p", false)).await, 404);
    author
        .add_choice(q.id, &choice("fifth", false))
        .await
        .unwrap();
    author
        .add_choice(q.id, &choice("sixth", false))
        .await
        .unwrap();
    expect_status(
        author.add_choice(q.id, &choice("seventh", false)).await,
        409,
    );
    let upd = author
        .update_choice(
            q.id,
            added.id,
            &ChoiceInput {
                id: None,
                text: "fourth!".into(),
                correct: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.text, "fourth!");
    expect_status(
        author
            .update_choice(q.id, 999_999, &choice("x", true))
            .await,
        404,
    );
    expect_status(author.delete_choice(q.id, 999_999).await, 404);
    author.delete_choice(q.id, added.id).await.unwrap();
    assert_eq!(author.list_choices(q.id).await.unwrap().len(), 5);

    // PUT keeps listed choice ids, adds new ones, drops the rest - atomically.
    let keep = q.choices[1].id;
    let mut put = question("What does `mut` do in Rust?", "rust", &["mutability"]);
    put.difficulty = 3;
    put.choices = vec![
        ChoiceInput {
            id: Some(keep),
            text: "makes a binding mutable".into(),
            correct: true,
        },
        choice("nothing", false),
    ];
    let q2 = author.replace_question(q.id, &put).await.unwrap();
    assert_eq!(q2.choices.len(), 2);
    assert_eq!(q2.choices[0].id, keep);
    assert_eq!(q2.difficulty, 3);
    assert!(!q2.multiple_correct);
    assert_eq!(q2.tags, vec!["mutability"]);
    let mut foreign = put.clone();
    foreign.choices[1].id = Some(123_456_789);
    let p = expect_status(author.replace_question(q.id, &foreign).await, 422);
    assert_eq!(fields(&p), vec!["choices[1].id"]);
    assert_eq!(
        author.get_question(q.id).await.unwrap(),
        q2,
        "a rejected PUT changes nothing"
    );
    expect_status(other_author.replace_question(q.id, &put).await, 403);
    expect_status(author.replace_question(555_555, &put).await, 404);

    // The last correct choice cannot be unmarked or deleted; 2 choices minimum.
    expect_status(
        author
            .update_choice(q.id, keep, &choice("makes a binding mutable", false))
            .await,
        409,
    );
    expect_status(author.delete_choice(q.id, keep).await, 409);
    expect_status(author.delete_choice(q.id, q2.choices[1].id).await, 409);

    // PATCH changes only the given fields; admins may edit anyone's question.
    let patched = admin
        .patch_question(
            q.id,
            &QuestionPatch {
                topic: Some("Rust lang".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.topic, "Rust lang");
    assert_eq!(patched.text, q2.text);
    let p = expect_status(
        author
            .patch_question(
                q.id,
                &QuestionPatch {
                    difficulty: Some(0),
                    text: Some(" ".into()),
                    ..Default::default()
                },
            )
            .await,
        422,
    );
    assert_eq!(fields(&p), vec!["text", "difficulty"]);
    expect_status(
        other_author
            .patch_question(q.id, &QuestionPatch::default())
            .await,
        403,
    );
    expect_status(
        player.patch_question(q.id, &QuestionPatch::default()).await,
        403,
    );

    // Lists: filters and paging with totals (served by the replica: poll).
    for i in 0..5 {
        let mut qi = question(&format!("SQL question {i}"), "SQL", &["db"]);
        qi.difficulty = 1 + (i % 2) as u8;
        other_author.create_question(&qi).await.unwrap();
    }
    let page = eventually("6 questions listed", || async {
        let p = player
            .list_questions(&QuestionFilter {
                limit: Some(4),
                ..Default::default()
            })
            .await
            .unwrap();
        (p.total == 6).then_some(p)
    })
    .await;
    assert_eq!(page.items.len(), 4);
    assert!(page.items[0].id > page.items[1].id, "newest first");
    assert!(page.items.iter().all(|q| q.explanation.is_none()));
    let last = player
        .list_questions(&QuestionFilter {
            limit: Some(4),
            offset: Some(4),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(last.items.len(), 2);
    let sql = player
        .list_questions(&QuestionFilter {
            topic: Some("sql".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sql.total, 5);
    let easy = player
        .list_questions(&QuestionFilter {
            topic: Some("SQL".into()),
            difficulty: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(easy.total, 3);
    let tagged = player
        .list_questions(&QuestionFilter {
            tag: Some("Mutability".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(tagged.total, 1);
    let mine = author
        .list_questions(&QuestionFilter {
            author_id: Some(author.me().await.unwrap().id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.total, 1);
    assert!(
        mine.items[0].explanation.is_some(),
        "authors see explanations in lists"
    );
    expect_status(
        player
            .list_questions(&QuestionFilter {
                limit: Some(101),
                ..Default::default()
            })
            .await,
        422,
    );
    expect_status(
        player
            .list_questions(&QuestionFilter {
                difficulty: Some(6),
                ..Default::default()
            })
            .await,
        422,
    );

    // Delete.
    expect_status(player.delete_question(q.id).await, 403);
    expect_status(other_author.delete_question(q.id).await, 403);
    author.delete_question(q.id).await.unwrap();
    expect_status(author.get_question(q.id).await, 404);
    expect_status(author.delete_question(q.id).await, 404);
    expect_status(author.list_choices(q.id).await, 404);
}
