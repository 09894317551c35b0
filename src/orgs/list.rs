//! The Organizations page: search, sort and paging, with its query kept in this one place.

use std::collections::HashSet;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::PlatformAdmin;
use crate::db::schema::{memberships, organizations};
use crate::db::{like_contains, Backend, Db, DbConn};
use crate::domain::{fold, group_thousands};
use crate::error::AppError;
use crate::web::layout::{Layout, Section};
use crate::web::pager::{self, Pager};
use crate::web::{render, urlencode};

/// Which fields the Search By box looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchField {
    All,
    Name,
    Contact,
}

impl SearchField {
    fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("name") => Self::Name,
            Some("contact") => Self::Contact,
            _ => Self::All,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Name => "name",
            Self::Contact => "contact",
        }
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Contact,
    Quota,
    Users,
    Created,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        Self::Name,
        Self::Contact,
        Self::Quota,
        Self::Users,
        Self::Created,
    ];

    fn parse(raw: Option<&str>) -> Option<Self> {
        Self::ALL.into_iter().find(|key| Some(key.as_str()) == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Contact => "contact",
            Self::Quota => "quota",
            Self::Users => "users",
            Self::Created => "created",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Contact => "Contact Person",
            Self::Quota => "Quota (GB)",
            Self::Users => "Users",
            Self::Created => "Created",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    fn parse(raw: Option<&str>) -> Self {
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
}

/// The page's query string, read leniently: anything unknown or malformed is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub q: String,
    pub by: SearchField,
    /// `None` is the natural (creation) order.
    pub sort: Option<SortKey>,
    pub dir: Direction,
    pub per_page: i64,
    pub page: i64,
}

/// The longest search text looked at; a longer one cannot match a 100-character name anyway
/// (contact emails have at most 254).
const MAX_SEARCH_CHARS: usize = 254;

impl ListParams {
    pub fn parse(query_string: &str) -> Self {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query_string.as_bytes())
            .into_owned()
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let q: String = get("q")
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_SEARCH_CHARS)
            .collect();
        Self {
            q,
            by: SearchField::parse(get("by")),
            sort: SortKey::parse(get("sort")),
            dir: Direction::parse(get("dir")),
            per_page: pager::parse_page_size(get("per_page")),
            page: pager::parse_page(get("page")),
        }
    }

    /// The URL of this list at another page, leaving out defaults.
    pub fn href(&self, page: i64) -> String {
        self.href_with(self.sort, self.dir, page)
    }

    fn href_with(&self, sort: Option<SortKey>, dir: Direction, page: i64) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", urlencode(&self.q)));
            if self.by != SearchField::All {
                parts.push(format!("by={}", self.by.as_str()));
            }
        }
        if let Some(sort) = sort {
            parts.push(format!("sort={}&dir={}", sort.as_str(), dir.as_str()));
        }
        if self.per_page != pager::DEFAULT_PAGE_SIZE {
            parts.push(format!("per_page={}", self.per_page));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            "/admin/organizations".into()
        } else {
            format!("/admin/organizations?{}", parts.join("&"))
        }
    }

    /// Clicking a header sorts by it ascending; clicking the sorted one toggles the direction.
    pub fn sort_href(&self, key: SortKey) -> String {
        let dir = match (self.sort, self.dir) {
            (Some(current), Direction::Asc) if current == key => Direction::Desc,
            _ => Direction::Asc,
        };
        self.href_with(Some(key), dir, 1)
    }
}

/// One row of the Organizations page.
#[derive(Debug, Clone, Queryable)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub quota_gb: i64,
    pub member_count: i64,
    pub created_at: NaiveDateTime,
}

/// A page of rows and the total they were taken from.
#[derive(Debug, Clone)]
pub struct OrgPage {
    pub rows: Vec<OrgRow>,
    pub total: i64,
    /// The page shown (a page past the end shows the last one).
    pub page: i64,
}

type OrgQuery = organizations::BoxedQuery<'static, Backend>;

fn filtered(params: &ListParams) -> OrgQuery {
    let query = organizations::table.into_boxed();
    if params.q.is_empty() {
        return query;
    }
    let pattern = like_contains(&fold(&params.q));
    match params.by {
        SearchField::Name => query.filter(organizations::name_key.like(pattern).escape('\\')),
        SearchField::Contact => query.filter(organizations::contact_key.like(pattern).escape('\\')),
        SearchField::All => query.filter(
            organizations::name_key
                .like(pattern.clone())
                .escape('\\')
                .or(organizations::contact_key.like(pattern).escape('\\')),
        ),
    }
}

fn sorted(query: OrgQuery, sort: Option<SortKey>, dir: Direction) -> OrgQuery {
    use organizations::*;
    // Every order ends on the id, so rows with equal keys keep one stable order across pages.
    match (sort, dir) {
        (None, _) => query.order(id.asc()),
        (Some(SortKey::Name), Direction::Asc) => query.order((name_key.asc(), id.asc())),
        (Some(SortKey::Name), Direction::Desc) => query.order((name_key.desc(), id.desc())),
        (Some(SortKey::Contact), Direction::Asc) => query.order((contact_key.asc(), id.asc())),
        (Some(SortKey::Contact), Direction::Desc) => query.order((contact_key.desc(), id.desc())),
        (Some(SortKey::Quota), Direction::Asc) => query.order((quota_gb.asc(), id.asc())),
        (Some(SortKey::Quota), Direction::Desc) => query.order((quota_gb.desc(), id.desc())),
        (Some(SortKey::Users), Direction::Asc) => query.order((member_count.asc(), id.asc())),
        (Some(SortKey::Users), Direction::Desc) => query.order((member_count.desc(), id.desc())),
        (Some(SortKey::Created), Direction::Asc) => query.order((created_at.asc(), id.asc())),
        (Some(SortKey::Created), Direction::Desc) => query.order((created_at.desc(), id.desc())),
    }
}

/// The rows of one page: a count and one query for the rows, whatever the page size.
pub fn list(conn: &mut DbConn, params: &ListParams) -> QueryResult<OrgPage> {
    let total: i64 = filtered(params).count().get_result(conn)?;
    let page = pager::clamp_page(params.page, params.per_page, total);
    let rows = sorted(filtered(params), params.sort, params.dir)
        .select((
            organizations::id,
            organizations::name,
            organizations::contact_email,
            organizations::quota_gb,
            organizations::member_count,
            organizations::created_at,
        ))
        .limit(params.per_page)
        .offset((page - 1) * params.per_page)
        .load(conn)?;
    Ok(OrgPage { rows, total, page })
}

/// Of `org_ids`, those the account administers (their rows get a Manage link).
pub fn administered_among(
    conn: &mut DbConn,
    account_id: i64,
    org_ids: &[i64],
) -> QueryResult<HashSet<i64>> {
    let ids: Vec<i64> = memberships::table
        .filter(memberships::account_id.eq(account_id))
        .filter(memberships::status.eq("active"))
        .filter(memberships::is_delegate.eq(true))
        .filter(memberships::organization_id.eq_any(org_ids))
        .select(memberships::organization_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// A column header: its link and how it is sorted now.
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending`/`descending` on the sorted column, else `None`.
    pub aria_sort: Option<&'static str>,
    pub arrow: &'static str,
    /// Right-aligned like the figures under it.
    pub numeric: bool,
}

pub struct OrgRowView {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub quota: String,
    pub users: String,
    pub created: String,
    pub created_iso: String,
    pub manage: bool,
}

#[derive(Template)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    pub layout: Layout,
    pub params: ListParams,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<OrgRowView>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
}

impl OrgListPage {
    fn search_by_options(&self) -> [(&'static str, &'static str, bool); 3] {
        let by = self.params.by;
        [
            ("all", "All", by == SearchField::All),
            ("name", "Name", by == SearchField::Name),
            ("contact", "Contact Person", by == SearchField::Contact),
        ]
    }
}

/// `GET /admin/organizations`
pub async fn show(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = ListParams::parse(req.query_string());
    let account_id = admin.id();
    let query = params.clone();
    let (page, administered) = db
        .run(move |conn| -> QueryResult<_> {
            let page = list(conn, &query)?;
            let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
            let administered = administered_among(conn, account_id, &ids)?;
            Ok((page, administered))
        })
        .await?;

    let headers = SortKey::ALL
        .into_iter()
        .map(|key| {
            let sorted_here = params.sort == Some(key);
            SortHeader {
                label: key.label(),
                href: params.sort_href(key),
                aria_sort: sorted_here.then_some(match params.dir {
                    Direction::Asc => "ascending",
                    Direction::Desc => "descending",
                }),
                numeric: matches!(key, SortKey::Quota | SortKey::Users),
                arrow: match (sorted_here, params.dir) {
                    (false, _) => "",
                    (true, Direction::Asc) => "▲",
                    (true, Direction::Desc) => "▼",
                },
            }
        })
        .collect();
    let shown_page = page.page;
    let pager = Pager::new(
        shown_page,
        params.per_page,
        page.rows.len() as i64,
        page.total,
        |n| params.href(n),
    );
    let rows = page
        .rows
        .into_iter()
        .map(|row| OrgRowView {
            manage: administered.contains(&row.id),
            id: row.id,
            name: row.name,
            contact_email: row.contact_email,
            quota: group_thousands(row.quota_gb),
            users: group_thousands(row.member_count),
            created: row.created_at.format("%Y-%m-%d").to_string(),
            created_iso: row.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
        .collect();
    render(&OrgListPage {
        layout: admin.layout("Organizations", Section::Platform)?,
        params: ListParams {
            page: shown_page,
            ..params
        },
        headers,
        rows,
        pager,
        page_sizes: pager::PAGE_SIZES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_parameters_fall_back_to_defaults() {
        let params = ListParams::parse(
            "q=%ZZ&by=bogus&sort=drop+table&dir=sideways&per_page=7&page=-3&page=9",
        );
        assert_eq!(params.by, SearchField::All);
        assert_eq!(params.sort, None);
        assert_eq!(params.dir, Direction::Asc);
        assert_eq!(params.per_page, 25);
        assert_eq!(params.page, 1);
    }

    #[test]
    fn clicking_the_sorted_header_toggles_direction() {
        let params = ListParams::parse("sort=name&dir=asc&q=ab&by=name&page=3");
        assert_eq!(
            params.sort_href(SortKey::Name),
            "/admin/organizations?q=ab&by=name&sort=name&dir=desc"
        );
        assert_eq!(
            params.sort_href(SortKey::Quota),
            "/admin/organizations?q=ab&by=name&sort=quota&dir=asc"
        );
        let desc = ListParams::parse("sort=name&dir=desc");
        assert_eq!(
            desc.sort_href(SortKey::Name),
            "/admin/organizations?sort=name&dir=asc"
        );
    }

    #[test]
    fn hrefs_leave_out_defaults_and_encode_the_search() {
        let params = ListParams::parse("q=a%26b+c&per_page=25");
        assert_eq!(params.href(1), "/admin/organizations?q=a%26b+c");
        assert_eq!(params.href(2), "/admin/organizations?q=a%26b+c&page=2");
        assert_eq!(ListParams::parse("").href(1), "/admin/organizations");
    }
}
