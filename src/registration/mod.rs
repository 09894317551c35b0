//! Registration links (`/register/{token}`). This issue only issues them; the registration
//! page itself comes later and will live here too. Only a hash of each token is stored; the
//! link itself exists in the email alone (sealed in the outbox, see `mail::sealed`). A person
//! holds at most one live link per issuer: one per inviting organization, one from the
//! platform administrators.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::invitations;
use crate::db::DbConn;
use crate::mail::Site;

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
    account_id: i64,
    organization_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    insert(conn, site, account_id, organization_id, None, now)
}

/// Resend: a new link from `organization_id`, superseding its earlier one, marked as resent
/// now (see `last_resent_at`).
pub fn reissue(
    conn: &mut DbConn,
    site: &Site,
    account_id: i64,
    organization_id: i64,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    insert(conn, site, account_id, Some(organization_id), Some(now), now)
}

/// When `organization_id` last resent its link to `account_id`, if it has.
pub fn last_resent_at(conn: &mut DbConn, account_id: i64, organization_id: i64) -> QueryResult<Option<NaiveDateTime>> {
    invitations::table
        .filter(invitations::account_id.eq(account_id))
        .filter(invitations::organization_id.eq(organization_id))
        .select(invitations::resent_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Withdraw the link `organization_id` sent `account_id` (the person was removed there).
pub fn withdraw(conn: &mut DbConn, account_id: i64, organization_id: i64) -> QueryResult<usize> {
    diesel::delete(
        invitations::table
            .filter(invitations::account_id.eq(account_id))
            .filter(invitations::organization_id.eq(organization_id)),
    )
    .execute(conn)
}

fn insert(
    conn: &mut DbConn,
    site: &Site,
    account_id: i64,
    organization_id: Option<i64>,
    resent_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    let token = crate::auth::random_token(32);
    let expires_at = now + VALIDITY;
    let same_account = invitations::table.filter(invitations::account_id.eq(account_id));
    match organization_id {
        Some(org_id) => diesel::delete(same_account.filter(invitations::organization_id.eq(org_id))).execute(conn)?,
        None => diesel::delete(same_account.filter(invitations::organization_id.is_null())).execute(conn)?,
    };
    diesel::insert_into(invitations::table)
        .values((
            invitations::account_id.eq(account_id),
            invitations::organization_id.eq(organization_id),
            invitations::token_hash.eq(token_hash(&token)),
            invitations::created_at.eq(now),
            invitations::expires_at.eq(expires_at),
            invitations::resent_at.eq(resent_at),
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
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{} {path}{query} {:?}", request.method(), request.version())
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
        assert_eq!(redact_path("/register/AbC-_123"), "/register/…");
        assert_eq!(redact_path("/register/AbC/extra"), "/register/…/extra");
        assert_eq!(redact_path("/password-reset/xyz"), "/password-reset/…");
        assert_eq!(redact_path("/password-reset"), "/password-reset");
        assert_eq!(redact_path("/register/"), "/register/");
        assert_eq!(redact_path("/orgs/1/users"), "/orgs/1/users");
        let request = actix_web::test::TestRequest::get().uri("/register/SeCrEtToKeN?x=1").to_srv_request();
        assert_eq!(redacted_request_line(&request), "GET /register/…?x=1 HTTP/1.1");
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
