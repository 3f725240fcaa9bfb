//! Typed async client for the quiz gateway's REST API.
//!
//! The gateway serializes the structs in [`types`], and this crate deserializes the same structs,
//! so the wire format has one definition. Every REST endpoint has a method on [`Client`]; every
//! failure is an [`Error`], and an error the gateway reports carries its `problem+json` document
//! ([`types::Problem`]) with per-field validation messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), livequiz_sdk::Error> {
//! use livequiz_sdk::types::{ChoiceInput, QuestionInput, RegisterRequest};
//!
//! let anon = livequiz_sdk::Client::new("http://127.0.0.1:8080")?;
//! anon.register(&RegisterRequest { username: "ada".into(), password: "correct horse".into() }).await?;
//! let client = anon.login("ada", "correct horse").await?; // a client holding the token
//! let q = client
//!     .create_question(&QuestionInput {
//!         text: "Which keyword declares an immutable binding in Rust?".into(),
//!         topic: "rust".into(),
//!         tags: vec!["basics".into()],
//!         difficulty: 1,
//!         explanation: "`let` bindings are immutable unless marked `mut`.".into(),
//!         choices: vec![
//!             ChoiceInput { id: None, text: "let".into(), correct: true },
//!             ChoiceInput { id: None, text: "var".into(), correct: false },
//!         ],
//!     })
//!     .await?;
//! let result = client.answer(q.id, &[q.choices[0].id]).await?;
//! assert!(result.correct);
//! # Ok(()) }
//! ```
//!
//! Design notes: the client is cheap to clone (reqwest's pool is shared); it never retries on its
//! own, because non-idempotent calls (answering) must not be repeated blindly;
//! [`Error::is_retryable`] tells callers when a retry is safe to consider. TLS is rustls only.
#![warn(missing_docs)]

mod client;
mod endpoints;
mod error;
pub mod live;
pub mod types;

pub use client::Client;
pub use error::Error;
/// HTTP method type used by [`Client::raw`].
pub use reqwest::Method;
