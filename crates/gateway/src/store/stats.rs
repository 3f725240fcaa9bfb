//! Progress and streak computation (pure functions over answer rows, plus the queries).

use std::collections::BTreeMap;

use livequiz_sdk::types::{Progress, TopicProgress};
use sqlx::{AnyPool, Row as _};

use super::StoreError;

/// correct / answered, 0 when nothing was answered.
pub fn ratio(correct: u64, answered: u64) -> f64 {
    if answered == 0 {
        0.0
    } else {
        correct as f64 / answered as f64
    }
}

/// Builds a [`Progress`] from `(topic, correct)` answers in the order they were given.
pub fn progress_of(user_id: i64, answers: &[(String, bool)]) -> Progress {
    let mut topics: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut correct, mut run, mut best) = (0u64, 0u64, 0u64);
    for (topic, ok) in answers {
        let t = topics.entry(topic.as_str()).or_default();
        t.0 += 1;
        if *ok {
            t.1 += 1;
            correct += 1;
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    let answered = answers.len() as u64;
    Progress {
        user_id,
        answered,
        correct,
        accuracy: ratio(correct, answered),
        current_streak: run,
        best_streak: best,
        topics: topics
            .into_iter()
            .map(|(topic, (a, c))| TopicProgress {
                topic: topic.to_string(),
                answered: a,
                correct: c,
                accuracy: ratio(c, a),
            })
            .collect(),
        live: None,
    }
}

/// Loads the progress of `user_id` from `pool`.
pub async fn progress(pool: &AnyPool, user_id: i64) -> Result<Progress, StoreError> {
    let rows = sqlx::query(
        "SELECT q.topic AS topic, a.correct AS correct FROM practice_answers a \
         JOIN questions q ON q.id = a.question_id WHERE a.user_id = ? ORDER BY a.id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let answers = rows
        .iter()
        .map(|r| Ok((r.try_get("topic")?, r.try_get::<i64, _>("correct")? != 0)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(progress_of(user_id, &answers))
}

/// Quotes a CSV field when needed (RFC 4180), and defuses spreadsheet formulas.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaks_and_topics() {
        let a = |t: &str, ok| (t.to_string(), ok);
        let p = progress_of(
            1,
            &[
                a("rust", true),
                a("rust", true),
                a("sql", false),
                a("sql", true),
                a("rust", true),
            ],
        );
        assert_eq!((p.answered, p.correct), (5, 4));
        assert_eq!((p.current_streak, p.best_streak), (2, 2));
        assert_eq!(p.topics.len(), 2);
        assert_eq!(p.topics[0].topic, "rust");
        assert_eq!((p.topics[1].answered, p.topics[1].correct), (2, 1));
        let empty = progress_of(1, &[]);
        assert_eq!(empty.accuracy, 0.0);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
