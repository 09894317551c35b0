//! `orgportal demo-data --members N`: `N` memberships in the default organization, for the
//! users list at scale. Every status (mostly active; some invited, awaiting validation and
//! removed), accounts with display names (ties included), varied flags, quotas and plans.
//!
//! Rows are generated inside the database (`INSERT … SELECT` over a number sequence) in
//! transactions of `CHUNK` rows; each transaction also moves the organization's seat and quota
//! counters, so a server reading the same database shows the new rows and totals at once. The
//! memberships carry their sort keys from the start (the migration's triggers skip such rows),
//! and the accounts' search index is kept by its triggers.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{self, account_index, DbConn};
use crate::domain::fold;

/// Rows per transaction: large enough to amortise the commit, short enough that a server
/// writing the same SQLite database waits well under its busy timeout.
const CHUNK: u64 = 250_000;

const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Émile",
    "Fatima",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kateřina",
    "Lars",
    "Maria",
    "Noah",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Søren",
    "Tariq",
    "Ulla",
    "Viktor",
    "Wen",
    "Xenia",
    "Yusuf",
    "Zoë",
];

const SURNAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Smith",
    "Johnson",
    "García",
    "Martínez",
    "Rossi",
    "Bianchi",
    "Dubois",
    "Lefèvre",
    "Nowak",
    "Kowalski",
    "Novák",
    "Svensson",
    "Nielsen",
    "Jansen",
    "de Vries",
    "Silva",
    "Santos",
    "O'Brien",
    "Murphy",
    "Tanaka",
    "Suzuki",
    "Kim",
    "Park",
    "Nguyen",
    "Chen",
    "Wang",
    "Öztürk",
    "Yılmaz",
    "Ivanova",
    "Papadopoulos",
    "Abara",
];

/// The default organization's plans the members are put on (name, quota in GB).
const PLANS: &[(&str, i64)] = &[("Trial", 0), ("Basic", 1), ("Plus", 2)];

/// Add `n` memberships to the default organization; returns how many were added.
pub fn load_members(conn: &mut DbConn, n: u64, now: NaiveDateTime) -> anyhow::Result<u64> {
    load_members_with_progress(conn, n, now, |_| {})
}

/// `load_members`, calling `progress` with the memberships added after each transaction.
pub fn load_members_with_progress(
    conn: &mut DbConn,
    n: u64,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<u64> {
    let org_id: i64 = {
        use crate::db::schema::organizations;
        organizations::table
            .filter(organizations::is_default.eq(true))
            .select(organizations::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| anyhow::anyhow!("there is no default organization"))?
    };
    let plans = ensure_plans(conn, org_id, now)?;
    account_index::bulk_start(conn)?;
    let mut added = 0u64;
    let outcome = (|| -> anyhow::Result<()> {
        while added < n {
            let take = (n - added).min(CHUNK);
            db::write_transaction(conn, |conn| add_chunk(conn, org_id, &plans, take, n, added, now))?;
            added += take;
            progress(added);
        }
        Ok(())
    })();
    account_index::bulk_done(conn)?;
    outcome?;
    if let DbConn::Pg(_) = conn {
        // VACUUM too: index-only scans (the list's counts) need the visibility map it sets.
        // One statement per call: VACUUM refuses to run inside a transaction.
        diesel::connection::SimpleConnection::batch_execute(conn, "VACUUM ANALYZE memberships")?;
        diesel::connection::SimpleConnection::batch_execute(conn, "VACUUM ANALYZE accounts")?;
    }
    Ok(added)
}

/// The default organization's demo plans (created when missing): id, folded name and quota.
fn ensure_plans(conn: &mut DbConn, org_id: i64, now: NaiveDateTime) -> QueryResult<Vec<(i64, String, i64)>> {
    use crate::db::schema::plans;
    let mut found = Vec::new();
    for (name, quota) in PLANS {
        let key = fold(name);
        let existing: Option<(i64, i64)> = plans::table
            .filter(plans::organization_id.eq(org_id))
            .filter(plans::name_key.eq(&key))
            .select((plans::id, plans::quota_gb))
            .first(conn)
            .optional()?;
        let (id, quota) = match existing {
            Some(plan) => plan,
            None => {
                diesel::insert_into(plans::table)
                    .values((
                        plans::organization_id.eq(org_id),
                        plans::name.eq(name),
                        plans::name_key.eq(&key),
                        plans::quota_gb.eq(quota),
                        plans::is_default.eq(false),
                        plans::created_at.eq(now),
                        plans::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                plans::table
                    .filter(plans::organization_id.eq(org_id))
                    .filter(plans::name_key.eq(&key))
                    .select((plans::id, plans::quota_gb))
                    .first(conn)?
            }
        };
        found.push((id, key, quota));
    }
    Ok(found)
}

/// SQL text literal of our own constant text (quotes doubled).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `(i, display, key)` rows of a name list, as a `VALUES` list.
fn names_table(names: &[&str]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("({i}, {}, {})", literal(name), literal(&fold(name))))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(QueryableByName)]
struct Figure {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The numbers `from..=to` as `seq(k)`, the first names and surnames as tables, and each
/// number's creation time (`created`): the loads spread over the days before `now`, three
/// memberships a second (ties on Added).
fn preamble(conn: &DbConn, total: u64, now: NaiveDateTime) -> (String, String) {
    let names = format!(
        "firsts(i, display, fkey) AS (VALUES {}), lasts(i, display, lkey) AS (VALUES {})",
        names_table(FIRST_NAMES),
        names_table(SURNAMES)
    );
    let now = now.format("%Y-%m-%d %H:%M:%S").to_string();
    match conn {
        DbConn::Sqlite(_) => (
            format!("WITH RECURSIVE seq(k) AS (SELECT ?1 UNION ALL SELECT k + 1 FROM seq WHERE k < ?2), {names}"),
            format!("datetime('{now}', '-' || (({total} - k) / 3) || ' seconds')"),
        ),
        DbConn::Pg(_) => (
            format!("WITH seq(k) AS (SELECT generate_series($1::bigint, $2::bigint)), {names}"),
            format!("(TIMESTAMP '{now}' - (({total} - k) / 3) * INTERVAL '1 second')"),
        ),
    }
}

/// Numbers of the sequence `k` (1-based over the whole load) decide each row: status by
/// `k % 100` (3 % invited, 2 % awaiting validation, 5 % removed, the rest active), names from
/// the lists (so names repeat), flags and plans by other moduli.
fn add_chunk(
    conn: &mut DbConn,
    org_id: i64,
    plans: &[(i64, String, i64)],
    take: u64,
    total: u64,
    done: u64,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    // Emails are numbered from the largest account id, so every run adds new addresses.
    let base: Figure = diesel::sql_query("SELECT COALESCE(MAX(id), 0) AS n FROM accounts").get_result(conn)?;
    let first_membership: Figure =
        diesel::sql_query("SELECT COALESCE(MAX(id), 0) AS n FROM memberships").get_result(conn)?;
    let (from, to) = (done as i64 + 1, (done + take) as i64);
    let (with, created) = preamble(conn, total, now);
    let email = format!("'member' || ({} + k) || '@members.example'", base.n);
    let invited = "k % 100 < 3";
    let (f, s) = (FIRST_NAMES.len(), SURNAMES.len());
    let names = format!("JOIN firsts ON firsts.i = k % {f} JOIN lasts ON lasts.i = (k / {f}) % {s}");
    run(
        conn,
        &format!(
            "{with} INSERT INTO accounts (email, display_name, name_key, status, created_at, updated_at) \
             SELECT {email}, \
             CASE WHEN {invited} THEN '' ELSE firsts.display || ' ' || lasts.display END, \
             CASE WHEN {invited} THEN '' ELSE firsts.fkey || ' ' || lasts.lkey END, \
             CASE WHEN {invited} THEN 'invited' ELSE 'active' END, {created}, {created} \
             FROM seq {names}"
        ),
        from,
        to,
    )?;
    // A quarter without a plan; the rest on one of the plans, whose quota they take.
    let plan_of = |column: &str| {
        let mut case = String::from("CASE k % 4");
        for (i, (id, key, quota)) in plans.iter().enumerate() {
            let value = match column {
                "id" => id.to_string(),
                "key" => literal(key),
                _ => quota.to_string(),
            };
            case.push_str(&format!(" WHEN {} THEN {value}", i + 1));
        }
        let none = match column {
            "id" => "NULL",
            "key" => "''",
            _ => "(CASE WHEN k % 10 < 7 THEN 0 WHEN k % 10 < 9 THEN 1 ELSE 5 END)",
        };
        format!("{case} ELSE {none} END")
    };
    let boolean = |condition: &str| match conn {
        DbConn::Sqlite(_) => format!("({condition})"),
        DbConn::Pg(_) => format!("({condition})::boolean"),
    };
    let status = "CASE WHEN k % 100 < 3 THEN 'invited' WHEN k % 100 < 5 THEN 'awaiting_validation' \
                  WHEN k % 100 < 10 THEN 'removed' ELSE 'active' END";
    run(
        conn,
        &format!(
            "{with} INSERT INTO memberships (organization_id, account_id, status, is_delegate, unsigned_containers, \
             release_protections, recover, no_second_factor, quota_gb, plan_id, created_at, updated_at, removed_at, \
             awaiting_since, sort_email, sort_name, sort_plan) \
             SELECT {org_id}, accounts.id, {status}, {}, {}, {}, {}, {}, {}, {}, {created}, {created}, \
             CASE WHEN k % 100 BETWEEN 5 AND 9 THEN {created} END, \
             CASE WHEN k % 100 BETWEEN 3 AND 4 THEN {created} END, \
             accounts.email, accounts.name_key, {} \
             FROM seq JOIN accounts ON accounts.email = {email}",
            boolean("k % 997 = 0"),
            boolean("k % 3 = 0"),
            boolean("k % 5 = 0"),
            boolean("k % 7 = 0"),
            boolean("k % 11 = 0"),
            plan_of("quota"),
            plan_of("id"),
            plan_of("key"),
        ),
        from,
        to,
    )?;
    // The seat and quota counters take what was added and not removed; the organization's
    // limits grow to fit, so the page's "Available" figures stay meaningful. (Quotas average
    // under 1 GB, so a million members stay within the 1,000,000 GB an organization may have.)
    let counted = |conn: &mut DbConn, what: &str| -> QueryResult<i64> {
        let row: Figure = diesel::sql_query(format!(
            "SELECT {what} AS n FROM memberships WHERE id > {} AND organization_id = {org_id} AND status <> 'removed'",
            first_membership.n
        ))
        .get_result(conn)?;
        Ok(row.n)
    };
    let seats = counted(conn, "COUNT(*)")?;
    let quota = counted(conn, "CAST(COALESCE(SUM(quota_gb), 0) AS BIGINT)")?;
    diesel::sql_query(format!(
        "UPDATE organizations SET member_count = member_count + {seats}, \
         quota_allocated_gb = quota_allocated_gb + {quota}, \
         quota_gb = CASE WHEN quota_gb < quota_allocated_gb + {quota} THEN quota_allocated_gb + {quota} ELSE quota_gb END, \
         seats = CASE WHEN seats < member_count + {seats} THEN member_count + {seats} ELSE seats END \
         WHERE id = {org_id}"
    ))
    .execute(conn)?;
    Ok(())
}

/// One generated statement over the numbers `from..=to`.
fn run(conn: &mut DbConn, statement: &str, from: i64, to: i64) -> QueryResult<usize> {
    match conn {
        DbConn::Sqlite(sqlite) => {
            diesel::sql_query(statement).bind::<BigInt, _>(from).bind::<BigInt, _>(to).execute(sqlite)
        }
        DbConn::Pg(pg) => diesel::sql_query(statement).bind::<BigInt, _>(from).bind::<BigInt, _>(to).execute(pg),
    }
}
