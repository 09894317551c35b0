//! Password policy and argon2id hashing, bounded so a burst of sign-ins cannot exhaust memory.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::domain::fold;
use crate::error::AppError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// Lowercased passwords (and stems, see `check_policy`) that attackers try first. Most of the
/// well-known lists are shorter than our 12-character minimum; these are the long ones and the
/// stems people pad to reach it.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwerty",
    "qwertyuiop",
    "qwertyuiop[]",
    "asdfghjkl",
    "zxcvbnm",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "iloveyou",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "starwars",
    "trustno1",
    "superman",
    "batman",
    "changeme",
    "secret",
    "default",
    "master",
    "login",
    "abc",
    "test",
    "guest",
    "root",
    "orgportal",
    "correcthorsebatterystaple",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "q1w2e3r4t5y6",
    "zaq12wsxcvfr",
    "iloveyouforever",
    "princesa",
    "whatever",
    "shadow",
    "michael",
    "jennifer",
    "hello",
    "freedom",
    "mustang",
    "summer",
    "winter",
    "spring",
    "autumn",
    "football1234",
];

/// Why a new password is refused, or `Ok` when it may be used by the account `email`.
pub fn check_policy(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters."));
    }
    if length > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters."));
    }
    if password.chars().any(char::is_control) {
        return Err("A password cannot contain control characters such as tabs or line breaks.".into());
    }
    let folded = fold(password);
    let email = fold(email.trim());
    let local_part = email.split('@').next().unwrap_or_default();
    if folded == email || (!local_part.is_empty() && folded == local_part) {
        return Err("A password cannot be your email address.".into());
    }
    if is_common(&folded) {
        return Err("This password is too common; choose one that is hard to guess.".into());
    }
    Ok(())
}

fn is_common(folded: &str) -> bool {
    // Padding a common word with digits or symbols ("Password2026!") does not make it uncommon.
    let stem = folded.trim_end_matches(|c: char| !c.is_alphabetic()).trim_start_matches(|c: char| !c.is_alphabetic());
    if COMMON.contains(&folded) || COMMON.contains(&stem) {
        return true;
    }
    let mut chars = folded.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return true;
    }
    // Runs along a row of digits, letters or keys, such as 1234567890123 or qwertyuiopas.
    const RUNS: [&str; 4] = [
        "0123456789012345678901234567890123456789",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
        "9876543210987654321098765432109876543210",
    ];
    RUNS.iter().any(|run| run.contains(folded))
}

/// Hashes and verifies passwords behind a semaphore of 2 × cores permits.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when an email is unknown, so the answer takes as long as for a known one.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new() -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let dummy_hash = hash_blocking("a password nobody has, used to even out timing")?;
        Ok(Self { permits: Arc::new(Semaphore::new(2 * cores)), dummy_hash: dummy_hash.into() })
    }

    /// A PHC-format argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permit().await?;
        actix_web::web::block(move || hash_blocking(&password))
            .await
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("hashing task failed: {e}")))?
            .map_err(AppError::Unexpected)
    }

    /// True when `password` matches `stored`. Without a stored hash (unknown email, or an
    /// account that never set a password) a dummy hash is checked and the answer is false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let _permit = self.permit().await?;
        let dummy = self.dummy_hash.clone();
        actix_web::web::block(move || match stored {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                verify_blocking(&password, &dummy);
                false
            }
        })
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("verification task failed: {e}")))
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        self.permits
            .acquire()
            .await
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("password semaphore closed: {e}")))
    }
}

/// Hash without the semaphore: for the CLI and bootstrap, which run before serving.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// True when `password` matches the PHC string `hash`; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits_count_characters_not_bytes() {
        assert!(check_policy("short", "a@b.co").is_err());
        assert!(check_policy(&"é".repeat(11), "a@b.co").is_err());
        assert!(check_policy("ünïcödé-pässwörd", "a@b.co").is_ok());
        assert!(check_policy(&"ab1".repeat(43), "a@b.co").is_err()); // 129 characters
        assert!(check_policy(&"ab1x".repeat(32), "a@b.co").is_ok()); // 128 characters
    }

    #[test]
    fn the_email_itself_is_refused() {
        assert!(check_policy("Someone@Example.com", "someone@example.com").is_err());
        assert!(check_policy("someonelonger", "someonelonger@example.com").is_err());
    }

    #[test]
    fn common_and_padded_common_passwords_are_refused() {
        for weak in
            ["Password2026!", "qwertyuiop12", "123456789012", "aaaaaaaaaaaaaa", "!!Welcome!!2025", "abcdefghijklmn"]
        {
            assert!(check_policy(weak, "a@b.co").is_err(), "{weak} accepted");
        }
        assert!(check_policy("violet-harbour-92-kettle", "a@b.co").is_ok());
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_policy("good-password\nsecond", "a@b.co").is_err());
    }

    #[test]
    fn hash_then_verify_round_trips() {
        let hash = hash_blocking("violet-harbour-92-kettle").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_blocking("violet-harbour-92-kettle", &hash));
        assert!(!verify_blocking("violet-harbour-92-kettlf", &hash));
        assert!(!verify_blocking("anything", "not a hash"));
    }
}
