//! `GET /v1/questions/search`: relevance-ranked, typo-tolerant search over the question bank.

use axum::extract::State;
use livequiz_sdk::types::{SearchHit, SearchParams, SearchResponse};

use crate::auth::AuthUser;
use crate::error::{ApiError, Violations};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::MAX_LIMIT;
use crate::search::{SearchQuery, MAX_OFFSET};
use crate::state::AppState;
use crate::store::in_play;
use crate::store::questions::{self as store, KeyAccess};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most comma-separated entries in `tags`.
pub const MAX_SEARCH_TAGS: usize = 10;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// Searches text, choices, tags, topic and explanation; `topic` and `tags` filter exactly.
/// Hits are hydrated from the replica (a hit whose question was just deleted is dropped).
/// A question in a live game that is not finished is left out (of hits and total) for callers
/// who may not read its key: a hit or a count would confirm words of its hidden explanation,
/// and relevance scores would rank the choices it mentions.
#[utoipa::path(get, path = "/v1/questions/search", tag = "questions", security(("bearer" = [])),
    params(SearchParams),
    responses((status = 200, body = SearchResponse), (status = 422, body = livequiz_sdk::types::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<ApiJson<SearchResponse>, ApiError> {
    let mut v = Violations::new();
    v.text("q", &p.q, 0, 512);
    let limit = p.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        v.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    let offset = p.offset.unwrap_or(0);
    if offset > MAX_OFFSET as u64 {
        v.add("offset", format!("must be at most {MAX_OFFSET}"));
    }
    let listed = p.tags.as_deref().unwrap_or("");
    // Counted as sent, empty entries too, as the document's pattern does.
    if listed.split(',').count() > MAX_SEARCH_TAGS {
        v.add("tags", format!("at most {MAX_SEARCH_TAGS} tags"));
    }
    let tags: Vec<String> = listed
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    v.finish()?;
    let keys = KeyAccess::of(&user);
    // From the primary: a game that started a moment ago on another gateway counts.
    let hidden: Vec<i64> = if keys == KeyAccess::All {
        Vec::new()
    } else {
        in_play::all_playing(state.db.primary())
            .await?
            .into_iter()
            .filter(|&(_, author)| !keys.reveals(author))
            .map(|(id, _)| id)
            .collect()
    };
    let res = state
        .search
        .search_excluding(
            &SearchQuery {
                q: p.q,
                topic: p.topic,
                tags,
                limit: limit as usize,
                offset: offset as usize,
            },
            &hidden,
        )
        .await?;
    let ids: Vec<i64> = res.hits.iter().map(|h| h.id).collect();
    let questions = store::load_many(state.db.replica(), &ids, keys).await?;
    let mut items = Vec::with_capacity(questions.len());
    for q in questions {
        let score = res
            .hits
            .iter()
            .find(|h| h.id == q.id)
            .map_or(0.0, |h| h.score);
        items.push(SearchHit { score, question: q });
    }
    Ok(ApiJson(SearchResponse {
        total: res.total as u64,
        items,
    }))
}
