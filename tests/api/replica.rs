//! The read replica (issue 18, point 1), PostgreSQL only. The "replica" here is a second
//! database holding different organizations, so every page shows which server it was read
//! from; the tests stand in for the monitor (`Replica::observe`) to set its replay position
//! and lag, and one test runs the real monitor.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use orgportal::db::replica::{self, Health};
use orgportal::db::WalPosition;

use crate::helpers::{SeedOrg, TestApp, TestDatabase};

const ON_PRIMARY: &str = "Written On The Primary";
const ON_REPLICA: &str = "Seen On The Replica";
const TOKEN: &str = "metrics-token-of-the-tests-0123456789";

/// A primary app whose `DATABASE_REPLICA_URL` is the returned app's database. `None` without
/// PostgreSQL.
fn primary_and_replica(max_lag: &str) -> Option<(TestApp, TestApp)> {
    let replica = TestApp::start(TestDatabase::postgres()?, &[]);
    let seeded = |app: &TestApp, name: &str| {
        let created_at = app.clock.now();
        app.seed_org(&SeedOrg { name, contact: "contact@example.com", quota_gb: 10, members: 0, created_at });
    };
    seeded(&replica, ON_REPLICA);
    let replica_url = replica.database.url.clone();
    let primary = TestApp::start(
        TestDatabase::postgres()?,
        &["--database-replica-url", &replica_url, "--replica-max-lag", max_lag, "--metrics-token", TOKEN],
    );
    seeded(&primary, ON_PRIMARY);
    Some((primary, replica))
}

fn standby(app: &TestApp) -> &orgportal::db::Replica {
    app.state.db.replica().expect("the app has a replica")
}

/// The primary's position now, as the session layer reads it.
fn primary_position(app: &TestApp) -> WalPosition {
    replica::primary_position(&mut app.conn()).unwrap().expect("PostgreSQL has a position")
}

/// Which server the Organizations page was read from.
async fn organizations_read_from(app: &mut TestApp) -> &'static str {
    let page = app.get("/admin/organizations").await;
    page.assert_status(200);
    match (page.body.contains(ON_PRIMARY), page.body.contains(ON_REPLICA)) {
        (true, false) => "primary",
        (false, true) => "replica",
        other => panic!("the page shows {other:?}: {}", page.body),
    }
}

#[actix_web::test]
async fn list_pages_and_exports_read_the_replica_while_guards_read_the_primary() {
    let Some((mut app, _replica)) = primary_and_replica("5") else { return };
    // No reading yet: the primary serves.
    app.login_as_admin().await;
    assert_eq!(organizations_read_from(&mut app).await, "primary");

    standby(&app).observe(Health::Serving { lag: Duration::ZERO }, primary_position(&app));
    assert_eq!(organizations_read_from(&mut app).await, "replica");
    let csv = app.get("/admin/organizations.csv").await;
    csv.assert_status(200);
    assert!(csv.body.contains(ON_REPLICA) && !csv.body.contains(ON_PRIMARY), "{}", csv.body);

    // The session exists only on the primary: reading it from the replica would sign the
    // administrator out. A stranger's cookie is refused as before.
    let mut stranger = app.client();
    stranger.get("/admin/organizations").await.assert_redirect("/login?next=%2Fadmin%2Forganizations");
    // Forms and the pages around a change read the primary.
    let edit_form = app.get("/admin/organizations/new").await;
    edit_form.assert_status(200);
}

#[actix_web::test]
async fn a_viewer_sees_their_own_change_at_once_and_others_read_the_replica() {
    let Some((mut app, _replica)) = primary_and_replica("5") else { return };
    app.login_as_admin().await;
    let mut colleague = app.client();
    colleague.login_as_admin().await;
    let caught_up = primary_position(&app);
    standby(&app).observe(Health::Serving { lag: Duration::ZERO }, caught_up);
    assert_eq!(organizations_read_from(&mut app).await, "replica");

    // The administrator adds an organization: the replica (still at `caught_up`) has not seen
    // it, so their next list page reads the primary and shows it.
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", "Just Added"), ("quota_gb", "5"), ("seats", ""), ("admin_email", "owner@just-added.example")],
    )
    .await
    .assert_status(303);
    let own = app.get("/admin/organizations").await;
    assert!(own.body.contains("Just Added") && own.body.contains(ON_PRIMARY), "{}", own.body);
    let own_export = app.get("/admin/organizations.csv").await;
    assert!(own_export.body.contains("Just Added"), "{}", own_export.body);

    // The colleague changed nothing: the replica serves them.
    assert_eq!(organizations_read_from(&mut colleague).await, "replica");

    // Once the replica has replayed past the change, the administrator reads it again.
    standby(&app).observe(Health::Serving { lag: Duration::ZERO }, primary_position(&app));
    assert_eq!(organizations_read_from(&mut app).await, "replica");
}

#[actix_web::test]
async fn a_lagging_or_unreachable_replica_is_skipped_never_an_error_page() {
    let Some((mut app, replica)) = primary_and_replica("5") else { return };
    app.login_as_admin().await;
    let position = primary_position(&app);

    standby(&app).observe(Health::Lagging { lag: Duration::from_secs(30) }, position);
    assert_eq!(organizations_read_from(&mut app).await, "primary");
    let ready = app.get("/readyz").await;
    ready.assert_status(200);
    assert!(ready.body.starts_with("ready\nreplica: skipped: lag 30.0 s"), "{}", ready.body);

    standby(&app).observe(Health::NotStandby, WalPosition(0));
    assert_eq!(organizations_read_from(&mut app).await, "primary");

    // The replica's server goes away while the last reading still vouches for it: the page is
    // read from the primary all the same, and the replica is marked down at once.
    standby(&app).observe(Health::Serving { lag: Duration::ZERO }, primary_position(&app));
    assert_eq!(organizations_read_from(&mut app).await, "replica");
    drop(replica);
    assert_eq!(organizations_read_from(&mut app).await, "primary");
    assert!(matches!(standby(&app).health(), Health::Down(_)), "{:?}", standby(&app).health());
    let csv = app.get("/admin/audit.csv").await;
    csv.assert_status(200);
    let users = app.get("/orgs/1/users").await;
    users.assert_status(200);
    let ready = app.get("/readyz").await;
    ready.assert_status(200);
    // Skipped for the connection that failed, said in one line.
    assert!(ready.body.starts_with("ready\nreplica: skipped: "), "{}", ready.body);
    assert_eq!(ready.body.lines().count(), 2, "{}", ready.body);
}

#[actix_web::test]
async fn readiness_and_metrics_tell_how_the_replica_is_doing() {
    let Some((mut app, _replica)) = primary_and_replica("5") else { return };
    let ready = app.get("/readyz").await;
    assert_eq!(ready.body, "ready\nreplica: not checked yet (reads use the primary)");
    standby(&app).observe(Health::Serving { lag: Duration::from_millis(1500) }, WalPosition(1));
    let ready = app.get("/readyz").await;
    assert_eq!(ready.body, "ready\nreplica: serving list reads, lag 1.5 s");

    let request =
        actix_web::test::TestRequest::get().uri("/metrics").insert_header(("authorization", format!("Bearer {TOKEN}")));
    let metrics = app.send(request).await;
    metrics.assert_status(200);
    assert!(metrics.body.contains("orgportal_replica_lag_seconds 1.5"), "{}", metrics.body);
    assert!(metrics.body.contains("orgportal_replica_serving 1"), "{}", metrics.body);

    standby(&app).observe(Health::Down("gone".into()), WalPosition(1));
    let request =
        actix_web::test::TestRequest::get().uri("/metrics").insert_header(("authorization", format!("Bearer {TOKEN}")));
    let metrics = app.send(request).await;
    assert!(metrics.body.contains("orgportal_replica_lag_seconds NaN"), "{}", metrics.body);
    assert!(metrics.body.contains("orgportal_replica_serving 0"), "{}", metrics.body);
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    position: String,
}

#[actix_web::test]
async fn the_monitor_never_reads_a_server_that_is_not_a_standby() {
    // Pointed at a primary (a common mistake: the same URL twice), the monitor finds it is not
    // replaying a log, and list pages stay on the real primary.
    let Some(database) = TestDatabase::postgres() else { return };
    let url = database.url.clone();
    let mut app = TestApp::start(database, &["--database-replica-url", &url]);
    let standby_replica = app.state.db.replica().expect("replica").clone();
    standby_replica.spawn_monitor(app.state.db.clone()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while standby_replica.health() != Health::NotStandby {
        assert!(std::time::Instant::now() < deadline, "the monitor said {:?}", standby_replica.health());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!standby_replica.serves(None));
    // The position the monitor and the session layer read parses as PostgreSQL prints it, and
    // only moves forward.
    let text: Position =
        diesel::sql_query("SELECT pg_current_wal_lsn()::text AS position").get_result(&mut *app.conn()).unwrap();
    let printed = WalPosition::parse(&text.position).expect("pg_lsn parses");
    assert!(printed.0 > 0);
    assert!(primary_position(&app) >= printed);
    app.login_as_admin().await;
    app.get("/admin/organizations").await.assert_status(200);
}
