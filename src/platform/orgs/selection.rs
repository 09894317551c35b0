//! The Organizations page toolbar: a radio button per row and one button per action. It only
//! routes (303) to the page that does the action, so each action keeps one place and one set
//! of checks.

use actix_web::HttpResponse;
use serde::Deserialize;

use crate::auth::PlatformAdmin;
use crate::csrf::CsrfForm;
use crate::domain::OrgId;
use crate::error::AppError;
use crate::platform::paths;
use crate::web::flash::{self, FlashKind};
use crate::web::{local_path, see_other};

#[derive(Debug, Default, Deserialize)]
pub struct SelectionForm {
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    back: String,
}

/// Where the toolbar sends `action` for organization `org_id`.
fn destination(action: &str, org_id: i64) -> Option<String> {
    match action {
        "edit" => Some(paths::organization_edit(OrgId(org_id))),
        // Removal, and acting on a request, all happen on the removal page, which shows what
        // would be lost and asks the approver for their password.
        "remove" | "cancel" | "decline" | "approve" => Some(paths::removal(OrgId(org_id))),
        _ => None,
    }
}

/// `POST /admin/organizations/selection`
pub async fn route(admin: PlatformAdmin, CsrfForm(form): CsrfForm<SelectionForm>) -> Result<HttpResponse, AppError> {
    let org_id = form.org_id.trim().parse::<i64>().ok().filter(|id| *id > 0);
    match (org_id, destination(form.action.trim(), org_id.unwrap_or(0))) {
        (Some(_), Some(target)) => Ok(see_other(&target)),
        (None, _) => {
            flash::set(
                admin.session(),
                FlashKind::Warning,
                "Select an organization first: use the round button at the start of its row, then choose the action.",
            );
            // Back to the same search, sort and page; anything else goes to the plain list.
            let back = local_path(&form.back);
            let back = if back.starts_with(paths::ORGANIZATIONS) { back } else { paths::ORGANIZATIONS };
            Ok(see_other(back))
        }
        (Some(_), None) => Err(AppError::Unprocessable(
            "Unknown action. Use one of the toolbar's buttons: Edit, Remove, Cancel, Decline or Approve.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_goes_to_the_page_that_does_it() {
        assert_eq!(destination("edit", 7).as_deref(), Some("/admin/organizations/7/edit"));
        for action in ["remove", "cancel", "decline", "approve"] {
            assert_eq!(destination(action, 7).as_deref(), Some("/admin/organizations/7/removal"));
        }
        assert_eq!(destination("delete", 7), None);
        assert_eq!(destination("", 7), None);
    }
}
