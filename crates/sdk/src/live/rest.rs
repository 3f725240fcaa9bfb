//! REST endpoints of live sessions on [`crate::Client`].

use reqwest::Method;

use super::protocol::{CreateSession, CreatedSession, Standing};
use crate::{Client, Error};

impl Client {
    /// `POST /v1/live/sessions`: host a live session of a quiz (needs a token).
    pub async fn create_live_session(&self, req: &CreateSession) -> Result<CreatedSession, Error> {
        self.send_body(Method::POST, "/v1/live/sessions", req).await
    }

    /// `GET /v1/live/sessions/{id}/standings`: stored final standings, best first.
    pub async fn live_standings(&self, session_id: i64) -> Result<Vec<Standing>, Error> {
        self.get(&format!("/v1/live/sessions/{session_id}/standings"))
            .await
    }
}
