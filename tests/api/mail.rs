//! The outbox and its worker: .eml files, a real SMTP server that is down at first, two
//! workers sharing one database, the outbox page, and registration links in invitations.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{audit_events, invitations, outbox};
use orgportal::db::Db;
use orgportal::mail::worker::Worker;
use orgportal::mail::{self, messages, Site};

use crate::helpers::{test_config, TestApp};
use crate::on_both_backends;
use crate::smtp_sink::{free_port, message_id, SmtpSink};

on_both_backends!(
    adding_an_organization_queues_a_hashed_registration_link,
    a_new_invitation_supersedes_the_old_one,
    file_transport_writes_each_message_once,
    smtp_server_down_at_first_gets_every_message_once,
    two_workers_on_one_database_never_send_twice,
    outbox_page_shows_metadata_only_and_retries_failed_messages,
);

fn statuses(app: &TestApp) -> Vec<(String, String, i32)> {
    outbox::table
        .order(outbox::id.asc())
        .select((outbox::recipient, outbox::status, outbox::attempts))
        .load(&mut *app.conn())
        .unwrap()
}

async fn add_org(app: &mut TestApp, name: &str, admin_email: &str) {
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", name), ("quota_gb", "100"), ("seats", ""), ("admin_email", admin_email)],
    )
    .await
    .assert_status(303);
}

fn link_token(text: &str) -> String {
    let start = text.find("/register/").expect("a registration link") + "/register/".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn adding_an_organization_queues_a_hashed_registration_link(mut app: TestApp) {
    app.login_as_admin().await;
    let before = app.clock.now();
    add_org(&mut app, "Invited Co", "first.admin@example.com").await;

    let (kind, recipient, text, html, org): (String, String, String, String, Option<i64>) = outbox::table
        .select((outbox::kind, outbox::recipient, outbox::body_text, outbox::body_html, outbox::organization_id))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((kind.as_str(), recipient.as_str()), ("invitation", "first.admin@example.com"));
    assert_eq!(org, Some(app.org_id("Invited Co")));
    // Links come from the base URL only.
    let base = &app.state.config.base_url;
    assert!(text.contains(&format!("{base}/register/")), "{text}");
    assert!(html.contains(&format!("{base}/register/")), "{html}");
    assert!(text.contains("Invited Co"));

    let token = link_token(&text);
    assert_eq!(token.len(), 43, "256 bits in base64url");
    let (hash, expires_at): (String, chrono::NaiveDateTime) =
        invitations::table.select((invitations::token_hash, invitations::expires_at)).first(&mut *app.conn()).unwrap();
    assert_eq!(hash, orgportal::registration::token_hash(&token));
    assert!(!hash.contains(&token));
    let valid_for = expires_at - before;
    assert!(valid_for >= Duration::days(7) && valid_for < Duration::days(7) + Duration::minutes(1), "{valid_for}");

    // An existing account is told, not invited.
    app.insert_account("known@example.com", "mossy-anchor-74-lantern", false);
    add_org(&mut app, "Known Co", "known@example.com").await;
    let kinds: Vec<(String, String)> =
        outbox::table.order(outbox::id.asc()).select((outbox::recipient, outbox::kind)).load(&mut *app.conn()).unwrap();
    assert_eq!(kinds[1], ("known@example.com".to_owned(), "added_as_administrator".to_owned()));
    assert_eq!(invitations::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), 1);
}

async fn a_new_invitation_supersedes_the_old_one(mut app: TestApp) {
    app.login_as_admin().await;
    add_org(&mut app, "First Co", "twice@example.com").await;
    let first: String = invitations::table.select(invitations::token_hash).first(&mut *app.conn()).unwrap();
    // The same unregistered person is now also made a platform administrator.
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", "twice@example.com")]).await.assert_status(303);
    let hashes: Vec<String> = invitations::table.select(invitations::token_hash).load(&mut *app.conn()).unwrap();
    assert_eq!(hashes.len(), 1, "one live link per account");
    assert_ne!(hashes[0], first, "the old link no longer works");
    let texts: Vec<String> =
        outbox::table.order(outbox::id.asc()).select(outbox::body_text).load(&mut *app.conn()).unwrap();
    assert_eq!(texts.len(), 2);
    assert_eq!(orgportal::registration::token_hash(&link_token(&texts[1])), hashes[0]);
}

async fn file_transport_writes_each_message_once(mut app: TestApp) {
    app.login_as_admin().await;
    add_org(&mut app, "Files Co", "files@example.com").await;
    let worker = Worker::new(app.state.db.clone(), app.clock.clone(), &app.state.config).unwrap();
    assert_eq!(worker.deliver_due().unwrap(), 1);
    assert_eq!(worker.deliver_due().unwrap(), 0, "a sent message is not claimed again");

    let dir = app.data_dir().join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    let stored_id: String = outbox::table.select(outbox::message_id).first(&mut *app.conn()).unwrap();
    assert_eq!(message_id(&raw).as_deref(), Some(stored_id.as_str()));
    assert!(raw.contains("To: files@example.com"), "{raw}");
    assert!(raw.contains("Subject: You are invited to administer Files Co"), "{raw}");
    assert!(raw.contains("text/plain") && raw.contains("text/html"));
    assert_eq!(statuses(&app), [("files@example.com".to_owned(), "sent".to_owned(), 1)]);
}

fn queue(app: &TestApp, count: usize) -> HashSet<String> {
    let site = Site::from_config(&app.state.config);
    let now = app.clock.now();
    let mut conn = app.conn();
    for n in 0..count {
        let email = messages::removal_carried_out(&site, &format!("person{n}@example.com"), 1, "Queued Co");
        mail::enqueue(&mut conn, &site, &email, now, now).unwrap();
    }
    outbox::table.select(outbox::message_id).load::<String>(&mut *conn).unwrap().into_iter().collect()
}

async fn smtp_server_down_at_first_gets_every_message_once(app: TestApp) {
    let port = free_port();
    let config = test_config(&app.database, &["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    let expected = queue(&app, 5);
    let worker = Worker::new(app.state.db.clone(), app.clock.clone(), &config).unwrap();

    // Nobody listens: every message is kept for a later attempt, with the reason.
    while worker.deliver_due().unwrap() > 0 {}
    let rows = statuses(&app);
    assert!(rows.iter().all(|(_, status, attempts)| status == "queued" && *attempts == 1), "{rows:?}");
    let errors: Vec<String> = outbox::table.select(outbox::last_error).load(&mut *app.conn()).unwrap();
    assert!(errors.iter().all(|e| e.contains("SMTP")), "{errors:?}");
    assert_eq!(worker.deliver_due().unwrap(), 0, "not due again before the backoff");

    // The server comes back; after the backoff every message arrives exactly once.
    let sink = SmtpSink::start_on(port);
    app.clock.advance(Duration::seconds(31));
    while worker.deliver_due().unwrap() > 0 {}
    let received: Vec<String> = sink.messages().iter().filter_map(|m| message_id(m)).collect();
    assert_eq!(received.len(), 5, "{received:?}");
    assert_eq!(received.iter().cloned().collect::<HashSet<_>>(), expected);
    assert!(statuses(&app).iter().all(|(_, status, attempts)| status == "sent" && *attempts == 2));
    app.clock.advance(Duration::hours(2));
    assert_eq!(worker.deliver_due().unwrap(), 0);
    assert_eq!(sink.messages().len(), 5, "nothing is sent twice");
    assert!(sink.messages()[0].contains("Subject: Queued Co was removed"));
}

async fn two_workers_on_one_database_never_send_twice(app: TestApp) {
    let sink = SmtpSink::start();
    let config = test_config(&app.database, &["--smtp-url", &sink.url()]);
    let expected = queue(&app, 60);
    // Two instances: separate pools, one database.
    let workers: Vec<Arc<Worker>> = (0..2)
        .map(|_| {
            let db = Db::connect(config.database.clone(), 2).unwrap();
            Arc::new(Worker::new(db, app.clock.clone(), &config).unwrap())
        })
        .collect();
    let threads: Vec<_> = workers
        .iter()
        .map(|worker| {
            let worker = worker.clone();
            std::thread::spawn(move || {
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
    let attempted: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(attempted.iter().sum::<usize>(), 60, "{attempted:?}");
    let received: Vec<String> = sink.messages().iter().filter_map(|m| message_id(m)).collect();
    assert_eq!(received.len(), 60);
    assert_eq!(received.into_iter().collect::<HashSet<_>>(), expected, "each message exactly once");
    assert!(statuses(&app).iter().all(|(_, status, attempts)| status == "sent" && *attempts == 1));
}

async fn outbox_page_shows_metadata_only_and_retries_failed_messages(mut app: TestApp) {
    app.login_as_admin().await;
    add_org(&mut app, "Outbox Co", "outbox.person@example.com").await;
    let page = app.get("/admin/outbox").await;
    page.assert_status(200);
    assert!(page.body.contains("outbox.person@example.com"));
    assert!(page.body.contains("You are invited to administer Outbox Co"));
    assert!(page.body.contains("Queued"));
    assert!(!page.body.contains("/register/"), "never bodies or links");

    let id: i64 = outbox::table.select(outbox::id).first(&mut *app.conn()).unwrap();
    // Only a failed message can be retried.
    app.post(&format!("/admin/outbox/{id}/retry"), &[]).await.assert_status(409);
    diesel::update(outbox::table.find(id))
        .set((outbox::status.eq("failed"), outbox::attempts.eq(10), outbox::last_error.eq("550 mailbox unavailable")))
        .execute(&mut *app.conn())
        .unwrap();
    let page = app.get("/admin/outbox").await;
    assert!(page.body.contains("550 mailbox unavailable") && page.body.contains("Failed"));
    assert!(page.body.contains(&format!("/admin/outbox/{id}/retry")));
    app.post(&format!("/admin/outbox/{id}/retry"), &[]).await.assert_redirect("/admin/outbox");
    assert_eq!(statuses(&app), [("outbox.person@example.com".to_owned(), "queued".to_owned(), 0)]);
    let retried: i64 = audit_events::table
        .filter(audit_events::action.eq("outbox.retried"))
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(retried, 1);
    // Signed-out and non-administrators see nothing.
    let mut stranger = app.client();
    stranger.get("/admin/outbox").await.assert_status(303);
    stranger.insert_account("plain@example.com", "mossy-anchor-74-lantern", false);
    stranger.login("plain@example.com", "mossy-anchor-74-lantern").await;
    stranger.get("/admin/outbox").await.assert_status(403);
    stranger.post(&format!("/admin/outbox/{id}/retry"), &[]).await.assert_status(403);
}
