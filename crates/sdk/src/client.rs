//! The HTTP plumbing of [`Client`]: URL building, the bearer token, and turning responses into
//! typed values or [`Error`]s.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method as HttpMethod, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::Problem;
use crate::Error;

/// A client for one gateway, optionally authenticated with a bearer token.
///
/// Clones share the connection pool. Use [`Client::with_token`] (or [`Client::login`]) to get an
/// authenticated copy, and [`Client::builder`] for timeouts and other connection settings.
///
/// ```
/// let client = livequiz_sdk::Client::new("http://127.0.0.1:8080/").unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
/// assert!(client.token().is_none());
/// assert!(livequiz_sdk::Client::new("127.0.0.1:8080").is_err()); // no scheme
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Connection settings of a [`Client`]; start with [`Client::builder`].
///
/// Every setting is optional; new settings may be added in minor releases.
///
/// ```
/// use std::time::Duration;
/// let client = livequiz_sdk::Client::builder("https://quiz.example")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(2))
///     .user_agent("my-quiz-bot/1.0")
///     .token("secret")
///     .build()
///     .unwrap();
/// assert_eq!(client.token(), Some("secret"));
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    http: reqwest::ClientBuilder,
    token: Option<String>,
}

impl ClientBuilder {
    /// Total time allowed for each request, from connecting to the end of the body (default:
    /// none).
    ///
    /// ```
    /// let b = livequiz_sdk::Client::builder("http://h").timeout(std::time::Duration::from_secs(5));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.timeout(timeout);
        self
    }

    /// Time allowed to establish a connection (default: none).
    ///
    /// ```
    /// let b = livequiz_sdk::Client::builder("http://h").connect_timeout(std::time::Duration::from_secs(1));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.connect_timeout(timeout);
        self
    }

    /// The `User-Agent` header sent with every request.
    ///
    /// ```
    /// assert!(livequiz_sdk::Client::builder("http://h").user_agent("bot/1").build().is_ok());
    /// ```
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.http = self.http.user_agent(user_agent);
        self
    }

    /// The local address connections leave from (e.g. one of several interfaces).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// let b = livequiz_sdk::Client::builder("http://h").local_address(IpAddr::V4(Ipv4Addr::LOCALHOST));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn local_address(mut self, addr: IpAddr) -> Self {
        self.http = self.http.local_address(addr);
        self
    }

    /// How many idle connections per host the pool keeps (0: a new connection per request).
    ///
    /// ```
    /// assert!(livequiz_sdk::Client::builder("http://h").pool_max_idle_per_host(0).build().is_ok());
    /// ```
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.http = self.http.pool_max_idle_per_host(max);
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    ///
    /// ```
    /// let c = livequiz_sdk::Client::builder("http://h").token("t").build().unwrap();
    /// assert_eq!(c.token(), Some("t"));
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The client; fails when the base URL is not `http(s)://...` or the TLS setup fails.
    ///
    /// ```
    /// assert!(livequiz_sdk::Client::builder("ftp://h").build().is_err());
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Url(format!(
                "base URL must start with http:// or https://, got {:?}",
                self.base_url
            )));
        }
        let http = self.http.build().map_err(Error::transport)?;
        Ok(Client {
            http,
            base,
            token: self.token,
        })
    }
}

/// An HTTP method for [`Client::raw`].
///
/// ```
/// assert_eq!(livequiz_sdk::Method::PATCH.as_str(), "PATCH");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(&'static str);

impl Method {
    /// `GET`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::GET.as_str(), "GET");
    /// ```
    pub const GET: Method = Method("GET");
    /// `POST`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::POST.as_str(), "POST");
    /// ```
    pub const POST: Method = Method("POST");
    /// `PUT`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::PUT.as_str(), "PUT");
    /// ```
    pub const PUT: Method = Method("PUT");
    /// `PATCH`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::PATCH.as_str(), "PATCH");
    /// ```
    pub const PATCH: Method = Method("PATCH");
    /// `DELETE`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::DELETE.as_str(), "DELETE");
    /// ```
    pub const DELETE: Method = Method("DELETE");
    /// `HEAD`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::HEAD.as_str(), "HEAD");
    /// ```
    pub const HEAD: Method = Method("HEAD");
    /// `OPTIONS`.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::OPTIONS.as_str(), "OPTIONS");
    /// ```
    pub const OPTIONS: Method = Method("OPTIONS");

    /// The method's name.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Method::GET.as_str(), "GET");
    /// ```
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self.0 {
            "GET" => reqwest::Method::GET,
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            "DELETE" => reqwest::Method::DELETE,
            "HEAD" => reqwest::Method::HEAD,
            _ => reqwest::Method::OPTIONS,
        }
    }
}

/// The method's name, as on the wire.
///
/// ```
/// assert_eq!(livequiz_sdk::Method::DELETE.to_string(), "DELETE");
/// ```
impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Client {
    /// A client for the gateway at `base_url` (e.g. `http://127.0.0.1:8080`), without a token.
    ///
    /// ```
    /// assert!(livequiz_sdk::Client::new("http://127.0.0.1:8080").is_ok());
    /// ```
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder(base_url).build()
    }

    /// Settings for a client of the gateway at `base_url` (see [`ClientBuilder`]).
    ///
    /// ```
    /// let c = livequiz_sdk::Client::builder("http://127.0.0.1:8080").build().unwrap();
    /// assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    /// ```
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_string(),
            http: reqwest::Client::builder(),
            token: None,
        }
    }

    /// A copy of this client that sends `Authorization: Bearer <token>`.
    ///
    /// ```
    /// let anon = livequiz_sdk::Client::new("http://h").unwrap();
    /// assert_eq!(anon.with_token("t").token(), Some("t"));
    /// ```
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The bearer token, if any.
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Client::new("http://h").unwrap().token(), None);
    /// ```
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The base URL (without trailing slash).
    ///
    /// ```
    /// assert_eq!(livequiz_sdk::Client::new("http://h/").unwrap().base_url(), "http://h");
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn request(&self, method: HttpMethod, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, Error> {
        let resp = Self::check(rb.send().await.map_err(Error::transport)?).await?;
        let bytes = resp.bytes().await.map_err(Error::transport)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    pub(crate) async fn send_text(rb: RequestBuilder) -> Result<String, Error> {
        let resp = Self::check(rb.send().await.map_err(Error::transport)?).await?;
        resp.text().await.map_err(Error::transport)
    }

    pub(crate) async fn send_empty(rb: RequestBuilder) -> Result<(), Error> {
        Self::check(rb.send().await.map_err(Error::transport)?).await?;
        Ok(())
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        Self::send_json(self.request(HttpMethod::GET, path)).await
    }

    pub(crate) async fn get_query<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Error> {
        Self::send_json(self.request(HttpMethod::GET, path).query(query)).await
    }

    pub(crate) async fn send_body<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: HttpMethod,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        Self::send_json(self.request(method, path).json(body)).await
    }

    /// Sends a raw request body and returns the status and the response text, whatever the
    /// status (for testing how the gateway handles malformed input).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::Method;
    /// let (status, body) = client.raw(Method::POST, "/v1/auth/login", "application/json", "{").await?;
    /// assert_eq!(status, 400, "{body}");
    /// # Ok(()) }
    /// ```
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<(u16, String), Error> {
        let resp = self
            .request(method.to_reqwest(), path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.into())
            .send()
            .await
            .map_err(Error::transport)?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.map_err(Error::transport)?))
    }

    async fn check(resp: Response) -> Result<Response, Error> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.map_err(Error::transport)?;
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) => Err(Error::Api(p)),
            Err(_) => Err(Error::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
            }),
        }
    }
}
