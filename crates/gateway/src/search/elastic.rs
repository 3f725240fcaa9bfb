//! Elasticsearch backend (I/O).
//!
//! The configured index name is an alias over a versioned concrete index (`<name>-v<millis>`),
//! so [`ElasticBackend::rebuild`] can fill a fresh index and swap the alias atomically.
//! Request bodies are built and responses parsed by the pure functions in `elastic_json.rs`;
//! the methods here only move them over the wire with the official client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use elasticsearch::auth::Credentials;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Url;
use elasticsearch::indices::{IndicesCreateParts, IndicesDeleteParts, IndicesExistsParts};
use elasticsearch::indices::{IndicesGetAliasParts, IndicesRefreshParts};
use elasticsearch::params::Refresh;
use elasticsearch::{BulkParts, CountParts, DeleteParts, Elasticsearch, IndexParts, SearchParts};
use serde_json::Value;

use super::elastic_json::{alias_swap_actions, bulk_lines, delete_outcome, doc_source};
use super::elastic_json::{error_from_response, index_definition, parse_alias_indices};
use super::elastic_json::{parse_bulk_response, parse_search_response, search_body};
use super::{NormalizedQuery, QuestionDoc, SearchError, SearchResults};

/// Whole-request timeout (connect included); bulk chunks are small enough to fit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Documents per bulk request during a rebuild.
const BULK_CHUNK: usize = 500;

/// Client plus the alias every request goes through.
pub(super) struct ElasticBackend {
    client: Elasticsearch,
    alias: String,
    /// URL without credentials, for `Debug`.
    display_url: String,
}

impl std::fmt::Debug for ElasticBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticBackend")
            .field("url", &self.display_url)
            .field("alias", &self.alias)
            .finish()
    }
}

fn transport_error(e: elasticsearch::Error) -> SearchError {
    if e.is_json() {
        SearchError::Protocol(e.to_string())
    } else {
        SearchError::Unavailable(e.to_string())
    }
}

/// Status plus body text of a sent request.
async fn read(
    sent: impl std::future::Future<Output = Result<Response, elasticsearch::Error>>,
) -> Result<(u16, String), SearchError> {
    let resp = sent.await.map_err(transport_error)?;
    let status = resp.status_code().as_u16();
    let text = resp.text().await.map_err(transport_error)?;
    Ok((status, text))
}

/// JSON body of a successful response, or the mapped error.
async fn checked(
    sent: impl std::future::Future<Output = Result<Response, elasticsearch::Error>>,
) -> Result<Value, SearchError> {
    let (status, text) = read(sent).await?;
    if !(200..300).contains(&status) {
        return Err(error_from_response(status, &text));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| SearchError::Protocol(format!("invalid JSON: {e}")))
}

fn versioned_name(alias: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{alias}-v{millis}")
}

impl ElasticBackend {
    pub(super) async fn connect(url: &str, alias: &str) -> Result<Self, SearchError> {
        if alias.is_empty() || alias != alias.to_lowercase() || alias.starts_with(['-', '_']) {
            return Err(SearchError::Config(format!("invalid index name {alias:?}")));
        }
        let mut parsed = Url::parse(url).map_err(|e| SearchError::Config(format!("{url}: {e}")))?;
        let credentials = match (parsed.username(), parsed.password()) {
            ("", _) | (_, None) => None,
            (user, Some(pass)) => Some(Credentials::Basic(user.to_string(), pass.to_string())),
        };
        // Strip userinfo; the transport sends it as a header (same as `Transport::single_node`).
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let display_url = parsed.to_string();
        let mut builder =
            TransportBuilder::new(SingleNodeConnectionPool::new(parsed)).timeout(REQUEST_TIMEOUT);
        if let Some(c) = credentials {
            builder = builder.auth(c);
        }
        let transport = builder
            .build()
            .map_err(|e| SearchError::Config(e.to_string()))?;
        let backend = ElasticBackend {
            client: Elasticsearch::new(transport),
            alias: alias.to_string(),
            display_url,
        };
        backend.ensure_index().await?;
        Ok(backend)
    }

    async fn alias_exists(&self) -> Result<bool, SearchError> {
        let indices = self.client.indices();
        let (status, text) = read(
            indices
                .exists(IndicesExistsParts::Index(&[&self.alias]))
                .send(),
        )
        .await?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(error_from_response(status, &text)),
        }
    }

    async fn ensure_index(&self) -> Result<(), SearchError> {
        if self.alias_exists().await? {
            return Ok(());
        }
        let name = versioned_name(&self.alias);
        let indices = self.client.indices();
        let create = indices.create(IndicesCreateParts::Index(&name));
        match checked(create.body(index_definition(Some(&self.alias))).send()).await {
            Ok(_) => Ok(()),
            // Another gateway may have created it concurrently.
            Err(e) if self.alias_exists().await.unwrap_or(false) => {
                tracing::info!(error = %e, "search index created concurrently");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn upsert(&self, doc: &QuestionDoc) -> Result<(), SearchError> {
        let id = doc.id.to_string();
        let req = self.client.index(IndexParts::IndexId(&self.alias, &id));
        checked(req.refresh(Refresh::WaitFor).body(doc_source(doc)).send()).await?;
        Ok(())
    }

    /// Bulk-indexes `docs` through the alias, in chunks, visible when this returns.
    pub(super) async fn upsert_many(&self, docs: &[QuestionDoc]) -> Result<(), SearchError> {
        for chunk in docs.chunks(BULK_CHUNK) {
            let lines: Vec<JsonBody<Value>> =
                bulk_lines(chunk).into_iter().map(JsonBody::new).collect();
            let req = self.client.bulk(BulkParts::Index(&self.alias)).body(lines);
            parse_bulk_response(&checked(req.refresh(Refresh::WaitFor).send()).await?)?;
        }
        Ok(())
    }

    pub(super) async fn delete(&self, id: i64) -> Result<(), SearchError> {
        let id = id.to_string();
        let req = self.client.delete(DeleteParts::IndexId(&self.alias, &id));
        let (status, text) = read(req.refresh(Refresh::WaitFor).send()).await?;
        delete_outcome(status, &text)
    }

    pub(super) async fn search(&self, q: &NormalizedQuery) -> Result<SearchResults, SearchError> {
        let names = [self.alias.as_str()];
        let req = self.client.search(SearchParts::Index(&names));
        parse_search_response(&checked(req.body(search_body(q)).send()).await?)
    }

    pub(super) async fn doc_count(&self) -> Result<u64, SearchError> {
        let body = checked(self.client.count(CountParts::Index(&[&self.alias])).send()).await?;
        body["count"]
            .as_u64()
            .ok_or_else(|| SearchError::Protocol("count response without count".into()))
    }

    pub(super) async fn ready(&self) -> Result<(), SearchError> {
        if self.alias_exists().await? {
            Ok(())
        } else {
            Err(SearchError::Elasticsearch {
                status: 404,
                kind: "index_not_found_exception".into(),
                reason: format!("no such index or alias [{}]", self.alias),
            })
        }
    }

    /// Fills a new concrete index, then atomically moves the alias to it and drops the old one.
    /// Writes made through the alias while this runs land in the old index and are lost.
    pub(super) async fn rebuild(&self, docs: &[QuestionDoc]) -> Result<(), SearchError> {
        let new_index = versioned_name(&self.alias);
        let indices = self.client.indices();
        let create = indices.create(IndicesCreateParts::Index(&new_index));
        checked(create.body(index_definition(None)).send()).await?;
        let result = self.fill_and_swap(&new_index, docs).await;
        if result.is_err() {
            let names = [new_index.as_str()];
            if let Err(e) = checked(indices.delete(IndicesDeleteParts::Index(&names)).send()).await
            {
                tracing::warn!(index = %new_index, error = %e, "could not drop half-built index");
            }
        }
        result
    }

    async fn fill_and_swap(
        &self,
        new_index: &str,
        docs: &[QuestionDoc],
    ) -> Result<(), SearchError> {
        for chunk in docs.chunks(BULK_CHUNK) {
            let lines: Vec<JsonBody<Value>> =
                bulk_lines(chunk).into_iter().map(JsonBody::new).collect();
            let req = self.client.bulk(BulkParts::Index(new_index)).body(lines);
            parse_bulk_response(&checked(req.send()).await?)?;
        }
        let indices = self.client.indices();
        checked(
            indices
                .refresh(IndicesRefreshParts::Index(&[new_index]))
                .send(),
        )
        .await?;

        let (status, text) = read(
            indices
                .get_alias(IndicesGetAliasParts::Name(&[&self.alias]))
                .send(),
        )
        .await?;
        let old = match status {
            200 => parse_alias_indices(&serde_json::from_str(&text).unwrap_or(Value::Null)),
            404 => Vec::new(),
            _ => return Err(error_from_response(status, &text)),
        };
        let concrete = old.is_empty() && self.alias_exists().await?;
        let actions = alias_swap_actions(&self.alias, new_index, &old, concrete);
        checked(indices.update_aliases().body(actions).send()).await?;
        Ok(())
    }
}
