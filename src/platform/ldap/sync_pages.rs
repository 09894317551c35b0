//! `/admin/ldap/{id}/sync`: Sync now, and the progress page of the latest run.

use crate::platform::AdminRowForm;
use actix_web::{web, HttpResponse};
use askama::Template;
use diesel::QueryResult;

use super::handlers::NoFields;
use super::queries;
use super::sync::{self, Run};
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::group_thousands;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, see_other};

#[derive(Template)]
#[template(path = "ldap/sync.html")]
pub struct ProgressPage {
    pub layout: Layout,
    pub name: String,
    pub connection_href: String,
    pub action: String,
    pub run: Option<Run>,
}

impl ProgressPage {
    /// Reloads itself while the run goes on: a meta refresh, no script.
    fn refreshes(&self) -> bool {
        self.run.as_ref().is_some_and(Run::is_running)
    }

    fn count(&self, n: &i64) -> String {
        group_thousands(*n)
    }

    fn errors_listed(&self) -> &[String] {
        self.run.as_ref().map(|run| run.counts.error_list.as_slice()).unwrap_or_default()
    }
}

/// `GET /admin/ldap/{id}/sync`
pub async fn progress(admin: PlatformAdmin, db: web::Data<Db>, path: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (stored, run) =
        db.run(move |conn| -> QueryResult<_> { Ok((queries::load(conn, id)?, sync::latest(conn, id)?)) }).await?;
    let stored = stored.ok_or(AppError::NotFound)?;
    render(&ProgressPage {
        layout: admin.layout("LDAP sync", Section::Platform)?,
        name: stored.settings.name,
        connection_href: paths::ldap_connection(id),
        action: paths::ldap_sync(id),
        run,
    })
}

/// `POST /admin/ldap/{id}/sync`: take the lease here, then run on a thread of its own and
/// answer at once; the progress page follows it.
pub async fn sync_now((admin, app, path, CsrfForm(_)): AdminRowForm<NoFields>) -> Result<HttpResponse, AppError> {
    let (id, key) = (path.into_inner(), app.ldap_key.clone());
    let holder = sync::holder();
    let now = app.clock.now();
    let begun = {
        let (holder, key) = (holder.clone(), key.clone());
        app.db
            .run(move |conn| -> QueryResult<_> {
                // A password that cannot be opened is said now, not by a run that fails later.
                Ok(match queries::load_with_password(conn, &key, id)? {
                    None => None,
                    Some((_, Err(why))) => Some(Err(why)),
                    Some((_, Ok(_))) => Some(Ok(sync::begin(conn, id, &holder, now)?)),
                })
            })
            .await?
    };
    match begun.ok_or(AppError::NotFound)? {
        Err(why) => flash::set(admin.session(), FlashKind::Warning, format!("Sync not started. {why}")),
        Ok(None) => flash::set(admin.session(), FlashKind::Warning, "A sync of this connection is already running."),
        Ok(Some(sync_id)) => {
            let (db, clock, key) = (app.db.get_ref().clone(), app.clock.clone().into_inner(), key.get_ref().clone());
            std::thread::Builder::new()
                .name("ldap-sync".into())
                .spawn(move || {
                    let ran = db
                        .get()
                        .map_err(anyhow::Error::from)
                        .and_then(|mut conn| sync::carry_out(&mut conn, &key, &clock, id, sync_id, &holder));
                    if let Err(e) = ran {
                        log::warn!("LDAP sync of connection {id}: {e:#}");
                    }
                })
                .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot start the sync: {e}")))?;
            flash::set(admin.session(), FlashKind::Success, "Sync started.");
        }
    }
    Ok(see_other(&paths::ldap_sync(id)))
}
