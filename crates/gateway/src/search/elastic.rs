//! Elasticsearch backend.
//!
//! The configured index name is an alias over a versioned concrete index (`<name>-v<millis>`),
//! so [`ElasticBackend::rebuild`] can fill a fresh index and swap the alias atomically.
//! Request bodies are built and responses parsed by the pure `pub(super)` functions below
//! (unit-tested in `elastic_tests.rs`); the async methods only move them over the wire.

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
use serde_json::{json, Value};

use super::{NormalizedQuery, QuestionDoc, SearchError, SearchHit, SearchResults};

/// Whole-request timeout (connect included); bulk chunks are small enough to fit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Documents per bulk request during a rebuild.
const BULK_CHUNK: usize = 500;
/// Searched fields with boosts (text highest), mirrored by the tantivy backend.
const FIELDS: [&str; 5] = [
    "text^3",
    "choices^1.5",
    "tags^1.5",
    "topic^1.2",
    "explanation",
];

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

/// Index settings and mappings: a lowercase + asciifolding analyzer for the searched text and
/// lowercase-normalized `kw` keyword sub-fields for the topic/tags filters.
pub(super) fn index_definition(alias: Option<&str>) -> Value {
    let text = json!({ "type": "text", "analyzer": "folding" });
    let text_with_kw = json!({
        "type": "text",
        "analyzer": "folding",
        "fields": { "kw": { "type": "keyword", "normalizer": "lowercase_kw", "ignore_above": 256 } }
    });
    let mut def = json!({
        "settings": { "analysis": {
            "analyzer": { "folding": {
                "type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]
            } },
            "normalizer": { "lowercase_kw": { "type": "custom", "filter": ["lowercase"] } }
        } },
        "mappings": { "dynamic": false, "properties": {
            "id": { "type": "long" },
            "text": text.clone(),
            "choices": text.clone(),
            "explanation": text,
            "topic": text_with_kw.clone(),
            "tags": text_with_kw,
            "difficulty": { "type": "keyword" }
        } }
    });
    if let Some(alias) = alias {
        def["aliases"] = json!({ alias: { "is_write_index": true } });
    }
    def
}

/// The `_source` stored for a question.
pub(super) fn doc_source(doc: &QuestionDoc) -> Value {
    json!({
        "id": doc.id,
        "text": doc.text,
        "choices": doc.choices,
        "topic": doc.topic,
        "tags": doc.tags,
        "difficulty": doc.difficulty,
        "explanation": doc.explanation,
    })
}

/// Search request body: fuzzy + exact (boosted) + last-word-prefix `multi_match` clauses, any
/// of which must match, with `term` filters on the keyword sub-fields; or a filter-only listing
/// sorted by id when there is no text.
pub(super) fn search_body(q: &NormalizedQuery) -> Value {
    let mut filters: Vec<Value> = Vec::new();
    if let Some(topic) = &q.topic {
        filters.push(json!({ "term": { "topic.kw": topic } }));
    }
    for tag in &q.tags {
        filters.push(json!({ "term": { "tags.kw": tag } }));
    }
    // Keep from + size within the default index.max_result_window (10 000).
    let from = q.offset.min(super::MAX_OFFSET);
    let size = q.limit.min(super::MAX_OFFSET - from);
    let mut body =
        json!({ "from": from, "size": size, "track_total_hits": true, "_source": false });
    if q.text.is_empty() {
        body["query"] = json!({ "bool": { "filter": filters } });
        body["sort"] = json!([{ "id": "desc" }]);
    } else {
        let fuzzy = json!({ "multi_match": {
            "query": q.text, "fields": FIELDS, "type": "best_fields",
            "fuzziness": "AUTO:4,8", "fuzzy_transpositions": true
        } });
        let exact = json!({ "multi_match": {
            "query": q.text, "fields": FIELDS, "type": "best_fields", "boost": 2.0
        } });
        let prefix = json!({ "multi_match": {
            "query": q.text, "fields": FIELDS, "type": "bool_prefix", "boost": 0.5
        } });
        body["query"] = json!({ "bool": {
            "should": [fuzzy, exact, prefix],
            "minimum_should_match": 1,
            "filter": filters
        } });
        body["sort"] = json!([{ "_score": "desc" }, { "id": "desc" }]);
    }
    body
}

/// NDJSON lines for a bulk index request (index name given in the URL).
pub(super) fn bulk_lines(docs: &[QuestionDoc]) -> Vec<Value> {
    docs.iter()
        .flat_map(|d| {
            [
                json!({ "index": { "_id": d.id.to_string() } }),
                doc_source(d),
            ]
        })
        .collect()
}

/// `_aliases` actions that point `alias` at `new_index` only, deleting the indices it pointed
/// at before, or the concrete index named like the alias, in the same atomic step.
pub(super) fn alias_swap_actions(
    alias: &str,
    new_index: &str,
    old_indices: &[String],
    alias_is_concrete_index: bool,
) -> Value {
    let mut actions: Vec<Value> = Vec::new();
    if alias_is_concrete_index {
        actions.push(json!({ "remove_index": { "index": alias } }));
    }
    actions.push(json!({ "add": { "index": new_index, "alias": alias, "is_write_index": true } }));
    for old in old_indices.iter().filter(|o| *o != new_index) {
        actions.push(json!({ "remove_index": { "index": old } }));
    }
    json!({ "actions": actions })
}

/// Parses a `_search` response (`hits.total.value`, `_id`, `_score`).
pub(super) fn parse_search_response(body: &Value) -> Result<SearchResults, SearchError> {
    let hits = &body["hits"];
    let total = hits["total"]["value"]
        .as_u64()
        .or_else(|| hits["total"].as_u64())
        .ok_or_else(|| SearchError::Protocol("search response without hits.total".into()))?;
    let list = hits["hits"]
        .as_array()
        .ok_or_else(|| SearchError::Protocol("search response without hits.hits".into()))?;
    let hits = list
        .iter()
        .map(|h| {
            let id = h["_id"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| SearchError::Protocol(format!("hit with bad _id: {}", h["_id"])))?;
            let score = h["_score"].as_f64().unwrap_or(0.0) as f32;
            Ok(SearchHit { id, score })
        })
        .collect::<Result<Vec<_>, SearchError>>()?;
    Ok(SearchResults {
        total: usize::try_from(total).unwrap_or(usize::MAX),
        hits,
    })
}

/// Fails with the first item error of a `_bulk` response that has `errors: true`.
pub(super) fn parse_bulk_response(body: &Value) -> Result<(), SearchError> {
    if body["errors"].as_bool() != Some(true) {
        return Ok(());
    }
    let items = body["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let failed: Vec<&Value> = items
        .iter()
        .filter_map(|i| i.as_object()?.values().next())
        .filter(|r| r.get("error").is_some())
        .collect();
    let first = failed.first().copied().unwrap_or(&Value::Null);
    let status = first["status"].as_u64().unwrap_or(500) as u16;
    let (kind, reason) = error_parts(&first["error"]);
    Err(SearchError::Elasticsearch {
        status,
        kind,
        reason: format!(
            "{} of {} bulk items failed; first: {reason}",
            failed.len(),
            items.len()
        ),
    })
}

/// Concrete index names from a `GET _alias/<name>` response.
pub(super) fn parse_alias_indices(body: &Value) -> Vec<String> {
    body.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Outcome of a single-document delete: a missing document is not an error.
pub(super) fn delete_outcome(status: u16, text: &str) -> Result<(), SearchError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if status == 404 && body["result"] == "not_found" {
        return Ok(());
    }
    Err(error_from_response(status, text))
}

fn error_parts(error: &Value) -> (String, String) {
    match error {
        Value::Object(_) => {
            let kind = error["type"]
                .as_str()
                .unwrap_or("unknown_error")
                .to_string();
            let reason = error["reason"]
                .as_str()
                .or_else(|| error["root_cause"][0]["reason"].as_str())
                .unwrap_or("no reason given")
                .to_string();
            (kind, reason)
        }
        Value::String(s) => ("error".to_string(), s.clone()),
        _ => ("unknown_error".to_string(), "no reason given".to_string()),
    }
}

/// Maps an error status and body (JSON or not) to a [`SearchError::Elasticsearch`].
pub(super) fn error_from_response(status: u16, text: &str) -> SearchError {
    let (kind, reason) = match serde_json::from_str::<Value>(text) {
        Ok(body) if !body["error"].is_null() => error_parts(&body["error"]),
        _ => {
            let snippet: String = text.trim().chars().take(200).collect();
            let reason = if snippet.is_empty() {
                "empty body".to_string()
            } else {
                snippet
            };
            ("http_error".to_string(), reason)
        }
    };
    SearchError::Elasticsearch {
        status,
        kind,
        reason,
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
