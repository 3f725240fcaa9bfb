//! `/healthz` (liveness), `/readyz` (dependencies) and `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use livequiz_sdk::types::{Check, Health, Readiness};
use redis::AsyncCommands as _;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

async fn with_timeout(
    f: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    match tokio::time::timeout(std::time::Duration::from_secs(3), f).await {
        Ok(r) => r,
        Err(_) => Err("timed out after 3s".to_string()),
    }
}

fn check(name: &str, r: Result<(), String>) -> Check {
    Check {
        name: name.into(),
        ok: r.is_ok(),
        error: r.err(),
    }
}

async fn ping_db(pool: &sqlx::AnyPool) -> Result<(), String> {
    crate::store::ping(pool).await.map_err(|e| e.to_string())
}

/// Readiness: database primary and replica, Redis (when configured) and the search index.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = Readiness, description = "ready"),
    (status = 503, body = Readiness, description = "a dependency failed")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut checks = vec![
        check(
            "db_primary",
            with_timeout(ping_db(state.db.primary())).await,
        ),
        check(
            "db_replica",
            with_timeout(ping_db(state.db.replica())).await,
        ),
    ];
    if let Some(c) = &state.redis {
        let mut c = c.clone();
        let r = async move {
            let _: bool = c.exists("readyz:probe").await.map_err(|e| e.to_string())?;
            Ok(())
        };
        checks.push(check("redis", with_timeout(r).await));
    }
    let search = state.search.clone();
    let r = async move { search.ready().await.map_err(|e| e.to_string()) };
    checks.push(check("search", with_timeout(r).await));
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, checks }))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
}
