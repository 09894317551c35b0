//! Several instances over one PostgreSQL database (issue 18, point 6): each instance here has
//! its own pool, limiters and caches, as separate `orgportal serve` processes would; only the
//! database (and the test's clock) is shared. Starting together is `start_together.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use orgportal::db::schema::{audit_events, organizations, outbox};
use orgportal::db::Db;
use orgportal::domain::OrgId;
use orgportal::mail::worker::Worker;
use orgportal::mail::{self, messages, Site};

use crate::helpers::{test_config, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::smtp_sink::{message_id, SmtpSink};

const WRONG: &str = "not-the-password-at-all";

#[actix_web::test]
async fn a_session_from_one_instance_works_on_the_other_and_ends_on_both() {
    let Some(mut on_a) = TestApp::postgres().await else { return };
    let b = on_a.other_instance();
    on_a.login_as_admin().await;

    let mut on_b = b.with_cookies_of(&on_a);
    let page = on_b.get("/admin/organizations").await;
    page.assert_status(200);
    assert!(page.body.contains(ADMIN_EMAIL), "signed in as the same account");
    // A change made through B (its CSRF token came from A's page) is the same session's.
    on_b.get("/admin/organizations/new").await.assert_status(200);
    on_b.post(
        "/admin/organizations",
        &[("name", "Made Through B"), ("quota_gb", "5"), ("seats", ""), ("admin_email", "owner@b.example")],
    )
    .await
    .assert_status(303);
    assert!(on_a.get("/admin/organizations").await.body.contains("Made Through B"));

    // Signing out on B ends the session for A too: the row is gone from the shared database.
    on_b.get("/account").await.assert_status(200);
    on_b.post("/logout", &[]).await.assert_status(303);
    on_a.get("/admin/organizations").await.assert_redirect("/login?next=%2Fadmin%2Forganizations");
    let mut replayed = b.with_cookies_of(&on_a);
    replayed.get("/admin/organizations").await.assert_redirect("/login?next=%2Fadmin%2Forganizations");
}

#[actix_web::test]
async fn failures_spread_over_two_instances_lock_the_account_as_on_one() {
    let Some(mut on_a) = TestApp::postgres().await else { return };
    let mut on_b = on_a.other_instance();
    // Five refusals on each: the counter lives in the database, so the tenth locks.
    for n in 0..10 {
        let client = if n % 2 == 0 { &mut on_a } else { &mut on_b };
        client.login(ADMIN_EMAIL, WRONG).await.assert_status(422);
    }
    let locked: i64 = audit_events::table
        .filter(audit_events::action.eq("account.locked"))
        .count()
        .get_result(&mut *on_a.conn())
        .unwrap();
    assert_eq!(locked, 1);
    // Locked on both: the right password is refused by either instance.
    on_a.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);
    on_b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_status(422);
    on_a.clock.advance(chrono::Duration::minutes(15));
    on_b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
}

#[actix_web::test]
async fn three_instances_workers_send_each_queued_message_once() {
    let Some(app) = TestApp::postgres().await else { return };
    let sink = SmtpSink::start();
    let config = test_config(&app.database, &["--smtp-url", &sink.url()]);
    let site = Site::from_config(&app.state.config);
    let now = app.clock.now();
    {
        let mut conn = app.conn();
        for n in 0..150 {
            let email = messages::removal_carried_out(&site, &format!("person{n}@example.com"), OrgId(1), "Queued Co");
            mail::enqueue(&mut conn, &site, &email, now, now).unwrap();
        }
    }
    let queued: HashSet<String> =
        outbox::table.select(outbox::message_id).load::<String>(&mut *app.conn()).unwrap().into_iter().collect();
    assert_eq!(queued.len(), 150);

    // Three workers, each with its own pool, started together.
    let start = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let db = Db::connect(config.database.clone(), 2).unwrap();
            let worker = Worker::new(db, app.clock.clone(), &config).unwrap();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let mut attempted = 0;
                loop {
                    match worker.deliver_due().unwrap() {
                        0 => return attempted,
                        n => attempted += n,
                    }
                }
            })
        })
        .collect();
    let attempted: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(attempted.iter().sum::<usize>(), 150, "each message claimed once: {attempted:?}");

    let mut received: HashMap<String, usize> = HashMap::new();
    for raw in sink.messages() {
        *received.entry(message_id(&raw).expect("a Message-ID")).or_default() += 1;
    }
    assert_eq!(received.keys().cloned().collect::<HashSet<_>>(), queued, "none lost");
    assert!(received.values().all(|&n| n == 1), "none twice: {received:?}");
    let unsent: i64 = outbox::table.filter(outbox::status.ne("sent")).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(unsent, 0);
}

#[actix_web::test]
async fn a_removal_approved_on_two_instances_at_once_removes_once() {
    let Some(mut initiator) = TestApp::postgres().await else { return };
    let other = initiator.other_instance();
    const PASSWORD: &str = "amber-lantern-47-quartz";
    initiator.login_as_admin().await;
    initiator.get("/admin/organizations/new").await;
    initiator
        .post(
            "/admin/organizations",
            &[("name", "Raced Co"), ("quota_gb", "5"), ("seats", ""), ("admin_email", "owner@raced.example")],
        )
        .await
        .assert_status(303);
    let id = initiator.org_id("Raced Co");
    initiator.get(&format!("/admin/organizations/{id}/removal")).await;
    initiator.post(&format!("/admin/organizations/{id}/removal"), &[]).await.assert_status(303);

    let mut approvers = Vec::new();
    for (n, instance) in [&initiator, &other].into_iter().enumerate() {
        let email = format!("approver{n}@example.com");
        initiator.insert_account(&email, PASSWORD, true);
        let mut client = instance.client();
        client.login(&email, PASSWORD).await.assert_redirect("/");
        client.get(&format!("/admin/organizations/{id}/removal")).await.assert_status(200);
        approvers.push(client);
    }
    let path = format!("/admin/organizations/{id}/removal/approve");
    // Both requests are polled together, so their database work overlaps.
    let responses = futures_util::future::join_all(
        approvers.iter_mut().map(|client| client.post(&path, &[("password", PASSWORD)])),
    )
    .await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 409], "one removes it, the other is told it is gone");
    let left: i64 =
        organizations::table.filter(organizations::id.eq(id)).count().get_result(&mut *initiator.conn()).unwrap();
    assert_eq!(left, 0);
    let removed: i64 = audit_events::table
        .filter(audit_events::action.eq("organization.removed"))
        .count()
        .get_result(&mut *initiator.conn())
        .unwrap();
    assert_eq!(removed, 1);
}

#[actix_web::test]
async fn messages_claimed_by_a_killed_instance_go_out_within_a_minute() {
    let Some(app) = TestApp::postgres().await else { return };
    let sink = SmtpSink::start();
    let config = test_config(&app.database, &["--smtp-url", &sink.url()]);
    let site = Site::from_config(&app.state.config);
    let now = app.clock.now();
    let email = messages::removal_carried_out(&site, "person@example.com", OrgId(1), "Claimed Co");
    mail::enqueue(&mut app.conn(), &site, &email, now, now).unwrap();
    // What a worker killed right after its claim leaves behind: the message held, unsent.
    diesel::update(outbox::table)
        .set((outbox::status.eq("sending"), outbox::claimed_until.eq(Some(now + orgportal::mail::worker::LEASE))))
        .execute(&mut *app.conn())
        .unwrap();
    let survivor = Worker::new(Db::connect(config.database.clone(), 2).unwrap(), app.clock.clone(), &config).unwrap();
    assert_eq!(survivor.deliver_due().unwrap(), 0, "held while the claim lasts");
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(survivor.deliver_due().unwrap(), 1, "taken over a minute later, not ten");
    assert_eq!(sink.messages().len(), 1);
}
