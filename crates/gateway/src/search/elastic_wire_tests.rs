//! Tests of the Elasticsearch I/O paths against a scripted fake HTTP server (no real cluster:
//! these check which requests the official client sends and how answers are mapped, not
//! Elasticsearch's own behaviour).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Path and query string.
    target: String,
    /// Raw request head (request line and headers).
    head: String,
    body: String,
}

type Responder = dyn Fn(&Request) -> (u16, String) + Send + Sync;

struct FakeEs {
    url: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl FakeEs {
    async fn start(respond: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let task_log = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&respond), Arc::clone(&task_log)));
            }
        });
        FakeEs { url, log }
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

/// Minimal HTTP/1.1 keep-alive loop: Content-Length bodies only (what the client sends).
async fn serve(mut stream: TcpStream, respond: Arc<Responder>, log: Arc<Mutex<Vec<Request>>>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let header_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let mut parts = head.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[header_end..header_end + length]).to_string();
        buf.drain(..header_end + length);
        let request = Request {
            method,
            target,
            head,
            body,
        };
        let (status, reply) = respond(&request);
        let is_head = request.method == "HEAD";
        log.lock().unwrap().push(request);
        let payload = if is_head { "" } else { reply.as_str() };
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
            payload.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn path(r: &Request) -> &str {
    r.target.split('?').next().unwrap_or_default()
}

fn ok(v: Value) -> (u16, String) {
    (200, v.to_string())
}

fn question(id: i64, text: &str) -> QuestionDoc {
    QuestionDoc {
        id,
        text: text.into(),
        choices: vec!["a".into()],
        topic: "Topic".into(),
        tags: vec!["tag".into()],
        difficulty: "easy".into(),
        explanation: "e".into(),
    }
}

#[tokio::test]
async fn connect_creates_missing_index_with_alias() {
    let es = FakeEs::start(|r| match (r.method.as_str(), path(r)) {
        ("HEAD", "/questions") => (404, String::new()),
        ("PUT", p) if p.starts_with("/questions-v") => ok(json!({ "acknowledged": true })),
        _ => (500, "unexpected".into()),
    })
    .await;
    let index = SearchIndex::connect_elasticsearch(&es.url, "questions")
        .await
        .unwrap();
    assert_eq!(index.backend_name(), "elasticsearch");
    let reqs = es.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let created: Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(created, elastic_json::index_definition(Some("questions")));
}

#[tokio::test]
async fn existing_index_document_writes_and_search() {
    let es = FakeEs::start(|r| match (r.method.as_str(), path(r)) {
        ("HEAD", "/questions") => (200, String::new()),
        (_, "/questions/_doc/5") if r.method != "DELETE" => {
            (201, json!({ "result": "created" }).to_string())
        }
        ("DELETE", "/questions/_doc/5") => ok(json!({ "result": "deleted" })),
        ("DELETE", "/questions/_doc/6") => (404, json!({ "result": "not_found" }).to_string()),
        (_, "/questions/_search") => ok(json!({ "hits": {
            "total": { "value": 3, "relation": "eq" },
            "hits": [{ "_id": "5", "_score": 2.5 }, { "_id": "9", "_score": 1.0 }]
        } })),
        (_, "/questions/_count") => ok(json!({ "count": 3 })),
        _ => (500, "unexpected".into()),
    })
    .await;
    let index = SearchIndex::connect_elasticsearch(&es.url, "questions")
        .await
        .unwrap();
    index.ready().await.unwrap();
    index.upsert(question(5, "What is Rust?")).await.unwrap();
    index.delete(5).await.unwrap();
    index.delete(6).await.unwrap();
    let q = SearchQuery {
        q: "rust".into(),
        topic: Some("Topic".into()),
        ..SearchQuery::default()
    };
    let r = index.search(&q).await.unwrap();
    assert_eq!((r.total, r.hits.len(), r.hits[0].id), (3, 2, 5));
    assert_eq!(index.doc_count().await.unwrap(), 3);

    let reqs = es.requests();
    let upsert = reqs
        .iter()
        .find(|r| path(r) == "/questions/_doc/5" && r.method != "DELETE")
        .unwrap();
    assert!(
        upsert.target.contains("refresh=wait_for"),
        "{}",
        upsert.target
    );
    let sent: Value = serde_json::from_str(&upsert.body).unwrap();
    assert_eq!(
        sent,
        elastic_json::doc_source(&question(5, "What is Rust?"))
    );
    let delete = reqs.iter().find(|r| r.method == "DELETE").unwrap();
    assert!(delete.target.contains("refresh=wait_for"));
    let search = reqs
        .iter()
        .find(|r| path(r) == "/questions/_search")
        .unwrap();
    let body: Value = serde_json::from_str(&search.body).unwrap();
    assert_eq!(
        body,
        elastic_json::search_body(&NormalizedQuery::from_query(&q))
    );
}

#[tokio::test]
async fn error_statuses_are_mapped() {
    let es = FakeEs::start(|r| match (r.method.as_str(), path(r)) {
        ("HEAD", "/questions") => (200, String::new()),
        (_, "/questions/_search") => (503, "<html>Service Unavailable</html>".into()),
        (_, "/questions/_doc/1") => (
            400,
            json!({ "error": {
            "type": "document_parsing_exception", "reason": "bad doc" }, "status": 400 })
            .to_string(),
        ),
        _ => (500, "unexpected".into()),
    })
    .await;
    let index = SearchIndex::connect_elasticsearch(&es.url, "questions")
        .await
        .unwrap();
    let e = index.search(&SearchQuery::default()).await.unwrap_err();
    assert!(
        matches!(e, SearchError::Elasticsearch { status: 503, .. }) && e.is_retryable(),
        "{e}"
    );
    let e = index.upsert(question(1, "x")).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("document_parsing_exception: bad doc"),
        "{e}"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn rebuild_fills_new_index_then_swaps_alias() {
    let es = FakeEs::start(|r| match (r.method.as_str(), path(r)) {
        ("HEAD", "/questions") => (200, String::new()),
        ("PUT", p) if p.starts_with("/questions-v") => ok(json!({ "acknowledged": true })),
        ("POST" | "PUT", p) if p.ends_with("/_bulk") => ok(json!({ "errors": false, "items": [] })),
        (_, p) if p.ends_with("/_refresh") => ok(json!({ "_shards": {} })),
        ("GET", "/_alias/questions") => {
            ok(json!({ "questions-v1": { "aliases": { "questions": {} } } }))
        }
        ("POST", "/_aliases") => ok(json!({ "acknowledged": true })),
        _ => (500, "unexpected".into()),
    })
    .await;
    let index = SearchIndex::connect_elasticsearch(&es.url, "questions")
        .await
        .unwrap();
    let docs: Vec<_> = (0..1001).map(|i| question(i, "q")).collect();
    index.rebuild(docs).await.unwrap();

    let reqs = es.requests();
    let new_index = path(&reqs[1]).trim_start_matches('/').to_string();
    assert!(
        new_index.starts_with("questions-v") && reqs[1].method == "PUT",
        "{reqs:?}"
    );
    let created: Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(created, elastic_json::index_definition(None));
    let bulks: Vec<_> = reqs
        .iter()
        .filter(|r| path(r).ends_with("/_bulk"))
        .collect();
    assert_eq!(bulks.len(), 3); // 500 + 500 + 1
    assert!(bulks
        .iter()
        .all(|b| path(b) == format!("/{new_index}/_bulk")));
    assert_eq!(bulks[0].body.lines().count(), 1000);
    assert_eq!(bulks[2].body.lines().count(), 2);
    let swap = reqs.iter().find(|r| path(r) == "/_aliases").unwrap();
    let actions: Value = serde_json::from_str(&swap.body).unwrap();
    assert_eq!(
        actions,
        elastic_json::alias_swap_actions("questions", &new_index, &["questions-v1".into()], false)
    );
}

#[tokio::test]
async fn failed_rebuild_drops_the_half_built_index() {
    let es = FakeEs::start(|r| match (r.method.as_str(), path(r)) {
        ("HEAD", "/questions") => (200, String::new()),
        ("PUT", p) if p.starts_with("/questions-v") => ok(json!({ "acknowledged": true })),
        (_, p) if p.ends_with("/_bulk") => ok(json!({ "errors": true, "items": [
            { "index": { "status": 400, "error": { "type": "mapper_exception", "reason": "no" } } }
        ] })),
        ("DELETE", p) if p.starts_with("/questions-v") => ok(json!({ "acknowledged": true })),
        _ => (500, "unexpected".into()),
    })
    .await;
    let index = SearchIndex::connect_elasticsearch(&es.url, "questions")
        .await
        .unwrap();
    let e = index.rebuild(vec![question(1, "q")]).await.unwrap_err();
    assert!(e.to_string().contains("mapper_exception"), "{e}");
    let reqs = es.requests();
    let last = reqs.last().unwrap();
    assert_eq!(
        (last.method.as_str(), path(last)),
        ("DELETE", path(&reqs[1]))
    );
}

#[tokio::test]
async fn unreachable_or_invalid_configuration_fails_promptly() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let e = SearchIndex::connect_elasticsearch(&format!("http://127.0.0.1:{port}"), "questions")
        .await
        .unwrap_err();
    assert!(
        matches!(e, SearchError::Unavailable(_)) && e.is_retryable(),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let e = SearchIndex::connect_elasticsearch("not a url", "questions")
        .await
        .unwrap_err();
    assert!(matches!(e, SearchError::Config(_)), "{e}");
    for bad in ["", "Questions", "_q"] {
        let e = SearchIndex::connect_elasticsearch("http://127.0.0.1:9200", bad)
            .await
            .unwrap_err();
        assert!(matches!(e, SearchError::Config(_)), "{bad:?}: {e}");
    }
}

#[tokio::test]
async fn credentials_in_url_become_basic_auth_and_stay_out_of_debug() {
    let es = FakeEs::start(|_| (200, String::new())).await;
    let with_auth = es.url.replace("http://", "http://elastic:s3cret@");
    let index = SearchIndex::connect_elasticsearch(&with_auth, "questions")
        .await
        .unwrap();
    assert!(!format!("{index:?}").contains("s3cret"));
    // base64("elastic:s3cret")
    let head = es.requests()[0].head.to_lowercase();
    assert!(
        head.contains("authorization: basic zwxhc3rpyzpzm2nyzxq="),
        "{head}"
    );
}
