//! Unit tests of the Elasticsearch request bodies and response parsing (no server needed).

use serde_json::{json, Value};

use super::elastic_json::*;
use super::*;

fn normalized(
    q: &str,
    topic: Option<&str>,
    tags: &[&str],
    limit: usize,
    offset: usize,
) -> NormalizedQuery {
    NormalizedQuery::from_query(&SearchQuery {
        q: q.to_string(),
        topic: topic.map(str::to_string),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        limit,
        offset,
    })
}

#[test]
fn index_definition_has_folding_analyzer_and_keyword_filters() {
    let def = index_definition(Some("questions"));
    let analyzer = &def["settings"]["analysis"]["analyzer"]["folding"];
    assert_eq!(analyzer["tokenizer"], "standard");
    assert_eq!(analyzer["filter"], json!(["lowercase", "asciifolding"]));
    assert_eq!(
        def["settings"]["analysis"]["normalizer"]["lowercase_kw"]["filter"],
        json!(["lowercase"])
    );
    let props = &def["mappings"]["properties"];
    for field in ["text", "choices", "explanation", "topic", "tags"] {
        assert_eq!(props[field]["type"], "text", "{field}");
        assert_eq!(props[field]["analyzer"], "folding", "{field}");
    }
    for field in ["topic", "tags"] {
        assert_eq!(props[field]["fields"]["kw"]["type"], "keyword");
        assert_eq!(props[field]["fields"]["kw"]["normalizer"], "lowercase_kw");
    }
    assert_eq!(props["id"]["type"], "long");
    assert_eq!(
        def["aliases"],
        json!({ "questions": { "is_write_index": true } })
    );
    assert!(index_definition(None).get("aliases").is_none());
}

#[test]
fn search_body_for_text_with_filters() {
    let body = search_body(&normalized(
        "  Pythn GIL ",
        Some(" Programming"),
        &["Python", "python", "Async"],
        10,
        20,
    ));
    let fields = json!([
        "text^3",
        "choices^1.5",
        "tags^1.5",
        "topic^1.2",
        "explanation"
    ]);
    let expected = json!({
        "from": 20,
        "size": 10,
        "track_total_hits": true,
        "_source": false,
        "query": { "bool": {
            "should": [
                { "multi_match": { "query": "Pythn GIL", "fields": fields, "type": "best_fields",
                                   "fuzziness": "AUTO:4,8", "fuzzy_transpositions": true } },
                { "multi_match": { "query": "Pythn GIL", "fields": fields, "type": "best_fields",
                                   "boost": 2.0 } },
                { "multi_match": { "query": "Pythn GIL", "fields": fields, "type": "bool_prefix",
                                   "boost": 0.5 } }
            ],
            "minimum_should_match": 1,
            "filter": [
                { "term": { "topic.kw": "programming" } },
                { "term": { "tags.kw": "python" } },
                { "term": { "tags.kw": "async" } }
            ]
        } },
        "sort": [{ "_score": "desc" }, { "id": "desc" }]
    });
    assert_eq!(body, expected);
}

#[test]
fn search_body_without_text_is_a_sorted_filter_listing() {
    let body = search_body(&normalized("!!! ???", None, &["rust"], 5, 0));
    assert_eq!(
        body["query"],
        json!({ "bool": { "filter": [{ "term": { "tags.kw": "rust" } }] } })
    );
    assert_eq!(body["sort"], json!([{ "id": "desc" }]));
    let all = search_body(&normalized("", None, &[], 5, 0));
    assert_eq!(all["query"], json!({ "bool": { "filter": [] } }));
}

#[test]
fn search_body_keeps_paging_inside_result_window() {
    let page = |limit, offset| {
        let b = search_body(&normalized("q", None, &[], limit, offset));
        (b["from"].as_u64().unwrap(), b["size"].as_u64().unwrap())
    };
    assert_eq!(page(1000, 0), (0, 100));
    assert_eq!(page(100, 9_950), (9_950, 50));
    assert_eq!(page(100, usize::MAX), (10_000, 0));
    assert_eq!(page(0, 0), (0, 0));
}

#[test]
fn search_body_escapes_nothing_and_passes_text_as_plain_query() {
    // Query-string syntax is irrelevant to multi_match; quotes stay plain JSON text. Words with
    // no letter or digit (the lone `{`) are dropped by normalization, as documented in mod.rs.
    let body = search_body(&normalized("title:\"x\" AND {", None, &[], 1, 0));
    assert_eq!(
        body["query"]["bool"]["should"][0]["multi_match"]["query"],
        "title:\"x\" AND"
    );
    let round_trip: Value = serde_json::from_str(&body.to_string()).unwrap();
    assert_eq!(round_trip, body);
}

#[test]
fn documents_and_bulk_lines() {
    let doc = QuestionDoc {
        id: 42,
        text: "Q?".into(),
        choices: vec!["a".into(), "b".into()],
        topic: "T".into(),
        tags: vec!["x".into()],
        difficulty: "hard".into(),
        explanation: "because".into(),
    };
    let source = json!({ "id": 42, "text": "Q?", "choices": ["a", "b"], "topic": "T",
                         "tags": ["x"], "difficulty": "hard", "explanation": "because" });
    assert_eq!(doc_source(&doc), source);
    let mut second = doc.clone();
    second.id = -7;
    let lines = bulk_lines(&[doc, second]);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], json!({ "index": { "_id": "42" } }));
    assert_eq!(lines[1], source);
    assert_eq!(lines[2], json!({ "index": { "_id": "-7" } }));
    assert!(bulk_lines(&[]).is_empty());
}

#[test]
fn alias_swap_actions_variants() {
    let add = json!({ "add": { "index": "q-v2", "alias": "q", "is_write_index": true } });
    assert_eq!(
        alias_swap_actions("q", "q-v2", &[], false),
        json!({ "actions": [add] })
    );
    assert_eq!(
        alias_swap_actions("q", "q-v2", &["q-v1".into(), "q-v2".into()], false),
        json!({ "actions": [add, { "remove_index": { "index": "q-v1" } }] })
    );
    assert_eq!(
        alias_swap_actions("q", "q-v2", &[], true),
        json!({ "actions": [{ "remove_index": { "index": "q" } }, add] })
    );
}

#[test]
fn parses_search_responses() {
    let body = json!({
        "took": 3, "timed_out": false,
        "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 },
        "hits": {
            "total": { "value": 57, "relation": "eq" },
            "max_score": 7.5,
            "hits": [
                { "_index": "q-v1", "_id": "12", "_score": 7.5, "sort": [7.5, 12] },
                { "_index": "q-v1", "_id": "3", "_score": 1.25, "sort": [1.25, 3] },
                { "_index": "q-v1", "_id": "4", "_score": null, "sort": [4] }
            ]
        }
    });
    let r = parse_search_response(&body).unwrap();
    assert_eq!(r.total, 57);
    let got: Vec<(i64, f32)> = r.hits.iter().map(|h| (h.id, h.score)).collect();
    assert_eq!(got, vec![(12, 7.5), (3, 1.25), (4, 0.0)]);

    // rest_total_hits_as_int style and empty pages.
    let legacy = json!({ "hits": { "total": 2, "hits": [] } });
    assert_eq!(
        parse_search_response(&legacy).unwrap(),
        SearchResults {
            total: 2,
            hits: vec![]
        }
    );

    let bad_id =
        json!({ "hits": { "total": { "value": 1 }, "hits": [{ "_id": "abc", "_score": 1.0 }] } });
    assert!(matches!(
        parse_search_response(&bad_id),
        Err(SearchError::Protocol(_))
    ));
    assert!(matches!(
        parse_search_response(&json!({})),
        Err(SearchError::Protocol(_))
    ));
    let no_hits = json!({ "hits": { "total": { "value": 1 } } });
    assert!(matches!(
        parse_search_response(&no_hits),
        Err(SearchError::Protocol(_))
    ));
}

#[test]
fn maps_error_responses() {
    let not_found = r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [q]"}],
        "type":"index_not_found_exception","reason":"no such index [q]","index":"q"},"status":404}"#;
    match error_from_response(404, not_found) {
        SearchError::Elasticsearch {
            status,
            kind,
            reason,
        } => {
            assert_eq!(
                (status, kind.as_str(), reason.as_str()),
                (404, "index_not_found_exception", "no such index [q]")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let bad_query = r#"{"error":{"root_cause":[{"type":"parsing_exception","reason":"unknown query [x]"}],
        "type":"x_content_parse_exception"},"status":400}"#;
    let e = error_from_response(400, bad_query);
    assert!(e.to_string().contains("unknown query [x]"), "{e}");
    assert!(!e.is_retryable());

    let rejected = r#"{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"},"status":429}"#;
    assert!(error_from_response(429, rejected).is_retryable());
    let alias_missing = r#"{"error":"alias [q] missing","status":404}"#;
    assert!(error_from_response(404, alias_missing)
        .to_string()
        .contains("alias [q] missing"));

    let proxy = error_from_response(502, "<html><body>Bad Gateway</body></html>");
    assert!(proxy.is_retryable());
    assert!(proxy.to_string().contains("Bad Gateway"));
    assert!(error_from_response(503, "")
        .to_string()
        .contains("empty body"));
    let huge = "x".repeat(100_000);
    assert!(error_from_response(500, &huge).to_string().len() < 400);
}

#[test]
fn delete_outcomes() {
    assert!(delete_outcome(200, r#"{"result":"deleted"}"#).is_ok());
    assert!(delete_outcome(404, r#"{"_index":"q-v1","_id":"9","result":"not_found"}"#).is_ok());
    let missing_index = r#"{"error":{"type":"index_not_found_exception","reason":"no such index [q]"},"status":404}"#;
    assert!(matches!(
        delete_outcome(404, missing_index),
        Err(SearchError::Elasticsearch { status: 404, .. })
    ));
    assert!(delete_outcome(500, "oops").is_err());
}

#[test]
fn parses_bulk_and_alias_responses() {
    assert!(parse_bulk_response(&json!({ "took": 5, "errors": false, "items": [] })).is_ok());
    let failed = json!({
        "took": 5, "errors": true,
        "items": [
            { "index": { "_index": "q-v2", "_id": "1", "status": 201, "result": "created" } },
            { "index": { "_index": "q-v2", "_id": "2", "status": 400, "error": {
                "type": "document_parsing_exception", "reason": "failed to parse field [id]" } } }
        ]
    });
    match parse_bulk_response(&failed) {
        Err(SearchError::Elasticsearch {
            status,
            kind,
            reason,
        }) => {
            assert_eq!((status, kind.as_str()), (400, "document_parsing_exception"));
            assert!(reason.starts_with("1 of 2 bulk items failed"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let aliases = json!({ "q-v1": { "aliases": { "q": {} } }, "q-v0": { "aliases": { "q": {} } } });
    let mut names = parse_alias_indices(&aliases);
    names.sort();
    assert_eq!(names, vec!["q-v0".to_string(), "q-v1".to_string()]);
    assert!(parse_alias_indices(&Value::Null).is_empty());
}

#[test]
fn search_body_leaves_excluded_ids_out_with_and_without_text() {
    for text in ["gil", ""] {
        let mut q = normalized(text, None, &[], 5, 0);
        q.exclude = vec![7, 9];
        let body = search_body(&q);
        assert_eq!(
            body["query"]["bool"]["must_not"],
            json!([{ "terms": { "id": [7, 9] } }]),
            "text {text:?}"
        );
    }
    let plain = search_body(&normalized("gil", None, &[], 5, 0));
    assert!(plain["query"]["bool"].get("must_not").is_none());
}
