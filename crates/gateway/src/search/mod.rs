//! Full-text search over the question bank (tantivy embedded, Elasticsearch in cluster mode).
//!
//! [`SearchIndex`] is a cheap-to-clone handle that dispatches to one of two backends:
//!
//! * **tantivy** (default): an embedded index in `<data dir>/index` ([`SearchIndex::open_tantivy`])
//!   or in RAM ([`SearchIndex::in_memory`]). One `IndexWriter` sits behind a mutex; every write is
//!   committed and the reader reloaded before the call returns, so authors read their own writes.
//!   Blocking tantivy work runs on `tokio::task::spawn_blocking`.
//! * **Elasticsearch** (when `ELASTICSEARCH_URL` is set): the official `elasticsearch` client.
//!   Writes use `refresh=wait_for`; [`SearchIndex::rebuild`] builds a fresh concrete index and
//!   swaps the alias atomically, so searches never see an empty index during a reindex.
//!
//! Query semantics shared by both backends: `q` is treated as plain words (no query syntax),
//! matched over text (highest boost), choices, tags, topic and explanation, with typo tolerance
//! (edit distance 1 for words of 4-7 characters, 2 for 8+; the last word also matches as a prefix)
//! and exact matches ranked above fuzzy ones. `topic` and `tags` are exact, case-insensitive
//! filters (every listed tag must be present). A `q` without letters or digits gives a
//! filter-only listing ordered by id descending, with score 0. `limit` is capped at
//! [`MAX_LIMIT`] (0 returns only `total`), `offset` at [`MAX_OFFSET`].
//!
//! Testing status: the tantivy path is covered end to end by the unit tests in
//! `tantivy_index.rs` (RAM and on-disk indexes, relevance order, typos, filters, paging, delete,
//! update, rebuild, reopen, garbage input). No Elasticsearch server is installable on the build
//! machine, so the Elasticsearch backend is covered only by unit tests of its pure request
//! builders / response parsers in `elastic_json.rs` plus a test that connecting to a closed port fails
//! promptly; the I/O paths against a live cluster have NOT been exercised.
//! Run: `cargo test -p gateway --lib search::`.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod elastic;
mod elastic_json;
#[cfg(test)]
mod elastic_tests;
#[cfg(test)]
mod elastic_wire_tests;
mod tantivy_index;
#[cfg(test)]
mod tantivy_tests;

/// Maximum number of hits returned by one search.
pub const MAX_LIMIT: usize = 100;
/// Maximum paging offset (deeper pages return no hits, `total` stays exact).
pub const MAX_OFFSET: usize = 10_000;
/// Number of hits returned when a deserialized [`SearchQuery`] does not specify `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// At most this many distinct words of `q` are used.
const MAX_QUERY_WORDS: usize = 16;
/// `q` is cut to this many characters before analysis.
const MAX_QUERY_CHARS: usize = 512;

/// A question as it is indexed for search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionDoc {
    /// Primary key of the question in the database.
    pub id: i64,
    /// The question text.
    pub text: String,
    /// Answer choices.
    pub choices: Vec<String>,
    /// Topic (filterable, case-insensitive).
    pub topic: String,
    /// Tags (filterable, case-insensitive).
    pub tags: Vec<String>,
    /// Difficulty label (stored in Elasticsearch only, not searched).
    pub difficulty: String,
    /// Explanation shown after answering.
    pub explanation: String,
}

/// A search request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Free text, treated as plain words. Empty means filter-only listing.
    pub q: String,
    /// Exact topic filter (case-insensitive); `None` or blank means no filter.
    pub topic: Option<String>,
    /// Tag filter: every listed tag must be present (case-insensitive).
    pub tags: Vec<String>,
    /// Page size, capped at [`MAX_LIMIT`]; 0 returns only `total`.
    pub limit: usize,
    /// Number of hits to skip, capped at [`MAX_OFFSET`].
    pub offset: usize,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            q: String::new(),
            topic: None,
            tags: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One matching question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Question id.
    pub id: i64,
    /// Relevance score (0 for filter-only listings).
    pub score: f32,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchResults {
    /// Total number of matching questions (not just this page).
    pub total: usize,
    /// The requested page, best first.
    pub hits: Vec<SearchHit>,
}

/// Errors from the search backends.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The embedded tantivy index failed.
    #[error("search index error: {0}")]
    Tantivy(#[from] ::tantivy::TantivyError),
    /// Local I/O failure (creating or opening the index directory).
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The search backend could not be reached (connection refused, timeout, ...).
    #[error("search backend unavailable: {0}")]
    Unavailable(String),
    /// Elasticsearch answered with an error status.
    #[error("elasticsearch returned {status}: {kind}: {reason}")]
    Elasticsearch {
        /// HTTP status code.
        status: u16,
        /// Elasticsearch error type, e.g. `index_not_found_exception`.
        kind: String,
        /// Human-readable reason.
        reason: String,
    },
    /// A backend response could not be understood.
    #[error("unexpected search backend response: {0}")]
    Protocol(String),
    /// Invalid configuration (bad URL, unusable index name, ...).
    #[error("invalid search configuration: {0}")]
    Config(String),
    /// A background task panicked or was cancelled.
    #[error("search task failed: {0}")]
    Task(String),
}

impl SearchError {
    /// Whether retrying the same operation later may succeed (backend down, overloaded).
    pub fn is_retryable(&self) -> bool {
        match self {
            SearchError::Unavailable(_) => true,
            SearchError::Elasticsearch { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}

#[derive(Debug)]
enum Backend {
    Tantivy(tantivy_index::TantivyBackend),
    Elastic(elastic::ElasticBackend),
}

/// Handle to the question search index; clones share the same backend.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    backend: Arc<Backend>,
}

impl SearchIndex {
    /// Opens the tantivy index in `dir/index`, creating it if missing.
    ///
    /// An index written with a different schema is recreated empty (it is derived data; run a
    /// reindex afterwards).
    pub fn open_tantivy(dir: &Path) -> Result<Self, SearchError> {
        let backend = tantivy_index::TantivyBackend::open(&dir.join("index"))?;
        Ok(Self::wrap(Backend::Tantivy(backend)))
    }

    /// Creates an empty tantivy index in RAM (for tests).
    pub fn in_memory() -> Result<Self, SearchError> {
        Ok(Self::wrap(Backend::Tantivy(
            tantivy_index::TantivyBackend::in_memory()?,
        )))
    }

    /// Connects to Elasticsearch at `url` and creates `index` (an alias over a versioned
    /// concrete index) with the search mapping if it does not exist yet.
    pub async fn connect_elasticsearch(url: &str, index: &str) -> Result<Self, SearchError> {
        let backend = elastic::ElasticBackend::connect(url, index).await?;
        Ok(Self::wrap(Backend::Elastic(backend)))
    }

    fn wrap(backend: Backend) -> Self {
        SearchIndex {
            backend: Arc::new(backend),
        }
    }

    /// Inserts or replaces the question with `doc.id`; visible to searches when this returns.
    pub async fn upsert(&self, doc: QuestionDoc) -> Result<(), SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => b.upsert(doc).await,
            Backend::Elastic(b) => b.upsert(&doc).await,
        }
    }

    /// Inserts or replaces many questions in one index commit (bulk imports); all are visible
    /// to searches when this returns.
    pub async fn upsert_many(&self, docs: Vec<QuestionDoc>) -> Result<(), SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => b.upsert_many(docs).await,
            Backend::Elastic(b) => b.upsert_many(&docs).await,
        }
    }

    /// Removes the question `id` (no error if it is not indexed).
    pub async fn delete(&self, id: i64) -> Result<(), SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => b.delete(id).await,
            Backend::Elastic(b) => b.delete(id).await,
        }
    }

    /// Runs a search; see the module docs for the semantics.
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        self.search_excluding(q, &[]).await
    }

    /// [`SearchIndex::search`] as if the questions `exclude` were not indexed: they are in
    /// neither the hits nor the total. The gateway hides questions of running live games this
    /// way, where even a count would confirm words of a hidden explanation.
    pub async fn search_excluding(
        &self,
        q: &SearchQuery,
        exclude: &[i64],
    ) -> Result<SearchResults, SearchError> {
        let mut q = NormalizedQuery::from_query(q);
        q.exclude = exclude.to_vec();
        match &*self.backend {
            Backend::Tantivy(b) => b.search(q).await,
            Backend::Elastic(b) => b.search(&q).await,
        }
    }

    /// Replaces the whole index content with `docs` (used by `gateway reindex`).
    pub async fn rebuild(&self, docs: Vec<QuestionDoc>) -> Result<(), SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => b.rebuild(docs).await,
            Backend::Elastic(b) => b.rebuild(&docs).await,
        }
    }

    /// Number of indexed questions (e.g. to decide whether a reindex is needed at startup).
    pub async fn doc_count(&self) -> Result<u64, SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => Ok(b.doc_count()),
            Backend::Elastic(b) => b.doc_count().await,
        }
    }

    /// Checks that the backend can serve requests (for readiness probes).
    pub async fn ready(&self) -> Result<(), SearchError> {
        match &*self.backend {
            Backend::Tantivy(b) => b.ready(),
            Backend::Elastic(b) => b.ready().await,
        }
    }

    /// `"tantivy"` or `"elasticsearch"`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Tantivy(_) => "tantivy",
            Backend::Elastic(_) => "elasticsearch",
        }
    }
}

/// Keyword normalization used for `topic`/`tags` at index and query time.
fn normalize_keyword(s: &str) -> String {
    s.trim().to_lowercase()
}

/// A [`SearchQuery`] with limits applied and filters normalized.
#[derive(Debug, Clone, PartialEq)]
struct NormalizedQuery {
    /// Plain words (at most [`MAX_QUERY_WORDS`]); empty means filter-only listing.
    text: String,
    topic: Option<String>,
    tags: Vec<String>,
    limit: usize,
    offset: usize,
    /// Question ids left out of hits and total.
    exclude: Vec<i64>,
}

impl NormalizedQuery {
    fn from_query(q: &SearchQuery) -> Self {
        let cut: String = q.q.chars().take(MAX_QUERY_CHARS).collect();
        let mut words: Vec<&str> = Vec::new();
        for w in cut.split_whitespace() {
            if words.len() == MAX_QUERY_WORDS {
                break;
            }
            if w.chars().any(char::is_alphanumeric) && !words.contains(&w) {
                words.push(w);
            }
        }
        let topic = q
            .topic
            .as_deref()
            .map(normalize_keyword)
            .filter(|t| !t.is_empty());
        let mut tags: Vec<String> = Vec::new();
        for t in q.tags.iter().map(|t| normalize_keyword(t)) {
            if !t.is_empty() && !tags.contains(&t) {
                tags.push(t);
            }
        }
        NormalizedQuery {
            text: words.join(" "),
            topic,
            tags,
            limit: q.limit.min(MAX_LIMIT),
            offset: q.offset.min(MAX_OFFSET),
            exclude: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_caps_and_cleans() {
        let q = SearchQuery {
            q: "  Rust  !!! rust Rust ???  borrow ".into(),
            topic: Some("  Programming ".into()),
            tags: vec!["Async".into(), " ".into(), "async".into(), "WEB".into()],
            limit: 1000,
            offset: usize::MAX,
        };
        let n = NormalizedQuery::from_query(&q);
        assert_eq!(n.text, "Rust rust borrow");
        assert_eq!(n.topic.as_deref(), Some("programming"));
        assert_eq!(n.tags, vec!["async".to_string(), "web".to_string()]);
        assert_eq!((n.limit, n.offset), (MAX_LIMIT, MAX_OFFSET));

        let blank = NormalizedQuery::from_query(&SearchQuery {
            topic: Some("   ".into()),
            ..SearchQuery::default()
        });
        assert_eq!(blank.topic, None);
        assert_eq!(blank.text, "");
        assert_eq!(blank.limit, DEFAULT_LIMIT);

        let long = "ab ".repeat(10_000);
        assert_eq!(
            NormalizedQuery::from_query(&SearchQuery {
                q: long,
                ..SearchQuery::default()
            })
            .text,
            "ab"
        );
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        let n = NormalizedQuery::from_query(&SearchQuery {
            q: many,
            ..SearchQuery::default()
        });
        assert_eq!(n.text.split(' ').count(), MAX_QUERY_WORDS);
    }

    #[test]
    fn query_deserializes_with_defaults() {
        let q: SearchQuery = serde_json::from_str(r#"{"q":"pythn"}"#).unwrap();
        assert_eq!(q.limit, DEFAULT_LIMIT);
        assert!(q.tags.is_empty() && q.topic.is_none());
    }

    #[test]
    fn retryable_errors() {
        assert!(SearchError::Unavailable("down".into()).is_retryable());
        let es = |status| SearchError::Elasticsearch {
            status,
            kind: "k".into(),
            reason: "r".into(),
        };
        assert!(es(503).is_retryable() && es(429).is_retryable());
        assert!(!es(400).is_retryable());
        assert!(!SearchError::Protocol("x".into()).is_retryable());
    }
}
