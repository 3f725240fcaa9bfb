//! The rating books: [`RankedBook`], the one a gateway uses (ratings and
//! global leaderboards of [`crate::ranked`]), and [`ResultsBook`], flat
//! ratings with results kept in `match_results` once per match id (for
//! embedders who bring no rating system and for tests that set ratings).

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::store::MatchStore;
use super::{MatchRecord, RatingBook};
use crate::store::StoreError;

/// The rating of an account the book knows nothing about: a new player's
/// displayed rating in [`crate::ranked`].
pub const DEFAULT_RATING: f64 = crate::ranked::rating::DISPLAY_BASE;

/// The gateway's rating book: each player's displayed rating from
/// [`crate::ranked::Ranked`], and every finished match recorded there (ratings
/// updated, points added to the day, week and topic boards) exactly once per
/// match id, whichever gateway's matchmaker sends it and however often.
#[derive(Clone)]
pub struct RankedBook {
    ranked: Arc<crate::ranked::Ranked>,
}

impl RankedBook {
    /// The book over `ranked`.
    pub fn new(ranked: Arc<crate::ranked::Ranked>) -> Self {
        RankedBook { ranked }
    }
}

impl RatingBook for RankedBook {
    fn ratings(&self, user_ids: &[i64]) -> BoxFuture<'_, Result<Vec<f64>, StoreError>> {
        let ids = user_ids.to_vec();
        Box::pin(async move {
            let ratings = self.ranked.ratings(&ids).await?;
            Ok(ratings.iter().map(|r| r.display as f64).collect())
        })
    }

    fn record_match(&self, rec: MatchRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let (rec, frozen) = ranked_record(rec);
            let outcome = self.ranked.record_match_with(&rec, &frozen).await;
            refused_is_done(&rec.match_id, outcome.map(|_| ()))
        })
    }

    fn record_matches(
        &self,
        recs: Vec<MatchRecord>,
    ) -> BoxFuture<'_, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(async move {
            let recs: Vec<(crate::ranked::MatchRecord, Vec<i64>)> =
                recs.into_iter().map(ranked_record).collect();
            let outcomes = self.ranked.record_matches(&recs).await?;
            Ok(recs
                .iter()
                .zip(outcomes)
                .map(|((rec, _), o)| refused_is_done(&rec.match_id, o.map(|_| ())))
                .collect())
        })
    }
}

/// The rating system's record of a finished match, and its frozen players (a ghost).
fn ranked_record(rec: MatchRecord) -> (crate::ranked::MatchRecord, Vec<i64>) {
    let frozen: Vec<i64> = rec.ghost.into_iter().collect();
    let rec = crate::ranked::MatchRecord {
        match_id: rec.match_id,
        topic: rec.topic,
        ended_at_ms: rec.ended_at_ms,
        players: rec
            .players
            .into_iter()
            .map(|p| crate::ranked::MatchPlayer {
                user_id: p.user_id,
                placement: p.placement,
                points: p.points,
                abandoned: p.abandoned,
            })
            .collect(),
    };
    (rec, frozen)
}

/// A record the rating system refuses as invalid will be refused on every retry too: say so
/// once and let the matchmaker mark it done.
fn refused_is_done(match_id: &str, outcome: Result<(), StoreError>) -> Result<(), StoreError> {
    match outcome {
        Err(StoreError::Conflict(why)) => {
            tracing::error!(match_id, %why, "a finished match was refused by the ratings; it is not rated");
            Ok(())
        }
        other => other,
    }
}

/// Flat ratings, results in `match_results` (see the module docs).
#[derive(Debug, Clone)]
pub struct ResultsBook {
    store: MatchStore,
}

impl ResultsBook {
    /// The book over the matchmaking tables.
    pub fn new(store: MatchStore) -> Self {
        ResultsBook { store }
    }
}

impl RatingBook for ResultsBook {
    fn ratings(&self, user_ids: &[i64]) -> BoxFuture<'_, Result<Vec<f64>, StoreError>> {
        let n = user_ids.len();
        Box::pin(async move { Ok(vec![DEFAULT_RATING; n]) })
    }

    fn record_match(&self, rec: MatchRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let players = serde_json::to_string(&rec.players)?;
            self.store
                .record_result(
                    &rec.match_id,
                    rec.topic.as_deref(),
                    rec.ended_at_ms,
                    &players,
                )
                .await?;
            Ok(())
        })
    }

    fn record_matches(
        &self,
        recs: Vec<MatchRecord>,
    ) -> BoxFuture<'_, Result<Vec<Result<(), StoreError>>, StoreError>> {
        Box::pin(async move {
            let mut rows = Vec::with_capacity(recs.len());
            for rec in &recs {
                rows.push(super::store::ResultRow {
                    match_id: rec.match_id.clone(),
                    topic: rec.topic.clone(),
                    ended_at: rec.ended_at_ms,
                    players: serde_json::to_string(&rec.players)?,
                });
            }
            self.store.record_results(&rows).await?;
            Ok(recs.iter().map(|_| Ok(())).collect())
        })
    }
}
