//! Typed domain values, parsed once at the edge. Their fields are private: `parse` is the only
//! way in, so a value of these types has already been trimmed, normalised and checked.

mod ids;
mod status;
mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

pub use ids::{AccountId, OrgId, PlanId};
pub use status::{AccountStatus, MembershipStatus, UnknownStatus};
pub use text::{fold, normalize};

/// An email address: trimmed, NFC, lowercased, syntactically valid, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = normalize(raw).map_err(|e| e.to_string())?;
        if text.is_empty() {
            return Err("Enter an email address.".into());
        }
        let email = text.to_lowercase();
        if email.chars().count() > Self::MAX_LEN {
            return Err(format!("An email address has at most {} characters.", Self::MAX_LEN));
        }
        let well_formed = email_address::EmailAddress::is_valid(&email)
            && !email.chars().any(char::is_whitespace)
            && !email.contains('"')
            && email.rsplit_once('@').is_some_and(|(_, domain)| !domain.starts_with('['));
        if !well_formed {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name as typed (case kept, 1–100 characters after `normalize`) and its case-folded key,
/// stored beside it to be unique, sorted and searched. `K` tells which name it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name<K> {
    name: String,
    key: String,
    kind: PhantomData<K>,
}

/// Which name a `Name` is: only the words for an empty one differ.
pub trait NameKind {
    const WHEN_EMPTY: &'static str;
}

/// An organization's name (`organizations.name_key`, plans' names too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfOrganization {}

impl NameKind for OfOrganization {
    const WHEN_EMPTY: &'static str = "Enter a name.";
}

/// A person's display name (`accounts.name_key`, which the users list searches and sorts by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfPerson {}

impl NameKind for OfPerson {
    const WHEN_EMPTY: &'static str = "Enter your name.";
}

pub type OrgName = Name<OfOrganization>;
pub type DisplayName = Name<OfPerson>;

impl<K: NameKind> Name<K> {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = normalize(raw).map_err(|e| e.to_string())?;
        if name.is_empty() {
            return Err(K::WHEN_EMPTY.into());
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(format!("A name has at most {} characters.", Self::MAX_LEN));
        }
        let key = fold(&name);
        Ok(Self { name, key, kind: PhantomData })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The case-folded key stored beside the name (unique, sorted, searched).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A storage quota in whole gigabytes, 0–1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QuotaGb(i64);

impl QuotaGb {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("Enter a quota in GB.".into());
        }
        parse_whole_number(text, 0, Self::MAX)
            .map(Self)
            .ok_or_else(|| format!("Enter a whole number of GB from 0 to {}.", group_thousands(Self::MAX)))
    }

    pub fn gb(self) -> i64 {
        self.0
    }
}

/// A seat limit: unlimited (left empty) or a whole number of at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seats {
    Unlimited,
    Limited(i64),
}

impl Seats {
    pub const MAX: i64 = 100_000_000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(Self::Unlimited);
        }
        parse_whole_number(text, 1, Self::MAX).map(Self::Limited).ok_or_else(|| {
            format!(
                "Enter a whole number of seats from 1 to {}, or leave it empty for unlimited.",
                group_thousands(Self::MAX)
            )
        })
    }

    /// The stored form: NULL for unlimited.
    pub fn as_option(self) -> Option<i64> {
        match self {
            Self::Unlimited => None,
            Self::Limited(n) => Some(n),
        }
    }
}

/// ASCII digits only (no sign, no spaces, no exponent), within `min..=max`.
fn parse_whole_number(text: &str, min: i64, max: i64) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// `1234567` → `1,234,567`, for figures shown to people.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every field's error at once, keyed by the form field's name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    /// Record the first error of a field; later ones for the same field are dropped.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// Keep the value of a parse, or record its error under `field`.
    pub fn check<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The status word shown for a membership status still held as text. Rows that read
/// `MembershipStatus` use its `label()`; this goes once the last such row does.
pub fn membership_status_label(status: &str) -> &'static str {
    MembershipStatus::parse(status).map_or("Unknown", MembershipStatus::label)
}

#[cfg(test)]
mod tests;
