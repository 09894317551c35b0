//! A plan's quota change and a user's quota change, started together (a barrier), never leave
//! the organization over its quota: both take the organization's lock, so one sees what the
//! other did. Before they did, on PostgreSQL a user moved onto a plan between the plan edit's
//! count of its users and its update of them got the new quota unpaid for.

use std::sync::Arc;

use diesel::prelude::*;
use orgportal::db::schema::{memberships, organizations, plans};
use tokio::sync::Barrier;

use crate::helpers::{account_id, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

on_both_backends!(a_plan_change_racing_a_user_change_never_passes_the_quota);

const ROUNDS: usize = 12;

/// (quota, allocated counter, sum of the live memberships' quotas, members on the plan whose
/// quota is not the plan's).
fn books(app: &TestApp, org: i64, plan: i64) -> (i64, i64, i64, i64) {
    let mut conn = app.conn();
    let (quota, allocated): (i64, i64) = organizations::table
        .find(org)
        .select((organizations::quota_gb, organizations::quota_allocated_gb))
        .first(&mut *conn)
        .unwrap();
    let live: Vec<(i64, Option<i64>)> = memberships::table
        .filter(memberships::organization_id.eq(org))
        .filter(memberships::status.ne("removed"))
        .select((memberships::quota_gb, memberships::plan_id))
        .load(&mut *conn)
        .unwrap();
    let plan_quota: i64 = plans::table.find(plan).select(plans::quota_gb).first(&mut *conn).unwrap();
    let sum = live.iter().map(|(gb, _)| gb).sum();
    let off_plan = live.iter().filter(|(gb, id)| *id == Some(plan) && *gb != plan_quota).count() as i64;
    (quota, allocated, sum, off_plan)
}

async fn signed_in(app: &TestApp) -> TestApp {
    let mut client = app.client();
    client.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    client
}

async fn a_plan_change_racing_a_user_change_never_passes_the_quota(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await;
    app.post(
        "/admin/organizations",
        &[("name", "Race Co"), ("quota_gb", "100"), ("seats", ""), ("admin_email", ADMIN_EMAIL)],
    )
    .await
    .assert_status(303);
    let org = app.org_id("Race Co");
    app.get(&format!("/orgs/{org}/plans")).await;
    app.post(&format!("/orgs/{org}/plans"), &[("name", "Basic"), ("quota_gb", "10")]).await.assert_status(303);
    let plan: i64 =
        plans::table.filter(plans::organization_id.eq(org)).select(plans::id).first(&mut *app.conn()).unwrap();
    let plan_text = plan.to_string();
    // Five users on the plan (50 GB) and one, the mover, off it with 10 GB: 60 of 100.
    for n in 0..6 {
        app.get(&format!("/orgs/{org}/users/new")).await;
        let email = format!("racer{n}@example.com");
        let fields: Vec<(&str, &str)> = if n < 5 {
            vec![("email", &email), ("plan_id", &plan_text)]
        } else {
            vec![("email", &email), ("quota_gb", "10")]
        };
        app.post(&format!("/orgs/{org}/users"), &fields).await.assert_status(303);
    }
    let mover = account_id(&mut app.conn(), "racer5@example.com");
    assert_eq!(books(&app, org, plan), (100, 60, 60, 0));

    let mut planner = signed_in(&app).await;
    let mut editor = signed_in(&app).await;
    let (mut plan_won, mut user_won) = (0, 0);
    for round in 0..ROUNDS {
        // Either change alone fits; both together would need 108 GB of 100: the plan to 18 GB
        // for its five users (+40), and the mover onto the plan (+8 once it is at 18).
        planner.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
        editor.get(&format!("/orgs/{org}/users/{mover}/edit")).await.assert_status(200);
        let barrier = Arc::new(Barrier::new(2));
        let plan_change = {
            let barrier = barrier.clone();
            let planner = &mut planner;
            async move {
                barrier.wait().await;
                planner.post(&format!("/orgs/{org}/plans/{plan}/edit"), &[("name", "Basic"), ("quota_gb", "18")]).await
            }
        };
        let user_change = {
            let barrier = barrier.clone();
            let editor = &mut editor;
            let plan_text = plan_text.clone();
            async move {
                barrier.wait().await;
                editor
                    .post(&format!("/orgs/{org}/users/{mover}/edit"), &[("plan_id", &plan_text), ("quota_gb", "")])
                    .await
            }
        };
        let (plan_done, user_done) = tokio::join!(plan_change, user_change);
        let (quota, allocated, sum, off_plan) = books(&app, org, plan);
        assert_eq!(allocated, sum, "round {round}: the counter matches the memberships");
        assert!(sum <= quota, "round {round}: {sum} GB allocated of {quota}");
        assert_eq!(off_plan, 0, "round {round}: everyone on the plan has its quota");
        match (plan_done.status.as_u16(), user_done.status.as_u16()) {
            (303, 422) => plan_won += 1,
            (422, 303) => user_won += 1,
            other => panic!("round {round}: exactly one change fits, got {other:?}"),
        }
        // Back to the start: the plan at 10 GB, the mover off it with 10 GB.
        app.get(&format!("/orgs/{org}/plans")).await;
        app.post(&format!("/orgs/{org}/plans/{plan}/edit"), &[("name", "Basic"), ("quota_gb", "10")])
            .await
            .assert_status(303);
        app.get(&format!("/orgs/{org}/users/{mover}/edit")).await;
        app.post(&format!("/orgs/{org}/users/{mover}/edit"), &[("plan_id", ""), ("quota_gb", "10")])
            .await
            .assert_status(303);
        assert_eq!(books(&app, org, plan), (100, 60, 60, 0));
    }
    assert_eq!(plan_won + user_won, ROUNDS);
}
