//! A list's query string, read once. Every parameter is lenient: a missing, unknown or
//! malformed value reads as its default, so a shared or hand-edited URL always shows a page.

use super::pager::{self, Paging};
use super::search::SearchBox;
use super::sort::{Direction, SortKey};

/// The decoded pairs of a query string (invalid UTF-8 became U+FFFD).
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query_string: &str) -> Self {
        Self(url::form_urlencoded::parse(query_string.as_bytes()).into_owned().collect())
    }

    /// The first value given for `name`: a repeated parameter cannot change what was read.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The search box (`q`).
    pub fn search(&self) -> SearchBox {
        SearchBox::parse(self.get("q"))
    }

    /// The sorted column (`sort`); `None` is the list's natural order.
    pub fn sort<K: SortKey>(&self) -> Option<K> {
        K::parse(self.get("sort"))
    }

    /// The sort direction (`dir`): descending only when asked for.
    pub fn dir(&self) -> Direction {
        Direction::parse(self.get("dir"))
    }

    /// The page size (`per_page`) and the page asked for (`page`).
    pub fn paging(&self) -> Paging {
        Paging { per_page: pager::parse_page_size(self.get("per_page")), page: pager::parse_page(self.get("page")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_wins_and_junk_reads_as_the_default() {
        let query = Query::parse("page=2&page=9&dir=sideways&per_page=50&x=%FF");
        assert_eq!(query.paging(), Paging { per_page: 50, page: 2 });
        assert_eq!(query.dir(), Direction::Asc);
        assert_eq!(query.get("x"), Some("\u{FFFD}"));
        assert_eq!(query.get("missing"), None);
        assert_eq!(Query::parse("dir=desc").dir(), Direction::Desc);
        assert_eq!(Query::default().paging(), Paging { per_page: pager::DEFAULT_PAGE_SIZE, page: 1 });
    }
}
