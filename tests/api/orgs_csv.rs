//! `GET /admin/organizations.csv`: the Organizations page's search and sort as CSV, every
//! matching row once, read back with the `csv` crate.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use orgportal::db::schema::organizations;
use orgportal::domain::fold;
use orgportal::web::csv_export::CHUNK_ROWS;

use crate::helpers::{escape_html, Response, SeedOrg, TestApp};
use crate::on_both_backends;

on_both_backends!(
    export_holds_every_organization_header_first,
    export_follows_the_search_and_the_sort,
    export_reads_past_one_chunk_every_row_once,
    awkward_names_are_quoted_and_neutralized,
    only_platform_administrators_may_export,
);

const HEADER: [&str; 5] = ["Name", "Contact Person", "Quota (GB)", "Users", "Created"];

fn base() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(8, 30, 15).unwrap()
}

fn iso(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The export at `url`, checked to be a CSV attachment, parsed into records (header included).
async fn export(app: &mut TestApp, url: &str) -> Vec<Vec<String>> {
    let response = app.get(url).await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("text/csv; charset=utf-8"), "{url}");
    assert_eq!(response.header("content-disposition"), Some("attachment; filename=\"organizations.csv\""), "{url}");
    parse(&response)
}

fn parse(response: &Response) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(response.body.as_bytes());
    reader.records().map(|record| record.expect("valid CSV").iter().map(str::to_owned).collect()).collect()
}

/// The names of the data rows, after checking the header row is first.
fn names(records: &[Vec<String>]) -> Vec<String> {
    assert_eq!(records.first().map(Vec::as_slice), Some(&HEADER.map(String::from)[..]), "header row first");
    records[1..].iter().map(|row| row[0].clone()).collect()
}

/// Every organization's CSV row, in id (natural) order, straight from the table.
fn table_rows(app: &TestApp) -> Vec<Vec<String>> {
    let rows: Vec<(String, String, i64, i64, NaiveDateTime)> = organizations::table
        .order(organizations::id.asc())
        .select((
            organizations::name,
            organizations::contact_email,
            organizations::quota_gb,
            organizations::member_count,
            organizations::created_at,
        ))
        .load(&mut *app.conn())
        .unwrap();
    rows.into_iter()
        .map(|(name, contact, quota, members, created)| {
            vec![name, contact, quota.to_string(), members.to_string(), iso(created)]
        })
        .collect()
}

async fn export_holds_every_organization_header_first(mut app: TestApp) {
    for (i, (name, contact)) in
        [("Northwind Traders", "ops@northwind.example"), ("Ångström AB", ""), ("北京科技", "li@bj.example")]
            .into_iter()
            .enumerate()
    {
        let i = i as i64;
        app.seed_org(&SeedOrg {
            name,
            contact,
            quota_gb: 1_500 * (i + 1),
            members: i * 2,
            created_at: base() + Duration::seconds(i * 3_661),
        });
    }
    app.login_as_admin().await;
    let records = export(&mut app, "/admin/organizations.csv").await;
    assert_eq!(records[0], HEADER, "header row first");
    assert_eq!(records[1..], table_rows(&app)[..], "every organization, in natural order");
    assert_eq!(records.len(), 5, "the Default organization and the three added");
    assert_eq!(records[2], ["Northwind Traders", "ops@northwind.example", "1500", "0", "2026-03-01T08:30:15Z"]);
    assert_eq!(records[4], ["北京科技", "li@bj.example", "4500", "4", "2026-03-01T10:32:17Z"]);

    // Paging parameters are ignored: the export always holds every row.
    let paged = export(&mut app, "/admin/organizations.csv?per_page=10&page=2&after=bogus").await;
    assert_eq!(paged, records);
}

async fn export_follows_the_search_and_the_sort(mut app: TestApp) {
    let seeds = [
        ("Acme North", "north@corp.example", 300),
        ("Acme South", "south@corp.example", 100),
        ("acme west", "west@corp.example", 300),
        ("Zeta ACME Holdings", "", 200),
        ("Other Corp", "acme@acme.example", 900),
        ("Unrelated", "x@y.example", 50),
    ];
    for (i, (name, contact, quota_gb)) in seeds.into_iter().enumerate() {
        app.seed_org(&SeedOrg { name, contact, quota_gb, members: 1, created_at: base() + Duration::days(i as i64) });
    }
    app.login_as_admin().await;

    // By name, quota descending; the tie at 300 keeps the page's order (id descending).
    let url = "/admin/organizations.csv?q=acme&by=name&sort=quota&dir=desc";
    let records = export(&mut app, url).await;
    assert_eq!(names(&records), ["acme west", "Acme North", "Zeta ACME Holdings", "Acme South"], "{url}");
    assert_eq!(records[1][2], "300");
    assert_eq!(records[4][2], "100");

    // Ascending is the reverse; searching all fields also finds the contact.
    let records = export(&mut app, "/admin/organizations.csv?q=ACME&sort=quota&dir=asc").await;
    assert_eq!(names(&records), ["Acme South", "Zeta ACME Holdings", "Acme North", "acme west", "Other Corp"]);

    // By name, without a search: every organization.
    let records = export(&mut app, "/admin/organizations.csv?sort=name&dir=asc").await;
    assert_eq!(
        names(&records),
        ["Acme North", "Acme South", "acme west", "Default", "Other Corp", "Unrelated", "Zeta ACME Holdings"]
    );

    // By contact, natural order; nothing matching is the header alone.
    let records = export(&mut app, "/admin/organizations.csv?q=corp.example&by=contact").await;
    assert_eq!(names(&records), ["Acme North", "Acme South", "acme west"]);
    let records = export(&mut app, "/admin/organizations.csv?q=nothing-matches").await;
    assert_eq!(names(&records), Vec::<String>::new());

    // The page links to the export of what it shows (without its paging).
    let page = app.get("/admin/organizations?q=acme&by=name&sort=quota&dir=desc&per_page=10&page=1").await;
    page.assert_status(200);
    let link = escape_html("/admin/organizations.csv?q=acme&by=name&sort=quota&dir=desc");
    assert!(page.body.contains(&format!("<a href=\"{link}\" download>Download CSV</a>")), "{}", page.body);
}

/// `count` organizations added in one transaction (as `seed_org` does, only faster).
fn bulk_seed(app: &TestApp, from: i64, count: i64) {
    let mut conn = app.conn();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for i in from..from + count {
            let name = format!("Bulk Org {i:05}");
            let contact = format!("c{}@bulk.example", i % 7);
            let created = base() + Duration::minutes(i % 50);
            diesel::insert_into(organizations::table)
                .values((
                    organizations::name.eq(&name),
                    organizations::name_key.eq(fold(&name)),
                    organizations::contact_email.eq(&contact),
                    organizations::contact_key.eq(fold(&contact)),
                    organizations::admin_email.eq(&contact),
                    organizations::quota_gb.eq((i % 10) * 10),
                    organizations::member_count.eq(i % 3),
                    organizations::created_at.eq(created),
                    organizations::updated_at.eq(created),
                ))
                .execute(conn)?;
            let id = organizations::table
                .filter(organizations::name_key.eq(fold(&name)))
                .select(organizations::id)
                .first(conn)?;
            orgportal::db::org_index::inserted(conn, id)?;
        }
        Ok(())
    })
    .unwrap();
}

/// The names in the table in the page's order for `sort` (`None`: natural) and `dir`,
/// keeping only names containing `needle`.
fn expected_names(app: &TestApp, needle: &str, sort: Option<&str>, dir: &str) -> Vec<String> {
    let mut rows: Vec<(i64, String, String, i64, NaiveDateTime)> = organizations::table
        .select((
            organizations::id,
            organizations::name,
            organizations::name_key,
            organizations::quota_gb,
            organizations::created_at,
        ))
        .load(&mut *app.conn())
        .unwrap();
    rows.retain(|row| row.2.contains(needle));
    rows.sort_by(|a, b| {
        let key = match sort {
            Some("name") => a.2.as_bytes().cmp(b.2.as_bytes()),
            Some("quota") => a.3.cmp(&b.3),
            Some("created") => a.4.cmp(&b.4),
            _ => std::cmp::Ordering::Equal,
        };
        key.then(a.0.cmp(&b.0))
    });
    if sort.is_some() && dir == "desc" {
        rows.reverse();
    }
    rows.into_iter().map(|row| row.1).collect()
}

async fn export_reads_past_one_chunk_every_row_once(mut app: TestApp) {
    app.login_as_admin().await;
    // Exactly one chunk, with the Default organization: the next (empty) chunk ends it.
    bulk_seed(&app, 1, CHUNK_ROWS - 1);
    let records = export(&mut app, "/admin/organizations.csv").await;
    assert_eq!(records.len() as i64, CHUNK_ROWS + 1);
    assert_eq!(records[1..], table_rows(&app)[..]);

    // Past one chunk, in natural order, sorted both ways, and searched (on SQLite a search
    // with more than a thousand matches reads the trigram index page by page).
    bulk_seed(&app, CHUNK_ROWS, CHUNK_ROWS + 5);
    let total = 2 * CHUNK_ROWS + 5;
    for (query, needle, sort, dir) in [
        ("", "", None, "asc"),
        ("sort=name&dir=desc", "", Some("name"), "desc"),
        ("sort=quota&dir=asc", "", Some("quota"), "asc"),
        ("sort=created&dir=desc", "", Some("created"), "desc"),
        ("q=bulk+org&by=name", "bulk org", None, "asc"),
        ("q=bulk+org&by=name&sort=quota&dir=desc", "bulk org", Some("quota"), "desc"),
        ("q=org+0&sort=name&dir=asc", "org 0", Some("name"), "asc"),
    ] {
        let url = format!("/admin/organizations.csv?{query}");
        let response = app.get(&url).await;
        response.assert_status(200);
        assert_eq!(response.header("content-length"), None, "{url}: streamed, not built whole");
        let got = names(&parse(&response));
        let expected = expected_names(&app, needle, sort, dir);
        if needle.is_empty() {
            assert_eq!(expected.len() as i64, total, "{url}");
        } else {
            assert!(expected.len() as i64 > CHUNK_ROWS, "{url}: more matches than one chunk");
        }
        assert_eq!(got.len(), expected.len(), "{url}: one row per organization");
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "{url}: no row twice");
        assert_eq!(got, expected, "{url}: every row once, in the page's order");
    }
}

async fn awkward_names_are_quoted_and_neutralized(mut app: TestApp) {
    let awkward = [
        ("Comma, Commerce & Co", "plain@example.com", "Comma, Commerce & Co"),
        ("Say \"Cheese\" Ltd", "\"quoted\"@example.com", "Say \"Cheese\" Ltd"),
        ("Two\nLines Inc", "x@example.com", "Two\nLines Inc"),
        ("=HYPERLINK(\"http://evil.example\",\"x\")", "=cmd@example.com", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
        ("+1 Telecom", "+44@example.com", "'+1 Telecom"),
        ("-minus GmbH", "-@example.com", "'-minus GmbH"),
        ("@Mention AG", "@home@example.com", "'@Mention AG"),
        ("\tTabbed", "tab@example.com", "'\tTabbed"),
        ("\rReturned", "cr@example.com", "'\rReturned"),
        ("Plain=Name-With+Signs@", "ok@example.com", "Plain=Name-With+Signs@"),
    ];
    for (name, contact, _) in awkward {
        app.seed_org(&SeedOrg { name, contact, quota_gb: 1, members: 0, created_at: base() });
    }
    app.login_as_admin().await;
    let response = app.get("/admin/organizations.csv").await;
    response.assert_status(200);
    assert!(response.body.starts_with("Name,Contact Person,Quota (GB),Users,Created\r\n"), "{}", response.body);
    assert!(response.body.contains("\r\n\"Comma, Commerce & Co\",plain@example.com,1,0,"), "{}", response.body);
    assert!(response.body.contains("\r\n\"Say \"\"Cheese\"\" Ltd\",\"\"\"quoted\"\"@example.com\","));
    assert!(response.body.contains("\r\n\"Two\nLines Inc\","));
    assert!(response.body.contains("\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",'=cmd@example.com,"));
    assert!(response.body.contains("\r\n'+1 Telecom,'+44@example.com,"));

    let records = parse(&response);
    let by_name: Vec<&Vec<String>> = records[1..].iter().filter(|row| row[0] != "Default").collect();
    assert_eq!(by_name.len(), awkward.len());
    for (row, (_, contact, shown)) in by_name.iter().zip(awkward) {
        assert_eq!(row[0], shown);
        assert_eq!(row[1], orgportal::web::csv_export::neutralize(contact));
        assert_eq!(row[2..], ["1", "0", "2026-03-01T08:30:15Z"]);
    }
    for cell in records.iter().flatten() {
        assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?} would run as a formula");
    }
}

async fn only_platform_administrators_may_export(mut app: TestApp) {
    app.get("/admin/organizations.csv").await.assert_redirect("/login?next=%2Fadmin%2Forganizations.csv");
    app.get("/admin/organizations.csv?q=a&sort=name")
        .await
        .assert_redirect("/login?next=%2Fadmin%2Forganizations.csv%3Fq%3Da%26sort%3Dname");

    app.insert_account("plain.user@example.com", "quiet-river-stone-41", false);
    app.login("plain.user@example.com", "quiet-river-stone-41").await.assert_redirect("/");
    let refused = app.get("/admin/organizations.csv").await;
    refused.assert_status(403);
    assert!(refused.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    assert!(refused.header("content-disposition").is_none());
    assert!(!refused.body.contains("Contact Person"), "no export to a non-administrator");
}
