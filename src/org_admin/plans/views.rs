//! The plans page: the list with an edit form per plan, the add form, and the question where
//! a plan's users go when it is deleted.

use actix_web::http::StatusCode;
use askama::Template;
use serde::Deserialize;

use super::queries::PlanRow;
use crate::domain::{group_thousands, FieldErrors, OrgId, PlanId};
use crate::web::layout::Layout;

/// The add and edit forms, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub quota_gb: String,
    #[serde(default)]
    pub is_default: String,
}

#[derive(Template)]
#[template(path = "plans/list.html")]
pub struct PlansPage {
    pub layout: Layout,
    pub org_id: OrgId,
    pub rows: Vec<PlanRow>,
    pub org_quota: i64,
    pub state: PageState,
}

impl PlansPage {
    fn edit_form_of(&self, row: &PlanRow) -> PlanForm {
        match &self.state.editing {
            Some((id, form, _)) if *id == row.plan.id => form.clone(),
            _ => PlanForm {
                name: row.plan.name.clone(),
                quota_gb: row.plan.quota_gb.to_string(),
                is_default: if row.plan.is_default { "on".into() } else { String::new() },
            },
        }
    }

    fn edit_errors_of(&self, row: &PlanRow) -> FieldErrors {
        match &self.state.editing {
            Some((id, _, errors)) if *id == row.plan.id => errors.clone(),
            _ => FieldErrors::default(),
        }
    }

    fn is_editing(&self, row: &PlanRow) -> bool {
        matches!(&self.state.editing, Some((id, _, _)) if *id == row.plan.id)
    }

    fn users(row: &PlanRow) -> String {
        group_thousands(row.users)
    }

    fn org_quota_text(&self) -> String {
        group_thousands(self.org_quota)
    }
}

/// What the page shows besides the plans, and with which status.
pub struct PageState {
    pub status: StatusCode,
    /// The add form, as typed.
    pub form: PlanForm,
    pub errors: FieldErrors,
    /// The plan whose edit form failed, with what was typed and why.
    pub editing: Option<(PlanId, PlanForm, FieldErrors)>,
    /// A plan in use that was asked to be deleted: (id, name, users).
    pub in_use: Option<(PlanId, String, i64)>,
    /// A refusal about no single field.
    pub refusal: Option<String>,
}

impl PageState {
    pub fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            form: PlanForm::default(),
            errors: FieldErrors::default(),
            editing: None,
            in_use: None,
            refusal: None,
        }
    }
}
