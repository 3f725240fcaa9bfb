//! The poller that applies matches recorded by other gateways (see the module docs of
//! [`super`]): sequence numbers above the highest seen, plus the skipped ones for
//! [`super::GAP_HORIZON`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Weak;
use std::time::Instant;

use super::boards::{keys_of, BoardKind};
use super::Ranked;
use crate::store::ranked as store;
use crate::store::StoreError;

/// Matches read per poll at most (the rest come on the next poll, right away).
const BATCH: u32 = 500;
/// Skipped sequence numbers tracked at most (the oldest are given up first).
const MAX_GAPS: usize = 2000;

struct Cursor {
    /// Highest sequence number seen.
    high: i64,
    /// Skipped numbers below `high`, with when they were first noticed.
    gaps: BTreeMap<i64, Instant>,
}

pub(super) fn spawn(ranked: Weak<Ranked>, floor: i64) {
    tokio::spawn(async move {
        let mut cursor = Cursor {
            // Re-read the last matches before the load: one still open then has a gap now.
            high: (floor - 1000).max(0),
            gaps: BTreeMap::new(),
        };
        let mut last_prune = Instant::now();
        loop {
            tokio::time::sleep(super::POLL_INTERVAL).await;
            let Some(ranked) = ranked.upgrade() else {
                return;
            };
            loop {
                match poll(&ranked, &mut cursor).await {
                    Ok(more) if more => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "polling for recorded matches failed");
                        break;
                    }
                }
            }
            if last_prune.elapsed() > std::time::Duration::from_secs(60) {
                ranked.prune_versions();
                last_prune = Instant::now();
            }
        }
    });
}

/// One poll; `Ok(true)` when a full batch came back (poll again at once).
async fn poll(ranked: &Ranked, cursor: &mut Cursor) -> Result<bool, StoreError> {
    let pool = ranked.db.primary();
    let now = Instant::now();
    cursor
        .gaps
        .retain(|_, since| now.duration_since(*since) < super::GAP_HORIZON);
    let mut found = store::matches_after(pool, cursor.high, BATCH).await?;
    let full = found.len() == BATCH as usize;
    if !cursor.gaps.is_empty() {
        let gaps: Vec<i64> = cursor.gaps.keys().copied().collect();
        for chunk in gaps.chunks(500) {
            for m in store::matches_in(pool, chunk).await? {
                cursor.gaps.remove(&m.seq);
                found.push(m);
            }
        }
    }
    for m in &found {
        if m.seq > cursor.high {
            for skipped in cursor.high + 1..m.seq {
                cursor.gaps.insert(skipped, now);
            }
            cursor.high = m.seq;
        }
    }
    while cursor.gaps.len() > MAX_GAPS {
        cursor.gaps.pop_first();
    }
    if found.is_empty() {
        return Ok(false);
    }
    let seqs: Vec<i64> = found.iter().map(|m| m.seq).collect();
    let mut players: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in seqs.chunks(500) {
        for (seq, user) in store::players_of(pool, chunk).await? {
            players.entry(seq).or_default().push(user);
        }
    }
    // Group by (board, period) so a burst of matches costs one query per key.
    let mut by_key: HashMap<(String, i64), Vec<i64>> = HashMap::new();
    for m in &found {
        let topic = m
            .topic
            .as_deref()
            .map(|t| BoardKind::Topic(t.trim().to_lowercase()).id());
        for key in keys_of(m.ended_at, topic.as_deref()) {
            by_key
                .entry(key)
                .or_default()
                .extend(players.get(&m.seq).into_iter().flatten());
        }
    }
    for (key, mut users) in by_key {
        users.sort_unstable();
        users.dedup();
        for chunk in users.chunks(500) {
            ranked.refresh(chunk, std::slice::from_ref(&key)).await?;
        }
    }
    Ok(full)
}

impl Ranked {
    /// Forgets the versions of periods that are neither current nor previous any more.
    fn prune_versions(&self) {
        let now = self.now_ms();
        let keep: Vec<(String, i64)> = [BoardKind::PointsWeek, BoardKind::PointsDay]
            .into_iter()
            .filter_map(|k| {
                let s = k.schedule()?;
                let cur = s.window_of(now).0;
                Some((k.id(), s.window_of(cur.saturating_sub(1)).0))
            })
            .collect();
        let mut v = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|(board, period, _), _| {
            keep.iter()
                .find(|(b, _)| b == board)
                .map_or(true, |(_, oldest)| period >= oldest)
        });
    }
}
