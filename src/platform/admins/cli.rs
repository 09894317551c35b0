//! `orgportal admin add EMAIL` and `orgportal admin set-password EMAIL`.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::queries::promote;
use crate::audit::{self, Actor, NewEvent};
use crate::auth::password::{check_policy, hash_blocking};
use crate::db::schema::accounts;
use crate::db::{self, DbConn};
use crate::domain::{AccountStatus, EmailAddress};

/// Where a new password comes from: one line of standard input when it is not a terminal
/// (scripts, pipes), else typed twice at a hidden prompt.
pub fn read_new_password(email: &EmailAddress) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {email}: "))?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    check_policy(&password, email.as_str()).map_err(|why| anyhow::anyhow!("password refused: {why}"))?;
    Ok(password)
}

/// What `admin add` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Created,
    Promoted,
    AlreadyAdmin,
}

/// Whether `admin add` needs a password: for a new account, or one that never set one.
pub fn needs_password(conn: &mut DbConn, email: &EmailAddress) -> QueryResult<bool> {
    let hash: Option<Option<String>> = accounts::table
        .filter(accounts::email.eq(email.as_str()))
        .select(accounts::password_hash)
        .first(conn)
        .optional()?;
    Ok(!matches!(hash, Some(Some(_))))
}

/// Create, or promote, an active platform administrator.
pub fn add_admin(
    conn: &mut DbConn,
    email: &EmailAddress,
    password: Option<&str>,
    now: NaiveDateTime,
) -> anyhow::Result<Added> {
    let hash = password.map(hash_blocking).transpose()?;
    db::write_transaction(conn, |conn| {
        let existing: Option<(i64, bool)> = accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select((accounts::id, accounts::is_platform_admin))
            .first(conn)
            .optional()?;
        let (account_id, outcome) = match existing {
            Some((_, true)) if hash.is_none() => return Ok(Added::AlreadyAdmin),
            Some((id, was_admin)) => {
                diesel::update(accounts::table.find(id))
                    .set((accounts::status.eq(AccountStatus::Active), accounts::updated_at.eq(now)))
                    .execute(conn)?;
                if let Some(hash) = &hash {
                    diesel::update(accounts::table.find(id)).set(accounts::password_hash.eq(hash)).execute(conn)?;
                    // A new password ends every session the old one opened.
                    crate::auth::session::end_all_of(conn, id, None)?;
                }
                (id, if was_admin { Added::AlreadyAdmin } else { Added::Promoted })
            }
            None => {
                let Some(hash) = &hash else { bail!("a new account needs a password") };
                diesel::insert_into(accounts::table)
                    .values((
                        accounts::email.eq(email.as_str()),
                        accounts::password_hash.eq(hash),
                        accounts::status.eq(AccountStatus::Active),
                        accounts::created_at.eq(now),
                        accounts::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let id = accounts::table.filter(accounts::email.eq(email.as_str())).select(accounts::id).first(conn)?;
                (id, Added::Created)
            }
        };
        if outcome != Added::AlreadyAdmin {
            let details = serde_json::Value::Object(Default::default());
            promote(conn, &Actor::command_line(), account_id, email, details, now)?;
        }
        Ok(outcome)
    })
}

/// Set an existing account's password; every session of it ends.
pub fn set_password(conn: &mut DbConn, email: &EmailAddress, password: &str, now: NaiveDateTime) -> anyhow::Result<()> {
    let hash = hash_blocking(password)?;
    db::write_transaction(conn, |conn| {
        let Some(account_id) = accounts::table
            .filter(accounts::email.eq(email.as_str()))
            .select(accounts::id)
            .first::<i64>(conn)
            .optional()?
        else {
            bail!("no account has the email {email}");
        };
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::password_hash.eq(&hash),
                accounts::status.eq(AccountStatus::Active),
                accounts::must_change_password.eq(false),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        crate::auth::session::end_all_of(conn, account_id, None)?;
        let actor = Actor::command_line();
        audit::record(conn, &NewEvent::platform(&actor, "account.password_set", email.as_str()), now)?;
        Ok(())
    })
}
