//! Router assembly and the server loop.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::server::ServerLimits;
use crate::state::AppState;

/// Every route of the gateway (the API of [`routes::api`], `/docs`, `/openapi.json` and the
/// browser client's pages), with metrics, body limit, problem+json for framework errors,
/// tracing, panic-catching, security headers and (when configured) CORS layers.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let origins = state.config.cors_allowed_origins.clone();
    // The API routes and `/openapi.json` come from one list (see `crate::routes`).
    let (api, _doc) = routes::api().split_for_parts();
    let routes = api
        .merge(routes::docs::router(crate::openapi::json(&state.config)))
        .merge(crate::web::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(
            crate::uniform_errors::problem_json,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .with_state(state);
    crate::browser::layers(routes, &origins)
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

/// Binds `state.config.bind` and serves until `shutdown` resolves, with the connection limits
/// of [`crate::server`]; then stops accepting, hands the live sessions over and stops the live
/// module ([`crate::live::LiveService::shutdown`]) while in-flight requests drain. The task
/// ends when both are done. Fails when the configured connection cap does not fit the
/// descriptor limit.
pub async fn start(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    crate::metrics::install();
    let limits = ServerLimits {
        connections: state.config.connections.clone(),
        max_connections: crate::server::connection_cap(&state.config)?,
        trusted_proxies: state.config.trusted_proxies.clone(),
    };
    let websockets = state
        .config
        .live_tuning
        .ws_connection_bound(limits.max_connections)?;
    state.live.bound_websockets(websockets);
    let listener = crate::server::listen(state.config.bind)?;
    let addr = listener.local_addr()?;
    tracing::info!(
        max_connections = limits.max_connections,
        live_websockets = websockets,
        per_address = limits.connections.max_conns_per_ip,
        header_timeout_ms = limits.connections.header_read_timeout.as_millis() as u64,
        "connection limits"
    );
    let live = state.live.clone();
    let matchmaking = state.matchmaking.clone();
    let app = router(state);
    let task = tokio::spawn(async move {
        // Live sessions are handed over once the listener is closed (so a
        // client told to reconnect is not accepted here again), while the
        // HTTP connections drain.
        let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
        let http = crate::server::serve(listener, app, limits, shutdown, move || {
            let _ = closed_tx.send(());
        });
        let live = async move {
            let _ = closed_rx.await;
            // The queue's lease goes first: another gateway forms matches at once.
            matchmaking.shutdown().await;
            live.shutdown().await;
        };
        tokio::join!(http, live);
        Ok(())
    });
    Ok(Running { addr, task })
}

/// Connects everything in `config`, syncs the search index if it is empty, and serves until
/// `shutdown` resolves; returns once the server and the live module have stopped (see
/// [`start`]) and the database pools are closed.
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
