//! The outbox and its worker: .eml files, a real SMTP server that is down at first, two
//! workers sharing one database, a server without STARTTLS refused, the outbox page, and
//! registration links in invitations (sealed in the outbox, readable only in the email).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, audit_events, invitations, memberships, organizations, outbox};
use orgportal::db::Db;
use orgportal::domain::OrgId;
use orgportal::mail::worker::Worker;
use orgportal::mail::{self, messages, Site};

use crate::helpers::{account_id, escape_html, test_config, TestApp, ADMIN_EMAIL};
use crate::smtp_sink::{free_port, message_id, SmtpSink};
use crate::{log_capture, mailbox, on_both_backends};

on_both_backends!(
    adding_an_organization_queues_a_hashed_registration_link,
    a_platform_invitation_leaves_the_organizations_link_alone,
    file_transport_writes_each_message_once,
    smtp_server_down_at_first_gets_every_message_once,
    two_workers_on_one_database_never_send_twice,
    smtp_without_starttls_is_refused_and_the_message_fails,
    older_clear_bodies_are_sealed_and_still_delivered,
    outbox_page_shows_metadata_only_and_retries_failed_messages,
    account_ready_greets_the_person_by_name_and_names_the_help_address,
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
    // The outbox keeps the bodies sealed: no link, not even the words.
    for body in [&text, &html] {
        assert!(body.starts_with(orgportal::mail::sealed::PREFIX), "{body}");
        assert!(!body.contains("/register/") && !body.contains("Invited Co"), "{body}");
    }

    // The email itself has the link, from the base URL only.
    assert_eq!(mailbox::deliver_all(&app), 1);
    let delivered = mailbox::messages(&app);
    let (_, to, mail) = &delivered[0];
    assert_eq!(to, "first.admin@example.com");
    let base = &app.state.config.base_url;
    assert!(mail.contains(&format!("{base}/register/")), "{mail}");
    assert!(mail.contains("Invited Co"));
    assert!(mail.contains("text/plain") && mail.contains("text/html"));
    // Sent: the bodies are wiped from the outbox.
    let (text, html): (String, String) =
        outbox::table.select((outbox::body_text, outbox::body_html)).first(&mut *app.conn()).unwrap();
    assert_eq!((text.as_str(), html.as_str()), ("", ""));

    let token = mailbox::link_token(mail).expect("a registration link");
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

async fn a_platform_invitation_leaves_the_organizations_link_alone(mut app: TestApp) {
    app.login_as_admin().await;
    add_org(&mut app, "First Co", "twice@example.com").await;
    let org = app.org_id("First Co");
    let first: String = invitations::table.select(invitations::token_hash).first(&mut *app.conn()).unwrap();
    // The same unregistered person is now also made a platform administrator.
    app.get("/admin/administrators").await;
    app.post("/admin/administrators", &[("email", "twice@example.com")]).await.assert_status(303);
    let links: Vec<(Option<i64>, String)> = invitations::table
        .order(invitations::id.asc())
        .select((invitations::organization_id, invitations::token_hash))
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(links.len(), 2, "one live link per issuer: {links:?}");
    assert_eq!(links[0], (Some(org), first), "the organization's link still works");
    assert_eq!(links[1].0, None, "the platform administrators' link");
    // Each email carries the link of its issuer.
    assert_eq!(mailbox::deliver_all(&app), 2);
    let tokens = mailbox::tokens_to(&app, "twice@example.com");
    let hashes: Vec<String> = tokens.iter().map(|t| orgportal::registration::token_hash(t)).collect();
    assert_eq!(hashes, [links[0].1.clone(), links[1].1.clone()]);
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
        let email = messages::removal_carried_out(&site, &format!("person{n}@example.com"), OrgId(1), "Queued Co");
        mail::enqueue(&mut conn, &site, &email, now, now).unwrap();
    }
    outbox::table.select(outbox::message_id).load::<String>(&mut *conn).unwrap().into_iter().collect()
}

async fn smtp_server_down_at_first_gets_every_message_once(app: TestApp) {
    let port = free_port();
    let config = test_config(&app.database, &["--smtp-url", &format!("smtp://127.0.0.1:{port}?tls=none")]);
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

async fn smtp_without_starttls_is_refused_and_the_message_fails(app: TestApp) {
    log_capture::capture();
    let sink = SmtpSink::start();
    // A plain smtp:// URL with a password: STARTTLS is required, and the sink does not offer it.
    let config = test_config(&app.database, &["--smtp-url", &sink.url_requiring_starttls("mailer", "smtp-password-7")]);
    queue(&app, 1);
    let worker = Worker::new(app.state.db.clone(), app.clock.clone(), &config).unwrap();
    assert_eq!(worker.deliver_due().unwrap(), 1);

    // Failed at once, not retried for hours, with the reason on the outbox row.
    let (id, status, error): (i64, String, String) =
        outbox::table.select((outbox::id, outbox::status, outbox::last_error)).first(&mut *app.conn()).unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("does not offer STARTTLS") && error.contains("?tls=none"), "{error}");
    assert!(!error.contains("smtp-password-7"), "{error}");
    app.clock.advance(Duration::hours(4));
    assert_eq!(worker.deliver_due().unwrap(), 0, "a failed message waits for an administrator's retry");

    // Nothing left in clear: no password, no sender, no message.
    assert!(sink.messages().is_empty());
    let commands = sink.commands();
    assert!(commands.iter().any(|c| c.starts_with("EHLO")), "{commands:?}");
    assert!(
        !commands.iter().any(|c| c.starts_with("AUTH") || c.starts_with("MAIL") || c.starts_with("RCPT")),
        "{commands:?}"
    );
    // And the server log says so, clearly, naming the message.
    let line = log_capture::lines()
        .into_iter()
        .find(|l| l.contains(&format!("message {id} failed")))
        .expect("a log line for the refused message");
    assert!(line.starts_with("WARN") && line.contains("does not offer STARTTLS"), "{line}");
    assert!(!line.contains("smtp-password-7"), "{line}");

    // The same server as a local relay (?tls=none) gets the message once an administrator
    // retries it.
    let relay =
        Worker::new(app.state.db.clone(), app.clock.clone(), &test_config(&app.database, &["--smtp-url", &sink.url()]))
            .unwrap();
    diesel::update(outbox::table.find(id))
        .set((outbox::status.eq("queued"), outbox::attempts.eq(0)))
        .execute(&mut *app.conn())
        .unwrap();
    assert_eq!(relay.deliver_due().unwrap(), 1);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(statuses(&app)[0].1, "sent");
}

async fn older_clear_bodies_are_sealed_and_still_delivered(app: TestApp) {
    // A message queued by a version that stored bodies in clear.
    let link = format!("{}/register/OlderTokenOlderTokenOlderTokenOlderToken123", app.state.config.base_url);
    let now = app.clock.now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq("<older@example.com>"),
            outbox::kind.eq("user_invitation"),
            outbox::recipient.eq("older@example.com"),
            outbox::subject.eq("You are invited"),
            outbox::body_text.eq(format!("Open {link}")),
            outbox::body_html.eq(format!(r#"<a href="{link}">Open</a>"#)),
            outbox::status.eq("queued"),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .unwrap();
    let worker = Worker::new(app.state.db.clone(), app.clock.clone(), &app.state.config).unwrap();
    assert_eq!(worker.seal_legacy_bodies().unwrap(), 1);
    assert_eq!(worker.seal_legacy_bodies().unwrap(), 0, "sealed once");
    let (text, html): (String, String) =
        outbox::table.select((outbox::body_text, outbox::body_html)).first(&mut *app.conn()).unwrap();
    assert!(!text.contains("/register/") && !html.contains("/register/"), "{text} {html}");
    // Still delivered as written.
    assert_eq!(mailbox::deliver_all(&app), 1);
    let (_, to, mail) = &mailbox::messages(&app)[0];
    assert_eq!(to, "older@example.com");
    assert!(mail.contains(&link), "{mail}");
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

/// A person added by the organization, registered as `display_name`, now awaiting validation.
async fn awaiting_validation(app: &mut TestApp, org: i64, email: &str, display_name: &str) -> i64 {
    app.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    app.post(&format!("/orgs/{org}/users"), &[("email", email), ("quota_gb", "1")]).await.assert_status(303);
    let id = account_id(&mut app.conn(), email);
    diesel::update(accounts::table.find(id))
        .set(accounts::display_name.eq(display_name))
        .execute(&mut *app.conn())
        .unwrap();
    diesel::update(
        memberships::table.filter(memberships::account_id.eq(id)).filter(memberships::organization_id.eq(org)),
    )
    .set(memberships::status.eq("awaiting_validation"))
    .execute(&mut *app.conn())
    .unwrap();
    id
}

async fn account_ready_greets_the_person_by_name_and_names_the_help_address(mut app: TestApp) {
    app.login_as_admin().await;
    // The platform administrator is the organization's first Delegate; its users write elsewhere.
    add_org(&mut app, "Ready Co", ADMIN_EMAIL).await;
    let org = app.org_id("Ready Co");
    diesel::update(organizations::table.find(org))
        .set(organizations::admin_email.eq("help@ready.example"))
        .execute(&mut *app.conn())
        .unwrap();
    let named = awaiting_validation(&mut app, org, "named@example.com", "Zoë <Named>").await;
    let unnamed = awaiting_validation(&mut app, org, "older@example.com", "").await;
    for id in [named, unnamed] {
        app.get(&format!("/orgs/{org}/users")).await.assert_status(200);
        app.post(&format!("/orgs/{org}/users/{id}/validate"), &[]).await.assert_status(303);
    }

    mailbox::deliver_all(&app);
    let base = &app.state.config.base_url;
    let ready = |to: &str| {
        let mut found: Vec<String> = mailbox::messages(&app)
            .into_iter()
            .filter(|(_, recipient, mail)| {
                recipient == to && mail.contains("Subject: Your account in Ready Co is ready")
            })
            .map(|(_, _, mail)| mail)
            .collect();
        assert_eq!(found.len(), 1, "one account ready email to {to}");
        found.remove(0)
    };
    let mail = ready("named@example.com");
    assert!(mail.contains("Hello Zoë <Named>,"), "the text part greets by name: {mail}");
    assert!(!mail.contains("Hello,"), "{mail}");
    assert!(mail.contains(&format!("Hello {},", escape_html("Zoë <Named>"))), "the HTML part, escaped: {mail}");
    let mail = ready("older@example.com");
    assert!(mail.contains("Hello,") && !mail.contains("Hello ,"), "no name, a neutral greeting: {mail}");
    for mail in [ready("named@example.com"), mail] {
        assert!(mail.contains("help@ready.example"), "the Organization Admin Email is the help address: {mail}");
        assert!(mail.contains("You receive this email because an administrator of"), "{mail}");
        assert!(mail.contains(&format!("{base}/login")), "{mail}");
        assert!(mail.contains("text/plain") && mail.contains("text/html"));
    }
}
