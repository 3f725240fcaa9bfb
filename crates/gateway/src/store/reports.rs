//! What the practice reports read: a user's attempts and latest answers, and a quiz's
//! attempts and per-question answer distribution. Sums and means are computed here, in Rust
//! (see `crate::db` on why not in SQL).

use std::collections::HashMap;

use livequiz_sdk::types::{AnswerRecord, ChoiceStats, QuestionStats, QuizReport};
use sqlx::{AnyPool, Row as _};

use super::questions::KeyAccess;
use super::stats::ratio;
use super::StoreError;

/// Number of quiz attempts user `id` started.
pub async fn attempt_count(pool: &AnyPool, id: i64) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM quiz_attempts WHERE user_id = ?")
        .bind(id)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    Ok(n.max(0) as u64)
}

/// The latest `limit` practice answers of user `id`, newest first.
pub async fn latest_answers(
    pool: &AnyPool,
    id: i64,
    limit: u32,
) -> Result<Vec<AnswerRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.id AS id, a.question_id AS question_id, q.topic AS topic, \
         a.attempt_id AS attempt_id, a.correct AS correct, a.time_ms AS time_ms, \
         a.answered_at AS answered_at \
         FROM practice_answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.user_id = ? ORDER BY a.id DESC LIMIT ?",
    )
    .bind(id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let mut answers = Vec::with_capacity(rows.len());
    for r in &rows {
        answers.push(AnswerRecord {
            answer_id: r.try_get("id")?,
            question_id: r.try_get("question_id")?,
            topic: r.try_get("topic")?,
            attempt_id: r.try_get("attempt_id")?,
            correct: r.try_get::<i64, _>("correct")? != 0,
            time_ms: r
                .try_get::<Option<i64>, _>("time_ms")?
                .map(|t| t.max(0) as u64),
            answered_at: r.try_get("answered_at")?,
        });
    }
    Ok(answers)
}

/// The title and author of quiz `id`, if it exists.
pub async fn quiz_title(pool: &AnyPool, id: i64) -> Result<Option<(String, i64)>, StoreError> {
    let row = sqlx::query("SELECT title, author_id FROM quizzes WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| Ok((r.try_get("title")?, r.try_get("author_id")?)))
        .transpose()
}

/// The report of quiz `id` (titled `title`): attempts, players, and per question the answers,
/// accuracy, mean time and choice distribution. Correct flags of choices only where `keys`
/// reveals them: a quiz may hold other authors' questions, whose keys stay theirs.
pub async fn quiz(
    pool: &AnyPool,
    id: i64,
    title: String,
    keys: KeyAccess,
) -> Result<QuizReport, StoreError> {
    let att = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS p FROM quiz_attempts WHERE quiz_id = ?",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let items = sqlx::query(
        "SELECT qq.position AS position, qq.question_id AS question_id, q.text AS text, \
         q.author_id AS author_id FROM quiz_questions qq JOIN questions q ON q.id = qq.question_id \
         WHERE qq.quiz_id = ? ORDER BY qq.position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let answers = sqlx::query(
        "SELECT a.question_id AS question_id, a.correct AS correct, a.time_ms AS time_ms \
         FROM practice_answers a JOIN quiz_attempts t ON t.id = a.attempt_id WHERE t.quiz_id = ?",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let choices = sqlx::query(
        "SELECT c.id AS id, c.question_id AS question_id, c.text AS text, \
         c.is_correct AS is_correct \
         FROM choices c JOIN quiz_questions qq ON qq.question_id = c.question_id \
         WHERE qq.quiz_id = ? ORDER BY c.question_id, c.position, c.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let selected = sqlx::query(
        "SELECT ac.choice_id AS choice_id, COUNT(*) AS n FROM answer_choices ac \
         JOIN practice_answers a ON a.id = ac.answer_id \
         JOIN quiz_attempts t ON t.id = a.attempt_id \
         WHERE t.quiz_id = ? GROUP BY ac.choice_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;

    // question id -> (answers, correct, time sum, timed answers)
    let mut agg: HashMap<i64, (u64, u64, i64, u64)> = HashMap::new();
    for r in &answers {
        let e = agg.entry(r.try_get("question_id")?).or_default();
        e.0 += 1;
        if r.try_get::<i64, _>("correct")? != 0 {
            e.1 += 1;
        }
        if let Some(t) = r.try_get::<Option<i64>, _>("time_ms")? {
            e.2 = e.2.saturating_add(t);
            e.3 += 1;
        }
    }
    let mut picks: HashMap<i64, u64> = HashMap::new();
    for r in &selected {
        picks.insert(r.try_get("choice_id")?, r.try_get::<i64, _>("n")? as u64);
    }
    let mut shown: HashMap<i64, bool> = HashMap::new();
    for r in &items {
        shown.insert(
            r.try_get("question_id")?,
            keys.reveals(r.try_get("author_id")?),
        );
    }
    let mut by_q: HashMap<i64, Vec<ChoiceStats>> = HashMap::new();
    for r in &choices {
        let qid: i64 = r.try_get("question_id")?;
        let reveal = shown.get(&qid).copied().unwrap_or(false);
        let cid: i64 = r.try_get("id")?;
        by_q.entry(qid).or_default().push(ChoiceStats {
            choice_id: cid,
            text: r.try_get("text")?,
            correct: reveal.then_some(r.try_get::<i64, _>("is_correct")? != 0),
            selected: picks.get(&cid).copied().unwrap_or(0),
        });
    }
    let mut questions = Vec::with_capacity(items.len());
    let (mut total, mut total_ok) = (0u64, 0u64);
    for r in &items {
        let qid: i64 = r.try_get("question_id")?;
        let (n, ok, tsum, timed) = agg.get(&qid).copied().unwrap_or_default();
        total += n;
        total_ok += ok;
        questions.push(QuestionStats {
            position: r.try_get::<i64, _>("position")? as u32,
            question_id: qid,
            text: r.try_get("text")?,
            answers: n,
            correct: ok,
            accuracy: ratio(ok, n),
            mean_time_ms: (timed > 0).then(|| tsum as f64 / timed as f64),
            choices: by_q.remove(&qid).unwrap_or_default(),
        });
    }
    Ok(QuizReport {
        quiz_id: id,
        title,
        attempts: att.try_get::<i64, _>("n")? as u64,
        players: att.try_get::<i64, _>("p")? as u64,
        answers: total,
        correct: total_ok,
        accuracy: ratio(total_ok, total),
        questions,
    })
}
