//! Quizzes CRUD, attempts, quiz and user reports (JSON and CSV).

use livequiz_sdk::types::{AnswerRequest, QuizFilter, QuizInput, QuizItemInput};

use crate::common::{eventually, expect_status, fields, question, Ctx};

fn quiz(title: &str, items: &[(i64, u32)]) -> QuizInput {
    QuizInput {
        title: title.into(),
        description: "a quiz".into(),
        questions: items
            .iter()
            .map(|(q, t)| QuizItemInput {
                question_id: *q,
                time_limit_ms: *t,
            })
            .collect(),
    }
}

pub async fn scenario(ctx: &Ctx) {
    let (admin, author, player) = ctx.cast().await;
    let q1 = author
        .create_question(&question("first, \"quoted\"", "Rust", &[]))
        .await
        .unwrap();
    let q2 = author
        .create_question(&question("second", "SQL", &[]))
        .await
        .unwrap();
    let q3 = author
        .create_question(&question("third", "SQL", &[]))
        .await
        .unwrap();

    // Validation, including references to missing questions (and nothing is half-written).
    expect_status(
        player.create_quiz(&quiz("t", &[(q1.id, 10_000)])).await,
        403,
    );
    let p = expect_status(
        author
            .create_quiz(&quiz("", &[(q1.id, 10), (q1.id, 10_000)]))
            .await,
        422,
    );
    assert_eq!(
        fields(&p),
        vec![
            "title",
            "questions[0].time_limit_ms",
            "questions[1].question_id"
        ]
    );
    expect_status(author.create_quiz(&quiz("empty", &[])).await, 422);
    let p = expect_status(
        author
            .create_quiz(&quiz("ghost", &[(q1.id, 10_000), (777_777, 10_000)]))
            .await,
        422,
    );
    assert_eq!(fields(&p), vec!["questions[1].question_id"]);
    assert_eq!(
        author
            .list_quizzes(&QuizFilter::default())
            .await
            .unwrap()
            .total,
        0,
        "rolled back"
    );

    // Create, get (ordered, player view), list.
    let z = author
        .create_quiz(&quiz("Mixed", &[(q2.id, 20_000), (q1.id, 10_000)]))
        .await
        .unwrap();
    assert_eq!(z.questions.len(), 2);
    assert_eq!(z.questions[0].question.id, q2.id);
    assert_eq!(z.questions[0].time_limit_ms, 20_000);
    assert_eq!(z.questions[1].position, 1);
    let pz = player.get_quiz(z.id).await.unwrap();
    assert!(pz.questions[0]
        .question
        .choices
        .iter()
        .all(|c| c.correct.is_none()));
    expect_status(player.get_quiz(99_999).await, 404);
    let z2 = admin
        .create_quiz(&quiz("Admin's", &[(q3.id, 5_000)]))
        .await
        .unwrap();
    let list = eventually("2 quizzes listed", || async {
        let l = player.list_quizzes(&QuizFilter::default()).await.unwrap();
        (l.total == 2).then_some(l)
    })
    .await;
    assert_eq!(list.items[0].id, z2.id);
    assert_eq!(list.items[1].question_count, 2);
    let by_author = player
        .list_quizzes(&QuizFilter {
            author_id: Some(z.author_id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_author.total, 1);
    expect_status(
        player
            .list_quizzes(&QuizFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await,
        422,
    );

    // Replace, ownership, delete; a question used by a quiz cannot be deleted.
    let z = author
        .replace_quiz(
            z.id,
            &quiz(
                "Mixed v2",
                &[(q1.id, 10_000), (q2.id, 15_000), (q3.id, 15_000)],
            ),
        )
        .await
        .unwrap();
    assert_eq!(z.title, "Mixed v2");
    assert_eq!(
        z.questions
            .iter()
            .map(|i| i.question.id)
            .collect::<Vec<_>>(),
        vec![q1.id, q2.id, q3.id]
    );
    expect_status(
        author
            .replace_quiz(z2.id, &quiz("mine now", &[(q1.id, 10_000)]))
            .await,
        403,
    );
    expect_status(
        author
            .replace_quiz(88_888, &quiz("x", &[(q1.id, 10_000)]))
            .await,
        404,
    );
    expect_status(
        author
            .replace_quiz(z.id, &quiz("x", &[(12_345, 10_000)]))
            .await,
        422,
    );
    assert_eq!(
        author.get_quiz(z.id).await.unwrap(),
        z,
        "a rejected PUT changes nothing"
    );
    expect_status(author.delete_question(q1.id).await, 409);
    expect_status(author.delete_quiz(z2.id).await, 403);
    admin.delete_quiz(z2.id).await.unwrap();
    expect_status(admin.get_quiz(z2.id).await, 404);
    expect_status(admin.delete_quiz(z2.id).await, 404);

    // Attempts: each question once per attempt; only the attempt's owner; only its questions.
    let a = player.start_attempt(z.id).await.unwrap();
    expect_status(player.start_attempt(55_555).await, 404);
    let ans = |q: &livequiz_sdk::types::Question, idx: usize, t: u64| AnswerRequest {
        choice_ids: vec![q.choices[idx].id],
        time_ms: Some(t),
        attempt_id: Some(a.id),
    };
    assert!(
        player
            .answer_with(q1.id, &ans(&q1, 0, 1000))
            .await
            .unwrap()
            .correct
    );
    assert!(
        !player
            .answer_with(q2.id, &ans(&q2, 1, 3000))
            .await
            .unwrap()
            .correct
    );
    expect_status(player.answer_with(q1.id, &ans(&q1, 1, 10)).await, 409);
    expect_status(author.answer_with(q3.id, &ans(&q3, 0, 10)).await, 403);
    let other = author
        .create_question(&question("outside", "Rust", &[]))
        .await
        .unwrap();
    let p = expect_status(player.answer_with(other.id, &ans(&other, 0, 10)).await, 422);
    assert_eq!(fields(&p), vec!["attempt_id"]);
    let a2 = author.start_attempt(z.id).await.unwrap();
    let mut r = ans(&q1, 0, 2000);
    r.attempt_id = Some(a2.id);
    author.answer_with(q1.id, &r).await.unwrap();
    // A practice answer outside attempts does not count for the quiz.
    player.answer(q1.id, &[q1.choices[1].id]).await.unwrap();

    // Quiz report (author or admin; replica -> poll).
    expect_status(player.quiz_report(z.id).await, 403);
    let rep = eventually("quiz report sees 3 answers", || async {
        let r = author.quiz_report(z.id).await.unwrap();
        (r.answers == 3).then_some(r)
    })
    .await;
    assert_eq!((rep.attempts, rep.players, rep.correct), (2, 2, 2));
    assert_eq!(rep.questions.len(), 3);
    let s1 = &rep.questions[0];
    assert_eq!((s1.question_id, s1.answers, s1.correct), (q1.id, 2, 2));
    assert_eq!(s1.mean_time_ms, Some(1500.0));
    assert_eq!(s1.choices[0].selected, 2);
    assert_eq!(s1.choices[1].selected, 0);
    let s2 = &rep.questions[1];
    assert_eq!((s2.answers, s2.correct, s2.accuracy), (1, 0, 0.0));
    assert_eq!(s2.choices[1].selected, 1);
    assert_eq!(rep.questions[2].mean_time_ms, None);
    admin.quiz_report(z.id).await.unwrap();
    expect_status(author.quiz_report(31_337).await, 404);
    let csv = author.quiz_report_csv(z.id).await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("position,question_id,question,answers,correct"));
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    assert!(lines[1].contains("\"first, \"\"quoted\"\"\""), "{csv}");
    assert!(lines[1].contains(",1500.0,"), "{csv}");

    // User report (self or admin).
    let me = player.me().await.unwrap();
    expect_status(author.user_report(me.id).await, 403);
    let ur = eventually("user report sees 3 answers", || async {
        let r = player.user_report(me.id).await.unwrap();
        (r.progress.answered == 3).then_some(r)
    })
    .await;
    assert_eq!(ur.attempts, 1);
    assert_eq!(ur.answers.len(), 3);
    assert_eq!(ur.answers[2].attempt_id, Some(a.id), "newest first");
    assert_eq!(ur.answers[0].attempt_id, None);
    let csv = admin.user_report_csv(me.id).await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("answer_id,question_id,topic,attempt_id,correct,time_ms,answered_at\n"));
    expect_status(admin.user_report(4_040_404).await, 404);
    let (status, body) = player
        .raw(
            livequiz_sdk::Method::GET,
            &format!("/v1/users/{}/report?format=xml", me.id),
            "application/json",
            "",
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");

    // Answer-once holds under concurrency: of 6 simultaneous answers in one attempt, one wins.
    let a3 = player.start_attempt(z.id).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6u64 {
        let (player, choice) = (player.clone(), q3.choices[0].id);
        let req = AnswerRequest {
            choice_ids: vec![choice],
            time_ms: Some(100 + i),
            attempt_id: Some(a3.id),
        };
        tasks.push(tokio::spawn(async move {
            player.answer_with(q3.id, &req).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.status(), Some(409), "{e}"),
        }
    }
    assert_eq!(ok, 1);

    // Deleting the quiz frees its questions.
    author.delete_quiz(z.id).await.unwrap();
    author.delete_question(q1.id).await.unwrap();
}
