//! Quizzes: validation, item writes and loading.

use livequiz_sdk::types::{Quiz, QuizInput, QuizItem, QuizSummary};
use sqlx::{AnyConnection, AnyPool, Row as _};

use super::questions::{load_many, KeyAccess};
use super::{bind_all, placeholders, Arg};
use crate::error::{ApiError, Violations};

/// Questions per quiz.
pub const MAX_ITEMS: usize = 100;
/// Shortest time limit (ms).
pub const MIN_TIME_MS: u32 = 1_000;
/// Longest time limit (ms).
pub const MAX_TIME_MS: u32 = 600_000;

/// Validates the shape of a quiz input (question existence is checked against the database).
pub fn validate(q: &QuizInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    v.text("title", &q.title, 1, 200);
    v.text("description", &q.description, 0, 2000);
    if q.questions.is_empty() || q.questions.len() > MAX_ITEMS {
        v.add(
            "questions",
            format!(
                "must list 1-{MAX_ITEMS} questions (got {})",
                q.questions.len()
            ),
        );
    }
    let mut seen = Vec::new();
    for (i, item) in q.questions.iter().enumerate() {
        if !(MIN_TIME_MS..=MAX_TIME_MS).contains(&item.time_limit_ms) {
            v.add(
                format!("questions[{i}].time_limit_ms"),
                format!("must be between {MIN_TIME_MS} and {MAX_TIME_MS} ms"),
            );
        }
        if seen.contains(&item.question_id) {
            v.add(
                format!("questions[{i}].question_id"),
                "the question is listed twice",
            );
        }
        seen.push(item.question_id);
    }
    v.finish()
}

/// Checks that every listed question exists (422 naming the missing ones).
pub async fn check_questions_exist(
    conn: &mut AnyConnection,
    q: &QuizInput,
) -> Result<(), ApiError> {
    let ids: Vec<i64> = q.questions.iter().map(|i| i.question_id).collect();
    let args: Vec<Arg> = ids.iter().map(|i| Arg::Int(*i)).collect();
    let sql = format!(
        "SELECT id FROM questions WHERE id IN ({})",
        placeholders(ids.len())
    );
    let found = bind_all(sqlx::query(&sql), &args)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut v = Violations::new();
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            v.add(
                format!("questions[{i}].question_id"),
                format!("question {id} does not exist"),
            );
        }
    }
    v.finish()
}

/// Replaces the items of quiz `id`.
pub async fn write_items(conn: &mut AnyConnection, id: i64, q: &QuizInput) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM quiz_questions WHERE quiz_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (pos, item) in q.questions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO quiz_questions (quiz_id, position, question_id, time_limit_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(pos as i64)
        .bind(item.question_id)
        .bind(i64::from(item.time_limit_ms))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Loads a quiz with its questions (answer keys as `keys` allows); 404 if missing.
pub async fn load(pool: &AnyPool, id: i64, keys: KeyAccess) -> Result<Quiz, ApiError> {
    let row = sqlx::query(
        "SELECT id, author_id, title, description, created_at, updated_at FROM quizzes WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("quiz {id} not found")))?;
    let items = sqlx::query(
        "SELECT position, question_id, time_limit_ms FROM quiz_questions WHERE quiz_id = ? ORDER BY position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut layout = Vec::with_capacity(items.len());
    for r in &items {
        layout.push((
            r.try_get::<i64, _>("position")?,
            r.try_get::<i64, _>("question_id")?,
            r.try_get::<i64, _>("time_limit_ms")?,
        ));
    }
    let ids: Vec<i64> = layout.iter().map(|l| l.1).collect();
    let mut questions = load_many(pool, &ids, keys).await?.into_iter();
    let mut out = Vec::with_capacity(layout.len());
    for (pos, _qid, limit) in layout {
        // load_many keeps the order of `ids`; a question cannot vanish (RESTRICT), so they align.
        if let Some(q) = questions.next() {
            out.push(QuizItem {
                position: pos as u32,
                time_limit_ms: limit as u32,
                question: q,
            });
        }
    }
    Ok(Quiz {
        id,
        author_id: row.try_get("author_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        questions: out,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Maps a summary row (id, author_id, title, description, created_at, n).
pub fn summary_from_row(r: &sqlx::any::AnyRow) -> Result<QuizSummary, ApiError> {
    Ok(QuizSummary {
        id: r.try_get("id")?,
        author_id: r.try_get("author_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        question_count: r.try_get::<i64, _>("n")? as u32,
        created_at: r.try_get("created_at")?,
    })
}
