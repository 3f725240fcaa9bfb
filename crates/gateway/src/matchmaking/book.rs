//! [`ResultsBook`]: the rating book a gateway uses until a rating system is
//! plugged in: every account has the same rating, and results are stored in
//! `match_results`, once per match id.

use futures_util::future::BoxFuture;

use super::store::MatchStore;
use super::{MatchRecord, RatingBook};
use crate::store::StoreError;

/// The rating of an account the book knows nothing about.
pub const DEFAULT_RATING: f64 = 1500.0;

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
}
