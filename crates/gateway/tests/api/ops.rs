//! /healthz, /readyz, /metrics, /openapi.json, /docs.

use crate::common::Ctx;

pub async fn scenario(ctx: &Ctx) {
    let c = &ctx.anon;
    assert_eq!(c.health().await.unwrap().status, "ok");
    let r = c.ready().await.unwrap();
    assert!(r.ready, "{r:?}");
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    if ctx.backend == "mysql" {
        // Lag-tolerant reads really go to a separate replica server.
        assert!(ctx.server.state.db.has_replica());
        assert_eq!(names, vec!["db_primary", "db_replica", "redis", "search"]);
    } else {
        assert_eq!(names, vec!["db_primary", "db_replica", "search"]);
    }
    let spec = c.openapi().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/v1/auth/register",
        "/v1/questions/{id}",
        "/v1/questions/search",
        "/v1/questions/{id}/choices/{choice_id}",
        "/v1/quizzes/{id}/report",
        "/v1/me/progress",
    ] {
        assert!(paths.contains_key(p), "missing {p} in openapi");
    }
    assert!(spec["components"]["schemas"]["QuestionInput"].is_object());
    let html = c.docs_html().await.unwrap();
    assert!(html.contains("/v1/questions/search") && html.contains("/openapi.json"));
    // The requests above are counted by route and status.
    let m = c.metrics().await.unwrap();
    assert!(m.contains("http_requests_total"), "{m}");
    assert!(m.contains("route=\"/healthz\""), "{m}");
    assert!(m.contains("http_request_duration_seconds_bucket"), "{m}");
}
