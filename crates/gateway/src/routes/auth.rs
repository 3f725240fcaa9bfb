//! `POST /v1/auth/register`, `/v1/auth/login`, `/v1/auth/logout`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use livequiz_sdk::types::{LoginRequest, RegisterRequest, TokenResponse, User};

use crate::auth::{admin, tokens, AuthUser};
use crate::error::{ApiError, Violations};
use crate::extract::ApiJson;
use crate::limits::ClientIp;
use crate::state::AppState;
use crate::store::{users, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this module, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// Creates an account, as a player; the first account becomes admin when no
/// `ADMIN_USERNAME` is configured (see `auth::admin`). Limited per client address
/// (`REGISTER_PER_IP_PER_MIN`) before any hashing.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 409, body = livequiz_sdk::types::Problem, description = "username taken"),
              (status = 422, body = livequiz_sdk::types::Problem),
              (status = 429, body = livequiz_sdk::types::Problem, description = "too many registrations from this address; see Retry-After"),
              (status = 503, body = livequiz_sdk::types::Problem, description = "password hashing at capacity; see Retry-After")))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<User>), ApiError> {
    crate::auth::validate_credentials(&req.username, &req.password)?;
    state.limits.register_ip.check(&ip)?;
    let taken = || ApiError::Conflict(format!("the username {:?} is already taken", req.username));
    let hash = state.passwords.hash(req.password.clone()).await?;
    if admin::is_reserved(&state.config, &req.username) {
        // Answered like an existing account, after the same hash: the name is the
        // operator's, made with `gateway admin create`, and whether that has happened yet
        // is nobody's business.
        return Err(taken());
    }
    let user = match users::register(
        state.db.primary(),
        state.db.dialect(),
        &req.username,
        &hash,
        admin::first_user_is_admin(&state.config),
    )
    .await
    {
        Err(StoreError::Conflict(_)) => return Err(taken()),
        other => other?,
    };
    metrics::counter!("users_registered_total").increment(1);
    Ok((StatusCode::CREATED, ApiJson(user)))
}

/// Exchanges username and password for a bearer token. Limited per client address
/// (`LOGIN_PER_IP_PER_MIN`) and per username (`LOGIN_PER_USER_PER_MIN`) before any hashing;
/// unknown usernames cost the same verification as wrong passwords.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = livequiz_sdk::types::Problem),
              (status = 422, body = livequiz_sdk::types::Problem),
              (status = 429, body = livequiz_sdk::types::Problem, description = "too many attempts from this address or for this username; see Retry-After"),
              (status = 503, body = livequiz_sdk::types::Problem, description = "password hashing at capacity; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<TokenResponse>, ApiError> {
    let mut v = Violations::new();
    v.text("username", &req.username, 1, 64);
    // As registered: any 1-128 characters, spaces included (never trimmed).
    let p = req.password.chars().count();
    if !(1..=128).contains(&p) {
        v.add("password", format!("must be 1-128 characters (got {p})"));
    }
    v.finish()?;
    // The address first: a flood from one address is refused without touching the
    // username's budget, so it cannot lock others out of an account as cheaply.
    state.limits.login_ip.check(&ip)?;
    state
        .limits
        .login_user
        .check(&crate::auth::login_limit_key(&req.username))?;
    let found = users::with_password_hash(state.db.primary(), &req.username).await?;
    let bad = || ApiError::Unauthorized("wrong username or password".into());
    let Some((user, phc)) = found else {
        // The work of a wrong password, so timing does not reveal which usernames exist.
        state.passwords.verify_unknown(req.password).await?;
        metrics::counter!("logins_failed_total").increment(1);
        return Err(bad());
    };
    if !state.passwords.verify(req.password, phc).await? {
        metrics::counter!("logins_failed_total").increment(1);
        return Err(bad());
    }
    let token = tokens::new_token();
    state
        .tokens
        .insert(&token, user.id, state.config.token_ttl)
        .await?;
    Ok(ApiJson(TokenResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: state.config.token_ttl.as_secs(),
        user,
    }))
}

/// Revokes the caller's token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = livequiz_sdk::types::Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    _user: AuthUser,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = crate::auth::bearer(&headers)?;
    state.tokens.remove(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use livequiz_sdk::types::{LoginRequest, RegisterRequest};

    use crate::auth::password::Work;
    use crate::config::Config;

    fn since(before: Work, after: Work) -> Work {
        Work {
            hashes: after.hashes - before.hashes,
            verifies: after.verifies - before.verifies,
        }
    }

    /// An unknown username costs exactly what a wrong password for a real account does: one
    /// verification (against the dummy hash) and no hashing with other parameters.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_usernames_cost_one_verify_like_wrong_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let server = crate::testing::spawn(Config::for_tests(dir.path()))
            .await
            .unwrap();
        let anon = livequiz_sdk::Client::new(&server.base_url).unwrap();
        anon.register(&RegisterRequest {
            username: "alice".into(),
            password: "alice-password".into(),
        })
        .await
        .unwrap();
        let passwords = server.state.passwords.clone();
        let login = |username: &str| {
            let req = LoginRequest {
                username: username.into(),
                password: "wrong-password".into(),
            };
            let anon = anon.clone();
            async move { anon.login_token(&req).await }
        };
        let start = passwords.work();
        assert!(login("alice").await.is_err());
        let known = passwords.work();
        assert!(login("nobody").await.is_err());
        let unknown = passwords.work();
        let one_verify = Work {
            hashes: 0,
            verifies: 1,
        };
        assert_eq!(since(start, known), one_verify, "wrong password");
        assert_eq!(since(known, unknown), one_verify, "unknown username");
        server.stop().await;
    }
}
