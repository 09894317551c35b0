//! Search at volume: with thousands of synthetic organizations every search path is taken (a
//! few matches fetched by id, a page read from the trigram index, a scan checking each row,
//! `LIKE` for short terms, the capped count), and each must equal a plain in-memory filter.

use diesel::prelude::*;
use orgportal::db::schema::organizations;
use orgportal::domain::fold;

use crate::helpers::{row_ids, Response, TestApp};
use crate::on_both_backends;

on_both_backends!(searches_equal_an_in_memory_filter_at_volume, totals_past_ten_thousand_are_capped_and_still_page);

struct Row {
    id: i64,
    name_key: String,
    contact_key: String,
    quota: i64,
}

fn load_rows(app: &TestApp) -> Vec<Row> {
    organizations::table
        .select((organizations::id, organizations::name_key, organizations::contact_key, organizations::quota_gb))
        .load::<(i64, String, String, i64)>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .map(|(id, name_key, contact_key, quota)| Row { id, name_key, contact_key, quota })
        .collect()
}

fn model(rows: &[Row], q: &str, by: &str, sort: Option<&str>, dir: &str) -> Vec<i64> {
    let needle = fold(q);
    let mut hits: Vec<&Row> = rows
        .iter()
        .filter(|r| match by {
            "name" => r.name_key.contains(&needle),
            "contact" => r.contact_key.contains(&needle),
            _ => r.name_key.contains(&needle) || r.contact_key.contains(&needle),
        })
        .collect();
    hits.sort_by(|a, b| {
        let key = match sort {
            Some("name") => a.name_key.as_bytes().cmp(b.name_key.as_bytes()),
            Some("quota") => a.quota.cmp(&b.quota),
            _ => std::cmp::Ordering::Equal,
        };
        key.then(a.id.cmp(&b.id))
    });
    if sort.is_some() && dir == "desc" {
        hits.reverse();
    }
    hits.into_iter().map(|r| r.id).collect()
}

fn next_link(page: &Response) -> Option<String> {
    let at = page.body.find(r#"rel="next""#)?;
    let start = page.body[..at].rfind("href=\"")? + 6;
    let end = start + page.body[start..].find('"')?;
    Some(page.body[start..end].replace("&#38;", "&"))
}

fn load_demo(app: &TestApp, count: u64) {
    orgportal::demo::load(&mut app.conn(), count, 0, app.clock.now()).unwrap();
}

async fn searches_equal_an_in_memory_filter_at_volume(mut app: TestApp) {
    load_demo(&app, 3_000);
    let rows = load_rows(&app);
    app.login_as_admin().await;
    // From a handful of matches to nearly all rows; short terms use LIKE.
    for q in ["zentr", "abc", "gmbh", "müller", "example", "er", "ü", "a&b"] {
        for by in ["all", "name", "contact"] {
            for sort in [None, Some("name"), Some("quota")] {
                for dir in ["asc", "desc"] {
                    let expected = model(&rows, q, by, sort, dir);
                    let mut url =
                        format!("/admin/organizations?per_page=50&by={by}&q={}", orgportal::web::urlencode(q));
                    if let Some(sort) = sort {
                        url.push_str(&format!("&sort={sort}&dir={dir}"));
                    }
                    // Page 1, then two pages along the cursors, then page 4 by number.
                    let mut page = app.get(&url).await;
                    let mut seen = row_ids(&page.body, "org");
                    for _ in 0..2 {
                        let Some(next) = next_link(&page) else { break };
                        page = app.get(&next).await;
                        seen.extend(row_ids(&page.body, "org"));
                    }
                    let shown = expected.len().min(150);
                    assert_eq!(seen, expected[..shown], "{url}");
                    let fourth = app.get(&format!("{url}&page=4")).await;
                    let from = 150.min(expected.len().saturating_sub(1) / 50 * 50);
                    let to = (from + 50).min(expected.len());
                    assert_eq!(row_ids(&fourth.body, "org"), expected[from..to], "{url}&page=4");
                    let past_end = app.get(&format!("{url}&page=9999")).await;
                    let last_from = expected.len().saturating_sub(1) / 50 * 50;
                    assert_eq!(row_ids(&past_end.body, "org"), expected[last_from..], "{url}&page=9999");
                    let total = orgportal::domain::group_thousands(expected.len() as i64);
                    if !expected.is_empty() {
                        assert!(page.body.contains(&format!(" of {total}")), "{url}: total {total}");
                    }
                }
            }
        }
    }
}

async fn totals_past_ten_thousand_are_capped_and_still_page(mut app: TestApp) {
    load_demo(&app, 10_400);
    let rows = load_rows(&app);
    app.login_as_admin().await;
    for sort in [None, Some("name")] {
        let expected = model(&rows, "example", "contact", sort, "asc");
        assert!(expected.len() > 10_000, "{} rows match", expected.len());
        let mut url = "/admin/organizations?q=example&by=contact".to_owned();
        if let Some(sort) = sort {
            url.push_str(&format!("&sort={sort}&dir=asc"));
        }
        let first = app.get(&url).await;
        assert!(first.body.contains("Showing 1–25 of more than 10,000"), "{url}");
        assert!(first.body.contains("counted up to 10,000"), "the page says why");
        assert!(!first.body.contains(r#"rel="last""#), "no last page without an exact total");
        assert_eq!(row_ids(&first.body, "org"), expected[..25]);
        let second = app.get(&next_link(&first).unwrap()).await;
        assert!(second.body.contains("Showing 26–50 of more than 10,000"));
        assert_eq!(row_ids(&second.body, "org"), expected[25..50]);
        let tenth = app.get(&format!("{url}&page=10")).await;
        assert_eq!(row_ids(&tenth.body, "org"), expected[225..250]);
        // A page number past the end (or past i64) shows the last real page, counted exactly.
        let last_from = (expected.len() - 1) / 25 * 25;
        for huge in ["999999", "99999999999999999999999"] {
            let past_end = app.get(&format!("{url}&page={huge}")).await;
            past_end.assert_status(200);
            assert_eq!(row_ids(&past_end.body, "org"), expected[last_from..], "{url}&page={huge}");
            let total = orgportal::domain::group_thousands(expected.len() as i64);
            assert!(past_end.body.contains(&format!(" of {total}")), "{url}&page={huge}: exact total {total}");
        }
    }
    // The unfiltered total is exact, from the counter.
    let all = app.get("/admin/organizations").await;
    assert!(all.body.contains(&format!("of {}", orgportal::domain::group_thousands(rows.len() as i64))));
}
