//! LDAP connections (issue 16, points 1, 2 and 5): the forms and their field errors, the bind
//! password sealed and write-only, both interlocks with organizations and their race, and Test
//! connection / Test sign-in against a real OpenLDAP server (`slapd.rs`).

use std::sync::Arc;

use diesel::prelude::*;
use orgportal::db::schema::{audit_events, ldap_connections, organizations};
use orgportal::platform::ldap::interlock::{LDAP_LOCKED, ORGANIZATIONS_LOCKED};
use tokio::sync::Barrier;

use crate::helpers::{escape_html, SeedOrg, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;
use crate::slapd::{self, READER_DN, READER_PASSWORD, SUFFIX};

on_both_backends!(
    connections_are_added_edited_and_deleted_with_every_field_error_shown,
    the_bind_password_is_sealed_at_rest_and_never_shown,
    ldap_is_read_only_while_more_than_one_organization_exists,
    no_organization_is_added_while_a_connection_exists,
    an_organization_and_a_connection_added_at_once_never_both_succeed,
    test_connection_counts_every_entry_past_the_size_limit,
    test_sign_in_checks_one_persons_directory_password,
    tests_against_a_directory_that_never_answers_time_out,
);

const BIND_PASSWORD: &str = "Bind-Secret-Pa55-Zebra";

fn form<'a>(name: &'a str, url: &'a str, password: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("name", name),
        ("url", url),
        ("bind_dn", READER_DN),
        ("bind_password", password),
        ("base_dn", SUFFIX),
        ("user_filter", "(objectClass=inetOrgPerson)"),
        ("email_attr", "mail"),
        ("name_attr", "cn"),
        ("schedule_minutes", ""),
        ("new_entry_status", "active"),
    ]
}

fn connection_id(app: &TestApp, name: &str) -> i64 {
    ldap_connections::table
        .filter(ldap_connections::name.eq(name))
        .select(ldap_connections::id)
        .first(&mut *app.conn())
        .expect("the connection")
}

fn actions(app: &TestApp) -> Vec<String> {
    audit_events::table
        .filter(audit_events::action.like("ldap.%"))
        .order(audit_events::id)
        .select(audit_events::action)
        .load(&mut *app.conn())
        .expect("audit")
}

/// Add a connection through the page; returns its id.
async fn add(app: &mut TestApp, name: &str, url: &str, password: &str) -> i64 {
    app.get("/admin/ldap").await.assert_status(200);
    app.post("/admin/ldap", &form(name, url, password)).await.assert_status(303);
    connection_id(app, name)
}

/// The flash the edit page shows after a test.
async fn flash_after(app: &mut TestApp, path: &str, fields: &[(&str, &str)], id: i64) -> String {
    app.get(&format!("/admin/ldap/{id}")).await.assert_status(200);
    app.post(path, fields).await.assert_redirect(&format!("/admin/ldap/{id}"));
    let page = app.get(&format!("/admin/ldap/{id}")).await;
    let start = page.body.find("class=\"flash").expect("a flash message");
    let end = page.body[start..].find("</p>").expect("closed") + start;
    page.body[start..end].to_owned()
}

async fn connections_are_added_edited_and_deleted_with_every_field_error_shown(mut app: TestApp) {
    app.login_as_admin().await;
    let page = app.get("/admin/ldap").await;
    page.assert_status(200);
    assert!(page.body.contains("No LDAP connection is configured."));
    assert!(page.body.contains(r#"action="/admin/ldap""#), "the Add form is shown");

    // Every wrong field at once: 422, each message, everything typed kept but the password.
    let typed_password = "Typed-But-Never-Echoed-77";
    let mut bad = form("Corp <dir>", "http://ldap.example.com", typed_password);
    bad[4] = ("base_dn", " ");
    bad[5] = ("user_filter", "objectClass=person");
    bad[8] = ("schedule_minutes", "4");
    bad.push(("starttls", "on"));
    let refused = app.post("/admin/ldap", &bad).await;
    refused.assert_status(422);
    assert!(refused.body.contains("The URL starts with ldap:// or ldaps://."), "{}", refused.body);
    assert!(refused.body.contains("Enter the DN to search under."));
    assert!(refused.body.contains("A filter is written in parentheses"));
    assert!(refused.body.contains("Enter whole minutes from 5 to 10080"));
    assert!(refused.body.contains(&escape_html("Corp <dir>")), "the name is kept");
    assert!(refused.body.contains("value=\"http://ldap.example.com\""), "the URL is kept");
    assert!(refused.body.contains("value=\"objectClass=person\""), "the filter is kept");
    assert!(!refused.body.contains(typed_password), "the password is never rendered back");
    assert_eq!(ldap_connections::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), 0);

    // A password is required when adding; StartTLS over ldaps:// is refused.
    let mut no_password = form("Corp", "ldaps://ldap.example.com", "");
    no_password.push(("starttls", "on"));
    let refused = app.post("/admin/ldap", &no_password).await;
    refused.assert_status(422);
    assert!(refused.body.contains("Enter the bind password."));
    assert!(refused.body.contains("StartTLS is for ldap:// URLs"));

    let id = add(&mut app, "Corp", "ldap://ldap.example.com:389", BIND_PASSWORD).await;
    let list = app.get("/admin/ldap").await;
    assert!(list.body.contains(&format!(r#"<tr data-connection-id="{id}">"#)), "{}", list.body);
    assert!(list.body.contains("adding organizations is disabled"), "the lock is explained");
    let edit = app.get(&format!("/admin/ldap/{id}")).await;
    edit.assert_status(200);
    assert!(edit.body.contains("value=\"ldap://ldap.example.com:389\""));
    assert!(edit.body.contains("A password is stored (never shown)"));
    assert!(!edit.body.contains(BIND_PASSWORD));
    assert!(edit.body.contains("organizations can be added again"), "deleting the last lifts the lock");

    // A taken name, then a valid edit with the password left empty: the stored one stays.
    app.get("/admin/ldap").await;
    app.post("/admin/ldap", &form("Corp", "ldap://other.example.com", "x")).await.assert_status(422);
    let sealed_before: Option<String> = ldap_connections::table
        .find(id)
        .select(ldap_connections::bind_password_sealed)
        .first(&mut *app.conn())
        .unwrap();
    app.get(&format!("/admin/ldap/{id}")).await;
    let mut edited = form("Corp Directory", "ldaps://ldap.example.com", "");
    edited[8] = ("schedule_minutes", "60");
    edited[9] = ("new_entry_status", "awaiting_validation");
    let wrong = app.post(&format!("/admin/ldap/{id}"), &[("name", ""), ("url", "ldap://")]).await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("Enter a name."));
    app.post(&format!("/admin/ldap/{id}"), &edited).await.assert_redirect(&format!("/admin/ldap/{id}"));
    let (name, schedule, status, sealed_after): (String, Option<i32>, String, Option<String>) = ldap_connections::table
        .find(id)
        .select((
            ldap_connections::name,
            ldap_connections::schedule_minutes,
            ldap_connections::new_entry_status,
            ldap_connections::bind_password_sealed,
        ))
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!((name.as_str(), schedule, status.as_str()), ("Corp Directory", Some(60), "awaiting_validation"));
    assert_eq!(sealed_after, sealed_before, "an empty password field keeps the stored password");
    let page = app.get(&format!("/admin/ldap/{id}")).await;
    assert!(page.body.contains("LDAP connection “Corp Directory” saved."));
    assert!(page.body.contains(r#"value="awaiting_validation" checked"#));

    app.post(&format!("/admin/ldap/{id}/delete"), &[]).await.assert_redirect("/admin/ldap");
    let page = app.get("/admin/ldap").await;
    assert!(page.body.contains("No connection is left: organizations can be added again."), "{}", page.body);
    app.get(&format!("/admin/ldap/{id}")).await.assert_status(404);
    app.post(&format!("/admin/ldap/{id}/delete"), &[]).await.assert_status(404);
    assert_eq!(actions(&app), ["ldap.connection_added", "ldap.connection_updated", "ldap.connection_deleted"]);
}

async fn the_bind_password_is_sealed_at_rest_and_never_shown(mut app: TestApp) {
    app.login_as_admin().await;
    let id = add(&mut app, "Sealed", "ldap://127.0.0.1:9", BIND_PASSWORD).await;
    let stored: Option<String> = ldap_connections::table
        .find(id)
        .select(ldap_connections::bind_password_sealed)
        .first(&mut *app.conn())
        .unwrap();
    let stored = stored.expect("a sealed password");
    assert!(stored.starts_with("sealed-v1:"), "{stored}");
    assert!(!stored.contains(BIND_PASSWORD) && !stored.contains("Zebra"));
    assert_eq!(app.state.ldap_key.open(&stored, id).unwrap(), BIND_PASSWORD);
    // Bound to its row: moved to another connection it does not open.
    let other = app.insert_ldap_connection("Other", "ldap://127.0.0.1:9", None);
    assert!(app.state.ldap_key.open(&stored, other).is_err());
    // Nowhere in the audit trail or on the pages.
    let details: Vec<String> = audit_events::table.select(audit_events::details).load(&mut *app.conn()).expect("audit");
    assert!(details.iter().all(|d| !d.contains(BIND_PASSWORD)));
    for page in ["/admin/ldap".to_owned(), format!("/admin/ldap/{id}"), "/admin/audit".to_owned()] {
        assert!(!app.get(&page).await.body.contains(BIND_PASSWORD), "{page}");
    }
    // A new password replaces the sealed one.
    app.get(&format!("/admin/ldap/{id}")).await;
    app.post(&format!("/admin/ldap/{id}"), &form("Sealed", "ldap://127.0.0.1:9", "New-Pass-99"))
        .await
        .assert_status(303);
    let stored: Option<String> = ldap_connections::table
        .find(id)
        .select(ldap_connections::bind_password_sealed)
        .first(&mut *app.conn())
        .unwrap();
    assert_eq!(app.state.ldap_key.open(&stored.unwrap(), id).unwrap(), "New-Pass-99");
}

async fn ldap_is_read_only_while_more_than_one_organization_exists(mut app: TestApp) {
    app.login_as_admin().await;
    app.seed_org(&SeedOrg {
        name: "Second",
        contact: "c@second.example",
        quota_gb: 1,
        members: 0,
        created_at: app.clock.now(),
    });
    let page = app.get("/admin/ldap").await;
    page.assert_status(200);
    assert!(page.body.contains(LDAP_LOCKED), "{}", page.body);
    assert!(!page.body.contains(r#"action="/admin/ldap""#), "no Add form while locked");
    let refused = app.post("/admin/ldap", &form("Corp", "ldap://ldap.example.com", BIND_PASSWORD)).await;
    refused.assert_status(409);
    assert!(refused.body.contains(LDAP_LOCKED));
    assert_eq!(ldap_connections::table.count().get_result::<i64>(&mut *app.conn()).unwrap(), 0);
    // One made before (past the lock): it can be read, tested and deleted, not edited.
    let id = app.insert_ldap_connection("Legacy", "ldap://127.0.0.1:9", None);
    let edit = app.get(&format!("/admin/ldap/{id}")).await;
    assert!(edit.body.contains(LDAP_LOCKED));
    let refused = app.post(&format!("/admin/ldap/{id}"), &form("Legacy 2", "ldap://127.0.0.1:9", "")).await;
    refused.assert_status(409);
    assert!(refused.body.contains(LDAP_LOCKED));
    app.get(&format!("/admin/ldap/{id}")).await;
    app.post(&format!("/admin/ldap/{id}/delete"), &[]).await.assert_redirect("/admin/ldap");
    assert!(actions(&app) == ["ldap.connection_deleted"], "{:?}", actions(&app));
}

async fn no_organization_is_added_while_a_connection_exists(mut app: TestApp) {
    app.login_as_admin().await;
    let id = add(&mut app, "Corp", "ldap://ldap.example.com", BIND_PASSWORD).await;
    let list = app.get("/admin/organizations").await;
    assert!(list.body.contains(ORGANIZATIONS_LOCKED), "{}", list.body);
    assert!(!list.body.contains(r#"href="/admin/organizations/new""#), "Add organization is disabled");
    let new = app.get("/admin/organizations/new").await;
    assert!(new.body.contains(ORGANIZATIONS_LOCKED));
    assert!(new.body.contains(r#"class="button button-primary" disabled>Add organization"#), "{}", new.body);
    let org_form = [("name", "Blocked Co"), ("quota_gb", "10"), ("seats", ""), ("admin_email", ADMIN_EMAIL)];
    let refused = app.post("/admin/organizations", &org_form).await;
    refused.assert_status(409);
    assert!(refused.body.contains(ORGANIZATIONS_LOCKED));
    assert_eq!(app.org_count(), 1);

    // Deleting the last connection lifts the lock; the pages say nothing of it any more.
    app.get(&format!("/admin/ldap/{id}")).await;
    app.post(&format!("/admin/ldap/{id}/delete"), &[]).await.assert_redirect("/admin/ldap");
    let list = app.get("/admin/organizations").await;
    assert!(!list.body.contains(ORGANIZATIONS_LOCKED));
    assert!(list.body.contains(r#"href="/admin/organizations/new""#));
    app.get("/admin/organizations/new").await;
    app.post("/admin/organizations", &org_form).await.assert_status(303);
    assert_eq!(app.org_count(), 2);
}

impl TestApp {
    fn org_count(&self) -> i64 {
        organizations::table.count().get_result(&mut *self.conn()).expect("count")
    }
}

const RACE_ROUNDS: usize = 8;

async fn signed_in(app: &TestApp) -> TestApp {
    let mut client = app.client();
    client.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    client
}

async fn an_organization_and_a_connection_added_at_once_never_both_succeed(app: TestApp) {
    let mut orgs = signed_in(&app).await;
    let mut ldap = signed_in(&app).await;
    let (mut org_won, mut ldap_won) = (0, 0);
    for round in 0..RACE_ROUNDS {
        orgs.get("/admin/organizations/new").await.assert_status(200);
        ldap.get("/admin/ldap").await.assert_status(200);
        let barrier = Arc::new(Barrier::new(2));
        let org_name = format!("Racer {round}");
        let add_org = {
            let barrier = barrier.clone();
            let orgs = &mut orgs;
            let org_name = org_name.clone();
            async move {
                barrier.wait().await;
                orgs.post(
                    "/admin/organizations",
                    &[("name", &org_name), ("quota_gb", "1"), ("seats", ""), ("admin_email", ADMIN_EMAIL)],
                )
                .await
            }
        };
        let add_connection = {
            let barrier = barrier.clone();
            let ldap = &mut ldap;
            async move {
                barrier.wait().await;
                ldap.post("/admin/ldap", &form("Racing", "ldap://ldap.example.com", BIND_PASSWORD)).await
            }
        };
        let (org_done, ldap_done) = tokio::join!(add_org, add_connection);
        let connections: i64 = ldap_connections::table.count().get_result(&mut *app.conn()).unwrap();
        let organizations = app.org_count();
        assert!(!(connections > 0 && organizations > 1), "round {round}: both an organization and a connection");
        match (org_done.status.as_u16(), ldap_done.status.as_u16()) {
            (303, 409) => {
                org_won += 1;
                assert!(ldap_done.body.contains(LDAP_LOCKED));
                // Back to one organization.
                let id = app.org_id(&org_name);
                let mut conn = app.conn();
                orgportal::db::org_index::deleted(&mut conn, id).expect("unindex");
                diesel::delete(organizations::table.find(id)).execute(&mut *conn).expect("delete the organization");
            }
            (409, 303) => {
                ldap_won += 1;
                assert!(org_done.body.contains(ORGANIZATIONS_LOCKED));
                diesel::delete(ldap_connections::table).execute(&mut *app.conn()).expect("delete the connection");
            }
            other => panic!("round {round}: exactly one add succeeds, got {other:?}"),
        }
    }
    eprintln!("LDAP interlock race: organization first {org_won}, connection first {ldap_won}");
}

async fn test_connection_counts_every_entry_past_the_size_limit(mut app: TestApp) {
    let directory = slapd::directory();
    app.login_as_admin().await;
    let id = add(&mut app, "OpenLDAP", &directory.url, READER_PASSWORD).await;
    let flash = flash_after(&mut app, &format!("/admin/ldap/{id}/test"), &[], id).await;
    assert!(
        flash.contains(&format!("Test connection succeeded: {} entries match the user filter.", slapd::PEOPLE)),
        "{flash} (size limit {})",
        slapd::SIZE_LIMIT
    );

    // A wrong bind password: the directory's own words.
    app.get(&format!("/admin/ldap/{id}")).await;
    app.post(&format!("/admin/ldap/{id}"), &form("OpenLDAP", &directory.url, "not-the-password"))
        .await
        .assert_status(303);
    let flash = flash_after(&mut app, &format!("/admin/ldap/{id}/test"), &[], id).await;
    assert!(flash.contains("flash-warning") && flash.contains("Test connection failed."), "{flash}");
    assert!(flash.contains("rc=49") || flash.contains("invalidCredentials"), "{flash}");

    // Nothing listening: the network's words, quickly.
    let closed = add(&mut app, "Closed", "ldap://127.0.0.1:9", READER_PASSWORD).await;
    let flash = flash_after(&mut app, &format!("/admin/ldap/{closed}/test"), &[], closed).await;
    assert!(flash.contains("Cannot connect to ldap://127.0.0.1:9"), "{flash}");
}

async fn test_sign_in_checks_one_persons_directory_password(mut app: TestApp) {
    let directory = slapd::directory();
    app.login_as_admin().await;
    let id = add(&mut app, "OpenLDAP", &directory.url, READER_PASSWORD).await;
    let path = format!("/admin/ldap/{id}/test-sign-in");
    let email = slapd::person_email(42);

    let right = slapd::person_password(42);
    let flash = flash_after(&mut app, &path, &[("email", &email), ("password", &right)], id).await;
    assert!(flash.contains("Test sign-in succeeded") && flash.contains(&slapd::person_dn(42)), "{flash}");

    let flash = flash_after(&mut app, &path, &[("email", &email), ("password", "wrong password")], id).await;
    assert!(flash.contains("Test sign-in failed.") && flash.contains("rc=49"), "{flash}");

    let flash = flash_after(&mut app, &path, &[("email", &email), ("password", "")], id).await;
    assert!(flash.contains("an empty password is never sent to the directory"), "{flash}");

    let flash = flash_after(&mut app, &path, &[("email", "nobody@example.org"), ("password", "whatever")], id).await;
    assert!(flash.contains("No entry matches mail = nobody@example.org."), "{flash}");

    // Filter metacharacters in the address are escaped, not obeyed.
    let flash = flash_after(&mut app, &path, &[("email", "*"), ("password", "whatever")], id).await;
    assert!(flash.contains("No entry matches mail = *."), "{flash}");
    assert!(!app.get(&format!("/admin/ldap/{id}")).await.body.contains(&right));
}

/// Connected, then silence: Test connection and Test sign-in give up within seconds.
async fn tests_against_a_directory_that_never_answers_time_out(mut app: TestApp) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let url = format!("ldap://{}", silent.local_addr().expect("its address"));
    app.login_as_admin().await;
    let id = add(&mut app, "Silent", &url, READER_PASSWORD).await;
    for (path, fields) in [
        (format!("/admin/ldap/{id}/test"), vec![]),
        (format!("/admin/ldap/{id}/test-sign-in"), vec![("email", "someone@example.org"), ("password", "a password")]),
    ] {
        let started = std::time::Instant::now();
        let flash = flash_after(&mut app, &path, &fields, id).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "{path} took {:?}", started.elapsed());
        assert!(flash.contains("flash-warning") && flash.contains("failed."), "{flash}");
    }
}
