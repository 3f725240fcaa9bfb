//! # Rated matches and global leaderboards
//!
//! [`Ranked`] (in [`crate::state::AppState::ranked`]) records the result of a rated match
//! ([`Ranked::record_match`], called by whoever ran the match), keeps every player's
//! Weng-Lin rating ([`rating`]) and serves the global leaderboards.
//!
//! ## Ratings
//!
//! A rating is a mean `mu` and an uncertainty `sigma` (new players: 25 and 25/3); the shown
//! number is `1000 + 40 (mu - 3 sigma)`, so a new player shows 1000. A match of 2 to 8
//! players updates everyone's rating as a free-for-all of teams of one (a duel is the 1v1
//! case); equal placements tie, abandoning counts as last place.
//!
//! ## Exactly once
//!
//! `record_match` runs one database transaction: insert the match id (a unique key), lock
//! the players' rating rows (in user id order, `FOR UPDATE` on MySQL; SQLite has one writer),
//! compute and store the new ratings, add the points to the boards and store each player's
//! result. A second call with the same id, concurrent or later, from this gateway or another,
//! fails on the unique key (on MySQL it waits for the first transaction's outcome) and
//! returns [`Recorded::AlreadyRecorded`] having changed nothing. A deadlock between two
//! matches sharing players is retried.
//!
//! ## Boards
//!
//! Boards ([`BoardKind`]) live in memory on `leaderboard-core`:
//!
//! * `rating`: the displayed rating, all time (players with at least one rated game);
//! * `points-week` and `points-day`: match points per UTC week (from Monday) and day, windows
//!   of [`leaderboard_core::ResetSchedule::Weekly`] / `Daily`;
//! * `topic:<topic>`: match points per topic (lowercased), all time: a topic is a lasting
//!   specialty, and a weekly per-topic board would split the few players of a small topic
//!   further.
//!
//! The database is the source of truth: each row of `ranked_points` is one (board, period,
//! user), so **every past period stays queryable**. The current and previous window of each
//! windowed board are in the `leaderboard-core` board; an older period is loaded from the
//! database into a board of its own when asked for (cached briefly). Percentile, rank,
//! around-me and cursor pages are the library's.
//!
//! ## Several gateways
//!
//! Each gateway applies its own writes to its boards as soon as they commit, by re-reading
//! the changed rows. It picks up matches recorded by other gateways by polling
//! `ranked_matches` every [`POLL_INTERVAL`] for sequence numbers above the last seen and
//! re-reading the rows of their players; so two gateways on one database answer the same
//! within one poll interval (plus a query) of a commit. Applying is idempotent and ordered by a
//! per-row version (`games` of a rating, `matches` of a points row), so a stale read never
//! overwrites a newer one. A sequence number that is skipped (a transaction that took it is
//! still open or rolled back) is re-checked on every poll for [`GAP_HORIZON`] before it is
//! given up. Clock: the windows follow an injectable [`Clock`].
//!
//! ## Deliberately not done
//!
//! * The boards are not pushed to the shard-node cluster: the database already orders them
//!   across gateways, and each gateway holds one copy (a few dozen bytes per player and board).
//! * A transaction that stays open longer than [`GAP_HORIZON`] after taking its sequence number
//!   is seen by the other gateways only after their restart (its own gateway applies it).

pub mod boards;
pub mod clock;
pub mod rating;
mod sync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use leaderboard_core::Leaderboards;
use tokio::sync::watch;

pub use boards::{BoardKind, BoardView, PeriodSpan};
pub use clock::{Clock, ManualClock, SystemClock};

use crate::db::Db;
use crate::store::ranked as store;
use crate::store::StoreError;

/// How often a gateway polls for matches recorded by other gateways.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long a skipped match sequence number is re-checked before it is given up.
pub const GAP_HORIZON: Duration = Duration::from_secs(120);
/// Most open leaderboard watch streams per gateway.
pub const MAX_WATCHERS: usize = 10_000;
/// Most players in one rated match.
pub const MAX_PLAYERS: usize = 8;
/// Longest match id, in bytes.
pub const MAX_MATCH_ID_BYTES: usize = 128;
/// Longest topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 100;
/// How far past the boards' clock a match may say it ended (clock skew between gateways).
pub const MAX_CLOCK_AHEAD_MS: i64 = 3_600_000;
/// Largest absolute number of points one player can score in one match.
pub const MAX_MATCH_POINTS: i64 = 1_000_000_000;

/// The result of a finished rated match.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRecord {
    /// Unique id of the match; recording the same id again changes nothing.
    pub match_id: String,
    /// The match's topic (its points also count on `topic:<topic>`), if it had one.
    pub topic: Option<String>,
    /// When the match ended (Unix ms): picks the day and week its points count for.
    pub ended_at_ms: i64,
    /// Every player (2 to 8, distinct users).
    pub players: Vec<MatchPlayer>,
}

/// One player's result in a [`MatchRecord`].
#[derive(Debug, Clone, PartialEq)]
pub struct MatchPlayer {
    /// The user.
    pub user_id: i64,
    /// 1 = best; equal placements tie.
    pub placement: u32,
    /// Points scored in the match (added to the points boards).
    pub points: i64,
    /// Left before the end: counts as a loss (last place).
    pub abandoned: bool,
}

/// A player's rating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    /// Estimated skill (Weng-Lin mean).
    pub mu: f64,
    /// Uncertainty of `mu` (standard deviation).
    pub sigma: f64,
    /// The shown rating, `1000 + 40 (mu - 3 sigma)` rounded.
    pub display: i64,
    /// Rated games played.
    pub games: u32,
}

impl Default for Rating {
    fn default() -> Self {
        Rating {
            mu: rating::INITIAL_MU,
            sigma: rating::INITIAL_SIGMA,
            display: rating::display(rating::INITIAL_MU, rating::INITIAL_SIGMA),
            games: 0,
        }
    }
}

impl Rating {
    fn of_row(r: &store::RatingRow) -> Rating {
        Rating {
            mu: r.mu,
            sigma: r.sigma,
            display: r.display,
            games: u32::try_from(r.games.max(0)).unwrap_or(u32::MAX),
        }
    }
}

/// What [`Ranked::record_match`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The match was recorded now: `(user, before, after)` for every player, in the
    /// record's order.
    Applied(Vec<(i64, Rating, Rating)>),
    /// This match id was recorded before; nothing changed.
    AlreadyRecorded,
}

/// Ratings and leaderboards of one gateway (see the module docs). Shared as an `Arc`.
pub struct Ranked {
    db: Db,
    clock: RwLock<Arc<dyn Clock>>,
    boards: Leaderboards,
    /// The version applied per (board, period, user): only newer rows are applied.
    versions: Mutex<HashMap<(String, i64, i64), i64>>,
    /// Closed periods loaded from the database, by (board, period start).
    archive: Mutex<HashMap<(String, i64), boards::Archived>>,
    /// Bumped when a board changes, for watchers.
    changes: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Open watch streams (bounded by [`MAX_WATCHERS`]).
    watchers: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Ranked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranked")
            .field("boards", &self.boards.ids().len())
            .finish_non_exhaustive()
    }
}

impl Ranked {
    /// Loads the boards from the database (the current and previous windows, every topic) and
    /// starts polling for matches recorded elsewhere. The poller stops when the last handle
    /// is dropped.
    pub async fn start(db: Db) -> Result<Arc<Ranked>, StoreError> {
        Self::start_with_clock(db, Arc::new(SystemClock)).await
    }

    /// [`Ranked::start`] with a given clock.
    pub async fn start_with_clock(
        db: Db,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Ranked>, StoreError> {
        let ranked = Arc::new(Ranked {
            db,
            clock: RwLock::new(clock),
            boards: Leaderboards::new(),
            versions: Mutex::new(HashMap::new()),
            archive: Mutex::new(HashMap::new()),
            changes: Mutex::new(HashMap::new()),
            watchers: Arc::new(tokio::sync::Semaphore::new(MAX_WATCHERS)),
        });
        let floor = store::max_seq(ranked.db.primary()).await?;
        ranked.load().await?;
        sync::spawn(Arc::downgrade(&ranked), floor);
        Ok(ranked)
    }

    /// Replaces the clock (tests share a [`ManualClock`] between gateways) and reloads the
    /// windows for its time.
    pub async fn set_clock(&self, clock: Arc<dyn Clock>) -> Result<(), StoreError> {
        *self.clock.write().unwrap_or_else(|e| e.into_inner()) = clock;
        self.reset_boards();
        self.load().await
    }

    /// The time now on the boards' clock.
    pub fn now_ms(&self) -> i64 {
        self.clock
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .now_ms()
    }

    /// The rating of `user_id` (the initial rating when they have played no rated game).
    pub async fn rating(&self, user_id: i64) -> Result<Rating, StoreError> {
        Ok(self.ratings(&[user_id]).await?.remove(0))
    }

    /// The ratings of `user_ids`, in order (from the primary: a rating read right after a
    /// match includes it).
    pub async fn ratings(&self, user_ids: &[i64]) -> Result<Vec<Rating>, StoreError> {
        let mut ids = user_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = HashMap::new();
        for chunk in ids.chunks(500) {
            for r in store::ratings(self.db.primary(), chunk).await? {
                found.insert(r.user_id, Rating::of_row(&r));
            }
        }
        Ok(user_ids
            .iter()
            .map(|id| found.get(id).copied().unwrap_or_default())
            .collect())
    }

    /// Records a finished match exactly once (see the module docs): updates the players'
    /// ratings and adds their points to the day, week and topic boards. An invalid record
    /// (fewer than 2 or more than 8 players, a repeated user, placement 0, an empty or
    /// too-long id or topic, points beyond ±10⁹, an end time before 1970 or more than
    /// [`MAX_CLOCK_AHEAD_MS`] after the clock) is [`StoreError::Conflict`] naming the
    /// problem, and changes nothing.
    pub async fn record_match(&self, rec: &MatchRecord) -> Result<Recorded, StoreError> {
        self.record_match_with(rec, &[]).await
    }

    /// [`Ranked::record_match`] where the players in `frozen` only serve as
    /// opponents: a recorded game replayed (a ghost duel). The others are
    /// rated against their current ratings as usual; theirs stay as they
    /// are and they get no points.
    pub async fn record_match_with(
        &self,
        rec: &MatchRecord,
        frozen: &[i64],
    ) -> Result<Recorded, StoreError> {
        let topic_board = validate(rec, self.now_ms())?;
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match self.record_once(rec, topic_board.as_deref(), frozen).await {
                Err(e) if attempt < 5 && is_deadlock(&e) => {
                    tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                }
                r => break r?,
            }
        };
        if let Recorded::Applied(_) = &outcome {
            let users: Vec<i64> = rec.players.iter().map(|p| p.user_id).collect();
            let keys = boards::keys_of(rec.ended_at_ms, topic_board.as_deref());
            if let Err(e) = self.refresh(&users, &keys).await {
                // The poller picks the match up again.
                tracing::warn!(error = %e, "refreshing the boards after a match failed");
            }
        }
        Ok(outcome)
    }

    /// Records several finished matches in one database transaction (one commit for all):
    /// each exactly once by its match id, as [`Ranked::record_match_with`] would one after
    /// the other. `recs` pairs each record with its frozen players (see
    /// [`Ranked::record_match_with`]). The answer has one entry per record, in order: an
    /// invalid record is [`StoreError::Conflict`] and changes nothing (the others are still
    /// recorded); a match id recorded before is [`Recorded::AlreadyRecorded`]. The rating
    /// rows of every player of the batch are locked once, in user id order, and the matches
    /// applied in the order given (a player in two of them is rated by both, in turn). A
    /// database failure fails the whole batch (nothing of it is stored).
    pub async fn record_matches(
        &self,
        recs: &[(MatchRecord, Vec<i64>)],
    ) -> Result<Vec<Result<Recorded, StoreError>>, StoreError> {
        let now = self.now_ms();
        let checked: Vec<Result<Option<String>, StoreError>> =
            recs.iter().map(|(r, _)| validate(r, now)).collect();
        let valid: Vec<(usize, Option<String>)> = checked
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().ok().map(|t| (i, t.clone())))
            .collect();
        let mut attempt = 0;
        let applied = loop {
            attempt += 1;
            let batch: Vec<(&MatchRecord, Option<&str>, &[i64])> = valid
                .iter()
                .map(|(i, t)| (&recs[*i].0, t.as_deref(), recs[*i].1.as_slice()))
                .collect();
            match self.record_batch(&batch).await {
                Err(e) if attempt < 5 && is_deadlock(&e) => {
                    tokio::time::sleep(Duration::from_millis(5 * attempt)).await;
                }
                r => break r?,
            }
        };
        let mut users: Vec<i64> = Vec::new();
        let mut keys: Vec<(String, i64)> = Vec::new();
        let mut out: Vec<Result<Recorded, StoreError>> = checked
            .into_iter()
            .map(|c| c.map(|_| Recorded::AlreadyRecorded))
            .collect();
        for ((i, topic_board), outcome) in valid.iter().zip(applied) {
            let (i, topic_board) = (*i, topic_board.as_deref());
            if let Recorded::Applied(_) = &outcome {
                let rec = &recs[i].0;
                users.extend(rec.players.iter().map(|p| p.user_id));
                for k in boards::keys_of(rec.ended_at_ms, topic_board) {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            out[i] = Ok(outcome);
        }
        if !users.is_empty() {
            users.sort_unstable();
            users.dedup();
            if let Err(e) = self.refresh(&users, &keys).await {
                // The poller picks the matches up again.
                tracing::warn!(error = %e, "refreshing the boards after matches failed");
            }
        }
        Ok(out)
    }

    async fn record_once(
        &self,
        rec: &MatchRecord,
        topic_board: Option<&str>,
        frozen: &[i64],
    ) -> Result<Recorded, StoreError> {
        Ok(self
            .record_batch(&[(rec, topic_board, frozen)])
            .await?
            .remove(0))
    }

    /// One transaction for `batch` (validated records with their topic board and frozen
    /// players): every match id inserted first (the exactly-once key), then the rating rows of
    /// all their players locked in user id order, then each new match applied in turn.
    async fn record_batch(
        &self,
        batch: &[(&MatchRecord, Option<&str>, &[i64])],
    ) -> Result<Vec<Recorded>, StoreError> {
        let dialect = self.db.dialect();
        let now = self.now_ms();
        let mut tx = self.db.primary().begin().await?;
        let mut seqs: Vec<Option<i64>> = Vec::with_capacity(batch.len());
        for (rec, _, _) in batch {
            seqs.push(
                store::insert_match(
                    &mut tx,
                    &rec.match_id,
                    rec.topic.as_deref().map(str::trim),
                    rec.ended_at_ms,
                    now,
                    rec.players.len() as i64,
                )
                .await?,
            );
        }
        if seqs.iter().all(Option::is_none) {
            tx.rollback().await?;
            return Ok(vec![Recorded::AlreadyRecorded; batch.len()]);
        }
        let mut ids: Vec<i64> = batch
            .iter()
            .zip(&seqs)
            .filter(|(_, s)| s.is_some())
            .flat_map(|((rec, _, _), _)| rec.players.iter().map(|p| p.user_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let init = Rating::default();
        let at = batch
            .iter()
            .map(|(r, _, _)| r.ended_at_ms)
            .min()
            .unwrap_or(now);
        let mut current: HashMap<i64, Rating> = HashMap::new();
        for chunk in ids.chunks(500) {
            store::ensure_ratings(
                &mut tx,
                dialect,
                chunk,
                (init.mu, init.sigma, init.display),
                at,
            )
            .await?;
            for r in store::lock_ratings(&mut tx, dialect, chunk).await? {
                current.insert(r.user_id, Rating::of_row(&r));
            }
        }
        let mut out = Vec::with_capacity(batch.len());
        for (&(rec, topic_board, frozen), seq) in batch.iter().zip(&seqs) {
            let Some(seq) = *seq else {
                out.push(Recorded::AlreadyRecorded);
                continue;
            };
            out.push(
                apply_match(
                    &mut tx,
                    dialect,
                    rec,
                    topic_board,
                    frozen,
                    seq,
                    &mut current,
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A receiver that changes whenever board `id` changes (for watchers).
    pub fn changes(&self, id: &str) -> watch::Receiver<u64> {
        let mut map = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(id.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// A slot for one watch stream, `None` when [`MAX_WATCHERS`] are open.
    pub fn watch_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.watchers.clone().try_acquire_owned().ok()
    }

    fn changed(&self, id: &str) {
        let map = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(id) {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

/// Applies one new match (its id inserted as `seq`) inside `tx`: rates its players from
/// `current` (their locked rows, updated in place), stores the new ratings, adds the points to
/// the boards and stores each player's result.
async fn apply_match(
    tx: &mut sqlx::AnyConnection,
    dialect: crate::db::Dialect,
    rec: &MatchRecord,
    topic_board: Option<&str>,
    frozen: &[i64],
    seq: i64,
    current: &mut HashMap<i64, Rating>,
) -> Result<Recorded, StoreError> {
    let before: Vec<Rating> = rec
        .players
        .iter()
        .map(|p| current.get(&p.user_id).copied().unwrap_or_default())
        .collect();
    let seats: Vec<rating::Seat> = rec
        .players
        .iter()
        .zip(&before)
        .map(|(p, b)| rating::Seat {
            mu: b.mu,
            sigma: b.sigma,
            placement: p.placement,
            abandoned: p.abandoned,
        })
        .collect();
    let placements = rating::effective_placements(&seats);
    let mut new = rating::rate(&seats);
    for (i, p) in rec.players.iter().enumerate() {
        if frozen.contains(&p.user_id) {
            new[i] = (before[i].mu, before[i].sigma);
        }
    }
    let mut applied = Vec::with_capacity(rec.players.len());
    // Rows in user id order, so two matches sharing players lock in the same order.
    let mut order: Vec<usize> = (0..rec.players.len()).collect();
    order.sort_unstable_by_key(|&i| rec.players[i].user_id);
    for &i in &order {
        let p = &rec.players[i];
        if frozen.contains(&p.user_id) {
            continue;
        }
        let (mu, sigma) = new[i];
        let display = rating::display(mu, sigma);
        store::update_rating(&mut *tx, p.user_id, mu, sigma, display, rec.ended_at_ms).await?;
    }
    for (board, period) in boards::keys_of(rec.ended_at_ms, topic_board) {
        if board == BoardKind::Rating.id() {
            continue;
        }
        let points: Vec<(i64, i64)> = order
            .iter()
            .filter(|&&i| !frozen.contains(&rec.players[i].user_id))
            .map(|&i| (rec.players[i].user_id, rec.players[i].points))
            .collect();
        store::add_points(&mut *tx, dialect, &board, period, &points, rec.ended_at_ms).await?;
    }
    for (i, p) in rec.players.iter().enumerate() {
        let (mu, sigma) = new[i];
        store::insert_result(
            &mut *tx,
            seq,
            &store::ResultRow {
                user_id: p.user_id,
                placement: i64::from(placements[i]),
                points: p.points,
                abandoned: p.abandoned,
                before: (before[i].mu, before[i].sigma),
                after: (mu, sigma),
            },
        )
        .await?;
        let after = Rating {
            mu,
            sigma,
            display: rating::display(mu, sigma),
            games: if frozen.contains(&p.user_id) {
                before[i].games
            } else {
                before[i].games.saturating_add(1)
            },
        };
        if !frozen.contains(&p.user_id) {
            current.insert(p.user_id, after);
        }
        applied.push((p.user_id, before[i], after));
    }
    Ok(Recorded::Applied(applied))
}

fn is_deadlock(e: &StoreError) -> bool {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) => {
            d.code().is_some_and(|c| c == "40001" || c == "1213")
                || d.message().contains("Deadlock")
        }
        _ => false,
    }
}

/// Checks a record (`now`: the boards' clock); returns the id of its topic board.
fn validate(rec: &MatchRecord, now: i64) -> Result<Option<String>, StoreError> {
    let bad = |m: String| Err(StoreError::Conflict(m));
    // A time far ahead would roll the windowed boards past the real present.
    if rec.ended_at_ms < 0 || rec.ended_at_ms > now.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return bad(format!(
            "ended_at_ms must be between 0 and the present plus {} minutes",
            MAX_CLOCK_AHEAD_MS / 60_000
        ));
    }
    let id = &rec.match_id;
    if id.is_empty() || id.len() > MAX_MATCH_ID_BYTES || id.chars().any(char::is_control) {
        return bad(format!(
            "match_id must be 1 to {MAX_MATCH_ID_BYTES} bytes without control characters"
        ));
    }
    let n = rec.players.len();
    if !(2..=MAX_PLAYERS).contains(&n) {
        return bad(format!(
            "a rated match has 2 to {MAX_PLAYERS} players, not {n}"
        ));
    }
    let mut ids: Vec<i64> = rec.players.iter().map(|p| p.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != n {
        return bad("a user appears twice in the match".into());
    }
    for p in &rec.players {
        if p.placement == 0 || p.placement as usize > MAX_PLAYERS {
            return bad(format!("placement must be 1 to {MAX_PLAYERS}"));
        }
        if p.points.abs() > MAX_MATCH_POINTS {
            return bad(format!("points must be within ±{MAX_MATCH_POINTS}"));
        }
    }
    match &rec.topic {
        None => Ok(None),
        Some(t) => {
            let t = t.trim();
            if t.is_empty() || t.chars().count() > MAX_TOPIC_CHARS {
                return bad(format!("topic must be 1 to {MAX_TOPIC_CHARS} characters"));
            }
            Ok(Some(BoardKind::Topic(t.to_lowercase()).id()))
        }
    }
}
