//! Global leaderboards (`crate::ranked`): `GET /v1/leaderboards` (every board with its period
//! and next reset), `GET /v1/leaderboards/{board}` (top N with cursor paging, any past period),
//! `.../me` (rank and percentile), `.../around` (neighbours), `.../watch` (the top N pushed as
//! server-sent events when it changes) and `GET /v1/ratings/me`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use livequiz_sdk::types::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::ranked::boards::{Ranking, MAX_PERIODS_AGO};
use crate::ranked::{BoardKind, BoardView, Ranked};
use crate::state::AppState;
use crate::store::ranked as store;

/// Default page size of a board.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size of a board.
pub const MAX_LIMIT: u32 = 100;
/// Largest `above` / `below` of `around`.
pub const MAX_AROUND: u32 = 50;
/// Largest top N a watcher may ask for.
pub const MAX_WATCH: u32 = 50;
/// Longest cursor token.
pub const MAX_CURSOR_CHARS: usize = 512;
/// The least time between two pushes to one watcher.
pub const WATCH_MIN_INTERVAL: Duration = Duration::from_millis(250);
/// How often a watcher's board is checked without a change notice (a window reset).
pub const WATCH_RECHECK: Duration = Duration::from_secs(1);

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_boards))
        .routes(routes!(board_page))
        .routes(routes!(my_rank))
        .routes(routes!(around_me))
        .routes(routes!(watch))
        .routes(routes!(my_rating))
}

/// One board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardInfo {
    /// Board id: `rating`, `points-week`, `points-day` or `topic:<topic>`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// `weekly` (UTC, from Monday), `daily` (UTC), or null (all time).
    pub reset: Option<String>,
    /// The current period.
    pub period: PeriodInfo,
    /// When the board next resets (Unix ms), null when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in the current period.
    pub total: u64,
}

/// Every board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardList {
    /// The boards: rating, week, day, then every topic.
    pub items: Vec<BoardInfo>,
}

/// A period of a board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PeriodInfo {
    /// Periods before the current one (0 = current).
    pub ago: u32,
    /// First ms of the period (Unix ms), null for all time.
    pub start_ms: Option<i64>,
    /// First ms after the period, null for all time.
    pub end_ms: Option<i64>,
}

/// One row of a board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardEntry {
    /// 1-based rank (ties are ordered by who reached the score first).
    #[schema(minimum = 1)]
    pub rank: u64,
    /// The player.
    pub user_id: i64,
    /// The player's username.
    pub username: String,
    /// Displayed rating (`rating`) or points.
    pub score: i64,
}

/// A page of a board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardPage {
    /// Board id.
    pub board: String,
    /// The period read.
    #[schema(value_type = PeriodInfo)]
    pub period: PeriodJson,
    /// When the board next resets (Unix ms), null when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in that period.
    pub total: u64,
    /// Rows in rank order.
    pub items: Vec<BoardEntry>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// [`PeriodInfo`] with equality (for the watch stream's change check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodJson {
    /// Periods ago.
    pub ago: u32,
    /// First ms.
    pub start_ms: Option<i64>,
    /// First ms after.
    pub end_ms: Option<i64>,
}

/// The caller's standing on a board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyRank {
    /// Board id.
    pub board: String,
    /// The period read.
    #[schema(value_type = PeriodInfo)]
    pub period: PeriodJson,
    /// When the board next resets (Unix ms), null when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in that period.
    pub total: u64,
    /// The caller's row; null when not on the board.
    pub entry: Option<BoardEntry>,
    /// Share of the board at or below the caller, 0-100 (100 = first); null when not on it.
    #[schema(minimum = 0, maximum = 100)]
    pub percentile: Option<f64>,
}

/// The caller's neighbours on a board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AroundMe {
    /// Board id.
    pub board: String,
    /// The period read.
    #[schema(value_type = PeriodInfo)]
    pub period: PeriodJson,
    /// Players on the board in that period.
    pub total: u64,
    /// Rows above the caller, the caller's, rows below; empty when not on the board.
    pub items: Vec<BoardEntry>,
}

/// A player's rating.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RatingInfo {
    /// Estimated skill (Weng-Lin mean; new players 25).
    pub mu: f64,
    /// Its uncertainty (standard deviation; new players 25/3).
    pub sigma: f64,
    /// The shown rating, `1000 + 40 (mu - 3 sigma)`.
    pub display: i64,
    /// Rated games played.
    pub games: u32,
}

/// `?period=&limit=&cursor=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Periods back (0 = current, the default; 1 = previous, ...), at most 1000. Boards
    /// without a reset have only period 0.
    #[param(minimum = 0, maximum = 1000)]
    pub period: Option<u32>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (hex).
    #[param(max_length = 512, pattern = "^([0-9a-f]{2})*$")]
    pub cursor: Option<String>,
}

/// `?period=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// Periods back (0 = current, the default), at most 1000.
    #[param(minimum = 0, maximum = 1000)]
    pub period: Option<u32>,
}

/// `?period=&above=&below=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AroundQuery {
    /// Periods back (0 = current, the default), at most 1000.
    #[param(minimum = 0, maximum = 1000)]
    pub period: Option<u32>,
    /// Rows above the caller, 0-50 (default 5).
    #[param(minimum = 0, maximum = 50)]
    pub above: Option<u32>,
    /// Rows below the caller, 0-50 (default 5).
    #[param(minimum = 0, maximum = 50)]
    pub below: Option<u32>,
}

/// `?limit=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// How many of the top to push, 1-50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

fn period_json(v: &BoardView) -> PeriodJson {
    PeriodJson {
        ago: v.period.ago,
        start_ms: v.period.start,
        end_ms: v.period.end,
    }
}

fn check_period(v: &mut Violations, period: Option<u32>) -> u32 {
    let p = period.unwrap_or(0);
    if p > MAX_PERIODS_AGO {
        v.add("period", format!("must be at most {MAX_PERIODS_AGO}"));
    }
    p
}

/// The board `id` names, or 404.
fn kind_of(id: &str) -> Result<BoardKind, ApiError> {
    BoardKind::parse(id).ok_or_else(|| ApiError::NotFound(format!("no leaderboard {id:?}")))
}

/// The view of `id` `ago` periods back, or 404.
async fn view_of(ranked: &Ranked, id: &str, ago: u32) -> Result<BoardView, ApiError> {
    let kind = kind_of(id)?;
    ranked.view(&kind, ago).await?.ok_or_else(|| {
        if ago > 0 && kind.schedule().is_none() {
            ApiError::NotFound(format!("leaderboard {id:?} has no past periods"))
        } else {
            ApiError::NotFound(format!("no leaderboard {id:?}"))
        }
    })
}

/// Rows with usernames.
async fn entries(state: &AppState, rows: &[Ranking]) -> Result<Vec<BoardEntry>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let names: HashMap<i64, String> = store::usernames(state.db.primary(), &ids)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .iter()
        .map(|r| BoardEntry {
            rank: r.rank,
            user_id: r.user_id,
            username: names
                .get(&r.user_id)
                .cloned()
                .unwrap_or_else(|| format!("user {}", r.user_id)),
            score: r.score,
        })
        .collect())
}

/// Every board with its current period, next reset and size.
#[utoipa::path(get, path = "/v1/leaderboards", tag = "leaderboards", security(("bearer" = [])),
    responses((status = 200, body = BoardList), (status = 401, body = Problem)))]
pub async fn list_boards(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<ApiJson<BoardList>, ApiError> {
    let mut items = Vec::new();
    for kind in state.ranked.board_ids() {
        let Some(v) = state.ranked.view(&kind, 0).await? else {
            continue;
        };
        items.push(BoardInfo {
            id: kind.id(),
            title: kind.title(),
            reset: kind.schedule().map(|s| {
                match s {
                    leaderboard_core::ResetSchedule::Weekly => "weekly",
                    _ => "daily",
                }
                .to_string()
            }),
            period: PeriodInfo {
                ago: 0,
                start_ms: v.period.start,
                end_ms: v.period.end,
            },
            next_reset_ms: v.next_reset_ms,
            total: v.count(),
        });
    }
    Ok(ApiJson(BoardList { items }))
}

/// A page of a board in rank order: the first page without `cursor`, the next ones with the
/// previous page's `next_cursor`. `period` reads a past period (every one stays readable).
#[utoipa::path(get, path = "/v1/leaderboards/{board}", tag = "leaderboards", security(("bearer" = [])),
    params(("board" = String, Path, description = "`rating`, `points-week`, `points-day` or `topic:<topic>` (lowercase)",
            max_length = 120, pattern = "^(rating|points-week|points-day|topic:.+)$"), PageQuery),
    responses((status = 200, body = BoardPage), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "no such board, or a past period of an all-time board"),
              (status = 422, body = Problem, description = "a parameter is out of range or the cursor does not decode")))]
pub async fn board_page(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(board): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<ApiJson<BoardPage>, ApiError> {
    let mut v = Violations::new();
    let ago = check_period(&mut v, q.period);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        v.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    if let Some(c) = &q.cursor {
        if c.len() > MAX_CURSOR_CHARS {
            v.add(
                "cursor",
                format!("must be at most {MAX_CURSOR_CHARS} characters"),
            );
        }
    }
    v.finish()?;
    let view = view_of(&state.ranked, &board, ago).await?;
    let (rows, next) = view
        .page(
            q.cursor.as_deref().filter(|c| !c.is_empty()),
            limit as usize,
        )
        .map_err(|e| {
            let mut v = Violations::new();
            v.add("cursor", format!("not a cursor of this board: {e}"));
            v.finish().err().unwrap_or(ApiError::BadRequest(e))
        })?;
    Ok(ApiJson(BoardPage {
        board: view.kind.id(),
        period: period_json(&view),
        next_reset_ms: view.next_reset_ms,
        total: view.count(),
        items: entries(&state, &rows).await?,
        next_cursor: next,
    }))
}

/// The caller's rank, score and percentile on a board (entry and percentile null when the
/// caller has no score there in that period).
#[utoipa::path(get, path = "/v1/leaderboards/{board}/me", tag = "leaderboards", security(("bearer" = [])),
    params(("board" = String, Path, description = "board id (see `GET /v1/leaderboards/{board}`)",
            max_length = 120, pattern = "^(rating|points-week|points-day|topic:.+)$"), PeriodQuery),
    responses((status = 200, body = MyRank), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "no such board, or a past period of an all-time board"),
              (status = 422, body = Problem)))]
pub async fn my_rank(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(board): ApiPath<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<ApiJson<MyRank>, ApiError> {
    let mut v = Violations::new();
    let ago = check_period(&mut v, q.period);
    v.finish()?;
    let view = view_of(&state.ranked, &board, ago).await?;
    let me = view.me(user.id);
    let entry = match &me {
        Some((row, _)) => entries(&state, std::slice::from_ref(row)).await?.pop(),
        None => None,
    };
    Ok(ApiJson(MyRank {
        board: view.kind.id(),
        period: period_json(&view),
        next_reset_ms: view.next_reset_ms,
        total: view.count(),
        entry,
        percentile: me.map(|(_, p)| p),
    }))
}

/// The rows around the caller on a board.
#[utoipa::path(get, path = "/v1/leaderboards/{board}/around", tag = "leaderboards", security(("bearer" = [])),
    params(("board" = String, Path, description = "board id (see `GET /v1/leaderboards/{board}`)",
            max_length = 120, pattern = "^(rating|points-week|points-day|topic:.+)$"), AroundQuery),
    responses((status = 200, body = AroundMe), (status = 401, body = Problem),
              (status = 404, body = Problem, description = "no such board, or a past period of an all-time board"),
              (status = 422, body = Problem)))]
pub async fn around_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(board): ApiPath<String>,
    ApiQuery(q): ApiQuery<AroundQuery>,
) -> Result<ApiJson<AroundMe>, ApiError> {
    let mut v = Violations::new();
    let ago = check_period(&mut v, q.period);
    let above = q.above.unwrap_or(5);
    let below = q.below.unwrap_or(5);
    if above > MAX_AROUND {
        v.add("above", format!("must be at most {MAX_AROUND}"));
    }
    if below > MAX_AROUND {
        v.add("below", format!("must be at most {MAX_AROUND}"));
    }
    v.finish()?;
    let view = view_of(&state.ranked, &board, ago).await?;
    let rows = view.around(user.id, above as usize, below as usize);
    Ok(ApiJson(AroundMe {
        board: view.kind.id(),
        period: period_json(&view),
        total: view.count(),
        items: entries(&state, &rows).await?,
    }))
}

/// The top N of a board's current period as server-sent events: an event `top` (a
/// `BoardPage` without cursor) at once and whenever the top N changes (a score, or the
/// window resetting), at most 4 a second. Comments keep the stream alive; a client reconnects
/// when it ends. Read with `fetch` and the `Authorization` header.
#[utoipa::path(get, path = "/v1/leaderboards/{board}/watch", tag = "leaderboards", security(("bearer" = [])),
    params(("board" = String, Path, description = "board id (see `GET /v1/leaderboards/{board}`)",
            max_length = 120, pattern = "^(rating|points-week|points-day|topic:.+)$"), WatchQuery),
    responses((status = 200, description = "`text/event-stream` of `top` events, each a `BoardPage` as JSON",
               content_type = "text/event-stream", body = String),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem, description = "this gateway serves its maximum of watchers; see Retry-After")))]
pub async fn watch(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(board): ApiPath<String>,
    ApiQuery(q): ApiQuery<WatchQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if limit == 0 || limit > MAX_WATCH {
        let mut v = Violations::new();
        v.add("limit", format!("must be between 1 and {MAX_WATCH}"));
        v.finish()?;
    }
    let view = view_of(&state.ranked, &board, 0).await?;
    let permit = state.ranked.watch_permit().ok_or_else(|| {
        ApiError::Overloaded(
            "this gateway serves its maximum of leaderboard watchers".into(),
            Duration::from_secs(5),
        )
    })?;
    let kind = view.kind.clone();
    let changes = state.ranked.changes(&kind.id());
    let start = WatchState {
        state,
        kind,
        limit: limit as usize,
        changes,
        last: None,
        first: true,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(start, |mut w| async move {
        loop {
            if !w.first {
                tokio::select! {
                    _ = w.changes.changed() => {}
                    _ = tokio::time::sleep(WATCH_RECHECK) => {}
                }
                tokio::time::sleep(WATCH_MIN_INTERVAL).await;
            }
            w.first = false;
            let page = match top_page(&w.state, &w.kind, w.limit).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = %e, "leaderboard watch read failed");
                    continue;
                }
            };
            if w.last.as_ref() == Some(&page) {
                continue;
            }
            let event = Event::default()
                .event("top")
                .json_data(&page)
                .unwrap_or_else(|_| Event::default().comment("unencodable"));
            w.last = Some(page);
            return Some((Ok(event), w));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

struct WatchState {
    state: AppState,
    kind: BoardKind,
    limit: usize,
    changes: tokio::sync::watch::Receiver<u64>,
    last: Option<BoardPage>,
    first: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

async fn top_page(state: &AppState, kind: &BoardKind, n: usize) -> Result<BoardPage, ApiError> {
    let view = state
        .ranked
        .view(kind, 0)
        .await?
        .ok_or_else(|| ApiError::NotFound("board gone".into()))?;
    let rows = view.top(n);
    Ok(BoardPage {
        board: kind.id(),
        period: period_json(&view),
        next_reset_ms: view.next_reset_ms,
        total: view.count(),
        items: entries(state, &rows).await?,
        next_cursor: None,
    })
}

/// The caller's rating (the initial one before any rated game).
#[utoipa::path(get, path = "/v1/ratings/me", tag = "leaderboards", security(("bearer" = [])),
    responses((status = 200, body = RatingInfo), (status = 401, body = Problem)))]
pub async fn my_rating(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<ApiJson<RatingInfo>, ApiError> {
    let r = state.ranked.rating(user.id).await?;
    Ok(ApiJson(RatingInfo {
        mu: r.mu,
        sigma: r.sigma,
        display: r.display,
        games: r.games,
    }))
}
