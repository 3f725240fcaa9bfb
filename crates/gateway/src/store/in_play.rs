//! Questions in play: which questions belong to a live session that has not finished.
//!
//! A live game's answer key must stay secret until each reveal, but practice mode shows the
//! key of any question after one answer, and search matches the hidden explanation. So the
//! practice endpoint refuses, and search hides, a question while a session of a quiz holding
//! it is unfinished. The sessions table is the shared truth for every gateway (a session runs
//! in one gateway process, the others only see the database), so these are database queries,
//! answered from the primary: a session created a millisecond ago on another gateway counts.
//!
//! A session is unfinished while its row says `status = 'live'` and it is younger than
//! [`MAX_GAME_AGE_MS`]: a gateway that crashes with nobody resuming its sessions leaves rows
//! that never become `finished`, and they must not lock their questions forever.

use sqlx::{AnyPool, Row as _};

use super::StoreError;
use crate::db::now_ms;

/// Age after which a session still marked live is taken as abandoned (48 hours). The longest
/// quiz (100 questions of 10 minutes, with 1-minute reveals) plays in about 18 hours; a
/// session parked after its gateway's crash can be resumed for a day after its last
/// checkpoint write.
pub const MAX_GAME_AGE_MS: i64 = 48 * 3_600_000;

/// Rows of `quiz_questions` whose quiz has an unfinished session: `qq.question_id` is the
/// question. Uses `quiz_questions_question` then `live_sessions_quiz`.
const IN_PLAY: &str = "quiz_questions qq JOIN live_sessions s ON s.quiz_id = qq.quiz_id \
     AND s.status = 'live' AND s.created_at > ?";

/// The id of an unfinished live session playing question `id`, if any.
pub async fn session_playing(pool: &AnyPool, id: i64) -> Result<Option<i64>, StoreError> {
    let sql = format!("SELECT s.id AS id FROM {IN_PLAY} WHERE qq.question_id = ? LIMIT 1");
    let row = sqlx::query(&sql)
        .bind(now_ms() - MAX_GAME_AGE_MS)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Every question an unfinished live session plays, with its author (one query; a few
/// rows per running session). Uses `live_sessions_live` then `quiz_questions`' primary key.
pub async fn all_playing(pool: &AnyPool) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT DISTINCT qq.question_id AS id, q.author_id AS author_id FROM {IN_PLAY} \
         JOIN questions q ON q.id = qq.question_id"
    );
    Ok(sqlx::query(&sql)
        .bind(now_ms() - MAX_GAME_AGE_MS)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("author_id")?)))
        .collect::<Result<_, sqlx::Error>>()?)
}
