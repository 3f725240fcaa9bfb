//! Bulk writes and reads of the question bank: all-or-nothing imports in multi-row `INSERT`s
//! and exports in the import's own shape.
//!
//! An import of thousands of questions in single-row statements spends its time in round
//! trips; here each statement carries [`CHUNK`] questions (or their choices, or their tags),
//! and the whole batch is one transaction, so a failure stores nothing.

use std::collections::HashMap;

use livequiz_sdk::types::{ChoiceInput, QuestionInput};
use sqlx::{AnyConnection, AnyPool, Row as _};

use super::{bind_all, inserted_id, placeholders, Arg, StoreError};
use crate::db::{now_ms, Dialect};

/// Questions per multi-row statement: 500 x 7 columns stays far below SQLite's 32766 bound
/// variables and MySQL's 65535 placeholders, also for their choices (up to 6 x 4 columns each).
pub const CHUNK: usize = 500;

/// `(?, ?, ...)` rows for a multi-row `VALUES`.
fn value_rows(rows: usize, cols: usize) -> String {
    let one = format!("({})", placeholders(cols));
    vec![one.as_str(); rows].join(", ")
}

/// Imports validated questions (`tags[i]` are the cleaned tags of `questions[i]`) by
/// `author_id` in one transaction, all or nothing; returns their ids in input order.
pub async fn import(
    pool: &AnyPool,
    dialect: Dialect,
    author_id: i64,
    questions: &[QuestionInput],
    tags: &[Vec<String>],
) -> Result<Vec<i64>, StoreError> {
    let mut tx = pool.begin().await?;
    let ids = insert_batch(&mut tx, dialect, author_id, questions, tags).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Inserts validated questions (`tags[i]` are the cleaned tags of `questions[i]`) inside the
/// caller's transaction; returns their ids in input order.
///
/// The ids of one multi-row `INSERT` are consecutive on both engines (SQLite under its write
/// lock, InnoDB's auto-increment for a statement with a known row count); the range is
/// checked anyway, and a mismatch fails the import (rolled back) instead of linking choices
/// to the wrong question.
async fn insert_batch(
    conn: &mut AnyConnection,
    dialect: Dialect,
    author_id: i64,
    questions: &[QuestionInput],
    tags: &[Vec<String>],
) -> Result<Vec<i64>, StoreError> {
    let now = now_ms();
    let mut ids = Vec::with_capacity(questions.len());
    for (ci, chunk) in questions.chunks(CHUNK).enumerate() {
        let mut args = Vec::with_capacity(chunk.len() * 7);
        for q in chunk {
            args.extend([
                Arg::Int(author_id),
                Arg::Text(q.text.trim().into()),
                Arg::Text(q.topic.trim().into()),
                Arg::Int(q.difficulty.into()),
                Arg::Text(q.explanation.trim().into()),
                Arg::Int(now),
                Arg::Int(now),
            ]);
        }
        let sql = format!(
            "INSERT INTO questions (author_id, text, topic, difficulty, explanation, created_at, \
             updated_at) VALUES {}",
            value_rows(chunk.len(), 7)
        );
        let res = bind_all(sqlx::query(&sql), &args)
            .execute(&mut *conn)
            .await?;
        let reported = inserted_id(conn, &res).await?;
        let n = chunk.len() as i64;
        // MySQL reports the first id of a multi-row insert, SQLite the last.
        let first = match dialect {
            Dialect::MySql => reported,
            Dialect::Sqlite => reported - n + 1,
        };
        let found: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM questions WHERE id BETWEEN ? AND ? AND author_id = ? \
             AND created_at = ?",
        )
        .bind(first)
        .bind(first + n - 1)
        .bind(author_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        if found != n {
            return Err(StoreError::Unexpected(format!(
                "import chunk {ci}: expected {n} consecutive question ids from {first}, found {found}"
            )));
        }
        ids.extend(first..first + n);
    }
    insert_children(conn, questions, tags, &ids).await?;
    Ok(ids)
}

/// Multi-row inserts of the choices and tags of freshly inserted questions `ids`.
async fn insert_children(
    conn: &mut AnyConnection,
    questions: &[QuestionInput],
    tags: &[Vec<String>],
    ids: &[i64],
) -> Result<(), StoreError> {
    let choices: Vec<(i64, i64, &ChoiceInput)> = questions
        .iter()
        .zip(ids)
        .flat_map(|(q, id)| {
            q.choices
                .iter()
                .enumerate()
                .map(move |(pos, c)| (*id, pos as i64, c))
        })
        .collect();
    for chunk in choices.chunks(CHUNK * 2) {
        let mut args = Vec::with_capacity(chunk.len() * 4);
        for (id, pos, c) in chunk {
            args.extend([
                Arg::Int(*id),
                Arg::Int(*pos),
                Arg::Text(c.text.trim().into()),
                Arg::Int(c.correct.into()),
            ]);
        }
        let sql = format!(
            "INSERT INTO choices (question_id, position, text, is_correct) VALUES {}",
            value_rows(chunk.len(), 4)
        );
        bind_all(sqlx::query(&sql), &args)
            .execute(&mut *conn)
            .await?;
    }
    let pairs: Vec<(i64, &String)> = tags
        .iter()
        .zip(ids)
        .flat_map(|(ts, id)| ts.iter().map(move |t| (*id, t)))
        .collect();
    for chunk in pairs.chunks(CHUNK * 2) {
        let mut args = Vec::with_capacity(chunk.len() * 2);
        for (id, t) in chunk {
            args.extend([Arg::Int(*id), Arg::Text((*t).clone())]);
        }
        let sql = format!(
            "INSERT INTO question_tags (question_id, tag) VALUES {}",
            value_rows(chunk.len(), 2)
        );
        bind_all(sqlx::query(&sql), &args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every question of `author` (all questions when `None`), oldest first, as import inputs
/// with their answer keys (the caller checked that it may read them).
pub async fn export(pool: &AnyPool, author: Option<i64>) -> Result<Vec<QuestionInput>, StoreError> {
    let (filter, args) = match author {
        Some(a) => ("WHERE author_id = ?", vec![Arg::Int(a)]),
        None => ("", Vec::new()),
    };
    let rows = bind_all(
        sqlx::query(&format!(
            "SELECT id, text, topic, difficulty, explanation FROM questions {filter} ORDER BY id"
        )),
        &args,
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<i64> = chunk
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let id_args: Vec<Arg> = ids.iter().map(|i| Arg::Int(*i)).collect();
        let ph = placeholders(ids.len());
        let crows = bind_all(
            sqlx::query(&format!(
                "SELECT question_id, text, is_correct FROM choices WHERE question_id IN ({ph}) \
                 ORDER BY question_id, position, id"
            )),
            &id_args,
        )
        .fetch_all(pool)
        .await?;
        let trows = bind_all(
            sqlx::query(&format!(
                "SELECT question_id, tag FROM question_tags WHERE question_id IN ({ph}) \
                 ORDER BY question_id, tag"
            )),
            &id_args,
        )
        .fetch_all(pool)
        .await?;
        let mut choices: HashMap<i64, Vec<ChoiceInput>> = HashMap::new();
        for r in &crows {
            choices
                .entry(r.try_get("question_id")?)
                .or_default()
                .push(ChoiceInput {
                    id: None,
                    text: r.try_get("text")?,
                    correct: r.try_get::<i64, _>("is_correct")? != 0,
                });
        }
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for r in &trows {
            tags.entry(r.try_get("question_id")?)
                .or_default()
                .push(r.try_get("tag")?);
        }
        for (r, id) in chunk.iter().zip(&ids) {
            let difficulty: i64 = r.try_get("difficulty")?;
            out.push(QuestionInput {
                text: r.try_get("text")?,
                topic: r.try_get("topic")?,
                tags: tags.remove(id).unwrap_or_default(),
                difficulty: difficulty.clamp(0, 255) as u8,
                explanation: r.try_get("explanation")?,
                choices: choices.remove(id).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
