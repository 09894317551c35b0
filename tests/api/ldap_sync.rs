//! LDAP sync (issue 16 points 3 and 5) against the private slapd: accounts and memberships
//! created with the configured status, changed, deleted and returning entries, the email
//! conflict with a local account, one run at a time by the lease, and an expired lease taken
//! over. Each test works in a directory branch of its own (`slapd::branch`).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use diesel::prelude::*;
use orgportal::db::schema::{
    accounts, audit_events, ldap_connections, ldap_entries, ldap_syncs, memberships, organizations, outbox,
    password_resets, sessions, sign_in_failures,
};
use orgportal::platform::ldap::sync::{self, Ended};

use crate::helpers::{account_id, TestApp};
use crate::on_both_backends;
use crate::slapd::{self, READER_PASSWORD};

on_both_backends!(
    sync_now_creates_accounts_and_memberships_with_the_configured_status,
    changed_deleted_and_returning_entries_are_followed,
    a_local_account_with_the_same_email_is_reported_not_merged,
    two_syncs_asked_at_once_run_once,
    an_expired_lease_is_taken_over,
    a_directory_account_signs_in_with_its_directory_password,
    the_last_active_delegate_stays_when_its_entry_goes,
    a_directory_account_is_sent_no_password_reset_link,
    a_directory_that_never_answers_times_out_on_sign_in_and_sync,
    a_directory_sign_in_takes_as_long_as_a_password_check,
);

/// A connection to the test directory reading only `branch`.
fn connection(app: &TestApp, branch: &str, status: &str) -> i64 {
    let id = app.insert_ldap_connection("Sync Directory", &slapd::directory().url, Some(READER_PASSWORD));
    diesel::update(ldap_connections::table.find(id))
        .set((ldap_connections::base_dn.eq(branch), ldap_connections::new_entry_status.eq(status)))
        .execute(&mut *app.conn())
        .expect("point the connection at the branch");
    id
}

/// On a thread of its own, as the server runs it: the directory client brings its own runtime.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().expect("the sync thread"))
}

fn attempt(app: &TestApp, connection_id: i64) -> Ended {
    off_runtime(|| {
        let mut conn = app.conn();
        sync::run(&mut conn, &app.state.ldap_key, &app.clock, connection_id, &sync::holder()).expect("sync")
    })
}

fn run(app: &TestApp, connection_id: i64) -> sync::Counts {
    match attempt(app, connection_id) {
        Ended::Finished(counts) => counts,
        other => panic!("the sync did not finish: {other:?}"),
    }
}

fn org(app: &TestApp) -> i64 {
    organizations::table.select(organizations::id).first(&mut *app.conn()).expect("the organization")
}

/// (status, count) of the organization's memberships of directory accounts.
fn statuses(app: &TestApp, connection_id: i64) -> Vec<(String, i64)> {
    let rows: Vec<String> = memberships::table
        .inner_join(ldap_entries::table.on(ldap_entries::account_id.eq(memberships::account_id)))
        .filter(ldap_entries::connection_id.eq(connection_id))
        .filter(memberships::organization_id.eq(org(app)))
        .select(memberships::status)
        .load(&mut *app.conn())
        .expect("memberships");
    let mut counted: Vec<(String, i64)> = Vec::new();
    for status in rows {
        match counted.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counted.push((status, 1)),
        }
    }
    counted.sort();
    counted
}

fn member_count(app: &TestApp) -> i64 {
    organizations::table.find(org(app)).select(organizations::member_count).first(&mut *app.conn()).expect("count")
}

/// Thousands, past the server's size limit of 100: only the paged search reads them all, and
/// they take four batches.
const MEMBERS: usize = 2_000;

async fn sync_now_creates_accounts_and_memberships_with_the_configured_status(mut app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..MEMBERS);
    let id = connection(&app, &branch, "awaiting_validation");
    let before = member_count(&app);
    app.login_as_admin().await;
    let page = app.get(&format!("/admin/ldap/{id}/sync")).await;
    page.assert_status(200);
    assert!(page.body.contains("has not been synced yet") && !page.body.contains("http-equiv"), "{}", page.body);
    app.post(&format!("/admin/ldap/{id}/sync"), &[]).await.assert_redirect(&format!("/admin/ldap/{id}/sync"));
    let mut finished = None;
    for _ in 0..1_200 {
        let page = app.get(&format!("/admin/ldap/{id}/sync")).await;
        if page.body.contains("<dd id=\"sync-status\">finished</dd>") {
            finished = Some(page);
            break;
        }
        assert!(!page.body.contains(">failed<"), "{}", page.body);
        // While it runs the page reloads itself, without script.
        if page.body.contains(">running<") {
            assert!(page.body.contains("<meta http-equiv=\"refresh\" content=\"2\">"));
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let page = finished.expect("the sync finishes");
    assert!(!page.body.contains("http-equiv"));
    assert!(page.body.contains("<dd id=\"sync-read\">2,000</dd>"), "{}", page.body);
    assert!(page.body.contains("<dd id=\"sync-created\">2,000</dd>"));
    assert_eq!(statuses(&app, id), vec![("awaiting_validation".to_owned(), MEMBERS as i64)]);
    assert_eq!(member_count(&app), before + MEMBERS as i64);
    let (name, hash): (String, Option<String>) = accounts::table
        .filter(accounts::email.eq(slapd::member_email(7)))
        .select((accounts::display_name, accounts::password_hash))
        .first(&mut *app.conn())
        .expect("the account");
    assert_eq!((name.as_str(), hash), ("Person 7", None));
    let details: String = audit_events::table
        .filter(audit_events::action.eq("ldap.synced"))
        .select(audit_events::details)
        .first(&mut *app.conn())
        .expect("the summary event");
    assert!(details.contains(&format!("\"created\":{MEMBERS}")), "{details}");
    // A second run changes nothing.
    let again = run(&app, id);
    assert_eq!((again.entries_read, again.created, again.updated, again.removed), (MEMBERS as i64, 0, 0, 0));
}

fn session_for(app: &TestApp, account: i64) {
    let now = app.clock.now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(format!("sync-test-{account}")),
            sessions::account_id.eq(account),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::client_addr.eq("127.0.0.1"),
            sessions::user_agent.eq("test"),
        ))
        .execute(&mut *app.conn())
        .expect("a session");
}

fn sessions_of(app: &TestApp, account: i64) -> i64 {
    sessions::table.filter(sessions::account_id.eq(account)).count().get_result(&mut *app.conn()).expect("count")
}

async fn changed_deleted_and_returning_entries_are_followed(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..5);
    let id = connection(&app, &branch, "active");
    let first = run(&app, id);
    assert_eq!((first.entries_read, first.created, first.errors), (5, 5, 0));
    assert_eq!(statuses(&app, id), vec![("active".to_owned(), 5)]);

    slapd::rename_member(&branch, 1, "Renamed Person");
    let renamed = run(&app, id);
    assert_eq!((renamed.created, renamed.updated, renamed.removed), (0, 1, 0));
    let name: String = accounts::table
        .filter(accounts::email.eq(slapd::member_email(1)))
        .select(accounts::display_name)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(name, "Renamed Person");

    let gone = account_id(&mut app.conn(), &slapd::member_email(2));
    session_for(&app, gone);
    let seats = member_count(&app);
    slapd::delete_member(&branch, 2);
    let deleted = run(&app, id);
    assert_eq!((deleted.entries_read, deleted.removed), (4, 1));
    assert_eq!(statuses(&app, id), vec![("active".to_owned(), 4), ("removed".to_owned(), 1)]);
    assert_eq!(sessions_of(&app, gone), 0, "the removed member's sessions end");
    assert_eq!(member_count(&app), seats - 1, "the seat is freed");

    slapd::add_members(&branch, 2..3);
    let back = run(&app, id);
    assert_eq!((back.created, back.removed), (1, 0));
    let rows: Vec<String> = memberships::table
        .filter(memberships::account_id.eq(gone))
        .order(memberships::id)
        .select(memberships::status)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(rows, vec!["removed", "active"], "a fresh membership; the removed one stays as history");
    assert_eq!(account_id(&mut app.conn(), &slapd::member_email(2)), gone, "the same account");
}

async fn a_local_account_with_the_same_email_is_reported_not_merged(mut app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..3);
    let local = app.insert_account_without_second_factor(&slapd::member_email(0), "Local-Pa55-Word-Kept", false);
    let hash = app.password_hash(&slapd::member_email(0));
    let id = connection(&app, &branch, "active");
    let counts = run(&app, id);
    assert_eq!((counts.entries_read, counts.created, counts.errors), (3, 2, 1));
    assert!(counts.last_error.contains(&slapd::member_email(0)) && counts.last_error.contains("not merged"));
    assert_eq!(app.password_hash(&slapd::member_email(0)), hash);
    let linked: i64 =
        ldap_entries::table.filter(ldap_entries::account_id.eq(local)).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(linked, 0);
    app.login_as_admin().await;
    let page = app.get(&format!("/admin/ldap/{id}/sync")).await;
    assert!(page.body.contains("id=\"sync-error-list\"") && page.body.contains("not merged"), "{}", page.body);
}

async fn two_syncs_asked_at_once_run_once(mut app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..3);
    let id = connection(&app, &branch, "active");
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (db, barrier) = (app.state.db.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = db.get().expect("a connection");
                barrier.wait();
                sync::begin(&mut conn, id, &sync::holder(), chrono::Utc::now().naive_utc()).expect("begin")
            })
        })
        .collect();
    let begun: Vec<Option<i64>> = racers.into_iter().map(|r| r.join().expect("racer")).collect();
    assert_eq!(begun.iter().filter(|b| b.is_some()).count(), 1, "{begun:?}");
    // While that run holds the lease, neither another run nor Sync now starts one.
    assert_eq!(attempt(&app, id), Ended::AlreadyRunning);
    app.login_as_admin().await;
    app.get(&format!("/admin/ldap/{id}")).await.assert_status(200);
    app.post(&format!("/admin/ldap/{id}/sync"), &[]).await.assert_redirect(&format!("/admin/ldap/{id}/sync"));
    let page = app.get(&format!("/admin/ldap/{id}/sync")).await;
    assert!(page.body.contains("A sync of this connection is already running."), "{}", page.body);
    let runs: i64 = ldap_syncs::table.count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(runs, 1);
}

async fn an_expired_lease_is_taken_over(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..3);
    let id = connection(&app, &branch, "active");
    let dead = sync::holder();
    let abandoned = sync::begin(&mut app.conn(), id, &dead, app.clock.now()).unwrap().expect("the first run begins");
    app.clock.advance(sync::LEASE + chrono::Duration::seconds(1));
    let counts = run(&app, id);
    assert_eq!(counts.created, 3);
    let (status, error): (String, String) = ldap_syncs::table
        .find(abandoned)
        .select((ldap_syncs::status, ldap_syncs::last_error))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("lease expired"), "{error}");
    // The instance that lost it, if it wakes up, stops at its first write.
    let late = off_runtime(|| {
        sync::carry_out(&mut app.conn(), &app.state.ldap_key, &app.clock, id, abandoned, &dead).expect("carry out")
    });
    assert!(matches!(&late, Ended::Failed(why) if why.contains("lost its lease")), "{late:?}");
}

fn failures(app: &TestApp, account: i64) -> i64 {
    sign_in_failures::table
        .filter(sign_in_failures::account_id.eq(account))
        .select(sign_in_failures::failures)
        .first(&mut *app.conn())
        .optional()
        .expect("failures")
        .unwrap_or(0)
}

async fn a_directory_account_signs_in_with_its_directory_password(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..2);
    let id = connection(&app, &branch, "active");
    run(&app, id);
    let email = slapd::member_email(0);
    let account = account_id(&mut app.conn(), &email);
    let mut person = app.client();

    person.get("/login").await.assert_status(200);
    let wrong = person.post("/login", &[("email", &email), ("password", "not-the-directory-one")]).await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("The email address or password is not right."), "{}", wrong.body);
    assert_eq!(failures(&app, account), 1, "a wrong directory password counts toward the lockout");
    // Another person's directory password is wrong for this one too.
    person.get("/login").await.assert_status(200);
    let other = person.post("/login", &[("email", &email), ("password", &slapd::person_password(1))]).await;
    other.assert_status(422);

    // The right one leads to the second factor, as for any account of the organization.
    person.get("/login").await.assert_status(200);
    let right = person.post("/login", &[("email", &email), ("password", &slapd::person_password(0))]).await;
    assert!(right.body.contains(r#"name="code""#), "the second factor is still asked: {}", right.body);
    // Enrolled on the way (the organization asks for a second factor): its recovery codes next.
    let enrolled = person.answer_second_factor(&email, right).await;
    assert!(enrolled.body.contains("Your recovery codes"), "{}", enrolled.body);
    assert_eq!(sessions_of(&app, account), 1, "signed in");
    assert_eq!(failures(&app, account), 0);
    assert!(app.password_hash(&email).is_none(), "the directory password is never stored");

    // The directory down: a clear message, and nothing counted.
    diesel::update(ldap_connections::table.find(id))
        .set(ldap_connections::url.eq("ldap://127.0.0.1:9"))
        .execute(&mut *app.conn())
        .unwrap();
    let mut again = app.client();
    again.get("/login").await.assert_status(200);
    let down = again.post("/login", &[("email", &email), ("password", &slapd::person_password(0))]).await;
    down.assert_status(422);
    assert!(down.body.contains("cannot be reached right now"), "{}", down.body);
    assert_eq!(failures(&app, account), 0, "a directory that is down counts nothing");
}

async fn the_last_active_delegate_stays_when_its_entry_goes(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..3);
    let id = connection(&app, &branch, "active");
    run(&app, id);
    let delegate = account_id(&mut app.conn(), &slapd::member_email(0));
    // p0 becomes the organization's only active Delegate.
    diesel::update(memberships::table.filter(memberships::organization_id.eq(org(&app))))
        .set(memberships::is_delegate.eq(false))
        .execute(&mut *app.conn())
        .unwrap();
    diesel::update(memberships::table.filter(memberships::account_id.eq(delegate)))
        .set(memberships::is_delegate.eq(true))
        .execute(&mut *app.conn())
        .unwrap();
    slapd::delete_member(&branch, 0);
    slapd::delete_member(&branch, 1);
    let counts = run(&app, id);
    assert_eq!((counts.removed, counts.errors), (1, 1));
    assert!(counts.last_error.contains("last active Delegate"), "{}", counts.last_error);
    let status: String = memberships::table
        .filter(memberships::account_id.eq(delegate))
        .select(memberships::status)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(status, "active");
}

/// A local password set by a reset link would never be asked for (sign-in binds to the
/// directory): the directory account is sent nothing, and told what any address is told.
async fn a_directory_account_is_sent_no_password_reset_link(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..1);
    let id = connection(&app, &branch, "active");
    run(&app, id);
    let email = slapd::member_email(0);
    let outbox_before: i64 = outbox::table.count().get_result(&mut *app.conn()).unwrap();

    let mut browser = app.client();
    browser.get("/password-reset").await.assert_status(200);
    let answer = browser.post("/password-reset", &[("email", &email)]).await;
    answer.assert_status(200);
    assert!(answer.body.contains("a link to choose a new password is on its way"), "{}", answer.body);

    assert_eq!(outbox::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), outbox_before, "no email");
    assert_eq!(password_resets::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), 0, "no link");
    let details: String = audit_events::table
        .filter(audit_events::action.eq("account.password_reset_requested"))
        .select(audit_events::details)
        .first(&mut *app.conn())
        .unwrap();
    assert!(details.contains("kept by its directory"), "{details}");
}

/// A directory that takes the connection and never answers: sign-in says the directory is
/// unavailable (counting nothing) and the sync ends with an error, each within seconds.
async fn a_directory_that_never_answers_times_out_on_sign_in_and_sync(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..1);
    let id = connection(&app, &branch, "active");
    run(&app, id);
    let email = slapd::member_email(0);
    let account = account_id(&mut app.conn(), &email);
    // The kernel completes the handshake from the backlog; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let url = format!("ldap://{}", silent.local_addr().expect("its address"));
    diesel::update(ldap_connections::table.find(id))
        .set(ldap_connections::url.eq(&url))
        .execute(&mut *app.conn())
        .expect("point the connection at the silent listener");

    let mut person = app.client();
    person.get("/login").await.assert_status(200);
    let started = std::time::Instant::now();
    let down = person.post("/login", &[("email", &email), ("password", &slapd::person_password(0))]).await;
    assert!(started.elapsed() < Duration::from_secs(15), "sign-in took {:?}", started.elapsed());
    down.assert_status(422);
    assert!(down.body.contains("cannot be reached right now"), "{}", down.body);
    assert_eq!(failures(&app, account), 0, "a directory that hangs counts nothing");

    let started = std::time::Instant::now();
    let ended = attempt(&app, id);
    assert!(started.elapsed() < Duration::from_secs(15), "the sync took {:?}", started.elapsed());
    assert!(!matches!(ended, Ended::Finished(ref counts) if counts.last_error.is_empty()), "{ended:?}");
}

/// A refused directory sign-in answers no sooner than a local password check: otherwise its
/// speed alone would tell a directory account from an unknown address (which checks a hash).
async fn a_directory_sign_in_takes_as_long_as_a_password_check(app: TestApp) {
    let branch = slapd::branch();
    slapd::add_members(&branch, 0..1);
    let id = connection(&app, &branch, "active");
    run(&app, id);
    let email = slapd::member_email(0);
    let hash = orgportal::auth::password::hash_blocking("some password").expect("a hash");
    let one_check = (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            orgportal::auth::password::verify_blocking("another password", &hash);
            started.elapsed()
        })
        .min()
        .expect("three checks");

    let mut person = app.client();
    person.get("/login").await.assert_status(200);
    let started = std::time::Instant::now();
    let wrong = person.post("/login", &[("email", &email), ("password", "not-the-directory-one")]).await;
    let took = started.elapsed();
    wrong.assert_status(422);
    assert!(took >= one_check / 2, "a directory sign-in took {took:?}, a password check {one_check:?}");
}
