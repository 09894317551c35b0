//! `/account`: the account's organizations, its password and its sessions.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, OwnMembership};
use super::AccountForm;
use crate::app::Services;
use crate::auth::password::check_policy;
use crate::auth::session::{self, SessionRow};
use crate::auth::CurrentAccount;
use crate::csrf::CsrfForm;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, see_other};

#[derive(Template)]
#[template(path = "accounts/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub email: String,
    /// The name as stored, or as typed into a refused profile form.
    pub display_name: String,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    pub memberships: Vec<OwnMembership>,
    pub sessions: Vec<SessionRow>,
    /// The session of the request showing the page ("this one").
    pub current_session_id: i64,
    pub errors: FieldErrors,
    /// An act refused as a whole (409), said at the top.
    pub refusal: Option<String>,
    pub second_factor: crate::second_factor::queries::Status,
    /// Why this account must keep a second factor, if it must.
    pub second_factor_required: Option<String>,
}

/// The account page, with `errors` beside the fields of a refused form.
pub async fn account_page(
    account: &CurrentAccount,
    app: &Services,
    errors: FieldErrors,
) -> Result<AccountPage, AppError> {
    account_page_with_name(account, app, errors, None).await
}

/// The account page; `typed_name` is the name of a refused profile form, shown as typed.
pub(super) async fn account_page_with_name(
    account: &CurrentAccount,
    app: &Services,
    errors: FieldErrors,
    typed_name: Option<String>,
) -> Result<AccountPage, AppError> {
    let (account_id, now) = (account.id(), app.clock.now());
    let (is_admin, require_admin) = (account.account.is_platform_admin, app.config.require_admin_2fa);
    let (memberships, sessions, stored_name, second_factor, required) = app
        .db
        .run(move |conn| {
            Ok::<_, diesel::result::Error>((
                queries::own_memberships(conn, account_id)?,
                session::list_of(conn, account_id, now)?,
                queries::display_name(conn, account_id)?,
                crate::second_factor::queries::status(conn, account_id)?,
                crate::second_factor::queries::requirement(conn, account_id, is_admin, require_admin)?,
            ))
        })
        .await?;
    Ok(AccountPage {
        layout: account.layout("Your account", Section::Account)?,
        email: account.email().to_owned(),
        display_name: typed_name.unwrap_or(stored_name),
        is_platform_admin: account.account.is_platform_admin,
        must_change_password: account.account.must_change_password,
        memberships,
        sessions,
        current_session_id: account.session_id,
        errors,
        refusal: None,
        second_factor,
        second_factor_required: required.map(|r| r.explain()),
    })
}

/// Back to the account page, with what was done.
pub(super) fn done(account: &CurrentAccount, message: impl Into<String>) -> HttpResponse {
    flash::set(account.session(), FlashKind::Success, message.into());
    see_other("/account")
}

/// `GET /account`
pub async fn show(account: CurrentAccount, app: Services) -> Result<HttpResponse, AppError> {
    render(&account_page(&account, &app, FieldErrors::default()).await?)
}

/// A field left out of the request reads as empty, as in every form here.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    password: String,
    password_confirm: String,
}

/// `POST /account/password`: the current password is required; every other session ends.
pub async fn change_password(
    (account, app, CsrfForm(form)): AccountForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = account.id();
    let mut errors = FieldErrors::default();
    if form.current_password.is_empty() {
        errors.add("current_password", "Enter your current password.");
    } else if !app.is_password_of(account_id, &form.current_password).await? {
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
        return render_422(&account_page(&account, &app, errors).await?);
    }

    let hash = app.passwords.hash(form.password).await?;
    let keep = account.session_id;
    let ended = app
        .write(&account, move |conn, act| {
            queries::set_password(conn, account_id, &hash, act.now)?;
            let ended = session::end_all_of(conn, account_id, Some(keep))?;
            act.record_own(conn, "account.password_changed", serde_json::json!({ "other sessions ended": ended }))?;
            Ok(ended)
        })
        .await?;
    // A new CSRF token, so a form copied before the change is stale.
    crate::csrf::rotate(account.session())?;
    Ok(done(
        &account,
        match ended {
            0 => "Your password is changed.".to_owned(),
            1 => "Your password is changed. Your one other session has ended.".to_owned(),
            n => format!("Your password is changed. Your {n} other sessions have ended."),
        },
    ))
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /account/sessions/{id}/end`: sign out one of one's own sessions (this one included).
pub async fn end_session(
    account: CurrentAccount,
    app: Services,
    path: web::Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    // Another account's session, or no session at all, look the same: nothing to end here.
    let Ok(session_id) = path.into_inner().parse::<i64>() else {
        return Err(AppError::NotFound);
    };
    let account_id = account.id();
    let ended = app
        .write(&account, move |conn, act| {
            let ended = session::end_one_of(conn, account_id, session_id)?;
            if ended {
                act.record_own(conn, "account.session_ended", serde_json::json!({ "session": session_id }))?;
            }
            Ok(ended)
        })
        .await?;
    if !ended {
        return Err(AppError::NotFound);
    }
    if session_id == account.session_id {
        session::end_cookie(account.session());
        flash::set(account.session(), FlashKind::Success, "You are signed out.");
        return Ok(see_other("/login"));
    }
    Ok(done(&account, "That session is signed out."))
}

/// `POST /account/sessions/end-others`: sign out everywhere but here.
pub async fn end_other_sessions((account, app, CsrfForm(_)): AccountForm<NoFields>) -> Result<HttpResponse, AppError> {
    let (account_id, keep) = (account.id(), account.session_id);
    let ended = app
        .write(&account, move |conn, act| {
            let ended = session::end_all_of(conn, account_id, Some(keep))?;
            act.record_own(conn, "account.other_sessions_ended", serde_json::json!({ "sessions ended": ended }))?;
            Ok(ended)
        })
        .await?;
    Ok(done(
        &account,
        match ended {
            0 => "You had no other session.".to_owned(),
            1 => "Your one other session is signed out.".to_owned(),
            n => format!("Your {n} other sessions are signed out."),
        },
    ))
}
