//! Keeping the search index in sync with the database.
//!
//! Handlers call [`sync_question`] after committing a create/edit and [`remove_question`] after a
//! delete; if the index write fails after the database commit, the error is logged and counted
//! (`search_sync_failures_total`) and the next `gateway reindex` repairs it - the database is
//! the system of record, the index is derived data.

use sqlx::Row as _;

use crate::error::ApiError;
use crate::search::QuestionDoc;
use crate::state::AppState;

/// Builds the search document of question `id` from `pool`; `None` if it does not exist.
pub async fn question_doc(pool: &sqlx::AnyPool, id: i64) -> Result<Option<QuestionDoc>, ApiError> {
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

/// Re-indexes question `id` from the primary (after a committed create or edit).
pub async fn sync_question(state: &AppState, id: i64) {
    let r = async {
        match question_doc(state.db.primary(), id).await? {
            Some(doc) => state.search.upsert(doc).await?,
            None => state.search.delete(id).await?,
        }
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = r {
        metrics::counter!("search_sync_failures_total").increment(1);
        tracing::error!(question = id, error = %e, "search index sync failed; run `gateway reindex`");
    }
}

/// Indexes freshly committed questions in one index commit (a bulk import): one commit of
/// thousands of documents instead of one per question.
pub async fn sync_batch(state: &AppState, docs: Vec<QuestionDoc>) {
    let n = docs.len();
    if let Err(e) = state.search.upsert_many(docs).await {
        metrics::counter!("search_sync_failures_total").increment(n as u64);
        tracing::error!(questions = n, error = %e, "search index batch sync failed; run `gateway reindex`");
    }
}

/// Removes question `id` from the index (after a committed delete).
pub async fn remove_question(state: &AppState, id: i64) {
    if let Err(e) = state.search.delete(id).await {
        metrics::counter!("search_sync_failures_total").increment(1);
        tracing::error!(question = id, error = %e, "search index delete failed; run `gateway reindex`");
    }
}

/// Rebuilds the whole index from the primary; returns the number of questions indexed.
pub async fn reindex_all(state: &AppState) -> anyhow::Result<usize> {
    let ids = sqlx::query("SELECT id FROM questions ORDER BY id")
        .fetch_all(state.db.primary())
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut docs = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = question_doc(state.db.primary(), id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            docs.push(d);
        }
    }
    let n = docs.len();
    state.search.rebuild(docs).await?;
    Ok(n)
}

/// At startup: rebuilds the index when it is empty but the database has questions (e.g. a
/// fresh data directory for the index, or a lost index).
pub async fn ensure_index(state: &AppState) -> anyhow::Result<()> {
    let indexed = state.search.doc_count().await?;
    if indexed > 0 {
        return Ok(());
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM questions")
        .fetch_one(state.db.primary())
        .await?
        .try_get("n")?;
    if n > 0 {
        let done = reindex_all(state).await?;
        tracing::info!(
            questions = done,
            "search index was empty; rebuilt from the database"
        );
    }
    Ok(())
}
