//! Global leaderboards and ratings (`/v1/leaderboards`, `/v1/ratings/me`).
//!
//! Boards: `rating` (all time), `points-week` (resets Monday 00:00 UTC), `points-day` (resets
//! 00:00 UTC) and `topic:<topic>` (all time, one per topic). Every past period of a windowed
//! board stays readable with `period` (1 = the previous week or day, ...). Response types are
//! `#[non_exhaustive]`: the gateway may add fields within the `/v1` API.
//!
//! Unlike most of this module's types, the gateway does not serialize these structs itself
//! (it builds its own, which a non-exhaustive type of another crate would not let it do); the
//! repository's tests call every method below against a running gateway, so the two cannot
//! drift apart unnoticed.

use serde::{Deserialize, Serialize};

/// A period of a board.
///
/// ```
/// let p: livequiz_sdk::types::BoardPeriod =
///     serde_json::from_str(r#"{"ago":1,"start_ms":1796000000000,"end_ms":1796604800000}"#).unwrap();
/// assert_eq!(p.ago, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BoardPeriod {
    /// Periods before the current one (0 = current).
    pub ago: u32,
    /// First ms of the period (Unix ms); `None` for an all-time board.
    pub start_ms: Option<i64>,
    /// First ms after the period (Unix ms); `None` for an all-time board.
    pub end_ms: Option<i64>,
}

/// One board of `GET /v1/leaderboards`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// for b in client.leaderboards().await?.items {
///     println!("{} ({}): {} players, resets {:?}", b.title, b.id, b.total, b.reset);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BoardInfo {
    /// Board id: `rating`, `points-week`, `points-day` or `topic:<topic>`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// `weekly` (UTC, from Monday), `daily` (UTC), or `None` (all time).
    pub reset: Option<String>,
    /// The current period.
    pub period: BoardPeriod,
    /// When the board next resets (Unix ms); `None` when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in the current period.
    pub total: u64,
}

/// Response of `GET /v1/leaderboards`.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let boards = client.leaderboards().await?;
/// assert!(boards.items.iter().any(|b| b.id == "rating"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BoardList {
    /// The boards: rating, week, day, then every topic.
    pub items: Vec<BoardInfo>,
}

/// One row of a board.
///
/// ```
/// let e: livequiz_sdk::types::BoardEntry =
///     serde_json::from_str(r#"{"rank":1,"user_id":7,"username":"ann","score":40}"#).unwrap();
/// assert_eq!((e.rank, e.username.as_str(), e.score), (1, "ann", 40));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BoardEntry {
    /// 1-based rank (ties are ordered by who reached the score first).
    pub rank: u64,
    /// The player.
    pub user_id: i64,
    /// The player's username.
    pub username: String,
    /// The displayed rating (board `rating`) or points.
    pub score: i64,
}

/// Response of `GET /v1/leaderboards/{board}`: one page in rank order.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::BoardQuery;
/// let page = client.leaderboard("points-week", &BoardQuery::default()).await?;
/// for e in &page.items {
///     println!("#{} {} {}", e.rank, e.username, e.score);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BoardPage {
    /// Board id.
    pub board: String,
    /// The period read.
    pub period: BoardPeriod,
    /// When the board next resets (Unix ms); `None` when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in that period.
    pub total: u64,
    /// Rows in rank order.
    pub items: Vec<BoardEntry>,
    /// Pass as [`BoardQuery::cursor`] for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Response of `GET /v1/leaderboards/{board}/me`: the caller's standing.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let me = client.leaderboard_me("rating", None).await?;
/// match (me.entry, me.percentile) {
///     (Some(e), Some(p)) => println!("#{} of {} (top {:.1}%)", e.rank, me.total, 100.0 - p),
///     _ => println!("not on the board yet"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MyRank {
    /// Board id.
    pub board: String,
    /// The period read.
    pub period: BoardPeriod,
    /// When the board next resets (Unix ms); `None` when it never does.
    pub next_reset_ms: Option<i64>,
    /// Players on the board in that period.
    pub total: u64,
    /// The caller's row; `None` when the caller has no score there in that period.
    pub entry: Option<BoardEntry>,
    /// Share of the board at or below the caller, 0-100 (100 = first); `None` when not on it.
    pub percentile: Option<f64>,
}

/// Response of `GET /v1/leaderboards/{board}/around`: the caller's neighbours.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// use livequiz_sdk::types::AroundQuery;
/// let near = client
///     .leaderboard_around("points-day", &AroundQuery { above: Some(2), below: Some(2), ..Default::default() })
///     .await?;
/// println!("{} rows around me", near.items.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AroundMe {
    /// Board id.
    pub board: String,
    /// The period read.
    pub period: BoardPeriod,
    /// Players on the board in that period.
    pub total: u64,
    /// Rows above the caller, the caller's, rows below; empty when the caller is not on it.
    pub items: Vec<BoardEntry>,
}

/// Response of `GET /v1/ratings/me`: the caller's rating.
///
/// ```no_run
/// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
/// let r = client.my_rating().await?;
/// println!("rating {} after {} games (mu {:.2}, sigma {:.2})", r.display, r.games, r.mu, r.sigma);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rating {
    /// Estimated skill (Weng-Lin mean; new players 25).
    pub mu: f64,
    /// Its uncertainty (standard deviation; new players 25/3).
    pub sigma: f64,
    /// The shown rating, `1000 + 40 (mu - 3 sigma)` (the one the quick-match queue uses).
    pub display: i64,
    /// Rated games played.
    pub games: u32,
}

/// Query of `GET /v1/leaderboards/{board}` (`?period=&limit=&cursor=`); every field optional.
///
/// ```
/// use livequiz_sdk::types::BoardQuery;
/// let last_week = BoardQuery { period: Some(1), limit: Some(50), ..Default::default() };
/// assert_eq!(last_week.cursor, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardQuery {
    /// Periods back (0 = current, the default), at most 1000. Boards without a reset have only
    /// period 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// Page size, 1-100 (default 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// [`BoardPage::next_cursor`] of the previous page; `None` for the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Query of `GET /v1/leaderboards/{board}/around` (`?period=&above=&below=`).
///
/// ```
/// use livequiz_sdk::types::AroundQuery;
/// let q = AroundQuery { above: Some(3), ..Default::default() };
/// assert_eq!(q.below, None); // the gateway's default, 5
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AroundQuery {
    /// Periods back (0 = current, the default), at most 1000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// Rows above the caller, 0-50 (default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above: Option<u32>,
    /// Rows below the caller, 0-50 (default 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<u32>,
}
