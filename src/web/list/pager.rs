//! The pager every list page shares: first/previous/next/last links with `rel`, and the
//! "Showing 26–50 of 1,234" line. URLs carry the page number, so they can be shared.

use crate::domain::group_thousands;

/// Page sizes offered on list pages; anything else falls back to the default.
pub const PAGE_SIZES: [i64; 4] = [10, 25, 50, 100];
pub const DEFAULT_PAGE_SIZE: i64 = 25;

/// Read a page size leniently.
pub fn parse_page_size(raw: Option<&str>) -> i64 {
    raw.and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| PAGE_SIZES.contains(n)).unwrap_or(DEFAULT_PAGE_SIZE)
}

/// The highest page number a list pages to: past every row any table can hold, and small
/// enough that the first row's number, `page + 1` and the rows to skip never overflow.
pub const MAX_PAGE: i64 = 1_000_000_000_000;

/// Read a 1-based page number leniently: junk, zero and negatives mean the first page; a
/// number too big for anything (even for `i64`) means the highest page, which the list then
/// clamps to its last real page.
pub fn parse_page(raw: Option<&str>) -> i64 {
    let Some(text) = raw.map(str::trim) else { return 1 };
    match text.parse::<i64>() {
        Ok(n) if n >= 1 => n.min(MAX_PAGE),
        Ok(_) => 1,
        Err(_) => {
            let digits = text.strip_prefix('+').unwrap_or(text);
            let huge =
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits.bytes().any(|b| b != b'0');
            if huge {
                MAX_PAGE
            } else {
                1
            }
        }
    }
}

/// The `per_page` and `page` a list was asked for (see `Query::paging`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub per_page: i64,
    pub page: i64,
}

impl Paging {
    /// For a counted list of `total` rows: the page shown (past the end, the last one) and the
    /// rows before it, for `OFFSET`.
    pub fn place(self, total: i64) -> (i64, i64) {
        let page = clamp_page(self.page, self.per_page, total);
        (page, offset(page, self.per_page))
    }

    /// The numbered pager of a counted list showing `page`; `href(n)` links to page `n`.
    pub fn pager(self, page: i64, rows_on_page: usize, total: i64, href: impl Fn(i64) -> String) -> Pager {
        Pager::new(page, self.per_page, rows_on_page as i64, total, href)
    }
}

/// One link of the pager.
#[derive(Debug, Clone)]
pub struct PageLink {
    pub rel: &'static str,
    pub label: &'static str,
    pub href: String,
}

/// How many rows a list has: counted, or only known to pass a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    MoreThan(i64),
}

impl Total {
    /// The page shown for the page asked: past the last page of a counted total, the last one;
    /// an uncounted total cannot tell, so the page asked.
    pub fn clamp(self, page: i64, per_page: i64) -> i64 {
        match self {
            Total::Exact(n) => clamp_page(page, per_page, n),
            Total::MoreThan(_) => page,
        }
    }
}

/// Where a list stands: which rows of how many, and the links around it.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    /// Unknown when the total is only known to pass a cap.
    pub pages: Option<i64>,
    pub first_row: i64,
    pub last_row: i64,
    pub total: Total,
    pub links: Vec<PageLink>,
}

impl Pager {
    /// A pager whose links the list built itself (keyset cursors).
    pub fn with_links(page: i64, per_page: i64, rows_on_page: i64, total: Total, links: Vec<PageLink>) -> Self {
        // Saturating: a page number comes from the URL, and no figure on the page may panic.
        let first_row = if rows_on_page == 0 {
            0
        } else {
            page.max(1).saturating_sub(1).saturating_mul(per_page).saturating_add(1)
        };
        let last_row = if rows_on_page == 0 { 0 } else { first_row.saturating_add(rows_on_page - 1) };
        let pages = match total {
            Total::Exact(n) => Some(page_count(n, per_page)),
            Total::MoreThan(_) => None,
        };
        Self { page, pages, first_row, last_row, total, links }
    }

    /// Numbered links for a counted list; `page` is clamped by `clamp_page` before the rows
    /// are read.
    pub fn new(page: i64, per_page: i64, rows_on_page: i64, total: i64, href: impl Fn(i64) -> String) -> Self {
        let pages = page_count(total, per_page);
        let mut links = Vec::new();
        if page > 1 {
            links.push(PageLink { rel: "first", label: "« First", href: href(1) });
            links.push(PageLink { rel: "prev", label: "‹ Previous", href: href(page - 1) });
        }
        if page < pages {
            links.push(PageLink { rel: "next", label: "Next ›", href: href(page + 1) });
            links.push(PageLink { rel: "last", label: "Last »", href: href(pages) });
        }
        Self::with_links(page, per_page, rows_on_page, Total::Exact(total), links)
    }

    /// "Showing 26–50 of 1,234", "Showing 1–25 of more than 10,000", or "No results".
    pub fn summary(&self) -> String {
        let of = match self.total {
            Total::Exact(0) => return "No results".into(),
            Total::Exact(n) => group_thousands(n),
            Total::MoreThan(n) => format!("more than {}", group_thousands(n)),
        };
        if self.last_row == 0 {
            return format!("No rows on this page (of {of})");
        }
        format!("Showing {}–{} of {of}", group_thousands(self.first_row), group_thousands(self.last_row))
    }

    /// True when the total was not counted past the cap (the page says so).
    pub fn is_capped(&self) -> bool {
        matches!(self.total, Total::MoreThan(_))
    }

    pub fn position(&self) -> String {
        match self.pages {
            Some(pages) => format!("Page {} of {}", group_thousands(self.page), group_thousands(pages)),
            None => format!("Page {}", group_thousands(self.page)),
        }
    }
}

/// The pager of a keyset list: first and last by number, previous and next by cursor from the
/// page's first and last rows, so neither skips rows however deep the page is. `href(n)` links
/// to page `n`; `cursor_href(row, after, n)` to page `n` just after (or before) `row`. A capped
/// total has no last link: its last page is not known without counting every row.
pub fn keyset<R>(
    shown: i64,
    per_page: i64,
    rows: &[R],
    total: Total,
    has_next: bool,
    href: impl Fn(i64) -> String,
    cursor_href: impl Fn(&R, bool, i64) -> String,
) -> Pager {
    let mut links = Vec::new();
    if shown > 1 {
        links.push(PageLink { rel: "first", label: "« First", href: href(1) });
        let prev = match rows.first() {
            Some(row) => cursor_href(row, false, shown - 1),
            None => href(shown - 1),
        };
        links.push(PageLink { rel: "prev", label: "‹ Previous", href: prev });
    }
    if let (true, Some(row)) = (has_next, rows.last()) {
        let next = shown.saturating_add(1).min(MAX_PAGE);
        links.push(PageLink { rel: "next", label: "Next ›", href: cursor_href(row, true, next) });
    }
    if let Total::Exact(n) = total {
        let pages = page_count(n, per_page);
        if shown < pages {
            links.push(PageLink { rel: "last", label: "Last »", href: href(pages) });
        }
    }
    Pager::with_links(shown, per_page, rows.len() as i64, total, links)
}

/// At least one page, even for an empty list.
pub fn page_count(total: i64, per_page: i64) -> i64 {
    let per_page = per_page.max(1);
    (total.max(0) / per_page + i64::from(total.max(0) % per_page != 0)).max(1)
}

/// A page number past the end shows the last page (and one before the start, the first).
pub fn clamp_page(page: i64, per_page: i64, total: i64) -> i64 {
    page.min(page_count(total, per_page)).max(1)
}

/// The rows before a page, for `OFFSET`.
pub fn offset(page: i64, per_page: i64) -> i64 {
    page.max(1).saturating_sub(1).saturating_mul(per_page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn href(page: i64) -> String {
        format!("?page={page}")
    }

    #[test]
    fn middle_page_has_every_link_and_the_right_rows() {
        let pager = Pager::new(2, 25, 25, 1234, href);
        assert_eq!(pager.summary(), "Showing 26–50 of 1,234");
        let rels: Vec<_> = pager.links.iter().map(|l| l.rel).collect();
        assert_eq!(rels, ["first", "prev", "next", "last"]);
        assert_eq!(pager.links[3].href, "?page=50");
    }

    #[test]
    fn first_and_last_pages_drop_the_links_that_go_nowhere() {
        assert!(Pager::new(1, 25, 25, 60, href).links.iter().all(|l| l.rel == "next" || l.rel == "last"));
        let last = Pager::new(3, 25, 10, 60, href);
        assert_eq!(last.summary(), "Showing 51–60 of 60");
        assert!(last.links.iter().all(|l| l.rel == "first" || l.rel == "prev"));
        assert_eq!(Pager::new(1, 25, 0, 0, href).summary(), "No results");
    }

    #[test]
    fn capped_totals_say_so() {
        let capped = Pager::with_links(2, 25, 25, Total::MoreThan(10_000), Vec::new());
        assert_eq!(capped.summary(), "Showing 26–50 of more than 10,000");
        assert_eq!(capped.position(), "Page 2");
        assert!(capped.is_capped());
    }

    #[test]
    fn junk_paging_input_falls_back() {
        assert_eq!(parse_page_size(Some("37")), 25);
        assert_eq!(parse_page_size(Some("100")), 100);
        assert_eq!(parse_page_size(None), 25);
        assert_eq!(parse_page(Some("-4")), 1);
        assert_eq!(parse_page(Some("x")), 1);
        assert_eq!(parse_page(Some("0")), 1);
        assert_eq!(parse_page(Some("1e309")), 1);
        assert_eq!(parse_page(Some("")), 1);
        assert_eq!(parse_page(Some(" 7 ")), 7);
        assert_eq!(clamp_page(40, 25, 60), 3);
        assert_eq!(clamp_page(1, 25, 0), 1);
        assert_eq!(clamp_page(-5, 25, 60), 1);
    }

    #[test]
    fn huge_page_numbers_mean_the_last_page_without_overflow() {
        for huge in ["9223372036854775807", "9223372036854775808", "99999999999999999999999", "+99999999999999999999"] {
            assert_eq!(parse_page(Some(huge)), MAX_PAGE, "{huge}");
        }
        assert_eq!(parse_page(Some("-9223372036854775808")), 1);
        assert_eq!(parse_page(Some("-99999999999999999999")), 1);
        assert_eq!(parse_page(Some("000000000000000000000000")), 1);
        assert_eq!(clamp_page(MAX_PAGE, 100, 1234), 13);
        assert_eq!(page_count(i64::MAX, 10), i64::MAX / 10 + 1);
        assert_eq!(offset(MAX_PAGE, 100), (MAX_PAGE - 1) * 100);
        assert_eq!(offset(i64::MAX, 100), i64::MAX);
        let pager = Pager::with_links(i64::MAX, 100, 5, Total::MoreThan(10_000), Vec::new());
        assert_eq!(pager.last_row, i64::MAX);
        assert!(pager.summary().starts_with("Showing"));
    }

    #[test]
    fn keyset_links_use_cursors_between_numbered_ends() {
        let rows = [10, 11, 12];
        let cursor =
            |row: &i32, after: bool, n: i64| format!("?{}={row}&p={n}", if after { "after" } else { "before" });
        let middle = keyset(3, 3, &rows, Total::Exact(30), true, href, cursor);
        let links: Vec<_> = middle.links.iter().map(|l| (l.rel, l.href.as_str())).collect();
        assert_eq!(
            links,
            [("first", "?page=1"), ("prev", "?before=10&p=2"), ("next", "?after=12&p=4"), ("last", "?page=10")]
        );
        let capped = keyset(2, 3, &rows, Total::MoreThan(10_000), true, href, cursor);
        assert!(capped.links.iter().all(|l| l.rel != "last"), "a capped total has no last page");
        let past_the_end = keyset(5, 3, &[] as &[i32], Total::MoreThan(10_000), false, href, cursor);
        let links: Vec<_> = past_the_end.links.iter().map(|l| (l.rel, l.href.as_str())).collect();
        assert_eq!(links, [("first", "?page=1"), ("prev", "?page=4")], "no row to take a cursor from");
        let deepest = keyset(MAX_PAGE, 3, &rows, Total::MoreThan(10_000), true, href, cursor);
        assert!(deepest.links.iter().any(|l| l.href == format!("?after=12&p={MAX_PAGE}")), "never past MAX_PAGE");
    }
}
