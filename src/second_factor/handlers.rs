//! The second factor on `/account/2fa` (enrol, re-enrol, new recovery codes, turn off) and its
//! break glass: `POST /admin/administrators/{account_id}/reset-2fa` and
//! `orgportal admin reset-2fa EMAIL`, both through `reset`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use super::queries;
use super::views::{EnrolPage, Purpose, RecoveryCodesPage};
use super::{Keys, Secret};
use crate::accounts::AccountForm;
use crate::app::Act;
use crate::app::Services;
use crate::audit::{self, NewEvent};
use crate::auth::CurrentAccount;
use crate::csrf::CsrfForm;
use crate::db::schema::accounts;
use crate::db::{self, DbConn};
use crate::domain::FieldErrors;
use crate::error::{refusals, AppError, Failure};
use crate::platform::admins;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::Section;
use crate::web::{render, render_422, see_other};

/// A pending secret older than this is not shown again; a new one is made.
const PENDING_REUSE: Duration = Duration::hours(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/2fa", web::get().to(enrol_page))
        .route("/account/2fa", web::post().to(confirm))
        .route("/account/2fa/new", web::post().to(begin))
        .route("/account/2fa/recovery-codes", web::post().to(new_recovery_codes))
        .route("/account/2fa/disable", web::post().to(disable));
}

/// The pending secret to show on `/account/2fa`: the one shown before if recent (so a
/// reload does not invalidate what the app scanned), else a new one.
fn pending_for_page(
    conn: &mut DbConn,
    keys: &Keys,
    account_id: i64,
    now: NaiveDateTime,
) -> Result<Secret, queries::SecretError> {
    if let Some(pending) = queries::pending_secret(conn, keys, account_id)? {
        if now - pending.created_at < PENDING_REUSE {
            return Ok(pending.secret);
        }
    }
    let secret = Secret::generate();
    queries::put_pending(conn, keys, account_id, &secret, now)?;
    Ok(secret)
}

fn enrol_page_for(
    account: &CurrentAccount,
    secret: &Secret,
    replacing: bool,
    error: Option<&'static str>,
) -> Result<EnrolPage, AppError> {
    let mut page = EnrolPage::new(
        account.layout("Set up two-step sign-in", Section::Account)?,
        secret,
        account.email(),
        "/account/2fa",
        Purpose::Account,
        error,
    );
    page.replacing = replacing;
    Ok(page)
}

/// `GET /account/2fa`: a first set-up begun with `POST /account/2fa/new`, again (a reload, a
/// second look). Reads only; without a recent set-up it sends the person to begin one. A
/// replacement (already enrolled) is shown only in the answer to the password-checked POST.
pub async fn enrol_page(account: CurrentAccount, app: Services) -> Result<HttpResponse, AppError> {
    let (account_id, keys, now) = (account.id(), app.keys.get_ref().clone(), app.clock.now());
    let (pending, enrolled) = app
        .db
        .run(move |conn| {
            Ok::<_, queries::SecretError>((
                queries::pending_secret(conn, &keys, account_id)?,
                queries::is_enrolled(conn, account_id)?,
            ))
        })
        .await?;
    match pending.filter(|p| !enrolled && now - p.created_at < PENDING_REUSE) {
        Some(pending) => render(&enrol_page_for(&account, &pending.secret, enrolled, None)?),
        None => Ok(see_other("/account#second-factor")),
    }
}

/// The field of the account page's two-step form that takes the current password.
const PASSWORD_FIELD: &str = "second_factor_password";

/// When the current password is asked for.
#[derive(PartialEq, Eq)]
enum Ask {
    Always,
    /// Setting up is free; replacing a factor already enrolled is not.
    IfEnrolled,
}

/// The account's current password again before its second factor changes, so a session taken
/// over is not enough to replace, renew or remove it (nor to see a new secret). `Some(page)`:
/// refused, the account page with the reason beside the field (422).
async fn refused_password(
    account: &CurrentAccount,
    app: &Services,
    typed: &str,
    ask: Ask,
) -> Result<Option<HttpResponse>, AppError> {
    let account_id = account.id();
    if ask == Ask::IfEnrolled && !app.db.run(move |conn| queries::is_enrolled(conn, account_id)).await? {
        return Ok(None);
    }
    let mut errors = FieldErrors::default();
    if typed.is_empty() {
        errors.add(PASSWORD_FIELD, "Enter your current password.");
    } else if !app.is_password_of(account_id, typed).await? {
        errors.add(PASSWORD_FIELD, "This is not your current password.");
    }
    if errors.is_empty() {
        return Ok(None);
    }
    let page = crate::accounts::account_page(account, app, errors).await?;
    render_422(&page).map(Some)
}

#[derive(Deserialize)]
pub struct CurrentPasswordForm {
    #[serde(default)]
    current_password: String,
}

/// `POST /account/2fa/new`: begin setting up, or move to a new phone (then with the current
/// password): a pending secret, the recent one if there is one, shown with its QR code.
pub async fn begin((account, app, CsrfForm(form)): AccountForm<CurrentPasswordForm>) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refused_password(&account, &app, &form.current_password, Ask::IfEnrolled).await? {
        return Ok(refused);
    }
    let (account_id, keys, now) = (account.id(), app.keys.get_ref().clone(), app.clock.now());
    let (secret, enrolled) = app
        .db
        .run(move |conn| {
            let secret = pending_for_page(conn, &keys, account_id, now)?;
            Ok::<_, queries::SecretError>((secret, queries::is_enrolled(conn, account_id)?))
        })
        .await?;
    render(&enrol_page_for(&account, &secret, enrolled, None)?)
}

/// A field left out of the request reads as empty, as in every form here.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    /// Needed when a confirmed secret is being replaced.
    current_password: String,
}

/// `POST /account/2fa` (`code`; `current_password` when replacing): confirm the pending secret
/// with its first code; the new secret replaces the old one and the recovery codes are shown.
pub async fn confirm((account, app, CsrfForm(form)): AccountForm<CodeForm>) -> Result<HttpResponse, AppError> {
    if let Some(refused) = refused_password(&account, &app, &form.current_password, Ask::IfEnrolled).await? {
        return Ok(refused);
    }
    let (account_id, store_keys, typed) = (account.id(), app.keys.get_ref().clone(), form.code.clone());
    let act = app.act(&account);
    let unix = act.now.and_utc().timestamp();
    let codes = app
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let Some(pending) = queries::pending_secret(conn, &store_keys, account_id)? else {
                    return Ok::<_, queries::SecretError>(None);
                };
                let Some(step) = pending.secret.matching_step(&typed, unix) else {
                    return Ok(None);
                };
                let replacing = queries::is_enrolled(conn, account_id)?;
                let codes = super::new_recovery_codes();
                queries::confirm(conn, &store_keys, account_id, pending.id, step, &codes, act.now)?;
                let details = serde_json::json!({ "replaced an earlier one": replacing });
                act.record_own(conn, "account.second_factor_enrolled", details)?;
                Ok(Some(codes))
            })
            // Confirmed by a simultaneous request, or replaced meanwhile: rolled back whole.
            .or_else(|e| match e {
                queries::SecretError::Database(diesel::result::Error::RollbackTransaction) => Ok(None),
                other => Err(other),
            })
        })
        .await?;
    let Some(codes) = codes else {
        let error = if form.code.trim().is_empty() {
            "Enter the six-digit code your app shows."
        } else {
            "That code is not right. Enter the six digits your app shows now for this account."
        };
        let (account_id, keys) = (account.id(), app.keys.get_ref().clone());
        let pending = app.db.run(move |conn| queries::pending_secret(conn, &keys, account_id)).await?;
        let Some(pending) = pending else {
            // Nothing is being set up (confirmed already, or never opened): start there.
            return Ok(see_other("/account#second-factor"));
        };
        let enrolled = app.db.run(move |conn| queries::is_enrolled(conn, account_id)).await?;
        return render_422(&enrol_page_for(&account, &pending.secret, enrolled, Some(error))?);
    };
    recovery_codes_page(&account, codes, true)
}

fn recovery_codes_page(account: &CurrentAccount, codes: Vec<String>, first: bool) -> Result<HttpResponse, AppError> {
    let layout = account.layout("Your recovery codes", Section::Account)?;
    render(&RecoveryCodesPage::new(layout, account.email(), codes, "/account".to_owned(), first))
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /account/2fa/recovery-codes` (`current_password`): ten new codes; the old ones stop
/// working.
pub async fn new_recovery_codes(
    (account, app, CsrfForm(form)): AccountForm<CurrentPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let not_enrolled = || AppError::Conflict("Recovery codes come with two-step sign-in; set it up first.".into());
    let account_id = account.id();
    if !app.db.run(move |conn| queries::is_enrolled(conn, account_id)).await? {
        return Err(not_enrolled());
    }
    if let Some(refused) = refused_password(&account, &app, &form.current_password, Ask::Always).await? {
        return Ok(refused);
    }
    let keys = app.keys.get_ref().clone();
    let codes = app
        .write(&account, move |conn, act| {
            if !queries::is_enrolled(conn, account_id)? {
                return Ok(None);
            }
            let codes = super::new_recovery_codes();
            queries::replace_recovery_codes(conn, &keys, account_id, &codes, act.now)?;
            act.record_own(conn, "account.recovery_codes_replaced", serde_json::json!({}))?;
            Ok(Some(codes))
        })
        .await?;
    recovery_codes_page(&account, codes.ok_or_else(not_enrolled)?, false)
}

/// `POST /account/2fa/disable` (`current_password`): turn the second factor off, unless a
/// membership or the administrator rule requires it (409, saying which).
pub async fn disable(
    (account, app, CsrfForm(form)): AccountForm<CurrentPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let account_id = account.id();
    let (is_admin, require_admin) = (account.account.is_platform_admin, app.config.require_admin_2fa);
    let required = app.db.run(move |conn| queries::requirement(conn, account_id, is_admin, require_admin)).await?;
    if let Some(required) = required {
        let mut page = crate::accounts::account_page(&account, &app, FieldErrors::default()).await?;
        page.refusal = Some(format!("Two-step sign-in stays on: {}", required.explain()));
        return crate::web::render_with(StatusCode::CONFLICT, &page);
    }
    if let Some(refused) = refused_password(&account, &app, &form.current_password, Ask::Always).await? {
        return Ok(refused);
    }
    app.write(&account, move |conn, act| {
        queries::remove(conn, account_id)?;
        act.record_own(conn, "account.second_factor_disabled", serde_json::json!({}))
    })
    .await?;
    flash::set(account.session(), FlashKind::Success, "Two-step sign-in is off. Your recovery codes no longer work.");
    Ok(see_other("/account"))
}

/// Why a reset was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("There is no account with this address.")]
    NoAccount,
    #[error("To change your own two-step sign-in, use your account page.")]
    Yourself,
    #[error("This account is not a platform administrator.")]
    NotAdmin,
}

refusals!(ResetError);

/// Remove the second factor of `target` and end its sessions (so its next sign-in enrols
/// again where required); audited. `only_admins`: the web console may reset only platform
/// administrators. Returns the account's email and whether it had a second factor.
pub fn reset(
    conn: &mut DbConn,
    act: &Act,
    target: i64,
    only_admins: bool,
) -> Result<(String, bool), Failure<ResetError>> {
    let (site, actor, now) = (&*act.site, &act.actor, act.now);
    if actor.id == Some(target) {
        return Err(ResetError::Yourself.into());
    }
    db::write_transaction(conn, |conn| {
        let (email, is_admin): (String, bool) = accounts::table
            .find(target)
            .select((accounts::email, accounts::is_platform_admin))
            .first(conn)
            .optional()?
            .ok_or(ResetError::NoAccount)?;
        if only_admins && !is_admin {
            return Err(ResetError::NotAdmin.into());
        }
        let had = queries::remove(conn, target)? > 0;
        let ended = crate::auth::session::end_all_of(conn, target, None)?;
        let event = NewEvent::platform(actor, "account.second_factor_reset", &email)
            .details(serde_json::json!({ "had a second factor": had, "sessions ended": ended }));
        audit::record(conn, &event, now)?;
        if had {
            let by = if actor.id.is_some() { actor.email.as_str() } else { "an operator of the portal" };
            let notice = crate::mail::messages::second_factor_removed(site, &email, by);
            crate::mail::enqueue(conn, site, &notice, now, now)?;
        }
        Ok((email, had))
    })
}

/// `orgportal admin reset-2fa EMAIL`: the account id of an email, for `reset`.
pub fn account_id_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<i64>> {
    accounts::table.filter(accounts::email.eq(email)).select(accounts::id).first(conn).optional()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/administrators/{account_id}/reset-2fa` (`password`: the acting
/// administrator's own, again): for another administrator who lost their phone and codes.
pub async fn reset_for_admin(
    (admin, app, target): admins::OnRow,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let target = target.into_inner().get();
    if form.password.is_empty() || !app.is_password_of(admin.id(), &form.password).await? {
        let why = "Your password was not right, so nothing was reset. Enter your own password to confirm.";
        return admins::page_with_refusal(&admin, &app, StatusCode::UNPROCESSABLE_ENTITY, why.into()).await;
    }
    match app.attempt(&admin, move |conn, act| reset(conn, act, target, true)).await? {
        Ok((email, true)) => Ok(admins::done(
            &admin,
            format!("Two-step sign-in of {email} is removed and their sessions ended; where it is required, they set it up again at their next sign-in."),
        )),
        Ok((email, false)) => Ok(admins::done(&admin, format!("{email} had no two-step sign-in; their sessions ended."))),
        Err(ResetError::NoAccount) => Err(AppError::NotFound),
        Err(refused) => admins::page_with_refusal(&admin, &app, StatusCode::CONFLICT, refused.to_string()).await,
    }
}
