//! Instances started at the same moment on one empty PostgreSQL database (issue 18, point 2):
//! each runs the start-up path of `orgportal serve`; the database is migrated once and
//! bootstrapped once, and none fails. (SQLite is one file used by one process: nothing to race.)

use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use orgportal::bootstrap::Bootstrap;
use orgportal::clock::Clock;
use orgportal::db::schema::{accounts, memberships, organizations};

use crate::helpers::{test_config, TestDatabase};

const INSTANCES: usize = 6;

#[test]
fn instances_started_together_migrate_and_bootstrap_once() {
    let Some(database) = TestDatabase::postgres() else {
        return;
    };
    let config = Arc::new(test_config(&database, &[]));
    let start = Arc::new(Barrier::new(INSTANCES));
    let instances: Vec<_> = (0..INSTANCES)
        .map(|_| {
            let (config, start) = (config.clone(), start.clone());
            std::thread::spawn(move || {
                let clock = Clock::system();
                start.wait();
                orgportal::cli::prepare(&config, &clock)
            })
        })
        .collect();
    let mut connections = Vec::new();
    let mut bootstraps = Vec::new();
    for instance in instances {
        match instance.join().expect("instance thread") {
            Ok((conn, bootstrap)) => {
                connections.push(conn);
                bootstraps.push(bootstrap);
            }
            Err(error) => panic!("an instance failed to start: {error:#}"),
        }
    }
    assert_eq!(bootstraps.iter().filter(|b| **b == Bootstrap::GivenPassword).count(), 1, "{bootstraps:?}");
    assert_eq!(bootstraps.iter().filter(|b| **b == Bootstrap::AlreadyDone).count(), INSTANCES - 1);

    let conn = &mut connections[0];
    let default_orgs: i64 =
        organizations::table.filter(organizations::is_default.eq(true)).count().get_result(conn).unwrap();
    assert_eq!(default_orgs, 1);
    assert_eq!(organizations::table.count().get_result::<i64>(conn).unwrap(), 1);
    let admins: Vec<String> =
        accounts::table.filter(accounts::is_platform_admin.eq(true)).select(accounts::email).load(conn).unwrap();
    assert_eq!(admins, [orgportal::bootstrap::ADMIN_EMAIL]);
    assert_eq!(memberships::table.count().get_result::<i64>(conn).unwrap(), 1);
    assert_eq!(orgportal::ops::health::pending_migrations(conn).unwrap(), Vec::<String>::new());
    let applied: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM __diesel_schema_migrations")
        .get_result(conn)
        .unwrap();
    let embedded = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().join("up.sql").is_file()))
        .count();
    assert_eq!(applied, embedded as i64, "each migration recorded once");
    // Every instance let go of the migration lock, though all their connections are still open.
    let advisory_locks: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .get_result(conn)
    .unwrap();
    assert_eq!(advisory_locks, 0);
}

#[test]
fn a_failed_migration_releases_the_lock() {
    let Some(database) = TestDatabase::postgres() else {
        return;
    };
    let config = test_config(&database, &[]);
    let mut first = orgportal::db::ConnectionManager::new(config.database.clone()).open().unwrap();
    let failed = orgportal::db::under_migration_lock(&mut first, |conn| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT * FROM no_such_table")?;
        Ok(())
    });
    assert!(failed.is_err());
    // Another instance can take it at once: the first one's connection, still open, let go.
    let mut second = orgportal::db::ConnectionManager::new(config.database.clone()).open().unwrap();
    let try_lock = format!("SELECT pg_try_advisory_lock({})", orgportal::db::MIGRATION_LOCK);
    let took: bool = diesel::dsl::sql::<diesel::sql_types::Bool>(&try_lock).get_result(&mut second).unwrap();
    assert!(took, "the lock is still held after a failure");
    drop(first);
}
