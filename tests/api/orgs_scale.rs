//! The list at scale, for correctness: keyset cursors visit every row exactly once, and the
//! counter and the search index always agree with the table.

use diesel::prelude::*;
use orgportal::db::schema::organizations;
use orgportal::db::DbConn;

use crate::helpers::{row_ids, Response, TestApp};
use crate::on_both_backends;
use crate::orgs_list::{expected, seed};

on_both_backends!(
    cursors_visit_every_row_once_in_every_order,
    counter_and_search_index_follow_adds_edits_and_removals,
    concurrent_adds_keep_the_counter_exact,
    tampered_cursors_fall_back_to_the_first_page,
);

fn link(page: &Response, rel: &str) -> Option<String> {
    let marker = "<a href=\"";
    page.body.match_indices(marker).find_map(|(at, _)| {
        let rest = &page.body[at + marker.len()..];
        let href = &rest[..rest.find('"')?];
        let tail = &rest[href.len()..rest.find('>')?];
        tail.contains(&format!("rel=\"{rel}\"")).then(|| href.replace("&#38;", "&").replace("&amp;", "&"))
    })
}

async fn cursors_visit_every_row_once_in_every_order(mut app: TestApp) {
    let model = seed(&app);
    app.login_as_admin().await;
    for q in ["", "acme", "example"] {
        for sort in [None, Some("name"), Some("contact"), Some("quota"), Some("users"), Some("created")] {
            for dir in ["asc", "desc"] {
                let mut url = format!("/admin/organizations?per_page=10&q={q}");
                if let Some(sort) = sort {
                    url.push_str(&format!("&sort={sort}&dir={dir}"));
                }
                let (everything, total) = expected(&model, q, "all", sort, dir, usize::MAX, 1);
                // Forward along rel="next".
                let mut seen = Vec::new();
                let mut page = app.get(&url).await;
                let mut pages = 1;
                loop {
                    page.assert_status(200);
                    seen.extend(row_ids(&page.body, "org"));
                    let shown = seen.len();
                    assert!(
                        page.body.contains(&format!("–{shown} of {total}")),
                        "{url} page {pages}: {shown} of {total}"
                    );
                    let Some(next) = link(&page, "next") else { break };
                    assert!(next.contains("after="), "next pages use a cursor: {next}");
                    page = app.get(&next).await;
                    pages += 1;
                }
                assert_eq!(seen, everything, "{url}: every row once, in order");
                // And back along rel="prev" from the last page.
                let mut back = row_ids(&page.body, "org");
                while let Some(prev) = link(&page, "prev") {
                    page = app.get(&prev).await;
                    let mut earlier = row_ids(&page.body, "org");
                    earlier.extend(back);
                    back = earlier;
                }
                assert_eq!(back, everything, "{url}: backwards too");
            }
        }
    }
}

fn true_count(conn: &mut DbConn) -> i64 {
    organizations::table.count().get_result(conn).unwrap()
}

fn counter(conn: &mut DbConn) -> i64 {
    orgportal::db::org_index::count(conn).unwrap()
}

/// On SQLite, the trigram index holds exactly the table's rows (it is contentless: the keys
/// themselves are checked by searching).
fn index_agrees(conn: &mut DbConn) -> bool {
    #[derive(QueryableByName, PartialEq, Debug)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(sqlite) = conn else { return true };
    let indexed: Count =
        diesel::sql_query("SELECT COUNT(*) AS n FROM organizations_search").get_result(sqlite).unwrap();
    let missing: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM organizations WHERE id NOT IN (SELECT rowid FROM organizations_search)",
    )
    .get_result(sqlite)
    .unwrap();
    let rows: i64 = organizations::table.count().get_result(sqlite).unwrap();
    indexed.n == rows && missing.n == 0
}

async fn counter_and_search_index_follow_adds_edits_and_removals(mut app: TestApp) {
    app.login_as_admin().await;
    for name in ["Alpha Widgets", "Beta Widgets", "Gamma Gadgets"] {
        app.get("/admin/organizations/new").await;
        app.post(
            "/admin/organizations",
            &[("name", name), ("quota_gb", "1"), ("seats", ""), ("admin_email", "ops@widgets.example")],
        )
        .await
        .assert_status(303);
    }
    {
        let mut conn = app.conn();
        assert_eq!(counter(&mut conn), 4);
        assert_eq!(counter(&mut conn), true_count(&mut conn));
        assert!(index_agrees(&mut conn));
    }
    // An edit renames: the old name is no longer found, the new one is.
    let id = app.org_id("Beta Widgets");
    app.get(&format!("/admin/organizations/{id}/edit")).await;
    app.post(
        &format!("/admin/organizations/{id}/edit"),
        &[("name", "Delta Sprockets"), ("quota_gb", "1"), ("seats", "")],
    )
    .await
    .assert_status(303);
    assert_eq!(row_ids(&app.get("/admin/organizations?q=beta+widg").await.body, "org"), Vec::<i64>::new());
    assert_eq!(row_ids(&app.get("/admin/organizations?q=sprock").await.body, "org"), vec![id]);
    // A removal, as the removal workflow performs it: row and index entry in one transaction.
    let gone = app.org_id("Gamma Gadgets");
    {
        let mut conn = app.conn();
        orgportal::db::write_transaction(&mut conn, |conn| {
            diesel::delete(organizations::table.find(gone)).execute(conn)?;
            orgportal::db::org_index::deleted(conn, gone)
        })
        .unwrap();
        assert_eq!(counter(&mut conn), 3);
        assert_eq!(counter(&mut conn), true_count(&mut conn));
        assert!(index_agrees(&mut conn));
    }
    assert_eq!(row_ids(&app.get("/admin/organizations?q=gadget").await.body, "org"), Vec::<i64>::new());
    let page = app.get("/admin/organizations").await;
    assert!(page.body.contains("Showing 1–3 of 3"));
}

async fn concurrent_adds_keep_the_counter_exact(app: TestApp) {
    let mut browsers = Vec::new();
    for _ in 0..8 {
        let mut browser = app.client();
        browser.login_as_admin().await;
        browser.get("/admin/organizations/new").await;
        browsers.push(browser);
    }
    let adds = browsers.iter_mut().enumerate().map(|(i, browser)| async move {
        let name = format!("Concurrent Org {i}");
        browser
            .post(
                "/admin/organizations",
                &[("name", &name), ("quota_gb", "1"), ("seats", ""), ("admin_email", "ops@example.com")],
            )
            .await
            .status
            .as_u16()
    });
    let statuses = futures_util::future::join_all(adds).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let mut conn = app.conn();
    assert_eq!(true_count(&mut conn), 9);
    assert_eq!(counter(&mut conn), 9);
    assert!(index_agrees(&mut conn));
}

async fn tampered_cursors_fall_back_to_the_first_page(mut app: TestApp) {
    seed(&app);
    app.login_as_admin().await;
    let first = row_ids(&app.get("/admin/organizations?sort=name&dir=asc").await.body, "org");
    for junk in
        ["after=%%%", "after=eyJ4IjoxfQ", "before=AAAA", "after=eyJhIjp0cnVlLCJrIjp7IkludCI6NX0sImkiOjEsInAiOjJ9"]
    {
        let page = app.get(&format!("/admin/organizations?sort=name&dir=asc&{junk}")).await;
        page.assert_status(200);
        assert_eq!(row_ids(&page.body, "org"), first, "{junk}");
    }
    // A cursor of another sort (an Int key on a text sort) is ignored, not misread.
    let quota_next = link(&app.get("/admin/organizations?sort=quota&dir=asc").await, "next").unwrap();
    let cursor = quota_next.split("after=").nth(1).unwrap();
    let page = app.get(&format!("/admin/organizations?sort=name&dir=asc&after={cursor}")).await;
    assert_eq!(row_ids(&page.body, "org"), first);
}
