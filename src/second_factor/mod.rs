//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, what every
//! authenticator app expects) with ten one-time recovery codes.
//!
//! - Enrolment (at sign-in when required, in registration, on `/account/2fa`) stores a
//!   *pending* secret and shows it as an SVG QR code, the `otpauth://` URI and text; only a
//!   valid code turns it into the account's confirmed secret (replacing any older one).
//! - Sign-in asks for a code after the password (`sign_in`); a code counts once per account
//!   (the step it matched is stored, and only a later step is accepted), wrong codes count
//!   toward the sign-in lockout, and a recovery code is accepted in the same field.
//! - Who must have one is `requirement`: a live membership without No 2nd Factor, or being a
//!   platform administrator while `ORGPORTAL_REQUIRE_ADMIN_2FA` is on.
//!
//! Secrets are sealed at rest under a key derived from the secret key; recovery codes are
//! stored as a keyed SHA-256, so a copy of the database alone holds nothing usable.

pub mod handlers;
pub mod queries;
pub mod sign_in;
pub mod views;

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::mail::sealed::BodyKey;

pub use sign_in::Pending;

/// Seconds per TOTP step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Steps either side of now still accepted: a phone's clock may be off by a little.
const SKEW_STEPS: i64 = 1;
/// 160 bits, the HMAC-SHA-1 block size RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// The issuer shown in authenticator apps (no `:`, which the URI label reserves).
pub const ISSUER: &str = "orgportal";
/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Recovery code characters: 31 of them (ten give about 49 bits), none easily mistaken for
/// another (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_LEN: usize = 10;

/// The keys of the second factor, derived from the portal's secret key.
#[derive(Clone)]
pub struct Keys {
    seal: BodyKey,
    pepper: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("second_factor::Keys(<redacted>)")
    }
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Self {
        use hkdf::Hkdf;
        let mut pepper = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
        let expanded = Hkdf::<Sha256>::new(None, secret).expand(b"orgportal recovery codes v1", &mut pepper);
        debug_assert!(expanded.is_ok());
        Self { seal: BodyKey::derive_for(secret, b"orgportal totp secrets v1"), pepper }
    }

    /// The secret as stored: sealed, and bound to its account so a row cannot be moved.
    pub fn seal(&self, secret: &Secret, account_id: i64) -> Result<String, crate::mail::sealed::OpenError> {
        self.seal.seal_bytes(&secret.0, &aad(account_id))
    }

    pub fn open(&self, stored: &str, account_id: i64) -> Result<Secret, crate::mail::sealed::OpenError> {
        self.seal.open_bytes(stored, &aad(account_id)).map(Secret)
    }

    /// What is stored of a recovery code (already normalised).
    pub fn recovery_hash(&self, normalised: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.pepper);
        hasher.update(normalised.as_bytes());
        hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn aad(account_id: i64) -> Vec<u8> {
    format!("totp\n{account_id}").into_bytes()
}

/// A TOTP secret (raw bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill(&mut bytes[..]);
        Self(bytes)
    }

    fn totp(&self, account_name: &str) -> Option<TOTP> {
        // `:` would break the URI's label; no valid email has one, but never fail on it.
        let name = account_name.replace(':', "");
        TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP_SECS as u64, self.0.clone(), Some(ISSUER.to_owned()), name).ok()
    }

    /// The secret as people type it into an app: base32, no padding.
    pub fn base32(&self) -> String {
        self.totp("").map(|t| t.get_secret_base32()).unwrap_or_default()
    }

    /// `otpauth://totp/orgportal:EMAIL?secret=…&issuer=orgportal`
    pub fn otpauth_uri(&self, email: &str) -> String {
        self.totp(email).map(|t| t.get_url()).unwrap_or_default()
    }

    /// The code of the step `step` (for tests and for checking).
    pub fn code_at_step(&self, step: i64) -> String {
        match (self.totp(""), u64::try_from(step)) {
            (Some(totp), Ok(step)) => totp.generate(step * STEP_SECS as u64),
            _ => String::new(),
        }
    }

    /// The step a typed `code` belongs to, if it is the code of a step within the skew of
    /// `unix_time`. Spaces are ignored (apps show "123 456"); anything but six digits fails.
    pub fn matching_step(&self, code: &str, unix_time: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now_step = unix_time.div_euclid(STEP_SECS);
        let mut found = None;
        // Every candidate is compared, in constant time, so timing says nothing of which.
        for step in (now_step - SKEW_STEPS)..=(now_step + SKEW_STEPS) {
            let expected = self.code_at_step(step);
            let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into();
            if same && step >= 0 && found.is_none() {
                found = Some(step);
            }
        }
        found
    }
}

/// The QR code of `uri` as inline SVG (drawn here, no script), with an accessible name.
pub fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: no XML declaration; an image role and name for screen readers.
    let svg = match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => return String::new(),
    };
    svg.replacen("<svg ", r#"<svg role="img" aria-label="QR code to scan with your authenticator app" "#, 1)
}

/// Ten new recovery codes, as shown: `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| char::from(RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())]))
                .collect();
            format!("{}-{}", &raw[..RECOVERY_LEN / 2], &raw[RECOVERY_LEN / 2..])
        })
        .collect()
}

/// A typed recovery code in its stored form (lower case, no dash or spaces), if it can be one.
pub fn normalise_recovery_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// Why an account must have a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Memberships (organization names) whose No 2nd Factor is off.
    Organizations(Vec<String>),
    /// A platform administrator while `ORGPORTAL_REQUIRE_ADMIN_2FA` is on.
    Administrator,
}

impl Requirement {
    /// The rule as a sentence, for the account page and refusals.
    pub fn explain(&self) -> String {
        match self {
            Requirement::Administrator => {
                "This portal requires two-step sign-in for platform administrators.".to_owned()
            }
            Requirement::Organizations(names) => {
                format!("{} requires two-step sign-in for your membership.", names.join(", "))
            }
        }
    }
}

/// The rule itself: `strict_orgs` are the organizations of the account's live memberships
/// (invited ones excluded) whose No 2nd Factor is off.
pub fn requirement(strict_orgs: Vec<String>, is_platform_admin: bool, require_admin_2fa: bool) -> Option<Requirement> {
    if is_platform_admin && require_admin_2fa {
        return Some(Requirement::Administrator);
    }
    (!strict_orgs.is_empty()).then_some(Requirement::Organizations(strict_orgs))
}

/// Recovery codes as a `data:` URL of a text file, so the download needs no further request
/// and the codes are never kept anywhere they could be fetched again.
pub fn recovery_codes_download(email: &str, codes: &[String]) -> String {
    let mut text = format!(
        "orgportal recovery codes for {email}\r\nEach code works once, in place of a code from your app.\r\n\r\n"
    );
    for code in codes {
        text.push_str(code);
        text.push_str("\r\n");
    }
    // Base64: form encoding would turn spaces into `+`, which a data: URL keeps as is.
    use base64::Engine;
    format!("data:text/plain;charset=utf-8;base64,{}", base64::engine::general_purpose::STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8-digit codes; the last six
    /// digits are what a 6-digit app shows.
    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        let secret = Secret(b"12345678901234567890".to_vec());
        for (time, eight_digits) in [(59_i64, "94287082"), (1_111_111_109, "07081804"), (2_000_000_000, "69279037")] {
            let step = time / STEP_SECS;
            assert_eq!(secret.code_at_step(step), eight_digits[2..], "time {time}");
            assert_eq!(secret.matching_step(&eight_digits[2..], time), Some(step));
        }
    }

    #[test]
    fn a_code_matches_its_own_step_and_one_either_side_only() {
        let secret = Secret::generate();
        let now = 1_800_000_000_i64;
        let step = now / STEP_SECS;
        let code = secret.code_at_step(step);
        assert_eq!(secret.matching_step(&code, now), Some(step));
        assert_eq!(secret.matching_step(&code, now + STEP_SECS), Some(step), "one step late still counts");
        assert_eq!(secret.matching_step(&code, now - STEP_SECS), Some(step), "one step early still counts");
        let far = secret.code_at_step(step + 5);
        if far != code {
            assert_eq!(secret.matching_step(&far, now), None, "five steps away does not count");
        }
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(secret.matching_step(&spaced, now), Some(step), "spaces as apps show them are fine");
    }

    #[test]
    fn malformed_codes_never_match() {
        let secret = Secret::generate();
        for code in ["", "12345", "1234567", "abcdef", "12345\u{0}", "١٢٣٤٥٦", "+12345", "-12345"] {
            assert_eq!(secret.matching_step(code, 1_800_000_000), None, "{code:?}");
        }
    }

    #[test]
    fn uri_names_issuer_account_and_secret() {
        let secret = Secret::generate();
        let uri = secret.otpauth_uri("ana@example.com");
        assert!(uri.starts_with("otpauth://totp/orgportal:ana%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(uri.contains("issuer=orgportal"), "{uri}");
        assert_eq!(secret.base32().len(), 32, "160 bits in base32");
    }

    #[test]
    fn qr_code_is_inline_svg_with_a_name() {
        let svg = qr_svg("otpauth://totp/orgportal:a%40b.example?secret=ABC&issuer=orgportal");
        assert!(svg.starts_with("<svg role=\"img\" aria-label="), "{}", &svg[..60.min(svg.len())]);
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn sealed_secrets_open_only_for_their_account_and_key() {
        let keys = Keys::derive(&[7u8; 64]);
        let secret = Secret::generate();
        let sealed = keys.seal(&secret, 42).expect("seal");
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(keys.open(&sealed, 42).expect("open"), secret);
        assert!(keys.open(&sealed, 43).is_err(), "bound to the account");
        assert!(Keys::derive(&[8u8; 64]).open(&sealed, 42).is_err(), "bound to the key");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            let normal = normalise_recovery_code(code).expect("a generated code normalises");
            assert_eq!(normalise_recovery_code(&code.to_uppercase()), Some(normal.clone()));
            assert_eq!(normalise_recovery_code(&format!(" {} ", normal)), Some(normal));
        }
        assert_eq!(normalise_recovery_code("123456"), None);
        assert_eq!(normalise_recovery_code("abcde-fghi0"), None, "0 is not in the alphabet");
        let keys = Keys::derive(&[1u8; 64]);
        assert_ne!(keys.recovery_hash("abcdefghjk"), Keys::derive(&[2u8; 64]).recovery_hash("abcdefghjk"));
    }

    #[test]
    fn the_download_holds_every_code_as_written() {
        use base64::Engine;
        let codes = new_recovery_codes();
        let url = recovery_codes_download("ana@example.com", &codes);
        let encoded = url.strip_prefix("data:text/plain;charset=utf-8;base64,").expect("a base64 data URL");
        let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
        assert!(text.starts_with("orgportal recovery codes for ana@example.com\r\n"), "{text}");
        for code in &codes {
            assert!(text.contains(&format!("\r\n{code}\r\n")), "{text}");
        }
    }

    #[test]
    fn requirement_rule() {
        assert_eq!(requirement(vec![], false, true), None);
        assert_eq!(requirement(vec![], true, true), Some(Requirement::Administrator));
        assert_eq!(requirement(vec![], true, false), None);
        assert_eq!(
            requirement(vec!["Acme".into()], true, false),
            Some(Requirement::Organizations(vec!["Acme".into()]))
        );
        assert!(Requirement::Organizations(vec!["Acme".into()]).explain().contains("Acme"));
    }
}
