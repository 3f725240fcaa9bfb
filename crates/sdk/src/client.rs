//! The HTTP plumbing of [`Client`]: URL building, the bearer token, and turning responses into
//! typed values or [`Error`]s.

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::Problem;
use crate::Error;

/// A client for one gateway, optionally authenticated with a bearer token.
///
/// Clones share the connection pool. Use [`Client::with_token`] (or [`Client::login`]) to get an
/// authenticated copy.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client for the gateway at `base_url` (e.g. `http://127.0.0.1:8080`), without a token.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(Error::Transport)?;
        Self::with_http(http, base_url)
    }

    /// Like [`Client::new`] with a caller-configured `reqwest::Client` (timeouts, proxies...).
    pub fn with_http(http: reqwest::Client, base_url: &str) -> Result<Self, Error> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Url(format!(
                "base URL must start with http:// or https://, got {base_url:?}"
            )));
        }
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    /// A copy of this client that sends `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The base URL (without trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, Error> {
        let resp = Self::check(rb.send().await?).await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    pub(crate) async fn send_text(rb: RequestBuilder) -> Result<String, Error> {
        let resp = Self::check(rb.send().await?).await?;
        Ok(resp.text().await?)
    }

    pub(crate) async fn send_empty(rb: RequestBuilder) -> Result<(), Error> {
        Self::check(rb.send().await?).await?;
        Ok(())
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        Self::send_json(self.request(Method::GET, path)).await
    }

    pub(crate) async fn get_query<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Error> {
        Self::send_json(self.request(Method::GET, path).query(query)).await
    }

    pub(crate) async fn send_body<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        Self::send_json(self.request(method, path).json(body)).await
    }

    /// Sends a raw request body (for testing how the gateway handles malformed input).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<(u16, String), Error> {
        let resp = self
            .request(method, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    async fn check(resp: Response) -> Result<Response, Error> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await?;
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) => Err(Error::Api(p)),
            Err(_) => Err(Error::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
            }),
        }
    }
}
