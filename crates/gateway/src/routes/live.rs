//! The live-session endpoints: create a session, its WebSocket, its final standings, and (for
//! hosts and admins) the list of hosted sessions and a session's report. They take the same
//! extractors as every other route ([`AuthUser`], [`ApiJson`], [`ApiPath`], [`ApiQuery`]), so
//! credentials and malformed input are refused with the same problem documents. The sessions
//! themselves run in [`crate::live`]; the WebSocket protocol is in `docs/PROTOCOL.md`.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use livequiz_sdk::live::{CreateSession, CreatedSession, Standing};
use livequiz_sdk::types::{
    LiveSessionFilter, LiveSessionReport, LiveSessionSummary, Page, Problem, ReportParams, Role,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::live::handshake::WsParams;
use crate::live::service::{Account, CreateError};
use crate::live::ws::{JoinAdmission, WsSlot};
use crate::routes::{page, paging};
use crate::state::AppState;
use crate::store::live::{records, HostRights};
use crate::store::stats::csv_field;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hosted_sessions, create_session))
        .routes(routes!(standings))
        .routes(routes!(session_report))
        .routes(routes!(websocket))
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

/// Hosts a quiz: the quiz's author (or an admin) creates a live session and gets its join
/// code and the host secret (see `docs/PROTOCOL.md`). At most `LIVE_MAX_SESSIONS_PER_USER`
/// unfinished sessions per host.
#[utoipa::path(post, path = "/v1/live/sessions", tag = "live", security(("bearer" = [])),
    request_body = CreateSession,
    responses((status = 201, body = CreatedSession),
              (status = 403, body = Problem, description = "not the quiz's author (or its questions are by other authors) and not an admin"),
              (status = 404, body = Problem, description = "no such quiz"),
              (status = 422, body = Problem, description = "a setting is out of range, or the quiz has no playable question"),
              (status = 429, body = Problem, description = "the host already runs the most sessions allowed; see Retry-After"),
              (status = 503, body = Problem, description = "no free join code; see Retry-After")))]
pub async fn create_session(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateSession>,
) -> Result<(StatusCode, ApiJson<CreatedSession>), ApiError> {
    let live = &state.live;
    let host = Account {
        id: user.id,
        username: user.username,
    };
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
        Err(e @ (CreateError::Checkpoint(_) | CreateError::Batch(_))) => {
            Err(ApiError::Internal(anyhow::anyhow!(e)))
        }
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

/// The stored final standings of a live session, best first (any logged-in user; empty until
/// the session finishes).
#[utoipa::path(get, path = "/v1/live/sessions/{id}/standings", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "live session id")),
    responses((status = 200, body = Vec<Standing>)))]
pub async fn standings(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<ApiJson<Vec<Standing>>, ApiError> {
    state
        .live
        .store()
        .standings(id)
        .await
        .map(ApiJson)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))
}

/// Opens a live-session connection: a WebSocket upgrade for the session of join code `code`.
/// The first frame carries the credential (a guest nickname, a login token, a resume token
/// or the host secret), never the URL; every message is in `docs/PROTOCOL.md`. Each attempt
/// counts against the client address's `JOIN_PER_IP_PER_MIN`, unknown codes included. A
/// refused join after the upgrade is an error frame and a close code, as browsers cannot read
/// the status of a failed upgrade.
#[utoipa::path(get, path = "/v1/live/ws", tag = "live",
    params(("code" = String, Query, description = "the session's join code")),
    responses((status = 101, description = "switched to the WebSocket protocol of `docs/PROTOCOL.md`"),
              (status = 400, body = Problem, description = "not a WebSocket upgrade, no `code`, or a credential in the URL"),
              (status = 429, body = Problem, description = "too many join attempts from this address; see Retry-After"),
              (status = 503, body = Problem, description = "this gateway holds its maximum of live connections (`LIVE_MAX_WS_CONNECTIONS`); see Retry-After")))]
pub async fn websocket(
    State(state): State<AppState>,
    _admitted: JoinAdmission,
    slot: WsSlot,
    ApiQuery(params): ApiQuery<WsParams>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    params.refuse_credentials()?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::BadRequest(format!(
            "/v1/live/ws only accepts WebSocket upgrades: {}",
            e.body_text()
        ))
    })?;
    Ok(crate::live::ws::accept(
        state.live,
        params.code,
        slot,
        upgrade,
    ))
}

/// The caller's hosted live sessions, newest first (from the replica).
#[utoipa::path(get, path = "/v1/live/sessions", tag = "live", security(("bearer" = [])),
    params(LiveSessionFilter),
    responses((status = 200, body = Page<LiveSessionSummary>), (status = 401, body = Problem),
              (status = 422, body = Problem)))]
pub async fn hosted_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(f): ApiQuery<LiveSessionFilter>,
) -> Result<ApiJson<Page<LiveSessionSummary>>, ApiError> {
    let (limit, offset) = paging(f.limit, f.offset)?;
    let (total, items) = records::hosted(state.db.replica(), user.id, limit, offset).await?;
    Ok(ApiJson(page(items, total, limit, offset)))
}

/// The report of a live session (from the replica): per question the answers, accuracy, mean
/// answer time and choice distribution with the answer key; per player the final score, rank
/// and correct answers. For its host (while they may still author: a demoted host reads no
/// keys) and admins; `?format=csv` gives one line per question choice and per player.
#[utoipa::path(get, path = "/v1/live/sessions/{id}/report", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path), ReportParams),
    responses((status = 200, description = "JSON, or CSV with `?format=csv`",
                content((LiveSessionReport = "application/json"), (String = "text/csv"))),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn session_report(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("must be `json` or `csv` (got {other:?})"),
            ))
        }
    };
    let pool = state.db.replica();
    let (session, host) = records::session(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("live session {id} not found")))?;
    let allowed = user.role == Role::Admin || (user.id == host && user.role.can_author());
    if !allowed {
        return Err(ApiError::Forbidden(
            "only the session's host or an admin may read its report (it shows the answer keys)"
                .into(),
        ));
    }
    let report = records::report(pool, session).await?;
    if !csv {
        return Ok(ApiJson(report).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"live-session-{id}-report.csv\""),
            ),
        ],
        report_csv(&report),
    )
        .into_response())
}

/// CSV of a session report: a `choice` line per (question, choice) and a `player` line per
/// player, under one header (cells of the other kind stay empty).
fn report_csv(r: &LiveSessionReport) -> String {
    let mut out = String::from(
        "kind,question_index,question_id,question_text,answers,correct,accuracy,mean_time_ms,\
         choice_index,choice_text,choice_correct,selected,player_id,nickname,score,rank,answered\n",
    );
    for q in &r.questions {
        for c in &q.choices {
            out.push_str(&format!(
                "choice,{},{},{},{},{},{:.4},{:.1},{},{},{},{},,,,,\n",
                q.index,
                q.question_id,
                csv_field(&q.text),
                q.answers,
                q.correct,
                q.accuracy,
                q.mean_time_ms,
                c.index,
                csv_field(&c.text),
                c.correct,
                c.selected
            ));
        }
    }
    for p in &r.players {
        out.push_str(&format!(
            "player,,,,,{},,,,,,,{},{},{},{},{}\n",
            p.correct,
            p.player_id,
            csv_field(&p.nickname),
            p.score,
            p.rank,
            p.answered
        ));
    }
    out
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
