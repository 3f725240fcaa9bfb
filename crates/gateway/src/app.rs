//! Router assembly and the server loop.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// Every route of the gateway, with metrics, body limit, tracing and panic-catching layers.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(routes::health::router())
        .merge(routes::docs::router())
        .merge(routes::auth::router())
        .merge(routes::users::router())
        .merge(routes::questions::router())
        .merge(routes::search::router())
        .merge(routes::choices::router())
        .merge(routes::practice::router())
        .merge(routes::quizzes::router())
        .merge(routes::reports::router())
        .merge(crate::live::router(state.live.clone()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// A running server: its address and the task serving it.
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Resolves when the server has shut down.
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds `state.config.bind` and serves until `shutdown` resolves (then drains in-flight
/// requests).
pub async fn start(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    crate::metrics::install();
    let listener = TcpListener::bind(state.config.bind).await?;
    let addr = listener.local_addr()?;
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        Ok(())
    });
    Ok(Running { addr, task })
}

/// Connects everything in `config`, syncs the search index if it is empty, and serves until
/// `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::connect(config).await?;
    crate::reindex::ensure_index(&state).await?;
    let running = start(state.clone(), shutdown).await?;
    tracing::info!(addr = %running.addr, "listening");
    println!("gateway listening on http://{}", running.addr);
    println!("  API docs: http://{}/docs", running.addr);
    let r = running.task.await;
    state.db.close().await;
    r?
}
