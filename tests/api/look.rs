//! How pages tell people where they are and how to undo a sort (issue 19): every page of an
//! organization's console names it (heading, title, breadcrumb), and a sorted list links back
//! to its natural order with everything else in its query kept.

use diesel::prelude::*;
use orgportal::db::schema::organizations;
use orgportal::domain::fold;

use crate::helpers::{account_id, escape_html, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;
use crate::users_list::default_org;

on_both_backends!(
    sorted_lists_link_back_to_natural_order_keeping_search_and_page_size,
    every_organization_page_names_the_organization_and_leads_back_to_the_list,
);

async fn sorted_lists_link_back_to_natural_order_keeping_search_and_page_size(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);

    let sorted = app.get("/admin/organizations?q=def&by=name&sort=quota&dir=desc&per_page=10").await;
    sorted.assert_status(200);
    assert!(
        sorted.body.contains(r#"class="natural-order" href="/admin/organizations?q=def&#38;by=name&#38;per_page=10""#),
        "organizations: natural order keeps q, by and per_page:\n{}",
        sorted.body
    );
    let natural = app.get("/admin/organizations?q=def&by=name&per_page=10").await;
    assert!(!natural.body.contains("natural-order"), "no link when the list is in natural order");

    let users = app.get(&format!("/orgs/{org}/users?q=admin&status=active&sort=email&dir=asc&per_page=50")).await;
    users.assert_status(200);
    let expected =
        format!(r#"class="natural-order" href="/orgs/{org}/users?q=admin&#38;status=active&#38;per_page=50""#);
    assert!(users.body.contains(&expected), "users: natural order keeps q, status and per_page:\n{}", users.body);
    let plain = app.get(&format!("/orgs/{org}/users?status=active")).await;
    assert!(!plain.body.contains("natural-order"), "no link when the users list is not sorted");
}

async fn every_organization_page_names_the_organization_and_leads_back_to_the_list(mut app: TestApp) {
    let org = default_org(&app);
    // A name that must be escaped shows that it is, everywhere it appears.
    let name = "Acme & <Sons>";
    diesel::update(organizations::table.find(org))
        .set((organizations::name.eq(name), organizations::name_key.eq(fold(name))))
        .execute(&mut *app.conn())
        .expect("rename the organization");
    let admin = account_id(&mut app.conn(), ADMIN_EMAIL);
    app.login_as_admin().await;

    let shown = escape_html(name);
    for path in ["", "/users", "/users/new", "/plans", "/properties", "/audit"]
        .into_iter()
        .map(|p| format!("/orgs/{org}{p}"))
        .chain([format!("/orgs/{org}/users/{admin}/edit")])
    {
        let page = app.get(&path).await;
        page.assert_status(200);
        assert!(page.body.contains(&format!(" · {shown} · orgportal</title>")), "{path}: the title names it");
        let h1 = page.body.split("<h1").nth(1).and_then(|rest| rest.split("</h1>").next()).unwrap_or("");
        assert!(h1.contains(&shown), "{path}: the heading names it: {h1}");
        assert!(page.body.contains(r#"<nav class="breadcrumb" aria-label="Breadcrumb">"#), "{path}: a breadcrumb");
        // A platform administrator came from the platform's list of organizations.
        assert!(
            page.body.contains(r#"<li><a href="/admin/organizations">Organizations</a></li>"#),
            "{path}: back to the list"
        );
        assert!(
            page.body.contains(&format!(r#"<span class="console-title">{shown}</span>"#)),
            "{path}: the console's name"
        );
    }
    let platform = app.get("/admin/organizations").await;
    assert!(platform.body.contains(r#"<span class="console-title">Platform</span>"#), "the platform console says so");
    assert!(!platform.body.contains("Breadcrumb"), "the platform's own pages need no trail back");
}
