//! Talking to the directory, with `ldap3`'s blocking client. Call only from a blocking thread
//! (`web::block`): each call runs its own small runtime and waits on the network.
//!
//! Failures come back as the directory's own words (or the network's), for the page to show.

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{ldap_escape, LdapConn, LdapConnSettings, Scope, SearchEntry};

use super::forms::ConnectionSettings;

/// How long connecting, and then each operation, may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Entries per page of a paged search: under the usual server limits (Active Directory's is
/// 1,000), so a directory past its size limit is still read whole.
const PAGE_SIZE: i32 = 500;

/// The most of a directory's words a page shows: its error text is the server's to choose, and
/// it travels in the session cookie as a flash.
const SHOWN_MAX: usize = 400;

/// `text` cut to `SHOWN_MAX` characters, an ellipsis marking the cut.
pub fn bounded(text: String) -> String {
    match text.char_indices().nth(SHOWN_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

fn connect(settings: &ConnectionSettings) -> Result<LdapConn, String> {
    let options = LdapConnSettings::new().set_conn_timeout(TIMEOUT).set_starttls(settings.starttls);
    LdapConn::with_settings(options, &settings.url).map_err(|e| format!("Cannot connect to {}: {e}", settings.url))
}

/// Bind as `dn`; a refused bind gives the directory's result text.
fn bind(ldap: &mut LdapConn, dn: &str, password: &str) -> Result<(), String> {
    ldap.with_timeout(TIMEOUT)
        .simple_bind(dn, password)
        .and_then(|result| result.success())
        .map(drop)
        .map_err(|e| format!("The bind as {dn} failed: {e}"))
}

/// Bind with the connection's account and count the entries its filter matches under its
/// base DN, page by page.
pub fn test_connection(settings: &ConnectionSettings, password: &str) -> Result<u64, String> {
    let mut ldap = connect(settings)?;
    bind(&mut ldap, &settings.bind_dn, password)?;
    let adapters: Vec<Box<dyn Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
    let mut search = ldap
        .with_timeout(TIMEOUT)
        .streaming_search_with(adapters, &settings.base_dn, Scope::Subtree, &settings.user_filter, vec!["1.1"])
        .map_err(|e| format!("The search failed: {e}"))?;
    let mut count = 0u64;
    while let Some(_entry) = search.next().map_err(|e| format!("The search failed: {e}"))? {
        count += 1;
    }
    search.result().success().map_err(|e| format!("The search failed: {e}"))?;
    let _ = ldap.unbind();
    Ok(count)
}

/// What a test sign-in found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub dn: String,
}

/// Find the entry whose email attribute is `email` (within the connection's filter), then
/// bind as it with `user_password`. An empty password is refused before any bind: the
/// directory would take it as an unauthenticated bind and "succeed".
pub fn test_sign_in(
    settings: &ConnectionSettings,
    password: &str,
    email: &str,
    user_password: &str,
) -> Result<SignedIn, String> {
    if email.trim().is_empty() {
        return Err("Enter the email address to look up.".into());
    }
    if user_password.is_empty() {
        return Err("Enter the person's password: an empty password is never sent to the directory.".into());
    }
    let mut ldap = connect(settings)?;
    bind(&mut ldap, &settings.bind_dn, password)?;
    let dn = find_entry(&mut ldap, settings, email)??;
    let _ = ldap.unbind();
    // A fresh connection: a failed bind must not leave the service account's bind half-used.
    let mut user = connect(settings)?;
    bind(&mut user, &dn, user_password)?;
    let _ = user.unbind();
    Ok(SignedIn { dn })
}

/// The DN of the one entry whose email attribute is `email`, within the connection's filter.
/// Outer `Err`: the search failed; inner: no entry, or more than one, has the address.
fn find_entry(
    ldap: &mut LdapConn,
    settings: &ConnectionSettings,
    email: &str,
) -> Result<Result<String, String>, String> {
    let filter = format!("(&{}({}={}))", settings.user_filter, settings.email_attr, ldap_escape(email.trim()));
    let (entries, _) = ldap
        .with_timeout(TIMEOUT)
        .search(&settings.base_dn, Scope::Subtree, &filter, vec!["1.1"])
        .and_then(|result| result.success())
        .map_err(|e| format!("The search failed: {e}"))?;
    Ok(match entries.as_slice() {
        [] => Err(format!("No entry matches {} = {}.", settings.email_attr, email.trim())),
        [entry] => Ok(SearchEntry::construct(entry.clone()).dn),
        _ => Err(format!(
            "{} entries have {} = {}: the address must name one person.",
            entries.len(),
            settings.email_attr,
            email.trim()
        )),
    })
}

/// Why a directory sign-in did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No single entry has the address, or the directory refused the password.
    Wrong,
    /// The directory could not be asked (down, unreachable, the service account refused):
    /// the person's password was never judged. The directory's or the network's words.
    Unavailable(String),
}

/// LDAP's invalidCredentials: the only answer to a bind that means "wrong password".
const INVALID_CREDENTIALS: u32 = 49;

/// A person's sign-in against the directory: find the entry by `email`, then bind as its DN
/// with `user_password`. Returns the DN. The password is only sent, never kept.
pub fn authenticate(
    settings: &ConnectionSettings,
    password: &str,
    email: &str,
    user_password: &str,
) -> Result<String, Refused> {
    if user_password.is_empty() {
        return Err(Refused::Wrong);
    }
    let mut ldap = connect(settings).map_err(Refused::Unavailable)?;
    bind(&mut ldap, &settings.bind_dn, password).map_err(Refused::Unavailable)?;
    let dn = find_entry(&mut ldap, settings, email).map_err(Refused::Unavailable)?.map_err(|_| Refused::Wrong)?;
    let _ = ldap.unbind();
    let mut user = connect(settings).map_err(Refused::Unavailable)?;
    let answer = user.with_timeout(TIMEOUT).simple_bind(&dn, user_password);
    let _ = user.unbind();
    match answer {
        Ok(result) if result.rc == 0 => Ok(dn),
        Ok(result) if result.rc == INVALID_CREDENTIALS => Err(Refused::Wrong),
        Ok(result) => Err(Refused::Unavailable(format!("The bind as {dn} failed: {result}"))),
        Err(e) => Err(Refused::Unavailable(format!("The bind as {dn} failed: {e}"))),
    }
}

/// One directory entry as the sync reads it: the attributes raw, checked by the caller.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

fn first_value(entry: &SearchEntry, attr: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .and_then(|(_, values)| values.first())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Read every entry the connection's filter matches, `batch` at a time, handing each batch to
/// `on_batch` (which may stop the read with an error). The search is paged, so a directory
/// past its size limit is read whole. Returns the number of entries read, once the server has
/// said the search completed: a search cut short is an error, never a smaller directory.
pub fn read_entries(
    settings: &ConnectionSettings,
    password: &str,
    batch: usize,
    mut on_batch: impl FnMut(Vec<Entry>) -> Result<(), String>,
) -> Result<u64, String> {
    let mut ldap = connect(settings)?;
    bind(&mut ldap, &settings.bind_dn, password)?;
    let adapters: Vec<Box<dyn Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE_SIZE))];
    let attrs = vec![settings.email_attr.as_str(), settings.name_attr.as_str()];
    let mut search = ldap
        .with_timeout(TIMEOUT)
        .streaming_search_with(adapters, &settings.base_dn, Scope::Subtree, &settings.user_filter, attrs)
        .map_err(|e| format!("The search failed: {e}"))?;
    let mut read = 0u64;
    let mut pending = Vec::with_capacity(batch);
    while let Some(raw) = search.next().map_err(|e| format!("The search failed: {e}"))? {
        let entry = SearchEntry::construct(raw);
        pending.push(Entry {
            email: first_value(&entry, &settings.email_attr),
            name: first_value(&entry, &settings.name_attr),
            dn: entry.dn,
        });
        read += 1;
        if pending.len() >= batch {
            on_batch(std::mem::take(&mut pending))?;
        }
    }
    search.result().success().map_err(|e| format!("The search failed: {e}"))?;
    if !pending.is_empty() {
        on_batch(pending)?;
    }
    let _ = ldap.unbind();
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_text_shown_on_a_page_is_bounded() {
        assert_eq!(bounded("short".into()), "short");
        let long = bounded("é".repeat(10_000));
        assert_eq!(long.chars().count(), SHOWN_MAX + 1);
        assert!(long.ends_with('…'));
    }
}
