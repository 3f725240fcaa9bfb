//! The in-memory boards: which exist, loading them from the database, applying changed rows,
//! and the views queries read (current, previous, or an older period loaded on demand).

use std::sync::Arc;
use std::time::{Duration, Instant};

use leaderboard_core::{
    Board, BoardConfig, Cursor, Entry, Error as BoardError, Order, RankedEntry, ResetSchedule,
    Standings, Window, Write, WriteOp,
};

use super::Ranked;
use crate::store::ranked as store;
use crate::store::StoreError;

/// How long a closed period loaded from the database is reused before it is read again (a
/// match recorded late into it also drops it at once on the gateway that sees the match).
pub const ARCHIVE_TTL: Duration = Duration::from_secs(30);
/// Closed periods kept loaded at most.
pub const ARCHIVE_MAX: usize = 32;
/// How many periods back a query may reach.
pub const MAX_PERIODS_AGO: u32 = 1000;
/// Longest board id accepted in a request, in bytes.
pub const MAX_BOARD_ID_BYTES: usize = 120;

/// A kind of global board.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BoardKind {
    /// `rating`: displayed rating, all time.
    Rating,
    /// `points-week`: match points per UTC week (Monday 00:00).
    PointsWeek,
    /// `points-day`: match points per UTC day.
    PointsDay,
    /// `topic:<topic>`: match points in one topic (lowercased), all time.
    Topic(String),
}

impl BoardKind {
    /// The board's id.
    pub fn id(&self) -> String {
        match self {
            BoardKind::Rating => "rating".into(),
            BoardKind::PointsWeek => "points-week".into(),
            BoardKind::PointsDay => "points-day".into(),
            BoardKind::Topic(t) => format!("topic:{t}"),
        }
    }

    /// Parses a board id (`None` when it names no board kind).
    pub fn parse(id: &str) -> Option<BoardKind> {
        match id {
            "rating" => Some(BoardKind::Rating),
            "points-week" => Some(BoardKind::PointsWeek),
            "points-day" => Some(BoardKind::PointsDay),
            _ => {
                let t = id.strip_prefix("topic:")?;
                let ok = !t.is_empty()
                    && t.trim() == t
                    && t.chars().count() <= super::MAX_TOPIC_CHARS
                    && !t.chars().any(char::is_control)
                    && t.to_lowercase() == t;
                ok.then(|| BoardKind::Topic(t.to_string()))
            }
        }
    }

    /// The board's reset schedule (`None`: all time).
    pub fn schedule(&self) -> Option<ResetSchedule> {
        match self {
            BoardKind::PointsWeek => Some(ResetSchedule::Weekly),
            BoardKind::PointsDay => Some(ResetSchedule::Daily),
            _ => None,
        }
    }

    /// A short human title.
    pub fn title(&self) -> String {
        match self {
            BoardKind::Rating => "Rating".into(),
            BoardKind::PointsWeek => "Points this week".into(),
            BoardKind::PointsDay => "Points today".into(),
            BoardKind::Topic(t) => format!("Points in {t}"),
        }
    }

    fn config(&self) -> BoardConfig {
        let c = BoardConfig::new()
            .order(Order::HighFirst)
            .default_op(WriteOp::Set)
            .partitions(1)
            .top_n_watch(100);
        match self.schedule() {
            Some(s) => c.reset(s),
            None => c,
        }
    }
}

/// The period of a board a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    /// Periods before the current one (0 = current).
    pub ago: u32,
    /// First ms of the period (`None`: all time).
    pub start: Option<i64>,
    /// First ms after it (`None`: all time).
    pub end: Option<i64>,
}

/// What a query reads: one period of one board.
#[derive(Clone)]
pub struct BoardView {
    /// The board.
    pub kind: BoardKind,
    /// Its period.
    pub period: PeriodSpan,
    /// When the board next resets (`None`: never).
    pub next_reset_ms: Option<i64>,
    standings: Arc<Standings>,
}

impl std::fmt::Debug for BoardView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoardView")
            .field("kind", &self.kind)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

/// One ranked row of a view.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// 1-based rank.
    pub rank: u64,
    /// The user.
    pub user_id: i64,
    /// Rating or points.
    pub score: i64,
    /// When the score was reached (Unix ms).
    pub at: i64,
}

fn ranking(e: &RankedEntry) -> Option<Ranking> {
    Some(Ranking {
        rank: e.rank,
        user_id: e.entry.member.parse().ok()?,
        score: e.entry.score,
        at: e.entry.at,
    })
}

impl BoardView {
    /// Members on the board in this period.
    pub fn count(&self) -> u64 {
        self.standings.count()
    }

    /// One page in rank order after `cursor` (a token from a previous page), and the next
    /// page's cursor. A token that does not decode is `Err` with the reason.
    pub fn page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Ranking>, Option<String>), String> {
        let cursor = match cursor {
            Some(t) => Some(Cursor::from_token(t).map_err(|e| e.to_string())?),
            None => None,
        };
        let page = self.standings.page_after(cursor.as_ref(), limit);
        Ok((
            page.entries.iter().filter_map(ranking).collect(),
            page.next_cursor.map(|c| c.to_token()),
        ))
    }

    /// The first `n`.
    pub fn top(&self, n: usize) -> Vec<Ranking> {
        self.standings.top(n).iter().filter_map(ranking).collect()
    }

    /// A user's row and percentile (100 = best), if they are on the board.
    pub fn me(&self, user_id: i64) -> Option<(Ranking, f64)> {
        let m = user_id.to_string();
        let e = self.standings.entry(&m)?;
        let pct = self.standings.percentile(&m)?;
        Some((ranking(&e)?, pct))
    }

    /// Up to `above` rows above the user, theirs, and up to `below` below (empty when they are
    /// not on the board).
    pub fn around(&self, user_id: i64, above: usize, below: usize) -> Vec<Ranking> {
        self.standings
            .around(&user_id.to_string(), above, below)
            .unwrap_or_default()
            .iter()
            .filter_map(ranking)
            .collect()
    }
}

/// A closed period loaded from the database.
pub(super) struct Archived {
    standings: Arc<Standings>,
    loaded: Instant,
}

/// The (board, period) keys a match ending at `ended_at` writes: the rating, the week, the
/// day, and the topic board if any.
pub(super) fn keys_of(ended_at: i64, topic_board: Option<&str>) -> Vec<(String, i64)> {
    let mut keys = vec![
        (BoardKind::Rating.id(), 0),
        (
            BoardKind::PointsWeek.id(),
            ResetSchedule::Weekly.window_of(ended_at).0,
        ),
        (
            BoardKind::PointsDay.id(),
            ResetSchedule::Daily.window_of(ended_at).0,
        ),
    ];
    if let Some(t) = topic_board {
        keys.push((t.to_string(), 0));
    }
    keys
}

impl Ranked {
    fn board(&self, kind: &BoardKind) -> Result<Arc<Board>, StoreError> {
        self.boards
            .get_or_create(kind.id(), kind.config())
            .map_err(|e| StoreError::Unexpected(format!("board {}: {e}", kind.id())))
    }

    pub(super) fn reset_boards(&self) {
        for id in self.boards.ids() {
            self.boards.drop_board(id.as_str());
        }
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.archive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Loads every board from the database: all ratings, the current and previous window of
    /// the windowed boards (by the clock now), every topic board.
    pub(super) async fn load(&self) -> Result<(), StoreError> {
        let now = self.now_ms();
        let pool = self.db.primary();
        self.board(&BoardKind::Rating)?;
        for r in store::all_ratings(pool).await? {
            self.apply_rating(&r);
        }
        for kind in [BoardKind::PointsWeek, BoardKind::PointsDay] {
            let board = self.board(&kind)?;
            board.roll(now);
            let Some(s) = kind.schedule() else { continue };
            let current = s.window_of(now).0;
            let previous = s.window_of(current.saturating_sub(1)).0;
            for period in [previous, current] {
                for row in store::points_of_period(pool, &kind.id(), period).await? {
                    self.apply_points(&row);
                }
            }
        }
        for id in store::boards_with_prefix(pool, "topic:").await? {
            if BoardKind::parse(&id).is_none() {
                continue;
            }
            for row in store::points_of_period(pool, &id, 0).await? {
                self.apply_points(&row);
            }
        }
        Ok(())
    }

    /// Re-reads the rows of `users` under `keys` from the primary and applies them.
    pub(super) async fn refresh(
        &self,
        users: &[i64],
        keys: &[(String, i64)],
    ) -> Result<(), StoreError> {
        let pool = self.db.primary();
        for (board, period) in keys {
            if *board == BoardKind::Rating.id() {
                for r in store::ratings(pool, users).await? {
                    self.apply_rating(&r);
                }
            } else {
                for row in store::points_of_users(pool, board, *period, users).await? {
                    self.apply_points(&row);
                }
            }
        }
        Ok(())
    }

    /// Runs `write` if `version` of (board, period, user) is newer than what was applied, and
    /// records it. The check and the write happen under one lock, so two appliers (the poller
    /// and a gateway's own refresh) cannot put an older row over a newer one.
    fn if_newer(&self, key: (String, i64, i64), version: i64, write: impl FnOnce()) {
        let mut v = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if v.get(&key).is_some_and(|&seen| seen >= version) {
            return;
        }
        write();
        v.insert(key, version);
    }

    fn apply_rating(&self, r: &store::RatingRow) {
        if r.games <= 0 {
            return;
        }
        let id = BoardKind::Rating.id();
        let Ok(board) = self.board(&BoardKind::Rating) else {
            return;
        };
        let mut changed = false;
        self.if_newer((id.clone(), 0, r.user_id), r.games, || {
            let w = Write::new(r.user_id.to_string(), r.display, r.updated_at);
            match board.write(w) {
                Ok(_) => changed = true,
                Err(e) => tracing::warn!(error = %e, "rating board write failed"),
            }
        });
        if changed {
            self.changed(&id);
        }
    }

    fn apply_points(&self, row: &store::PointsRow) {
        let Some(kind) = BoardKind::parse(&row.board) else {
            return;
        };
        let Ok(board) = self.board(&kind) else { return };
        let at = match kind.schedule() {
            // Inside the row's period, whatever the stored time says.
            Some(s) => {
                let (start, end) = s.window_of(row.period);
                row.updated_at.clamp(start, end.saturating_sub(1))
            }
            None => row.updated_at,
        };
        let mut result = None;
        self.if_newer(
            (row.board.clone(), row.period, row.user_id),
            row.matches,
            || result = Some(board.write(Write::new(row.user_id.to_string(), row.points, at))),
        );
        match result {
            None => {}
            Some(Ok(_)) => self.changed(&row.board),
            Some(Err(BoardError::WindowExpired { .. })) => {
                // A late match into a closed period: the next query reloads it.
                self.archive
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&(row.board.clone(), row.period));
            }
            Some(Err(e)) => tracing::warn!(error = %e, board = %row.board, "board write failed"),
        }
    }

    /// The ids of every board (the fixed ones, then the topics in id order).
    pub fn board_ids(&self) -> Vec<BoardKind> {
        let mut topics: Vec<String> = self
            .boards
            .ids()
            .into_iter()
            .map(|id| id.as_str().to_string())
            .filter(|id| id.starts_with("topic:"))
            .collect();
        topics.sort();
        let mut out = vec![
            BoardKind::Rating,
            BoardKind::PointsWeek,
            BoardKind::PointsDay,
        ];
        out.extend(topics.iter().filter_map(|t| BoardKind::parse(t)));
        out
    }

    /// The view of `kind` `ago` periods back (0 = current). `Ok(None)` when a board without
    /// a schedule is asked for a past period or a topic board does not exist.
    pub async fn view(&self, kind: &BoardKind, ago: u32) -> Result<Option<BoardView>, StoreError> {
        let now = self.now_ms();
        if let BoardKind::Topic(_) = kind {
            if self.boards.get(&kind.id()).is_none() {
                return Ok(None);
            }
        }
        let board = self.board(kind)?;
        let Some(schedule) = kind.schedule() else {
            if ago != 0 {
                return Ok(None);
            }
            return Ok(board.standings(Window::Current).map(|standings| BoardView {
                kind: kind.clone(),
                period: PeriodSpan {
                    ago: 0,
                    start: None,
                    end: None,
                },
                next_reset_ms: None,
                standings,
            }));
        };
        if board.roll(now) {
            self.changed(&kind.id());
        }
        let (cur_start, cur_end) = schedule.window_of(now);
        let (mut start, mut end) = (cur_start, cur_end);
        for _ in 0..ago.min(MAX_PERIODS_AGO) {
            (start, end) = schedule.window_of(start.saturating_sub(1));
        }
        let period = PeriodSpan {
            ago,
            start: Some(start),
            end: Some(end),
        };
        let held = [Window::Current, Window::Previous]
            .into_iter()
            .filter_map(|w| board.standings(w))
            .find(|s| s.span().start == start);
        let standings = match held {
            Some(s) => s,
            None => self.archived(kind, start).await?,
        };
        Ok(Some(BoardView {
            kind: kind.clone(),
            period,
            next_reset_ms: Some(cur_end),
            standings,
        }))
    }

    /// A closed period of a windowed board, from the cache or the database.
    async fn archived(&self, kind: &BoardKind, start: i64) -> Result<Arc<Standings>, StoreError> {
        let key = (kind.id(), start);
        if let Some(a) = self
            .archive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if a.loaded.elapsed() < ARCHIVE_TTL {
                return Ok(a.standings.clone());
            }
        }
        let loaded = Instant::now();
        let rows = store::points_of_period(self.db.primary(), &key.0, start).await?;
        let board = Board::new(key.0.clone(), BoardConfig::new().partitions(1))
            .map_err(|e| StoreError::Unexpected(e.to_string()))?;
        board
            .bulk_load(
                rows.iter()
                    .map(|r| Entry::new(r.user_id.to_string(), r.points, r.updated_at))
                    .collect(),
            )
            .map_err(|e| StoreError::Unexpected(e.to_string()))?;
        let standings = board
            .standings(Window::Current)
            .ok_or_else(|| StoreError::Unexpected("a board without a window".into()))?;
        let mut archive = self.archive.lock().unwrap_or_else(|e| e.into_inner());
        if archive.len() >= ARCHIVE_MAX {
            if let Some(oldest) = archive
                .iter()
                .min_by_key(|(_, a)| a.loaded)
                .map(|(k, _)| k.clone())
            {
                archive.remove(&oldest);
            }
        }
        archive.insert(
            key,
            Archived {
                standings: standings.clone(),
                loaded,
            },
        );
        Ok(standings)
    }
}
