//! Smoke tests of the real-service test stack started by `scripts/stack up`.
//!
//! They prove the two properties every other integration test relies on:
//!
//! * **MariaDB replication**: a row written through sqlx to the primary (`DATABASE_URL`) becomes
//!   readable on the replica (`DATABASE_REPLICA_URL`), the replica replicates with GTID and refuses
//!   writes from the application user (`read_only`).
//! * **Redis Cluster**: the redis crate's async cluster client (`REDIS_CLUSTER_NODES`) writes and reads
//!   keys that live in different hash slots owned by different masters, and runs multi-key operations
//!   on hash-tagged keys that share one slot.
//!
//! A missing variable is a failure, never a skip: run `scripts/test`, or
//! `eval "$(scripts/stack env)"` before `cargo test`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::cluster::ClusterClient;
use redis::AsyncCommands;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Executor, Row};

/// How long a row may take to reach the replica before the test fails. Replication on loopback
/// normally takes milliseconds; the bound only keeps a broken replica from hanging the suite.
const REPLICATION_WAIT: Duration = Duration::from_secs(10);

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => panic!(
            "environment variable {name} is not set: run scripts/test (or eval \"$(scripts/stack env)\")"
        ),
    }
}

/// A name unique to this test run, so parallel or repeated runs never collide.
fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("system clock before 1970")
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000_000)
}

async fn mysql_pool(url_var: &str) -> MySqlPool {
    let url = required_env(url_var);
    MySqlPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot connect to {url_var}={url}: {e} (is the stack up? scripts/stack status)")
        })
}

/// One row of a `SHOW ...` statement as column name -> text value (NULL as "NULL").
fn row_as_text(row: &MySqlRow) -> BTreeMap<String, String> {
    use sqlx::Column;
    row.columns()
        .iter()
        .map(|c| {
            let value = row
                .try_get::<Option<String>, _>(c.ordinal())
                .ok()
                .flatten()
                .or_else(|| {
                    row.try_get::<Option<i64>, _>(c.ordinal())
                        .ok()
                        .flatten()
                        .map(|v| v.to_string())
                })
                .or_else(|| {
                    row.try_get::<Option<u64>, _>(c.ordinal())
                        .ok()
                        .flatten()
                        .map(|v| v.to_string())
                })
                .unwrap_or_else(|| "NULL".to_owned());
            (c.name().to_owned(), value)
        })
        .collect()
}

async fn global_text(pool: &MySqlPool, variable: &str) -> String {
    let sql = format!("SELECT CONVERT(CAST(@@GLOBAL.{variable} AS CHAR) USING utf8mb4)");
    let row = pool
        .fetch_one(sql.as_str())
        .await
        .unwrap_or_else(|e| panic!("reading @@GLOBAL.{variable}: {e}"));
    row.try_get::<Option<String>, _>(0)
        .expect("decode variable")
        .unwrap_or_default()
}

/// A boolean server variable; MariaDB shows them as `1`/`0` or `ON`/`OFF` depending on the variable.
async fn global_flag(pool: &MySqlPool, variable: &str) -> bool {
    match global_text(pool, variable)
        .await
        .to_ascii_uppercase()
        .as_str()
    {
        "1" | "ON" => true,
        "0" | "OFF" => false,
        other => panic!("@@GLOBAL.{variable} is neither on nor off: {other:?}"),
    }
}

#[tokio::test]
async fn mariadb_row_written_to_primary_is_read_from_replica() {
    let primary = mysql_pool("DATABASE_URL").await;
    let replica = mysql_pool("DATABASE_REPLICA_URL").await;

    // The primary writes a binlog with GTIDs in strict mode; the replica is read-only.
    assert!(
        global_flag(&primary, "log_bin").await,
        "primary must have log_bin on"
    );
    assert!(
        global_flag(&primary, "gtid_strict_mode").await,
        "primary must run with gtid_strict_mode"
    );
    assert!(
        !global_flag(&primary, "read_only").await,
        "primary must be writable"
    );
    assert!(
        global_flag(&replica, "read_only").await,
        "replica must be read_only"
    );

    // The replica is replicating from the primary with GTID.
    let status = replica
        .fetch_optional("SHOW SLAVE STATUS")
        .await
        .expect("SHOW SLAVE STATUS on the replica")
        .map(|row| row_as_text(&row))
        .expect("the replica has no replication configured (SHOW SLAVE STATUS is empty)");
    let field = |name: &str| status.get(name).cloned().unwrap_or_default();
    assert_eq!(
        field("Slave_IO_Running"),
        "Yes",
        "replica IO thread: {status:?}"
    );
    assert_eq!(
        field("Slave_SQL_Running"),
        "Yes",
        "replica SQL thread: {status:?}"
    );
    assert_eq!(
        field("Using_Gtid"),
        "Slave_Pos",
        "replica must use GTID: {status:?}"
    );
    assert_eq!(
        field("Master_Port"),
        primary_port(),
        "replica's master: {status:?}"
    );

    // Write on the primary.
    let table = format!("stack_smoke_{}", unique_suffix());
    let payload = format!("written to the primary by {table}");
    primary
        .execute(
            format!(
                "CREATE TABLE `{table}` (id BIGINT PRIMARY KEY, payload VARCHAR(200) NOT NULL) \
                 ENGINE=InnoDB"
            )
            .as_str(),
        )
        .await
        .expect("CREATE TABLE on the primary");
    sqlx::query(&format!(
        "INSERT INTO `{table}` (id, payload) VALUES (?, ?)"
    ))
    .bind(1_i64)
    .bind(&payload)
    .execute(&primary)
    .await
    .expect("INSERT on the primary");
    let written_at = global_text(&primary, "gtid_binlog_pos").await;
    assert!(
        !written_at.is_empty(),
        "primary reports no GTID position after a write"
    );

    // Read it back from the replica, waiting for replication within a bound.
    let select = format!("SELECT payload FROM `{table}` WHERE id = ?");
    let started = Instant::now();
    let seen = loop {
        match sqlx::query(&select).bind(1_i64).fetch_optional(&replica).await {
            Ok(Some(row)) => break row.get::<String, _>("payload"),
            // the table itself may not have reached the replica yet (error 1146)
            Ok(None) | Err(_) if started.elapsed() < REPLICATION_WAIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(None) => panic!(
                "row written to the primary did not appear on the replica within {REPLICATION_WAIT:?} \
                 (primary gtid_binlog_pos={written_at}); check `scripts/stack status`"
            ),
            Err(e) => panic!(
                "table written to the primary is not readable on the replica within \
                 {REPLICATION_WAIT:?}: {e}; check `scripts/stack status`"
            ),
        }
    };
    assert_eq!(seen, payload);

    // The replica applied the primary's GTIDs (its slave position covers the write).
    let replica_pos = global_text(&replica, "gtid_slave_pos").await;
    assert!(
        !replica_pos.is_empty(),
        "replica has an empty gtid_slave_pos after replicating a row"
    );

    // The application user cannot write to the read-only replica.
    let refused = sqlx::query(&format!(
        "INSERT INTO `{table}` (id, payload) VALUES (2, 'x')"
    ))
    .execute(&replica)
    .await;
    let err = refused.expect_err("a write to the read-only replica must fail");
    assert!(
        err.to_string().contains("read-only") || err.to_string().contains("1290"),
        "unexpected error writing to the replica: {err}"
    );

    primary
        .execute(format!("DROP TABLE `{table}`").as_str())
        .await
        .expect("DROP TABLE on the primary");
}

fn primary_port() -> String {
    let url = required_env("DATABASE_URL");
    // mysql://user:pass@host:port/db
    url.rsplit('@')
        .next()
        .and_then(|rest| rest.split('/').next())
        .and_then(|host_port| host_port.rsplit(':').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("DATABASE_URL has no port: {url}"))
}

fn cluster_nodes() -> Vec<String> {
    required_env("REDIS_CLUSTER_NODES")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Slot ranges -> master address, from `CLUSTER SLOTS`.
async fn slot_owners(
    conn: &mut redis::cluster_async::ClusterConnection,
) -> Vec<(i64, i64, String)> {
    let slots: Vec<redis::Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(conn)
        .await
        .expect("CLUSTER SLOTS");
    let mut owners = Vec::new();
    for range in slots {
        let redis::Value::Array(parts) = range else {
            panic!("unexpected CLUSTER SLOTS entry: {range:?}");
        };
        let start: i64 = redis::from_redis_value(parts[0].clone()).expect("slot start");
        let end: i64 = redis::from_redis_value(parts[1].clone()).expect("slot end");
        let master: Vec<redis::Value> =
            redis::from_redis_value(parts[2].clone()).expect("slot master");
        let host: String = redis::from_redis_value(master[0].clone()).expect("master host");
        let port: i64 = redis::from_redis_value(master[1].clone()).expect("master port");
        owners.push((start, end, format!("{host}:{port}")));
    }
    owners
}

async fn key_slot(conn: &mut redis::cluster_async::ClusterConnection, key: &str) -> i64 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(conn)
        .await
        .expect("CLUSTER KEYSLOT")
}

#[tokio::test]
async fn redis_cluster_keys_in_different_slots_and_hash_tags() {
    let nodes = cluster_nodes();
    let client = ClusterClient::new(nodes.clone())
        .unwrap_or_else(|e| panic!("bad REDIS_CLUSTER_NODES {nodes:?}: {e}"));
    let mut conn = client.get_async_connection().await.unwrap_or_else(|e| {
        panic!("cannot connect to Redis Cluster {nodes:?}: {e} (is the stack up? scripts/stack status)")
    });

    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn)
        .await
        .expect("CLUSTER INFO");
    assert!(info.contains("cluster_state:ok"), "cluster not ok: {info}");

    let owners = slot_owners(&mut conn).await;
    let masters: std::collections::BTreeSet<&str> =
        owners.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        masters.len(),
        3,
        "expected 3 masters, CLUSTER SLOTS says {owners:?}"
    );

    // Pick keys until every master owns one of them: their slots necessarily differ.
    let run = unique_suffix();
    let mut per_master: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for i in 0..1000 {
        let key = format!("stack_smoke:{run}:{i}");
        let slot = key_slot(&mut conn, &key).await;
        let owner = owners
            .iter()
            .find(|(start, end, _)| (*start..=*end).contains(&slot))
            .map(|(_, _, m)| m.clone())
            .unwrap_or_else(|| panic!("slot {slot} is not served by any master"));
        per_master.entry(owner).or_insert((key, slot));
        if per_master.len() == masters.len() {
            break;
        }
    }
    assert_eq!(per_master.len(), 3, "could not find keys for every master");
    let slots: std::collections::BTreeSet<i64> = per_master.values().map(|(_, s)| *s).collect();
    assert_eq!(
        slots.len(),
        3,
        "keys must be in three different slots: {per_master:?}"
    );

    for (master, (key, _)) in &per_master {
        let value = format!("value of {key} on {master}");
        let () = conn
            .set_ex(key, &value, 60)
            .await
            .expect("SET through the cluster client");
        let read: String = conn.get(key).await.expect("GET through the cluster client");
        assert_eq!(read, value);

        // The key really lives on the master that owns its slot: a plain (non-cluster)
        // connection to that master serves it without a MOVED redirect.
        let direct = redis::Client::open(format!("redis://{master}")).expect("direct client");
        let mut direct = direct
            .get_multiplexed_async_connection()
            .await
            .expect("direct connection to master");
        let direct_read: String = direct.get(key).await.expect("GET on the owning master");
        assert_eq!(direct_read, value);
    }

    // Hash-tagged keys share one slot, so multi-key commands work on them.
    let tag = format!("{{stack_smoke:{run}}}");
    let (a, b) = (format!("{tag}:a"), format!("{tag}:b"));
    assert_eq!(key_slot(&mut conn, &a).await, key_slot(&mut conn, &b).await);
    let () = redis::cmd("MSET")
        .arg(&a)
        .arg("1")
        .arg(&b)
        .arg("2")
        .query_async(&mut conn)
        .await
        .expect("MSET on hash-tagged keys");
    let both: Vec<String> = redis::cmd("MGET")
        .arg(&a)
        .arg(&b)
        .query_async(&mut conn)
        .await
        .expect("MGET on hash-tagged keys");
    assert_eq!(both, vec!["1".to_owned(), "2".to_owned()]);

    // A Lua script touching both keys runs atomically on their shared slot.
    let moved: i64 = redis::Script::new(
        "local v = redis.call('GET', KEYS[1]) \
         redis.call('INCRBY', KEYS[2], v) \
         redis.call('DEL', KEYS[1]) \
         return tonumber(redis.call('GET', KEYS[2]))",
    )
    .key(&a)
    .key(&b)
    .invoke_async(&mut conn)
    .await
    .expect("Lua script on hash-tagged keys");
    assert_eq!(moved, 3);
    let gone: Option<String> = conn.get(&a).await.expect("GET after script");
    assert_eq!(gone, None);

    let mut cleanup: Vec<String> = per_master.values().map(|(k, _)| k.clone()).collect();
    cleanup.push(b);
    for key in cleanup {
        let _: i64 = conn.del(&key).await.expect("DEL");
    }
}
