//! REST endpoints of live sessions on [`crate::Client`].

use reqwest::Method;

use super::protocol::{CreateSession, CreatedSession, Standing};
use crate::{Client, Error};

impl Client {
    /// `POST /v1/live/sessions`: host a live session of a quiz (needs a token).
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// use livequiz_sdk::live::CreateSession;
    /// let s = client
    ///     .create_live_session(&CreateSession { quiz_id: 3, reveal_ms: Some(3_000), ..CreateSession::default() })
    ///     .await?;
    /// println!("join with code {}", s.code); // connect as host with s.host_token
    /// # Ok(()) }
    /// ```
    pub async fn create_live_session(&self, req: &CreateSession) -> Result<CreatedSession, Error> {
        self.send_body(Method::POST, "/v1/live/sessions", req).await
    }

    /// `GET /v1/live/sessions/{id}/standings`: stored final standings, best first.
    ///
    /// ```no_run
    /// # async fn demo(client: livequiz_sdk::Client) -> Result<(), livequiz_sdk::Error> {
    /// for s in client.live_standings(7).await? {
    ///     println!("#{} {} {}", s.rank, s.nickname, s.score);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn live_standings(&self, session_id: i64) -> Result<Vec<Standing>, Error> {
        self.get(&format!("/v1/live/sessions/{session_id}/standings"))
            .await
    }
}
