//! Add and Edit organization.

use actix_web::{web, HttpResponse};
use askama::Template;

use super::forms::{NewOrg, OrgChanges, OrgForm};
use super::queries::{self, NameTaken, OrgForEdit, SaveError};
use crate::app::Services;
use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::{group_thousands, FieldErrors, OrgId};
use crate::error::AppError;
use crate::platform::paths;
use crate::platform::AdminForm;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, see_other};

/// What the form edits: a new organization, or an existing one.
pub enum FormMode {
    Add,
    Edit { id: OrgId, is_default: bool, contact_email: String },
}

#[derive(Template)]
#[template(path = "orgs/form.html")]
pub struct OrgFormPage {
    pub layout: Layout,
    pub mode: FormMode,
    pub form: OrgForm,
    pub errors: FieldErrors,
    /// Why adding is disabled (an LDAP connection exists).
    pub ldap_lock: Option<&'static str>,
}

impl OrgFormPage {
    fn heading(&self) -> &'static str {
        match self.mode {
            FormMode::Add => "Add organization",
            FormMode::Edit { .. } => "Edit organization",
        }
    }

    fn action(&self) -> String {
        match &self.mode {
            FormMode::Add => paths::ORGANIZATIONS.into(),
            FormMode::Edit { id, .. } => paths::organization_edit(*id),
        }
    }

    /// The Administrator field: editable when adding, and on the default organization.
    fn admin_editable(&self) -> bool {
        matches!(self.mode, FormMode::Add | FormMode::Edit { is_default: true, .. })
    }

    /// "Administrator" until a contact is set, "Contact Person" after.
    fn admin_label(&self) -> &'static str {
        match &self.mode {
            FormMode::Edit { contact_email, .. } if !contact_email.is_empty() => "Contact Person",
            _ => "Administrator",
        }
    }

    fn admin_hint(&self) -> &'static str {
        match &self.mode {
            FormMode::Add => "Becomes the first organization administrator, the Contact Person and the Organization Admin Email.",
            FormMode::Edit { is_default: true, .. } => {
                "Sets the Contact Person and Organization Admin Email only; add administrators from the organization's own pages."
            }
            FormMode::Edit { .. } => "Only the organization's administrators can change this, on its properties page.",
        }
    }

    fn submit_label(&self) -> &'static str {
        match self.mode {
            FormMode::Add => "Add organization",
            FormMode::Edit { .. } => "Save changes",
        }
    }

    fn title(mode: &FormMode) -> &'static str {
        match mode {
            FormMode::Add => "Add organization",
            FormMode::Edit { .. } => "Edit organization",
        }
    }

    fn new(admin: &PlatformAdmin, mode: FormMode, form: OrgForm, errors: FieldErrors) -> Result<Self, AppError> {
        Ok(Self { layout: admin.layout(Self::title(&mode), Section::Platform)?, mode, form, errors, ldap_lock: None })
    }
}

/// `GET /admin/organizations/new`
pub async fn new_form(admin: PlatformAdmin, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    let mut page = OrgFormPage::new(&admin, FormMode::Add, OrgForm::default(), FieldErrors::default())?;
    page.ldap_lock = db.run(crate::platform::ldap::interlock::organizations_locked).await?;
    render(&page)
}

/// `POST /admin/organizations`
pub async fn create((admin, app, CsrfForm(form)): AdminForm<OrgForm>) -> Result<HttpResponse, AppError> {
    let new_org = match NewOrg::parse(&form) {
        Ok(org) => org,
        Err(errors) => return render_422(&OrgFormPage::new(&admin, FormMode::Add, form, errors)?),
    };
    let saved = {
        let new_org = new_org.clone();
        app.attempt(&admin, move |conn, act| queries::insert_org(conn, act, &new_org)).await?
    };
    match saved {
        Ok(_) => Ok(saved_and_listed(&admin, "added", new_org.name.as_str())),
        Err(NameTaken) => render_422(&OrgFormPage::new(&admin, FormMode::Add, form, name_taken())?),
    }
}

/// Back to the list, filtered to the organization just saved.
fn saved_and_listed(admin: &PlatformAdmin, verb: &str, name: &str) -> HttpResponse {
    flash::set(admin.session(), FlashKind::Success, format!("Organization “{name}” {verb}."));
    see_other(&paths::organizations_named(name))
}

fn name_taken() -> FieldErrors {
    FieldErrors::one("name", "An organization with this name already exists (names are compared ignoring case).")
}

fn edit_mode(org: &OrgForEdit) -> FormMode {
    FormMode::Edit { id: org.id, is_default: org.is_default, contact_email: org.contact_email.clone() }
}

/// The organization the address names, or "Page not found".
async fn load(db: &Db, org_id: OrgId) -> Result<OrgForEdit, AppError> {
    db.run(move |conn| queries::load_for_edit(conn, org_id)).await?.ok_or(AppError::NotFound)
}

/// `GET /admin/organizations/{id}/edit`
pub async fn edit_form(
    admin: PlatformAdmin,
    db: web::Data<Db>,
    path: web::Path<OrgId>,
) -> Result<HttpResponse, AppError> {
    let org = load(&db, path.into_inner()).await?;
    let form = OrgForm {
        name: org.name.clone(),
        quota_gb: org.quota_gb.to_string(),
        seats: org.seats.map(|s| s.to_string()).unwrap_or_default(),
        admin_email: org.contact_email.clone(),
    };
    render(&OrgFormPage::new(&admin, edit_mode(&org), form, FieldErrors::default())?)
}

/// `POST /admin/organizations/{id}/edit`
pub async fn update(
    admin: PlatformAdmin,
    app: Services,
    path: web::Path<OrgId>,
    CsrfForm(mut form): CsrfForm<OrgForm>,
) -> Result<HttpResponse, AppError> {
    let org = load(&app.db, path.into_inner()).await?;
    if !org.is_default {
        // Read-only here: show what is stored, whatever was posted.
        form.admin_email = org.contact_email.clone();
    }
    let changes = match OrgChanges::parse(&form, org.is_default) {
        Ok(changes) => changes,
        Err(errors) => return render_422(&OrgFormPage::new(&admin, edit_mode(&org), form, errors)?),
    };
    let org_id = org.id;
    let saved = {
        let changes = changes.clone();
        app.attempt(&admin, move |conn, act| queries::update_org(conn, act, org_id, &changes)).await?
    };
    let errors = match saved {
        Ok(()) => return Ok(saved_and_listed(&admin, "saved", changes.name.as_str())),
        Err(SaveError::NameTaken) => name_taken(),
        Err(SaveError::BelowUsage { quota_allocated, seats_used }) => {
            let mut errors = FieldErrors::default();
            if let Some(allocated) = quota_allocated {
                errors.add(
                    "quota_gb",
                    format!(
                        "{} GB are allocated to this organization's users; the quota cannot be lower.",
                        group_thousands(allocated)
                    ),
                );
            }
            if let Some(used) = seats_used {
                errors.add("seats", format!("{} seats are in use; the seats cannot be fewer.", group_thousands(used)));
            }
            errors
        }
        // Removed since the form was read: the address names nothing now.
        Err(SaveError::NotFound) => return Err(AppError::NotFound),
    };
    render_422(&OrgFormPage::new(&admin, edit_mode(&org), form, errors)?)
}
