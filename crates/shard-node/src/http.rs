//! The node's small HTTP side (axum), on its own port: `/metrics` (Prometheus text),
//! `/healthz` (the process is up) and `/readyz` (every hosted group has a leader this node knows
//! of, so client requests can make progress; 503 otherwise).

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::error::{Error, Result};
use crate::publish::PublishStats;
use crate::router::Router;

#[derive(Clone)]
struct AppState {
    router: Arc<Router>,
    publish: Option<Arc<PublishStats>>,
}

/// The HTTP routes.
pub fn routes(router: Arc<Router>, publish: Option<Arc<PublishStats>>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(AppState { router, publish })
}

async fn metrics(State(s): State<AppState>) -> axum::response::Response {
    // Rendering reads each group's op-id memory under its state lock, which an `apply` batch
    // holds while it runs: off the async workers, like the state machine's other waits.
    let body = tokio::task::spawn_blocking(move || {
        crate::metrics::render(&s.router, s.publish.as_deref())
    })
    .await;
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("rendering metrics failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn ready(State(s): State<AppState>) -> impl IntoResponse {
    let groups = s.router.groups();
    let waiting: Vec<String> = groups
        .iter()
        .map(|g| s.router.status(g))
        .filter(|st| st.leader.is_none())
        .map(|st| st.group.to_string())
        .collect();
    if groups.is_empty() || !waiting.is_empty() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no leader yet for group(s) {}\n", waiting.join(",")),
        )
    } else {
        (StatusCode::OK, "ready\n".to_string())
    }
}

/// Serves the routes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    publish: Option<Arc<PublishStats>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, routes(router, publish))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Io(format!("http server: {e}")))
}
