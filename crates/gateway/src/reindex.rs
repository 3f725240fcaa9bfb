//! Keeping the search index in sync with the database.
//!
//! Handlers call [`sync_question`] after committing a create/edit and [`remove_question`] after a
//! delete; if the index write fails after the database commit, the error is logged and counted
//! (`search_sync_failures_total`) and the next `gateway reindex` repairs it - the database is
//! the system of record, the index is derived data.

use crate::error::ApiError;
use crate::search::QuestionDoc;
use crate::state::AppState;
use crate::store::questions;

/// Re-indexes question `id` from the primary (after a committed create or edit).
pub async fn sync_question(state: &AppState, id: i64) {
    let r = async {
        match questions::search_doc(state.db.primary(), id).await? {
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
    let ids = questions::all_ids(state.db.primary()).await?;
    let mut docs = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = questions::search_doc(state.db.primary(), id).await? {
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
    if questions::count(state.db.primary()).await? > 0 {
        let done = reindex_all(state).await?;
        tracing::info!(
            questions = done,
            "search index was empty; rebuilt from the database"
        );
    }
    Ok(())
}
