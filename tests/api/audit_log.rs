//! The audit trails (issue 17, point 3) against an in-memory model of the same events: the
//! keyset walk, every filter and combinations, inclusive date bounds, junk input, the details.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use orgportal::db::schema::audit_events;
use orgportal::db::DbConn;

use crate::helpers::{row_ids, Response, SeedOrg, TestApp};
use crate::on_both_backends;

on_both_backends!(
    audit_cursor_walk_covers_every_event_once_newest_first,
    audit_filters_match_an_in_memory_filter,
    audit_junk_input_is_200_or_422_never_500,
    audit_details_open_as_before_and_after_lines,
);

/// One stored event, as the model reads it back.
#[derive(Debug, Clone, Queryable)]
pub struct Event {
    pub id: i64,
    pub at: NaiveDateTime,
    pub scope: String,
    pub actor: String,
    pub org: Option<i64>,
    pub action: String,
    pub target: String,
}

/// An event to insert.
pub struct NewRow<'a> {
    pub at: NaiveDateTime,
    pub scope: &'a str,
    pub actor: &'a str,
    pub org: Option<(i64, &'a str)>,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a str,
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("a day")
}

/// Events straight into the table, in one multi-row insert (per backend: the MultiConnection
/// has no batch insert).
pub fn insert(app: &TestApp, rows: &[NewRow<'_>]) {
    macro_rules! values {
        () => {
            rows.iter()
                .map(|row| {
                    (
                        audit_events::occurred_at.eq(row.at),
                        audit_events::scope.eq(row.scope),
                        audit_events::actor_email.eq(row.actor),
                        audit_events::organization_id.eq(row.org.map(|(id, _)| id)),
                        audit_events::organization_name.eq(row.org.map_or("", |(_, name)| name)),
                        audit_events::action.eq(row.action),
                        audit_events::target.eq(row.target),
                        audit_events::details.eq(row.details),
                    )
                })
                .collect::<Vec<_>>()
        };
    }
    let mut conn = app.conn();
    let inserted = match &mut *conn {
        DbConn::Sqlite(sqlite) => diesel::insert_into(audit_events::table).values(values!()).execute(sqlite),
        DbConn::Pg(pg) => diesel::insert_into(audit_events::table).values(values!()).execute(pg),
    };
    assert_eq!(inserted.expect("insert events"), rows.len());
}

/// Every event in the table.
pub fn all_events(app: &TestApp) -> Vec<Event> {
    audit_events::table
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::scope,
            audit_events::actor_email,
            audit_events::organization_id,
            audit_events::action,
            audit_events::target,
        ))
        .load(&mut *app.conn())
        .expect("events")
}

/// What a trail shows under a filter, newest first, as the model computes it.
#[derive(Default, Clone, Copy)]
pub struct Want<'a> {
    /// `None`: the platform trail; `Some(id)`: that organization's.
    pub trail: Option<i64>,
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    pub org: Option<i64>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

pub fn expected(events: &[Event], want: Want<'_>) -> Vec<i64> {
    let mut kept: Vec<&Event> = events
        .iter()
        .filter(|e| match want.trail {
            None => e.scope == "platform" && want.org.is_none_or(|org| e.org == Some(org)),
            Some(org) => e.scope == "organization" && e.org == Some(org),
        })
        .filter(|e| want.actor.is_none_or(|a| e.actor == a))
        .filter(|e| want.action.is_none_or(|a| e.action == a))
        .filter(|e| want.target.is_none_or(|t| e.target == t))
        .filter(|e| want.from.is_none_or(|from| e.at >= from))
        .filter(|e| want.to.is_none_or(|to| e.at < to + Duration::days(1)))
        .collect();
    kept.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    kept.into_iter().map(|e| e.id).collect()
}

/// The href of the pager link `rel`, unescaped.
pub fn link(page: &Response, rel: &str) -> Option<String> {
    let at = page.body.find(&format!(r#"rel="{rel}""#))?;
    let start = page.body[..at].rfind("href=\"")? + 6;
    let end = start + page.body[start..].find('"')?;
    Some(page.body[start..end].replace("&#38;", "&"))
}

/// Every event id of a trail, following its next links from `url`.
pub async fn walk(app: &mut TestApp, url: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let page = app.get(&url).await;
        page.assert_status(200);
        ids.extend(row_ids(&page.body, "event"));
        next = link(&page, "next");
        assert!(ids.len() < 100_000, "the walk ends");
    }
    ids
}

/// 150 events over six days, many sharing one instant, inserted out of time order (so ids do
/// not follow time), in both scopes, about two organizations; plus the edges of two days.
pub fn seed(app: &TestApp, a: (i64, &str), b: (i64, &str)) {
    let base = day(2026, 3, 1);
    let actors = ["alice@example.com", "bob@example.com", "command line"];
    let actions = ["organization.updated", "account.sign_in", "plan.created"];
    let targets = ["Acme", "x@example.com", "days_to_action_removal"];
    let mut rows = Vec::new();
    for n in 0..150_usize {
        let i = (n * 67) % 150; // a permutation: ids in another order than times
        let at = base + Duration::days((i % 6) as i64) + Duration::hours(((i * 5) % 3) as i64);
        let (scope, org) = match i % 5 {
            0 => ("organization", Some(a)),
            1 => ("organization", Some(b)),
            2 => ("platform", Some(a)),
            3 => ("platform", Some(b)),
            _ => ("platform", None),
        };
        rows.push(NewRow {
            at,
            scope,
            actor: actors[i % 3],
            org,
            action: actions[(i / 3) % 3],
            target: targets[(i / 2) % 3],
            details: "{}",
        });
    }
    // The edges of 2026-03-02 and 2026-03-03: the first and last instants in, their
    // neighbours out.
    let last_instant = Duration::days(1) - Duration::microseconds(1);
    for (at, org) in [
        (day(2026, 3, 2), None),
        (day(2026, 3, 2) - Duration::microseconds(1), None),
        (day(2026, 3, 3) + last_instant, Some(a)),
        (day(2026, 3, 4), Some(a)),
    ] {
        for scope in ["platform", "organization"] {
            let org = if scope == "organization" { Some(a) } else { org };
            rows.push(NewRow {
                at,
                scope,
                actor: "edge@example.com",
                org,
                action: "plan.created",
                target: "Edge",
                details: "{}",
            });
        }
    }
    insert(app, &rows);
}

pub async fn set_up(app: &mut TestApp) -> (i64, i64) {
    app.login_as_admin().await;
    let a = app.org_id("Default");
    let b = app.seed_org(&SeedOrg {
        name: "Other Org",
        contact: "other@example.com",
        quota_gb: 10,
        members: 0,
        created_at: day(2026, 1, 1),
    });
    seed(app, (a, "Default"), (b, "Other Org"));
    (a, b)
}

async fn audit_cursor_walk_covers_every_event_once_newest_first(mut app: TestApp) {
    let (a, _) = set_up(&mut app).await;
    for (url, trail) in
        [("/admin/audit?per_page=10".to_owned(), None), (format!("/orgs/{a}/audit?per_page=10"), Some(a))]
    {
        let events = all_events(&app);
        let want = expected(&events, Want { trail, ..Want::default() });
        assert!(want.len() > 30, "{url}: several pages");
        // Forward by next links.
        let mut pages = Vec::new();
        let mut next = Some(url.clone());
        while let Some(href) = next {
            let page = app.get(&href).await;
            page.assert_status(200);
            pages.push(row_ids(&page.body, "event"));
            next = link(&page, "next");
            if next.is_some() {
                assert!(next.as_deref().is_some_and(|n| n.contains("after=")), "next is a cursor: {next:?}");
            }
            if pages.len() > 1 {
                assert!(link(&page, "first").is_some() && link(&page, "prev").is_some(), "{href}");
            }
            let showing = format!("Showing {}–", (pages.len() - 1) * 10 + 1);
            assert!(page.body.contains(&showing), "{href}: {showing}");
        }
        assert_eq!(pages.concat(), want, "{url}: every event once, newest first");
        // Back by previous links from the last page.
        let last = app.get(&format!("{url}&page={}", pages.len())).await;
        assert_eq!(row_ids(&last.body, "event"), *pages.last().unwrap_or(&Vec::new()), "the last page by number");
        assert!(link(&last, "next").is_none() && link(&last, "last").is_none());
        let mut back = vec![row_ids(&last.body, "event")];
        let mut prev = link(&last, "prev");
        while let Some(href) = prev {
            let page = app.get(&href).await;
            page.assert_status(200);
            back.push(row_ids(&page.body, "event"));
            prev = link(&page, "prev");
        }
        back.reverse();
        assert_eq!(back, pages, "{url}: previous links retrace the same pages");
        // A typed page number in the middle shows the same rows as the walk.
        let third = app.get(&format!("{url}&page=3")).await;
        assert_eq!(row_ids(&third.body, "event"), pages[2]);
    }
}

async fn audit_filters_match_an_in_memory_filter(mut app: TestApp) {
    let (a, b) = set_up(&mut app).await;
    let events = all_events(&app);
    let w = Want::default;
    let cases: Vec<(String, Want<'_>)> = vec![
        (String::new(), w()),
        ("actor=alice%40example.com".into(), Want { actor: Some("alice@example.com"), ..w() }),
        ("actor=+ALICE%40Example.COM+".into(), Want { actor: Some("alice@example.com"), ..w() }),
        ("actor=command+line".into(), Want { actor: Some("command line"), ..w() }),
        ("action=organization.updated".into(), Want { action: Some("organization.updated"), ..w() }),
        ("action=Account.Sign_In".into(), Want { action: Some("account.sign_in"), ..w() }),
        ("target=Acme".into(), Want { target: Some("Acme"), ..w() }),
        ("target=acme".into(), Want { target: Some("acme"), ..w() }),
        ("target=X%40EXAMPLE.com".into(), Want { target: Some("x@example.com"), ..w() }),
        (format!("org={a}"), Want { org: Some(a), ..w() }),
        (format!("org={b}"), Want { org: Some(b), ..w() }),
        ("from=2026-03-02".into(), Want { from: Some(day(2026, 3, 2)), ..w() }),
        ("to=2026-03-03".into(), Want { to: Some(day(2026, 3, 3)), ..w() }),
        (
            "from=2026-03-02&to=2026-03-03".into(),
            Want { from: Some(day(2026, 3, 2)), to: Some(day(2026, 3, 3)), ..w() },
        ),
        (
            "from=2026-03-03&to=2026-03-03".into(),
            Want { from: Some(day(2026, 3, 3)), to: Some(day(2026, 3, 3)), ..w() },
        ),
        (
            format!("actor=bob%40example.com&action=plan.created&org={a}&from=2026-03-02"),
            Want {
                actor: Some("bob@example.com"),
                action: Some("plan.created"),
                org: Some(a),
                from: Some(day(2026, 3, 2)),
                ..w()
            },
        ),
        (
            "target=x%40example.com&actor=command+line&to=2026-03-04".into(),
            Want { target: Some("x@example.com"), actor: Some("command line"), to: Some(day(2026, 3, 4)), ..w() },
        ),
    ];
    let mut non_empty = 0;
    for (query, want) in &cases {
        for trail in [None, Some(a)] {
            let (base, want) = match trail {
                None => ("/admin/audit".to_owned(), Want { trail, ..*want }),
                // The organization trail ignores `org`: the model does too.
                Some(org) => (format!("/orgs/{org}/audit"), Want { trail, org: None, ..*want }),
            };
            let url = format!("{base}?per_page=25&{query}");
            let ids = walk(&mut app, &url).await;
            let wanted = expected(&events, want);
            non_empty += usize::from(!wanted.is_empty());
            assert_eq!(ids, wanted, "{url}");
        }
    }
    assert!(non_empty > 25, "the cases select something");
    // The day edges: the first and last instants of the range are in, their neighbours out.
    let edge = expected(&events, Want { actor: Some("edge@example.com"), ..w() });
    assert_eq!(edge.len(), 4);
    let ranged = walk(&mut app, "/admin/audit?actor=edge%40example.com&from=2026-03-02&to=2026-03-03").await;
    assert_eq!(ranged.len(), 2, "2026-03-02 00:00:00 and 2026-03-03 23:59:59.999999");
    // Filter links keep the filters: the CSV link and the summary.
    let page = app.get("/admin/audit?actor=alice%40example.com&from=2026-03-02").await;
    assert!(page.body.contains("/admin/audit.csv?actor=alice%40example.com&#38;from=2026-03-02"), "{}", page.body);
}

async fn audit_junk_input_is_200_or_422_never_500(mut app: TestApp) {
    let (a, _) = set_up(&mut app).await;
    let junk = [
        "after=junk",
        "before=%00%FF",
        "after=eyJhIjp0cnVlLCJrIjoiMjAyNi0wMy0wMVQwMDowMDowMCIsImkiOjEsInAiOjk5OTk5OTk5OTk5OTk5OTk5fQ",
        "page=99999999999999999999",
        "page=-1&per_page=1000000",
        "from=2026-13-45",
        "from=2026-02-30",
        "to=%00",
        "actor=%00",
        "actor=%FF%FE",
        "target=%E2%80%AE",
        "action=%0D%0A",
        "org=abc",
        "org=99999999999999999999",
        "org=-5",
        "from=2026-03-05&to=2026-03-01",
        "from=0000-01-01&to=9999-12-31",
        "to=9999-12-31",
        "actor=%25&target=_",
    ];
    for query in junk {
        for base in [
            "/admin/audit".to_owned(),
            format!("/orgs/{a}/audit"),
            "/admin/audit.csv".to_owned(),
            format!("/orgs/{a}/audit.csv"),
        ] {
            let url = format!("{base}?{query}");
            let status = app.get(&url).await.status.as_u16();
            assert!(status == 200 || status == 422, "{url}: {status}");
        }
    }
    // A refused value is shown back with its message beside the field, the page still works.
    let page = app.get("/admin/audit?from=2026-13-45&actor=alice%40example.com").await;
    page.assert_status(422);
    assert!(page.body.contains(r#"value="2026-13-45""#), "typed value shown back");
    assert!(page.body.contains(r#"id="from-error""#) && page.body.contains("YYYY-MM-DD"));
    assert_eq!(
        row_ids(&page.body, "event"),
        expected(&all_events(&app), Want { actor: Some("alice@example.com"), ..Want::default() })
            .into_iter()
            .take(25)
            .collect::<Vec<_>>(),
        "the other filters still apply"
    );
    assert!(!link(&page, "next").unwrap_or_default().contains("from="), "no link repeats a refused value");
    let reversed = app.get("/admin/audit?from=2026-03-05&to=2026-03-01").await;
    reversed.assert_status(422);
    assert!(reversed.body.contains(r#"id="to-error""#));
    let nul = app.get("/admin/audit?actor=%00").await;
    nul.assert_status(422);
    assert!(nul.body.contains("U+0000"));
    app.get("/admin/audit.csv?actor=%00").await.assert_status(422);
    // A huge page number shows the last real page.
    let huge = app.get("/admin/audit?page=99999999999999999999").await;
    huge.assert_status(200);
    assert!(!row_ids(&huge.body, "event").is_empty());
    assert!(link(&huge, "next").is_none());
}

async fn audit_details_open_as_before_and_after_lines(mut app: TestApp) {
    app.login_as_admin().await;
    let details =
        r#"{"before":{"name":"Acme","quota_gb":10,"seats":null},"after":{"name":"Acme","quota_gb":20,"seats":5}}"#;
    let long = format!(r#"{{"reason":"{}"}}"#, "<b>".repeat(50));
    let at = day(2026, 3, 1);
    insert(
        &app,
        &[
            NewRow {
                at,
                scope: "platform",
                actor: "a@example.com",
                org: None,
                action: "organization.updated",
                target: "Acme",
                details,
            },
            NewRow {
                at,
                scope: "platform",
                actor: "a@example.com",
                org: None,
                action: "account.sign_in_failed",
                target: "x",
                details: &long,
            },
        ],
    );
    let page = app.get("/admin/audit?action=organization.updated").await;
    page.assert_status(200);
    assert!(page.body.contains("<details>") && page.body.contains("<summary>3 fields</summary>"), "{}", page.body);
    assert!(page.body.contains("Quota (GB)</span>: <del>10</del> → <ins>20</ins>"), "{}", page.body);
    assert!(page.body.contains("Seats</span>: <del>(none)</del> → <ins>5</ins>"));
    assert!(page.body.contains("Name</span>: Acme<"), "unchanged fields read as their value");
    let failed = app.get("/admin/audit?action=account.sign_in_failed").await;
    assert!(failed.body.contains("Reason</span>: &#60;b&#62;"), "escaped, not markup");
    assert!(!failed.body.contains("<b><b>"));
}
