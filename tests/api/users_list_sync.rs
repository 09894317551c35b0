//! The users list's sort keys and search index follow changes made anywhere: a plan renamed or
//! deleted (its users moved), a display name changed on the account page. The migration's
//! triggers keep them; these tests would fail if one were missing.

use diesel::prelude::*;
use orgportal::db::schema::{accounts, organizations, plans};
use orgportal::demo::members::load_members;

use crate::helpers::{TestApp, ADMIN_EMAIL};
use crate::on_both_backends;
use crate::users_list::{default_org, expected, members, query, walk};

on_both_backends!(sort_keys_and_search_follow_plan_and_name_changes);

fn plan_id(app: &TestApp, org: i64, key: &str) -> i64 {
    plans::table
        .filter(plans::organization_id.eq(org))
        .filter(plans::name_key.eq(key))
        .select(plans::id)
        .first(&mut *app.conn())
        .expect("plan")
}

async fn sort_keys_and_search_follow_plan_and_name_changes(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    load_members(&mut app.conn(), 60, now).expect("load");
    // Room for the moves between plans below.
    diesel::update(organizations::table.find(org))
        .set(organizations::quota_gb.eq(organizations::quota_allocated_gb + 1_000))
        .execute(&mut *app.conn())
        .expect("quota");
    let (trial, basic, plus) = (plan_id(&app, org, "trial"), plan_id(&app, org, "basic"), plan_id(&app, org, "plus"));

    app.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/plans/{plus}/edit"), &[("name", "Aardvark"), ("quota_gb", "3")])
        .await
        .assert_status(303);
    app.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/plans/{trial}/delete"), &[("move_to", &basic.to_string())]).await.assert_status(303);
    app.get("/account").await.assert_status(200);
    app.post("/account/profile", &[("display_name", "Zzyzx Überadmin")]).await.assert_status(303);
    let admin_key: String = accounts::table
        .filter(accounts::email.eq(ADMIN_EMAIL))
        .select(accounts::name_key)
        .first(&mut *app.conn())
        .expect("admin");
    assert_eq!(admin_key, "zzyzx überadmin");

    let all = members(&app, org);
    assert!(all.iter().any(|m| m.plan_key == "aardvark") && all.iter().all(|m| m.plan_key != "trial"));
    for (sort, desc, q) in [("plan", false, ""), ("plan", true, ""), ("name", true, ""), ("name", false, "überadmin")]
    {
        let query = query(sort, desc, None, q, 25);
        let (shown, _) = walk(&mut app, org, &query).await;
        assert_eq!(shown, expected(&all, sort, desc, None, q), "{query}");
    }
    let (found, _) = walk(&mut app, org, "q=zzyzx").await;
    assert_eq!(found.len(), 1, "the renamed account is found by its new name");

    // The CSV export reads the same order.
    let order = expected(&all, "plan", true, None, "");
    let by_id: std::collections::HashMap<i64, &str> = all.iter().map(|m| (m.account_id, m.email.as_str())).collect();
    let csv = app.get(&format!("/orgs/{org}/users.csv?sort=plan&dir=desc")).await;
    csv.assert_status(200);
    let emails: Vec<&str> = csv.body.lines().skip(1).filter_map(|line| line.split(',').next()).collect();
    let want: Vec<&str> = order.iter().filter_map(|id| by_id.get(id).copied()).collect();
    assert_eq!(emails, want);
}
