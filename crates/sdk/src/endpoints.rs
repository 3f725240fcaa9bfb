//! One method per REST endpoint.

use reqwest::Method;

use crate::types::*;
use crate::{Client, Error};

impl Client {
    // ---- auth ----

    /// `POST /v1/auth/register`: creates an account (the first account becomes admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::RegisterRequest;
    /// let anon = livequiz_sdk::Client::new("http://127.0.0.1:8080")?;
    /// let user = anon.register(&RegisterRequest { username: "ada".into(), password: "correct horse 1".into() }).await?;
    /// println!("registered {} as {:?}", user.username, user.role);
    /// # Ok(()) }
    /// ```
    pub async fn register(&self, req: &RegisterRequest) -> Result<User, Error> {
        self.send_body(Method::POST, "/v1/auth/register", req).await
    }

    /// `POST /v1/auth/login`: the token response.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::LoginRequest;
    /// let t = client.login_token(&LoginRequest { username: "ada".into(), password: "correct horse 1".into() }).await?;
    /// println!("token valid for {} s", t.expires_in);
    /// # Ok(()) }
    /// ```
    pub async fn login_token(&self, req: &LoginRequest) -> Result<TokenResponse, Error> {
        self.send_body(Method::POST, "/v1/auth/login", req).await
    }

    /// Logs in and returns a copy of this client that uses the new token.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let ada = client.login("ada", "correct horse 1").await?;
    /// assert!(ada.token().is_some());
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, username: &str, password: &str) -> Result<Client, Error> {
        let t = self
            .login_token(&LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await?;
        Ok(self.with_token(t.token))
    }

    /// `POST /v1/auth/logout`: revokes this client's token.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// client.logout().await?; // the token no longer works
    /// # Ok(()) }
    /// ```
    pub async fn logout(&self) -> Result<(), Error> {
        Self::send_empty(self.request(Method::POST, "/v1/auth/logout")).await
    }

    /// `GET /v1/me`: the authenticated user.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let me = client.me().await?;
    /// println!("{} ({:?})", me.username, me.role);
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<User, Error> {
        self.get("/v1/me").await
    }

    /// `GET /v1/me/progress`: answered, correct, accuracy per topic, streaks.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let p = client.progress().await?;
    /// println!("{} of {} right, best streak {}", p.correct, p.answered, p.best_streak);
    /// # Ok(()) }
    /// ```
    pub async fn progress(&self) -> Result<Progress, Error> {
        self.get("/v1/me/progress").await
    }

    // ---- users (admin) ----

    /// `GET /v1/users` (admin): all users, by id.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::PageParams;
    /// let page = client.list_users(&PageParams { limit: Some(50), offset: None }).await?;
    /// println!("{} users", page.total);
    /// # Ok(()) }
    /// ```
    pub async fn list_users(&self, page: &PageParams) -> Result<Page<User>, Error> {
        self.get_query("/v1/users", page).await
    }

    /// `PUT /v1/users/{id}/role` (admin): changes a user's role.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::Role;
    /// let user = client.set_role(42, Role::Author).await?;
    /// assert_eq!(user.role, Role::Author);
    /// # Ok(()) }
    /// ```
    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<User, Error> {
        self.send_body(
            Method::PUT,
            &format!("/v1/users/{user_id}/role"),
            &SetRoleRequest { role },
        )
        .await
    }

    /// `GET /v1/users/{id}/report` (the user or an admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let me = client.me().await?;
    /// let report = client.user_report(me.id).await?;
    /// println!("{} attempts, {} answers", report.attempts, report.answers.len());
    /// # Ok(()) }
    /// ```
    pub async fn user_report(&self, user_id: i64) -> Result<UserReport, Error> {
        self.get(&format!("/v1/users/{user_id}/report")).await
    }

    /// `GET /v1/users/{id}/report?format=csv`: one line per answer.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let csv = client.user_report_csv(42).await?;
    /// println!("{}", csv.lines().next().unwrap_or(""));
    /// # Ok(()) }
    /// ```
    pub async fn user_report_csv(&self, user_id: i64) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, &format!("/v1/users/{user_id}/report"))
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- questions ----

    /// `POST /v1/questions` (author/admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::{ChoiceInput, QuestionInput};
    /// let q = client
    ///     .create_question(&QuestionInput {
    ///         text: "2 + 2?".into(),
    ///         topic: "Arithmetic".into(),
    ///         tags: vec![],
    ///         difficulty: 1,
    ///         explanation: String::new(),
    ///         choices: vec![
    ///             ChoiceInput { id: None, text: "4".into(), correct: true },
    ///             ChoiceInput { id: None, text: "5".into(), correct: false },
    ///         ],
    ///     })
    ///     .await?;
    /// println!("question {}", q.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_question(&self, q: &QuestionInput) -> Result<Question, Error> {
        self.send_body(Method::POST, "/v1/questions", q).await
    }

    /// `POST /v1/questions/import` with a JSON body (author/admin): all or nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::QuestionBatch;
    /// // What one gateway exports, another imports unchanged.
    /// let batch: QuestionBatch = client.export_questions().await?;
    /// let result = client.import_questions(&batch).await?;
    /// println!("imported {}", result.imported);
    /// # Ok(()) }
    /// ```
    pub async fn import_questions(&self, batch: &QuestionBatch) -> Result<ImportResult, Error> {
        self.send_body(Method::POST, "/v1/questions/import", batch)
            .await
    }

    /// `POST /v1/questions/import` with a CSV body (layout [`CSV_HEADER`]).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let csv = std::fs::read_to_string("questions.csv").expect("read file");
    /// let result = client.import_questions_csv(csv).await?;
    /// println!("imported {} questions", result.imported);
    /// # Ok(()) }
    /// ```
    pub async fn import_questions_csv(
        &self,
        csv: impl Into<String>,
    ) -> Result<ImportResult, Error> {
        Self::send_json(
            self.request(Method::POST, "/v1/questions/import")
                .header(reqwest::header::CONTENT_TYPE, "text/csv")
                .body(csv.into()),
        )
        .await
    }

    /// `GET /v1/questions/export`: the caller's questions (every question for admins) with
    /// their keys, importable again.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let batch = client.export_questions().await?;
    /// println!("{} questions", batch.questions.len());
    /// # Ok(()) }
    /// ```
    pub async fn export_questions(&self) -> Result<QuestionBatch, Error> {
        self.get("/v1/questions/export").await
    }

    /// `GET /v1/questions/export?format=csv`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let csv = client.export_questions_csv().await?;
    /// std::fs::write("bank.csv", csv).expect("write file");
    /// # Ok(()) }
    /// ```
    pub async fn export_questions_csv(&self) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, "/v1/questions/export")
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- live session records ----

    /// `GET /v1/live/sessions`: the caller's hosted sessions, newest first.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let sessions = client.list_live_sessions(&Default::default()).await?;
    /// for s in &sessions.items {
    ///     println!("{} {} ({} players)", s.code, s.quiz_title, s.players);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_live_sessions(
        &self,
        f: &LiveSessionFilter,
    ) -> Result<Page<LiveSessionSummary>, Error> {
        self.get_query("/v1/live/sessions", f).await
    }

    /// `GET /v1/live/sessions/{id}/report` (the host or an admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let report = client.live_session_report(7).await?;
    /// for q in &report.questions {
    ///     println!("{:.0}% right: {}", 100.0 * q.accuracy, q.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn live_session_report(&self, session_id: i64) -> Result<LiveSessionReport, Error> {
        self.get(&format!("/v1/live/sessions/{session_id}/report"))
            .await
    }

    /// `GET /v1/live/sessions/{id}/report?format=csv`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let csv = client.live_session_report_csv(7).await?;
    /// std::fs::write("session-7.csv", csv).expect("write file");
    /// # Ok(()) }
    /// ```
    pub async fn live_session_report_csv(&self, session_id: i64) -> Result<String, Error> {
        Self::send_text(
            self.request(
                Method::GET,
                &format!("/v1/live/sessions/{session_id}/report"),
            )
            .query(&[("format", "csv")]),
        )
        .await
    }

    /// `GET /v1/questions/{id}`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// match client.get_question(999).await {
    ///     Ok(q) => println!("{}", q.text),
    ///     Err(e) if e.status() == Some(404) => println!("no such question"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_question(&self, id: i64) -> Result<Question, Error> {
        self.get(&format!("/v1/questions/{id}")).await
    }

    /// `PUT /v1/questions/{id}`: replaces everything, choices included (keep a choice by
    /// sending its `id`).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let q = client.get_question(7).await?;
    /// let mut input = livequiz_sdk::types::QuestionInput {
    ///     text: q.text.clone(),
    ///     topic: q.topic.clone(),
    ///     tags: q.tags.clone(),
    ///     difficulty: q.difficulty,
    ///     explanation: q.explanation.clone().unwrap_or_default(),
    ///     choices: vec![], // filled below: keep each choice by sending its id
    /// };
    /// for c in &q.choices {
    ///     input.choices.push(livequiz_sdk::types::ChoiceInput {
    ///         id: Some(c.id),
    ///         text: c.text.clone(),
    ///         correct: c.correct.unwrap_or(false),
    ///     });
    /// }
    /// input.difficulty = 2;
    /// client.replace_question(q.id, &input).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace_question(&self, id: i64, q: &QuestionInput) -> Result<Question, Error> {
        self.send_body(Method::PUT, &format!("/v1/questions/{id}"), q)
            .await
    }

    /// `PATCH /v1/questions/{id}`: changes the given fields.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::QuestionPatch;
    /// let q = client
    ///     .patch_question(7, &QuestionPatch { difficulty: Some(3), ..QuestionPatch::default() })
    ///     .await?;
    /// assert_eq!(q.difficulty, 3);
    /// # Ok(()) }
    /// ```
    pub async fn patch_question(&self, id: i64, p: &QuestionPatch) -> Result<Question, Error> {
        self.send_body(Method::PATCH, &format!("/v1/questions/{id}"), p)
            .await
    }

    /// `DELETE /v1/questions/{id}`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// client.delete_question(7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_question(&self, id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(Method::DELETE, &format!("/v1/questions/{id}"))).await
    }

    /// `GET /v1/questions` with filters and paging.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::QuestionFilter;
    /// let page = client
    ///     .list_questions(&QuestionFilter { topic: Some("rust".into()), limit: Some(20), ..QuestionFilter::default() })
    ///     .await?;
    /// println!("{} of {} shown", page.items.len(), page.total);
    /// # Ok(()) }
    /// ```
    pub async fn list_questions(&self, f: &QuestionFilter) -> Result<Page<Question>, Error> {
        self.get_query("/v1/questions", f).await
    }

    /// `GET /v1/questions/search`: relevance-ranked, typo-tolerant.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::SearchParams;
    /// let hits = client
    ///     .search_questions(&SearchParams { q: "raft concensus".into(), ..SearchParams::default() }) // typo tolerated
    ///     .await?;
    /// for h in &hits.items {
    ///     println!("{:.2} {}", h.score, h.question.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn search_questions(&self, p: &SearchParams) -> Result<SearchResponse, Error> {
        self.get_query("/v1/questions/search", p).await
    }

    /// `GET /v1/questions/{id}/choices`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let choices = client.list_choices(7).await?;
    /// println!("{} choices", choices.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_choices(&self, question_id: i64) -> Result<Vec<Choice>, Error> {
        self.get(&format!("/v1/questions/{question_id}/choices"))
            .await
    }

    /// `POST /v1/questions/{id}/choices` (at most 6 per question).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::ChoiceInput;
    /// let c = client.add_choice(7, &ChoiceInput { id: None, text: "None of these".into(), correct: false }).await?;
    /// println!("choice {}", c.id);
    /// # Ok(()) }
    /// ```
    pub async fn add_choice(&self, question_id: i64, c: &ChoiceInput) -> Result<Choice, Error> {
        self.send_body(
            Method::POST,
            &format!("/v1/questions/{question_id}/choices"),
            c,
        )
        .await
    }

    /// `PUT /v1/questions/{id}/choices/{choice_id}`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::ChoiceInput;
    /// client.update_choice(7, 31, &ChoiceInput { id: None, text: "All of these".into(), correct: true }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_choice(
        &self,
        question_id: i64,
        choice_id: i64,
        c: &ChoiceInput,
    ) -> Result<Choice, Error> {
        self.send_body(
            Method::PUT,
            &format!("/v1/questions/{question_id}/choices/{choice_id}"),
            c,
        )
        .await
    }

    /// `DELETE /v1/questions/{id}/choices/{choice_id}` (at least 2 choices, one correct, remain).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// client.delete_choice(7, 31).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_choice(&self, question_id: i64, choice_id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(
            Method::DELETE,
            &format!("/v1/questions/{question_id}/choices/{choice_id}"),
        ))
        .await
    }

    /// `POST /v1/questions/{id}/answer` in practice mode.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let q = client.get_question(7).await?;
    /// let result = client.answer(q.id, &[q.choices[0].id]).await?;
    /// println!("{}: {}", if result.correct { "right" } else { "wrong" }, result.explanation);
    /// # Ok(()) }
    /// ```
    pub async fn answer(
        &self,
        question_id: i64,
        choice_ids: &[i64],
    ) -> Result<AnswerResult, Error> {
        self.answer_with(
            question_id,
            &AnswerRequest {
                choice_ids: choice_ids.to_vec(),
                ..AnswerRequest::default()
            },
        )
        .await
    }

    /// `POST /v1/questions/{id}/answer` with time and attempt.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::AnswerRequest;
    /// let attempt = client.start_attempt(3).await?;
    /// let req = AnswerRequest { choice_ids: vec![12], time_ms: Some(4_200), attempt_id: Some(attempt.id) };
    /// let result = client.answer_with(7, &req).await?;
    /// println!("correct: {}", result.correct);
    /// # Ok(()) }
    /// ```
    pub async fn answer_with(
        &self,
        question_id: i64,
        req: &AnswerRequest,
    ) -> Result<AnswerResult, Error> {
        self.send_body(
            Method::POST,
            &format!("/v1/questions/{question_id}/answer"),
            req,
        )
        .await
    }

    // ---- leaderboards and ratings ----

    /// `GET /v1/leaderboards`: every board with its current period, next reset and size.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// for b in client.leaderboards().await?.items {
    ///     println!("{}: {} players", b.id, b.total);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leaderboards(&self) -> Result<BoardList, Error> {
        self.get("/v1/leaderboards").await
    }

    /// `GET /v1/leaderboards/{board}`: a page of `board` (`rating`, `points-week`,
    /// `points-day` or `topic:<topic>`) in rank order, of the current period or `period` ago.
    /// Pass each page's `next_cursor` back as `cursor` for the next one.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::BoardQuery;
    /// // Every row of last week's points board, 100 at a time.
    /// let mut q = BoardQuery { period: Some(1), limit: Some(100), ..Default::default() };
    /// loop {
    ///     let page = client.leaderboard("points-week", &q).await?;
    ///     for e in &page.items {
    ///         println!("#{} {} {}", e.rank, e.username, e.score);
    ///     }
    ///     match page.next_cursor {
    ///         Some(c) => q.cursor = Some(c),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leaderboard(&self, board: &str, q: &BoardQuery) -> Result<BoardPage, Error> {
        self.get_query(&format!("/v1/leaderboards/{}", path_segment(board)), q)
            .await
    }

    /// `GET /v1/leaderboards/{board}/me`: the caller's rank, score and percentile on `board`
    /// (of the current period, or `period` ago); `entry` and `percentile` are `None` when the
    /// caller has no score there.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let me = client.leaderboard_me("points-week", None).await?;
    /// if let (Some(e), Some(p)) = (me.entry, me.percentile) {
    ///     println!("#{} of {}, ahead of or level with {p:.1}%", e.rank, me.total);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leaderboard_me(&self, board: &str, period: Option<u32>) -> Result<MyRank, Error> {
        self.get_query(
            &format!("/v1/leaderboards/{}/me", path_segment(board)),
            &BoardQuery {
                period,
                ..BoardQuery::default()
            },
        )
        .await
    }

    /// `GET /v1/leaderboards/{board}/around`: the rows above and below the caller on `board`
    /// (5 each by default), the caller's own included; empty when the caller is not on it.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::AroundQuery;
    /// let near = client.leaderboard_around("rating", &AroundQuery::default()).await?;
    /// for e in &near.items {
    ///     println!("#{} {} {}", e.rank, e.username, e.score);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn leaderboard_around(
        &self,
        board: &str,
        q: &AroundQuery,
    ) -> Result<AroundMe, Error> {
        self.get_query(
            &format!("/v1/leaderboards/{}/around", path_segment(board)),
            q,
        )
        .await
    }

    /// `GET /v1/ratings/me`: the caller's rating (the initial one before any rated game).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let r = client.my_rating().await?;
    /// println!("rating {} after {} rated games", r.display, r.games);
    /// # Ok(()) }
    /// ```
    pub async fn my_rating(&self) -> Result<Rating, Error> {
        self.get("/v1/ratings/me").await
    }

    // ---- quizzes ----

    /// `POST /v1/quizzes` (author/admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::{QuizInput, QuizItemInput};
    /// let quiz = client
    ///     .create_quiz(&QuizInput {
    ///         title: "Rust basics".into(),
    ///         description: String::new(),
    ///         questions: vec![QuizItemInput { question_id: 7, time_limit_ms: 20_000 }],
    ///     })
    ///     .await?;
    /// println!("quiz {}", quiz.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_quiz(&self, q: &QuizInput) -> Result<Quiz, Error> {
        self.send_body(Method::POST, "/v1/quizzes", q).await
    }

    /// `GET /v1/quizzes/{id}`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let quiz = client.get_quiz(3).await?;
    /// println!("{}: {} questions", quiz.title, quiz.questions.len());
    /// # Ok(()) }
    /// ```
    pub async fn get_quiz(&self, id: i64) -> Result<Quiz, Error> {
        self.get(&format!("/v1/quizzes/{id}")).await
    }

    /// `PUT /v1/quizzes/{id}`: replaces title, description and questions.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::types::{QuizInput, QuizItemInput};
    /// let quiz = client.get_quiz(3).await?;
    /// let mut input = QuizInput {
    ///     title: format!("{} (v2)", quiz.title),
    ///     description: quiz.description.clone(),
    ///     questions: quiz
    ///         .questions
    ///         .iter()
    ///         .map(|i| QuizItemInput { question_id: i.question.id, time_limit_ms: i.time_limit_ms })
    ///         .collect(),
    /// };
    /// input.questions.reverse();
    /// client.replace_quiz(quiz.id, &input).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace_quiz(&self, id: i64, q: &QuizInput) -> Result<Quiz, Error> {
        self.send_body(Method::PUT, &format!("/v1/quizzes/{id}"), q)
            .await
    }

    /// `DELETE /v1/quizzes/{id}`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// client.delete_quiz(3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_quiz(&self, id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(Method::DELETE, &format!("/v1/quizzes/{id}"))).await
    }

    /// `GET /v1/quizzes`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let quizzes = client.list_quizzes(&Default::default()).await?;
    /// for q in &quizzes.items {
    ///     println!("{} ({} questions)", q.title, q.question_count);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_quizzes(&self, f: &QuizFilter) -> Result<Page<QuizSummary>, Error> {
        self.get_query("/v1/quizzes", f).await
    }

    /// `POST /v1/quizzes/{id}/attempts`: starts an attempt; answer with its id.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let attempt = client.start_attempt(3).await?;
    /// println!("attempt {}", attempt.id);
    /// # Ok(()) }
    /// ```
    pub async fn start_attempt(&self, quiz_id: i64) -> Result<Attempt, Error> {
        Self::send_json(self.request(Method::POST, &format!("/v1/quizzes/{quiz_id}/attempts")))
            .await
    }

    /// `GET /v1/quizzes/{id}/report` (the quiz's author or an admin).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let report = client.quiz_report(3).await?;
    /// println!("{}: {} attempts by {} players", report.title, report.attempts, report.players);
    /// # Ok(()) }
    /// ```
    pub async fn quiz_report(&self, quiz_id: i64) -> Result<QuizReport, Error> {
        self.get(&format!("/v1/quizzes/{quiz_id}/report")).await
    }

    /// `GET /v1/quizzes/{id}/report?format=csv`: one line per (question, choice).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let csv = client.quiz_report_csv(3).await?;
    /// std::fs::write("quiz-3.csv", csv).expect("write file");
    /// # Ok(()) }
    /// ```
    pub async fn quiz_report_csv(&self, quiz_id: i64) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, &format!("/v1/quizzes/{quiz_id}/report"))
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- operations ----

    /// `GET /healthz`.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// assert_eq!(client.health().await?.status, "ok");
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<Health, Error> {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the readiness report, whether the status is 200 or 503.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let r = client.ready().await?;
    /// for c in r.checks.iter().filter(|c| !c.ok) {
    ///     println!("{} is down: {:?}", c.name, c.error);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ready(&self) -> Result<Readiness, Error> {
        let resp = self
            .request(Method::GET, "/readyz")
            .send()
            .await
            .map_err(Error::transport)?;
        let bytes = resp.bytes().await.map_err(Error::transport)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `GET /openapi.json`: the OpenAPI 3 document of the whole API, as JSON text (parse it
    /// with the JSON library of your choice).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let spec = client.openapi().await?; // JSON text
    /// std::fs::write("openapi.json", spec).expect("write file");
    /// # Ok(()) }
    /// ```
    pub async fn openapi(&self) -> Result<String, Error> {
        Self::send_text(self.request(Method::GET, "/openapi.json")).await
    }

    /// `GET /docs`: the HTML documentation page.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let html = client.docs_html().await?;
    /// assert!(html.contains("<html"));
    /// # Ok(()) }
    /// ```
    pub async fn docs_html(&self) -> Result<String, Error> {
        Self::send_text(self.request(Method::GET, "/docs")).await
    }

    /// `GET /metrics`: Prometheus text format.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// let text = client.metrics().await?;
    /// println!("{} metric lines", text.lines().filter(|l| !l.starts_with('#')).count());
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<String, Error> {
        Self::send_text(self.request(Method::GET, "/metrics")).await
    }
}

/// `s` as one URL path segment: every byte but the unreserved characters (and `:`, which a
/// board id such as `topic:history` contains) percent-encoded, so a topic with spaces, `/` or
/// `?` stays one segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn board_ids_stay_one_path_segment() {
        assert_eq!(path_segment("points-week"), "points-week");
        assert_eq!(path_segment("topic:world history"), "topic:world%20history");
        assert_eq!(path_segment("topic:a/b?c#d"), "topic:a%2Fb%3Fc%23d");
        assert_eq!(path_segment("topic:é"), "topic:%C3%A9");
    }
}
