//! The SDK's error type.

use crate::types::Problem;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway answered with an error status and a `problem+json` body.
    #[error("{} {}: {}", .0.status, .0.title, .0.detail)]
    Api(Problem),
    /// The gateway answered with an error status but no readable problem body (e.g. a proxy).
    #[error("HTTP {status}: {body}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The request could not be sent or the response not read (connection refused, timeout...).
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success response whose body did not match the expected type.
    #[error("cannot decode response: {0}")]
    Decode(String),
    /// The base URL or a path could not be turned into a request URL.
    #[error("invalid URL: {0}")]
    Url(String),
}

impl Error {
    /// The HTTP status, if the gateway answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(p) => Some(p.status),
            Error::Http { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The problem document, if the gateway sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(p) => Some(p),
            _ => None,
        }
    }

    /// Whether retrying later may succeed (connection failures, 429, 502-504).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_connect() || e.is_timeout(),
            _ => matches!(self.status(), Some(429 | 502..=504)),
        }
    }
}
