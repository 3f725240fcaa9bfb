//! REST side of live sessions: create a session, read final standings.
//! Errors are the gateway's [`ApiError`] problem documents, malformed input included
//! (the [`ApiJson`] and [`ApiPath`] extractors).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sdk::live::{CreateSession, CreatedSession, Standing};
use sdk::types::Role;

use super::service::{Account, CreateError, LiveService};
use super::store::HostRights;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};

async fn caller(live: &LiveService, headers: &HeaderMap) -> Result<Account, ApiError> {
    let token = crate::auth::bearer(headers)?;
    live.auth().resolve(token).await.ok_or_else(|| {
        ApiError::Unauthorized("the token is invalid or has expired; log in again".into())
    })
}

/// Whether `host` may host a quiz with these rights. The host's screen shows every answer
/// key at each reveal (and a host may skip straight to it), so hosting needs the right to
/// read every key of the quiz: an admin, or an author hosting their own quiz made of their
/// own questions (the rule of `store::questions::KeyAccess`). Anyone else could host a copy
/// of a game in progress to learn its answers.
fn may_host(host: &Account, rights: &HostRights) -> Result<(), ApiError> {
    let role = rights.role.as_deref().and_then(Role::parse);
    if role == Some(Role::Admin) {
        return Ok(());
    }
    if !role.is_some_and(Role::can_author) || rights.quiz_author != host.id {
        return Err(ApiError::Forbidden(
            "only the quiz's author or an admin may host it (the host sees every answer key)"
                .into(),
        ));
    }
    if rights.foreign_questions > 0 {
        return Err(ApiError::Forbidden(format!(
            "the quiz has {} question(s) by other authors; the host sees every answer key, \
             so only an admin may host it",
            rights.foreign_questions
        )));
    }
    Ok(())
}

/// `POST /v1/live/sessions`: the quiz's author (or an admin) hosts a quiz.
pub async fn create_session(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    body: Result<ApiJson<CreateSession>, ApiError>,
) -> Result<(StatusCode, ApiJson<CreatedSession>), ApiError> {
    let host = caller(&live, &headers).await?;
    let ApiJson(req) = body?;
    let rights = live
        .store()
        .host_rights(req.quiz_id, host.id)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?
        .ok_or_else(|| ApiError::NotFound(format!("quiz {} does not exist", req.quiz_id)))?;
    may_host(&host, &rights)?;
    match live.create(&host, &req).await {
        Ok(created) => Ok((StatusCode::CREATED, ApiJson(created))),
        Err(CreateError::Invalid(m)) => Err(ApiError::Unprocessable(m)),
        Err(e @ CreateError::QuizNotFound(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(CreateError::Store(e)) => Err(ApiError::Internal(anyhow::anyhow!(e))),
        Err(CreateError::Cluster(e)) => Err(e.into()),
        Err(e @ CreateError::Checkpoint(_)) => Err(ApiError::Internal(anyhow::anyhow!(e))),
        // A running session ends within the lobby idle time or its lifetime.
        Err(e @ CreateError::TooManySessions(_)) => Err(ApiError::RateLimited(
            e.to_string(),
            std::time::Duration::from_secs(60),
        )),
        Err(e @ CreateError::NoFreeCode) => Err(ApiError::Overloaded(
            e.to_string(),
            std::time::Duration::from_secs(30),
        )),
    }
}

/// `GET /v1/live/sessions/{id}/standings`: stored final standings (any
/// logged-in user; empty until the session finishes).
pub async fn standings(
    State(live): State<Arc<LiveService>>,
    headers: HeaderMap,
    id: Result<ApiPath<i64>, ApiError>,
) -> Result<ApiJson<Vec<Standing>>, ApiError> {
    caller(&live, &headers).await?;
    let ApiPath(id) = id?;
    live.store()
        .standings(id)
        .await
        .map(ApiJson)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(author: i64, role: &str, foreign: u64) -> HostRights {
        HostRights {
            quiz_author: author,
            role: Some(role.into()),
            foreign_questions: foreign,
        }
    }

    #[test]
    fn only_the_author_of_every_key_or_an_admin_hosts() {
        let ann = Account {
            id: 1,
            username: "ann".into(),
        };
        assert!(may_host(&ann, &rights(1, "author", 0)).is_ok());
        assert!(may_host(&ann, &rights(2, "admin", 3)).is_ok());
        for refused in [
            rights(2, "author", 0),
            rights(1, "author", 1),
            rights(1, "player", 0),
            HostRights {
                role: None,
                ..rights(1, "author", 0)
            },
        ] {
            assert!(
                matches!(may_host(&ann, &refused), Err(ApiError::Forbidden(_))),
                "{refused:?}"
            );
        }
    }
}
