//! Practice answers and progress.

use livequiz_sdk::types::AnswerRequest;

use crate::common::{choice, expect_status, fields, question, Ctx};

pub async fn scenario(ctx: &Ctx) {
    let (_admin, author, player) = ctx.cast().await;
    let rust = author
        .create_question(&question("rust q", "Rust", &[]))
        .await
        .unwrap();
    let mut multi_in = question("pick both", "SQL", &[]);
    multi_in.choices = vec![choice("a", true), choice("b", true), choice("c", false)];
    let multi = author.create_question(&multi_in).await.unwrap();
    let right = rust.choices[0].id;
    let wrong = rust.choices[1].id;

    // Empty progress.
    let p = player.progress().await.unwrap();
    assert_eq!(
        (p.answered, p.correct, p.current_streak, p.best_streak),
        (0, 0, 0, 0)
    );
    assert_eq!(p.accuracy, 0.0);

    // Answers reveal correctness and the explanation.
    let r = player.answer(rust.id, &[right]).await.unwrap();
    assert!(r.correct);
    assert_eq!(r.correct_choice_ids, vec![right]);
    assert_eq!(r.explanation, "because rust q");
    let r = player.answer(rust.id, &[wrong]).await.unwrap();
    assert!(!r.correct);
    let both = [multi.choices[0].id, multi.choices[1].id];
    let r = player.answer(multi.id, &[both[0]]).await.unwrap();
    assert!(!r.correct, "a partial selection is wrong");
    assert_eq!(r.correct_choice_ids, both.to_vec());
    assert!(
        player
            .answer(multi.id, &[both[1], both[0]])
            .await
            .unwrap()
            .correct
    );
    let r = player
        .answer_with(
            rust.id,
            &AnswerRequest {
                choice_ids: vec![right],
                time_ms: Some(1500),
                attempt_id: None,
            },
        )
        .await
        .unwrap();
    assert!(r.correct);

    // Progress right after answering (read from the primary).
    let p = player.progress().await.unwrap();
    assert_eq!((p.answered, p.correct), (5, 3));
    assert_eq!((p.current_streak, p.best_streak), (2, 2));
    assert!((p.accuracy - 0.6).abs() < 1e-9);
    assert_eq!(p.topics.len(), 2);
    assert_eq!(p.topics[0].topic, "Rust");
    assert_eq!((p.topics[0].answered, p.topics[0].correct), (3, 2));
    assert_eq!((p.topics[1].answered, p.topics[1].correct), (2, 1));
    // Another user's progress is separate.
    assert_eq!(author.progress().await.unwrap().answered, 0);

    // Bad answers change nothing.
    let p422 = expect_status(player.answer(rust.id, &[]).await, 422);
    assert_eq!(fields(&p422), vec!["choice_ids"]);
    let p422 = expect_status(player.answer(rust.id, &[multi.choices[2].id]).await, 422);
    assert!(
        p422.errors[0].message.contains("not choices of question"),
        "{p422:?}"
    );
    expect_status(player.answer(rust.id, &[right, right]).await, 422);
    expect_status(
        player
            .answer_with(
                rust.id,
                &AnswerRequest {
                    choice_ids: vec![right],
                    time_ms: Some(u64::MAX),
                    attempt_id: None,
                },
            )
            .await,
        422,
    );
    expect_status(player.answer(999_999, &[right]).await, 404);
    expect_status(
        player
            .answer_with(
                rust.id,
                &AnswerRequest {
                    choice_ids: vec![right],
                    time_ms: None,
                    attempt_id: Some(424_242),
                },
            )
            .await,
        404,
    );
    expect_status(ctx.anon.answer(rust.id, &[right]).await, 401);
    assert_eq!(player.progress().await.unwrap().answered, 5);
    expect_status(ctx.anon.progress().await, 401);
}
