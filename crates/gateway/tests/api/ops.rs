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
        assert!(matches!(
            ctx.server.state.tokens,
            gateway::auth::tokens::TokenStore::Redis(_)
        ));
        assert_eq!(names, vec!["db_primary", "db_replica", "redis", "search"]);
    } else {
        assert_eq!(names, vec!["db_primary", "db_replica", "search"]);
    }
    let spec: serde_json::Value = serde_json::from_str(&c.openapi().await.unwrap()).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/v1/auth/register",
        "/v1/questions/{id}",
        "/v1/questions/search",
        "/v1/questions/{id}/choices/{choice_id}",
        "/v1/quizzes/{id}/report",
        "/v1/me/progress",
        "/v1/questions/import",
        "/v1/questions/export",
        "/v1/live/sessions",
        "/v1/live/sessions/{id}/report",
        "/v1/live/sessions/{id}/standings",
        "/v1/live/ws",
    ] {
        assert!(paths.contains_key(p), "missing {p} in openapi");
    }
    assert!(paths["/v1/live/sessions"]["post"]["requestBody"].is_object());
    // Every error body is a problem document, and every operation that takes a bearer token
    // says it may answer 401.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, r) in responses {
                let r = match r["$ref"].as_str() {
                    Some(name) => {
                        &spec["components"]["responses"][name.rsplit('/').next().unwrap()]
                    }
                    None => r,
                };
                let error = status.starts_with('4') || status.starts_with('5');
                let problem = r["content"]["application/problem+json"].is_object();
                if error && !(path == "/readyz" && status == "503") {
                    assert!(problem, "{method} {path} {status} is not problem+json: {r}");
                    assert!(
                        r["content"]["application/json"].is_null(),
                        "{method} {path} {status}"
                    );
                }
            }
            if op["security"].is_array() {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
        }
    }
    for status in ["201", "403", "413", "422"] {
        assert!(
            paths["/v1/questions/import"]["post"]["responses"][status].is_object(),
            "import documents {status}"
        );
    }
    for status in ["200", "403", "404"] {
        assert!(
            paths["/v1/live/sessions/{id}/report"]["get"]["responses"][status].is_object(),
            "report documents {status}"
        );
    }
    assert!(spec["components"]["schemas"]["LiveSessionReport"].is_object());
    assert!(spec["components"]["schemas"]["QuestionInput"].is_object());
    let html = c.docs_html().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    // The requests above are counted by route and status.
    let m = c.metrics().await.unwrap();
    assert!(m.contains("http_requests_total"), "{m}");
    assert!(m.contains("route=\"/healthz\""), "{m}");
    assert!(m.contains("http_request_duration_seconds_bucket"), "{m}");

    // Bad query strings are problem+json 400s.
    let token = ctx.user("opsuser").await;
    let (status, body) = token
        .raw(
            livequiz_sdk::Method::GET,
            "/v1/questions?limit=abc",
            "application/json",
            "",
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid query string"), "{body}");
    // An integer written with a zero fraction is an integer (JSON Schema's rule, which the
    // document's `integer` parameters follow); a real fraction is not.
    for (path, want) in [
        ("/v1/questions?limit=5.0", 200),
        ("/v1/questions?limit=5.5", 400),
        ("/v1/quizzes/999999.0", 404),
        ("/v1/quizzes/7.5", 400),
    ] {
        let (status, body) = token
            .raw(livequiz_sdk::Method::GET, path, "application/json", "")
            .await
            .unwrap();
        assert_eq!(status, want, "{path}: {body}");
    }

    // A failed dependency makes /readyz answer 503 and name it.
    ctx.server.state.db.replica().close().await;
    let (status, body) = c
        .raw(livequiz_sdk::Method::GET, "/readyz", "application/json", "")
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    let r: livequiz_sdk::types::Readiness = serde_json::from_str(&body).unwrap();
    assert!(!r.ready);
    assert!(r
        .checks
        .iter()
        .any(|c| c.name == "db_replica" && !c.ok && c.error.is_some()));
    assert!(
        c.health().await.is_ok(),
        "liveness does not depend on the database"
    );
}
