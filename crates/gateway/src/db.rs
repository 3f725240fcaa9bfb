//! Database access: a primary pool for writes and read-your-own-write reads, a replica pool for
//! lag-tolerant reads.
//!
//! Both pools are `sqlx::AnyPool`, so one set of queries (all in [`crate::store`]) serves
//! MySQL/MariaDB and SQLite. The queries therefore stick to the common subset: `?`
//! placeholders, `BIGINT` integers (booleans are 0/1), `VARCHAR` strings (the Any driver hands
//! MySQL's `TEXT` family over as bytes: the one such column, a checkpoint's `MEDIUMTEXT`
//! document, is read with `store::text_column`), Unix-millisecond timestamps, and no
//! `SUM`/`AVG` (MySQL returns `DECIMAL`, which Any cannot decode) - sums and means are computed
//! in Rust or with `COUNT`.
//!
//! Migrations are embedded twice (`migrations/mysql`, `migrations/sqlite`, same file names) and
//! the one matching the primary's URL scheme runs.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions};

use crate::config::Config;

static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/mysql");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Which SQL dialect the pools speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// MySQL or MariaDB.
    MySql,
    /// SQLite (embedded default).
    Sqlite,
}

/// The two pools. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    primary: AnyPool,
    replica: AnyPool,
    dialect: Dialect,
    has_replica: bool,
}

impl Db {
    /// Connects to the primary and (if configured) the replica.
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let primary_url = config.primary_url();
        let dialect = if primary_url.starts_with("mysql") || primary_url.starts_with("mariadb") {
            Dialect::MySql
        } else if primary_url.starts_with("sqlite") {
            Dialect::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with mysql:// or sqlite://");
        };
        if dialect == Dialect::Sqlite {
            std::fs::create_dir_all(&config.data_dir)?;
        }
        let primary = pool(&primary_url, config.db_max_connections, dialect).await?;
        let (replica, has_replica) = match &config.database_replica_url {
            Some(url) => (pool(url, config.db_max_connections, dialect).await?, true),
            None => (primary.clone(), false),
        };
        Ok(Db {
            primary,
            replica,
            dialect,
            has_replica,
        })
    }

    /// The pool for writes and reads that must see the caller's own writes.
    pub fn primary(&self) -> &AnyPool {
        &self.primary
    }

    /// The pool for reads that tolerate replication lag (lists, search hydration, reports). The
    /// primary when no replica is configured.
    pub fn replica(&self) -> &AnyPool {
        &self.replica
    }

    /// Whether a separate replica is configured.
    pub fn has_replica(&self) -> bool {
        self.has_replica
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies pending migrations on the primary.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let m = match self.dialect {
            Dialect::MySql => &MYSQL_MIGRATIONS,
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
        };
        m.run(&self.primary).await?;
        Ok(())
    }

    /// Fails with what to do when the primary's schema is behind this build (migrations not
    /// applied: a fresh MySQL database, or an upgrade without `gateway migrate`), rather than
    /// letting the first query fail on a missing table.
    pub async fn check_schema(&self) -> anyhow::Result<()> {
        let m = match self.dialect {
            Dialect::MySql => &MYSQL_MIGRATIONS,
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
        };
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.primary)
                .await
            {
                Ok(v) => v,
                // No migrations table: nothing was ever applied.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
        let pending: Vec<String> = m
            .iter()
            .filter(|x| !applied.contains(&x.version))
            .map(|x| format!("{} {}", x.version, x.description))
            .collect();
        anyhow::ensure!(
            pending.is_empty(),
            "the database schema is behind this gateway ({} of {} migrations not applied, first: \
             {}): run `gateway migrate` once, or start with MIGRATE_ON_START=true",
            pending.len(),
            m.iter().count(),
            pending[0]
        );
        Ok(())
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.primary.close().await;
        self.replica.close().await;
    }
}

async fn pool(url: &str, max: u32, dialect: Dialect) -> anyhow::Result<AnyPool> {
    let opts = AnyConnectOptions::from_str(url)?.disable_statement_logging();
    let mut po = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5));
    if dialect == Dialect::Sqlite {
        // One writer at a time anyway; WAL lets readers run alongside it, the busy timeout makes
        // writers wait instead of failing, and foreign keys are off by default in SQLite.
        po = po.after_connect(|conn, _| {
            Box::pin(async move {
                use sqlx::Executor;
                conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                    .await?;
                Ok(())
            })
        });
    }
    Ok(po.connect_with(opts).await?)
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
