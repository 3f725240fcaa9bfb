//! Quizzes: validation, writes (inside a caller's transaction, see [`super::begin`]),
//! listings, attempts, and loading (for the API, and for a live game in one query).

use livequiz_sdk::types::{Attempt, Quiz, QuizInput, QuizItem, QuizSummary};
use sqlx::{AnyConnection, AnyPool, Row as _};

use super::questions::{load_many, KeyAccess};
use super::{bind_all, inserted_id, listing, placeholders, Arg, StoreError};
use crate::db::now_ms;
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

/// The questions `q` lists that do not exist, as (position in the list, question id).
pub async fn missing_questions(
    conn: &mut AnyConnection,
    q: &QuizInput,
) -> Result<Vec<(usize, i64)>, StoreError> {
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
    Ok(ids
        .into_iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .collect())
}

/// Creates a quiz by `author_id` from `q` (whose questions the caller checked exist, see
/// [`missing_questions`]); returns its id.
pub async fn create(
    conn: &mut AnyConnection,
    author_id: i64,
    q: &QuizInput,
) -> Result<i64, StoreError> {
    let now = now_ms();
    let res = sqlx::query(
        "INSERT INTO quizzes (author_id, title, description, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(author_id)
    .bind(q.title.trim())
    .bind(q.description.trim())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let id = inserted_id(conn, &res).await?;
    write_items(conn, id, q).await?;
    Ok(id)
}

/// Locks quiz `id` for writing (an `UPDATE` of `updated_at`, which takes the row lock up
/// front) and returns its author; [`StoreError::NotFound`] if it does not exist.
pub async fn lock(conn: &mut AnyConnection, id: i64) -> Result<i64, StoreError> {
    let res = sqlx::query("UPDATE quizzes SET updated_at = ? WHERE id = ?")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if res.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("quiz {id}")));
    }
    Ok(sqlx::query("SELECT author_id FROM quizzes WHERE id = ?")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("author_id")?)
}

/// Replaces the title, description and items of quiz `id` with `q`.
pub async fn update(conn: &mut AnyConnection, id: i64, q: &QuizInput) -> Result<(), StoreError> {
    sqlx::query("UPDATE quizzes SET title = ?, description = ? WHERE id = ?")
        .bind(q.title.trim())
        .bind(q.description.trim())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    write_items(conn, id, q).await
}

/// Deletes quiz `id` with its attempts (its questions stay).
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM quizzes WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One page of quizzes (of `author` when given), newest first, with the total.
pub async fn list(
    pool: &AnyPool,
    author: Option<i64>,
    limit: u32,
    offset: u64,
) -> Result<(i64, Vec<QuizSummary>), StoreError> {
    let (from, args) = match author {
        Some(a) => ("quizzes z WHERE z.author_id = ?", vec![Arg::Int(a)]),
        None => ("quizzes z", vec![]),
    };
    let select = "z.id AS id, z.author_id AS author_id, z.title AS title, \
         z.description AS description, z.created_at AS created_at, \
         (SELECT COUNT(*) FROM quiz_questions qq WHERE qq.quiz_id = z.id) AS n";
    let (total, rows) = listing(pool, select, from, "z.id", &args, limit, offset).await?;
    let items = rows.iter().map(summary).collect::<Result<_, _>>()?;
    Ok((total, items))
}

/// Starts an attempt by `user_id` at quiz `quiz_id`; `None` if the quiz does not exist.
pub async fn start_attempt(
    pool: &AnyPool,
    quiz_id: i64,
    user_id: i64,
) -> Result<Option<Attempt>, StoreError> {
    let exists = sqlx::query("SELECT id FROM quizzes WHERE id = ?")
        .bind(quiz_id)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let now = now_ms();
    let mut conn = pool.acquire().await?;
    let res =
        sqlx::query("INSERT INTO quiz_attempts (quiz_id, user_id, started_at) VALUES (?, ?, ?)")
            .bind(quiz_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    Ok(Some(Attempt {
        id: inserted_id(&mut conn, &res).await?,
        quiz_id,
        user_id,
        started_at: now,
    }))
}

/// Replaces the items of quiz `id`.
pub async fn write_items(
    conn: &mut AnyConnection,
    id: i64,
    q: &QuizInput,
) -> Result<(), StoreError> {
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

/// Loads a quiz with its questions (answer keys as `keys` allows); [`StoreError::NotFound`]
/// if missing.
pub async fn load(pool: &AnyPool, id: i64, keys: KeyAccess) -> Result<Quiz, StoreError> {
    let row = sqlx::query(
        "SELECT id, author_id, title, description, created_at, updated_at FROM quizzes WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("quiz {id}")))?;
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
fn summary(r: &sqlx::any::AnyRow) -> Result<QuizSummary, StoreError> {
    Ok(QuizSummary {
        id: r.try_get("id")?,
        author_id: r.try_get("author_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        question_count: r.try_get::<i64, _>("n")? as u32,
        created_at: r.try_get("created_at")?,
    })
}

/// A question as a live game plays it: its text, its choices in display order, which of them
/// are correct (0-based positions), and its time limit in the quiz.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayableQuestion {
    /// The question's id.
    pub question_id: i64,
    /// The question's text.
    pub text: String,
    /// Choice texts in display order.
    pub choices: Vec<String>,
    /// Positions (in `choices`) of the correct choices.
    pub correct: Vec<u32>,
    /// Time to answer in this quiz (ms, at least 1).
    pub time_limit_ms: u32,
}

impl From<PlayableQuestion> for live_engine::LiveQuestion {
    fn from(q: PlayableQuestion) -> Self {
        live_engine::LiveQuestion {
            question_id: q.question_id,
            text: q.text,
            choices: q.choices,
            correct: q.correct,
            time_limit_ms: q.time_limit_ms,
        }
    }
}

/// The questions of quiz `id` in quiz order with their answer keys, in one query (the quiz,
/// its items, their questions and choices joined); `None` if the quiz does not exist. Read it
/// from the primary when the caller just edited the quiz (read-your-own-write).
pub async fn playable(
    pool: &AnyPool,
    id: i64,
) -> Result<Option<Vec<PlayableQuestion>>, StoreError> {
    let rows = sqlx::query(
        "SELECT qq.position AS position, qq.question_id AS question_id, q.text AS text, \
         qq.time_limit_ms AS time_limit_ms, c.text AS choice, c.is_correct AS is_correct \
         FROM quizzes z \
         LEFT JOIN quiz_questions qq ON qq.quiz_id = z.id \
         LEFT JOIN questions q ON q.id = qq.question_id \
         LEFT JOIN choices c ON c.question_id = qq.question_id \
         WHERE z.id = ? ORDER BY qq.position, c.position, c.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<PlayableQuestion> = Vec::new();
    let mut position = None;
    for r in &rows {
        // The quiz's own row when it has no items: every item column is NULL.
        let Some(pos) = r.try_get::<Option<i64>, _>("position")? else {
            continue;
        };
        if position != Some(pos) {
            position = Some(pos);
            let limit: i64 = r.try_get("time_limit_ms")?;
            out.push(PlayableQuestion {
                question_id: r.try_get("question_id")?,
                text: r.try_get::<Option<String>, _>("text")?.unwrap_or_default(),
                choices: Vec::new(),
                correct: Vec::new(),
                time_limit_ms: limit.clamp(1, i64::from(u32::MAX)) as u32,
            });
        }
        let Some(q) = out.last_mut() else { continue };
        if let Some(choice) = r.try_get::<Option<String>, _>("choice")? {
            if r.try_get::<Option<i64>, _>("is_correct")?.unwrap_or(0) != 0 {
                q.correct.push(q.choices.len() as u32);
            }
            q.choices.push(choice);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use livequiz_sdk::types::{ChoiceInput, QuestionInput, QuizItemInput};

    fn question(text: &str, correct: &[bool]) -> QuestionInput {
        QuestionInput {
            text: text.into(),
            topic: "t".into(),
            tags: Vec::new(),
            difficulty: 1,
            explanation: String::new(),
            choices: correct
                .iter()
                .enumerate()
                .map(|(i, &correct)| ChoiceInput {
                    id: None,
                    text: format!("{text}-{i}"),
                    correct,
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn a_quiz_is_loaded_for_play_in_quiz_order_with_its_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::db::Db::connect(&crate::config::Config::for_tests(dir.path()))
            .await
            .expect("sqlite");
        db.migrate().await.expect("migrate");
        let pool = db.primary();
        let mut conn = pool.acquire().await.expect("connection");
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, created_at) \
             VALUES (1, 'ann', 'x', 'author', 0)",
        )
        .execute(&mut *conn)
        .await
        .expect("user");
        let a = super::super::questions::insert(&mut conn, 1, &question("a", &[false, true]), &[])
            .await
            .expect("a");
        let b = super::super::questions::insert(
            &mut conn,
            1,
            &question("b", &[true, false, true]),
            &[],
        )
        .await
        .expect("b");
        for (id, title) in [(7, "two"), (8, "empty")] {
            sqlx::query(
                "INSERT INTO quizzes (id, author_id, title, description, created_at, updated_at) \
                 VALUES (?, 1, ?, '', 0, 0)",
            )
            .bind(id)
            .bind(title)
            .execute(&mut *conn)
            .await
            .expect("quiz");
        }
        let items = QuizInput {
            title: "two".into(),
            description: String::new(),
            // b first: quiz order, not id order.
            questions: vec![
                QuizItemInput {
                    question_id: b,
                    time_limit_ms: 20_000,
                },
                QuizItemInput {
                    question_id: a,
                    time_limit_ms: 5_000,
                },
            ],
        };
        write_items(&mut conn, 7, &items).await.expect("items");
        drop(conn);
        let got = playable(pool, 7).await.expect("load").expect("quiz 7");
        assert_eq!(
            got,
            vec![
                PlayableQuestion {
                    question_id: b,
                    text: "b".into(),
                    choices: vec!["b-0".into(), "b-1".into(), "b-2".into()],
                    correct: vec![0, 2],
                    time_limit_ms: 20_000,
                },
                PlayableQuestion {
                    question_id: a,
                    text: "a".into(),
                    choices: vec!["a-0".into(), "a-1".into()],
                    correct: vec![1],
                    time_limit_ms: 5_000,
                },
            ]
        );
        assert_eq!(playable(pool, 8).await.expect("load"), Some(Vec::new()));
        assert_eq!(playable(pool, 9).await.expect("load"), None);
        db.close().await;
    }
}
