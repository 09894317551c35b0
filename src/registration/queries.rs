//! What a registration link comes to, and the two acts it opens: registering a new account,
//! and accepting an invitation with an account that already exists. Each act uses the link up
//! with one conditional DELETE whose row count decides, so a form submitted twice at once
//! registers once.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::{mark_spent, spent, token_hash};
use crate::audit::{self, Actor, NewEvent};
use crate::db::schema::{accounts, invitations, memberships, organizations, spent_invitations};
use crate::db::{self, DbConn};
use crate::domain::{AccountId, AccountStatus, DisplayName, MembershipStatus, OrgId};
use crate::mail::{self, messages, Site};

/// A link that still works.
#[derive(Debug, Clone)]
pub struct LiveLink {
    pub account_id: AccountId,
    pub email: String,
    pub display_name: String,
    /// The account has a password already: the link accepts an invitation, not registers.
    pub registered: bool,
    /// The organization that sent the link (`None`: a platform administrator).
    pub organization: Option<(OrgId, String)>,
    /// Who invited the address, as the page names them: organization names, and
    /// "the platform administrators" for a pending administrator invitation.
    pub inviters: Vec<String>,
    pub expires_at: NaiveDateTime,
}

/// Why a link does not work, with whom to ask for a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLink {
    Expired {
        help: Help,
    },
    Used {
        help: Help,
    },
    /// The account registered through another organization's link, which took this
    /// invitation along.
    Registered {
        help: Help,
    },
    Superseded {
        help: Help,
    },
    Withdrawn {
        help: Help,
    },
    Unknown,
}

impl DeadLink {
    /// Whom to ask for a new link; nobody is known for a link that was never issued.
    pub fn help(&self) -> Option<&Help> {
        match self {
            Self::Expired { help }
            | Self::Used { help }
            | Self::Registered { help }
            | Self::Superseded { help }
            | Self::Withdrawn { help } => Some(help),
            Self::Unknown => None,
        }
    }
}

/// Where to ask for a new link: the organization's Organization Admin Email, or the platform
/// administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub organization_name: Option<String>,
    pub admin_email: String,
}

/// What `/register/{token}` shows.
#[derive(Debug, Clone)]
pub enum Link {
    Live(LiveLink),
    Dead(DeadLink),
}

#[derive(Queryable)]
struct InvitationRow {
    id: i64,
    account_id: AccountId,
    organization_id: Option<OrgId>,
    expires_at: NaiveDateTime,
    activates_membership: bool,
}

fn invitation_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::token_hash.eq(hash))
        .select((
            invitations::id,
            invitations::account_id,
            invitations::organization_id,
            invitations::expires_at,
            invitations::activates_membership,
        ))
        .first(conn)
        .optional()
}

fn help_for(conn: &mut DbConn, organization_id: Option<OrgId>) -> QueryResult<Help> {
    let Some(org_id) = organization_id else {
        return Ok(Help { organization_name: None, admin_email: String::new() });
    };
    let found: Option<(String, String)> = organizations::table
        .find(org_id)
        .select((organizations::name, organizations::admin_email))
        .first(conn)
        .optional()?;
    Ok(match found {
        Some((name, admin_email)) => Help { organization_name: Some(name), admin_email },
        None => Help { organization_name: None, admin_email: String::new() },
    })
}

/// Why the link with this hash does not work (it is not live).
fn dead(conn: &mut DbConn, hash: &str) -> QueryResult<DeadLink> {
    let found: Option<(Option<OrgId>, String)> = spent_invitations::table
        .filter(spent_invitations::token_hash.eq(hash))
        .select((spent_invitations::organization_id, spent_invitations::reason))
        .first(conn)
        .optional()?;
    let Some((org_id, reason)) = found else {
        return Ok(DeadLink::Unknown);
    };
    let help = help_for(conn, org_id)?;
    Ok(match reason.as_str() {
        spent::USED => DeadLink::Used { help },
        spent::REGISTERED => DeadLink::Registered { help },
        spent::SUPERSEDED => DeadLink::Superseded { help },
        spent::WITHDRAWN => DeadLink::Withdrawn { help },
        _ => DeadLink::Unknown,
    })
}

/// What the link with this token comes to at `now`. Reads only: opening a link never uses
/// it up.
pub fn lookup(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> QueryResult<Link> {
    let hash = token_hash(token);
    let Some(row) = invitation_by_hash(conn, &hash)? else {
        return dead(conn, &hash).map(Link::Dead);
    };
    if row.expires_at <= now {
        return Ok(Link::Dead(DeadLink::Expired { help: help_for(conn, row.organization_id)? }));
    }
    let (email, display_name, status, is_platform_admin): (String, String, AccountStatus, bool) = accounts::table
        .find(row.account_id)
        .select((accounts::email, accounts::display_name, accounts::status, accounts::is_platform_admin))
        .first(conn)?;
    let registered = status != AccountStatus::Invited;
    let organization = match row.organization_id {
        Some(id) => Some((id, organizations::table.find(id).select(organizations::name).first::<String>(conn)?)),
        None => None,
    };
    let inviters = if registered {
        // Accepting takes only this organization's invitation.
        organization.iter().map(|(_, name)| name.clone()).collect()
    } else {
        let mut names: Vec<String> = memberships::table
            .inner_join(organizations::table)
            .filter(memberships::account_id.eq(row.account_id))
            .filter(memberships::status.eq(MembershipStatus::Invited))
            .order((organizations::name_key.asc(), organizations::id.asc()))
            .select(organizations::name)
            .load(conn)?;
        if is_platform_admin {
            names.push("the platform administrators".into());
        }
        names
    };
    Ok(Link::Live(LiveLink {
        account_id: row.account_id,
        email,
        display_name,
        registered,
        organization,
        inviters,
        expires_at: row.expires_at,
    }))
}

/// Why an act on a link was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The link stopped working (between the page and the submit, or a second submit).
    #[error("the link no longer works")]
    Dead(DeadLink),
    /// Registering through a link of an account that already has a password (or accepting
    /// one that has none): the page has changed under the form.
    #[error("the link is for another step")]
    WrongStep,
    /// Signed in as another account than the one invited.
    #[error("another account")]
    OtherAccount,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// How the memberships came out of an act, for the page the person lands on.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub awaiting_validation: Vec<String>,
    pub active: Vec<String>,
    /// Who registered (registration then signs the person in, after a second factor where
    /// one is required).
    pub registered: Option<Registered>,
}

/// The account that registered.
#[derive(Debug, Clone)]
pub struct Registered {
    pub account_id: AccountId,
    pub email: String,
    pub is_platform_admin: bool,
    pub session_epoch: i64,
}

/// Use the link up: one conditional DELETE, whose row count decides between two submits.
fn use_up(conn: &mut DbConn, hash: &str, now: NaiveDateTime) -> Result<InvitationRow, ActError> {
    let Some(row) = invitation_by_hash(conn, hash)? else {
        return Err(ActError::Dead(dead(conn, hash)?));
    };
    if row.expires_at <= now {
        return Err(ActError::Dead(DeadLink::Expired { help: help_for(conn, row.organization_id)? }));
    }
    let deleted = diesel::delete(invitations::table.filter(invitations::id.eq(row.id))).execute(conn)?;
    if deleted != 1 {
        // Another submit of the same link got there first.
        return Err(ActError::Dead(DeadLink::Used { help: help_for(conn, row.organization_id)? }));
    }
    mark_spent(conn, hash, row.account_id, row.organization_id, spent::USED, now)?;
    Ok(row)
}

/// The person's data for the acts.
pub struct Person<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub actor: &'a Actor,
}

/// Move `account_id`'s invited memberships in `orgs` (all of them when `None`) on: active
/// where `activating` names the organization, else awaiting validation, with a "ready for
/// validation" email to each of those organizations' active Delegates. Audit events for each.
fn move_memberships(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    only_org: Option<OrgId>,
    activating: &[OrgId],
    person: &Person<'_>,
    now: NaiveDateTime,
) -> QueryResult<Outcome> {
    let mut query = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq(MembershipStatus::Invited))
        .select((memberships::id, organizations::id, organizations::name, organizations::admin_email))
        .into_boxed();
    if let Some(org_id) = only_org {
        query = query.filter(memberships::organization_id.eq(org_id));
    }
    let invited: Vec<(i64, OrgId, String, String)> =
        query.order((organizations::name_key.asc(), organizations::id.asc())).load(conn)?;
    let mut outcome = Outcome::default();
    for (membership_id, org_id, org_name, admin_email) in invited {
        let activate = activating.contains(&org_id);
        let status = if activate { MembershipStatus::Active } else { MembershipStatus::AwaitingValidation };
        let changed = diesel::update(
            memberships::table
                .filter(memberships::id.eq(membership_id))
                .filter(memberships::status.eq(MembershipStatus::Invited)),
        )
        .set((
            memberships::status.eq(status),
            memberships::awaiting_since.eq((!activate).then_some(now)),
            memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
        if changed != 1 {
            continue;
        }
        let details =
            json!({ "status_before": MembershipStatus::Invited, "status_after": status, "name": person.name });
        audit::record(
            conn,
            &NewEvent::in_organization(person.actor, "membership.registered", person.email, org_id, &org_name)
                .details(details),
            now,
        )?;
        if activate {
            outcome.active.push(org_name);
            continue;
        }
        let delegates: Vec<String> = memberships::table
            .inner_join(accounts::table)
            .filter(memberships::organization_id.eq(org_id))
            .filter(memberships::status.eq(MembershipStatus::Active))
            .filter(memberships::is_delegate.eq(true))
            .order(accounts::email.asc())
            .select(accounts::email)
            .load(conn)?;
        for delegate in delegates {
            let email = messages::ready_for_validation(
                site,
                &delegate,
                org_id.get(),
                &org_name,
                &admin_email,
                person.name,
                person.email,
            );
            mail::enqueue(conn, site, &email, now, now)?;
        }
        outcome.awaiting_validation.push(org_name);
    }
    Ok(outcome)
}

/// What registration stores.
pub struct Registration<'a> {
    pub token: &'a str,
    pub name: &'a DisplayName,
    pub password_hash: &'a str,
    pub client: crate::web::client::ClientAddr,
}

/// Register: use the link up, give the account its name and password, move every invited
/// membership of the account on (registering is one act: the other organizations' links are
/// spent with it), and sign the person in. One transaction.
pub fn register(
    conn: &mut DbConn,
    site: &Site,
    registration: &Registration<'_>,
    now: NaiveDateTime,
) -> Result<Outcome, ActError> {
    let hash = token_hash(registration.token);
    db::write_transaction(conn, |conn| {
        let row = use_up(conn, &hash, now)?;
        let account_id = row.account_id;
        let registered = diesel::update(
            accounts::table.filter(accounts::id.eq(account_id)).filter(accounts::status.eq(AccountStatus::Invited)),
        )
        .set((
            accounts::status.eq(AccountStatus::Active),
            accounts::password_hash.eq(registration.password_hash),
            accounts::display_name.eq(registration.name.as_str()),
            accounts::name_key.eq(registration.name.key()),
            accounts::must_change_password.eq(false),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
        if registered != 1 {
            return Err(ActError::WrongStep);
        }
        // The other live links of the account: registering took their invitations along.
        let others: Vec<(String, Option<OrgId>, bool)> = invitations::table
            .filter(invitations::account_id.eq(account_id))
            .select((invitations::token_hash, invitations::organization_id, invitations::activates_membership))
            .load(conn)?;
        diesel::delete(invitations::table.filter(invitations::account_id.eq(account_id))).execute(conn)?;
        let mut activating: Vec<OrgId> = others.iter().filter(|(_, _, a)| *a).filter_map(|(_, org, _)| *org).collect();
        if row.activates_membership {
            activating.extend(row.organization_id);
        }
        for (other_hash, org_id, _) in &others {
            mark_spent(conn, other_hash, account_id, *org_id, spent::REGISTERED, now)?;
        }
        let email: String = accounts::table.find(account_id).select(accounts::email).first(conn)?;
        let actor = Actor { id: Some(account_id.get()), email: email.clone(), client: registration.client };
        let person = Person { email: &email, name: registration.name.as_str(), actor: &actor };
        let mut outcome = move_memberships(conn, site, account_id, None, &activating, &person, now)?;
        audit::record(
            conn,
            &NewEvent::platform(&actor, "account.registered", &email)
                .details(json!({ "name": registration.name.as_str() })),
            now,
        )?;
        let (is_platform_admin, session_epoch): (bool, i64) = accounts::table
            .find(account_id)
            .select((accounts::is_platform_admin, accounts::session_epoch))
            .first(conn)?;
        outcome.registered = Some(Registered { account_id, email, is_platform_admin, session_epoch });
        Ok(outcome)
    })
}

/// Accept an invitation with the signed-in account `account_id`: use the link up and move
/// that organization's membership on.
pub fn accept(
    conn: &mut DbConn,
    site: &Site,
    token: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Outcome, ActError> {
    let hash = token_hash(token);
    let account_id = actor.id.map(AccountId).ok_or(ActError::OtherAccount)?;
    db::write_transaction(conn, |conn| {
        // Checked before the link is used up, so a wrong account leaves it working.
        match invitation_by_hash(conn, &hash)? {
            Some(row) if row.account_id != account_id => return Err(ActError::OtherAccount),
            _ => {}
        }
        let row = use_up(conn, &hash, now)?;
        let (status, name): (AccountStatus, String) =
            accounts::table.find(account_id).select((accounts::status, accounts::display_name)).first(conn)?;
        if status == AccountStatus::Invited {
            return Err(ActError::WrongStep);
        }
        let Some(org_id) = row.organization_id else {
            // A platform administrator's link to an account that can sign in has nothing left
            // to accept.
            return Ok(Outcome::default());
        };
        let activating: Vec<OrgId> = if row.activates_membership { vec![org_id] } else { Vec::new() };
        let person = Person { email: &actor.email, name: &name, actor };
        move_memberships(conn, site, account_id, Some(org_id), &activating, &person, now).map_err(ActError::from)
    })
}
