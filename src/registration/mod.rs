//! Registration links (`/register/{token}`). This issue only issues them; the registration
//! page itself comes later and will live here too.

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

/// A freshly issued link, to put in an email.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: NaiveDateTime,
}

/// Issue a registration link for `account_id`, superseding any earlier one. `organization_id`
/// names the organization whose invitation this is (its removal deletes the link).
pub fn issue(
    conn: &mut DbConn,
    site: &Site,
    account_id: i64,
    organization_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<IssuedLink> {
    let token = crate::auth::random_token(32);
    let expires_at = now + VALIDITY;
    diesel::delete(invitations::table.filter(invitations::account_id.eq(account_id))).execute(conn)?;
    diesel::insert_into(invitations::table)
        .values((
            invitations::account_id.eq(account_id),
            invitations::organization_id.eq(organization_id),
            invitations::token_hash.eq(token_hash(&token)),
            invitations::created_at.eq(now),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedLink { url: site.link(&format!("/register/{token}")), expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn tokens_carry_256_bits() {
        let token = crate::auth::random_token(32);
        // 32 bytes in unpadded base64url.
        assert_eq!(token.len(), 43);
        assert_ne!(token, crate::auth::random_token(32));
    }
}
