//! `/admin/ldap`: the connections, their forms, and the two directory tests.

use crate::platform::{AdminForm, AdminRowForm};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use diesel::QueryResult;
use serde::Deserialize;

use super::forms::{ConnectionForm, ParsedForm};
use super::queries::{self, Refusal};
use super::views::{ConnectionView, EditPage, ListPage};
use super::{client, interlock};
use crate::app::Services;
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::{group_thousands, FieldErrors};
use crate::error::AppError;
use crate::platform::paths;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::Section;
use crate::web::{render, render_422, render_with, see_other};

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

fn name_taken() -> FieldErrors {
    FieldErrors::one("name", "Another LDAP connection has this name.")
}

/// The list page with the Add form showing `form` (its password never rendered).
async fn list_page(
    admin: &PlatformAdmin,
    db: &Db,
    mut form: ConnectionForm,
    errors: FieldErrors,
) -> Result<ListPage, AppError> {
    let (stored, locked) =
        db.run(|conn| -> QueryResult<_> { Ok((queries::list(conn)?, interlock::ldap_locked(conn)?)) }).await?;
    form.bind_password.clear();
    Ok(ListPage {
        layout: admin.layout("LDAP directory", Section::Platform)?,
        connections: stored.iter().map(ConnectionView::of).collect(),
        locked,
        form,
        errors,
    })
}

/// `GET /admin/ldap`
pub async fn list(admin: PlatformAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    render(&list_page(&admin, &db, ConnectionForm::blank(), FieldErrors::default()).await?)
}

/// `POST /admin/ldap`
pub async fn create((admin, app, CsrfForm(form)): AdminForm<ConnectionForm>) -> Result<HttpResponse, AppError> {
    let key = app.ldap_key.clone();
    let parsed = match ParsedForm::parse(&form, true) {
        Ok(parsed) => parsed,
        Err(errors) => return render_422(&list_page(&admin, &app.db, form, errors).await?),
    };
    let name = parsed.settings.name.clone();
    let saved = app.attempt(&admin, move |conn, act| queries::insert(conn, &key, &act.actor, &parsed, act.now)).await?;
    match saved {
        Ok(id) => {
            flash::set(
                admin.session(),
                FlashKind::Success,
                format!("LDAP connection “{name}” added. Adding organizations is disabled while it exists."),
            );
            Ok(see_other(&paths::ldap_connection(id)))
        }
        Err(Refusal::NameTaken) => render_422(&list_page(&admin, &app.db, form, name_taken()).await?),
        Err(Refusal::Locked(why)) => {
            let mut page = list_page(&admin, &app.db, form, FieldErrors::default()).await?;
            page.locked = Some(why);
            render_with(StatusCode::CONFLICT, &page)
        }
        Err(Refusal::NotFound) => Err(AppError::NotFound),
    }
}

/// The edit page of connection `id`: `form` as posted, or the stored settings.
async fn edit_page(
    admin: &PlatformAdmin,
    db: &Db,
    id: i64,
    form: Option<ConnectionForm>,
    errors: FieldErrors,
) -> Result<EditPage, AppError> {
    let (stored, locked, count) = db
        .run(move |conn| -> QueryResult<_> {
            Ok((queries::load(conn, id)?, interlock::ldap_locked(conn)?, queries::count(conn)?))
        })
        .await?;
    let stored = stored.ok_or(AppError::NotFound)?;
    let mut form = form.unwrap_or_else(|| ConnectionForm::of(&stored.settings));
    form.bind_password.clear();
    Ok(EditPage {
        layout: admin.layout("LDAP connection", Section::Platform)?,
        action: paths::ldap_connection(id),
        stored_name: stored.settings.name,
        locked,
        has_password: stored.has_password,
        last: count == 1,
        form,
        errors,
    })
}

/// `GET /admin/ldap/{id}`
pub async fn edit_form(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render(&edit_page(&admin, &db, path.into_inner(), None, FieldErrors::default()).await?)
}

/// `POST /admin/ldap/{id}`
pub async fn update(
    (admin, app, path, CsrfForm(form)): AdminRowForm<ConnectionForm>,
) -> Result<HttpResponse, AppError> {
    let (id, key) = (path.into_inner(), app.ldap_key.clone());
    let parsed = match ParsedForm::parse(&form, false) {
        Ok(parsed) => parsed,
        Err(errors) => return render_422(&edit_page(&admin, &app.db, id, Some(form), errors).await?),
    };
    let name = parsed.settings.name.clone();
    let saved =
        app.attempt(&admin, move |conn, act| queries::update(conn, &key, &act.actor, id, &parsed, act.now)).await?;
    match saved {
        Ok(()) => {
            flash::set(admin.session(), FlashKind::Success, format!("LDAP connection “{name}” saved."));
            Ok(see_other(&paths::ldap_connection(id)))
        }
        Err(Refusal::NameTaken) => render_422(&edit_page(&admin, &app.db, id, Some(form), name_taken()).await?),
        Err(Refusal::Locked(why)) => {
            let mut page = edit_page(&admin, &app.db, id, Some(form), FieldErrors::default()).await?;
            page.locked = Some(why);
            render_with(StatusCode::CONFLICT, &page)
        }
        Err(Refusal::NotFound) => Err(AppError::NotFound),
    }
}

/// `POST /admin/ldap/{id}/delete`
pub async fn delete((admin, app, path, CsrfForm(_)): AdminRowForm<NoFields>) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let deleted = app.attempt(&admin, move |conn, act| queries::delete(conn, &act.actor, id, act.now)).await?;
    let (name, left) = deleted.map_err(|_| AppError::NotFound)?;
    let message = match left {
        0 => format!("LDAP connection “{name}” deleted. No connection is left: organizations can be added again."),
        1 => format!(
            "LDAP connection “{name}” deleted. 1 connection is left: adding organizations stays disabled until it is deleted."
        ),
        n => format!(
            "LDAP connection “{name}” deleted. {} connections are left: adding organizations stays disabled until the last is deleted.",
            group_thousands(n)
        ),
    };
    flash::set(admin.session(), FlashKind::Success, message);
    Ok(see_other(paths::LDAP))
}

/// Run a directory test off the async executor, with the connection's opened password;
/// the outcome is the flash of its edit page.
async fn run_test<F>(admin: &PlatformAdmin, app: &Services, id: i64, test: F) -> Result<HttpResponse, AppError>
where
    F: FnOnce(&super::forms::ConnectionSettings, &str) -> Result<String, String> + Send + 'static,
{
    let key = app.ldap_key.clone();
    let loaded = app.db.run(move |conn| queries::load_with_password(conn, &key, id)).await?;
    let (stored, password) = loaded.ok_or(AppError::NotFound)?;
    let outcome = match password {
        Err(why) => Err(why),
        Ok(password) => web::block(move || test(&stored.settings, &password))
            .await
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("directory test task failed: {e}")))?,
    };
    match outcome {
        Ok(message) => flash::set(admin.session(), FlashKind::Success, client::bounded(message)),
        Err(message) => flash::set(admin.session(), FlashKind::Warning, client::bounded(message)),
    }
    Ok(see_other(&paths::ldap_connection(id)))
}

/// `POST /admin/ldap/{id}/test`
pub async fn test_connection(
    (admin, app, path, CsrfForm(_)): AdminRowForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    run_test(&admin, &app, path.into_inner(), |settings, password| {
        let count = client::test_connection(settings, password).map_err(|e| format!("Test connection failed. {e}"))?;
        let entries = if count == 1 {
            "1 entry matches".to_owned()
        } else {
            format!("{} entries match", group_thousands(count as i64))
        };
        Ok(format!("Test connection succeeded: {entries} the user filter."))
    })
    .await
}

/// No `Debug`: it holds a person's password.
#[derive(Default, Deserialize)]
pub struct TestSignInForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

/// `POST /admin/ldap/{id}/test-sign-in`
pub async fn test_sign_in(
    (admin, app, path, CsrfForm(form)): AdminRowForm<TestSignInForm>,
) -> Result<HttpResponse, AppError> {
    run_test(&admin, &app, path.into_inner(), move |settings, password| {
        let found = client::test_sign_in(settings, password, &form.email, &form.password)
            .map_err(|e| format!("Test sign-in failed. {e}"))?;
        Ok(format!("Test sign-in succeeded: {} signed in as {}.", form.email.trim(), found.dn))
    })
    .await
}
