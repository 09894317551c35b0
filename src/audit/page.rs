//! What both audit pages show: the filter form's state, the rows as text with their details
//! lines and filter links, and the pager. The handlers in `platform::audit` and
//! `org_admin::audit` only add the layout and pick the template.

use actix_web::http::StatusCode;

use super::details::{self, DetailLine};
use super::params::{time_key, Cursor, TrailParams};
use super::queries::{self, EventPage, EventRow, Trail};
use super::{actions, filter::Typed};
use crate::db::DbConn;
use crate::domain::FieldErrors;
use crate::web::list::{pager, Pager};
use diesel::QueryResult;

/// One row of the table.
pub struct EventView {
    pub id: i64,
    pub time: String,
    pub time_iso: String,
    pub actor: String,
    pub actor_href: String,
    pub action: String,
    pub action_href: String,
    pub organization: String,
    /// The platform trail narrowed to this organization (`None` on an organization's trail,
    /// or for an event about no organization).
    pub organization_href: Option<String>,
    pub target: String,
    pub target_href: String,
    pub details: Vec<DetailLine>,
    pub client: String,
}

impl EventView {
    /// The `<summary>` of the details: how many lines they hold.
    pub fn details_summary(&self) -> String {
        match self.details.len() {
            1 => "1 field".into(),
            n => format!("{n} fields"),
        }
    }
}

/// Everything a trail's page shows below its heading.
pub struct TrailView {
    pub params: TrailParams,
    pub events: Vec<EventView>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
    /// `(value, label, selected)` of the Action select: every action of the trail, and the one
    /// typed when it is not among them.
    pub action_options: Vec<(String, String, bool)>,
    /// 422 when a filter was refused (the page still shows the other filters' events).
    pub status: StatusCode,
}

impl TrailView {
    pub fn typed(&self) -> &Typed {
        &self.params.typed
    }

    pub fn errors(&self) -> &FieldErrors {
        &self.params.errors
    }

    pub fn csv_href(&self) -> String {
        self.params.csv_href()
    }

    pub fn reset_href(&self) -> String {
        self.params.trail.path()
    }

    pub fn with_org(&self) -> bool {
        matches!(self.params.trail, Trail::Platform)
    }

    pub fn is_filtered(&self) -> bool {
        !self.params.filter.is_empty()
    }
}

/// Read the query string and load the page on `conn` (the caller's blocking hop, which also
/// checked the viewer's role); `shown` builds what the templates show.
pub fn read(conn: &mut DbConn, trail: Trail, query_string: &str) -> QueryResult<(TrailParams, EventPage)> {
    let params = TrailParams::parse(trail, query_string);
    let page = queries::list(conn, &params)?;
    Ok((params, page))
}

/// What the templates show of a page `read` loaded.
pub fn shown((params, page): (TrailParams, EventPage)) -> TrailView {
    let trail = params.trail;
    let pager = pager_of(&params, &page);
    let events = page.rows.iter().map(|row| view_of(&params, row)).collect();
    let status = if params.has_errors() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let action_options = action_options(trail, &params);
    let params = TrailParams { page: page.page, ..params };
    TrailView { params, events, pager, page_sizes: pager::PAGE_SIZES, action_options, status }
}

fn action_options(trail: Trail, params: &TrailParams) -> Vec<(String, String, bool)> {
    let known = match trail {
        Trail::Platform => actions::PLATFORM,
        Trail::Organization(_) => actions::ORGANIZATION,
    };
    let chosen = params.filter.action.as_deref().unwrap_or_default();
    let mut options = vec![(String::new(), "Any action".to_owned(), chosen.is_empty())];
    if !chosen.is_empty() && !known.contains(&chosen) {
        options.push((chosen.to_owned(), chosen.to_owned(), true));
    }
    options.extend(known.iter().map(|action| (action.to_string(), action.to_string(), *action == chosen)));
    options
}

fn view_of(params: &TrailParams, row: &EventRow) -> EventView {
    let organization_href = match (params.trail, row.organization_id) {
        (Trail::Platform, Some(org)) => Some(params.narrowed(|f| f.org = Some(org))),
        _ => None,
    };
    EventView {
        id: row.id,
        time: row.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        time_iso: row.occurred_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        actor_href: params.narrowed(|f| f.actor = Some(row.actor_email.clone())),
        actor: row.actor_email.clone(),
        action_href: params.narrowed(|f| f.action = Some(row.action.clone())),
        action: row.action.clone(),
        organization: row.organization_name.clone(),
        organization_href,
        target_href: params.narrowed(|f| f.target = Some(row.target.clone())),
        target: row.target.clone(),
        details: details::lines(&row.details),
        client: row.client_addr.clone(),
    }
}

fn pager_of(params: &TrailParams, page: &EventPage) -> Pager {
    let cursor_href = |row: &EventRow, after, n| {
        params.cursor_href(&Cursor { after, key: time_key(row.occurred_at), id: row.id, page: n })
    };
    pager::keyset(page.page, params.per_page, &page.rows, page.total, page.has_next, |n| params.href(n), cursor_href)
}
