//! Registration links (`/register/{token}`) and the registration page. Only a hash of each
//! token is stored; the link itself exists in the email alone (sealed in the outbox, see
//! `mail::sealed`). A person holds at most one live link per issuer: one per inviting
//! organization, one from the platform administrators. A link that stops working (used,
//! superseded by a resend, withdrawn) leaves its hash in `spent_invitations`, so its page can
//! say why.

mod handlers;
pub mod queries;
mod views;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::{invitations, spent_invitations};
use crate::db::{Backend, DbConn};
use crate::domain::{AccountId, OrgId};
use crate::mail::Site;

/// `GET/POST /register/{token}`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;
    cfg.route("/register/{token}", web::get().to(handlers::show))
        .route("/register/{token}", web::post().to(handlers::submit));
}

/// Why a link in `spent_invitations` no longer works.
pub mod spent {
    /// Its registration or acceptance was done.
    pub const USED: &str = "used";
    /// The account registered through another organization's link.
    pub const REGISTERED: &str = "registered";
    /// A resend replaced it.
    pub const SUPERSEDED: &str = "superseded";
    /// The membership it was for was removed (the invitation revoked).
    pub const WITHDRAWN: &str = "withdrawn";
}

/// How long a registration link works.
pub const VALIDITY: Duration = Duration::days(7);

/// The stored form of a token. The token has 256 random bits, so a fast hash suffices: there
/// is nothing to brute-force, and a database leak does not reveal usable links.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A freshly issued link, to put in an email. `Debug` hides the token.
#[derive(Clone)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: NaiveDateTime,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.url.find(PATH_PREFIX).map_or("…", |at| &self.url[..at + PATH_PREFIX.len()]);
        f.debug_struct("IssuedLink").field("url", &format!("{shown}…")).field("expires_at", &self.expires_at).finish()
    }
}

/// Issue a registration link for `account_id` from `organization_id` (`None`: from a platform
/// administrator), superseding only the earlier link from that same issuer. Links from other
/// organizations stay valid, so no tenant can withdraw another's invitation; removing the
/// organization deletes its links.
pub fn issue(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    organization_id: Option<OrgId>,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    insert(conn, site, account_id, organization_id, None, false, now)
}

/// Issue the link of an organization's first administrator, named when the organization was
/// added: registering through it makes the membership active at once (no validation step).
pub fn issue_activating(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    organization_id: OrgId,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    insert(conn, site, account_id, Some(organization_id), None, true, now)
}

/// Resend: a new link from `issuer` (`None`: the platform administrators), superseding its
/// earlier one, marked as resent now (see `last_resent_at`).
pub fn reissue(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    issuer: Option<OrgId>,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    // A resend keeps what the earlier link would have done on registration.
    let activates: bool = link_from(account_id, issuer)
        .select(invitations::activates_membership)
        .first(conn)
        .optional()?
        .unwrap_or(false);
    insert(conn, site, account_id, issuer, Some(now), activates, now)
}

/// Resend from the platform (see `reissue`).
pub fn reissue_platform(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    reissue(conn, site, account_id, None, now)
}

/// When `issuer` (`None`: the platform) last resent its link to `account_id`, if it has.
pub fn last_resent_at(
    conn: &mut DbConn,
    account_id: AccountId,
    issuer: Option<OrgId>,
) -> QueryResult<Option<NaiveDateTime>> {
    link_from(account_id, issuer)
        .select(invitations::resent_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()
        .map(Option::flatten)
}

/// When the platform last resent its link to `account_id`, if it has.
pub fn last_platform_resent_at(conn: &mut DbConn, account_id: AccountId) -> QueryResult<Option<NaiveDateTime>> {
    last_resent_at(conn, account_id, None)
}

/// Withdraw the link `organization_id` sent `account_id` (the person was removed there).
pub fn withdraw(
    conn: &mut DbConn,
    account_id: AccountId,
    organization_id: OrgId,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    retire(conn, account_id, Some(organization_id), spent::WITHDRAWN, now)
}

/// Withdraw the platform administrators' link to `account_id` (the invitation was revoked).
pub fn withdraw_platform(conn: &mut DbConn, account_id: AccountId, now: NaiveDateTime) -> QueryResult<usize> {
    retire(conn, account_id, None, spent::WITHDRAWN, now)
}

/// The live link `issuer` (`None`: the platform administrators) sent `account_id`: one at
/// most (`invitations_account_issuer`).
fn link_from(account_id: AccountId, issuer: Option<OrgId>) -> invitations::BoxedQuery<'static, Backend> {
    let links = invitations::table.filter(invitations::account_id.eq(account_id)).into_boxed();
    match issuer {
        Some(org_id) => links.filter(invitations::organization_id.eq(org_id)),
        None => links.filter(invitations::organization_id.is_null()),
    }
}

/// Delete the link `issuer` sent `account_id`, keeping its hash as spent for `reason`. How
/// many links went (0 or 1).
fn retire(
    conn: &mut DbConn,
    account_id: AccountId,
    issuer: Option<OrgId>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let links: Vec<(i64, String)> =
        link_from(account_id, issuer).select((invitations::id, invitations::token_hash)).load(conn)?;
    let ids: Vec<i64> = links.iter().map(|(id, _)| *id).collect();
    let deleted = diesel::delete(invitations::table.filter(invitations::id.eq_any(ids))).execute(conn)?;
    for (_, hash) in links {
        mark_spent(conn, &hash, account_id, issuer, reason, now)?;
    }
    Ok(deleted)
}

/// Keep the hash of a link that stopped working, with why.
pub(crate) fn mark_spent(
    conn: &mut DbConn,
    hash: &str,
    account_id: AccountId,
    organization_id: Option<OrgId>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(spent_invitations::table)
        .values((
            spent_invitations::token_hash.eq(hash),
            spent_invitations::account_id.eq(account_id),
            spent_invitations::organization_id.eq(organization_id),
            spent_invitations::reason.eq(reason),
            spent_invitations::spent_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

fn insert(
    conn: &mut DbConn,
    site: &Site,
    account_id: AccountId,
    organization_id: Option<OrgId>,
    resent_at: Option<NaiveDateTime>,
    activates_membership: bool,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    let token = crate::auth::random_token(32);
    let expires_at = now + VALIDITY;
    retire(conn, account_id, organization_id, spent::SUPERSEDED, now)?;
    diesel::insert_into(invitations::table)
        .values((
            invitations::account_id.eq(account_id),
            invitations::organization_id.eq(organization_id),
            invitations::token_hash.eq(token_hash(&token)),
            invitations::created_at.eq(now),
            invitations::expires_at.eq(expires_at),
            invitations::resent_at.eq(resent_at),
            invitations::activates_membership.eq(activates_membership),
        ))
        .execute(conn)?;
    Ok(IssuedLink { url: site.link(&format!("{PATH_PREFIX}{token}")), expires_at })
}

/// Where registration links point; the token follows.
pub const PATH_PREFIX: &str = "/register/";

/// Paths whose last segment is a secret token: the access log shows them without it.
const TOKEN_PATHS: [&str; 2] = [PATH_PREFIX, "/password-reset/"];

/// The request line as the access log shows it (`GET /path?query HTTP/1.1`, like `%r`), with
/// the token of a registration or password-reset link replaced by `…`, so the server log never
/// holds a working link.
pub fn redacted_request_line(request: &actix_web::dev::ServiceRequest) -> String {
    let uri = request.uri();
    let path = redact_path(uri.path());
    let query = uri.query().map(|q| format!("?{}", redact_query(q))).unwrap_or_default();
    format!("{} {path}{query} {:?}", request.method(), request.version())
}

/// A query string with any value that is a token path (`next=/register/…` on the way to
/// sign in before accepting an invitation) redacted like the path itself.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                return pair.to_owned();
            };
            let decoded: String = url::form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let redacted = redact_path(&decoded);
            if redacted == decoded {
                pair.to_owned()
            } else {
                format!("{name}={}", crate::web::urlencode(&redacted))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `path` with the token after `/register/` or `/password-reset/` hidden.
pub fn redact_path(path: &str) -> String {
    for prefix in TOKEN_PATHS {
        if let Some(rest) = path.strip_prefix(prefix).filter(|rest| !rest.is_empty()) {
            let after = rest.find('/').map_or("", |slash| &rest[slash..]);
            return format!("{prefix}…{after}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn the_access_log_never_shows_a_token() {
        for (path, shown) in [
            ("/register/AbC-_123", "/register/…"),
            ("/register/AbC/extra", "/register/…/extra"),
            ("/password-reset/xyz", "/password-reset/…"),
            ("/password-reset", "/password-reset"),
            ("/register/", "/register/"),
            ("/orgs/1/users", "/orgs/1/users"),
        ] {
            assert_eq!(redact_path(path), shown);
        }
        let request = actix_web::test::TestRequest::get().uri("/register/SeCrEtToKeN?x=1").to_srv_request();
        assert_eq!(redacted_request_line(&request), "GET /register/…?x=1 HTTP/1.1");
        let request = actix_web::test::TestRequest::get().uri("/login?next=%2Fregister%2FSeCrEt&a=b").to_srv_request();
        let line = redacted_request_line(&request);
        assert!(!line.contains("SeCrEt") && line.contains("a=b") && line.contains("next=%2Fregister%2F"), "{line}");
        let link = IssuedLink { url: "https://p.example/register/SeCrEtToKeN".into(), expires_at: NaiveDateTime::MIN };
        let shown = format!("{link:?}");
        assert!(shown.contains("https://p.example/register/…") && !shown.contains("SeCrEt"), "{shown}");
    }

    #[test]
    fn tokens_carry_256_bits() {
        let token = crate::auth::random_token(32);
        // 32 bytes in unpadded base64url.
        assert_eq!(token.len(), 43);
        assert_ne!(token, crate::auth::random_token(32));
    }
}
