//! Sorting a list: the direction, a list's sortable columns, the column headers that toggle
//! them (with `aria-sort`), and the `ORDER BY` that breaks ties by id.

use diesel::expression::Expression;
use diesel::helper_types::{Asc, Desc};
use diesel::query_dsl::methods::OrderDsl;
use diesel::ExpressionMethods;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    /// Descending only when asked for; anything else is ascending.
    pub fn parse(raw: Option<&str>) -> Self {
        if raw == Some("desc") {
            Self::Desc
        } else {
            Self::Asc
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }

    /// The direction a click on `key`'s header asks for: ascending, unless `key` is already
    /// sorted ascending.
    pub fn on_click<K: SortKey>(sort: Option<K>, dir: Direction, key: K) -> Self {
        if sort == Some(key) && dir == Self::Asc {
            Self::Desc
        } else {
            Self::Asc
        }
    }
}

/// A list's sortable columns, in the order of their headers.
pub trait SortKey: Copy + PartialEq + 'static {
    const ALL: &'static [Self];

    /// The `sort` parameter's value.
    fn as_str(self) -> &'static str;

    /// The column header.
    fn label(self) -> &'static str;

    /// Right-aligned like the figures under it.
    fn numeric(self) -> bool {
        false
    }

    /// Only a known key; anything else is the natural order (`None`).
    fn parse(raw: Option<&str>) -> Option<Self> {
        Self::ALL.iter().copied().find(|key| Some(key.as_str()) == raw)
    }
}

/// Declares a list's sort keys: the enum and its `SortKey`, a line a column in header order
/// (`Key => "word", "Label";`, with `, numeric` before the `;` for a right-aligned column).
macro_rules! sort_keys {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($key:ident => $word:literal, $label:literal $(, $numeric:ident)?;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($key,)+
        }

        impl $crate::web::list::SortKey for $name {
            const ALL: &'static [Self] = &[$(Self::$key,)+];

            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$key => $word,)+
                }
            }

            fn label(self) -> &'static str {
                match self {
                    $(Self::$key => $label,)+
                }
            }

            fn numeric(self) -> bool {
                match self {
                    $(Self::$key => $crate::web::list::sort::sort_keys!(@numeric $($numeric)?),)+
                }
            }
        }
    };
    (@numeric numeric) => {
        true
    };
    (@numeric) => {
        false
    };
}
pub(crate) use sort_keys;

/// A column header: its link and how it is sorted now.
#[derive(Debug, Clone)]
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` on the sorted column, else `None`.
    pub aria_sort: Option<&'static str>,
    pub arrow: &'static str,
    pub numeric: bool,
    /// On the sorted column only: the same list back in natural order (every other parameter
    /// kept), since a sort lives in the shareable URL and a refresh would not undo it.
    pub natural_href: Option<String>,
}

/// Every column's header; `href(Some(key), dir)` is the list sorted by `key` in `dir`, first
/// page, and `href(None, _)` the list in natural order.
pub fn headers<K: SortKey>(
    sort: Option<K>,
    dir: Direction,
    href: impl Fn(Option<K>, Direction) -> String,
) -> Vec<SortHeader> {
    K::ALL
        .iter()
        .map(|&key| {
            let sorted_here = sort == Some(key);
            SortHeader {
                label: key.label(),
                href: href(Some(key), Direction::on_click(sort, dir, key)),
                aria_sort: sorted_here.then_some(match dir {
                    Direction::Asc => "ascending",
                    Direction::Desc => "descending",
                }),
                arrow: match (sorted_here, dir) {
                    (false, _) => "",
                    (true, Direction::Asc) => "▲",
                    (true, Direction::Desc) => "▼",
                },
                numeric: key.numeric(),
                natural_href: sorted_here.then(|| href(None, Direction::Asc)),
            }
        })
        .collect()
}

/// `ORDER BY column, id` both ascending or both descending: rows with equal keys keep one
/// order across pages, and a keyset condition over `(column, id)` follows the same order.
pub fn order_by<Q, C, I>(query: Q, column: C, id: I, ascending: bool) -> Q
where
    C: Expression + ExpressionMethods,
    I: Expression + ExpressionMethods,
    Q: OrderDsl<(Asc<C>, Asc<I>), Output = Q> + OrderDsl<(Desc<C>, Desc<I>), Output = Q>,
{
    if ascending {
        query.order((column.asc(), id.asc()))
    } else {
        query.order((column.desc(), id.desc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    sort_keys! {
        enum Column {
            Name => "name", "Name";
            Size => "size", "Size", numeric;
        }
    }

    #[test]
    fn only_known_keys_parse() {
        assert_eq!(Column::parse(Some("size")), Some(Column::Size));
        assert_eq!(Column::parse(Some("SIZE")), None);
        assert_eq!(Column::parse(None), None);
        assert_eq!(Direction::parse(Some("up")), Direction::Asc);
    }

    #[test]
    fn the_sorted_header_toggles_and_says_how_it_is_sorted() {
        let href = |key: Option<Column>, dir: Direction| match key {
            Some(key) => format!("?sort={}&dir={}", key.as_str(), dir.as_str()),
            None => "?".to_owned(),
        };
        let headers = headers(Some(Column::Name), Direction::Asc, href);
        assert_eq!(headers[0].href, "?sort=name&dir=desc");
        assert_eq!((headers[0].natural_href.as_deref(), headers[1].natural_href.as_deref()), (Some("?"), None));
        assert!(super::headers(None, Direction::Asc, href).iter().all(|h| h.natural_href.is_none()));
        assert_eq!((headers[0].aria_sort, headers[0].arrow), (Some("ascending"), "▲"));
        assert_eq!(headers[1].href, "?sort=size&dir=asc");
        assert_eq!((headers[1].aria_sort, headers[1].arrow, headers[1].numeric), (None, "", true));
        let desc = super::headers(Some(Column::Name), Direction::Desc, href);
        assert_eq!(
            (desc[0].href.as_str(), desc[0].aria_sort, desc[0].arrow),
            ("?sort=name&dir=asc", Some("descending"), "▼")
        );
    }
}
