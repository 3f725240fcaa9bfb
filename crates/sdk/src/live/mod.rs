//! Live quiz sessions over WebSocket: the protocol types (shared with the
//! gateway) and [`LiveClient`] with auto-reconnect and resume.
//!
//! ```no_run
//! # async fn demo() -> Result<(), livequiz_sdk::live::LiveError> {
//! use livequiz_sdk::live::{Credentials, LiveClient, ServerMsg};
//! let mut player = LiveClient::connect("http://127.0.0.1:8080", "123456", Credentials::Guest("ann".into())).await?;
//! while let Some(msg) = player.next_message().await {
//!     if let ServerMsg::Question(q) = msg {
//!         player.answer(q.index, vec![0], None)?;
//!     }
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "client")]
mod client;
pub mod protocol;
#[cfg(feature = "client")]
mod rest;

#[cfg(feature = "client")]
pub use client::{ws_url, Credentials, LiveClient, LiveError, LiveEvent, LiveOptions};
pub use protocol::*;
