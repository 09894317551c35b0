//! `POST /account/profile`: the person's display name.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::handlers::account_page_with_name;
use super::queries;
use crate::audit::{self, NewEvent};
use crate::auth::CurrentAccount;
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::{self, Db};
use crate::domain::{DisplayName, FieldErrors};
use crate::error::AppError;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::{render_422, see_other};

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

/// `POST /account/profile`: change one's display name (shown on users lists, in the audit
/// trail and in emails).
pub async fn update(
    account: CurrentAccount,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    config: web::Data<crate::config::Config>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let name = match DisplayName::parse(&form.display_name) {
        Ok(name) => name,
        Err(why) => {
            let typed: String = form.display_name.chars().filter(|c| !c.is_control()).take(400).collect();
            let errors = FieldErrors::one("display_name", why);
            return render_422(
                &account_page_with_name(&account, &db, &config, clock.now(), errors, Some(typed)).await?,
            );
        }
    };
    let account_id = account.id();
    let actor = account.actor(client);
    let now = clock.now();
    db.run(move |conn| {
        db::write_transaction(conn, |conn| {
            let before = queries::display_name(conn, account_id)?;
            queries::set_display_name(conn, account_id, &name, now)?;
            let event = NewEvent::platform(&actor, "account.name_changed", &actor.email)
                .details(serde_json::json!({ "before": { "name": before }, "after": { "name": name.as_str() } }));
            audit::record(conn, &event, now)?;
            Ok::<_, diesel::result::Error>(())
        })
    })
    .await?;
    flash::set(account.session(), FlashKind::Success, "Your name is changed.");
    Ok(see_other("/account"))
}
