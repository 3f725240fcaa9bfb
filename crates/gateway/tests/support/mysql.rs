//! A fresh database on the test stack's MySQL for one test: created on the primary, waited
//! for on the replica (tests read through it), with the stack's Redis Cluster nodes; the
//! variables come from `scripts/stack env`, and a missing one panics with what to run.

use std::time::Duration;

use sqlx::Connection as _;

/// The stack variable `name`, or a panic that says how to set it.
pub fn env_or_panic(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set: the MySQL tests need the test stack. Run `scripts/stack up` and \
             `eval \"$(scripts/stack env)\"` first (scripts/test does both)."
        ),
    }
}

/// `mysql://u:p@h:port/db?x` -> the same URL with database `db` (the query kept).
pub fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{db}?{q}"),
        None => format!("{host}/{db}"),
    }
}

/// A database made for one test.
pub struct FreshDb {
    /// `DATABASE_URL` as given (to drop the database with).
    pub admin_url: String,
    /// The database's name.
    pub name: String,
    /// The primary's URL with the database.
    pub primary: String,
    /// The replica's URL with the database.
    pub replica: String,
    /// `REDIS_CLUSTER_NODES` as given (comma-separated).
    pub redis: String,
}

impl FreshDb {
    /// Creates a database named `<prefix>_<random>` and waits until it reached the replica.
    pub async fn create(prefix: &str) -> FreshDb {
        let admin_url = env_or_panic("DATABASE_URL");
        let replica = env_or_panic("DATABASE_REPLICA_URL");
        let redis = env_or_panic("REDIS_CLUSTER_NODES");
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::MySqlConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL={admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let replica = with_db(&replica, &name);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while sqlx::MySqlConnection::connect(&replica).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "database {name} never reached the replica"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        FreshDb {
            primary: with_db(&admin_url, &name),
            admin_url,
            name,
            replica,
            redis,
        }
    }

    /// Points `config` at the database (primary and replica) and Redis Cluster, with a small
    /// connection pool (tests run side by side).
    pub fn configure(&self, config: &mut gateway::config::Config) {
        config.database_url = Some(self.primary.clone());
        config.database_replica_url = Some(self.replica.clone());
        config.redis_cluster_nodes = self
            .redis
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        config.db_max_connections = 4;
    }
}

/// Drops a test database (best effort).
pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut c) = sqlx::MySqlConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut c)
            .await;
    }
}
