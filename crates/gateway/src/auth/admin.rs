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

use livequiz_sdk::types::User;

use crate::auth::password::Passwords;
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::store::users::{self, AdminWrite};

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
    match users::make_admin(db.primary(), db.dialect(), username, &hash, promote).await? {
        AdminWrite::Created(user) => Ok(AdminCreated::Created(user)),
        AdminWrite::Promoted(user) => Ok(AdminCreated::Promoted(user)),
        AdminWrite::Exists => anyhow::bail!(
            "the user {username:?} already exists; pass --promote to make it admin \
             (its password becomes the one given)"
        ),
    }
}
