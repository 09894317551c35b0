//! Migration 000005 (ids are never reused, DESIGN §2) on a populated SQLite database built at
//! migration 000004: every row, id, column and index kept, foreign keys intact and enforced
//! afterwards, search still finding organizations, no id handed out twice; the copy written
//! before migrating; `orgportal backup PATH` on both backends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;
use orgportal::db::search::{self, OrgField};
use orgportal::db::{self, ConnectionManager, DatabaseTarget, DbConn};

use crate::helpers::{row_ids, TestApp, TestDatabase, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

/// The last version before the rebuild, and the rebuild.
const V4: &str = "20261123000004";
const V5: &str = "20261201000005";
const UP_SQL: &str = include_str!("../../migrations/sqlite/2026-12-01-000005_autoincrement/up.sql");
/// The tables whose ids outlive their rows.
const REBUILT: [&str; 7] =
    ["accounts", "organizations", "memberships", "plans", "invitations", "outbox", "audit_events"];
const AT: &str = "'2026-11-30 12:00:00'";
/// Values that later migrations change on purpose, left out where a test runs them all:
/// 000007 wipes the bodies of sent messages (they held registration links in clear).
const CHANGED_LATER: [(&str, &str); 2] = [("outbox", "body_text"), ("outbox", "body_html")];

on_both_backends!(backup_command_copies_sqlite_and_sends_postgres_to_pg_dump);

// --- small SQL helpers (raw SQL: the database is at an older schema than schema.rs) ---------

#[derive(QueryableByName)]
struct Int {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Str {
    #[diesel(sql_type = Text)]
    s: String,
}

fn ints(conn: &mut DbConn, sql: &str) -> Vec<i64> {
    diesel::sql_query(sql).load::<Int>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).into_iter().map(|r| r.n).collect()
}

fn int(conn: &mut DbConn, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Int>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

fn strings(conn: &mut DbConn, sql: &str) -> Vec<String> {
    diesel::sql_query(sql).load::<Str>(conn).unwrap_or_else(|e| panic!("{sql}: {e}")).into_iter().map(|r| r.s).collect()
}

fn exec(conn: &mut DbConn, sql: &str) {
    conn.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Run one statement and return the id of the row it inserted.
fn insert(conn: &mut DbConn, sql: &str) -> i64 {
    exec(conn, sql);
    int(conn, "SELECT last_insert_rowid() AS n")
}

fn sqlite_path(database: &TestDatabase) -> PathBuf {
    match DatabaseTarget::parse(&database.url) {
        Ok(DatabaseTarget::Sqlite(path)) => path,
        other => panic!("not a SQLite test database: {other:?}"),
    }
}

fn open(path: &Path) -> DbConn {
    ConnectionManager::new(DatabaseTarget::Sqlite(path.to_owned())).open().expect("open SQLite database")
}

fn harness(conn: &mut DbConn) -> &mut diesel::SqliteConnection {
    match conn {
        DbConn::Sqlite(c) => c,
        DbConn::Pg(_) => panic!("SQLite only"),
    }
}

fn applied(conn: &mut DbConn) -> Vec<String> {
    harness(conn).applied_migrations().expect("applied migrations").iter().map(ToString::to_string).collect()
}

/// Apply migrations one at a time until `version` is applied.
fn migrate_to(conn: &mut DbConn, version: &str) {
    while !applied(conn).iter().any(|v| v == version) {
        harness(conn).run_next_migration(db::SQLITE_MIGRATIONS).expect("next migration");
    }
}

/// A SQLite database at migration 000004, with what `populate` puts in it.
fn database_at_v4() -> (TestDatabase, DbConn, Populated) {
    let database = TestDatabase::sqlite();
    let mut conn = open(&sqlite_path(&database));
    migrate_to(&mut conn, V4);
    assert_eq!(applied(&mut conn).first().map(String::as_str), Some(V4));
    let populated = populate(&mut conn);
    (database, conn, populated)
}

// --- the data ---------------------------------------------------------------------------------

/// Rows the assertions name.
struct Populated {
    zephyr: i64,
    basic_plan: i64,
    /// Deleted before the migration, but still named by audit events and an outbox message.
    vanished_org: i64,
    leaver: i64,
    gone_plan: i64,
}

/// Everything the portal keeps, written as the 000004 schema has it: demo organizations with
/// members, an organization with members in every status, plans, invitations, outbox messages,
/// audit events and a removal request; then the newest organization, account and plan are
/// deleted, as a removal and a plan deletion do, leaving only references to them.
fn populate(conn: &mut DbConn) -> Populated {
    let now = chrono::Utc::now().naive_utc();
    orgportal::demo::load(conn, 30, 2, now).expect("demo data");
    let hash = orgportal::auth::password::hash_blocking(ADMIN_PASSWORD).expect("hash");
    diesel::sql_query(format!(
        "INSERT INTO accounts (email, password_hash, status, is_platform_admin, created_at, updated_at)
         VALUES ('{ADMIN_EMAIL}', ?, 'active', 1, {AT}, {AT})"
    ))
    .bind::<Text, _>(&hash)
    .execute(conn)
    .expect("insert admin");
    let admin = int(conn, &format!("SELECT id AS n FROM accounts WHERE email = '{ADMIN_EMAIL}'"));
    let account = |conn: &mut DbConn, email: &str, status: &str| {
        insert(
            conn,
            &format!(
                "INSERT INTO accounts (email, display_name, name_key, status, created_at, updated_at)
                 VALUES ('{email}', 'Name of {email}', 'name of {email}', '{status}', {AT}, {AT})"
            ),
        )
    };
    let delegate = account(conn, "delegate@zephyr.example", "active");
    let invited = account(conn, "invited@zephyr.example", "invited");
    let waiting = account(conn, "waiting@zephyr.example", "active");
    let removed = account(conn, "removed@zephyr.example", "active");
    let new_admin = account(conn, "new.admin@example.com", "invited");
    exec(conn, &format!("UPDATE accounts SET is_platform_admin = 1 WHERE id = {new_admin}"));

    let org = |conn: &mut DbConn, name: &str, contact: &str| {
        let id = insert(
            conn,
            &format!(
                "INSERT INTO organizations (name, name_key, contact_email, contact_key, admin_email, quota_gb, seats,
                                            member_count, quota_allocated_gb, created_at, updated_at)
                 VALUES ('{name}', '{key}', '{contact}', '{contact}', '{contact}', 500, 10, 3, 30, {AT}, {AT})",
                key = name.to_lowercase()
            ),
        );
        db::org_index::inserted(conn, id).expect("index organization");
        id
    };
    let zephyr = org(conn, "Zephyr Widgets", "delegate@zephyr.example");
    let plan = |conn: &mut DbConn, name: &str, default: bool| {
        insert(
            conn,
            &format!(
                "INSERT INTO plans (organization_id, name, name_key, quota_gb, is_default, created_at, updated_at)
                 VALUES ({zephyr}, '{name}', '{key}', 10, {default}, {AT}, {AT})",
                key = name.to_lowercase()
            ),
        )
    };
    let basic_plan = plan(conn, "Basic", true);
    let pro_plan = plan(conn, "Pro", false);
    let member = |conn: &mut DbConn, account: i64, status: &str, delegate: bool, plan: &str, removed_by: &str| {
        insert(
            conn,
            &format!(
                "INSERT INTO memberships (organization_id, account_id, status, is_delegate, recover, quota_gb,
                                          created_at, updated_at, removed_at, removed_by, plan_id)
                 VALUES ({zephyr}, {account}, '{status}', {delegate}, 1, 10, {AT}, {AT},
                         CASE WHEN '{status}' = 'removed' THEN {AT} END, {removed_by}, {plan})"
            ),
        )
    };
    member(conn, admin, "active", true, "NULL", "NULL");
    member(conn, delegate, "active", true, &basic_plan.to_string(), "NULL");
    member(conn, invited, "invited", false, &basic_plan.to_string(), "NULL");
    member(conn, waiting, "awaiting_validation", false, &pro_plan.to_string(), "NULL");
    member(conn, removed, "removed", false, "NULL", &admin.to_string());
    exec(
        conn,
        &format!(
            "INSERT INTO invitations (account_id, organization_id, token_hash, created_at, expires_at)
             VALUES ({invited}, {zephyr}, 'hash-of-invited', {AT}, {AT}),
                    ({new_admin}, NULL, 'hash-of-new-admin', {AT}, {AT});
             INSERT INTO removal_requests (organization_id, initiated_by, initiated_by_email, initiated_at, actionable_at)
             SELECT MIN(id), {admin}, '{ADMIN_EMAIL}', {AT}, {AT} FROM organizations;"
        ),
    );

    // The newest organization, with a member who belongs nowhere else, and the newest plan.
    let vanished_org = org(conn, "Vanished Ltd", "leaver@vanished.example");
    let leaver = account(conn, "leaver@vanished.example", "active");
    exec(
        conn,
        &format!(
            "INSERT INTO memberships (organization_id, account_id, status, is_delegate, created_at, updated_at)
             VALUES ({vanished_org}, {leaver}, 'active', 1, {AT}, {AT});
             INSERT INTO invitations (account_id, organization_id, token_hash, created_at, expires_at)
             VALUES ({leaver}, {vanished_org}, 'hash-of-leaver', {AT}, {AT});"
        ),
    );
    let gone_plan = plan(conn, "Gone", false);
    let event = |scope: &str, actor: i64, org: i64, action: &str, details: &str| {
        format!(
            "INSERT INTO audit_events (occurred_at, scope, actor_id, actor_email, organization_id, organization_name,
                                       action, target, details, client_addr)
             VALUES ({AT}, '{scope}', {actor}, 'actor{actor}@example.com', {org}, 'org {org}', '{action}',
                     'target', '{details}', '127.0.0.1');"
        )
    };
    let outbox = |n: i64, org: i64, status: &str| {
        format!(
            "INSERT INTO outbox (message_id, kind, organization_id, recipient, subject, body_text, body_html, status,
                                 attempts, next_attempt_at, last_error, created_at, sent_at)
             VALUES ('<{n}@orgportal>', 'invitation', {org}, 'to{n}@example.com', 'Subject {n}', 'text {n}',
                     '<p>html {n}</p>', '{status}', {n}, {AT}, CASE WHEN '{status}' = 'failed' THEN 'refused' ELSE '' END,
                     {AT}, CASE WHEN '{status}' = 'sent' THEN {AT} END);"
        )
    };
    let mut script = String::new();
    script += &event("platform", admin, zephyr, "organization.created", "{}");
    script += &event("organization", delegate, zephyr, "membership.added", r#"{"status":"invited"}"#);
    script += &event(
        "organization",
        delegate,
        zephyr,
        "membership.edited",
        &format!(r#"{{"before":{{"plan_id":{gone_plan}}},"after":{{"plan_id":{basic_plan}}}}}"#),
    );
    script += &event(
        "organization",
        delegate,
        zephyr,
        "plan.deleted",
        &format!(r#"{{"users_moved":1,"moved_to":{basic_plan}}}"#),
    );
    script += &event("organization", leaver, vanished_org, "membership.validated", "{}");
    script += &event("platform", admin, vanished_org, "organization.removed", "{}");
    script += &outbox(1, zephyr, "queued");
    script += &outbox(2, zephyr, "sent");
    script += &outbox(3, zephyr, "failed");
    script += &outbox(4, vanished_org, "sent");
    exec(conn, &script);

    // What approving a removal and deleting a plan leave behind (foreign keys on: the
    // organization's memberships and invitations go with it).
    exec(conn, &format!("DELETE FROM organizations WHERE id = {vanished_org}"));
    db::org_index::deleted(conn, vanished_org).expect("unindex organization");
    exec(conn, &format!("DELETE FROM accounts WHERE id = {leaver}; DELETE FROM plans WHERE id = {gone_plan};"));
    assert_eq!(int(conn, &format!("SELECT COUNT(*) AS n FROM memberships WHERE account_id = {leaver}")), 0);
    // Without AUTOINCREMENT the next row of each would get these very ids again.
    assert!(vanished_org > int(conn, "SELECT MAX(id) AS n FROM organizations"));
    assert!(leaver > int(conn, "SELECT MAX(id) AS n FROM accounts"));
    assert!(gone_plan > int(conn, "SELECT MAX(id) AS n FROM plans"));
    Populated { zephyr, basic_plan, vanished_org, leaver, gone_plan }
}

// --- snapshots --------------------------------------------------------------------------------

/// One table's rows: how many, their ids, and every value of the given columns.
#[derive(Debug, PartialEq, Eq)]
struct TableRows {
    count: i64,
    ids: Vec<i64>,
    values: String,
}

/// The ordinary tables and their columns (the FTS5 table's storage included, since its rowids
/// must stay the organizations' ids).
fn columns(conn: &mut DbConn) -> BTreeMap<String, Vec<String>> {
    strings(
        conn,
        "SELECT name AS s FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         AND name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' AND name <> 'organizations_search'",
    )
    .into_iter()
    .map(|table| {
        let columns = strings(conn, &format!("SELECT name AS s FROM pragma_table_info('{table}') ORDER BY cid"));
        (table, columns)
    })
    .collect()
}

/// The rows of every table in `tables`, reading only the columns listed there (so columns that
/// later migrations add do not count as a difference).
fn rows(conn: &mut DbConn, tables: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, TableRows> {
    tables
        .iter()
        .map(|(table, columns)| {
            let row = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || ',' || ");
            let values = strings(
                conn,
                &format!("SELECT COALESCE(group_concat(r, char(10) ORDER BY r), '') AS s FROM (SELECT {row} AS r FROM \"{table}\")"),
            )
            .remove(0);
            let ids = if columns.iter().any(|c| c == "id") {
                ints(conn, &format!("SELECT id AS n FROM \"{table}\" ORDER BY id"))
            } else {
                Vec::new()
            };
            let count = int(conn, &format!("SELECT COUNT(*) AS n FROM \"{table}\""));
            (table.clone(), TableRows { count, ids, values })
        })
        .collect()
}

/// `tables` less the columns that migrations after 000005 change on purpose.
fn kept_by_later_migrations(tables: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut kept = tables.clone();
    for (table, column) in CHANGED_LATER {
        if let Some(columns) = kept.get_mut(table) {
            columns.retain(|c| c != column);
        }
    }
    kept
}

/// Tables (their SQL with AUTOINCREMENT and the quotes a rename adds taken out, whitespace
/// normalised) and indexes (their SQL as written), by name.
fn schema(conn: &mut DbConn) -> BTreeMap<String, String> {
    strings(
        conn,
        "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '') AS s FROM sqlite_master
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .into_iter()
    .map(|entry| {
        let (name, sql) = entry.split_once(": ").expect("entry");
        (name.to_owned(), normalise(sql))
    })
    .collect()
}

/// Table by table, showing only the rows that differ.
#[track_caller]
fn assert_same_rows(actual: &BTreeMap<String, TableRows>, expected: &BTreeMap<String, TableRows>) {
    assert_eq!(actual.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (table, want) in expected {
        let got = &actual[table];
        if got != want {
            let (got_lines, want_lines): (Vec<&str>, Vec<&str>) =
                (got.values.lines().collect(), want.values.lines().collect());
            let missing: Vec<&&str> = want_lines.iter().filter(|l| !got_lines.contains(l)).take(5).collect();
            let extra: Vec<&&str> = got_lines.iter().filter(|l| !want_lines.contains(l)).take(5).collect();
            panic!(
                "{table}: {} rows (ids {:?}) instead of {} (ids {:?}); gone or changed: {missing:?}; new or changed: {extra:?}",
                got.count, got.ids, want.count, want.ids
            );
        }
    }
}

fn normalise(sql: &str) -> String {
    let words = sql.replace(" AUTOINCREMENT", "").replace('"', "").split_whitespace().collect::<Vec<_>>().join(" ");
    words.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
}

fn statistics(conn: &mut DbConn) -> Vec<String> {
    strings(conn, "SELECT tbl || '|' || COALESCE(idx, '') || '|' || stat AS s FROM sqlite_stat1 ORDER BY 1")
}

fn foreign_key_problems(conn: &mut DbConn) -> i64 {
    int(conn, "SELECT COUNT(*) AS n FROM pragma_foreign_key_check")
}

fn foreign_keys_enforced(conn: &mut DbConn) -> bool {
    int(conn, "SELECT foreign_keys AS n FROM pragma_foreign_keys") == 1
}

/// What each rebuilt table's counter starts at: the largest id the data names.
fn largest_named(conn: &mut DbConn, table: &str) -> i64 {
    let sources: &[&str] = match table {
        "accounts" => &[
            "SELECT MAX(id) AS n FROM accounts",
            "SELECT MAX(actor_id) AS n FROM audit_events",
            "SELECT MAX(removed_by) AS n FROM memberships",
            "SELECT MAX(initiated_by) AS n FROM removal_requests",
        ],
        "organizations" => &[
            "SELECT MAX(id) AS n FROM organizations",
            "SELECT MAX(organization_id) AS n FROM audit_events",
            "SELECT MAX(organization_id) AS n FROM outbox",
        ],
        "plans" => &[
            "SELECT MAX(id) AS n FROM plans",
            "SELECT MAX(plan_id) AS n FROM memberships",
            "SELECT MAX(json_extract(details, '$.before.plan_id')) AS n FROM audit_events",
            "SELECT MAX(json_extract(details, '$.after.plan_id')) AS n FROM audit_events",
            "SELECT MAX(json_extract(details, '$.moved_to')) AS n FROM audit_events",
        ],
        _ => return int(conn, &format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}")),
    };
    sources.iter().map(|sql| int(conn, &format!("SELECT COALESCE(({sql}), 0) AS n"))).max().unwrap_or(0)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

// --- the tests --------------------------------------------------------------------------------

/// The whole path `migrate` and `serve` take from a populated 000004 database to the newest
/// schema: the copy first, then every migration.
#[actix_web::test]
async fn migration_keeps_every_row_and_id_and_never_reuses_one() {
    let (database, mut conn, populated) = database_at_v4();
    let tables = columns(&mut conn);
    for table in REBUILT {
        assert!(tables.contains_key(table), "{table} missing at 000004");
    }
    let before = rows(&mut conn, &tables);
    let kept = kept_by_later_migrations(&tables);
    let before_kept = rows(&mut conn, &kept);
    assert!(before["memberships"].count >= 60 + 5, "demo members and Zephyr's: {:?}", before["memberships"].count);
    let named: BTreeMap<&str, i64> = REBUILT.iter().map(|t| (*t, largest_named(&mut conn, t))).collect();
    assert_eq!(named["accounts"], populated.leaver);
    assert_eq!(named["organizations"], populated.vanished_org);
    assert_eq!(named["plans"], populated.gone_plan);

    let data_dir = database.dir.path().join("data");
    let migrated = db::backup::migrate_with_backup(&mut conn, &data_dir, chrono::Utc::now().naive_utc())
        .expect("migrate with backup");
    assert_eq!(migrated.applied.first().map(String::as_str), Some(V5), "{:?}", migrated.applied);

    // Every row, id and value of every table that existed before, on the same connection.
    assert_same_rows(&rows(&mut conn, &kept), &before_kept);
    assert_eq!(foreign_key_problems(&mut conn), 0);
    assert!(foreign_keys_enforced(&mut conn), "the connection goes on with foreign keys on");
    for table in REBUILT {
        let sql = strings(
            &mut conn,
            &format!("SELECT sql AS s FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
        );
        assert!(sql[0].contains("AUTOINCREMENT"), "{table}: {}", sql[0]);
        let seq = int(&mut conn, &format!("SELECT seq AS n FROM sqlite_sequence WHERE name = '{table}'"));
        assert!(seq >= named[table], "{table} counter {seq} below {}", named[table]);
    }

    // The copy made first: private, named after the time and version 000004, and holding
    // exactly the rows of before, at the old schema (which hands out a deleted id again).
    let backup = migrated.backup.expect("a backup before migrating a database with data");
    assert_eq!(backup.parent(), Some(data_dir.join("backups").as_path()));
    let name = backup.file_name().and_then(|n| n.to_str()).expect("file name");
    assert!(name.starts_with("orgportal-") && name.contains(V4) && name.ends_with(".db"), "{name}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&backup), 0o600);
        assert_eq!(mode(&data_dir.join("backups")), 0o700);
    }
    let mut copy = open(&backup);
    assert_eq!(applied(&mut copy).first().map(String::as_str), Some(V4));
    assert_same_rows(&rows(&mut copy, &tables), &before);
    let reused = insert(
        &mut copy,
        &format!("INSERT INTO organizations (name, name_key, quota_gb, created_at, updated_at) VALUES ('x', 'x', 0, {AT}, {AT})"),
    );
    assert_eq!(reused, populated.vanished_org, "without AUTOINCREMENT the removed organization's id comes back");
    drop(copy);

    // Search still finds organizations by substring, straight from the index...
    let all: Vec<(i64, String, String)> =
        strings(&mut conn, "SELECT id || char(9) || name_key || char(9) || contact_key AS s FROM organizations")
            .into_iter()
            .map(|row| {
                let mut parts = row.split('\t');
                let id = parts.next().and_then(|p| p.parse().ok()).expect("id");
                (id, parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned())
            })
            .collect();
    let demo_key =
        all.iter().find(|(id, _, _)| *id != populated.zephyr).map(|(_, k, _)| k.clone()).expect("a demo org");
    let needle: String = demo_key.chars().skip(1).take(5).collect();
    let mut expected: Vec<i64> = all
        .iter()
        .filter(|(_, name, contact)| name.contains(&needle) || contact.contains(&needle))
        .map(|r| r.0)
        .collect();
    expected.sort_unstable();
    let query = search::fts_match(&conn, OrgField::All, &needle).expect("an index query");
    let mut found = search::fts_ids(&mut conn, &query, 10_000).expect("search");
    found.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(found, expected, "search for {needle:?}");
    let vanished = search::fts_match(&conn, OrgField::All, "vanished ltd").expect("an index query");
    assert!(search::fts_ids(&mut conn, &vanished, 10).expect("search").is_empty());
    drop(conn);

    // ...and on the Organizations page of the migrated instance.
    let mut app = TestApp::start(database, &[]);
    app.login_as_admin().await;
    let page = app.get("/admin/organizations?q=phyr+widg").await;
    page.assert_status(200);
    assert_eq!(row_ids(&page.body, "org"), vec![populated.zephyr]);
    let encoded: String = url::form_urlencoded::byte_serialize(needle.as_bytes()).collect();
    let page = app.get(&format!("/admin/organizations?q={encoded}&per_page=100")).await;
    let mut listed = row_ids(&page.body, "org");
    listed.sort_unstable();
    assert_eq!(listed, expected);

    // No id is handed out twice: not the deleted newest rows', nor those only references name.
    let mut conn = app.conn();
    let conn = &mut *conn;
    let plan = insert(
        conn,
        &format!(
            "INSERT INTO plans (organization_id, name, name_key, quota_gb, created_at, updated_at)
             VALUES ({}, 'After', 'after', 1, {AT}, {AT})",
            populated.zephyr
        ),
    );
    assert!(plan > populated.gone_plan, "plan {plan} after deleted plan {}", populated.gone_plan);
    assert!(plan > populated.basic_plan);

    let newest_account = int(conn, "SELECT MAX(id) AS n FROM accounts");
    exec(conn, &format!("DELETE FROM accounts WHERE id = {newest_account}"));
    let account = insert(
        conn,
        &format!("INSERT INTO accounts (email, created_at, updated_at) VALUES ('after@example.com', {AT}, {AT})"),
    );
    assert!(account > newest_account && account > populated.leaver, "account {account}");

    let newest_org = int(conn, "SELECT MAX(id) AS n FROM organizations");
    let its_plans = format!("SELECT COUNT(*) AS n FROM plans WHERE organization_id = {newest_org}");
    assert!(int(conn, &its_plans) > 0);
    // As an approved removal does: memberships first (a plan in use may not be deleted).
    exec(conn, &format!("DELETE FROM memberships WHERE organization_id = {newest_org}"));
    exec(conn, &format!("DELETE FROM organizations WHERE id = {newest_org}"));
    db::org_index::deleted(conn, newest_org).expect("unindex");
    // Foreign keys are enforced again: the plans went with their organization.
    assert_eq!(int(conn, &its_plans), 0);
    let org = insert(
        conn,
        &format!("INSERT INTO organizations (name, name_key, quota_gb, created_at, updated_at) VALUES ('After', 'after', 0, {AT}, {AT})"),
    );
    assert!(org > newest_org && org > populated.vanished_org, "organization {org}");

    let newest_membership = int(conn, "SELECT MAX(id) AS n FROM memberships");
    exec(conn, &format!("DELETE FROM memberships WHERE id = {newest_membership}"));
    let membership = insert(
        conn,
        &format!(
            "INSERT INTO memberships (organization_id, account_id, status, created_at, updated_at)
             VALUES ({org}, {account}, 'active', {AT}, {AT})"
        ),
    );
    assert!(membership > newest_membership, "membership {membership}");
}

/// Migration 000005 on its own: the schema is exactly that of 000004 plus AUTOINCREMENT (every
/// column, default, CHECK, foreign key and index; the planner's statistics kept), the data
/// untouched; and down.sql gives back the 000004 schema with the data still whole.
#[test]
fn migration_000005_changes_only_autoincrement_and_reverts() {
    let (_database, mut conn, populated) = database_at_v4();
    let tables = columns(&mut conn);
    let before = rows(&mut conn, &tables);
    let schema4 = schema(&mut conn);
    let stats = statistics(&mut conn);
    assert!(stats.iter().any(|s| s.starts_with("organizations|")), "demo data analyses: {stats:?}");

    let version = harness(&mut conn).run_next_migration(db::SQLITE_MIGRATIONS).expect("000005").to_string();
    assert_eq!(version, V5);
    assert!(foreign_keys_enforced(&mut conn));
    assert_eq!(schema(&mut conn), schema4);
    assert_eq!(columns(&mut conn), tables);
    assert_same_rows(&rows(&mut conn, &tables), &before);
    assert_eq!(statistics(&mut conn), stats);
    assert_eq!(foreign_key_problems(&mut conn), 0);
    let autoincrement =
        strings(&mut conn, "SELECT name AS s FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%' ORDER BY name");
    let mut rebuilt: Vec<String> = REBUILT.iter().map(|t| (*t).to_owned()).collect();
    rebuilt.sort();
    assert_eq!(autoincrement, rebuilt);
    // Each counter starts at the largest id the data names, deleted rows' included.
    for table in REBUILT {
        let seq = int(&mut conn, &format!("SELECT seq AS n FROM sqlite_sequence WHERE name = '{table}'"));
        assert_eq!(seq, largest_named(&mut conn, table), "{table} counter");
    }
    assert_eq!(largest_named(&mut conn, "accounts"), populated.leaver);
    assert_eq!(largest_named(&mut conn, "organizations"), populated.vanished_org);
    assert_eq!(largest_named(&mut conn, "plans"), populated.gone_plan);

    let reverted = harness(&mut conn).revert_last_migration(db::SQLITE_MIGRATIONS).expect("revert").to_string();
    assert_eq!(reverted, V5);
    assert!(foreign_keys_enforced(&mut conn));
    assert_eq!(schema(&mut conn), schema4);
    assert_same_rows(&rows(&mut conn, &tables), &before);
    assert_eq!(statistics(&mut conn), stats);
    assert!(strings(&mut conn, "SELECT name AS s FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'").is_empty());
}

/// The trap the migration avoids: run where foreign keys stay enforced (as inside diesel's
/// transaction), dropping `accounts` would delete every membership. The rebuild refuses first.
#[test]
fn the_rebuild_refuses_to_run_while_foreign_keys_are_enforced() {
    let (_database, mut conn, _populated) = database_at_v4();
    let tables = columns(&mut conn);
    let before = rows(&mut conn, &tables);
    let enforced = UP_SQL.replacen("PRAGMA foreign_keys = OFF;", "", 1);
    let error = conn.batch_execute(&enforced).expect_err("refused");
    assert!(error.to_string().contains("CHECK constraint failed"), "{error}");
    exec(&mut conn, "ROLLBACK");
    assert_same_rows(&rows(&mut conn, &tables), &before);
    assert!(foreign_keys_enforced(&mut conn));
}

/// A rebuild that fails halfway (here a name it needs is taken) rolls back: the data and the
/// schema as they were, 000005 not recorded, no transaction left open, foreign keys on; once
/// the obstacle is gone it runs.
#[test]
fn a_failed_rebuild_changes_nothing_and_leaves_foreign_keys_on() {
    let (database, mut conn, _populated) = database_at_v4();
    exec(&mut conn, "CREATE TABLE plans_new (id INTEGER PRIMARY KEY)");
    let tables = columns(&mut conn);
    let before = rows(&mut conn, &tables);
    let schema4 = schema(&mut conn);

    let data_dir = database.dir.path().join("data");
    let error = db::backup::migrate_with_backup(&mut conn, &data_dir, chrono::Utc::now().naive_utc())
        .expect_err("the rebuild fails");
    assert!(format!("{error:#}").contains("plans_new"), "{error:#}");
    assert!(foreign_keys_enforced(&mut conn));
    exec(&mut conn, "BEGIN; COMMIT;");
    assert_eq!(applied(&mut conn).first().map(String::as_str), Some(V4));
    assert_eq!(schema(&mut conn), schema4);
    assert_same_rows(&rows(&mut conn, &tables), &before);
    assert_eq!(files_in(&data_dir.join("backups")).len(), 1, "the copy was written first");

    exec(&mut conn, "DROP TABLE plans_new");
    let applied_now = db::run_migrations(&mut conn).expect("migrations");
    assert_eq!(applied_now.first().map(String::as_str), Some(V5));
    assert!(foreign_keys_enforced(&mut conn));
}

/// `orgportal` as an operator runs it, on the given database and data dir.
fn orgportal(url: &str, data_dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgportal"));
    for var in
        ["DATABASE_URL", "ORGPORTAL_ADMIN_PASSWORD", "ORGPORTAL_SECRET_KEY", "ORGPORTAL_SMTP_URL", "ORGPORTAL_DATA_DIR"]
    {
        command.env_remove(var);
    }
    command
        .args(["--database-url", url, "--data-dir"])
        .arg(data_dir)
        .args(["--secret-key", &"k".repeat(64)])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.output().expect("orgportal ran")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// `orgportal migrate` copies a database with pending migrations first and says where; a new
/// database and an up-to-date one get no copy.
#[test]
fn migrate_command_backs_up_only_a_database_with_pending_migrations() {
    let fresh = TestDatabase::sqlite();
    let fresh_data = fresh.dir.path().join("data");
    let output = orgportal(&fresh.url, &fresh_data, &["migrate"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!text(&output).contains("Backed up"), "{}", text(&output));
    assert!(files_in(&fresh_data.join("backups")).is_empty());

    let (old, mut conn, _populated) = database_at_v4();
    let tables = columns(&mut conn);
    let before = rows(&mut conn, &tables);
    let kept = kept_by_later_migrations(&tables);
    let before_kept = rows(&mut conn, &kept);
    drop(conn);
    let data_dir = old.dir.path().join("data");
    let output = orgportal(&old.url, &data_dir, &["migrate"]);
    assert!(output.status.success(), "{}", text(&output));
    let backups = files_in(&data_dir.join("backups"));
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(
        text(&output).contains(&format!("Backed up the database to {}", backups[0].display())),
        "{}",
        text(&output)
    );
    let mut copy = open(&backups[0]);
    assert_eq!(applied(&mut copy).first().map(String::as_str), Some(V4));
    assert_same_rows(&rows(&mut copy, &tables), &before);
    drop(copy);
    let mut migrated = open(&sqlite_path(&old));
    assert!(applied(&mut migrated).iter().any(|v| v == V5));
    assert_same_rows(&rows(&mut migrated, &kept), &before_kept);
    drop(migrated);

    let again = orgportal(&old.url, &data_dir, &["migrate"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("Backed up"));
    assert_eq!(files_in(&data_dir.join("backups")).len(), 1);
}

/// `orgportal backup PATH`: on SQLite a copy that opens and holds the same rows, never written
/// over an existing file; on PostgreSQL a refusal that names pg_dump.
async fn backup_command_copies_sqlite_and_sends_postgres_to_pg_dump(app: TestApp) {
    let target = app.database.dir.path().join("copy.db");
    let target_text = target.display().to_string();
    if app.is_postgres() {
        let output = orgportal(&app.database.url, &app.data_dir(), &["backup", &target_text]);
        assert!(!output.status.success());
        assert!(text(&output).contains("pg_dump --format=custom"), "{}", text(&output));
        assert!(text(&output).contains("pg_restore"), "{}", text(&output));
        assert!(!target.exists());
        return;
    }
    for n in 0..5 {
        app.seed_org(&crate::helpers::SeedOrg {
            name: &format!("Backup Org {n}"),
            contact: &format!("contact{n}@example.com"),
            quota_gb: 10 * n,
            members: 0,
            created_at: app.clock.now(),
        });
    }
    app.insert_account("member@example.com", ADMIN_PASSWORD, false);
    let tables = columns(&mut app.conn());
    let live = rows(&mut app.conn(), &tables);
    assert!(live["organizations"].count >= 6);

    let output = orgportal(&app.database.url, &app.data_dir(), &["backup", &target_text]);
    assert!(output.status.success(), "{}", text(&output));
    let size = std::fs::metadata(&target).expect("the copy exists").len();
    let said = text(&output);
    assert!(said.contains(&target_text), "{said}");
    assert!(said.contains(&format!("{} bytes", orgportal::domain::group_thousands(size as i64))), "{said}");
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o600);
    let mut copy = open(&target);
    assert_eq!(columns(&mut copy), tables);
    assert_same_rows(&rows(&mut copy, &tables), &live);
    assert_eq!(applied(&mut copy), applied(&mut app.conn()));
    drop(copy);

    let bytes = std::fs::read(&target).expect("read the copy");
    let again = orgportal(&app.database.url, &app.data_dir(), &["backup", &target_text]);
    assert!(!again.status.success());
    assert!(text(&again).contains("exists; refusing to overwrite it"), "{}", text(&again));
    assert_eq!(std::fs::read(&target).expect("read the copy"), bytes, "the existing file is untouched");
}
