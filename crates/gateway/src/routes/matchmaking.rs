//! The quick-match queue's endpoint: a WebSocket (`GET /v1/match/ws`) whose
//! first frame queues a logged-in player; the matchmaking itself is in
//! [`crate::matchmaking`], the protocol in `docs/PROTOCOL.md`.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;
use livequiz_sdk::live::MAX_CLIENT_FRAME;
use livequiz_sdk::types::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::live::ws::WsSlot;
use crate::state::AppState;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(queue_websocket))
}

/// Joins the quick-match queue: a WebSocket upgrade. The first frame is
/// `{"type":"queue","token":"<login token>","topic":null,"size":2}` (a topic or any; 2 for a
/// duel, up to 8 for a room); the server answers `queued` (estimated wait, current rating
/// gap) every second, then `matched` with the join code of a server-run live session, or
/// `timeout` at the wait bound, or for a duel `ghost_offer` there when a similar-rated
/// player's recorded duel exists (answer `{"type":"accept_ghost"}` to play it, or `leave`).
/// `{"type":"leave"}` or closing the socket leaves the queue.
/// Every message is in `docs/PROTOCOL.md`. Counts against the gateway's live WebSocket bound.
#[utoipa::path(get, path = "/v1/match/ws", tag = "matchmaking",
    responses((status = 101, description = "switched to the queue protocol of `docs/PROTOCOL.md`"),
              (status = 400, body = Problem, description = "not a WebSocket upgrade"),
              (status = 503, body = Problem, description = "this gateway holds its maximum of live connections; see Retry-After")))]
pub async fn queue_websocket(
    State(state): State<AppState>,
    slot: WsSlot,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|e| {
        ApiError::BadRequest(format!(
            "/v1/match/ws only accepts WebSocket upgrades: {}",
            e.body_text()
        ))
    })?;
    let mm = state.matchmaking.clone();
    Ok(upgrade
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            crate::matchmaking::ws::serve(mm, socket).await
        }))
}
