//! Typed async client for the quiz gateway's REST API.
//!
//! The gateway serializes the structs in [`types`], and this crate deserializes the same structs,
//! so the wire format has one definition. Every REST endpoint has a method on [`Client`]; every
//! failure is an [`Error`], and an error the gateway reports carries its `problem+json` document
//! ([`types::Problem`]) with per-field validation messages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sdk::Error> {
//! use sdk::types::{ChoiceInput, QuestionInput, RegisterRequest};
//!
//! let anon = sdk::Client::new("http://127.0.0.1:8080")?;
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
//!
//! Feature `client` (default): the clients. Without it the crate is only the wire types, with no
//! async runtime or HTTP stack (the gateway's pure live engine depends on it that way).
#![warn(missing_docs)]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod endpoints;
#[cfg(feature = "client")]
mod error;
pub mod live;
pub mod types;

#[cfg(feature = "client")]
pub use client::Client;
#[cfg(feature = "client")]
pub use error::Error;
/// HTTP method type used by [`Client::raw`].
#[cfg(feature = "client")]
pub use reqwest::Method;
