//! Text rules shared by every typed value: trim, NFC, no control or format characters.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// A control (Cc) or format (Cf) character: invisible, or able to reorder what is shown.
    HiddenCharacter,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HiddenCharacter => f.write_str(
                "Remove the invisible or control characters (such as tabs, line breaks or direction marks).",
            ),
        }
    }
}

/// Trim surrounding whitespace, normalise to NFC, and refuse control and format characters.
pub fn normalize(raw: &str) -> Result<String, TextError> {
    let text: String = raw.trim().nfc().collect();
    let hidden =
        text.chars().any(|c| matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format));
    if hidden {
        return Err(TextError::HiddenCharacter);
    }
    Ok(text)
}

/// The case-insensitive key of already-normalised text: lowercase after NFC, identical on
/// both backends because it is computed here and not by the database.
pub fn fold(text: &str) -> String {
    text.nfc().collect::<String>().to_lowercase()
}
