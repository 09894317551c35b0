//! The search box every list shares (organizations, users): the text typed into `q`, read
//! leniently but refused when it holds a control or format character. Such a character cannot
//! be typed by accident, PostgreSQL refuses NUL in text outright, and SQLite's FTS5 query
//! syntax stops at it; so the list is shown unfiltered with a message beside the box (422),
//! the typed value shown back (escaped by the template), and no query ever sees it.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest search text looked at; a longer one cannot match a 100-character name or a
/// 254-character email anyway.
pub const MAX_SEARCH_CHARS: usize = 254;

/// What the search box holds after parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchBox {
    /// The search to run: trimmed, at most `MAX_SEARCH_CHARS`, empty for none (also when refused).
    pub q: String,
    /// The text as typed (trimmed and shortened the same way) and why it was not searched for.
    pub refused: Option<Refused>,
}

/// A search that was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub typed: String,
    pub message: String,
}

impl SearchBox {
    /// Read the raw `q` value (already percent-decoded; invalid UTF-8 became U+FFFD).
    pub fn parse(raw: Option<&str>) -> Self {
        let typed: String = raw.unwrap_or_default().trim().chars().take(MAX_SEARCH_CHARS).collect();
        match typed.chars().find(|c| is_hidden(*c)) {
            None => Self { q: typed, refused: None },
            Some(hidden) => Self {
                q: String::new(),
                refused: Some(Refused {
                    message: format!(
                        "The search was not run: it holds an invisible or control character (U+{:04X}), such as a \
                         tab, a line break or a direction mark. Remove it and search again.",
                        u32::from(hidden)
                    ),
                    typed,
                }),
            },
        }
    }

    /// The text to show back in the box: what was typed, searched for or not.
    pub fn shown(&self) -> &str {
        self.refused.as_ref().map_or(&self.q, |refused| &refused.typed)
    }

    /// Why the search was not run, for the message beside the box.
    pub fn error(&self) -> Option<&str> {
        self.refused.as_ref().map(|refused| refused.message.as_str())
    }
}

/// A control (Cc) or format (Cf) character: the same rule as names and emails (`domain::normalize`).
fn is_hidden(c: char) -> bool {
    matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_searched_for_trimmed() {
        let search = SearchBox::parse(Some("  Müller GmbH \t"));
        assert_eq!(search.q, "Müller GmbH");
        assert_eq!(search.refused, None);
        assert_eq!(search.shown(), "Müller GmbH");
        assert_eq!(SearchBox::parse(None), SearchBox::default());
        assert_eq!(SearchBox::parse(Some("   ")).q, "");
        // Invalid UTF-8 arrives as U+FFFD: a character like any other.
        assert_eq!(SearchBox::parse(Some("a\u{FFFD}b")).q, "a\u{FFFD}b");
        assert_eq!(SearchBox::parse(Some("'; DROP TABLE x; --")).q, "'; DROP TABLE x; --");
    }

    #[test]
    fn control_and_format_characters_are_refused_and_shown_back() {
        for (typed, code) in [
            ("abc\0", "U+0000"),
            ("a\r\nb", "U+000D"),
            ("a\tb", "U+0009"),
            ("abc\u{7F}", "U+007F"),
            ("abc\u{202E}cba", "U+202E"),
            ("zero\u{200B}width", "U+200B"),
            ("\u{FEFF}bom", "U+FEFF"),
            ("c1\u{85}next", "U+0085"),
        ] {
            let search = SearchBox::parse(Some(typed));
            assert_eq!(search.q, "", "{typed:?} is not searched for");
            assert_eq!(search.shown(), typed.trim(), "{typed:?} is shown back");
            let message = search.error().unwrap_or_default();
            assert!(message.contains(code), "{typed:?}: {message}");
        }
    }

    #[test]
    fn long_text_is_shortened_before_it_is_checked() {
        let long = "x".repeat(100_000);
        assert_eq!(SearchBox::parse(Some(&long)).q.chars().count(), MAX_SEARCH_CHARS);
        // A hidden character past the part looked at does not matter.
        let tail = format!("{}\0", "y".repeat(MAX_SEARCH_CHARS));
        assert_eq!(SearchBox::parse(Some(&tail)).q, "y".repeat(MAX_SEARCH_CHARS));
        let multibyte = "é".repeat(300);
        assert_eq!(SearchBox::parse(Some(&multibyte)).q.chars().count(), MAX_SEARCH_CHARS);
    }
}
