//! `gateway [serve|migrate|reindex|admin create]` - see the crate docs for configuration.

use gateway::config::Config;
use gateway::state::AppState;

const USAGE: &str = "usage: gateway [serve|migrate|reindex|admin create [USERNAME] [--promote]]

  serve    (default) run the HTTP server on BIND (default 127.0.0.1:8080)
  migrate  apply pending database migrations on the primary and exit
  reindex  rebuild the search index from the database and exit
  admin create [USERNAME] [--promote]
           create USERNAME (default: ADMIN_USERNAME) as an admin, with the password from
           ADMIN_PASSWORD or else standard input; an existing account is made admin (and
           gets that password) only with --promote

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
        "admin" => admin(config, std::env::args().skip(2).collect()).await,
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

/// `gateway admin create [USERNAME] [--promote]`: the operator's way to make an admin (the
/// only one when `ADMIN_USERNAME` is set). Usage errors exit 2, refusals 1.
async fn admin(config: Config, args: Vec<String>) -> anyhow::Result<()> {
    let usage = |msg: &str| -> ! {
        eprintln!("{msg}\n\n{USAGE}");
        std::process::exit(2);
    };
    let (mut username, mut promote) = (None, false);
    let mut args = args.into_iter();
    if args.next().as_deref() != Some("create") {
        usage("gateway admin: the only subcommand is `create`");
    }
    for a in args {
        match a.as_str() {
            "--promote" => promote = true,
            s if s.starts_with('-') => {
                usage(&format!("gateway admin create: unknown option {s:?}"))
            }
            s if username.is_none() => username = Some(s.to_string()),
            s => usage(&format!("gateway admin create: unexpected argument {s:?}")),
        }
    }
    let Some(username) = username.or_else(|| config.admin_username.clone()) else {
        usage("gateway admin create: name the user, or set ADMIN_USERNAME");
    };
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => read_password()?,
    };
    let db = gateway::db::Db::connect(&config).await?;
    if config.should_migrate_on_start() {
        db.migrate().await?;
    } else {
        db.check_schema().await?;
    }
    let passwords = gateway::auth::password::Passwords::new(&config).await?;
    let done =
        gateway::auth::admin::create_admin(&db, &passwords, &username, password, promote).await;
    db.close().await;
    match done {
        Ok(gateway::auth::admin::AdminCreated::Created(u)) => {
            println!("created admin {:?} (id {})", u.username, u.id);
            Ok(())
        }
        Ok(gateway::auth::admin::AdminCreated::Promoted(u)) => {
            println!(
                "{:?} (id {}) is now an admin, with the new password",
                u.username, u.id
            );
            Ok(())
        }
        Err(e) => {
            eprintln!("gateway admin create: {e:#}");
            std::process::exit(1);
        }
    }
}

/// The first line of standard input (without its line ending), asking for it on a terminal.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for the admin (echoed; or set ADMIN_PASSWORD): ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
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
