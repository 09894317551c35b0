//! Platform administrators: list, add, remove; never yourself, never the last one; audited.

use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use orgportal::audit::Actor;
use orgportal::db::schema::{accounts, audit_events, organizations};
use orgportal::domain::AccountId;
use orgportal::error::Failure;
use orgportal::platform::admins::queries::{self, RemoveError};
use orgportal::web::client::ClientAddr;

use crate::helpers::{account_id, row_ids, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;

const OTHER: &str = "second.admin@example.com";
const OTHER_PASSWORD: &str = "lichen-summit-82-parade";

on_both_backends!(
    adding_promotes_existing_and_invites_unknown_accounts,
    add_refuses_bad_and_duplicate_emails,
    removing_another_administrator_takes_effect_at_once,
    you_cannot_remove_yourself_or_the_last_administrator,
    two_administrators_removing_each_other_at_once_leave_one,
    audit_page_lists_platform_events_newest_first,
    unique_name_violation_is_recognised_on_this_backend,
);

fn is_admin(app: &TestApp, email: &str) -> bool {
    accounts::table
        .filter(accounts::email.eq(email))
        .select(accounts::is_platform_admin)
        .first(&mut *app.conn())
        .unwrap()
}

async fn adding_promotes_existing_and_invites_unknown_accounts(mut app: TestApp) {
    app.insert_account(OTHER, OTHER_PASSWORD, false);
    app.login_as_admin().await;
    app.get("/admin/administrators").await.assert_status(200);
    app.post("/admin/administrators", &[("email", " Second.Admin@Example.com ")])
        .await
        .assert_redirect("/admin/administrators");
    assert!(is_admin(&app, OTHER));
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains("is now a platform administrator"));
    assert_eq!(row_ids(&page.body, "account").len(), 2);

    app.post("/admin/administrators", &[("email", "newcomer@example.com")]).await.assert_status(303);
    let (status, admin): (String, bool) = accounts::table
        .filter(accounts::email.eq("newcomer@example.com"))
        .select((accounts::status, accounts::is_platform_admin))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((status.as_str(), admin), ("invited", true));
    let page = app.get("/admin/administrators").await;
    assert!(page.body.contains("Invited"));

    let added: Vec<String> = audit_events::table
        .filter(audit_events::action.eq("platform_admin.added"))
        .order(audit_events::id.asc())
        .select(audit_events::target)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(added, vec![OTHER.to_owned(), "newcomer@example.com".to_owned()]);
}

async fn add_refuses_bad_and_duplicate_emails(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/administrators").await;
    for bad in ["", "   ", "nope", "a\u{0}@b.com", &"x".repeat(10_240)] {
        let response = app.post("/admin/administrators", &[("email", bad)]).await;
        response.assert_status(422);
        assert!(response.body.contains(r#"id="email-error""#));
    }
    let duplicate = app.post("/admin/administrators", &[("email", "ADMIN@default.com")]).await;
    duplicate.assert_status(422);
    assert!(duplicate.body.contains("already is a platform administrator"));
    assert!(duplicate.body.contains(r#"value="ADMIN@default.com""#), "the value typed is kept");
}

async fn removing_another_administrator_takes_effect_at_once(mut app: TestApp) {
    let other = app.insert_account(OTHER, OTHER_PASSWORD, true);
    let mut second = app.client();
    second.login(OTHER, OTHER_PASSWORD).await.assert_redirect("/");
    second.get("/admin").await.assert_status(200);

    app.login_as_admin().await;
    app.get("/admin/administrators").await;
    app.post(&format!("/admin/administrators/{other}/remove"), &[]).await.assert_redirect("/admin/administrators");
    assert!(!is_admin(&app, OTHER));
    second.get("/admin").await.assert_status(403);
    let removed: i64 = audit_events::table
        .filter(audit_events::action.eq("platform_admin.removed"))
        .filter(audit_events::target.eq(OTHER))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(removed, 1);
}

async fn you_cannot_remove_yourself_or_the_last_administrator(mut app: TestApp) {
    app.login_as_admin().await;
    let me = account_id(&mut app.conn(), ADMIN_EMAIL);
    let page = app.get("/admin/administrators").await;
    assert!(!page.body.contains(&format!("/admin/administrators/{me}/remove")), "no Remove button on yourself");
    let refused = app.post(&format!("/admin/administrators/{me}/remove"), &[]).await;
    refused.assert_status(409);
    assert!(refused.body.contains("cannot remove yourself"));
    assert!(is_admin(&app, ADMIN_EMAIL));

    // A second administrator who has not registered yet cannot run the platform alone.
    app.post("/admin/administrators", &[("email", "pending@example.com")]).await.assert_status(303);
    let pending = account_id(&mut app.conn(), "pending@example.com");
    let actor = Actor { id: Some(pending), email: "pending@example.com".into(), client: ClientAddr(None) };
    let outcome = queries::remove(&mut app.conn(), &actor, AccountId(me), app.clock.now());
    assert!(matches!(outcome, Err(Failure::Refused(RemoveError::LastAdmin))), "{outcome:?}");
    assert!(is_admin(&app, ADMIN_EMAIL));
    app.get("/admin/administrators").await;
    app.post("/admin/administrators/424242/remove", &[]).await.assert_status(409);
}

async fn two_administrators_removing_each_other_at_once_leave_one(app: TestApp) {
    let first = account_id(&mut app.conn(), ADMIN_EMAIL);
    let second = app.insert_account(OTHER, OTHER_PASSWORD, true);
    for round in 0..6 {
        let barrier = Arc::new(Barrier::new(2));
        let now = app.clock.now();
        let handles: Vec<_> = [(first, ADMIN_EMAIL, second), (second, OTHER, first)]
            .into_iter()
            .map(|(actor_id, email, target)| {
                let barrier = barrier.clone();
                let mut conn = app.conn();
                std::thread::spawn(move || {
                    let actor = Actor { id: Some(actor_id), email: email.into(), client: ClientAddr(None) };
                    barrier.wait();
                    queries::remove(&mut conn, &actor, AccountId(target), now)
                })
            })
            .collect();
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let successes = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(successes, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(
            o,
            Err(Failure::Refused(RemoveError::LastAdmin)) | Err(Failure::Refused(RemoveError::NotAdmin))
        )));
        let admins: i64 =
            accounts::table.filter(accounts::is_platform_admin.eq(true)).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(admins, 1, "round {round}");
        diesel::update(accounts::table)
            .set(accounts::is_platform_admin.eq(true))
            .filter(accounts::id.eq_any([first, second]))
            .execute(&mut *app.conn())
            .unwrap();
    }
}

async fn audit_page_lists_platform_events_newest_first(mut app: TestApp) {
    app.login_as_admin().await;
    app.get("/admin/administrators").await;
    for i in 0..30 {
        app.post("/admin/administrators", &[("email", &format!("invitee{i}@example.com"))]).await.assert_status(303);
    }
    let page = app.get("/admin/audit").await;
    page.assert_status(200);
    let ids = row_ids(&page.body, "event");
    assert_eq!(ids.len(), 25);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(page.body.contains("invitee29@example.com"));
    assert!(page.body.contains(r#"rel="next""#));
    // bootstrap + sign-in + 30 additions
    assert!(page.body.contains("Showing 1–25 of 32"), "{}", page.body);
    let second = app.get("/admin/audit?page=2").await;
    assert_eq!(row_ids(&second.body, "event").len(), 7);
    assert!(second.body.contains("platform.bootstrap"));
    assert!(second.body.contains(r#"rel="prev""#));
}

async fn unique_name_violation_is_recognised_on_this_backend(app: TestApp) {
    // The path a lost race takes: the index, not the pre-check, refuses the second row.
    let now = app.clock.now();
    let duplicate = diesel::insert_into(organizations::table)
        .values((
            organizations::name.eq("DEFAULT"),
            organizations::name_key.eq("default"),
            organizations::quota_gb.eq(0i64),
            organizations::created_at.eq(now),
            organizations::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap_err();
    assert!(orgportal::db::violates_unique_index(&duplicate, "organizations_name_key"), "{duplicate:?}");
    assert!(!orgportal::db::violates_unique_index(&duplicate, "accounts_email"));
}
