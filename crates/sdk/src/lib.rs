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
//! Design notes: the client is cheap to clone (clones share one connection pool); it never
//! retries on its own, because non-idempotent calls (answering) must not be repeated blindly;
//! [`Error::is_retryable`] tells callers when a retry is safe to consider. TLS is rustls only.
//! Live games are in [`live`]: [`live::LiveClient`] reconnects and resumes by itself.
//!
//! ## Gateway versions
//!
//! This release speaks to the live-quiz gateway 0.1: its REST API under `/v1` and live protocol
//! version [`live::PROTOCOL_VERSION`] (2), which the gateway states in every
//! [`live::Welcome::protocol`]. Within a protocol version the gateway only adds optional fields,
//! messages and error codes; the SDK ignores fields it does not know, and its enums of messages,
//! codes and errors are `#[non_exhaustive]`, so match them with a `_` arm. The crate's
//! `CHANGELOG.md` says which gateway versions each release speaks to.
//!
//! ## Stability
//!
//! No type of another crate appears in the public API (the `openapi` feature adds `utoipa`
//! derives), so the HTTP and WebSocket stacks inside can be upgraded in any release.
//! Configuration grows through [`ClientBuilder`] and [`live::LiveOptions`]' setters.
//!
//! ## Features
//!
//! - `client` (default): the clients. Without it the crate is only the wire types ([`types`] and
//!   the [`live`] protocol), with no async runtime or HTTP stack (the gateway's pure live engine
//!   depends on it that way).
//! - `openapi`: `utoipa::ToSchema` on the API types.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod endpoints;
#[cfg(feature = "client")]
mod error;
pub mod live;
pub mod matchmaking;
pub mod types;

#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, Method};
#[cfg(feature = "client")]
pub use error::{Error, TransportError};
