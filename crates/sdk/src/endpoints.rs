//! One method per REST endpoint.

use reqwest::Method;

use crate::types::*;
use crate::{Client, Error};

impl Client {
    // ---- auth ----

    /// `POST /v1/auth/register`: creates an account (the first account becomes admin).
    pub async fn register(&self, req: &RegisterRequest) -> Result<User, Error> {
        self.send_body(Method::POST, "/v1/auth/register", req).await
    }

    /// `POST /v1/auth/login`: the token response.
    pub async fn login_token(&self, req: &LoginRequest) -> Result<TokenResponse, Error> {
        self.send_body(Method::POST, "/v1/auth/login", req).await
    }

    /// Logs in and returns a copy of this client that uses the new token.
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
    pub async fn logout(&self) -> Result<(), Error> {
        Self::send_empty(self.request(Method::POST, "/v1/auth/logout")).await
    }

    /// `GET /v1/me`: the authenticated user.
    pub async fn me(&self) -> Result<User, Error> {
        self.get("/v1/me").await
    }

    /// `GET /v1/me/progress`: answered, correct, accuracy per topic, streaks.
    pub async fn progress(&self) -> Result<Progress, Error> {
        self.get("/v1/me/progress").await
    }

    // ---- users (admin) ----

    /// `GET /v1/users` (admin): all users, by id.
    pub async fn list_users(&self, page: &PageParams) -> Result<Page<User>, Error> {
        self.get_query("/v1/users", page).await
    }

    /// `PUT /v1/users/{id}/role` (admin): changes a user's role.
    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<User, Error> {
        self.send_body(
            Method::PUT,
            &format!("/v1/users/{user_id}/role"),
            &SetRoleRequest { role },
        )
        .await
    }

    /// `GET /v1/users/{id}/report` (the user or an admin).
    pub async fn user_report(&self, user_id: i64) -> Result<UserReport, Error> {
        self.get(&format!("/v1/users/{user_id}/report")).await
    }

    /// `GET /v1/users/{id}/report?format=csv`: one line per answer.
    pub async fn user_report_csv(&self, user_id: i64) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, &format!("/v1/users/{user_id}/report"))
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- questions ----

    /// `POST /v1/questions` (author/admin).
    pub async fn create_question(&self, q: &QuestionInput) -> Result<Question, Error> {
        self.send_body(Method::POST, "/v1/questions", q).await
    }

    /// `POST /v1/questions/import` with a JSON body (author/admin): all or nothing.
    pub async fn import_questions(&self, batch: &QuestionBatch) -> Result<ImportResult, Error> {
        self.send_body(Method::POST, "/v1/questions/import", batch)
            .await
    }

    /// `POST /v1/questions/import` with a CSV body (layout [`CSV_HEADER`]).
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
    pub async fn export_questions(&self) -> Result<QuestionBatch, Error> {
        self.get("/v1/questions/export").await
    }

    /// `GET /v1/questions/export?format=csv`.
    pub async fn export_questions_csv(&self) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, "/v1/questions/export")
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- live session records ----

    /// `GET /v1/live/sessions`: the caller's hosted sessions, newest first.
    pub async fn list_live_sessions(
        &self,
        f: &LiveSessionFilter,
    ) -> Result<Page<LiveSessionSummary>, Error> {
        self.get_query("/v1/live/sessions", f).await
    }

    /// `GET /v1/live/sessions/{id}/report` (the host or an admin).
    pub async fn live_session_report(&self, session_id: i64) -> Result<LiveSessionReport, Error> {
        self.get(&format!("/v1/live/sessions/{session_id}/report"))
            .await
    }

    /// `GET /v1/live/sessions/{id}/report?format=csv`.
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
    pub async fn get_question(&self, id: i64) -> Result<Question, Error> {
        self.get(&format!("/v1/questions/{id}")).await
    }

    /// `PUT /v1/questions/{id}`: replaces everything, choices included (keep a choice by
    /// sending its `id`).
    pub async fn replace_question(&self, id: i64, q: &QuestionInput) -> Result<Question, Error> {
        self.send_body(Method::PUT, &format!("/v1/questions/{id}"), q)
            .await
    }

    /// `PATCH /v1/questions/{id}`: changes the given fields.
    pub async fn patch_question(&self, id: i64, p: &QuestionPatch) -> Result<Question, Error> {
        self.send_body(Method::PATCH, &format!("/v1/questions/{id}"), p)
            .await
    }

    /// `DELETE /v1/questions/{id}`.
    pub async fn delete_question(&self, id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(Method::DELETE, &format!("/v1/questions/{id}"))).await
    }

    /// `GET /v1/questions` with filters and paging.
    pub async fn list_questions(&self, f: &QuestionFilter) -> Result<Page<Question>, Error> {
        self.get_query("/v1/questions", f).await
    }

    /// `GET /v1/questions/search`: relevance-ranked, typo-tolerant.
    pub async fn search_questions(&self, p: &SearchParams) -> Result<SearchResponse, Error> {
        self.get_query("/v1/questions/search", p).await
    }

    /// `GET /v1/questions/{id}/choices`.
    pub async fn list_choices(&self, question_id: i64) -> Result<Vec<Choice>, Error> {
        self.get(&format!("/v1/questions/{question_id}/choices"))
            .await
    }

    /// `POST /v1/questions/{id}/choices` (at most 6 per question).
    pub async fn add_choice(&self, question_id: i64, c: &ChoiceInput) -> Result<Choice, Error> {
        self.send_body(
            Method::POST,
            &format!("/v1/questions/{question_id}/choices"),
            c,
        )
        .await
    }

    /// `PUT /v1/questions/{id}/choices/{choice_id}`.
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
    pub async fn delete_choice(&self, question_id: i64, choice_id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(
            Method::DELETE,
            &format!("/v1/questions/{question_id}/choices/{choice_id}"),
        ))
        .await
    }

    /// `POST /v1/questions/{id}/answer` in practice mode.
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

    // ---- quizzes ----

    /// `POST /v1/quizzes` (author/admin).
    pub async fn create_quiz(&self, q: &QuizInput) -> Result<Quiz, Error> {
        self.send_body(Method::POST, "/v1/quizzes", q).await
    }

    /// `GET /v1/quizzes/{id}`.
    pub async fn get_quiz(&self, id: i64) -> Result<Quiz, Error> {
        self.get(&format!("/v1/quizzes/{id}")).await
    }

    /// `PUT /v1/quizzes/{id}`: replaces title, description and questions.
    pub async fn replace_quiz(&self, id: i64, q: &QuizInput) -> Result<Quiz, Error> {
        self.send_body(Method::PUT, &format!("/v1/quizzes/{id}"), q)
            .await
    }

    /// `DELETE /v1/quizzes/{id}`.
    pub async fn delete_quiz(&self, id: i64) -> Result<(), Error> {
        Self::send_empty(self.request(Method::DELETE, &format!("/v1/quizzes/{id}"))).await
    }

    /// `GET /v1/quizzes`.
    pub async fn list_quizzes(&self, f: &QuizFilter) -> Result<Page<QuizSummary>, Error> {
        self.get_query("/v1/quizzes", f).await
    }

    /// `POST /v1/quizzes/{id}/attempts`: starts an attempt; answer with its id.
    pub async fn start_attempt(&self, quiz_id: i64) -> Result<Attempt, Error> {
        Self::send_json(self.request(Method::POST, &format!("/v1/quizzes/{quiz_id}/attempts")))
            .await
    }

    /// `GET /v1/quizzes/{id}/report` (the quiz's author or an admin).
    pub async fn quiz_report(&self, quiz_id: i64) -> Result<QuizReport, Error> {
        self.get(&format!("/v1/quizzes/{quiz_id}/report")).await
    }

    /// `GET /v1/quizzes/{id}/report?format=csv`: one line per (question, choice).
    pub async fn quiz_report_csv(&self, quiz_id: i64) -> Result<String, Error> {
        Self::send_text(
            self.request(Method::GET, &format!("/v1/quizzes/{quiz_id}/report"))
                .query(&[("format", "csv")]),
        )
        .await
    }

    // ---- operations ----

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, Error> {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the readiness report, whether the status is 200 or 503.
    pub async fn ready(&self) -> Result<Readiness, Error> {
        let resp = self.request(Method::GET, "/readyz").send().await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `GET /openapi.json`.
    pub async fn openapi(&self) -> Result<serde_json::Value, Error> {
        self.get("/openapi.json").await
    }

    /// `GET /docs`: the HTML documentation page.
    pub async fn docs_html(&self) -> Result<String, Error> {
        Self::send_text(self.request(Method::GET, "/docs")).await
    }

    /// `GET /metrics`: Prometheus text format.
    pub async fn metrics(&self) -> Result<String, Error> {
        Self::send_text(self.request(Method::GET, "/metrics")).await
    }
}
