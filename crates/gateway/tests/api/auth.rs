//! Registration, login, logout, me, roles, and malformed input.

use livequiz_sdk::types::{LoginRequest, PageParams, RegisterRequest, Role};
use livequiz_sdk::Method;

use crate::common::{eventually, expect_status, fields, Ctx};

pub async fn scenario(ctx: &Ctx) {
    let anon = &ctx.anon;
    // First user becomes admin, the next ones players.
    let admin_user = anon
        .register(&RegisterRequest {
            username: "Alice".into(),
            password: "alice-password".into(),
        })
        .await
        .unwrap();
    assert_eq!(admin_user.role, Role::Admin);
    let bob = anon
        .register(&RegisterRequest {
            username: "bob".into(),
            password: "bob-password".into(),
        })
        .await
        .unwrap();
    assert_eq!(bob.role, Role::Player);

    // Duplicates (ignoring case) -> 409.
    let p = expect_status(
        anon.register(&RegisterRequest {
            username: "ALICE".into(),
            password: "whatever-123".into(),
        })
        .await,
        409,
    );
    assert!(p.detail.contains("taken"), "{p:?}");

    // Validation lists every bad field.
    let p = expect_status(
        anon.register(&RegisterRequest {
            username: "a b".into(),
            password: "short".into(),
        })
        .await,
        422,
    );
    assert_eq!(fields(&p), vec!["username", "password"]);
    let p = expect_status(
        anon.register(&RegisterRequest {
            username: "x".repeat(40),
            password: "long-enough".into(),
        })
        .await,
        422,
    );
    assert!(p.errors[0].message.contains("3-32"), "{p:?}");

    // Login.
    expect_status(
        anon.login_token(&LoginRequest {
            username: "alice".into(),
            password: "nope-nope".into(),
        })
        .await,
        401,
    );
    expect_status(
        anon.login_token(&LoginRequest {
            username: "nobody".into(),
            password: "nope-nope".into(),
        })
        .await,
        401,
    );
    expect_status(
        anon.login_token(&LoginRequest {
            username: "".into(),
            password: "".into(),
        })
        .await,
        422,
    );
    let t = anon
        .login_token(&LoginRequest {
            username: "alice".into(),
            password: "alice-password".into(),
        })
        .await
        .unwrap();
    assert_eq!(t.token_type, "Bearer");
    assert!(t.expires_in > 0 && t.token.len() >= 40);
    let admin = anon.with_token(t.token.clone());
    assert_eq!(admin.me().await.unwrap(), admin_user);

    // Missing, bad and malformed credentials -> 401.
    expect_status(anon.me().await, 401);
    expect_status(anon.with_token("not-a-real-token").me().await, 401);
    let (status, body) = anon
        .raw(Method::GET, "/v1/me", "application/json", "")
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");

    // Roles: only admins list users and change roles.
    let bob_c = anon.login("bob", "bob-password").await.unwrap();
    expect_status(bob_c.list_users(&PageParams::default()).await, 403);
    expect_status(bob_c.set_role(bob.id, Role::Admin).await, 403);
    // The list is read from the replica, which may lag the registrations just made.
    let users = eventually("both users listed", || async {
        let page = admin
            .list_users(&PageParams {
                limit: Some(1),
                offset: Some(1),
            })
            .await
            .unwrap();
        (page.total == 2).then_some(page)
    })
    .await;
    assert_eq!(users.total, 2);
    assert_eq!(users.items.len(), 1);
    expect_status(
        admin
            .list_users(&PageParams {
                limit: Some(0),
                offset: None,
            })
            .await,
        422,
    );
    let promoted = admin.set_role(bob.id, Role::Author).await.unwrap();
    assert_eq!(promoted.role, Role::Author);
    assert_eq!(
        bob_c.me().await.unwrap().role,
        Role::Author,
        "role change applies to live tokens"
    );
    expect_status(admin.set_role(999_999, Role::Author).await, 404);
    expect_status(admin.set_role(admin_user.id, Role::Player).await, 409);

    // Malformed bodies get problem+json too.
    let (status, body) = anon
        .raw(
            Method::POST,
            "/v1/auth/register",
            "application/json",
            "{\"username\": ",
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let p: livequiz_sdk::types::Problem = serde_json::from_str(&body).unwrap();
    assert!(p.detail.contains("not valid JSON"), "{p:?}");
    let (status, body) = anon
        .raw(
            Method::POST,
            "/v1/auth/register",
            "application/json",
            "{\"username\": 5}",
        )
        .await
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("invalid type"), "{body}");
    let (status, _) = anon
        .raw(Method::POST, "/v1/auth/login", "text/plain", "hi")
        .await
        .unwrap();
    assert_eq!(status, 415);
    let huge = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(200_000)
    );
    // A separate client: the server closes the connection after refusing the oversized body.
    let fresh = livequiz_sdk::Client::new(anon.base_url()).unwrap();
    let (status, body) = fresh
        .raw(Method::POST, "/v1/auth/login", "application/json", huge)
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    let (status, body) = anon
        .raw(Method::GET, "/v1/nope", "application/json", "")
        .await
        .unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("/problems/not-found"), "{body}");
    let (status, body) = admin
        .raw(Method::GET, "/v1/questions/abc", "application/json", "")
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("/problems/bad-request"), "{body}");

    // Logout revokes the token (on every gateway: it is gone from the store).
    admin.logout().await.unwrap();
    expect_status(admin.me().await, 401);
    expect_status(admin.logout().await, 401);
    let _ = ctx.backend;
}
