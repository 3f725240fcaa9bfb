//! The author page in a real browser: an author writes a question (the server's field errors
//! show beside their fields), finds it through the typo-tolerant search, builds a quiz of it, and
//! imports question files all or nothing; what the page did is checked over REST.

use fantoccini::Locator;
use livequiz_sdk::types::{
    ChoiceInput, QuestionInput, QuizFilter, RegisterRequest, Role, CSV_HEADER,
};
use livequiz_sdk::Client;
use serde_json::json;

use super::common::Ctx;
use super::harness::{Browser, Driver};
use super::ONE_AT_A_TIME;

/// Registers `name` (password `<name>-password`), gives it `role` through the admin of `ctx`,
/// and logs it in over REST.
async fn account(ctx: &Ctx, name: &str, role: Role) -> (Client, i64) {
    let anon = Client::new(&ctx.server.base_url).expect("client");
    let password = format!("{name}-password");
    let user = anon
        .register(&RegisterRequest {
            username: name.into(),
            password: password.clone(),
        })
        .await
        .expect("register");
    if role != Role::Player {
        ctx.host.set_role(user.id, role).await.expect("set role");
    }
    (anon.login(name, &password).await.expect("login"), user.id)
}

/// Opens `/author` and logs in as `name` through the form.
async fn log_in(b: &Browser, base: &str, name: &str) {
    b.client
        .goto(&format!("{base}/author"))
        .await
        .expect("open the author page");
    b.wait_screen("login").await;
    b.type_into("username", name).await;
    b.type_into("password", &format!("{name}-password")).await;
    b.click("#login-button").await;
}

/// The question ids listed in `<ol id=list>`, in order.
async fn listed_ids(b: &Browser, list: &str) -> Vec<i64> {
    let v = b
        .js(&format!(
            "return [...document.querySelectorAll('#{list} > li[data-id]')].map(li => Number(li.dataset.id));"
        ))
        .await;
    serde_json::from_value(v).expect("ids")
}

fn question(text: &str, correct: &str, wrong: &str) -> QuestionInput {
    QuestionInput {
        text: text.into(),
        topic: "astronomy".into(),
        tags: vec!["planets".into()],
        difficulty: 1,
        explanation: String::new(),
        choices: vec![
            ChoiceInput {
                id: None,
                text: correct.into(),
                correct: true,
            },
            ChoiceInput {
                id: None,
                text: wrong.into(),
                correct: false,
            },
        ],
    }
}

/// A player is turned away; an author writes a question (the empty choice and the missing
/// correct answer are named beside their fields), saves it, finds it by searching with a typo,
/// and builds a two-question quiz with a time limit and a keyboard reorder; the quiz is stored
/// as built, opens again as stored, and is deleted after the confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn author_writes_a_question_finds_it_with_a_typo_and_builds_a_quiz() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let base = ctx.server.base_url.clone();
    account(&ctx, "reader", Role::Player).await;
    let (writer, writer_id) = account(&ctx, "writer", Role::Author).await;
    let largest = writer
        .create_question(&question(
            "What is the largest planet of the solar system?",
            "Jupiter",
            "Saturn",
        ))
        .await
        .expect("create question")
        .id;
    let driver = Driver::start().await;
    let b = driver.browser(1280, 1000).await;

    // A player has no business here and is told why.
    log_in(&b, &base, "reader").await;
    b.wait_screen("denied").await;
    let denied = b.text("denied-text").await;
    assert!(
        denied.contains("reader") && denied.contains("author or admin role"),
        "{denied}"
    );
    b.click("#denied-logout").await;
    b.wait_screen("login").await;

    log_in(&b, &base, "writer").await;
    b.wait_screen("bank").await;
    b.wait_text("bank-source", "Your questions").await;
    assert_eq!(listed_ids(&b, "bank-list").await, vec![largest]);
    b.shot("author-a-bank").await;

    // A new question with an empty second choice and no correct one.
    b.click("#new-question").await;
    b.wait_screen("editor").await;
    b.type_into("q-text", "Which planet is called the red planet?")
        .await;
    b.fill("q-topic", "astronomy").await;
    b.type_into("q-tags", "planets, solar system").await;
    b.click("#q-difficulty option[value=\"2\"]").await;
    b.type_into("q-explanation", "Iron oxide dust makes Mars look red.")
        .await;
    b.type_into("choice-0-text", "Mars").await;
    b.click("#save-question").await;
    b.wait_js(
        "the field errors",
        "return document.getElementById('choice-1-error').textContent !== '' \
         && document.getElementById('q-choices-error').textContent !== '';",
    )
    .await;
    let marks = b
        .js("const t = document.getElementById('choice-1-text'); \
             const e = document.getElementById('choice-1-error'); \
             return [t.getAttribute('aria-invalid'), t.getAttribute('aria-describedby'), \
                     e.closest('li') === t.closest('li'), \
                     document.getElementById('choice-0-text').hasAttribute('aria-invalid'), \
                     document.getElementById('q-text').hasAttribute('aria-invalid'), \
                     document.getElementById('choice-0-correct').getAttribute('aria-invalid'), \
                     document.getElementById('choice-0-correct').getAttribute('aria-describedby'), \
                     document.getElementById('q-summary').hidden, \
                     document.activeElement.id];")
        .await;
    assert_eq!(
        marks,
        json!([
            "true",
            "choice-1-error",
            true,
            false,
            false,
            "true",
            "q-choices-hint q-choices-error",
            false,
            "choice-0-correct"
        ]),
        "the empty choice and the missing correct answer are marked beside their fields"
    );
    assert_eq!(b.text("choice-1-error").await, "must not be empty");
    assert!(b
        .text("q-choices-error")
        .await
        .contains("at least one choice must be correct"));
    b.shot("author-b-editor-error").await;

    // Fixed: a second choice, Mars marked correct, and a third choice added.
    b.type_into("choice-1-text", "Venus").await;
    b.click("#choice-0-correct").await;
    b.click("#add-choice").await;
    b.type_into("choice-2-text", "Jupiter").await;
    b.click("#save-question").await;
    b.wait_screen("bank").await;
    b.wait_text("notice", "Saved question").await;
    b.wait_js(
        "the new question listed",
        "return document.querySelectorAll('#bank-list > li[data-id]').length === 2;",
    )
    .await;
    let red = listed_ids(&b, "bank-list").await[0];
    assert_ne!(red, largest);
    let stored = writer.get_question(red).await.expect("get question");
    assert_eq!(stored.text, "Which planet is called the red planet?");
    assert_eq!(stored.tags, ["planets", "solar system"]);
    assert_eq!(stored.difficulty, 2);
    let choices: Vec<(String, Option<bool>)> = stored
        .choices
        .iter()
        .map(|c| (c.text.clone(), c.correct))
        .collect();
    assert_eq!(
        choices,
        [
            ("Mars".to_string(), Some(true)),
            ("Venus".to_string(), Some(false)),
            ("Jupiter".to_string(), Some(false))
        ]
    );

    // The search box forgives the typos ("redd plamet").
    b.type_into("search", "redd plamet").await;
    b.click("#search-button").await;
    b.wait_text("bank-source", "Search results for “redd plamet”")
        .await;
    b.wait_js(
        "search results",
        "const l = document.getElementById('bank-list'); \
         return l.dataset.source === 'search' && l.querySelectorAll('li[data-id]').length > 0;",
    )
    .await;
    assert_eq!(
        listed_ids(&b, "bank-list").await[0],
        red,
        "the best hit comes first"
    );
    b.shot("author-c-bank-search").await;

    // The quiz builder: both planet questions, found by search.
    b.click("#tools [data-screen=\"quizzes\"]").await;
    b.wait_screen("quizzes").await;
    b.wait_text("quiz-list-status", "No quizzes yet").await;
    b.type_into("z-title", "Planets").await;
    b.type_into("finder-q", "plamet").await;
    b.click("#finder-button").await;
    b.wait_text("finder-source", "Search results for “plamet”")
        .await;
    b.wait_js(
        "two finder hits",
        "return document.querySelectorAll('#finder-list > li[data-id]').length === 2;",
    )
    .await;
    b.click(&format!("#finder-list li[data-id=\"{red}\"] .add"))
        .await;
    b.click(&format!("#finder-list li[data-id=\"{largest}\"] .add"))
        .await;
    b.wait_js(
        "two quiz items",
        "return document.querySelectorAll('#z-items > li.item').length === 2;",
    )
    .await;

    // A time limit of 0 s is refused beside that question's time field.
    b.fill("z-item-0-time", "0").await;
    b.click("#save-quiz").await;
    b.wait_js(
        "the time limit error",
        "return document.getElementById('z-item-0-error').textContent !== '';",
    )
    .await;
    let time_marks = b
        .js("const t = document.getElementById('z-item-0-time'); \
             return [t.getAttribute('aria-invalid'), t.getAttribute('aria-describedby')];")
        .await;
    assert_eq!(time_marks, json!(["true", "z-items-hint z-item-0-error"]));
    assert!(b.text("z-item-0-error").await.contains("between 1000 and"));
    b.fill("z-item-0-time", "25").await;

    // Keyboard: the second question moves up with Enter on its "move up" button, and the focus
    // stays with the moved question.
    b.js("document.querySelector('#z-items > li:nth-child(2) .move.up').focus();")
        .await;
    b.keys("\u{E007}").await;
    b.wait_js(
        "the reordered quiz",
        &format!(
            "return [...document.querySelectorAll('#z-items > li.item')].map(li => Number(li.dataset.questionId)).join() === '{largest},{red}';"
        ),
    )
    .await;
    let focus = b
        .js("const a = document.activeElement; \
             return [a.classList.contains('move'), a.closest('li').dataset.questionId];")
        .await;
    assert_eq!(focus, json!([true, largest.to_string()]));
    assert!(b.text("z-live").await.contains("is now question 1 of 2"));
    assert_eq!(
        b.js("return document.getElementById('z-item-1-time').value;")
            .await,
        json!("25"),
        "the time limit moved with its question"
    );
    b.click("#save-quiz").await;
    b.wait_text("notice", "Saved quiz").await;
    b.wait_text("quiz-list", "Planets (2 questions)").await;
    b.shot("author-d-quiz-builder").await;

    let quizzes = writer
        .list_quizzes(&QuizFilter {
            author_id: Some(writer_id),
            ..Default::default()
        })
        .await
        .expect("list quizzes");
    assert_eq!(quizzes.total, 1);
    let quiz = writer
        .get_quiz(quizzes.items[0].id)
        .await
        .expect("get quiz");
    assert_eq!(quiz.title, "Planets");
    let items: Vec<(i64, u32)> = quiz
        .questions
        .iter()
        .map(|i| (i.question.id, i.time_limit_ms))
        .collect();
    assert_eq!(items, [(largest, 20_000), (red, 25_000)]);

    // Open it again from the list, then delete it (after the confirmation).
    b.click("#new-quiz").await;
    b.click(&format!("#quiz-list li[data-id=\"{}\"] button", quiz.id))
        .await;
    b.wait_text("quiz-form-title", &format!("Edit quiz {}", quiz.id))
        .await;
    let reopened = b
        .js("return [...document.querySelectorAll('#z-items > li.item')].map(li => [Number(li.dataset.questionId), li.querySelector('.item-time').value]);")
        .await;
    assert_eq!(reopened, json!([[largest, "20"], [red, "25"]]));
    b.click("#delete-quiz").await;
    b.wait_js(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    b.click("#confirm-yes").await;
    b.wait_text("notice", &format!("Deleted quiz {}", quiz.id))
        .await;
    b.wait_text("quiz-list-status", "No quizzes yet").await;
    let left = writer
        .list_quizzes(&QuizFilter {
            author_id: Some(writer_id),
            ..Default::default()
        })
        .await
        .expect("list quizzes");
    assert_eq!(left.total, 0, "the quiz is deleted");
    b.close().await;
    ctx.finish().await;
}

/// At phone width (360 px): an import with bad questions names every one and stores nothing;
/// a good file is imported; a CSV file's bad row is named by its number; the CSV export is a
/// Blob of the API's bytes; a question is deleted only after the confirmation, and an edit keeps
/// the ids of the choices. No screen scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn author_page_imports_all_or_nothing_at_phone_width() {
    let _one = ONE_AT_A_TIME.lock().await;
    let ctx = Ctx::sqlite().await;
    let base = ctx.server.base_url.clone();
    let (writer, _) = account(&ctx, "writer", Role::Author).await;
    let files = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, body: String| {
        let path = files.path().join(name);
        std::fs::write(&path, body).expect("write file");
        path.display().to_string()
    };
    let good = |text: &str| {
        json!({"text": text, "topic": "import", "tags": ["bulk"], "difficulty": 2,
               "explanation": "", "choices": [{"text": "yes", "correct": true},
                                               {"text": "no", "correct": false}]})
    };
    let bad_json = write(
        "bad.json",
        json!({"questions": [
            good("Fine question?"),
            {"text": "No correct choice?", "topic": "import", "difficulty": 2,
             "choices": [{"text": "a", "correct": false}, {"text": "b", "correct": false}]},
            {"text": "", "topic": "import", "difficulty": 2,
             "choices": [{"text": "only", "correct": true}]}
        ]})
        .to_string(),
    );
    let good_json = write(
        "good.json",
        json!({"questions": [good("Imported one?"), good("Imported two?")]}).to_string(),
    );
    let bad_csv = write(
        "bad.csv",
        format!(
            "{}\nCSV fine?,import,,1,,yes,no,,,,,1\nCSV bad?,import,,9,,yes,no,,,,,1\n",
            CSV_HEADER.join(",")
        ),
    );

    let driver = Driver::start().await;
    let b = driver.browser(360, 740).await;
    log_in(&b, &base, "writer").await;
    b.wait_screen("bank").await;
    b.wait_text("bank-source", "Your questions").await;
    assert!(b.fits_width().await, "the bank scrolls sideways");

    b.click("#tools [data-screen=\"transfer\"]").await;
    b.wait_screen("transfer").await;
    assert!(b.fits_width().await, "import/export scrolls sideways");
    let import = |path: String| {
        let b = &b;
        async move {
            b.js(
                "document.getElementById('import-status').textContent = ''; \
                  document.getElementById('import-errors').hidden = true;",
            )
            .await;
            let input = b
                .client
                .find(Locator::Id("import-file"))
                .await
                .expect("file input");
            input.send_keys(&path).await.expect("choose the file");
            b.click("#import-button").await;
            b.wait_js(
                "the import's outcome",
                "return document.getElementById('import-status').textContent.startsWith('Imported') \
                 || !document.getElementById('import-errors').hidden;",
            )
            .await;
        }
    };

    import(bad_json).await;
    let problems = b
        .js("return [...document.querySelectorAll('#import-error-list li')].map(li => li.textContent);")
        .await;
    let problems: Vec<String> = serde_json::from_value(problems).expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Question 2 (choices)")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("Question 3 (text)")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("Question 3 (choices)")),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.starts_with("Question 1")),
        "{problems:?}"
    );
    assert!(b
        .text("import-errors-text")
        .await
        .starts_with("Nothing was imported"));
    assert!(b.fits_width().await, "the import errors scroll sideways");
    b.shot("author-e-import-errors").await;
    assert!(
        writer
            .export_questions()
            .await
            .expect("export")
            .questions
            .is_empty(),
        "a failed import stores nothing"
    );

    import(bad_csv).await;
    let problems = b
        .js("return [...document.querySelectorAll('#import-error-list li')].map(li => li.textContent);")
        .await;
    let problems: Vec<String> = serde_json::from_value(problems).expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("Row 2: difficulty"), "{problems:?}");

    import(good_json).await;
    assert_eq!(
        b.text("import-status").await,
        "Imported 2 questions from good.json."
    );
    let stored = writer.export_questions().await.expect("export").questions;
    let texts: Vec<&str> = stored.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(texts, ["Imported one?", "Imported two?"]);

    // The CSV export: fetched with the token, offered as a Blob URL of the API's bytes.
    b.click("#export-csv").await;
    b.wait_js(
        "the export link",
        "const a = document.getElementById('export-link'); \
         return !a.hidden && a.href.startsWith('blob:') && a.dataset.format === 'csv';",
    )
    .await;
    let csv = writer.export_questions_csv().await.expect("export csv");
    assert!(csv.contains("Imported two?"));
    assert_eq!(
        b.js("return Number(document.getElementById('export-link').dataset.bytes);")
            .await
            .as_u64(),
        Some(csv.len() as u64)
    );
    assert_eq!(
        b.js("return document.getElementById('export-link').download;")
            .await,
        json!("questions.csv")
    );

    // Delete asks first: Cancel keeps the question, Delete removes it.
    b.click("#tools [data-screen=\"bank\"]").await;
    b.wait_screen("bank").await;
    b.wait_js(
        "the imported questions",
        "return document.querySelectorAll('#bank-list > li[data-id]').length === 2;",
    )
    .await;
    assert!(b.fits_width().await, "the bank list scrolls sideways");
    b.shot("author-f-phone-bank").await;
    let first = listed_ids(&b, "bank-list").await[0];
    let delete = format!("#bank-list li[data-id=\"{first}\"] .danger");
    b.click(&delete).await;
    b.wait_js(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    assert!(b.text("confirm-text").await.contains("Delete the question"));
    b.click("#confirm-no").await;
    b.wait_js(
        "the dialog closed",
        "return !document.getElementById('confirm').open;",
    )
    .await;
    assert_eq!(
        writer
            .export_questions()
            .await
            .expect("export")
            .questions
            .len(),
        2
    );
    b.click(&delete).await;
    b.wait_js(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    b.click("#confirm-yes").await;
    b.wait_text("notice", &format!("Deleted question {first}"))
        .await;
    b.wait_js(
        "one question left",
        "return document.querySelectorAll('#bank-list > li[data-id]').length === 1;",
    )
    .await;
    assert_eq!(
        writer
            .export_questions()
            .await
            .expect("export")
            .questions
            .len(),
        1
    );

    // Editing keeps the choices' ids (PUT with them) and adds a new one.
    let kept = listed_ids(&b, "bank-list").await[0];
    let before = writer.get_question(kept).await.expect("get question");
    b.click(&format!("#bank-list li[data-id=\"{kept}\"] button"))
        .await;
    b.wait_screen("editor").await;
    b.wait_text("editor-title", &format!("Edit question {kept}"))
        .await;
    assert!(b.fits_width().await, "the editor scrolls sideways");
    b.fill("q-text", "Edited on a phone?").await;
    b.click("#add-choice").await;
    b.type_into("choice-2-text", "maybe").await;
    b.shot("author-g-phone-editor").await;
    b.click("#save-question").await;
    b.wait_screen("bank").await;
    b.wait_text("notice", "Edited on a phone?").await;
    let after = writer.get_question(kept).await.expect("get question");
    assert_eq!(after.text, "Edited on a phone?");
    let ids =
        |q: &livequiz_sdk::types::Question| q.choices.iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(after.choices.len(), 3);
    assert_eq!(
        ids(&after)[..2],
        ids(&before)[..],
        "the old choices keep their ids"
    );
    assert_eq!(after.choices[2].text, "maybe");

    // A new question's editor and the quiz builder fit the phone too.
    b.click("#new-question").await;
    b.wait_screen("editor").await;
    assert!(
        b.fits_width().await,
        "the new question's editor scrolls sideways"
    );
    b.click("#tools [data-screen=\"quizzes\"]").await;
    b.wait_screen("quizzes").await;
    b.wait_js(
        "the finder list",
        "return document.querySelectorAll('#finder-list > li[data-id]').length === 1;",
    )
    .await;
    b.click("#finder-list .add").await;
    b.wait_js(
        "a quiz item",
        "return document.querySelectorAll('#z-items > li.item').length === 1;",
    )
    .await;
    assert!(b.fits_width().await, "the quiz builder scrolls sideways");
    b.close().await;
    ctx.finish().await;
}
