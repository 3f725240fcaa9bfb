//! Admin bootstrap: who becomes admin on a fresh install. With `ADMIN_USERNAME` set nobody
//! becomes admin by registering (not the first user, not a stranger who takes the name);
//! the operator creates the admin with `gateway admin create`. Without it exactly one first
//! user becomes admin, also when many register at the same moment on MySQL.

use std::net::IpAddr;

use livequiz_sdk::types::{Role, User};
use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;

use crate::process::{http_from, loopback, Gateway};

/// `POST /v1/auth/register` from `from`: the created user, or the status it was refused with.
async fn register(gw: &Gateway, from: IpAddr, username: &str) -> Result<User, StatusCode> {
    let resp = http_from(from)
        .post(format!("{}/v1/auth/register", gw.base_url))
        .json(&json!({"username": username, "password": format!("pw-{username}-123")}))
        .send()
        .await
        .expect("request reaches the gateway");
    match resp.status() {
        StatusCode::CREATED => Ok(resp.json().await.expect("a user")),
        s => Err(s),
    }
}

/// The role `username` has after logging in with `password` from `from` (read from the
/// primary, via `/v1/me`).
async fn role_from(gw: &Gateway, from: IpAddr, username: &str, password: &str) -> Role {
    let c = livequiz_sdk::Client::builder(&gw.base_url)
        .local_address(from)
        .build()
        .expect("sdk client")
        .login(username, password)
        .await
        .unwrap_or_else(|e| panic!("login as {username}: {e}"));
    c.me().await.expect("me").role
}

/// [`role_from`] the default client address.
async fn role_of(gw: &Gateway, username: &str, password: &str) -> Role {
    role_from(gw, localhost(), username, password).await
}

fn localhost() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// Runs `gateway admin create <args>` with `password` on standard input.
fn admin_create(gw: &Gateway, args: &[&str], password: &str) -> std::process::Output {
    let mut all = vec!["admin", "create"];
    all.extend_from_slice(args);
    gw.run(&all, &[], &format!("{password}\n"))
}

async fn admin_username_is_honoured(gw: Gateway) {
    // Neither the first user nor a stranger registering the reserved name becomes admin.
    let first = register(&gw, localhost(), "first")
        .await
        .expect("first user");
    assert_eq!(first.role, Role::Player);
    for spelling in ["boss", "BOSS"] {
        assert_eq!(
            register(&gw, localhost(), spelling).await.err(),
            Some(StatusCode::CONFLICT),
            "registering the ADMIN_USERNAME name {spelling:?}"
        );
    }
    let second = register(&gw, localhost(), "second").await.expect("second");
    assert_eq!(second.role, Role::Player);

    // The operator creates it (the name defaults to ADMIN_USERNAME).
    let out = admin_create(&gw, &[], "the-boss-password");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(role_of(&gw, "boss", "the-boss-password").await, Role::Admin);
    assert_eq!(role_of(&gw, "first", "pw-first-123").await, Role::Player);

    // An existing account is promoted only with --promote (and gets the password given).
    let out = admin_create(&gw, &["second"], "new-second-password");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--promote"),
        "{out:?}"
    );
    assert_eq!(role_of(&gw, "second", "pw-second-123").await, Role::Player);
    let out = admin_create(&gw, &["second", "--promote"], "new-second-password");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        role_of(&gw, "second", "new-second-password").await,
        Role::Admin
    );

    // ADMIN_PASSWORD instead of standard input; a bad password is refused and creates nothing.
    let out = gw.run(
        &["admin", "create", "root"],
        &[("ADMIN_PASSWORD", "root-password")],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(role_of(&gw, "root", "root-password").await, Role::Admin);
    let out = admin_create(&gw, &["shorty"], "short");
    assert!(!out.status.success(), "{out:?}");
    assert!(gw.client().login("shorty", "short").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_username_is_honoured_sqlite() {
    admin_username_is_honoured(Gateway::sqlite(&[("ADMIN_USERNAME", "Boss")]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_username_is_honoured_mysql() {
    admin_username_is_honoured(Gateway::mysql(&[("ADMIN_USERNAME", "Boss")]).await).await;
}

/// Registrations that reach the database together: hashing nearly free (8 KiB, one pass), a
/// hashing queue that takes them all, and more database connections than the harness default.
const RACE: &[(&str, &str)] = &[
    ("ARGON2_MEMORY_KIB", "8"),
    ("HASH_QUEUE", "200"),
    ("DB_MAX_CONNECTIONS", "16"),
];

/// How many register at once: enough that, on MySQL, transactions of the old check-then-set
/// rule overlapped in about half of the runs.
const RACERS: u8 = 100;

/// Fresh installs raced per backend: a race that shows in half the runs shows in most of
/// three.
const ROUNDS: usize = 3;

/// `RACERS` first registrations at the same moment (from as many addresses): exactly one is
/// admin.
async fn one_first_admin(gw: Gateway) {
    // Clients built and the database pool warmed (by unknown-user logins, which query it)
    // beforehand, then all released at once.
    let clients: Vec<_> = (0..RACERS).map(|i| http_from(loopback(i))).collect();
    let mut warm = JoinSet::new();
    for (i, c) in clients.iter().cloned().enumerate() {
        let url = format!("{}/v1/auth/login", gw.base_url);
        warm.spawn(async move {
            let body = json!({"username": format!("nobody{i}"), "password": "warming-up"});
            c.post(url).json(&body).send().await.expect("warm-up login");
        });
    }
    warm.join_all().await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
    let mut all = JoinSet::new();
    for (i, c) in clients.into_iter().enumerate() {
        let (url, start) = (format!("{}/v1/auth/register", gw.base_url), start.clone());
        all.spawn(async move {
            let body = json!({"username": format!("racer{i}"), "password": "racing-password"});
            start.wait().await;
            let resp = c.post(url).json(&body).send().await.expect("register");
            assert_eq!(resp.status(), StatusCode::CREATED);
            (i, resp.json::<User>().await.expect("a user"))
        });
    }
    let users = all.join_all().await;
    let admins: Vec<_> = users
        .iter()
        .filter(|(_, u)| u.role == Role::Admin)
        .collect();
    assert_eq!(admins.len(), 1, "admins among the racers: {admins:?}");
    // And the database agrees (the responses could lie about a later role change).
    let mut admins_in_db = 0;
    for (i, u) in &users {
        let from = loopback(u8::try_from(*i).expect("fewer than 256 racers"));
        if role_from(&gw, from, &u.username, "racing-password").await == Role::Admin {
            admins_in_db += 1;
        }
    }
    assert_eq!(admins_in_db, 1);
    // The slot is taken: a later registration is a player.
    let late = register(&gw, loopback(RACERS), "late").await.expect("late");
    assert_eq!(late.role, Role::Player);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_registrations_make_one_admin_sqlite() {
    for _ in 0..ROUNDS {
        one_first_admin(Gateway::sqlite(RACE).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_registrations_make_one_admin_mysql() {
    for _ in 0..ROUNDS {
        one_first_admin(Gateway::mysql(RACE).await).await;
    }
}

/// Without ADMIN_USERNAME an admin made by `gateway admin create` on a fresh install takes
/// the first-user slot: the first registration after it is a player.
async fn admin_command_takes_the_first_user_slot(gw: Gateway) {
    let out = admin_create(&gw, &["operator"], "operator-password");
    assert!(out.status.success(), "{out:?}");
    let first = register(&gw, localhost(), "first").await.expect("first");
    assert_eq!(first.role, Role::Player);
    assert_eq!(
        role_of(&gw, "operator", "operator-password").await,
        Role::Admin
    );
    // No name and no ADMIN_USERNAME: a usage error, nothing created.
    let out = admin_create(&gw, &[], "operator-password");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_command_takes_the_first_user_slot_sqlite() {
    admin_command_takes_the_first_user_slot(Gateway::sqlite(&[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_command_takes_the_first_user_slot_mysql() {
    admin_command_takes_the_first_user_slot(Gateway::mysql(&[]).await).await;
}
