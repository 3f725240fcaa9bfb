//! Prometheus text metrics of a node, rendered on `/metrics` by the [HTTP server](crate::http).
//!
//! Counters are plain atomics bumped on the request path (relaxed ordering: they are
//! statistics, not synchronization). Per-group gauges are read from openraft's metrics at scrape
//! time, so scraping costs nothing between scrapes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::publish::PublishStats;
use crate::router::Router;

/// Request counters of one node.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Client write batches committed.
    pub write_batches: AtomicU64,
    /// Commands inside committed batches.
    pub write_commands: AtomicU64,
    /// Client reads served.
    pub reads: AtomicU64,
    /// Client requests answered with an error (not leader, rejected, ...).
    pub client_errors: AtomicU64,
    /// Request frames that could not be decoded (wrong version, oversized, garbage).
    pub bad_frames: AtomicU64,
    /// Requests refused because the peer's certificate role does not allow them.
    pub forbidden: AtomicU64,
}

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
    );
}

/// Renders every metric of the node.
pub fn render(router: &Router, publish: Option<&PublishStats>) -> String {
    let m = router.metrics();
    let mut out = String::new();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    counter(
        &mut out,
        "shard_write_batches_total",
        "Client write batches committed.",
        load(&m.write_batches),
    );
    counter(
        &mut out,
        "shard_write_commands_total",
        "Commands in committed client batches.",
        load(&m.write_commands),
    );
    let entries: u64 = router
        .groups()
        .iter()
        .map(|g| load(&g.proposer.stats().entries))
        .sum();
    counter(
        &mut out,
        "shard_write_entries_total",
        "Raft entries proposed for client write batches (the leader merges concurrent ones).",
        entries,
    );
    counter(
        &mut out,
        "shard_reads_total",
        "Client reads served.",
        load(&m.reads),
    );
    counter(
        &mut out,
        "shard_client_errors_total",
        "Client requests answered with an error.",
        load(&m.client_errors),
    );
    counter(
        &mut out,
        "shard_bad_frames_total",
        "Undecodable request frames.",
        load(&m.bad_frames),
    );
    counter(
        &mut out,
        "shard_forbidden_total",
        "Requests refused for the role of the peer's certificate.",
        load(&m.forbidden),
    );
    if let Some(p) = publish {
        counter(
            &mut out,
            "shard_publish_sent_total",
            "Change messages published to Redis.",
            load(&p.sent),
        );
        counter(
            &mut out,
            "shard_publish_dropped_total",
            "Change events dropped on a full queue.",
            load(&p.dropped),
        );
        counter(
            &mut out,
            "shard_publish_failed_total",
            "Change messages lost to Redis errors.",
            load(&p.failed),
        );
    }
    let gauges: [(&str, &str); 5] = [
        ("shard_group_is_leader", "1 if this node leads the group."),
        ("shard_group_term", "Current Raft term."),
        ("shard_group_last_log_index", "Index of the last log entry."),
        (
            "shard_group_last_applied",
            "Index of the last applied entry.",
        ),
        (
            "shard_group_snapshot_index",
            "Index covered by the latest snapshot.",
        ),
    ];
    let groups = router.groups();
    let statuses: Vec<_> = groups.iter().map(|g| router.status(g)).collect();
    for (i, (name, help)) in gauges.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in &statuses {
            let v = match i {
                0 => u64::from(s.leader == Some(s.node)),
                1 => s.term,
                2 => s.last_log_index.unwrap_or(0),
                3 => s.last_applied.unwrap_or(0),
                _ => s.snapshot.unwrap_or(0),
            };
            let _ = writeln!(out, "{name}{{group=\"{}\"}} {v}", s.group);
        }
    }
    // Op-id memory (exactly-once writes): what it holds and what it costs, per group replica.
    let op_ids: Vec<_> = groups.iter().map(|g| (g.id, g.sm.op_id_stats())).collect();
    let series: [(&str, &str, &str); 4] = [
        (
            "shard_opid_entries",
            "gauge",
            "Op ids remembered by the group's partitions.",
        ),
        (
            "shard_opid_bytes",
            "gauge",
            "Bytes of op-id memory, as accounted against each partition's bound.",
        ),
        (
            "shard_opid_refused_total",
            "counter",
            "Op-id writes refused because op-id memory was full (counted since the replica \
             started or installed a snapshot).",
        ),
        (
            "shard_opid_expired_total",
            "counter",
            "Op ids forgotten past the horizon (counted since the replica started or installed \
             a snapshot).",
        ),
    ];
    for (i, (name, kind, help)) in series.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (group, s) in &op_ids {
            let v = match i {
                0 => s.entries,
                1 => s.bytes,
                2 => s.refused,
                _ => s.expired,
            };
            let _ = writeln!(out, "{name}{{group=\"{group}\"}} {v}");
        }
    }
    out
}
