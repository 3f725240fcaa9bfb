//! Strict input and uniform errors: a write with a field the API does not know is refused
//! with 422 naming that field (a typo or a probe such as `"role": "admin"` is never silently
//! dropped), and every error the gateway sends, including the ones produced by the framework
//! (405, a bad path parameter, a failed WebSocket upgrade), is `application/problem+json`.
//!
//! Also the account and live-session fixtures the other edge tests share.

use livequiz_sdk::live::{CreateSession, CreatedSession};
use livequiz_sdk::types::{
    ChoiceInput, Problem, Question, QuestionInput, Quiz, QuizInput, QuizItemInput, RegisterRequest,
    Role,
};
use livequiz_sdk::{Client, Method};

use super::process::Gateway;

/// An admin (the first user), an author and a player, logged in.
pub struct Accounts {
    /// The first registered user.
    pub admin: Client,
    /// An author (promoted by the admin).
    pub author: Client,
    /// A player.
    pub player: Client,
}

/// Registers and logs in the three accounts of [`Accounts`].
pub async fn accounts(gw: &Gateway) -> Accounts {
    let anon = gw.client();
    let mut logged = Vec::new();
    for name in ["edge_admin", "edge_author", "edge_player"] {
        anon.register(&RegisterRequest {
            username: name.into(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
        logged.push(
            anon.login(name, "correct horse battery")
                .await
                .unwrap_or_else(|e| panic!("login {name}: {e}")),
        );
    }
    let player = logged.pop().expect("player");
    let author = logged.pop().expect("author");
    let admin = logged.pop().expect("admin");
    let me = author.me().await.expect("author's id");
    admin
        .set_role(me.id, Role::Author)
        .await
        .expect("promote the author");
    Accounts {
        admin,
        author,
        player,
    }
}

/// A valid question body.
pub fn question_input(text: &str) -> QuestionInput {
    QuestionInput {
        text: text.into(),
        topic: "edge".into(),
        tags: vec!["safety".into()],
        difficulty: 2,
        explanation: "because".into(),
        choices: vec![
            ChoiceInput {
                id: None,
                text: "right".into(),
                correct: true,
            },
            ChoiceInput {
                id: None,
                text: "wrong".into(),
                correct: false,
            },
        ],
    }
}

/// A question and a one-question quiz of `author`.
pub async fn quiz(author: &Client) -> (Question, Quiz) {
    let q = author
        .create_question(&question_input("What stops a slowloris?"))
        .await
        .expect("create a question");
    let quiz = author
        .create_quiz(&QuizInput {
            title: "edge quiz".into(),
            description: String::new(),
            questions: vec![QuizItemInput {
                question_id: q.id,
                time_limit_ms: 10_000,
            }],
        })
        .await
        .expect("create a quiz");
    (q, quiz)
}

/// A live session of a fresh quiz of `author`.
pub async fn live_session(author: &Client) -> CreatedSession {
    let (_, quiz) = quiz(author).await;
    author
        .create_live_session(&CreateSession {
            quiz_id: quiz.id,
            scoring: None,
            reveal_ms: None,
            top_n: None,
            ..Default::default()
        })
        .await
        .expect("create a live session")
}

/// Sends `body` as JSON and returns the status and the parsed problem (panics when the body
/// of an error is not problem+json).
async fn send(client: &Client, method: Method, path: &str, body: &str) -> (u16, Option<Problem>) {
    let (status, text) = client
        .raw(method, path, "application/json", body.to_string())
        .await
        .expect("request");
    if status < 400 {
        return (status, None);
    }
    let p: Problem = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: error body is not a problem ({e}): {text}"));
    assert_eq!(p.status, status, "{text}");
    (status, Some(p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_on_writes_are_refused_naming_the_field() {
    let gw = Gateway::sqlite(&[]).await;
    let a = accounts(&gw).await;
    let (q, quiz) = quiz(&a.author).await;
    let anon = gw.client();
    let qid = q.id;
    let choice = q.choices[0].id;
    let question = serde_json::to_value(question_input("With an extra field")).expect("json");
    let mut with_author = question.clone();
    with_author["author_id"] = 1.into();
    let mut nested = question.clone();
    nested["choices"][1]["weight"] = 3.into();
    let cases: Vec<(&Client, Method, String, String, &str)> = vec![
        (
            &anon,
            Method::POST,
            "/v1/auth/register".into(),
            r#"{"username":"sneaky","password":"long enough pw","role":"admin"}"#.into(),
            "role",
        ),
        (
            &anon,
            Method::POST,
            "/v1/auth/login".into(),
            r#"{"username":"edge_player","password":"correct horse battery","remember":true}"#
                .into(),
            "remember",
        ),
        (
            &a.author,
            Method::POST,
            "/v1/questions".into(),
            with_author.to_string(),
            "author_id",
        ),
        (
            &a.author,
            Method::PUT,
            format!("/v1/questions/{qid}"),
            nested.to_string(),
            "choices[1].weight",
        ),
        (
            &a.author,
            Method::PATCH,
            format!("/v1/questions/{qid}"),
            r#"{"text":"renamed","author_id":3}"#.into(),
            "author_id",
        ),
        (
            &a.author,
            Method::POST,
            format!("/v1/questions/{qid}/choices"),
            r#"{"text":"third","correct":false,"position":0}"#.into(),
            "position",
        ),
        (
            &a.author,
            Method::PUT,
            format!("/v1/questions/{qid}/choices/{choice}"),
            r#"{"text":"right!","correct":true,"question_id":9}"#.into(),
            "question_id",
        ),
        (
            &a.author,
            Method::PUT,
            format!("/v1/quizzes/{}", quiz.id),
            format!(
                r#"{{"title":"t","questions":[{{"question_id":{qid},"time_limit_ms":5000,"points":9}}]}}"#
            ),
            "questions[0].points",
        ),
        (
            &a.author,
            Method::POST,
            "/v1/quizzes".into(),
            format!(
                r#"{{"title":"t","public":true,"questions":[{{"question_id":{qid},"time_limit_ms":5000}}]}}"#
            ),
            "public",
        ),
        (
            &a.player,
            Method::POST,
            format!("/v1/questions/{qid}/answer"),
            format!(r#"{{"choice_ids":[{choice}],"correct":true}}"#),
            "correct",
        ),
        (
            &a.admin,
            Method::PUT,
            "/v1/users/1/role".into(),
            r#"{"role":"admin","until":0}"#.into(),
            "until",
        ),
    ];
    for (client, method, path, body, field) in cases {
        let (status, problem) = send(client, method, &path, &body).await;
        assert_eq!(status, 422, "{method} {path} with {body}: {problem:?}");
        let p = problem.expect("problem");
        assert!(
            p.errors.iter().any(|e| e.field == field),
            "{method} {path}: the problem does not name {field}: {p:?}"
        );
    }
    // Nothing was written: the refused registration did not create its user, the refused
    // edits left the question as it was.
    assert!(anon.login("sneaky", "long enough pw").await.is_err());
    let again = a.author.get_question(qid).await.expect("question");
    assert_eq!(again.text, q.text);
    assert_eq!(again.choices.len(), 2);
    assert_eq!(again.choices[0].text, "right");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framework_errors_are_problem_json_too() {
    let gw = Gateway::sqlite(&[]).await;
    let a = accounts(&gw).await;
    let http = reqwest::Client::new();
    let token = a.author.token().expect("token").to_string();
    let cases: Vec<(reqwest::Method, String, u16)> = vec![
        // Method not allowed on an existing route.
        (reqwest::Method::DELETE, "/healthz".into(), 405),
        (reqwest::Method::PATCH, "/v1/quizzes".into(), 405),
        (reqwest::Method::PUT, "/v1/live/sessions".into(), 405),
        // A non-numeric id where the route takes a number (an extractor of the live routes).
        (
            reqwest::Method::GET,
            "/v1/live/sessions/abc/standings".into(),
            400,
        ),
        (reqwest::Method::GET, "/v1/questions/abc".into(), 400),
        // A WebSocket endpoint asked without an upgrade.
        (reqwest::Method::GET, "/v1/live/ws?code=123456".into(), 400),
    ];
    for (method, path, want) in cases {
        let resp = http
            .request(method.clone(), format!("{}{path}", gw.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let allow = resp.headers().get("allow").cloned();
        let body = resp.text().await.expect("body");
        assert_eq!(status, want, "{method} {path}: {body}");
        assert_eq!(
            ctype, "application/problem+json",
            "{method} {path}: {status} with {ctype:?}: {body:?}"
        );
        let p: Problem = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{method} {path}: not a problem ({e}): {body}"));
        assert_eq!(p.status, want);
        assert!(!p.detail.is_empty(), "{p:?}");
        if want == 405 {
            assert!(allow.is_some(), "{method} {path}: 405 without Allow");
        }
    }
}
