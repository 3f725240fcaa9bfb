//! Who becomes admin on a fresh install.
//!
//! * Without `ADMIN_USERNAME` the first account registered is admin. "First" is decided by
//!   the one-row `admin_bootstrap` table: the transaction that creates an account inserts
//!   slot 1 there, and only one insert of that primary key ever succeeds, on SQLite and on
//!   MySQL alike (a concurrent insert waits for the first transaction, then inserts
//!   nothing). Two registrations at the same moment cannot both become admin.
//! * With `ADMIN_USERNAME` set registering never makes anyone admin: the first registration
//!   still takes the slot (so unsetting the variable later promotes nobody), the name itself
//!   cannot be registered, and the operator creates the admin with `gateway admin create`
//!   ([`create_admin`]) from the server's shell. A stranger who registers first on a fresh
//!   install gets a player account.

use livequiz_sdk::types::{Role, User};
use sqlx::Row as _;

use crate::auth::password::Passwords;
use crate::config::Config;
use crate::db::{now_ms, Db, Dialect};
use crate::error::ApiError;
use crate::routes::auth::load_user;

/// Takes the first-user slot for `user_id` inside the caller's transaction on `conn`:
/// `true` for the one account that ever gets it.
pub async fn claim_first_user_slot(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
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

/// Whether registering `username` makes its account admin when it takes the first-user
/// slot: only when no `ADMIN_USERNAME` is configured.
pub fn first_user_is_admin(config: &Config) -> bool {
    config.admin_username.is_none()
}

/// Whether `username` is `ADMIN_USERNAME` (ignoring ASCII case and surrounding spaces, as
/// usernames are unique ignoring case): such a name is for `gateway admin create` only.
pub fn is_reserved(config: &Config, username: &str) -> bool {
    config
        .admin_username
        .as_deref()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(username.trim()))
}

/// What [`create_admin`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminCreated {
    /// A new admin account.
    Created(User),
    /// An existing account made admin (with the password given).
    Promoted(User),
}

/// The operator's way to make an admin (`gateway admin create <username> [--promote]`):
/// creates `username` as admin with `password`, or, with `promote`, makes an existing account
/// admin and sets its password to `password` (so whoever registered the name before cannot
/// log in with their own password any more). Without `promote` an existing account is an
/// error and nothing changes. The account takes the first-user slot if still free, so a
/// later registration does not become admin too.
pub async fn create_admin(
    db: &Db,
    passwords: &Passwords,
    username: &str,
    password: String,
    promote: bool,
) -> anyhow::Result<AdminCreated> {
    crate::auth::validate_credentials(username, &password).map_err(|e| match e {
        ApiError::Validation(_) => anyhow::anyhow!("{}", e.problem().detail),
        e => anyhow::Error::new(e),
    })?;
    let hash = passwords.hash(password).await?;
    let mut tx = db.primary().begin().await?;
    let existing: Option<i64> = sqlx::query("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
    let id = match existing {
        Some(_) if !promote => anyhow::bail!(
            "the user {username:?} already exists; pass --promote to make it admin \
             (its password becomes the one given)"
        ),
        Some(id) => {
            sqlx::query("UPDATE users SET role = ?, password_hash = ? WHERE id = ?")
                .bind(Role::Admin.as_str())
                .bind(&hash)
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
            .bind(&hash)
            .bind(Role::Admin.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            crate::db::inserted_id(&mut tx, &res).await?
        }
    };
    claim_first_user_slot(&mut tx, db.dialect(), id).await?;
    tx.commit().await?;
    let user = load_user(db.primary(), id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {id} vanished after creation"))?;
    Ok(match existing {
        Some(_) => AdminCreated::Promoted(user),
        None => AdminCreated::Created(user),
    })
}
