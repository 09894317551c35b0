//! Sign-in through the directory (issue 16 point 4): an account that came from a directory
//! (`ldap_entries`) is checked against it, never against a stored password (it has none).

use actix_web::web;
use diesel::prelude::*;

use super::client::{self, Refused};
use super::{queries, BindPasswordKey};
use crate::db::schema::ldap_entries;
use crate::db::{Db, DbConn};
use crate::error::AppError;

/// What the directory said of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Verified,
    Wrong,
    /// The directory could not be asked: the password was not judged, and nothing counts
    /// toward a lockout.
    Unavailable,
}

/// Said on the sign-in page when the directory cannot be asked.
pub const DIRECTORY_UNAVAILABLE: &str = "Your password is checked by your organization's directory, which cannot be \
     reached right now. Nothing was counted against your account; try again in a few minutes.";

/// The connection the account came from, if it came from one.
pub fn directory_of(conn: &mut DbConn, account_id: i64) -> QueryResult<Option<i64>> {
    ldap_entries::table
        .filter(ldap_entries::account_id.eq(account_id))
        .select(ldap_entries::connection_id)
        .order(ldap_entries::connection_id)
        .first(conn)
        .optional()
}

/// Check `password` for `email` against connection `connection_id`, off the async executor.
pub async fn verify(
    db: &Db,
    key: BindPasswordKey,
    connection_id: i64,
    email: String,
    password: String,
) -> Result<Checked, AppError> {
    let loaded = db.run(move |conn| queries::load_with_password(conn, &key, connection_id)).await?;
    let Some((stored, bind_password)) = loaded else {
        return Ok(Checked::Wrong);
    };
    let bind_password = match bind_password {
        Ok(bind_password) => bind_password,
        Err(why) => {
            log::warn!("directory sign-in through LDAP connection {connection_id}: {why}");
            return Ok(Checked::Unavailable);
        }
    };
    let answer = web::block(move || client::authenticate(&stored.settings, &bind_password, &email, &password))
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("directory sign-in task failed: {e}")))?;
    Ok(match answer {
        Ok(_) => Checked::Verified,
        Err(Refused::Wrong) => Checked::Wrong,
        Err(Refused::Unavailable(why)) => {
            log::warn!("directory sign-in through LDAP connection {connection_id}: {why}");
            Checked::Unavailable
        }
    })
}
