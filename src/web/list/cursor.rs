//! The keyset cursor of a list's next and previous links: where a page starts (just after or
//! before a row) and which page that is, so "Showing 26–50 of N" stays right without counting.
//! It travels as opaque URL-safe base64 of a small JSON object.

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::href::Href;
use super::pager;
use super::query::Query;

/// `K` is the list's sort value at the row (its own enum of what its sort keys hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor<K> {
    /// True for `after` (the next page), false for `before` (the previous one).
    #[serde(rename = "a")]
    pub after: bool,
    #[serde(rename = "k")]
    pub key: K,
    #[serde(rename = "i")]
    pub id: i64,
    #[serde(rename = "p")]
    pub page: i64,
}

impl<K: Serialize + DeserializeOwned> Cursor<K> {
    /// Opaque text for a URL.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// `None` for anything that is not a cursor we made, or whose key does not `fit` the
    /// list's sort any more.
    pub fn decode(text: &str, after: bool, fits: impl Fn(&K) -> bool) -> Option<Self> {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let cursor: Self = serde_json::from_slice(&json).ok()?;
        // Out of range is malformed too: ids start at 1, and the page number is shown and
        // added to, so it stays within what a list can have.
        let in_range = cursor.id >= 1 && (1..=pager::MAX_PAGE).contains(&cursor.page);
        (fits(&cursor.key) && in_range && cursor.after == after).then_some(cursor)
    }

    /// The cursor of a query string: `after`, else `before`.
    pub fn read(query: &Query, fits: impl Fn(&K) -> bool) -> Option<Self> {
        query
            .get("after")
            .and_then(|text| Self::decode(text, true, &fits))
            .or_else(|| query.get("before").and_then(|text| Self::decode(text, false, &fits)))
    }

    /// The list's link (first page, its search and sort) continued at this cursor.
    pub fn href(&self, list: Href) -> String {
        list.pair(if self.after { "after" } else { "before" }, self.encode()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_comes_back_only_as_made_and_where_it_fits() {
        let next = Cursor { after: true, key: 42_i64, id: 7, page: 3 };
        let text = next.encode();
        assert_eq!(Cursor::decode(&text, true, |_: &i64| true), Some(next.clone()));
        assert_eq!(Cursor::decode(&text, false, |_: &i64| true), None, "an `after` cursor is not a `before` one");
        assert_eq!(Cursor::decode(&text, true, |key: &i64| *key < 0), None, "a key of another sort");
        assert_eq!(Cursor::<i64>::decode("not base64!", true, |_| true), None);
        let query = Query::parse(&format!("before=junk&after={text}"));
        assert_eq!(Cursor::read(&query, |_: &i64| true), Some(next.clone()));
        assert_eq!(next.href(Href::new("/list").pair("sort", "name")), format!("/list?sort=name&after={text}"));
    }
}
