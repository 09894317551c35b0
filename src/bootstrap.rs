//! First start on an empty database: the Default organization and the first platform
//! administrator, admin@default.com, an active Delegate of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{accounts, memberships, organizations};
use crate::db::{self, DbConn};
use crate::domain::{AccountStatus, MembershipStatus};

pub const ADMIN_EMAIL: &str = "admin@default.com";
pub const DEFAULT_ORG_NAME: &str = "Default";
/// Advisory-lock key so two instances starting on one empty PostgreSQL bootstrap once.
const BOOTSTRAP_LOCK: i64 = 0x6f72_6770_0001;

/// What the bootstrap did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// The database already held accounts or organizations.
    AlreadyDone,
    /// Created with the password from `ORGPORTAL_ADMIN_PASSWORD`.
    GivenPassword,
    /// Created with this generated password, which must be changed at first sign-in.
    GeneratedPassword(String),
}

/// Set up an empty database; does nothing on one that holds anything.
pub fn ensure(conn: &mut DbConn, admin_password: Option<&str>, now: NaiveDateTime) -> anyhow::Result<Bootstrap> {
    db::write_transaction(conn, |conn| {
        db::lock_for_transaction(conn, BOOTSTRAP_LOCK)?;
        let accounts_exist: bool =
            diesel::select(diesel::dsl::exists(accounts::table.select(accounts::id))).get_result(conn)?;
        let orgs_exist: bool =
            diesel::select(diesel::dsl::exists(organizations::table.select(organizations::id))).get_result(conn)?;
        if accounts_exist || orgs_exist {
            return Ok(Bootstrap::AlreadyDone);
        }
        let (password, outcome) = match admin_password {
            Some(given) => (given.to_owned(), Bootstrap::GivenPassword),
            None => {
                let generated = crate::auth::random_token(18);
                (generated.clone(), Bootstrap::GeneratedPassword(generated))
            }
        };
        let hash = crate::auth::password::hash_blocking(&password)?;
        let must_change = matches!(outcome, Bootstrap::GeneratedPassword(_));

        diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(DEFAULT_ORG_NAME),
                organizations::name_key.eq(crate::domain::fold(DEFAULT_ORG_NAME)),
                organizations::quota_gb.eq(0i64),
                organizations::is_default.eq(true),
                organizations::member_count.eq(1i64),
                organizations::created_at.eq(now),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)?;
        let org_id: i64 =
            organizations::table.filter(organizations::is_default.eq(true)).select(organizations::id).first(conn)?;
        crate::db::org_index::inserted(conn, org_id)?;

        diesel::insert_into(accounts::table)
            .values((
                accounts::email.eq(ADMIN_EMAIL),
                accounts::password_hash.eq(&hash),
                accounts::status.eq(AccountStatus::Active),
                accounts::is_platform_admin.eq(true),
                accounts::must_change_password.eq(must_change),
                accounts::created_at.eq(now),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
        let account_id: i64 =
            accounts::table.filter(accounts::email.eq(ADMIN_EMAIL)).select(accounts::id).first(conn)?;

        diesel::insert_into(memberships::table)
            .values((
                memberships::organization_id.eq(org_id),
                memberships::account_id.eq(account_id),
                memberships::status.eq(MembershipStatus::Active),
                memberships::is_delegate.eq(true),
                memberships::quota_gb.eq(0i64),
                memberships::created_at.eq(now),
                memberships::updated_at.eq(now),
            ))
            .execute(conn)?;

        let actor = Actor::command_line();
        audit::record(
            conn,
            &NewEvent::platform(&actor, "platform.bootstrap", ADMIN_EMAIL).organization(org_id, DEFAULT_ORG_NAME),
            now,
        )?;
        Ok(outcome)
    })
}
