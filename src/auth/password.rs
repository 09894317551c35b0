//! Password policy and argon2id hashing, bounded so a burst of sign-ins cannot exhaust memory.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use zxcvbn::feedback::{Feedback, Suggestion, Warning};
use zxcvbn::Score;

use crate::domain::fold;
use crate::error::AppError;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// The lowest zxcvbn score a new password may have: 3 of 4, "safely unguessable" (about 10^10
/// guesses), which holds up against an offline attack on a slow hash such as argon2id.
pub const MIN_SCORE: Score = Score::Three;

/// Why a new password is refused, or `Ok` when it may be used by the account `email`.
///
/// Besides the length and character rules, the zxcvbn strength estimator judges how guessable
/// the password is, knowing the email (and its local part) as words an attacker would try
/// first; the reason it gives is put in our own words, so the page can say why.
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
    let user_inputs: Vec<&str> =
        [email.as_str(), local_part, "orgportal"].into_iter().filter(|s| !s.is_empty()).collect();
    let estimate = zxcvbn::zxcvbn(password, &user_inputs);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    // Without the email as a known word, would it have passed? Then the email is the reason.
    let uses_email = zxcvbn::zxcvbn(password, &[]).score() >= MIN_SCORE;
    Err(refusal(estimate.feedback(), uses_email))
}

/// The reason for a refusal, in our words: zxcvbn's warning names what makes the password
/// guessable, and its first suggestion what would help.
fn refusal(feedback: Option<&Feedback>, uses_email: bool) -> String {
    let why = if uses_email {
        "This password is too easy to guess: it is built on your email address, which is the first thing an attacker tries."
    } else {
        match feedback.and_then(Feedback::warning) {
            Some(Warning::ThisIsATop10Password | Warning::ThisIsATop100Password | Warning::ThisIsACommonPassword) => {
                "This password is too common: it is on the lists of passwords that attackers try first."
            }
            Some(Warning::ThisIsSimilarToACommonlyUsedPassword) => {
                "This password is too common: it is a well-known password with small changes, such as capitals, digits, symbols or letters swapped for look-alikes, which attackers try too."
            }
            Some(Warning::StraightRowsOfKeysAreEasyToGuess | Warning::ShortKeyboardPatternsAreEasyToGuess) => {
                "This password is too easy to guess: it follows a pattern of keys on the keyboard."
            }
            Some(Warning::RepeatsLikeAaaAreEasyToGuess) => {
                "This password is too easy to guess: it repeats the same character."
            }
            Some(Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess) => {
                "This password is too easy to guess: it repeats a short group of characters, which is hardly harder to guess than the group once."
            }
            Some(Warning::SequencesLikeAbcAreEasyToGuess) => {
                "This password is too easy to guess: it is made of sequences such as abc or 6543."
            }
            Some(Warning::RecentYearsAreEasyToGuess) => {
                "This password is too easy to guess: it leans on a recent year."
            }
            Some(Warning::DatesAreOftenEasyToGuess) => "This password is too easy to guess: it leans on a date.",
            Some(Warning::AWordByItselfIsEasyToGuess) => {
                "This password is too easy to guess: it is a single dictionary word, even with capitals, digits or symbols added."
            }
            Some(
                Warning::NamesAndSurnamesByThemselvesAreEasyToGuess | Warning::CommonNamesAndSurnamesAreEasyToGuess,
            ) => "This password is too easy to guess: it leans on common first names or surnames.",
            None => "This password is too easy to guess: its parts are common words or patterns that attackers combine.",
        }
    };
    let help = match feedback.and_then(|f| f.suggestions().first().copied()) {
        Some(Suggestion::AvoidRepeatedWordsAndCharacters) => "Avoid repeated words and characters.",
        Some(Suggestion::AvoidSequences) => "Avoid runs such as 1234 or qwerty.",
        Some(
            Suggestion::AvoidRecentYears
            | Suggestion::AvoidYearsThatAreAssociatedWithYou
            | Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
        ) => "Leave out years and dates that relate to you.",
        _ => "Try three or four unrelated words, such as a short phrase only you would think of.",
    };
    format!("{why} {help}")
}

/// Hashes and verifies passwords: at most 2 × cores at once (each argon2id hash takes 19 MiB),
/// and a bounded line of waiters behind them. Past that line the answer is 503 at once, so a
/// flood of sign-ins cannot pile up requests and memory without end.
#[derive(Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    /// Slots plus waiting places: a request without a place is turned away, not queued.
    places: Arc<Semaphore>,
    /// Verified against when an email is unknown, so the answer takes as long as for a known one.
    dummy_hash: Arc<str>,
}

/// Waiters allowed per hashing slot: about half a second of work on a 2-core machine.
const WAITERS_PER_SLOT: usize = 16;

/// How long a client turned away by a full hashing line is asked to wait.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

impl Passwords {
    pub fn new() -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        Self::with_capacity(2 * cores, 2 * cores * WAITERS_PER_SLOT)
    }

    /// `slots` hashes at once and `waiting` more in line (tests use small numbers).
    pub fn with_capacity(slots: usize, waiting: usize) -> anyhow::Result<Self> {
        let dummy_hash = hash_blocking("a password nobody has, used to even out timing")?;
        Ok(Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            places: Arc::new(Semaphore::new(slots.max(1) + waiting)),
            dummy_hash: dummy_hash.into(),
        })
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

    /// A place in line (or 503 at once), then a hashing slot.
    async fn permit(&self) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), AppError> {
        let place = self
            .places
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy { retry_after_secs: BUSY_RETRY_AFTER_SECS })?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("password semaphore closed: {e}")))?;
        Ok((place, slot))
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
                                                                     // 128 characters that follow no pattern.
        let longest: String = (0..128u32).map(|i| char::from(b'!' + ((i * 37 + 11) % 90) as u8)).collect();
        assert_eq!(longest.chars().count(), 128);
        assert_eq!(check_policy(&longest, "a@b.co"), Ok(()));
    }

    #[test]
    fn the_email_itself_is_refused() {
        assert!(check_policy("Someone@Example.com", "someone@example.com").is_err());
        assert!(check_policy("someonelonger", "someonelonger@example.com").is_err());
    }

    #[test]
    fn a_password_built_on_the_email_is_refused_and_says_so() {
        let why = check_policy("Kestrel.Vantongeren!", "kestrel.vantongeren@example.com").unwrap_err();
        assert!(why.contains("email address"), "{why}");
        // The same password is fine for someone else.
        assert_eq!(check_policy("Kestrel.Vantongeren!", "someone@example.com"), Ok(()));
    }

    #[test]
    fn common_and_padded_common_passwords_are_refused_with_a_reason() {
        for weak in [
            "Password2026!",
            "qwertyuiop12",
            "123456789012",
            "aaaaaaaaaaaaaa",
            "abcdefghijklmn",
            // Walks down the keyboard's columns: passed the old hand-written list.
            "1qaz2wsx3edc4rfv",
            "P@ssw0rd12345",
            "iloveyou12345",
            "password1234",
        ] {
            let why = check_policy(weak, "a@b.co").expect_err(weak);
            assert!(why.starts_with("This password is too"), "{weak}: {why}");
            assert!(why.ends_with('.') && why.len() > 60, "{weak}: {why}");
        }
        let why = check_policy("Password2026!", "a@b.co").unwrap_err();
        assert!(why.contains("too common"), "{why}");
        let why = check_policy("qwertyuiopasdf", "a@b.co").unwrap_err();
        assert!(why.contains("keyboard") || why.contains("common"), "{why}");
    }

    #[test]
    fn the_passwords_the_test_suites_use_pass() {
        // tests/api and tests/browser sign in with these; the policy must keep accepting them.
        for good in [
            "violet-harbour-92-kettle",
            "lichen-summit-82-parade",
            "copper-lantern-58-meadow",
            "quiet-river-stone-41",
            "mossy-anchor-74-lantern",
            "granite-orchard-73-violet",
            "new-harbour-lights-77",
            "ünïcödé-pässwörd",
        ] {
            assert_eq!(check_policy(good, "admin@default.com"), Ok(()), "{good}");
        }
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
