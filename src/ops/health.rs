//! `/healthz` (is the process alive) and `/readyz` (may a load balancer send it traffic).

use std::collections::BTreeSet;
use std::time::Duration;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use diesel::migration::MigrationSource;
use diesel::prelude::*;

use crate::db::{Db, DbConn, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// How long `/readyz` waits for the database: less than a load balancer's check timeout, so a
/// hung database reads as "not ready", not as a check that timed out.
const DATABASE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

diesel::table! {
    /// diesel's own record of applied migrations (read-only here).
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// `GET /healthz`: 200 `ok` while the process answers. Liveness only, no database: a
/// supervisor restarts an instance that fails it, and restarting cannot mend a database that
/// is down; taking the instance out of rotation is `/readyz`'s job.
pub async fn healthz() -> HttpResponse {
    plain(HttpResponse::Ok(), "ok")
}

/// `GET /readyz`: 200 `ready` when the database answers and every embedded migration is
/// applied; else 503 with the reason in one line. With a read replica, a second line tells
/// how it is doing; a replica that is down or lagging leaves the instance ready, since list
/// pages then read the primary.
pub async fn readyz(db: web::Data<Db>) -> HttpResponse {
    let replica = db.replica().map(|replica| format!("\nreplica: {}", replica.health().describe())).unwrap_or_default();
    match readiness(&db).await {
        Ok(()) => plain(HttpResponse::Ok(), &format!("ready{replica}")),
        Err(reason) => plain(HttpResponse::ServiceUnavailable(), &format!("not ready: {reason}{replica}")),
    }
}

/// Every check, first failure wins.
async fn readiness(db: &Db) -> Result<(), String> {
    let checked = actix_web::rt::time::timeout(DATABASE_ANSWER_TIMEOUT, db.run(pending_migrations));
    match checked.await {
        Err(_) => Err(format!("the database gave no answer within {} s", DATABASE_ANSWER_TIMEOUT.as_secs())),
        Ok(Err(error)) => {
            log::warn!("readiness check: {error}");
            Err("the database does not answer".into())
        }
        Ok(Ok(pending)) => match pending.first() {
            None => Ok(()),
            Some(first) => Err(format!("{} migration(s) pending, the first {first}", pending.len())),
        },
    }
}

/// The embedded migrations the database has not recorded, oldest first. Reads only (diesel's
/// harness would create its table on the way), so it works on a read-only connection too.
pub fn pending_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let embedded = match conn {
        DbConn::Pg(_) => versions(MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)),
        DbConn::Sqlite(_) => versions(MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)),
    }
    .map_err(|e| anyhow::anyhow!("cannot list the embedded migrations: {e}"))?;
    let applied: BTreeSet<String> = __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .load::<String>(conn)
        .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?
        .into_iter()
        .collect();
    Ok(embedded.into_iter().filter(|version| !applied.contains(version)).collect())
}

type Migrations<DB> = diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<DB>>>>;

fn versions<DB: diesel::backend::Backend>(migrations: Migrations<DB>) -> diesel::migration::Result<BTreeSet<String>> {
    Ok(migrations?.iter().map(|m| m.name().version().to_string()).collect())
}

/// A tiny plain-text answer that no cache or proxy keeps.
fn plain(mut builder: actix_web::HttpResponseBuilder, text: &str) -> HttpResponse {
    builder
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(text.to_owned())
}
