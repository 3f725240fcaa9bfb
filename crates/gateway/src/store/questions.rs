//! Questions: validation of inputs, transactional writes (inside a caller's transaction, see
//! [`super::begin`]), listings, and batch loading into API objects and search documents.

use std::collections::HashMap;

use livequiz_sdk::types::{
    Choice, ChoiceInput, Question, QuestionFilter, QuestionInput, QuestionPatch,
};
use sqlx::{AnyConnection, AnyPool, Row as _};

use super::{bind_all, inserted_id, listing, placeholders, Arg, StoreError};
use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiError, Violations};
use crate::search::QuestionDoc;

/// Limits of question fields.
pub const MAX_TEXT: usize = 2000;
/// Topic length limit.
pub const MAX_TOPIC: usize = 100;
/// Explanation length limit.
pub const MAX_EXPLANATION: usize = 4000;
/// Choice text length limit.
pub const MAX_CHOICE: usize = 500;
/// Tags per question.
pub const MAX_TAGS: usize = 10;
/// Tag length limit.
pub const MAX_TAG: usize = 32;
/// Choices per question.
pub const MIN_CHOICES: usize = 2;
/// Choices per question.
pub const MAX_CHOICES: usize = 6;

/// Normalizes tags (trim, lowercase, dedupe) and validates them into `v` under `field`.
pub fn clean_tags(tags: &[String], field: &str, v: &mut Violations) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        v.add(
            field,
            format!("at most {MAX_TAGS} tags (got {})", tags.len()),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        // At most MAX_TAG characters as sent, not blank: what the document states; and as
        // stored (lowercasing lengthens a few letters, e.g. 'İ').
        let n = t.chars().count();
        let t = t.trim().to_lowercase();
        if t.is_empty() || n > MAX_TAG || t.chars().count() > MAX_TAG {
            v.add(
                format!("{field}[{i}]"),
                format!("must be 1-{MAX_TAG} characters"),
            );
        } else if t.contains(',') {
            v.add(format!("{field}[{i}]"), "must not contain ','");
        } else if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Validates a difficulty into `v`.
pub fn check_difficulty(d: u8, field: &str, v: &mut Violations) {
    if !(1..=5).contains(&d) {
        v.add(field, format!("must be between 1 and 5 (got {d})"));
    }
}

/// Validates the choices of a question.
pub fn check_choices(choices: &[ChoiceInput], v: &mut Violations) {
    if !(MIN_CHOICES..=MAX_CHOICES).contains(&choices.len()) {
        v.add(
            "choices",
            format!(
                "must have {MIN_CHOICES}-{MAX_CHOICES} choices (got {})",
                choices.len()
            ),
        );
    }
    if !choices.is_empty() && !choices.iter().any(|c| c.correct) {
        v.add("choices", "at least one choice must be correct");
    }
    let mut seen: Vec<String> = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        v.text(&format!("choices[{i}].text"), &c.text, 1, MAX_CHOICE);
        let key = c.text.trim().to_lowercase();
        if !key.is_empty() && seen.contains(&key) {
            v.add(format!("choices[{i}].text"), "duplicates another choice");
        }
        seen.push(key);
        if let Some(id) = c.id {
            if ids.contains(&id) {
                v.add(
                    format!("choices[{i}].id"),
                    "the same choice id is listed twice",
                );
            }
            ids.push(id);
        }
    }
}

/// Validates a full question input; returns the cleaned tags.
pub fn validate(q: &QuestionInput) -> Result<Vec<String>, ApiError> {
    let mut v = Violations::new();
    v.text("text", &q.text, 1, MAX_TEXT);
    v.text("topic", &q.topic, 1, MAX_TOPIC);
    let tags = clean_tags(&q.tags, "tags", &mut v);
    check_difficulty(q.difficulty, "difficulty", &mut v);
    v.text("explanation", &q.explanation, 0, MAX_EXPLANATION);
    check_choices(&q.choices, &mut v);
    v.finish()?;
    Ok(tags)
}

/// Replaces the tags of question `id`.
pub async fn write_tags(
    conn: &mut AnyConnection,
    id: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM question_tags WHERE question_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for t in tags {
        sqlx::query("INSERT INTO question_tags (question_id, tag) VALUES (?, ?)")
            .bind(id)
            .bind(t)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts a new question with its choices and tags; returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    author_id: i64,
    q: &QuestionInput,
    tags: &[String],
) -> Result<i64, StoreError> {
    let now = now_ms();
    let res = sqlx::query(
        "INSERT INTO questions (author_id, text, topic, difficulty, explanation, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(author_id)
    .bind(q.text.trim())
    .bind(q.topic.trim())
    .bind(i64::from(q.difficulty))
    .bind(q.explanation.trim())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let id = inserted_id(conn, &res).await?;
    for (pos, c) in q.choices.iter().enumerate() {
        insert_choice(conn, id, pos as i64, c).await?;
    }
    write_tags(conn, id, tags).await?;
    Ok(id)
}

/// Inserts one choice; returns its id.
pub async fn insert_choice(
    conn: &mut AnyConnection,
    question_id: i64,
    position: i64,
    c: &ChoiceInput,
) -> Result<i64, StoreError> {
    let res = sqlx::query(
        "INSERT INTO choices (question_id, position, text, is_correct) VALUES (?, ?, ?, ?)",
    )
    .bind(question_id)
    .bind(position)
    .bind(c.text.trim())
    .bind(i64::from(c.correct))
    .execute(&mut *conn)
    .await?;
    inserted_id(conn, &res).await
}

/// Locks question `id` for writing (an `UPDATE` of `updated_at`, which takes the row lock on
/// MySQL and the database write lock on SQLite up front, avoiding lock upgrades), and returns
/// its author; 404 if it does not exist.
pub async fn lock(conn: &mut AnyConnection, id: i64) -> Result<i64, StoreError> {
    let res = sqlx::query("UPDATE questions SET updated_at = ? WHERE id = ?")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if res.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("question {id}")));
    }
    let author: i64 = sqlx::query("SELECT author_id FROM questions WHERE id = ?")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("author_id")?;
    Ok(author)
}

/// The choices of question `id` as (id, is_correct) in display order.
pub async fn choice_keys(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Vec<(i64, bool)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, is_correct FROM choices WHERE question_id = ? ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get::<i64, _>("is_correct")? != 0)))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Whose answer keys (the `correct` flags of choices, and explanations) a caller may read.
///
/// The key of a question belongs to its author: any other reader could be a player of a
/// live game of it, so authors do not read each other's keys (and a quiz made of someone
/// else's question does not show its key either). Admins read every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAccess {
    /// Every key: admins, and the write responses of a question's own author.
    All,
    /// The keys of the questions this user wrote (an author).
    AuthoredBy(i64),
    /// No key (players).
    None,
}

impl KeyAccess {
    /// What `user` may read: the rule of `AuthUser::require_owner` (the author's role is
    /// checked too, so a demoted author reads like a player).
    pub fn of(user: &AuthUser) -> Self {
        match user.role {
            livequiz_sdk::types::Role::Admin => KeyAccess::All,
            r if r.can_author() => KeyAccess::AuthoredBy(user.id),
            _ => KeyAccess::None,
        }
    }

    /// Whether the key of a question by `author_id` is shown.
    pub fn reveals(self, author_id: i64) -> bool {
        match self {
            KeyAccess::All => true,
            KeyAccess::AuthoredBy(id) => id == author_id,
            KeyAccess::None => false,
        }
    }
}

/// Loads questions by id from `pool`, in the order of `ids` (missing ids are skipped), with
/// `correct` flags and explanations where `keys` allows them.
pub async fn load_many(
    pool: &AnyPool,
    ids: &[i64],
    keys: KeyAccess,
) -> Result<Vec<Question>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let args: Vec<Arg> = ids.iter().map(|i| Arg::Int(*i)).collect();
    let ph = placeholders(ids.len());
    let qsql = format!(
        "SELECT id, author_id, text, topic, difficulty, explanation, created_at, updated_at \
         FROM questions WHERE id IN ({ph})"
    );
    let rows = bind_all(sqlx::query(&qsql), &args).fetch_all(pool).await?;
    let csql = format!(
        "SELECT id, question_id, text, is_correct FROM choices WHERE question_id IN ({ph}) \
         ORDER BY question_id, position, id"
    );
    let crows = bind_all(sqlx::query(&csql), &args).fetch_all(pool).await?;
    let tsql = format!(
        "SELECT question_id, tag FROM question_tags WHERE question_id IN ({ph}) ORDER BY question_id, tag"
    );
    let trows = bind_all(sqlx::query(&tsql), &args).fetch_all(pool).await?;

    let mut choices: HashMap<i64, Vec<(Choice, bool)>> = HashMap::new();
    for r in &crows {
        let correct = r.try_get::<i64, _>("is_correct")? != 0;
        choices.entry(r.try_get("question_id")?).or_default().push((
            Choice {
                id: r.try_get("id")?,
                text: r.try_get("text")?,
                correct: None,
            },
            correct,
        ));
    }
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &trows {
        tags.entry(r.try_get("question_id")?)
            .or_default()
            .push(r.try_get("tag")?);
    }
    let mut by_id: HashMap<i64, Question> = HashMap::new();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let author_id: i64 = r.try_get("author_id")?;
        let reveal = keys.reveals(author_id);
        let cs = choices.remove(&id).unwrap_or_default();
        let n_correct = cs.iter().filter(|(_, c)| *c).count();
        let difficulty: i64 = r.try_get("difficulty")?;
        by_id.insert(
            id,
            Question {
                id,
                author_id,
                text: r.try_get("text")?,
                topic: r.try_get("topic")?,
                tags: tags.remove(&id).unwrap_or_default(),
                difficulty: difficulty.clamp(0, 255) as u8,
                multiple_correct: n_correct > 1,
                explanation: if reveal {
                    Some(r.try_get("explanation")?)
                } else {
                    None
                },
                choices: cs
                    .into_iter()
                    .map(|(c, correct)| Choice {
                        correct: reveal.then_some(correct),
                        ..c
                    })
                    .collect(),
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            },
        );
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Loads one question; 404 if missing.
pub async fn load_one(pool: &AnyPool, id: i64, keys: KeyAccess) -> Result<Question, StoreError> {
    load_many(pool, &[id], keys)
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("question {id}")))
}

/// The texts of the choices of question `id` (trimmed, lower case) but choice `except`: a new
/// or changed choice must not duplicate them.
pub async fn choice_texts(
    conn: &mut AnyConnection,
    id: i64,
    except: Option<i64>,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT id, text FROM choices WHERE question_id = ?")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let cid: i64 = r.try_get("id")?;
        if Some(cid) != except {
            out.push(r.try_get::<String, _>("text")?.trim().to_lowercase());
        }
    }
    Ok(out)
}

/// Adds a choice after the others of question `id`; returns its id.
pub async fn add_choice(
    conn: &mut AnyConnection,
    id: i64,
    c: &ChoiceInput,
) -> Result<i64, StoreError> {
    let position: i64 = sqlx::query("SELECT COUNT(*) AS n FROM choices WHERE question_id = ?")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    insert_choice(conn, id, position, c).await
}

/// Changes the text and correctness of choice `choice_id`.
pub async fn update_choice(
    conn: &mut AnyConnection,
    choice_id: i64,
    c: &ChoiceInput,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE choices SET text = ?, is_correct = ? WHERE id = ?")
        .bind(c.text.trim())
        .bind(i64::from(c.correct))
        .bind(choice_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes choice `choice_id`.
pub async fn delete_choice(conn: &mut AnyConnection, choice_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM choices WHERE id = ?")
        .bind(choice_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces question `id` with `input` (its choices now `existing`, as read by
/// [`choice_keys`]): choices listed with an id are kept and updated, choices without one
/// added, the others deleted; the tags become `tags`.
pub async fn replace(
    conn: &mut AnyConnection,
    id: i64,
    input: &QuestionInput,
    existing: &[(i64, bool)],
    tags: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE questions SET text = ?, topic = ?, difficulty = ?, explanation = ? WHERE id = ?",
    )
    .bind(input.text.trim())
    .bind(input.topic.trim())
    .bind(i64::from(input.difficulty))
    .bind(input.explanation.trim())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    for (eid, _) in existing {
        if !input.choices.iter().any(|c| c.id == Some(*eid)) {
            delete_choice(conn, *eid).await?;
        }
    }
    for (pos, c) in input.choices.iter().enumerate() {
        match c.id {
            Some(cid) => {
                sqlx::query(
                    "UPDATE choices SET position = ?, text = ?, is_correct = ? WHERE id = ?",
                )
                .bind(pos as i64)
                .bind(c.text.trim())
                .bind(i64::from(c.correct))
                .bind(cid)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                insert_choice(conn, id, pos as i64, c).await?;
            }
        }
    }
    write_tags(conn, id, tags).await
}

/// Changes the fields `p` sets of question `id`; its tags become `tags` when given.
pub async fn patch(
    conn: &mut AnyConnection,
    id: i64,
    p: &QuestionPatch,
    tags: Option<&[String]>,
) -> Result<(), StoreError> {
    let mut sets: Vec<&str> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some(t) = &p.text {
        sets.push("text = ?");
        args.push(Arg::Text(t.trim().into()));
    }
    if let Some(t) = &p.topic {
        sets.push("topic = ?");
        args.push(Arg::Text(t.trim().into()));
    }
    if let Some(d) = p.difficulty {
        sets.push("difficulty = ?");
        args.push(Arg::Int(d.into()));
    }
    if let Some(e) = &p.explanation {
        sets.push("explanation = ?");
        args.push(Arg::Text(e.trim().into()));
    }
    if !sets.is_empty() {
        args.push(Arg::Int(id));
        let sql = format!("UPDATE questions SET {} WHERE id = ?", sets.join(", "));
        bind_all(sqlx::query(&sql), &args)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(tags) = tags {
        write_tags(conn, id, tags).await?;
    }
    Ok(())
}

/// A quiz that uses question `id`, if any (such a question cannot be deleted).
pub async fn used_by(conn: &mut AnyConnection, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query("SELECT quiz_id FROM quiz_questions WHERE question_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("quiz_id"))
            .transpose()?,
    )
}

/// Deletes question `id` (its choices, tags and practice answers go with it).
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM questions WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One page of the questions matching `f`, newest first, with the total (keys as `keys`
/// allows). `f`'s paging is the caller's (`limit`, `offset`).
pub async fn list(
    pool: &AnyPool,
    f: &QuestionFilter,
    keys: KeyAccess,
    limit: u32,
    offset: u64,
) -> Result<(i64, Vec<Question>), StoreError> {
    let mut wh = vec!["1 = 1".to_string()];
    let mut args = Vec::new();
    if let Some(t) = f.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        wh.push("LOWER(q.topic) = ?".into());
        args.push(Arg::Text(t.to_lowercase()));
    }
    if let Some(t) = f.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        wh.push(
            "EXISTS (SELECT 1 FROM question_tags t WHERE t.question_id = q.id AND t.tag = ?)"
                .into(),
        );
        args.push(Arg::Text(t.to_lowercase()));
    }
    if let Some(d) = f.difficulty {
        wh.push("q.difficulty = ?".into());
        args.push(Arg::Int(d.into()));
    }
    if let Some(a) = f.author_id {
        wh.push("q.author_id = ?".into());
        args.push(Arg::Int(a));
    }
    let from = format!("questions q WHERE {}", wh.join(" AND "));
    let (total, rows) = listing(pool, "q.id AS id", &from, "q.id", &args, limit, offset).await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, load_many(pool, &ids, keys).await?))
}

/// The search document of question `id`; `None` if it does not exist.
pub async fn search_doc(pool: &AnyPool, id: i64) -> Result<Option<QuestionDoc>, StoreError> {
    let Some(row) =
        sqlx::query("SELECT id, text, topic, difficulty, explanation FROM questions WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    let choices =
        sqlx::query("SELECT text FROM choices WHERE question_id = ? ORDER BY position, id")
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("text"))
            .collect::<Result<Vec<_>, _>>()?;
    let tags = sqlx::query("SELECT tag FROM question_tags WHERE question_id = ? ORDER BY tag")
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("tag"))
        .collect::<Result<Vec<_>, _>>()?;
    let difficulty: i64 = row.try_get("difficulty")?;
    Ok(Some(QuestionDoc {
        id,
        text: row.try_get("text")?,
        choices,
        topic: row.try_get("topic")?,
        tags,
        difficulty: difficulty.to_string(),
        explanation: row.try_get("explanation")?,
    }))
}

/// Every question id, ascending.
pub async fn all_ids(pool: &AnyPool) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query("SELECT id FROM questions ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Number of questions.
pub async fn count(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM questions")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}
