//! `/orgs/{id}/properties`: the Contact Person (who receives removal notices) and the
//! Organization Admin Email (the help address in this organization's emails), changed by the
//! organization's administrators; name, quota and seats shown read-only (platform
//! administrators set those).

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::app::Services;
use crate::audit::{self, Actor, NewEvent};
use crate::auth::OrgAdmin;
use crate::csrf::CsrfForm;
use crate::db::schema::organizations;
use crate::db::{self, org_index, Db, DbConn};
use crate::domain::{fold, group_thousands, EmailAddress, FieldErrors, OrgId};
use crate::error::AppError;
use crate::org_admin::paths;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, see_other};

#[derive(Debug, Clone, Queryable)]
pub struct OrgProperties {
    pub name: String,
    pub quota_gb: i64,
    pub seats: Option<i64>,
    pub contact_email: String,
    pub admin_email: String,
}

fn load(conn: &mut DbConn, org_id: OrgId) -> QueryResult<OrgProperties> {
    organizations::table
        .find(org_id)
        .select((
            organizations::name,
            organizations::quota_gb,
            organizations::seats,
            organizations::contact_email,
            organizations::admin_email,
        ))
        .first(conn)
}

#[derive(Debug, Default, Deserialize)]
pub struct PropertiesForm {
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub admin_email: String,
}

/// Both addresses, checked.
struct Addresses {
    contact: EmailAddress,
    admin: EmailAddress,
}

fn parse(form: &PropertiesForm) -> Result<Addresses, FieldErrors> {
    let mut errors = FieldErrors::default();
    let contact = EmailAddress::parse(&form.contact_email).map_err(|why| errors.add("contact_email", why));
    let admin = EmailAddress::parse(&form.admin_email).map_err(|why| errors.add("admin_email", why));
    match (contact, admin) {
        (Ok(contact), Ok(admin)) => Ok(Addresses { contact, admin }),
        _ => Err(errors),
    }
}

fn save_addresses(
    conn: &mut DbConn,
    actor: &Actor,
    org_id: OrgId,
    new: &Addresses,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    db::write_transaction(conn, |conn| {
        let before = load(conn, org_id)?;
        if before.contact_email == new.contact.as_str() && before.admin_email == new.admin.as_str() {
            return Ok(false);
        }
        diesel::update(organizations::table.find(org_id))
            .set((
                organizations::contact_email.eq(new.contact.as_str()),
                organizations::contact_key.eq(fold(new.contact.as_str())),
                organizations::admin_email.eq(new.admin.as_str()),
                organizations::updated_at.eq(now),
            ))
            .execute(conn)?;
        // The contact person is searchable on the Organizations page.
        org_index::updated(conn, org_id.get())?;
        let details = json!({
            "before": { "contact_email": before.contact_email, "admin_email": before.admin_email },
            "after": { "contact_email": new.contact.as_str(), "admin_email": new.admin.as_str() },
        });
        audit::record(
            conn,
            &NewEvent::in_organization(actor, "organization.properties_changed", &before.name, org_id, &before.name)
                .details(details),
            now,
        )?;
        Ok(true)
    })
}

#[derive(Template)]
#[template(path = "organization/properties.html")]
pub struct PropertiesPage {
    pub layout: Layout,
    pub org_id: OrgId,
    pub org: OrgProperties,
    pub form: PropertiesForm,
    pub errors: FieldErrors,
}

impl PropertiesPage {
    fn quota(&self) -> String {
        format!("{} GB", group_thousands(self.org.quota_gb))
    }

    fn seats(&self) -> String {
        self.org.seats.map_or_else(|| "Unlimited".to_owned(), group_thousands)
    }
}

async fn page(
    admin: &OrgAdmin,
    db: &Db,
    form: Option<PropertiesForm>,
    errors: FieldErrors,
) -> Result<PropertiesPage, AppError> {
    let org_id = admin.org_id;
    let org = db.run(move |conn| load(conn, org_id)).await?;
    let form = form.unwrap_or_else(|| PropertiesForm {
        contact_email: org.contact_email.clone(),
        admin_email: org.admin_email.clone(),
    });
    Ok(PropertiesPage {
        layout: admin.layout("Organization properties", Section::Organization)?.in_org(org_id, org.name.clone()),
        org_id,
        org,
        form,
        errors,
    })
}

/// `GET /orgs/{id}/properties`
pub async fn show(admin: OrgAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    render(&page(&admin, &db, None, FieldErrors::default()).await?)
}

/// `POST /orgs/{id}/properties`
pub async fn save(
    admin: OrgAdmin,
    app: Services,
    CsrfForm(form): CsrfForm<PropertiesForm>,
) -> Result<HttpResponse, AppError> {
    let addresses = match parse(&form) {
        Ok(addresses) => addresses,
        Err(errors) => return render_422(&page(&admin, &app.db, Some(form), errors).await?),
    };
    let org_id = admin.org_id;
    let act = app.act(&admin);
    let changed = app.db.run(move |conn| save_addresses(conn, &act.actor, org_id, &addresses, act.now)).await?;
    let message = if changed { "Properties saved." } else { "Nothing changed." };
    flash::set(admin.session(), FlashKind::Success, message);
    Ok(see_other(&paths::properties(org_id)))
}
