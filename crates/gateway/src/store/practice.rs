//! Practice answers (`practice_answers`, with their selected choices in `answer_choices`).

use sqlx::{AnyPool, Row as _};

use super::{inserted_id, StoreError};
use crate::db::now_ms;

/// What checking a practice answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerKey {
    /// The question's explanation.
    pub explanation: String,
    /// Its choices as (id, correct), in display order.
    pub choices: Vec<(i64, bool)>,
}

/// The answer key of question `id`; `None` if it does not exist.
pub async fn key(pool: &AnyPool, id: i64) -> Result<Option<AnswerKey>, StoreError> {
    let Some(q) = sqlx::query("SELECT explanation FROM questions WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT id, is_correct FROM choices WHERE question_id = ? ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let choices = rows
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get::<i64, _>("is_correct")? != 0)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Some(AnswerKey {
        explanation: q.try_get("explanation")?,
        choices,
    }))
}

/// A quiz attempt as an answer in it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptOf {
    /// Whose attempt it is.
    pub user_id: i64,
    /// Whether the attempt's quiz holds the question answered.
    pub holds_question: bool,
}

/// Attempt `attempt_id` as seen by an answer to question `question_id`; `None` if there is no
/// such attempt.
pub async fn attempt(
    pool: &AnyPool,
    attempt_id: i64,
    question_id: i64,
) -> Result<Option<AttemptOf>, StoreError> {
    let row = sqlx::query(
        "SELECT a.user_id AS user_id, \
         (SELECT COUNT(*) FROM quiz_questions qq WHERE qq.quiz_id = a.quiz_id \
          AND qq.question_id = ?) AS n \
         FROM quiz_attempts a WHERE a.id = ?",
    )
    .bind(question_id)
    .bind(attempt_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(AttemptOf {
            user_id: r.try_get("user_id")?,
            holds_question: r.try_get::<i64, _>("n")? > 0,
        })
    })
    .transpose()
}

/// A practice answer to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAnswer<'a> {
    /// Who answered.
    pub user_id: i64,
    /// The question answered.
    pub question_id: i64,
    /// The quiz attempt it belongs to, if any.
    pub attempt_id: Option<i64>,
    /// Whether it is right.
    pub correct: bool,
    /// Time taken (ms), if the client measured it.
    pub time_ms: Option<u64>,
    /// The selected choices.
    pub choice_ids: &'a [i64],
}

/// Records `a` with its selected choices in one transaction; returns its id.
/// [`StoreError::Conflict`] when its attempt already has an answer to the question.
pub async fn record(pool: &AnyPool, a: &NewAnswer<'_>) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    let res = sqlx::query(
        "INSERT INTO practice_answers (user_id, question_id, attempt_id, correct, time_ms, \
         answered_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(a.user_id)
    .bind(a.question_id)
    .bind(a.attempt_id)
    .bind(i64::from(a.correct))
    .bind(a.time_ms.map(|t| t.min(i64::MAX as u64) as i64))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let answer_id = inserted_id(&mut tx, &res).await?;
    for c in a.choice_ids {
        sqlx::query("INSERT INTO answer_choices (answer_id, choice_id) VALUES (?, ?)")
            .bind(answer_id)
            .bind(c)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(answer_id)
}
