//! `/account` and `POST /account/password`.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, OwnMembership};
use crate::audit::{self, NewEvent};
use crate::auth::password::{check_policy, Passwords};
use crate::auth::{session, CurrentAccount};
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::{self, Db};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, see_other};

#[derive(Template)]
#[template(path = "accounts/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub email: String,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    pub memberships: Vec<OwnMembership>,
    pub errors: FieldErrors,
}

async fn account_page(account: &CurrentAccount, db: &Db, errors: FieldErrors) -> Result<AccountPage, AppError> {
    let account_id = account.id();
    let memberships = db.run(move |conn| queries::own_memberships(conn, account_id)).await?;
    Ok(AccountPage {
        layout: account.layout("Your account", Section::Account)?,
        email: account.email().to_owned(),
        is_platform_admin: account.account.is_platform_admin,
        must_change_password: account.account.must_change_password,
        memberships,
        errors,
    })
}

/// `GET /account`
pub async fn show(account: CurrentAccount, db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    render(&account_page(&account, &db, FieldErrors::default()).await?)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /account/password`: the current password is required; every other session ends.
pub async fn change_password(
    account: CurrentAccount,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    passwords: web::Data<Passwords>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = account.id();
    let stored = db.run(move |conn| crate::auth::queries::password_hash(conn, account_id)).await?;
    let mut errors = FieldErrors::default();
    if form.current_password.is_empty() {
        errors.add("current_password", "Enter your current password.");
    } else if !passwords.verify(form.current_password.clone(), stored).await? {
        errors.add("current_password", "This is not your current password.");
    }
    if let Err(why) = check_policy(&form.password, account.email()) {
        errors.add("password", why);
    } else if form.password == form.current_password {
        errors.add("password", "Choose a password different from the current one.");
    }
    if form.password_confirm != form.password {
        errors.add("password_confirm", "The two new passwords differ.");
    }
    if !errors.is_empty() {
        // Passwords are never echoed back into the page.
        return render_422(&account_page(&account, &db, errors).await?);
    }

    let hash = passwords.hash(form.password).await?;
    let actor = account.actor(client);
    let now = clock.now();
    let epoch = db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let epoch = queries::set_password(conn, account_id, &hash, now)?;
                audit::record(conn, &NewEvent::platform(&actor, "account.password_changed", &actor.email), now)?;
                Ok::<_, diesel::result::Error>(epoch)
            })
        })
        .await?;
    session::adopt_epoch(account.session(), epoch)?;
    flash::set(
        account.session(),
        FlashKind::Success,
        "Your password is changed. Every other session of yours has ended.",
    );
    Ok(see_other("/account"))
}
