//! The second step of signing in (and of registering): after the password, either a code from
//! the app (or a recovery code), or, for an account that must have a second factor and has
//! none, enrolment. Between the two steps the encrypted cookie holds a `Pending` sign-in: the
//! account, when the password was accepted, and where to go next; nothing is signed in yet.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::queries::{self, SecretError};
use super::views::{CodePage, EnrolPage, Purpose, RecoveryCodesPage};
use super::{Keys, Secret};
use crate::audit::{self, Actor, NewEvent};
use crate::auth::lockout::{self, Failure};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{local_path, render, render_422, see_other};

const PENDING_KEY: &str = "second_step";
/// The second step must follow the first within this long.
pub const PENDING_LIFETIME_SECS: i64 = 10 * 60;

/// A sign-in whose password was accepted and whose second step is still to come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub account_id: i64,
    pub email: String,
    pub is_platform_admin: bool,
    pub must_change_password: bool,
    /// Unix seconds of the password step.
    pub started_at: i64,
    pub next: String,
    /// Enrolling (a pending secret is shown) rather than giving a code.
    #[serde(default)]
    pub enrol: bool,
    /// Said once the sign-in completes (registration's "where you stand").
    #[serde(default)]
    pub landing: Option<String>,
}

impl Pending {
    pub fn new(account: &crate::auth::queries::Credentials, next: &str, now: NaiveDateTime) -> Self {
        Self {
            account_id: account.id,
            email: account.email.clone(),
            is_platform_admin: account.is_platform_admin,
            must_change_password: account.must_change_password,
            started_at: now.and_utc().timestamp(),
            next: local_path(next).to_owned(),
            enrol: false,
            landing: None,
        }
    }

    fn store(&self, session: &Session) -> Result<(), AppError> {
        session.insert(PENDING_KEY, self).map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))
    }

    /// The pending sign-in of this browser, if it is recent enough.
    fn load(session: &Session, now: NaiveDateTime) -> Option<Self> {
        let pending: Self = session.get(PENDING_KEY).ok().flatten()?;
        let age = now.and_utc().timestamp() - pending.started_at;
        (0..PENDING_LIFETIME_SECS).contains(&age).then_some(pending)
    }

    fn clear(session: &Session) {
        session.remove(PENDING_KEY);
    }
}

/// What the second step needs of the request.
pub struct Context<'a> {
    pub req: &'a HttpRequest,
    pub session: &'a Session,
    pub db: &'a Db,
    pub clock: &'a Clock,
    pub keys: &'a Keys,
    pub config: &'a Config,
    pub client: ClientAddr,
}

fn sign_in_layout(session: &Session, title: &str) -> Result<Layout, AppError> {
    Layout::new(session, title, Section::SignIn, None)
}

/// After the password: `None` when the sign-in may complete now (no second factor, none
/// required), else the page of the second step. A `code` sent along with the password is
/// taken at once.
pub async fn after_password(
    ctx: &Context<'_>,
    mut pending: Pending,
    code: &str,
    action: &str,
) -> Result<Option<HttpResponse>, AppError> {
    let account_id = pending.account_id;
    let (is_admin, require_admin) = (pending.is_platform_admin, ctx.config.require_admin_2fa);
    let (enrolled, required) = ctx
        .db
        .run(move |conn| {
            Ok::<_, diesel::result::Error>((
                queries::is_enrolled(conn, account_id)?,
                queries::requirement(conn, account_id, is_admin, require_admin)?,
            ))
        })
        .await?;
    if enrolled {
        pending.enrol = false;
        pending.store(ctx.session)?;
        if !code.trim().is_empty() {
            return submit_code(ctx, code, action).await.map(Some);
        }
        return render(&code_page(ctx.session, action, None)?).map(Some);
    }
    if required.is_none() {
        return Ok(None);
    }
    pending.enrol = true;
    pending.store(ctx.session)?;
    let secret = Secret::generate();
    let (keys, stored, now) = (ctx.keys.clone(), secret.clone(), ctx.clock.now());
    ctx.db.run(move |conn| queries::put_pending(conn, &keys, account_id, &stored, now)).await?;
    let purpose = if action.starts_with("/register/") { Purpose::Registration } else { Purpose::SignIn };
    render(&EnrolPage::new(
        sign_in_layout(ctx.session, "Set up two-step sign-in")?,
        &secret,
        &pending.email,
        action,
        purpose,
        None,
    ))
    .map(Some)
}

fn code_page(session: &Session, action: &str, error: Option<&'static str>) -> Result<CodePage, AppError> {
    Ok(CodePage { layout: sign_in_layout(session, "Two-step sign-in")?, action: action.to_owned(), error })
}

const WRONG_CODE: &str = "That code is not right. Enter the code your app shows now, or a recovery code.";
const WRONG_ENROL_CODE: &str = "That code is not right. Enter the six digits your app shows now for this account.";
const START_AGAIN: &str = "Your sign-in was not finished in time. Sign in again.";

/// How a code was checked.
enum Checked {
    Totp { step: i64 },
    Recovery,
    Enrolled { step: i64, codes: Vec<String> },
    Wrong,
    Locked,
}

/// `POST` of the second step (`code`) at `action`.
pub async fn submit_code(ctx: &Context<'_>, code: &str, action: &str) -> Result<HttpResponse, AppError> {
    let now = ctx.clock.now();
    let Some(pending) = Pending::load(ctx.session, now) else {
        Pending::clear(ctx.session);
        flash::set(ctx.session, FlashKind::Warning, START_AGAIN);
        return Ok(see_other("/login"));
    };
    let unix = now.and_utc().timestamp();
    let client_key = ctx.client.to_audit_string();
    let keys = ctx.keys.clone();
    let typed = code.to_owned();
    let (account_id, enrol) = (pending.account_id, pending.enrol);
    let actor = Actor { id: Some(account_id), email: pending.email.clone(), client: ctx.client };
    let checked =
        ctx.db.run(move |conn| check(conn, &keys, account_id, enrol, &typed, unix, &client_key, &actor, now)).await?;
    match checked {
        Checked::Wrong => {
            if enrol {
                // The same secret again, so the app already holding it keeps working.
                let keys = ctx.keys.clone();
                let stored = ctx.db.run(move |conn| queries::pending_secret(conn, &keys, account_id)).await?;
                let Some(stored) = stored else {
                    Pending::clear(ctx.session);
                    flash::set(ctx.session, FlashKind::Warning, START_AGAIN);
                    return Ok(see_other("/login"));
                };
                let purpose = if action.starts_with("/register/") { Purpose::Registration } else { Purpose::SignIn };
                let page = EnrolPage::new(
                    sign_in_layout(ctx.session, "Set up two-step sign-in")?,
                    &stored.secret,
                    &pending.email,
                    action,
                    purpose,
                    Some(WRONG_ENROL_CODE),
                );
                return render_422(&page);
            }
            render_422(&code_page(ctx.session, action, Some(WRONG_CODE))?)
        }
        Checked::Locked => {
            Pending::clear(ctx.session);
            flash::set(
                ctx.session,
                FlashKind::Warning,
                "Too many wrong codes. This sign-in is paused for 15 minutes; then sign in again.",
            );
            Ok(see_other("/login"))
        }
        Checked::Totp { step } => {
            finish(ctx, &pending, serde_json::json!({ "second factor": "app code", "step": step })).await?;
            say_landing(ctx.session, &pending);
            Ok(crate::auth::landing_after_sign_in(ctx.session, pending.must_change_password, &pending.next))
        }
        Checked::Recovery => {
            finish(ctx, &pending, serde_json::json!({ "second factor": "recovery code" })).await?;
            let account_id = pending.account_id;
            let left = ctx.db.run(move |conn| queries::status(conn, account_id)).await?.recovery_codes_left;
            let warning = match left {
                0 => "You used your last recovery code. Make new ones on your account page now.".to_owned(),
                1 => "You used a recovery code; 1 is left. Consider making new ones on your account page.".to_owned(),
                n => format!("You used a recovery code; {n} are left."),
            };
            say_landing(ctx.session, &pending);
            flash::set(ctx.session, FlashKind::Warning, warning);
            Ok(crate::auth::landing_after_sign_in(ctx.session, pending.must_change_password, &pending.next))
        }
        Checked::Enrolled { step, codes } => {
            finish(ctx, &pending, serde_json::json!({ "second factor": "enrolled", "step": step })).await?;
            let next = if pending.must_change_password { "/account".to_owned() } else { pending.next.clone() };
            let page = RecoveryCodesPage::new(
                sign_in_layout(ctx.session, "Your recovery codes")?,
                &pending.email,
                codes,
                next,
                true,
            );
            // Said on the page Continue leads to, after the codes (the layout took any earlier
            // message already).
            say_landing(ctx.session, &pending);
            if pending.must_change_password {
                flash::set(ctx.session, FlashKind::Warning, "Choose a new password before you continue.");
            }
            render(&page)
        }
    }
}

/// Open the session, with the registration's landing message if any.
async fn finish(ctx: &Context<'_>, pending: &Pending, details: serde_json::Value) -> Result<(), AppError> {
    Pending::clear(ctx.session);
    let now = ctx.clock.now();
    crate::auth::open_session(
        ctx.req,
        ctx.session,
        ctx.db,
        pending.account_id,
        &pending.email,
        ctx.client,
        now,
        Some(details),
    )
    .await
}

/// Registration's "where you stand", for the next page shown.
fn say_landing(session: &Session, pending: &Pending) {
    if let Some(landing) = &pending.landing {
        flash::set(session, FlashKind::Success, landing.clone());
    }
}

/// Check a typed code against the account's secret (or pending secret, when enrolling), or
/// spend it as a recovery code; a wrong code counts toward the lockout of the pair.
#[allow(clippy::too_many_arguments)]
fn check(
    conn: &mut db::DbConn,
    keys: &Keys,
    account_id: i64,
    enrol: bool,
    typed: &str,
    unix: i64,
    client_key: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Checked, SecretError> {
    if lockout::is_locked(conn, account_id, client_key, now)? {
        return Ok(Checked::Locked);
    }
    let accepted = db::write_transaction(conn, |conn| {
        if enrol {
            let Some(pending) = queries::pending_secret(conn, keys, account_id)? else {
                return Ok::<_, SecretError>(None);
            };
            let Some(step) = pending.secret.matching_step(typed, unix) else {
                return Ok(None);
            };
            let codes = super::new_recovery_codes();
            if !queries::confirm(conn, keys, account_id, pending.id, step, &codes, now)? {
                return Ok(None);
            }
            audit::record(conn, &NewEvent::platform(actor, "account.second_factor_enrolled", &actor.email), now)?;
            return Ok(Some(Checked::Enrolled { step, codes }));
        }
        if let Some(confirmed) = queries::confirmed_secret(conn, keys, account_id)? {
            if let Some(step) = confirmed.secret.matching_step(typed, unix) {
                // A code already taken (replayed, or sent twice at once) is a wrong code.
                if queries::take_step(conn, confirmed.id, step)? {
                    return Ok(Some(Checked::Totp { step }));
                }
                return Ok(None);
            }
        }
        if let Some(normal) = super::normalise_recovery_code(typed) {
            if queries::spend_recovery_code(conn, keys, account_id, &normal, now)? {
                audit::record(conn, &NewEvent::platform(actor, "account.recovery_code_used", &actor.email), now)?;
                return Ok(Some(Checked::Recovery));
            }
        }
        Ok(None)
    })?;
    if let Some(accepted) = accepted {
        return Ok(accepted);
    }
    let outcome = db::write_transaction(conn, |conn| {
        let outcome = lockout::record_failure(conn, account_id, client_key, now)?;
        let failures = match outcome {
            Failure::Counted(n) => Some(n),
            Failure::LockedNow(_) => Some(lockout::MAX_FAILURES),
            Failure::WhileLocked => None,
        };
        let event = NewEvent::platform(actor, "account.sign_in_failed", &actor.email)
            .details(serde_json::json!({ "reason": "wrong second-factor code", "failures in a row": failures }));
        audit::record(conn, &event, now)?;
        if let Failure::LockedNow(until) = outcome {
            let locked = NewEvent::platform(actor, "account.locked", &actor.email).details(serde_json::json!({
                "locked until": until.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                "client address": client_key,
            }));
            audit::record(conn, &locked, now)?;
        }
        Ok::<_, diesel::result::Error>(outcome)
    })?;
    Ok(match outcome {
        Failure::Counted(_) => Checked::Wrong,
        Failure::LockedNow(_) | Failure::WhileLocked => Checked::Locked,
    })
}
