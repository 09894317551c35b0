//! Reads and writes of `ldap_connections`. Every write runs in one write transaction that
//! takes the interlock's lock first, checks it, and records its audit event.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use serde_json::json;

use super::forms::{ConnectionSettings, ParsedForm};
use super::{interlock, BindPasswordKey};
use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::ldap_connections;
use crate::db::{self, DbConn};
use crate::error::{refusals, AppError, Failure};

/// Why a change to the connections was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("a connection with this name exists")]
    NameTaken,
    /// The interlock: more than one organization exists.
    #[error("{0}")]
    Locked(&'static str),
    #[error("no such connection")]
    NotFound,
}

refusals!(Refusal);

/// A stored connection: its id, checked settings, and whether a password is stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub settings: ConnectionSettings,
    pub has_password: bool,
}

/// The columns of `ConnectionSettings`, in its order.
type SettingsColumns = (
    ldap_connections::name,
    ldap_connections::url,
    ldap_connections::starttls,
    ldap_connections::bind_dn,
    ldap_connections::base_dn,
    ldap_connections::user_filter,
    ldap_connections::email_attr,
    ldap_connections::name_attr,
    ldap_connections::schedule_minutes,
    ldap_connections::new_entry_status,
);

const SETTINGS: SettingsColumns = {
    use ldap_connections::*;
    (name, url, starttls, bind_dn, base_dn, user_filter, email_attr, name_attr, schedule_minutes, new_entry_status)
};

/// A row: id, settings, and the sealed password.
type Row = (i64, ConnectionSettings, Option<String>);

const ROW: (ldap_connections::id, SettingsColumns, ldap_connections::bind_password_sealed) =
    (ldap_connections::id, SETTINGS, ldap_connections::bind_password_sealed);

fn stored((id, settings, sealed): Row) -> (Stored, Option<String>) {
    (Stored { id, settings, has_password: sealed.is_some() }, sealed)
}

/// `ConnectionSettings` as column assignments.
type Assignments<'a> = (
    dsl::Eq<ldap_connections::name, &'a str>,
    dsl::Eq<ldap_connections::url, &'a str>,
    dsl::Eq<ldap_connections::starttls, bool>,
    dsl::Eq<ldap_connections::bind_dn, &'a str>,
    dsl::Eq<ldap_connections::base_dn, &'a str>,
    dsl::Eq<ldap_connections::user_filter, &'a str>,
    dsl::Eq<ldap_connections::email_attr, &'a str>,
    dsl::Eq<ldap_connections::name_attr, &'a str>,
    dsl::Eq<ldap_connections::schedule_minutes, Option<i32>>,
    dsl::Eq<ldap_connections::new_entry_status, &'static str>,
);

/// The settings as column assignments, for both the insert and the update.
fn assignments(s: &ConnectionSettings) -> Assignments<'_> {
    use ldap_connections::*;
    (
        name.eq(s.name.as_str()),
        url.eq(s.url.as_str()),
        starttls.eq(s.starttls),
        bind_dn.eq(s.bind_dn.as_str()),
        base_dn.eq(s.base_dn.as_str()),
        user_filter.eq(s.user_filter.as_str()),
        email_attr.eq(s.email_attr.as_str()),
        name_attr.eq(s.name_attr.as_str()),
        schedule_minutes.eq(s.schedule_minutes),
        new_entry_status.eq(s.new_entry_status.as_str()),
    )
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Stored>> {
    let rows: Vec<Row> = ldap_connections::table.order(ldap_connections::id).select(ROW).load(conn)?;
    Ok(rows.into_iter().map(|row| stored(row).0).collect())
}

fn load_row(conn: &mut DbConn, id: i64) -> QueryResult<Option<(Stored, Option<String>)>> {
    let row: Option<Row> = ldap_connections::table.find(id).select(ROW).first(conn).optional()?;
    Ok(row.map(stored))
}

pub fn load(conn: &mut DbConn, id: i64) -> QueryResult<Option<Stored>> {
    Ok(load_row(conn, id)?.map(|(stored, _)| stored))
}

/// The connection with its bind password opened. `Err` of the inner result: the password
/// cannot be opened (the secret key changed, or the row was altered), said in words.
pub fn load_with_password(
    conn: &mut DbConn,
    key: &BindPasswordKey,
    id: i64,
) -> QueryResult<Option<(Stored, Result<String, String>)>> {
    Ok(load_row(conn, id)?.map(|(stored, sealed)| {
        let password = match sealed {
            None => Err("No bind password is stored for this connection: enter one on its form.".to_owned()),
            Some(sealed) => key
                .open(&sealed, stored.id)
                .map_err(|e| format!("The stored bind password cannot be opened ({e}): enter it again on the form.")),
        };
        (stored, password)
    }))
}

/// Refuse while more than one organization exists, after taking the interlock's lock.
fn check_unlocked(conn: &mut DbConn) -> Result<(), Failure<Refusal>> {
    interlock::lock(conn)?;
    match interlock::ldap_locked(conn)? {
        Some(why) => Err(Refusal::Locked(why).into()),
        None => Ok(()),
    }
}

fn name_taken(conn: &mut DbConn, name: &str, except: i64) -> QueryResult<bool> {
    let query = ldap_connections::table
        .filter(ldap_connections::name.eq(name))
        .filter(ldap_connections::id.ne(except))
        .select(ldap_connections::id);
    diesel::select(diesel::dsl::exists(query)).get_result(conn)
}

/// The unique index decides a race the check before the write did not see.
fn name_taken_or(error: diesel::result::Error) -> Failure<Refusal> {
    if db::is_unique_violation(&error) {
        Refusal::NameTaken.into()
    } else {
        error.into()
    }
}

fn seal(conn: &mut DbConn, key: &BindPasswordKey, id: i64, password: &str) -> Result<(), Failure<Refusal>> {
    let sealed = key
        .seal(password, id)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot seal the bind password: {e}")))?;
    diesel::update(ldap_connections::table.find(id))
        .set(ldap_connections::bind_password_sealed.eq(Some(sealed)))
        .execute(conn)?;
    Ok(())
}

/// What the audit trail keeps of a connection: everything but the password.
fn audited(settings: &ConnectionSettings) -> serde_json::Value {
    json!({
        "name": settings.name,
        "url": settings.url,
        "starttls": settings.starttls,
        "bind_dn": settings.bind_dn,
        "base_dn": settings.base_dn,
        "user_filter": settings.user_filter,
        "email_attr": settings.email_attr,
        "name_attr": settings.name_attr,
        "schedule_minutes": settings.schedule_minutes,
        "new_entry_status": settings.new_entry_status.as_str(),
    })
}

fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &'static str,
    name: &str,
    details: serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    audit::record(conn, &NewEvent::platform(actor, action, name).details(details), now)
}

pub fn insert(
    conn: &mut DbConn,
    key: &BindPasswordKey,
    actor: &Actor,
    new: &ParsedForm,
    now: NaiveDateTime,
) -> Result<i64, Failure<Refusal>> {
    db::write_transaction(conn, |conn| {
        check_unlocked(conn)?;
        let s = &new.settings;
        if name_taken(conn, &s.name, 0)? {
            return Err(Refusal::NameTaken.into());
        }
        diesel::insert_into(ldap_connections::table)
            .values((assignments(s), ldap_connections::created_at.eq(now), ldap_connections::updated_at.eq(now)))
            .execute(conn)
            .map_err(name_taken_or)?;
        let id: i64 = ldap_connections::table
            .filter(ldap_connections::name.eq(&s.name))
            .select(ldap_connections::id)
            .first(conn)?;
        // Sealed once the row has its id, which the seal is bound to.
        if let Some(password) = &new.password {
            seal(conn, key, id, password)?;
        }
        record(conn, actor, "ldap.connection_added", &s.name, json!({ "after": audited(s) }), now)?;
        Ok(id)
    })
}

pub fn update(
    conn: &mut DbConn,
    key: &BindPasswordKey,
    actor: &Actor,
    id: i64,
    changes: &ParsedForm,
    now: NaiveDateTime,
) -> Result<(), Failure<Refusal>> {
    db::write_transaction(conn, |conn| {
        check_unlocked(conn)?;
        let before = load(conn, id)?.ok_or(Refusal::NotFound)?;
        let s = &changes.settings;
        if name_taken(conn, &s.name, id)? {
            return Err(Refusal::NameTaken.into());
        }
        diesel::update(ldap_connections::table.find(id))
            .set((assignments(s), ldap_connections::updated_at.eq(now)))
            .execute(conn)
            .map_err(name_taken_or)?;
        if let Some(password) = &changes.password {
            seal(conn, key, id, password)?;
        }
        let details = json!({
            "before": audited(&before.settings),
            "after": audited(s),
            "bind_password_changed": changes.password.is_some(),
        });
        record(conn, actor, "ldap.connection_updated", &s.name, details, now)?;
        Ok(())
    })
}

/// Delete a connection; returns how many are left (none: organizations can be added again).
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    now: NaiveDateTime,
) -> Result<(String, i64), Failure<Refusal>> {
    db::write_transaction(conn, |conn| {
        interlock::lock(conn)?;
        let before = load(conn, id)?.ok_or(Refusal::NotFound)?;
        diesel::delete(ldap_connections::table.find(id)).execute(conn)?;
        record(
            conn,
            actor,
            "ldap.connection_deleted",
            &before.settings.name,
            json!({ "before": audited(&before.settings) }),
            now,
        )?;
        let left: i64 = ldap_connections::table.count().get_result(conn)?;
        Ok((before.settings.name, left))
    })
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    ldap_connections::table.count().get_result(conn)
}
