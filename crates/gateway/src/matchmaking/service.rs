//! [`Matchmaker`]: the queue of one gateway and, while it holds the lease,
//! the authority of the whole queue (see the module docs of
//! [`super`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::StreamExt as _;
use livequiz_sdk::live::ScoringRules;
use livequiz_sdk::matchmaking::{Matched, MatchedPlayer};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::draw::{self, DrawRequest};
use super::pool::{self, Curve, Ticket};
use super::store::{Claim, GhostRow, KeepGhost, MatchStore, QueuedRow, Started};
use super::{MatchPlayer, MatchRecord, RatingBook};
use crate::db::now_ms;
use crate::live::engine::{Ghost, GhostAnswer, Hostless, LiveQuestion, LiveQuiz};
use crate::live::LiveService;
use crate::store::StoreError;

/// Candidate pools a chunk of matches reads at once (one per topic; each read takes a
/// database connection).
const POOLS_AT_ONCE: usize = 8;

/// Candidates a chunk of matches draws from per topic: the whole topic when its bank is no
/// larger, else a window of that many at a random point of it (see
/// [`MatchStore::candidate_pool`]).
const POOL_SIZE: u32 = 2_000;

/// Matches the first chunk of a turn opens (one batch of sessions) and stores (and so
/// delivers) together while the turn opens the rest: small, so the first players of a wave
/// hear of their match quickly.
const FIRST_CHUNK: usize = 64;

/// Most matches one chunk opens. The chunks of a turn double from [`FIRST_CHUNK`] up to this:
/// a chunk costs a constant number of statements and commits whatever its size, so in a wave
/// of thousands of matches larger chunks open many more matches per second (the statements'
/// bound parameters stay far below the databases' limits: a few per match).
const LARGEST_CHUNK: usize = 512;

/// How a turn splits `n` matches into chunks, in order: [`FIRST_CHUNK`], then each twice
/// the last, up to [`LARGEST_CHUNK`].
fn chunk_sizes(n: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let (mut left, mut next) = (n, FIRST_CHUNK);
    while left > 0 {
        let size = next.min(left);
        sizes.push(size);
        left -= size;
        next = (next * 2).min(LARGEST_CHUNK);
    }
    sizes
}

/// A claimed match's drawn questions, before its session is opened.
struct Drawn {
    quiz: LiveQuiz,
    /// The players' user ids.
    users: Vec<i64>,
    /// The drawn questions' ids.
    ids: Vec<i64>,
}

/// The name of the queue's authority lease.
const LEASE: &str = "queue";

/// The time the queue measures waits with (injected in tests).
pub trait MatchClock: Send + Sync + 'static {
    /// Milliseconds since the epoch.
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl MatchClock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// A clock that moves only when told (tests of the widening).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starting at `ms`.
    pub fn new(ms: i64) -> Self {
        ManualClock(AtomicI64::new(ms))
    }

    /// Moves it forward.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
}

impl MatchClock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The matchmaker's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchSettings {
    /// The gap curve and the wait bound.
    pub curve: Curve,
    /// Questions per match.
    pub questions: u32,
    /// Time to answer each (ms).
    pub time_limit_ms: u32,
    /// Reveal pause between questions (ms).
    pub reveal_ms: u64,
    /// Longest a match waits for its players to connect before it starts
    /// with those who did (ms).
    pub countdown_ms: i64,
    /// How often the queue is polled and matches are formed.
    pub tick: Duration,
    /// The authority lease's lifetime (ms); another gateway takes over this
    /// long after the authority stopped renewing it.
    pub lease_ms: i64,
    /// A ticket whose gateway has not refreshed it for this long (ms) is
    /// removed (its gateway died).
    pub stale_after_ms: i64,
    /// A question a player got in a match is not drawn for them again for
    /// this long (ms).
    pub seen_for_ms: i64,
    /// How often a waiting player gets a status frame.
    pub status_every: Duration,
    /// When a player waiting for a duel is offered a ghost (ms after
    /// queueing); `None`: at the wait bound (`curve.max_wait_ms`).
    pub ghost_after_ms: Option<u64>,
    /// How long a ghost offer stands.
    pub ghost_offer_for: Duration,
    /// The largest rating difference between a player and the ghost they
    /// are offered (the ghost's rating when its game was recorded). Before
    /// `curve.any_after_ms` the player's current gap is tighter and applies.
    pub ghost_max_gap: f64,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            curve: Curve::default(),
            questions: 7,
            time_limit_ms: 15_000,
            reveal_ms: 4_000,
            countdown_ms: 10_000,
            tick: Duration::from_millis(200),
            lease_ms: 3_000,
            stale_after_ms: 5_000,
            seen_for_ms: 7 * 24 * 3_600_000,
            status_every: Duration::from_secs(1),
            ghost_after_ms: None,
            ghost_offer_for: Duration::from_secs(30),
            ghost_max_gap: 400.0,
        }
    }
}

impl MatchSettings {
    /// The defaults with the environment's overrides: `MATCH_QUESTIONS`,
    /// `MATCH_TIME_LIMIT_MS`, `MATCH_REVEAL_MS`, `MATCH_COUNTDOWN_MS`,
    /// `MATCH_TICK_MS`, `MATCH_ANY_AFTER_MS`, `MATCH_MAX_WAIT_MS`,
    /// `MATCH_GHOST_AFTER_MS`, `MATCH_GHOST_MAX_GAP`; a value
    /// that is not a positive integer is an error naming the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        fn var(name: &str) -> anyhow::Result<Option<u64>> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => anyhow::bail!("{name} must be a positive integer (got {v:?})"),
                },
            }
        }
        let mut s = MatchSettings::default();
        if let Some(n) = var("MATCH_QUESTIONS")? {
            s.questions = n.min(100) as u32;
        }
        if let Some(n) = var("MATCH_TIME_LIMIT_MS")? {
            s.time_limit_ms = n.min(600_000) as u32;
        }
        if let Some(n) = var("MATCH_REVEAL_MS")? {
            s.reveal_ms = n.min(60_000);
        }
        if let Some(n) = var("MATCH_COUNTDOWN_MS")? {
            s.countdown_ms = n.min(600_000) as i64;
        }
        if let Some(n) = var("MATCH_TICK_MS")? {
            s.tick = Duration::from_millis(n.min(10_000));
        }
        if let Some(n) = var("MATCH_ANY_AFTER_MS")? {
            s.curve.any_after_ms = n;
        }
        if let Some(n) = var("MATCH_MAX_WAIT_MS")? {
            s.curve.max_wait_ms = n;
        }
        if let Some(n) = var("MATCH_GHOST_AFTER_MS")? {
            s.ghost_after_ms = Some(n);
        }
        if let Some(n) = var("MATCH_GHOST_MAX_GAP")? {
            s.ghost_max_gap = n as f64;
        }
        Ok(s)
    }
}

/// What `mm_matches.members` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchDetails {
    /// Everyone in the match with their rating.
    pub players: Vec<MatchedPlayer>,
    /// When it starts with whoever joined (server ms).
    pub start_by: i64,
    /// When each was queued (the matchmaker's clock), as `players`.
    pub enqueued_at: Vec<i64>,
    /// The questions' topic (`None`: mixed).
    #[serde(default)]
    pub topic: Option<String>,
    /// The drawn questions, in order (set once the session exists).
    #[serde(default)]
    pub questions: Vec<i64>,
    /// A ghost duel: the account replayed from its recorded game.
    #[serde(default)]
    pub ghost: Option<i64>,
}

/// A socket waiting on this gateway.
struct Waiter {
    ticket: String,
    tx: mpsc::Sender<Matched>,
}

/// The queue of one gateway (see the module docs).
pub struct Matchmaker {
    store: MatchStore,
    live: Arc<LiveService>,
    book: RwLock<Arc<dyn RatingBook>>,
    clock: RwLock<Arc<dyn MatchClock>>,
    settings: RwLock<MatchSettings>,
    gateway: String,
    waiters: Mutex<HashMap<i64, Waiter>>,
    /// Smoothed time to match per size (ms), from this gateway's deliveries.
    estimates: Mutex<HashMap<u32, f64>>,
    authority: AtomicBool,
    /// When the lease was last asked for (wall ms).
    lease_asked: AtomicI64,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Matchmaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matchmaker")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

/// Why a queue request was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The account already waits (here or on another gateway).
    #[error("this account already waits in the queue")]
    AlreadyQueued,
    /// Out of range input.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A player's place in the queue, for its socket.
#[derive(Debug)]
pub struct Place {
    /// The ticket.
    pub row: QueuedRow,
    /// Where the match arrives.
    pub matched: mpsc::Receiver<Matched>,
}

impl Matchmaker {
    /// The matchmaker of this gateway over `store`, creating its matches
    /// with `live`, recording results in `book`. Starts its loop (call it
    /// inside a tokio runtime).
    pub fn start(
        store: MatchStore,
        live: Arc<LiveService>,
        book: Arc<dyn RatingBook>,
        settings: MatchSettings,
    ) -> Arc<Self> {
        let mm = Arc::new(Matchmaker {
            store,
            live,
            book: RwLock::new(book),
            clock: RwLock::new(Arc::new(SystemClock)),
            settings: RwLock::new(settings),
            gateway: format!("gw-{:016x}", rand::random::<u64>()),
            waiters: Mutex::new(HashMap::new()),
            estimates: Mutex::new(HashMap::new()),
            authority: AtomicBool::new(false),
            lease_asked: AtomicI64::new(0),
            task: Mutex::new(None),
        });
        let weak = Arc::downgrade(&mm);
        let task = tokio::spawn(async move {
            loop {
                let Some(mm) = weak.upgrade() else { return };
                let tick = mm.settings().tick;
                if let Err(e) = mm.turn().await {
                    tracing::warn!(error = %e, "matchmaker turn failed");
                }
                drop(mm);
                tokio::time::sleep(tick).await;
            }
        });
        *mm.task.lock().expect("poisoned") = Some(task);
        mm
    }

    /// The settings in force.
    pub fn settings(&self) -> MatchSettings {
        self.settings.read().expect("poisoned").clone()
    }

    /// Replaces the settings (tests use short games and ticks).
    pub fn set_settings(&self, s: MatchSettings) {
        *self.settings.write().expect("poisoned") = s;
    }

    /// Replaces the rating book (the gateway's rating system plugs in here).
    pub fn set_book(&self, book: Arc<dyn RatingBook>) {
        *self.book.write().expect("poisoned") = book;
    }

    /// Replaces the clock waits are measured with (tests).
    pub fn set_clock(&self, clock: Arc<dyn MatchClock>) {
        *self.clock.write().expect("poisoned") = clock;
    }

    fn book(&self) -> Arc<dyn RatingBook> {
        self.book.read().expect("poisoned").clone()
    }

    /// The queue's clock, now.
    pub fn now(&self) -> i64 {
        self.clock.read().expect("poisoned").now_ms()
    }

    /// The gateway's token check (the queue socket's first frame).
    pub fn live_auth(&self) -> &crate::auth::Authenticator {
        self.live.auth()
    }

    /// This gateway's id in the queue.
    pub fn gateway(&self) -> &str {
        &self.gateway
    }

    /// Whether this gateway was the queue's authority at its last tick.
    pub fn is_authority(&self) -> bool {
        self.authority.load(Ordering::Acquire)
    }

    /// Players waiting on this gateway's sockets.
    pub fn waiting_here(&self) -> usize {
        self.waiters.lock().expect("poisoned").len()
    }

    /// The estimated wait for a size (ms): the smoothed time to match of the
    /// recent matches of that size delivered here; before any, 5 s for a
    /// duel, 15 s for a room.
    pub fn estimate(&self, size: u32) -> u64 {
        let e = self.estimates.lock().expect("poisoned");
        match e.get(&size) {
            Some(ms) => *ms as u64,
            None if size <= 2 => 5_000,
            None => 15_000,
        }
    }

    /// Stops the loop and gives the lease up (the gateway stops).
    pub async fn shutdown(&self) {
        if let Some(t) = self.task.lock().expect("poisoned").take() {
            t.abort();
        }
        if self.authority.swap(false, Ordering::AcqRel) {
            let _ = self.store.release(LEASE, &self.gateway).await;
        }
    }

    /// Stops the loop as a crash would: nothing is released, the lease and
    /// the tickets' heartbeats just stop being renewed (failover tests).
    pub fn halt(&self) {
        if let Some(t) = self.task.lock().expect("poisoned").take() {
            t.abort();
        }
        self.authority.store(false, Ordering::Release);
    }

    /// Queues `user_id` (checked and rated by the caller's socket).
    pub async fn enqueue(
        &self,
        user_id: i64,
        topic: Option<String>,
        size: u32,
    ) -> Result<Place, QueueError> {
        if !(2..=livequiz_sdk::matchmaking::MAX_ROOM).contains(&size) {
            return Err(QueueError::Invalid(format!(
                "size must be 2 (a duel) to {} (a room)",
                livequiz_sdk::matchmaking::MAX_ROOM
            )));
        }
        if let Some(t) = &topic {
            if t.trim().is_empty() || t.chars().count() > 100 {
                return Err(QueueError::Invalid(
                    "topic must be 1-100 characters, or null for any".into(),
                ));
            }
            if self.store.candidates(Some(t), (1, 5), 1).await?.is_empty() {
                return Err(QueueError::Invalid(format!(
                    "the bank has no playable question on topic {t:?}"
                )));
            }
        }
        let rating = self
            .book()
            .ratings(&[user_id])
            .await?
            .first()
            .copied()
            .unwrap_or(super::book::DEFAULT_RATING);
        let row = QueuedRow {
            user_id,
            ticket: format!("{:016x}", rand::random::<u64>()),
            topic,
            size,
            rating,
            enqueued_at: self.now(),
        };
        let (tx, rx) = mpsc::channel(1);
        {
            let mut w = self.waiters.lock().expect("poisoned");
            if w.contains_key(&user_id) {
                return Err(QueueError::AlreadyQueued);
            }
            w.insert(
                user_id,
                Waiter {
                    ticket: row.ticket.clone(),
                    tx,
                },
            );
        }
        let wall = now_ms();
        let stale = wall - self.settings().stale_after_ms;
        match self.store.enqueue(&row, &self.gateway, wall, stale).await {
            Ok(true) => {
                metrics::gauge!("matchmaking_waiting_here").increment(1.0);
                Ok(Place { row, matched: rx })
            }
            Ok(false) => {
                self.forget(user_id, &row.ticket);
                Err(QueueError::AlreadyQueued)
            }
            Err(e) => {
                self.forget(user_id, &row.ticket);
                Err(e.into())
            }
        }
    }

    fn forget(&self, user_id: i64, ticket: &str) -> bool {
        let mut w = self.waiters.lock().expect("poisoned");
        if w.get(&user_id).is_some_and(|x| x.ticket == ticket) {
            w.remove(&user_id);
            return true;
        }
        false
    }

    /// The player asks to leave: true when out of the queue, false when a
    /// match claimed the ticket first (it is delivered).
    pub async fn leave(&self, row: &QueuedRow) -> Result<bool, StoreError> {
        self.store.leave(row.user_id, &row.ticket).await
    }

    /// The socket is done with this ticket (matched, left, dropped): the
    /// ticket is removed whatever its state.
    pub async fn release(&self, row: &QueuedRow) {
        if self.forget(row.user_id, &row.ticket) {
            metrics::gauge!("matchmaking_waiting_here").decrement(1.0);
        }
        if let Err(e) = self.store.remove(row.user_id, &row.ticket).await {
            tracing::warn!(error = %e, "matchmaker: could not remove a ticket");
        }
    }

    /// One tick: heartbeats, deliveries, the lease, and (as the authority)
    /// forming matches and recording finished ones.
    async fn turn(&self) -> Result<(), StoreError> {
        let settings = self.settings();
        let wall = now_ms();
        let have_waiters = self.waiting_here() > 0;
        let mut phase = Phases::new();
        if have_waiters {
            self.store.heartbeat(&self.gateway, wall).await?;
            phase.done("heartbeat");
            self.deliver().await?;
            phase.done("deliver");
        }
        // The lease is renewed (or asked for) three times per lifetime, not
        // every tick: an idle gateway writes little.
        let authority = if wall >= self.lease_asked.load(Ordering::Acquire) + settings.lease_ms / 3
        {
            self.lease_asked.store(wall, Ordering::Release);
            let held = self
                .store
                .lease(LEASE, &self.gateway, wall, settings.lease_ms)
                .await?;
            self.authority.store(held, Ordering::Release);
            held
        } else {
            self.authority.load(Ordering::Acquire)
        };
        if !authority {
            return Ok(());
        }
        phase.done("lease");
        let waiting = self.store.waiting(wall - settings.stale_after_ms).await?;
        metrics::gauge!("matchmaking_queue_length").set(waiting.len() as f64);
        phase.done("waiting");
        if waiting.len() >= 2 {
            self.form(&waiting, &settings, &mut phase).await?;
        }
        self.record_finished().await?;
        phase.done("record");
        if have_waiters {
            // Matches formed this turn reach this gateway's players at once.
            self.deliver().await?;
            phase.done("deliver");
        }
        phase.total();
        Ok(())
    }

    /// Hands this gateway's players the matches made for them.
    async fn deliver(&self) -> Result<(), StoreError> {
        let assigned = self.store.assigned(&self.gateway).await?;
        if assigned.is_empty() {
            return Ok(());
        }
        // Out of the queue (one statement) before the players hear of their matches.
        let matches: Vec<String> = assigned.iter().map(|a| a.match_id.clone()).collect();
        self.store.remove_matched(&self.gateway, &matches).await?;
        for a in assigned {
            let details: MatchDetails = serde_json::from_str(&a.details)?;
            let enqueued = details
                .players
                .iter()
                .position(|p| p.user_id == a.user_id)
                .and_then(|i| details.enqueued_at.get(i).copied())
                .unwrap_or_else(|| self.now());
            let waited = (self.now() - enqueued).max(0) as u64;
            let matched = Matched {
                match_id: a.match_id.clone(),
                code: a.code.clone(),
                topic: details.topic.clone(),
                players: details.players.clone(),
                start_by: details.start_by,
                waited_ms: waited,
            };
            let tx = {
                let w = self.waiters.lock().expect("poisoned");
                w.get(&a.user_id)
                    .filter(|x| x.ticket == a.ticket)
                    .map(|x| x.tx.clone())
            };
            if let Some(tx) = tx {
                let size = details.players.len() as u32;
                if tx.try_send(matched).is_ok() {
                    metrics::histogram!("matchmaking_time_to_match_seconds")
                        .record(waited as f64 / 1000.0);
                    let mut e = self.estimates.lock().expect("poisoned");
                    let v = e.entry(size).or_insert(waited as f64);
                    *v = 0.8 * *v + 0.2 * waited as f64;
                }
            }
        }
        Ok(())
    }

    /// Forms every group the waiting tickets make and starts their matches:
    /// one transaction claims the tickets of every group of the turn (each
    /// group all or nothing), then per chunk of matches the sessions are
    /// created in one batch (see [`LiveService::create_hostless_many`]) and
    /// one more transaction stores them (codes for the tickets, questions
    /// seen).
    async fn form(
        &self,
        waiting: &[QueuedRow],
        settings: &MatchSettings,
        phase: &mut Phases,
    ) -> Result<(), StoreError> {
        let tickets: Vec<Ticket> = waiting
            .iter()
            .map(|r| Ticket {
                user_id: r.user_id,
                rating: r.rating,
                topic: r.topic.clone(),
                size: r.size,
                enqueued_at: r.enqueued_at,
            })
            .collect();
        let now = self.now();
        let mut planned: Vec<(Vec<&QueuedRow>, MatchDetails)> = Vec::new();
        let mut claims: Vec<Claim> = Vec::new();
        for group in pool::form(&tickets, now, &settings.curve) {
            let rows: Vec<&QueuedRow> = group.members.iter().map(|&i| &waiting[i]).collect();
            let details = MatchDetails {
                players: rows
                    .iter()
                    .map(|r| MatchedPlayer {
                        user_id: r.user_id,
                        rating: r.rating,
                    })
                    .collect(),
                start_by: now_ms() + settings.countdown_ms,
                enqueued_at: rows.iter().map(|r| r.enqueued_at).collect(),
                topic: group.topic.clone(),
                questions: Vec::new(),
                ghost: None,
            };
            claims.push(Claim {
                match_id: format!("m{:016x}", rand::random::<u64>()),
                members: rows.iter().map(|r| (r.user_id, r.ticket.clone())).collect(),
                topic: group.topic,
                details: serde_json::to_string(&details)?,
            });
            planned.push((rows, details));
        }
        if claims.is_empty() {
            return Ok(());
        }
        // A group whose ticket left or was claimed meanwhile is skipped.
        let claimed = self.store.claim_many(&claims, now_ms()).await?;
        phase.done("claim");
        // The sessions of a turn are created and stored a chunk at a time (their tickets are
        // disjoint): a wave of hundreds of matches takes seconds to open, and the players of
        // the first ones get their code once their chunk is stored, not after the whole wave.
        let opens: Vec<_> = claims
            .iter()
            .zip(&planned)
            .zip(&claimed)
            .filter(|(_, &ok)| ok)
            .map(|((claim, (rows, details)), _)| (claim, rows, details))
            .collect();
        let mut rest = &opens[..];
        for size in chunk_sizes(opens.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let mut step = Phases::new();
            // The chunk's questions are drawn at once (a few reads for all its matches), its
            // sessions then opened in one batch (one transaction for their rows, one for their
            // checkpoints).
            let drawn = self.draw_chunk(chunk, settings).await;
            // The countdown runs from the sessions' creation, not from when the turn planned
            // the match: in a wave, opening the chunks before this one can take seconds.
            let start_by = now_ms() + settings.countdown_ms;
            let mut opened_all = Vec::with_capacity(chunk.len());
            let mut to_open = Vec::with_capacity(chunk.len());
            let mut batch = Vec::with_capacity(chunk.len());
            for (&(claim, rows, details), drawn) in chunk.iter().zip(drawn) {
                match drawn {
                    Ok(d) => {
                        let hostless = Hostless {
                            members: d.users.clone(),
                            start_by,
                            ghost: None,
                        };
                        batch.push((d.quiz, hostless));
                        to_open.push((claim, rows.len(), details, d.users, d.ids));
                    }
                    Err(e) => opened_all.push((claim, rows.len(), Err(e))),
                }
            }
            step.step("draw");
            let created = self.live.create_hostless_many(batch).await;
            step.step("open");
            for ((claim, size, details, users, ids), created) in to_open.into_iter().zip(created) {
                let opened = created.map_err(anyhow::Error::from).and_then(|created| {
                    let details = MatchDetails {
                        questions: ids.clone(),
                        start_by,
                        ..details.clone()
                    };
                    Ok(Started {
                        match_id: claim.match_id.clone(),
                        session_id: created.session_id,
                        code: created.code,
                        details: serde_json::to_string(&details)?,
                        users,
                        questions: ids,
                    })
                });
                opened_all.push((claim, size, opened));
            }
            let mut started = Vec::new();
            let mut sizes = Vec::new();
            for (claim, size, opened) in opened_all {
                match opened {
                    Ok(s) => {
                        started.push(s);
                        sizes.push(size);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "matchmaker: a match could not start");
                        if let Err(e) = self.store.unclaim(&claim.match_id).await {
                            tracing::warn!(error = %e, "matchmaker: could not put a match's tickets back");
                        }
                    }
                }
            }
            if let Err(e) = self.store.started_many(&started, now_ms()).await {
                for s in &started {
                    if let Err(e) = self.store.unclaim(&s.match_id).await {
                        tracing::warn!(error = %e, "matchmaker: could not put a match's tickets back");
                    }
                }
                return Err(e);
            }
            step.step("store");
            for size in sizes {
                metrics::counter!("matchmaking_matches_total", "size" => size.to_string())
                    .increment(1);
            }
            // This gateway's players of the chunk hear of their matches now (the others'
            // gateways deliver on their own ticks).
            if self.waiting_here() > 0 {
                self.deliver().await?;
            }
            step.step("deliver");
        }
        phase.done("sessions");
        Ok(())
    }

    /// Draws the questions of a chunk of claimed matches: each match's quiz
    /// (its session is opened with the rest of its chunk), or why it cannot
    /// start.
    async fn draw_chunk(
        &self,
        chunk: &[(&Claim, &Vec<&QueuedRow>, &MatchDetails)],
        settings: &MatchSettings,
    ) -> Vec<anyhow::Result<Drawn>> {
        let users: Vec<Vec<i64>> = chunk
            .iter()
            .map(|(_, rows, _)| rows.iter().map(|r| r.user_id).collect())
            .collect();
        let requests: Vec<DrawRequest<'_>> = chunk
            .iter()
            .zip(&users)
            .map(|((claim, rows, _), users)| DrawRequest {
                topic: claim.topic.as_deref(),
                difficulty: difficulty_for(
                    rows.iter().map(|r| r.rating).sum::<f64>() / rows.len().max(1) as f64,
                ),
                users,
            })
            .collect();
        let drawn = match self.draw(&requests, settings).await {
            Ok(d) => d,
            Err(e) => {
                return users
                    .iter()
                    .map(|_| Err(anyhow::anyhow!("drawing the questions: {e}")))
                    .collect()
            }
        };
        drawn
            .into_iter()
            .zip(users)
            .map(|(questions, users)| {
                anyhow::ensure!(!questions.is_empty(), "no playable question to draw");
                let ids: Vec<i64> = questions.iter().map(|q| q.question_id).collect();
                let quiz = LiveQuiz {
                    quiz_id: 0,
                    questions,
                    rules: ScoringRules::default(),
                    reveal_ms: settings.reveal_ms,
                    top_n: 10,
                    hide_text_on_devices: false,
                };
                Ok(Drawn { quiz, users, ids })
            })
            .collect()
    }

    /// Draws the questions of the matches `requests` (in order): for each,
    /// `settings.questions` of its topic (or any), difficulty near the
    /// players' mean rating, none a player got in the last `seen_for_ms`.
    /// Short of questions it widens the difficulty to all, then allows
    /// questions seen before, then plays fewer (see [`draw::pick_chunk`]).
    ///
    /// A few reads for the whole chunk: a candidate pool per topic, the
    /// questions its players saw lately, and the picked questions.
    async fn draw(
        &self,
        requests: &[DrawRequest<'_>],
        settings: &MatchSettings,
    ) -> Result<Vec<Vec<LiveQuestion>>, StoreError> {
        let want = settings.questions.max(1) as usize;
        let since = now_ms() - settings.seen_for_ms;
        let mut topics: Vec<Option<&str>> = requests.iter().map(|r| r.topic).collect();
        topics.sort_unstable();
        topics.dedup();
        let mut users: Vec<i64> = requests.iter().flat_map(|r| r.users).copied().collect();
        users.sort_unstable();
        users.dedup();
        let mut reads = Vec::with_capacity(topics.len());
        for &t in &topics {
            reads.push(
                self.store
                    .candidate_pool(t, POOL_SIZE, rand::random::<f64>()),
            );
        }
        let pools = futures_util::stream::iter(reads)
            .buffered(POOLS_AT_ONCE)
            .collect::<Vec<_>>();
        let (pools, seen) = tokio::join!(pools, self.store.seen_by(&users, since));
        let seen = seen?;
        let pools: HashMap<Option<&str>, Vec<draw::Candidate>> = topics
            .iter()
            .copied()
            .zip(pools)
            .map(|(t, p)| Ok((t, p?)))
            .collect::<Result<_, StoreError>>()?;
        let picked = draw::pick_chunk(requests, &pools, &seen, want, &mut rand::rng());
        let mut all: Vec<i64> = picked.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let mut playable: HashMap<i64, LiveQuestion> = self
            .store
            .playable(&all, settings.time_limit_ms)
            .await?
            .into_iter()
            .map(|q| (q.question_id, LiveQuestion::from(q)))
            .collect();
        let mut uses: HashMap<i64, usize> = HashMap::new();
        for id in picked.iter().flatten() {
            *uses.entry(*id).or_default() += 1;
        }
        // Each match keeps its order; a question picked for one match only is moved, not copied.
        Ok(picked
            .iter()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| {
                        let left = uses.get_mut(id)?;
                        *left -= 1;
                        if *left == 0 {
                            playable.remove(id)
                        } else {
                            playable.get(id).cloned()
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Sends every finished, unrecorded match to the rating book, all of
    /// them at once (one transaction in the books over a database), and
    /// keeps the finished duels' players as ghosts (one transaction).
    async fn record_finished(&self) -> Result<(), StoreError> {
        let finished = self.store.finished().await?;
        if finished.is_empty() {
            return Ok(());
        }
        let sessions: Vec<i64> = finished.iter().map(|f| f.session_id).collect();
        let standings = self.store.standings_of(&sessions).await?;
        let mut recs = Vec::with_capacity(finished.len());
        let mut ghosts = Vec::new();
        for f in &finished {
            let details: MatchDetails = serde_json::from_str(&f.details)?;
            let standings = standings
                .get(&f.session_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let last = standings.iter().map(|s| s.rank).max().unwrap_or(0) + 1;
            let players: Vec<MatchPlayer> = details
                .players
                .iter()
                .map(
                    |p| match standings.iter().find(|s| s.account_id == p.user_id) {
                        Some(s) => MatchPlayer {
                            user_id: p.user_id,
                            placement: s.rank,
                            points: s.score,
                            abandoned: s.left,
                        },
                        None => MatchPlayer {
                            user_id: p.user_id,
                            placement: last,
                            points: 0,
                            abandoned: true,
                        },
                    },
                )
                .collect();
            if details.ghost.is_none() {
                ghosts.extend(ghosts_of(f, &details, &players)?);
            }
            recs.push(MatchRecord {
                match_id: f.match_id.clone(),
                topic: f.topic.clone(),
                ended_at_ms: f.finished_at,
                players,
                ghost: details.ghost,
            });
        }
        // A ghost is a bonus: failing to keep one does not hold the results back.
        if let Err(e) = self.store.keep_ghosts(&ghosts, now_ms()).await {
            tracing::warn!(error = %e, "could not keep finished duels as ghosts");
        }
        let ids: Vec<String> = recs.iter().map(|r| r.match_id.clone()).collect();
        let outcomes = match self.book().record_matches(recs).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, matches = ids.len(), "rating book refused a batch of results; retried next tick");
                return Ok(());
            }
        };
        let mut done = Vec::with_capacity(ids.len());
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => done.push(id),
                Err(e) => {
                    tracing::warn!(error = %e, match_id = id, "rating book refused a result; retried next tick");
                }
            }
        }
        self.store.mark_recorded_many(&done, now_ms()).await?;
        metrics::counter!("matchmaking_results_recorded_total").increment(done.len() as u64);
        Ok(())
    }
}

/// Time spent in each phase of a turn, recorded (seconds) in the histogram
/// `matchmaking_turn_seconds{phase}` (and the whole turn as phase `turn`).
struct Phases {
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Phases {
    fn new() -> Self {
        let now = std::time::Instant::now();
        Phases {
            start: now,
            last: now,
        }
    }

    /// The phase `name` ended now.
    fn done(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        metrics::histogram!("matchmaking_turn_seconds", "phase" => name)
            .record((now - self.last).as_secs_f64());
        self.last = now;
    }

    /// The step `name` of opening a chunk of matches ended now
    /// (`matchmaking_chunk_seconds{step}`: `draw`, `open`, `store`,
    /// `deliver`, within the turn's `sessions` phase).
    fn step(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        metrics::histogram!("matchmaking_chunk_seconds", "step" => name)
            .record((now - self.last).as_secs_f64());
        self.last = now;
    }

    /// The turn ended now.
    fn total(&self) {
        metrics::histogram!("matchmaking_turn_seconds", "phase" => "turn")
            .record(self.start.elapsed().as_secs_f64());
    }
}

/// The players of a finished duel who were there at the end, to keep as
/// ghosts (their answers stay in the session's answer log).
fn ghosts_of(
    f: &super::store::Finished,
    details: &MatchDetails,
    players: &[MatchPlayer],
) -> Result<Vec<KeepGhost>, StoreError> {
    if details.players.len() != 2 || details.questions.is_empty() || players.len() != 2 {
        return Ok(Vec::new());
    }
    let questions = serde_json::to_string(&details.questions)?;
    Ok(players
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.abandoned)
        .map(|(i, p)| KeepGhost {
            match_id: f.match_id.clone(),
            user_id: p.user_id,
            opponent_id: players[1 - i].user_id,
            rating: details.players.get(i).map_or(0.0, |m| m.rating),
            topic: f.topic.clone(),
            session_id: f.session_id,
            questions: questions.clone(),
        })
        .collect())
}

impl Matchmaker {
    /// The ghost to offer a player whose duel wait reached
    /// `ghost_after_ms`: the recorded duel player closest in rating, on the
    /// ticket's topic (any when it has none), neither themself nor anyone
    /// they played in the last `seen_for_ms`, and similar-rated: within the
    /// player's current gap and never more than `ghost_max_gap` away. `None`
    /// for rooms and when there is none (the player then waits on, and times
    /// out at the bound).
    pub async fn ghost_for(&self, row: &QueuedRow) -> Result<Option<GhostRow>, StoreError> {
        if row.size != 2 {
            return Ok(None);
        }
        let settings = self.settings();
        let since = now_ms() - settings.seen_for_ms;
        let waited = (self.now() - row.enqueued_at).max(0) as u64;
        let gap = settings
            .curve
            .gap(waited)
            .map_or(settings.ghost_max_gap, |g| g.min(settings.ghost_max_gap));
        self.store
            .pick_ghost(row.user_id, row.rating, gap, row.topic.as_deref(), since)
            .await
    }

    /// The player took the ghost offered: a host-less duel against it, on
    /// the recorded game's questions (those still in the bank, less those
    /// the player saw in the last `seen_for_ms` unless none would remain), the
    /// ghost's answers given at their recorded times. Returns the match to
    /// join.
    pub async fn start_ghost(
        &self,
        row: &QueuedRow,
        ghost: &GhostRow,
        ghost_rating: f64,
    ) -> anyhow::Result<Matched> {
        let settings = self.settings();
        let questions = self
            .store
            .playable(&ghost.questions, settings.time_limit_ms)
            .await?;
        anyhow::ensure!(
            !questions.is_empty(),
            "the recorded game's questions are gone"
        );
        // Questions the player saw lately are left out (the ghost's answers
        // to them with them), unless that leaves none.
        let seen = self
            .store
            .seen_among(
                row.user_id,
                &ghost.questions,
                now_ms() - settings.seen_for_ms,
            )
            .await?;
        let (fresh, stale): (Vec<_>, Vec<_>) = questions
            .into_iter()
            .partition(|q| !seen.contains(&q.question_id));
        let questions = if fresh.is_empty() { stale } else { fresh };
        let recorded = self
            .store
            .recorded_answers(ghost.session_id, ghost.player_id)
            .await?;
        let answers = questions
            .iter()
            .map(|q| {
                recorded
                    .iter()
                    .find(|a| a.question_id == q.question_id)
                    .map(|a| GhostAnswer {
                        choices: a.choices.clone(),
                        after_ms: a.elapsed_ms,
                    })
            })
            .collect();
        let ids: Vec<i64> = questions.iter().map(|q| q.question_id).collect();
        let match_id = format!("g{:016x}", rand::random::<u64>());
        let start_by = now_ms() + settings.countdown_ms;
        let now = self.now();
        let details = MatchDetails {
            players: vec![
                MatchedPlayer {
                    user_id: row.user_id,
                    rating: row.rating,
                },
                MatchedPlayer {
                    user_id: ghost.user_id,
                    rating: ghost_rating,
                },
            ],
            start_by,
            enqueued_at: vec![row.enqueued_at, now],
            topic: ghost.topic.clone(),
            questions: ids.clone(),
            ghost: Some(ghost.user_id),
        };
        let json = serde_json::to_string(&details)?;
        self.store
            .open_match(&match_id, ghost.topic.as_deref(), &json, now_ms())
            .await?;
        let started = async {
            let quiz = LiveQuiz {
                quiz_id: 0,
                questions: questions.into_iter().map(LiveQuestion::from).collect(),
                rules: ScoringRules::default(),
                reveal_ms: settings.reveal_ms,
                top_n: 10,
                hide_text_on_devices: false,
            };
            let created = self
                .live
                .create_hostless(
                    quiz,
                    Hostless {
                        members: vec![row.user_id, ghost.user_id],
                        start_by,
                        ghost: Some(Ghost {
                            account_id: ghost.user_id,
                            nickname: ghost.nickname.clone(),
                            answers,
                        }),
                    },
                )
                .await?;
            self.store
                .started(&match_id, created.session_id, &created.code, &json)
                .await?;
            self.store
                .ghost_played(row.user_id, ghost.user_id, now_ms())
                .await?;
            self.store.mark_seen(&[row.user_id], &ids, now_ms()).await?;
            anyhow::Ok(created.code)
        }
        .await;
        let code = match started {
            Ok(code) => code,
            Err(e) => {
                self.store.unclaim(&match_id).await?;
                return Err(e);
            }
        };
        metrics::counter!("matchmaking_ghost_matches_total").increment(1);
        Ok(Matched {
            match_id,
            code,
            topic: details.topic,
            players: details.players,
            start_by,
            waited_ms: (now - row.enqueued_at).max(0) as u64,
        })
    }

    /// An account's rating as the book has it now.
    pub async fn rating_of(&self, user_id: i64) -> Result<f64, StoreError> {
        Ok(self
            .book()
            .ratings(&[user_id])
            .await?
            .first()
            .copied()
            .unwrap_or(super::book::DEFAULT_RATING))
    }
}

/// The bank's difficulty (1-5) for a display rating: a new player's rating
/// ([`super::book::DEFAULT_RATING`], 1000) is 3, a step per 200 points.
pub fn difficulty_for(rating: f64) -> u8 {
    let steps = ((rating - super::book::DEFAULT_RATING) / 200.0).round();
    (3.0 + steps).clamp(1.0, 5.0) as u8
}

#[cfg(test)]
mod tests {
    use super::{chunk_sizes, difficulty_for, LARGEST_CHUNK};

    #[test]
    fn chunks_double_up_to_the_largest() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(10), vec![10]);
        assert_eq!(chunk_sizes(64), vec![64]);
        assert_eq!(chunk_sizes(100), vec![64, 36]);
        assert_eq!(chunk_sizes(2_000), vec![64, 128, 256, 512, 512, 512, 16]);
        let sizes = chunk_sizes(5_000);
        assert_eq!(sizes.iter().sum::<usize>(), 5_000);
        assert!(sizes.iter().all(|&s| s <= LARGEST_CHUNK));
    }

    #[test]
    fn difficulty_follows_the_rating() {
        assert_eq!(difficulty_for(1000.0), 3);
        assert_eq!(difficulty_for(500.0), 1);
        assert_eq!(difficulty_for(1220.0), 4);
        assert_eq!(difficulty_for(3000.0), 5);
    }
}
