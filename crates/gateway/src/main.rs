//! `gateway [serve|migrate|reindex]` - see the crate docs for configuration.

use gateway::config::Config;
use gateway::state::AppState;

const USAGE: &str = "usage: gateway [serve|migrate|reindex]

  serve    (default) run the HTTP server on BIND (default 127.0.0.1:8080)
  migrate  apply pending database migrations on the primary and exit
  reindex  rebuild the search index from the database and exit

Configuration comes from environment variables: BIND, DATA_DIR, DATABASE_URL,
DATABASE_REPLICA_URL, REDIS_CLUSTER_NODES, ELASTICSEARCH_URL, TOKEN_TTL, ADMIN_USERNAME, ...";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tantivy=warn".into()),
        )
        .init();
    let cmd = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let config = Config::from_env()?;
    match cmd.as_str() {
        "serve" => gateway::app::serve(config, shutdown_signal()).await,
        "migrate" => {
            let db = gateway::db::Db::connect(&config).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        "reindex" => {
            let mut config = config;
            config.migrate_on_start = Some(false);
            let state = AppState::connect(config).await?;
            let n = gateway::reindex::reindex_all(&state).await?;
            println!(
                "reindexed {n} questions into {}",
                state.search.backend_name()
            );
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
