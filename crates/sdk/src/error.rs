//! The SDK's error type.

use crate::types::Problem;

/// Why a call failed.
///
/// New variants may be added in minor releases; match with a `_` arm, or use the classifiers
/// ([`Error::status`], [`Error::problem`], [`Error::is_retryable`]).
///
/// ```
/// let e = livequiz_sdk::Client::new("not a url").unwrap_err();
/// assert!(matches!(e, livequiz_sdk::Error::Url(_)));
/// assert_eq!(e.status(), None);
/// assert!(!e.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    Transport(#[source] TransportError),
    /// A success response whose body did not match the expected type.
    #[error("cannot decode response: {0}")]
    Decode(String),
    /// The base URL or a path could not be turned into a request URL.
    #[error("invalid URL: {0}")]
    Url(String),
}

/// A failure below HTTP: connecting, TLS, sending the request or reading the response. Its
/// [`source`](std::error::Error::source) chain has the details.
///
/// ```no_run
/// # async fn demo() {
/// let client = livequiz_sdk::Client::new("http://127.0.0.1:9").unwrap(); // nothing listens
/// match client.health().await {
///     Err(livequiz_sdk::Error::Transport(e)) => assert!(e.is_connect()),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    /// Whether connecting failed (refused, unreachable, DNS, TLS handshake).
    ///
    /// ```no_run
    /// # fn demo(e: livequiz_sdk::TransportError) {
    /// if e.is_connect() { /* the gateway is down or unreachable: try again later */ }
    /// # }
    /// ```
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }

    /// Whether a configured timeout expired.
    ///
    /// ```no_run
    /// # fn demo(e: livequiz_sdk::TransportError) {
    /// if e.is_timeout() { /* try again later */ }
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    pub(crate) fn transport(e: reqwest::Error) -> Error {
        Error::Transport(TransportError(e))
    }

    /// The HTTP status, if the gateway answered.
    ///
    /// ```
    /// use livequiz_sdk::Error;
    /// assert_eq!(Error::Http { status: 502, body: String::new() }.status(), Some(502));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(p) => Some(p.status),
            Error::Http { status, .. } => Some(*status),
            Error::Transport(e) => e.0.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The problem document, if the gateway sent one.
    ///
    /// ```
    /// use livequiz_sdk::{types::Problem, Error};
    /// let e = Error::Api(Problem {
    ///     kind: "/problems/not-found".into(),
    ///     title: "Not found".into(),
    ///     status: 404,
    ///     detail: "no question 7".into(),
    ///     errors: vec![],
    /// });
    /// assert_eq!(e.problem().unwrap().detail, "no question 7");
    /// ```
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(p) => Some(p),
            _ => None,
        }
    }

    /// Whether retrying later may succeed (connection failures, timeouts, 429, 502-504).
    ///
    /// ```
    /// use livequiz_sdk::Error;
    /// assert!(Error::Http { status: 503, body: String::new() }.is_retryable());
    /// assert!(!Error::Decode("bad json".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_connect() || e.is_timeout(),
            _ => matches!(self.status(), Some(429 | 502..=504)),
        }
    }
}
