//! Accounts (`users`) and the first-user slot (`admin_bootstrap`, see `auth::admin`).

use livequiz_sdk::types::{Role, User};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row as _};

use super::{inserted_id, StoreError};
use crate::db::{now_ms, Dialect};

/// The columns [`user`] reads.
const USER: &str = "id, username, role, created_at";

/// A `users` row (id, username, role, created_at) as the API type.
fn user(r: &AnyRow) -> Result<User, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Unexpected(format!("unknown role {role:?}")))?,
        created_at: r.try_get("created_at")?,
    })
}

/// The user `id`, if it exists.
pub async fn load(pool: &AnyPool, id: i64) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(&format!("SELECT {USER} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| user(&r)).transpose()
}

/// The user named `username` (unique ignoring case) with its password hash (PHC string).
pub async fn with_password_hash(
    pool: &AnyPool,
    username: &str,
) -> Result<Option<(User, String)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {USER}, password_hash FROM users WHERE username = ?"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((user(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

/// One page of all users by id, with the total.
pub async fn list(pool: &AnyPool, limit: u32, offset: u64) -> Result<(i64, Vec<User>), StoreError> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {USER} FROM users ORDER BY id LIMIT ? OFFSET ?"
    ))
    .bind(i64::from(limit))
    .bind(offset as i64)
    .fetch_all(pool)
    .await?;
    let users = rows.iter().map(user).collect::<Result<_, _>>()?;
    Ok((total, users))
}

/// Gives user `id` `role`; the user afterwards, `None` if there is no such user.
pub async fn set_role(pool: &AnyPool, id: i64, role: Role) -> Result<Option<User>, StoreError> {
    // MySQL reports 0 affected rows when the value did not change, so the result says
    // nothing about existence: the read afterwards does.
    sqlx::query("UPDATE users SET role = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(id)
        .execute(pool)
        .await?;
    load(pool, id).await
}

/// Creates the account `username` (a player) with the password hash `hash`, and takes the
/// first-user slot for it in the same transaction; the first account ever becomes admin when
/// `first_is_admin`. [`StoreError::Conflict`] when the name is taken.
pub async fn register(
    pool: &AnyPool,
    dialect: Dialect,
    username: &str,
    hash: &str,
    first_is_admin: bool,
) -> Result<User, StoreError> {
    let now = now_ms();
    // Insert as a player, then take the first-user slot in the same transaction; the slot's
    // primary key lets only one account ever have it, however many register at once.
    let mut tx = pool.begin().await?;
    let res = sqlx::query(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(username)
    .bind(hash)
    .bind(Role::Player.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let id = inserted_id(&mut tx, &res).await?;
    let first = claim_first_user_slot(&mut tx, dialect, id).await?;
    let role = if first && first_is_admin {
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(Role::Admin.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Role::Admin
    } else {
        Role::Player
    };
    tx.commit().await?;
    Ok(User {
        id,
        username: username.to_string(),
        role,
        created_at: now,
    })
}

/// Takes the first-user slot for `user_id` inside the caller's transaction on `conn`:
/// `true` for the one account that ever gets it.
pub async fn claim_first_user_slot(
    conn: &mut AnyConnection,
    dialect: Dialect,
    user_id: i64,
) -> Result<bool, StoreError> {
    // A plain read first, so once the slot is taken (nearly always) nothing is locked.
    let taken: i64 = sqlx::query("SELECT COUNT(*) AS n FROM admin_bootstrap")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    if taken > 0 {
        return Ok(false);
    }
    let sql = match dialect {
        Dialect::MySql => {
            "INSERT IGNORE INTO admin_bootstrap (slot, user_id, claimed_at) VALUES (1, ?, ?)"
        }
        Dialect::Sqlite => {
            "INSERT OR IGNORE INTO admin_bootstrap (slot, user_id, claimed_at) VALUES (1, ?, ?)"
        }
    };
    let res = sqlx::query(sql)
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// What [`make_admin`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminWrite {
    /// A new admin account.
    Created(User),
    /// An existing account made admin, its password hash replaced.
    Promoted(User),
    /// The account exists and `promote` was not given: nothing changed.
    Exists,
}

/// Makes `username` an admin with the password hash `hash`: a new account, or with `promote`
/// an existing one (whose password hash is replaced). The account takes the first-user slot
/// if still free. One transaction.
pub async fn make_admin(
    pool: &AnyPool,
    dialect: Dialect,
    username: &str,
    hash: &str,
    promote: bool,
) -> Result<AdminWrite, StoreError> {
    let mut tx = pool.begin().await?;
    let existing: Option<i64> = sqlx::query("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
    let id = match existing {
        Some(_) if !promote => return Ok(AdminWrite::Exists),
        Some(id) => {
            sqlx::query("UPDATE users SET role = ?, password_hash = ? WHERE id = ?")
                .bind(Role::Admin.as_str())
                .bind(hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            let res = sqlx::query(
                "INSERT INTO users (username, password_hash, role, created_at) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(username)
            .bind(hash)
            .bind(Role::Admin.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            inserted_id(&mut tx, &res).await?
        }
    };
    claim_first_user_slot(&mut tx, dialect, id).await?;
    let row = sqlx::query(&format!("SELECT {USER} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let admin = user(&row)?;
    tx.commit().await?;
    Ok(match existing {
        Some(_) => AdminWrite::Promoted(admin),
        None => AdminWrite::Created(admin),
    })
}
