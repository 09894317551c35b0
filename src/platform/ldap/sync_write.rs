//! The sync's writes: one transaction per batch of entries (not per entry), which also renews
//! the run's lease, so a run that lost its lease stops before writing anything more.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::client::Entry;
use super::forms::NewEntryStatus;
use super::sync::LEASE;
use crate::auth::session;
use crate::db::schema::{accounts, ldap_entries, ldap_syncs, memberships, organizations};
use crate::db::{self, DbConn};
use crate::domain::{AccountId, AccountStatus, DisplayName, EmailAddress, MembershipStatus, OrgId};
use crate::org_admin::users::capacity::{lock_organization, take_capacity};

/// Errors kept word for word on the run, for the progress page; the count has them all.
const ERRORS_LISTED: usize = 50;

/// What a run did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub entries_read: i64,
    pub created: i64,
    pub updated: i64,
    pub removed: i64,
    pub errors: i64,
    pub last_error: String,
    pub error_list: Vec<String>,
}

/// The counts as the run's row stores them.
#[derive(AsChangeset)]
#[diesel(table_name = ldap_syncs)]
pub struct Progress<'a> {
    entries_read: i64,
    created: i64,
    updated: i64,
    removed: i64,
    errors: i64,
    last_error: &'a str,
    error_list: String,
}

impl Counts {
    pub fn progress(&self) -> Progress<'_> {
        Progress {
            entries_read: self.entries_read,
            created: self.created,
            updated: self.updated,
            removed: self.removed,
            errors: self.errors,
            last_error: &self.last_error,
            error_list: self.error_list.join("\n"),
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_list.len() < ERRORS_LISTED {
            self.error_list.push(message.clone());
        }
        self.last_error = message;
    }
}

/// What every batch of one run shares.
pub struct Batch<'a> {
    pub connection_id: i64,
    pub sync_id: i64,
    pub holder: &'a str,
    pub org: OrgId,
    pub status: NewEntryStatus,
}

#[derive(Debug)]
enum BatchError {
    Db(diesel::result::Error),
    LostLease,
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Db(e) => write!(f, "The database refused a write: {e}"),
            Self::LostLease => {
                f.write_str("This run lost its lease (another instance took the sync over); it stopped.")
            }
        }
    }
}

/// The organization directory users go into: the only one (the interlock keeps it so).
pub fn single_organization(conn: &mut DbConn) -> QueryResult<Result<OrgId, String>> {
    let ids: Vec<OrgId> = organizations::table.select(organizations::id).limit(2).load(conn)?;
    Ok(match ids.as_slice() {
        [one] => Ok(*one),
        [] => Err("There is no organization to sync into.".into()),
        _ => Err("More than one organization exists: directory users go into a single organization.".into()),
    })
}

/// How many accounts came from this connection.
pub fn tracked(conn: &mut DbConn, connection_id: i64) -> QueryResult<i64> {
    ldap_entries::table.filter(ldap_entries::connection_id.eq(connection_id)).count().get_result(conn)
}

/// Renew the lease and store the counts so far; fails when another instance holds the run.
fn renew(conn: &mut DbConn, batch: &Batch<'_>, counts: &Counts, now: NaiveDateTime) -> Result<(), BatchError> {
    let renewed = diesel::update(
        ldap_syncs::table
            .find(batch.sync_id)
            .filter(ldap_syncs::lease_holder.eq(batch.holder))
            .filter(ldap_syncs::status.eq("running")),
    )
    .set((ldap_syncs::lease_until.eq(now + LEASE), counts.progress()))
    .execute(conn)?;
    if renewed == 1 {
        Ok(())
    } else {
        Err(BatchError::LostLease)
    }
}

/// An entry checked: its email normalised and a display name.
struct Person {
    dn: String,
    email: EmailAddress,
    name: DisplayName,
}

fn person(entry: Entry) -> Result<Person, String> {
    let raw = entry.email.ok_or_else(|| format!("{}: no email address.", entry.dn))?;
    let email = EmailAddress::parse(&raw)
        .map_err(|why| format!("{}: the email address “{raw}” is not usable: {why}", entry.dn))?;
    let name = entry
        .name
        .as_deref()
        .and_then(|name| DisplayName::parse(name).ok())
        .or_else(|| DisplayName::parse(email.as_str()).ok())
        .ok_or_else(|| format!("{}: no usable display name.", entry.dn))?;
    Ok(Person { dn: entry.dn, email, name })
}

/// Write one batch of entries in one transaction. The counts change only if it commits.
pub fn write_batch(
    conn: &mut DbConn,
    batch: &Batch<'_>,
    entries: &[Entry],
    counts: &mut Counts,
    now: NaiveDateTime,
) -> Result<(), String> {
    let mut next = counts.clone();
    db::write_transaction(conn, |conn| -> Result<(), BatchError> {
        renew(conn, batch, &next, now)?;
        lock_organization(conn, batch.org)?;
        next.entries_read += entries.len() as i64;
        let mut people = Vec::with_capacity(entries.len());
        for entry in entries {
            match person(entry.clone()) {
                Ok(person) => people.push(person),
                Err(why) => next.error(why),
            }
        }
        let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
        let existing: HashMap<String, (AccountId, String)> = accounts::table
            .filter(accounts::email.eq_any(&emails))
            .select((accounts::email, accounts::id, accounts::display_name))
            .load::<(String, AccountId, String)>(conn)?
            .into_iter()
            .map(|(email, id, name)| (email, (id, name)))
            .collect();
        let ids: Vec<AccountId> = existing.values().map(|(id, _)| *id).collect();
        let seen_in: HashMap<AccountId, i64> = ldap_entries::table
            .filter(ldap_entries::connection_id.eq(batch.connection_id))
            .filter(ldap_entries::account_id.eq_any(ids.clone()))
            .select((ldap_entries::account_id, ldap_entries::seen_in_sync))
            .load::<(AccountId, i64)>(conn)?
            .into_iter()
            .collect();
        let members: HashSet<AccountId> = memberships::table
            .filter(memberships::organization_id.eq(batch.org))
            .filter(memberships::account_id.eq_any(ids))
            .filter(memberships::status.ne(MembershipStatus::Removed))
            .select(memberships::account_id)
            .load::<AccountId>(conn)?
            .into_iter()
            .collect();
        let mut in_batch = HashSet::new();
        for person in people {
            if !in_batch.insert(person.email.as_str().to_owned()) {
                next.error(format!("{}: another entry has the address {} too.", person.dn, person.email.as_str()));
                continue;
            }
            match existing.get(person.email.as_str()) {
                None => {
                    let id = insert_account(conn, batch, &person, now)?;
                    if add_membership(conn, batch, id, &person, &mut next, now)? {
                        next.created += 1;
                    }
                }
                Some((id, name)) => match seen_in.get(id) {
                    None => next.error(format!(
                        "{}: the address {} belongs to an account that did not come from this directory; it was left as it is, not merged.",
                        person.dn,
                        person.email.as_str()
                    )),
                    Some(seen) if *seen == batch.sync_id => next.error(format!(
                        "{}: another entry has the address {} too.",
                        person.dn,
                        person.email.as_str()
                    )),
                    Some(_) => {
                        mark_seen(conn, batch, *id, &person.dn)?;
                        let renamed = name != person.name.as_str();
                        if renamed {
                            diesel::update(accounts::table.find(*id))
                                .set((
                                    accounts::display_name.eq(person.name.as_str()),
                                    accounts::name_key.eq(person.name.key()),
                                    accounts::updated_at.eq(now),
                                ))
                                .execute(conn)?;
                        }
                        // An entry that comes back gets a fresh membership; the removed one stays.
                        let returned = !members.contains(id) && add_membership(conn, batch, *id, &person, &mut next, now)?;
                        if returned {
                            next.created += 1;
                        } else if renamed {
                            next.updated += 1;
                        }
                    }
                },
            }
        }
        renew(conn, batch, &next, now)?;
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    *counts = next;
    Ok(())
}

fn insert_account(conn: &mut DbConn, batch: &Batch<'_>, person: &Person, now: NaiveDateTime) -> QueryResult<AccountId> {
    // No password: a directory account signs in against the directory.
    diesel::insert_into(accounts::table)
        .values((
            accounts::email.eq(person.email.as_str()),
            accounts::display_name.eq(person.name.as_str()),
            accounts::name_key.eq(person.name.key()),
            accounts::status.eq(AccountStatus::Active),
            accounts::is_platform_admin.eq(false),
            accounts::created_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = accounts::table.filter(accounts::email.eq(person.email.as_str())).select(accounts::id).first(conn)?;
    diesel::insert_into(ldap_entries::table)
        .values((
            ldap_entries::connection_id.eq(batch.connection_id),
            ldap_entries::account_id.eq(id),
            ldap_entries::dn.eq(&person.dn),
            ldap_entries::seen_in_sync.eq(batch.sync_id),
        ))
        .execute(conn)?;
    Ok(id)
}

fn mark_seen(conn: &mut DbConn, batch: &Batch<'_>, id: AccountId, dn: &str) -> QueryResult<()> {
    diesel::update(
        ldap_entries::table
            .filter(ldap_entries::connection_id.eq(batch.connection_id))
            .filter(ldap_entries::account_id.eq(id)),
    )
    .set((ldap_entries::dn.eq(dn), ldap_entries::seen_in_sync.eq(batch.sync_id)))
    .execute(conn)
    .map(drop)
}

/// A membership in the organization, with the connection's status, at no quota and off plans
/// (an administrator gives quota afterwards). False, counted as an error, when no seat is left.
fn add_membership(
    conn: &mut DbConn,
    batch: &Batch<'_>,
    id: AccountId,
    person: &Person,
    counts: &mut Counts,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    if !take_capacity(conn, batch.org, 1, 0, now)? {
        counts.error(format!("{}: no seat is left in the organization for {}.", person.dn, person.email.as_str()));
        return Ok(false);
    }
    let (status, awaiting_since) = match batch.status {
        NewEntryStatus::Active => (MembershipStatus::Active, None),
        NewEntryStatus::AwaitingValidation => (MembershipStatus::AwaitingValidation, Some(now)),
    };
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(batch.org),
            memberships::account_id.eq(id),
            memberships::status.eq(status),
            memberships::is_delegate.eq(false),
            memberships::unsigned_containers.eq(false),
            memberships::release_protections.eq(false),
            memberships::recover.eq(false),
            memberships::no_second_factor.eq(false),
            memberships::quota_gb.eq(0i64),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
            memberships::awaiting_since.eq(awaiting_since),
        ))
        .execute(conn)?;
    Ok(true)
}

/// End the memberships of this connection's accounts the run did not see: `removed` (the row
/// stays as history), seat and quota freed, sessions ended. In batches, like the writes.
pub fn remove_unseen(
    conn: &mut DbConn,
    batch: &Batch<'_>,
    counts: &mut Counts,
    now: impl Fn() -> NaiveDateTime,
) -> Result<(), String> {
    let kept = last_delegate_kept(conn, batch, counts).map_err(|e| e.to_string())?.unwrap_or(0);
    loop {
        let mut next = counts.clone();
        let done = db::write_transaction(conn, |conn| -> Result<bool, BatchError> {
            let now = now();
            renew(conn, batch, &next, now)?;
            lock_organization(conn, batch.org)?;
            let gone: Vec<(i64, AccountId, i64)> = memberships::table
                .inner_join(ldap_entries::table.on(ldap_entries::account_id.eq(memberships::account_id)))
                .filter(ldap_entries::connection_id.eq(batch.connection_id))
                .filter(ldap_entries::seen_in_sync.ne(batch.sync_id))
                .filter(memberships::organization_id.eq(batch.org))
                .filter(memberships::status.ne(MembershipStatus::Removed))
                .filter(memberships::id.ne(kept))
                .select((memberships::id, memberships::account_id, memberships::quota_gb))
                .limit(super::sync::BATCH as i64)
                .load(conn)?;
            if gone.is_empty() {
                return Ok(true);
            }
            let ids: Vec<i64> = gone.iter().map(|(id, _, _)| *id).collect();
            diesel::update(memberships::table.filter(memberships::id.eq_any(&ids)))
                .set((
                    memberships::status.eq(MembershipStatus::Removed),
                    memberships::removed_at.eq(Some(now)),
                    memberships::removed_by.eq(None::<i64>),
                    memberships::updated_at.eq(now),
                ))
                .execute(conn)?;
            let quota: i64 = gone.iter().map(|(_, _, gb)| gb).sum();
            take_capacity(conn, batch.org, -(gone.len() as i64), -quota, now)?;
            for (_, account, _) in &gone {
                session::end_all_of(conn, account.get(), None)?;
            }
            next.removed += gone.len() as i64;
            renew(conn, batch, &next, now)?;
            Ok(false)
        })
        .map_err(|e| e.to_string())?;
        *counts = next;
        if done {
            return Ok(());
        }
    }
}

/// When every active Delegate of the organization is among the entries gone, one of them
/// stays (reported) rather than leave the organization without one, as Remove refuses to.
/// Returns that membership's id.
fn last_delegate_kept(conn: &mut DbConn, batch: &Batch<'_>, counts: &mut Counts) -> QueryResult<Option<i64>> {
    let active_delegates = memberships::table
        .filter(memberships::organization_id.eq(batch.org))
        .filter(memberships::status.eq(MembershipStatus::Active))
        .filter(memberships::is_delegate.eq(true));
    let gone: Vec<(i64, String)> = active_delegates
        .inner_join(ldap_entries::table.on(ldap_entries::account_id.eq(memberships::account_id)))
        .filter(ldap_entries::connection_id.eq(batch.connection_id))
        .filter(ldap_entries::seen_in_sync.ne(batch.sync_id))
        .order(memberships::id)
        .select((memberships::id, ldap_entries::dn))
        .load(conn)?;
    let all: i64 = active_delegates.count().get_result(conn)?;
    if all == 0 || all != gone.len() as i64 {
        return Ok(None);
    }
    match gone.into_iter().next() {
        Some((id, dn)) => {
            counts.error(format!(
                "{dn}: gone from the directory, but the organization's last active Delegate; the membership stays until another Delegate is named."
            ));
            Ok(Some(id))
        }
        None => Ok(None),
    }
}
