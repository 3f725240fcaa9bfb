//! Pure request-body builders and response parsers for the Elasticsearch backend, unit-tested
//! without a server in `elastic_tests.rs`.

use serde_json::{json, Value};

use super::{NormalizedQuery, QuestionDoc, SearchError, SearchHit, SearchResults};

/// Searched fields with boosts (text highest), mirrored by the tantivy backend.
const FIELDS: [&str; 5] = [
    "text^3",
    "choices^1.5",
    "tags^1.5",
    "topic^1.2",
    "explanation",
];

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
    if !q.exclude.is_empty() {
        body["query"]["bool"]["must_not"] = json!([{ "terms": { "id": q.exclude } }]);
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
