//! Reads of finished (and running) live sessions for their hosts: the list of hosted sessions,
//! the per-session report, and the live part of a player's progress.
//!
//! Aggregation happens in Rust over one read of a session's answers: a session holds at most
//! players x questions rows, and the choice distribution needs the stored choice lists parsed
//! anyway (they are comma-separated 0-based choice positions, see [`super::answers`]).

use std::collections::{BTreeMap, HashMap};

use livequiz_sdk::types::{
    LiveChoiceStats, LivePlayerResult, LiveProgress, LiveQuestionStats, LiveSessionReport,
    LiveSessionSummary,
};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};

use crate::store::stats::ratio;
use crate::store::{bind_all, listing, placeholders, Arg, StoreError};

const SUMMARY: &str = "s.id AS id, s.code AS code, s.quiz_id AS quiz_id, \
     COALESCE(z.title, '') AS quiz_title, s.status AS status, s.created_at AS created_at, \
     s.finished_at AS finished_at, s.players AS players";
const FROM: &str = "live_sessions s LEFT JOIN quizzes z ON z.id = s.quiz_id";

fn summary(r: &AnyRow) -> Result<LiveSessionSummary, sqlx::Error> {
    Ok(LiveSessionSummary {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        quiz_id: r.try_get("quiz_id")?,
        quiz_title: r.try_get("quiz_title")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
        players: r.try_get::<i64, _>("players")?.max(0) as u64,
    })
}

/// One page of the sessions hosted by `host`, newest first, with the total.
pub async fn hosted(
    pool: &AnyPool,
    host: i64,
    limit: u32,
    offset: u64,
) -> Result<(i64, Vec<LiveSessionSummary>), StoreError> {
    let from = format!("{FROM} WHERE s.host_user_id = ?");
    let (total, rows) = listing(
        pool,
        SUMMARY,
        &from,
        "s.id",
        &[Arg::Int(host)],
        limit,
        offset,
    )
    .await?;
    let items = rows.iter().map(summary).collect::<Result<_, _>>()?;
    Ok((total, items))
}

/// A session and its host; `None` if it does not exist.
pub async fn session(
    pool: &AnyPool,
    id: i64,
) -> Result<Option<(LiveSessionSummary, i64)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SUMMARY}, s.host_user_id AS host FROM {FROM} WHERE s.id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(r) => Ok(Some((summary(&r)?, r.try_get("host")?))),
        None => Ok(None),
    }
}

/// Per-question numbers while they are summed up.
#[derive(Default)]
struct Tally {
    question_id: i64,
    answers: u64,
    correct: u64,
    time_ms: u64,
    selected: BTreeMap<u32, u64>,
}

/// The report of `session` (already read with [`session`]): every question of its quiz in
/// order (and any other question that has answers), every final standing.
///
/// Question and choice texts and keys are read as stored now: an edit after the game shows
/// in its report.
pub async fn report(
    pool: &AnyPool,
    session: LiveSessionSummary,
) -> Result<LiveSessionReport, StoreError> {
    let id = session.id;
    let mut tallies: BTreeMap<u32, Tally> = BTreeMap::new();
    let order =
        sqlx::query("SELECT question_id FROM quiz_questions WHERE quiz_id = ? ORDER BY position")
            .bind(session.quiz_id)
            .fetch_all(pool)
            .await?;
    for (i, r) in order.iter().enumerate() {
        tallies.entry(i as u32).or_default().question_id = r.try_get("question_id")?;
    }
    let answers = sqlx::query(
        "SELECT question_index, question_id, player_id, choices, correct, elapsed_ms \
         FROM live_answers WHERE session_id = ?",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut per_player: HashMap<u64, (u64, u64)> = HashMap::new();
    for r in &answers {
        let index = r
            .try_get::<i64, _>("question_index")?
            .clamp(0, i64::from(u32::MAX)) as u32;
        let correct = r.try_get::<i64, _>("correct")? != 0;
        let t = tallies.entry(index).or_default();
        t.question_id = r.try_get("question_id")?;
        t.answers += 1;
        t.correct += u64::from(correct);
        t.time_ms += r.try_get::<i64, _>("elapsed_ms")?.max(0) as u64;
        let choices: String = r.try_get("choices")?;
        for c in choices
            .split(',')
            .filter_map(|c| c.trim().parse::<u32>().ok())
        {
            *t.selected.entry(c).or_default() += 1;
        }
        let p = per_player
            .entry(r.try_get::<i64, _>("player_id")?.max(0) as u64)
            .or_default();
        p.0 += 1;
        p.1 += u64::from(correct);
    }
    let qids: Vec<i64> = tallies.values().map(|t| t.question_id).collect();
    let (texts, choices) = question_texts(pool, &qids).await?;
    let questions = tallies
        .into_iter()
        .map(|(index, t)| {
            let listed = choices.get(&t.question_id).cloned().unwrap_or_default();
            LiveQuestionStats {
                index,
                question_id: t.question_id,
                text: texts.get(&t.question_id).cloned().unwrap_or_default(),
                answers: t.answers,
                correct: t.correct,
                accuracy: ratio(t.correct, t.answers),
                mean_time_ms: if t.answers == 0 {
                    0.0
                } else {
                    t.time_ms as f64 / t.answers as f64
                },
                choices: listed
                    .into_iter()
                    .enumerate()
                    .map(|(i, (text, correct))| LiveChoiceStats {
                        index: i as u32,
                        text,
                        correct,
                        selected: t.selected.get(&(i as u32)).copied().unwrap_or(0),
                    })
                    .collect(),
            }
        })
        .collect();
    let standings = sqlx::query(
        "SELECT player_id, nickname, account_id, final_rank, score FROM live_standings \
         WHERE session_id = ? ORDER BY final_rank, player_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut players = Vec::with_capacity(standings.len());
    for r in &standings {
        let player_id = r.try_get::<i64, _>("player_id")?.max(0) as u64;
        let (answered, correct) = per_player.get(&player_id).copied().unwrap_or((0, 0));
        players.push(LivePlayerResult {
            player_id,
            nickname: r.try_get("nickname")?,
            account_id: r.try_get("account_id")?,
            score: r.try_get("score")?,
            rank: r.try_get::<i64, _>("final_rank")?.max(0) as u64,
            answered,
            correct,
        });
    }
    Ok(LiveSessionReport {
        session,
        questions,
        players,
    })
}

/// Question texts and `(text, is_correct)` choices in display order, by question id.
#[allow(clippy::type_complexity)]
async fn question_texts(
    pool: &AnyPool,
    ids: &[i64],
) -> Result<(HashMap<i64, String>, HashMap<i64, Vec<(String, bool)>>), StoreError> {
    let mut texts = HashMap::new();
    let mut choices: HashMap<i64, Vec<(String, bool)>> = HashMap::new();
    if ids.is_empty() {
        return Ok((texts, choices));
    }
    let args: Vec<Arg> = ids.iter().map(|i| Arg::Int(*i)).collect();
    let ph = placeholders(ids.len());
    let q = format!("SELECT id, text FROM questions WHERE id IN ({ph})");
    for r in bind_all(sqlx::query(&q), &args).fetch_all(pool).await? {
        texts.insert(r.try_get("id")?, r.try_get("text")?);
    }
    let c = format!(
        "SELECT question_id, text, is_correct FROM choices WHERE question_id IN ({ph}) \
         ORDER BY question_id, position, id"
    );
    for r in bind_all(sqlx::query(&c), &args).fetch_all(pool).await? {
        choices
            .entry(r.try_get("question_id")?)
            .or_default()
            .push((r.try_get("text")?, r.try_get::<i64, _>("is_correct")? != 0));
    }
    Ok((texts, choices))
}

/// The live games of account `user`: finished sessions it has a standing in, and its answers
/// in them (as the player its standing names).
pub async fn progress(pool: &AnyPool, user: i64) -> Result<LiveProgress, StoreError> {
    let r = sqlx::query(
        "SELECT COUNT(DISTINCT st.session_id) AS sessions, COUNT(a.player_id) AS answered, \
         COUNT(CASE WHEN a.correct <> 0 THEN 1 END) AS correct \
         FROM live_standings st LEFT JOIN live_answers a \
         ON a.session_id = st.session_id AND a.player_id = st.player_id \
         WHERE st.account_id = ?",
    )
    .bind(user)
    .fetch_one(pool)
    .await?;
    let sessions = r.try_get::<i64, _>("sessions")?.max(0) as u64;
    let answered = r.try_get::<i64, _>("answered")?.max(0) as u64;
    let correct = r.try_get::<i64, _>("correct")?.max(0) as u64;
    Ok(LiveProgress {
        sessions,
        answered,
        correct,
        accuracy: ratio(correct, answered),
    })
}
