//! Links back to a list with its query string: built in one string, parameters in the order
//! added, each method leaving out its default.

use std::fmt::{Display, Write};

use super::pager::DEFAULT_PAGE_SIZE;
use super::sort::{Direction, SortKey};

#[derive(Debug, Clone)]
pub struct Href {
    url: String,
    has_query: bool,
}

impl Href {
    /// `base` is a path without a query string (from a console's `paths`).
    pub fn new(base: &str) -> Self {
        // One allocation with room for a search, a sort, paging and a cursor.
        let mut url = String::with_capacity(base.len() + 128);
        url.push_str(base);
        Self { url, has_query: false }
    }

    fn separator(&mut self) {
        self.url.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
    }

    /// `name=value`; the value is written as is (a number, a key word or a cursor).
    pub fn pair(mut self, name: &str, value: impl Display) -> Self {
        self.separator();
        let _ = write!(self.url, "{name}={value}");
        self
    }

    /// `q`, percent-encoded, unless empty.
    pub fn search(mut self, q: &str) -> Self {
        if !q.is_empty() {
            self.separator();
            self.url.push_str("q=");
            self.url.extend(url::form_urlencoded::byte_serialize(q.as_bytes()));
        }
        self
    }

    /// `sort` and `dir`, unless in natural order.
    pub fn sort<K: SortKey>(self, sort: Option<K>, dir: Direction) -> Self {
        match sort {
            Some(key) => self.pair("sort", key.as_str()).pair("dir", dir.as_str()),
            None => self,
        }
    }

    /// `per_page`, unless the default.
    pub fn per_page(self, per_page: i64) -> Self {
        if per_page == DEFAULT_PAGE_SIZE {
            self
        } else {
            self.pair("per_page", per_page)
        }
    }

    /// `per_page` and `page`, unless the defaults.
    pub fn paging(self, per_page: i64, page: i64) -> Self {
        let href = self.per_page(per_page);
        if page > 1 {
            href.pair("page", page)
        } else {
            href
        }
    }

    pub fn build(self) -> String {
        self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_left_out_and_the_search_is_encoded() {
        assert_eq!(Href::new("/list").search("").paging(25, 1).build(), "/list");
        assert_eq!(Href::new("/list").search("a&b c").paging(50, 2).build(), "/list?q=a%26b+c&per_page=50&page=2");
        assert_eq!(Href::new("/list").pair("page", 3).per_page(10).build(), "/list?page=3&per_page=10");
    }
}
