//! Rated matches, ratings and leaderboard points (tables of `migrations/*/0200_ranked.sql`).
//!
//! The writes run inside the one transaction of [`crate::ranked::Ranked::record_match`]; the
//! reads feed the in-memory boards (startup load, refresh after a write, the poller that picks
//! up matches recorded by other gateways) and the pages of closed periods.

use sqlx::{AnyConnection, AnyPool, Row as _};

use super::{placeholders, StoreError};
use crate::db::Dialect;

/// A stored rating row.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingRow {
    /// The user.
    pub user_id: i64,
    /// Weng-Lin mean.
    pub mu: f64,
    /// Weng-Lin standard deviation.
    pub sigma: f64,
    /// The displayed rating.
    pub display: i64,
    /// Rated games played (also the row's version).
    pub games: i64,
    /// When the row last changed (the end of the user's last rated match, Unix ms).
    pub updated_at: i64,
}

/// A stored points row of one board and period.
#[derive(Debug, Clone, PartialEq)]
pub struct PointsRow {
    /// Board id (`points-week`, `points-day`, `topic:<topic>`).
    pub board: String,
    /// The period's start (Unix ms), 0 for all-time boards.
    pub period: i64,
    /// The user.
    pub user_id: i64,
    /// Points in the period.
    pub points: i64,
    /// Matches counted (also the row's version).
    pub matches: i64,
    /// When the points were last reached (Unix ms).
    pub updated_at: i64,
}

/// A recorded match as the poller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRow {
    /// The row's sequence number.
    pub seq: i64,
    /// The match's topic, if it had one.
    pub topic: Option<String>,
    /// When the match ended (Unix ms).
    pub ended_at: i64,
}

/// One player's result to store with the match.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// The user.
    pub user_id: i64,
    /// Placement used for the rating (abandons moved to last).
    pub placement: i64,
    /// Points scored.
    pub points: i64,
    /// Whether the player abandoned.
    pub abandoned: bool,
    /// Rating before.
    pub before: (f64, f64),
    /// Rating after.
    pub after: (f64, f64),
}

fn insert_ignore(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "INSERT IGNORE INTO",
        Dialect::Sqlite => "INSERT OR IGNORE INTO",
    }
}

/// Inserts the match row; `None` when `match_id` is already recorded (the unique key is
/// taken), else its sequence number.
pub async fn insert_match(
    conn: &mut AnyConnection,
    match_id: &str,
    topic: Option<&str>,
    ended_at: i64,
    recorded_at: i64,
    players: i64,
) -> Result<Option<i64>, StoreError> {
    let res = sqlx::query(
        "INSERT INTO ranked_matches (match_id, topic, ended_at, recorded_at, players) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(match_id.to_string())
    .bind(topic.map(str::to_string))
    .bind(ended_at)
    .bind(recorded_at)
    .bind(players)
    .execute(&mut *conn)
    .await;
    match res {
        Ok(r) => Ok(Some(super::inserted_id(conn, &r).await?)),
        Err(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::UniqueViolation => {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes sure each of `user_ids` (sorted, distinct) has a rating row, new ones at `default`
/// (one statement).
pub async fn ensure_ratings(
    conn: &mut AnyConnection,
    dialect: Dialect,
    user_ids: &[i64],
    default: (f64, f64, i64),
    at: i64,
) -> Result<(), StoreError> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "{} ranked_ratings (user_id, mu, sigma, display, games, updated_at) VALUES {}",
        insert_ignore(dialect),
        vec!["(?, ?, ?, ?, 0, ?)"; user_ids.len()].join(", ")
    );
    let mut q = sqlx::query(&sql);
    for &id in user_ids {
        q = q
            .bind(id)
            .bind(default.0)
            .bind(default.1)
            .bind(default.2)
            .bind(at);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

fn rating_row(r: &sqlx::any::AnyRow) -> Result<RatingRow, StoreError> {
    Ok(RatingRow {
        user_id: r.try_get("user_id")?,
        mu: r.try_get("mu")?,
        sigma: r.try_get("sigma")?,
        display: r.try_get("display")?,
        games: r.try_get("games")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The rating rows of `user_ids`, locked for update on MySQL (SQLite's writer lock, taken
/// by the transaction's first insert, already excludes other writers).
pub async fn lock_ratings(
    conn: &mut AnyConnection,
    dialect: Dialect,
    user_ids: &[i64],
) -> Result<Vec<RatingRow>, StoreError> {
    let lock = match dialect {
        Dialect::MySql => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "SELECT user_id, mu, sigma, display, games, updated_at FROM ranked_ratings \
         WHERE user_id IN ({}) ORDER BY user_id{lock}",
        placeholders(user_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in user_ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(rating_row)
        .collect()
}

/// Stores a new rating (one more game).
pub async fn update_rating(
    conn: &mut AnyConnection,
    user_id: i64,
    mu: f64,
    sigma: f64,
    display: i64,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ranked_ratings SET mu = ?, sigma = ?, display = ?, games = games + 1, \
         updated_at = ? WHERE user_id = ?",
    )
    .bind(mu)
    .bind(sigma)
    .bind(display)
    .bind(at)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds each `(user, points)` (one more match each) to the users' rows of `board` and
/// `period`, in one upsert.
pub async fn add_points(
    conn: &mut AnyConnection,
    dialect: Dialect,
    board: &str,
    period: i64,
    points: &[(i64, i64)],
    at: i64,
) -> Result<(), StoreError> {
    if points.is_empty() {
        return Ok(());
    }
    let values = vec!["(?, ?, ?, ?, 1, ?)"; points.len()].join(", ");
    let upsert = match dialect {
        Dialect::MySql => {
            "ON DUPLICATE KEY UPDATE points = points + VALUES(points), matches = matches + 1, \
             updated_at = GREATEST(updated_at, VALUES(updated_at))"
        }
        Dialect::Sqlite => {
            "ON CONFLICT (board, period, user_id) DO UPDATE SET \
             points = points + excluded.points, matches = matches + 1, \
             updated_at = MAX(updated_at, excluded.updated_at)"
        }
    };
    let sql = format!(
        "INSERT INTO ranked_points (board, period, user_id, points, matches, updated_at) \
         VALUES {values} {upsert}"
    );
    let mut q = sqlx::query(&sql);
    for &(user, pts) in points {
        q = q
            .bind(board.to_string())
            .bind(period)
            .bind(user)
            .bind(pts)
            .bind(at);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Stores one player's result of match `seq`.
pub async fn insert_result(
    conn: &mut AnyConnection,
    seq: i64,
    r: &ResultRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ranked_results (seq, user_id, placement, points, abandoned, mu_before, \
         sigma_before, mu_after, sigma_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(r.user_id)
    .bind(r.placement)
    .bind(r.points)
    .bind(i64::from(r.abandoned))
    .bind(r.before.0)
    .bind(r.before.1)
    .bind(r.after.0)
    .bind(r.after.1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The stored ratings of `user_ids` (users without a row are absent).
pub async fn ratings(pool: &AnyPool, user_ids: &[i64]) -> Result<Vec<RatingRow>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id, mu, sigma, display, games, updated_at FROM ranked_ratings \
         WHERE user_id IN ({})",
        placeholders(user_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in user_ids {
        q = q.bind(*id);
    }
    q.fetch_all(pool).await?.iter().map(rating_row).collect()
}

/// Every rating row that has at least one game (the rating board's startup load).
pub async fn all_ratings(pool: &AnyPool) -> Result<Vec<RatingRow>, StoreError> {
    sqlx::query(
        "SELECT user_id, mu, sigma, display, games, updated_at FROM ranked_ratings \
         WHERE games > 0",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(rating_row)
    .collect()
}

fn points_row(r: &sqlx::any::AnyRow) -> Result<PointsRow, StoreError> {
    Ok(PointsRow {
        board: super::text_column(r, "board")?,
        period: r.try_get("period")?,
        user_id: r.try_get("user_id")?,
        points: r.try_get("points")?,
        matches: r.try_get("matches")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Every row of one board and period.
pub async fn points_of_period(
    pool: &AnyPool,
    board: &str,
    period: i64,
) -> Result<Vec<PointsRow>, StoreError> {
    sqlx::query(
        "SELECT board, period, user_id, points, matches, updated_at FROM ranked_points \
         WHERE board = ? AND period = ?",
    )
    .bind(board.to_string())
    .bind(period)
    .fetch_all(pool)
    .await?
    .iter()
    .map(points_row)
    .collect()
}

/// The rows of `user_ids` in one board and period.
pub async fn points_of_users(
    pool: &AnyPool,
    board: &str,
    period: i64,
    user_ids: &[i64],
) -> Result<Vec<PointsRow>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT board, period, user_id, points, matches, updated_at FROM ranked_points \
         WHERE board = ? AND period = ? AND user_id IN ({})",
        placeholders(user_ids.len())
    );
    let mut q = sqlx::query(&sql).bind(board.to_string()).bind(period);
    for id in user_ids {
        q = q.bind(*id);
    }
    q.fetch_all(pool).await?.iter().map(points_row).collect()
}

/// The ids of every board that has rows whose id starts with `prefix`.
pub async fn boards_with_prefix(pool: &AnyPool, prefix: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT DISTINCT board FROM ranked_points WHERE board LIKE ?")
        .bind(format!("{prefix}%"))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| super::text_column(r, "board"))
        .collect()
}

/// The periods of `board` that have rows, latest first (at most `limit`).
pub async fn periods(pool: &AnyPool, board: &str, limit: u32) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT period FROM ranked_points WHERE board = ? ORDER BY period DESC LIMIT ?",
    )
    .bind(board.to_string())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("period")?))
        .collect()
}

/// The largest match sequence number (0 when none).
pub async fn max_seq(pool: &AnyPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT MAX(seq) AS s FROM ranked_matches")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("s")?.unwrap_or(0))
}

fn match_row(r: &sqlx::any::AnyRow) -> Result<MatchRow, StoreError> {
    let topic = match r.try_get::<Option<String>, _>("topic") {
        Ok(t) => t,
        Err(_) => r
            .try_get::<Option<Vec<u8>>, _>("topic")?
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    };
    Ok(MatchRow {
        seq: r.try_get("seq")?,
        topic,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Matches with a sequence number above `seq`, in order (at most `limit`).
pub async fn matches_after(
    pool: &AnyPool,
    seq: i64,
    limit: u32,
) -> Result<Vec<MatchRow>, StoreError> {
    sqlx::query(
        "SELECT seq, topic, ended_at FROM ranked_matches WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(seq)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .iter()
    .map(match_row)
    .collect()
}

/// The matches among `seqs` that exist (now).
pub async fn matches_in(pool: &AnyPool, seqs: &[i64]) -> Result<Vec<MatchRow>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT seq, topic, ended_at FROM ranked_matches WHERE seq IN ({})",
        placeholders(seqs.len())
    );
    let mut q = sqlx::query(&sql);
    for s in seqs {
        q = q.bind(*s);
    }
    q.fetch_all(pool).await?.iter().map(match_row).collect()
}

/// `(seq, user_id)` of every player of the matches `seqs`.
pub async fn players_of(pool: &AnyPool, seqs: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT seq, user_id FROM ranked_results WHERE seq IN ({})",
        placeholders(seqs.len())
    );
    let mut q = sqlx::query(&sql);
    for s in seqs {
        q = q.bind(*s);
    }
    q.fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("seq")?, r.try_get("user_id")?)))
        .collect()
}

/// How many results are stored for `user_id` (tests count rating updates with it).
pub async fn result_count(pool: &AnyPool, user_id: i64) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM ranked_results WHERE user_id = ?")
            .bind(user_id)
            .fetch_one(pool)
            .await?
            .try_get("n")?,
    )
}

/// Usernames of `user_ids` (missing users are absent).
pub async fn usernames(pool: &AnyPool, user_ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, username FROM users WHERE id IN ({})",
        placeholders(user_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in user_ids {
        q = q.bind(*id);
    }
    q.fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, super::text_column(r, "username")?)))
        .collect()
}
