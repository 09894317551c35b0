//! `POST /account/profile`: the person's display name.

use actix_web::HttpResponse;
use serde::Deserialize;

use super::handlers::{account_page_with_name, done};
use super::queries;
use super::AccountForm;
use crate::csrf::CsrfForm;
use crate::domain::{DisplayName, FieldErrors};
use crate::error::AppError;
use crate::web::render_422;

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

/// `POST /account/profile`: change one's display name (shown on users lists, in the audit
/// trail and in emails).
pub async fn update((account, app, CsrfForm(form)): AccountForm<ProfileForm>) -> Result<HttpResponse, AppError> {
    let name = match DisplayName::parse(&form.display_name) {
        Ok(name) => name,
        Err(why) => {
            let typed: String = form.display_name.chars().filter(|c| !c.is_control()).take(400).collect();
            let errors = FieldErrors::one("display_name", why);
            return render_422(&account_page_with_name(&account, &app, errors, Some(typed)).await?);
        }
    };
    let account_id = account.id();
    app.write(&account, move |conn, act| {
        let before = queries::display_name(conn, account_id)?;
        queries::set_display_name(conn, account_id, &name, act.now)?;
        let details = serde_json::json!({ "before": { "name": before }, "after": { "name": name.as_str() } });
        act.record_own(conn, "account.name_changed", details)
    })
    .await?;
    Ok(done(&account, "Your name is changed."))
}
