//! LDAP directory connections (`/admin/ldap`, issue 16): add, edit and delete a connection,
//! test it (bind and count the matching entries) and test one person's sign-in against it;
//! sync its entries into the single organization (`sync`, under a lease in the database), and
//! sign in the accounts that came from it with their directory password (`sign_in`).
//!
//! The seed's interlock (DESIGN §2): directory users go into a single organization, so while
//! more than one organization exists the LDAP configuration is read-only, and while any
//! connection exists no organization can be added. Both checks run inside the write
//! transaction of the change, under one lock (`interlock`), so two administrators racing
//! cannot end with both.

mod client;
mod forms;
mod handlers;
pub mod interlock;
mod queries;
pub mod sign_in;
pub mod sync;
mod sync_pages;
mod sync_write;
mod views;

use actix_web::web;

use crate::mail::sealed::{BodyKey, OpenError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ldap", web::get().to(handlers::list))
        .route("/ldap", web::post().to(handlers::create))
        .route("/ldap/{id}", web::get().to(handlers::edit_form))
        .route("/ldap/{id}", web::post().to(handlers::update))
        .route("/ldap/{id}/delete", web::post().to(handlers::delete))
        .route("/ldap/{id}/test", web::post().to(handlers::test_connection))
        .route("/ldap/{id}/test-sign-in", web::post().to(handlers::test_sign_in))
        .route("/ldap/{id}/sync", web::get().to(sync_pages::progress))
        .route("/ldap/{id}/sync", web::post().to(sync_pages::sync_now));
}

/// The key that seals bind passwords at rest, derived from the secret key for this use only.
/// `Debug` shows nothing of it.
#[derive(Clone)]
pub struct BindPasswordKey(BodyKey);

impl std::fmt::Debug for BindPasswordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BindPasswordKey(<redacted>)")
    }
}

/// Bound to the row, so a sealed password copied into another connection does not open.
fn aad(connection_id: i64) -> Vec<u8> {
    format!("ldap_connections:{connection_id}").into_bytes()
}

impl BindPasswordKey {
    pub fn derive(secret: &[u8]) -> Self {
        Self(BodyKey::derive_for(secret, b"orgportal ldap bind password"))
    }

    pub fn seal(&self, password: &str, connection_id: i64) -> Result<String, OpenError> {
        self.0.seal_bytes(password.as_bytes(), &aad(connection_id))
    }

    pub fn open(&self, stored: &str, connection_id: i64) -> Result<String, OpenError> {
        let plain = self.0.open_bytes(stored, &aad(connection_id))?;
        String::from_utf8(plain).map_err(|_| OpenError::Damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_only_for_its_row_and_key() {
        let key = BindPasswordKey::derive(&[3u8; 64]);
        let sealed = key.seal("s3cret bind", 7).unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(key.open(&sealed, 7).unwrap(), "s3cret bind");
        assert!(key.open(&sealed, 8).is_err());
        assert!(BindPasswordKey::derive(&[4u8; 64]).open(&sealed, 7).is_err());
        assert_eq!(format!("{key:?}"), "BindPasswordKey(<redacted>)");
    }
}
