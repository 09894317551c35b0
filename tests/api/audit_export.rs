//! The audit trails' CSV exports, the capped total past 10,000 events, and the rule that a
//! filter never widens a trail (issue 17, point 3).

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use diesel::prelude::*;

use crate::audit_log::{all_events, day, expected, insert, link, set_up, walk, NewRow, Want};
use crate::helpers::{row_ids, Response, TestApp};
use crate::on_both_backends;

on_both_backends!(
    audit_csv_holds_exactly_the_filtered_events_with_hostile_cells_neutralised,
    audit_total_says_more_than_ten_thousand_past_the_cap,
    audit_filters_never_widen_a_trail,
);

const HEADER: [&str; 9] =
    ["Time (UTC)", "Actor", "Action", "Organization id", "Organization", "Target", "Details", "Client", "Event id"];

fn records(response: &Response) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(response.body.as_bytes());
    reader.records().map(|record| record.expect("valid CSV").iter().map(str::to_owned).collect()).collect()
}

/// The event ids of an export, after checking it is a CSV download with its header first.
async fn exported(app: &mut TestApp, url: &str) -> Vec<Vec<String>> {
    let response = app.get(url).await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("text/csv; charset=utf-8"), "{url}");
    assert!(response.header("content-disposition").is_some_and(|d| d.starts_with("attachment;")), "{url}");
    let records = records(&response);
    assert_eq!(records.first().map(Vec::as_slice), Some(&HEADER.map(String::from)[..]), "{url}: header first");
    records[1..].to_vec()
}

fn ids(rows: &[Vec<String>]) -> Vec<i64> {
    rows.iter().map(|row| row[8].parse().expect("an event id")).collect()
}

const HOSTILE: [&str; 8] =
    ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain, with a comma", "two\nlines"];

async fn audit_csv_holds_exactly_the_filtered_events_with_hostile_cells_neutralised(mut app: TestApp) {
    let (a, b) = set_up(&mut app).await;
    // More than one chunk (1,000 rows) of platform events, with ties and hostile cells.
    let base = day(2026, 4, 1);
    let rows: Vec<NewRow<'_>> = (0..1_500_usize)
        .map(|i| NewRow {
            at: base + Duration::minutes((i % 40) as i64),
            scope: "platform",
            actor: if i % 2 == 0 { "bulk@example.com" } else { "=cmd@example.com" },
            org: (i % 3 == 0).then_some((a, "Default")),
            action: "organization.updated",
            target: HOSTILE[i % HOSTILE.len()],
            details: r#"{"before":{"n":"=1"},"after":{"n":"-1"}}"#,
        })
        .collect();
    insert(&app, &rows);
    let events = all_events(&app);
    let target_of: HashMap<i64, String> = events.iter().map(|e| (e.id, e.target.clone())).collect();

    let everything = exported(&mut app, "/admin/audit.csv").await;
    assert!(everything.len() > 1_500, "past one chunk");
    assert_eq!(ids(&everything), expected(&events, Want::default()), "every platform event once, newest first");
    for row in &everything {
        let id: i64 = row[8].parse().expect("id");
        let stored = &target_of[&id];
        let neutral =
            if stored.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{stored}") } else { stored.clone() };
        assert_eq!(&row[5], &neutral, "target of event {id}");
        assert!(!row[1].starts_with('='), "actor cell neutralised: {:?}", row[1]);
    }

    let cases = [
        (
            "/admin/audit.csv?actor=bulk%40example.com".to_owned(),
            Want { actor: Some("bulk@example.com"), ..Want::default() },
        ),
        (
            format!("/admin/audit.csv?org={a}&from=2026-03-02&to=2026-04-01&target=%2B1"),
            Want {
                org: Some(a),
                from: Some(day(2026, 3, 2)),
                to: Some(day(2026, 4, 1)),
                target: Some("+1"),
                ..Want::default()
            },
        ),
        (format!("/admin/audit.csv?org={b}&per_page=10&page=3"), Want { org: Some(b), ..Want::default() }),
        (
            format!("/orgs/{a}/audit.csv?action=plan.created&org={b}"),
            Want { trail: Some(a), action: Some("plan.created"), ..Want::default() },
        ),
    ];
    for (url, want) in cases {
        let wanted = expected(&events, want);
        assert!(!wanted.is_empty(), "{url} selects something");
        assert_eq!(ids(&exported(&mut app, &url).await), wanted, "{url}");
    }
    // The page links to the export of its own filters.
    let page = app.get("/admin/audit?actor=bulk%40example.com&page=2").await;
    let csv_link = "/admin/audit.csv?actor=bulk%40example.com\"";
    assert!(page.body.contains(csv_link), "{csv_link}");
}

async fn audit_total_says_more_than_ten_thousand_past_the_cap(mut app: TestApp) {
    let (a, _) = set_up(&mut app).await;
    // 10,001 events at one instant, in one statement.
    diesel::sql_query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001) \
         INSERT INTO audit_events (occurred_at, scope, actor_email, action, target) \
         SELECT '2026-05-01 12:00:00', 'platform', 'many@example.com', 'account.sign_in', 'many@example.com' FROM n",
    )
    .execute(&mut *app.conn())
    .expect("10,001 events");
    let page = app.get("/admin/audit").await;
    page.assert_status(200);
    assert!(page.body.contains("Showing 1–25 of more than 10,000"), "{}", page.body);
    assert!(link(&page, "last").is_none(), "no last page of an uncounted total");
    let next = link(&page, "next").expect("a next page");
    let second = app.get(&next).await;
    assert!(second.body.contains("Showing 26–50 of more than 10,000"));
    let (first_ids, second_ids) = (row_ids(&page.body, "event"), row_ids(&second.body, "event"));
    assert!(first_ids.iter().all(|id| !second_ids.contains(id)), "ties at one instant are not repeated");
    let walked: Vec<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    let newest: Vec<i64> = expected(&all_events(&app), Want::default()).into_iter().take(50).collect();
    assert_eq!(walked, newest, "newest first, ties by id");
    // Just under the cap the count is exact; a filter narrows it to an exact count too.
    let narrowed = app.get("/admin/audit?actor=many%40example.com&per_page=100&page=101").await;
    narrowed.assert_status(200);
    assert!(narrowed.body.contains("of more than 10,000"));
    let exact = app.get(&format!("/admin/audit?org={a}")).await;
    let n = expected(&all_events(&app), Want { org: Some(a), ..Want::default() }).len();
    assert!(exact.body.contains(&format!("of {n}")), "{n}");
    // A page past the end of the capped total shows the last real page.
    let past = app.get("/admin/audit?actor=many%40example.com&page=99999999999").await;
    past.assert_status(200);
    assert!(past.body.contains("Showing 10,001–10,001 of 10,001"), "{}", past.body);
}

async fn audit_filters_never_widen_a_trail(mut app: TestApp) {
    let (a, b) = set_up(&mut app).await;
    let events = all_events(&app);
    let organization_level: HashSet<i64> = events.iter().filter(|e| e.scope == "organization").map(|e| e.id).collect();

    // The platform trail narrowed to an organization: only platform events about it.
    let about_a = walk(&mut app, &format!("/admin/audit?org={a}&per_page=100")).await;
    assert_eq!(about_a, expected(&events, Want { org: Some(a), ..Want::default() }));
    assert!(!about_a.is_empty() && about_a.iter().all(|id| !organization_level.contains(id)));
    let csv = exported(&mut app, &format!("/admin/audit.csv?org={a}")).await;
    assert!(ids(&csv).iter().all(|id| !organization_level.contains(id)));
    assert!(csv.iter().all(|row| row[3] == a.to_string()));

    // An organization's trail ignores `org`: it is always its own events.
    let own = walk(&mut app, &format!("/orgs/{a}/audit?per_page=100")).await;
    assert_eq!(own, expected(&events, Want { trail: Some(a), ..Want::default() }));
    assert!(own.iter().all(|id| organization_level.contains(id)));
    assert_eq!(walk(&mut app, &format!("/orgs/{a}/audit?per_page=100&org={b}")).await, own);
    assert_eq!(ids(&exported(&mut app, &format!("/orgs/{a}/audit.csv?org={b}")).await), own);

    // Another organization's trail and export stay closed to a non-Delegate.
    for path in [format!("/orgs/{b}/audit"), format!("/orgs/{b}/audit.csv"), format!("/orgs/{b}/audit.csv?org={a}")] {
        app.get(&path).await.assert_status(403);
    }
    let mut anonymous = app.client();
    for path in ["/admin/audit.csv".to_owned(), format!("/orgs/{a}/audit.csv")] {
        let response = anonymous.get(&path).await;
        assert_eq!(response.status.as_u16(), 303, "{path}");
        assert!(response.location().starts_with("/login"), "{path}");
    }
    let count: i64 = orgportal::db::schema::audit_events::table.count().get_result(&mut *app.conn()).expect("count");
    assert!(count as usize >= events.len(), "reading changed nothing it should not");
}
