//! The second step of signing in (and of registering): after the password, either a code from
//! the app (or a recovery code), or, for an account that must have a second factor and has
//! none, enrolment. Between the two steps the encrypted cookie holds a `Pending` sign-in: the
//! account, when the password was accepted, and where to go next; nothing is signed in yet.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::queries::{self, SecretError};
use super::views::{CodePage, EnrolPage, Purpose, RecoveryCodesPage};
use super::{Keys, Secret};
use crate::audit::{self, Actor, NewEvent};
use crate::auth::lockout::{self, Failure};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::schema::accounts;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{local_path, render, render_422, see_other};

const PENDING_KEY: &str = "second_step";

/// `next` as the second step keeps it: a local path, short enough for the cookie.
pub fn bounded_next(next: &str) -> String {
    let next = local_path(next);
    if next.len() > MAX_NEXT {
        "/".to_owned()
    } else {
        next.to_owned()
    }
}
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
    /// A fingerprint of the password hash the first step checked and of the account's session
    /// epoch: a password changed or reset since, or every session ended (the owner taking
    /// their account back), ends this sign-in.
    #[serde(default)]
    pub stamp: String,
    /// The pending secret the enrolment page showed: if another page replaced it since, this
    /// one starts again rather than confirm (or show) a secret it did not show.
    #[serde(default)]
    pub secret_id: Option<i64>,
    /// Where the first step was taken (`/login` or `/register/{token}`): the second step is
    /// taken there and nowhere else.
    #[serde(default)]
    pub origin: String,
}

/// The longest `next` and landing message kept in the cookie (which holds 4 KiB in all).
const MAX_NEXT: usize = 512;
const MAX_LANDING: usize = 1000;

/// What `Pending::stamp` holds for a stored password hash and session epoch.
pub fn password_stamp(password_hash: Option<&str>, session_epoch: i64) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{session_epoch}\n{}", password_hash.unwrap_or("")).as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl Pending {
    pub fn new(account: &crate::auth::queries::Credentials, next: &str, now: NaiveDateTime) -> Self {
        Self {
            account_id: account.id,
            email: account.email.clone(),
            is_platform_admin: account.is_platform_admin,
            must_change_password: account.must_change_password,
            started_at: now.and_utc().timestamp(),
            next: bounded_next(next),
            enrol: false,
            landing: None,
            stamp: password_stamp(account.password_hash.as_deref(), account.session_epoch),
            secret_id: None,
            origin: String::new(),
        }
    }

    /// A landing message, kept only when short enough for the cookie.
    pub fn with_landing(mut self, landing: String) -> Self {
        self.landing = (landing.len() <= MAX_LANDING).then_some(landing);
        self
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

impl<'a> Context<'a> {
    pub fn new(req: &'a HttpRequest, session: &'a Session, app: &'a crate::app::Services) -> Self {
        Self { req, session, db: &app.db, clock: &app.clock, keys: &app.keys, config: &app.config, client: app.client }
    }
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
    pending.origin = action.to_owned();
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
    let secret = Secret::generate();
    let (keys, stored, now) = (ctx.keys.clone(), secret.clone(), ctx.clock.now());
    let secret_id = ctx.db.run(move |conn| queries::put_pending(conn, &keys, account_id, &stored, now)).await?;
    pending.enrol = true;
    pending.secret_id = Some(secret_id);
    pending.store(ctx.session)?;
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
const STARTED_ELSEWHERE: &str =
    "Two-step sign-in was being set up for this account elsewhere meanwhile, so this page no longer counts. Sign in again.";
const PASSWORD_CHANGED: &str =
    "The password of this account changed, or all its sessions were ended, meanwhile. Sign in again.";
const EMPTY_CODE: &str = "Enter the six-digit code your app shows, or a recovery code.";
/// The lockout row counting wrong codes from every address together, so spreading guesses
/// over many addresses gains nothing.
pub const EVERY_ADDRESS: &str = "second step, any address";

/// How a code was checked.
enum Checked {
    Totp {
        step: i64,
    },
    Recovery,
    Enrolled {
        step: i64,
        codes: Vec<String>,
    },
    Wrong,
    Locked,
    /// The sign-in no longer stands (password changed, account gone, secret replaced).
    StartAgain(&'static str),
}

/// `POST` of the second step (`code`) at `action`.
pub async fn submit_code(ctx: &Context<'_>, code: &str, action: &str) -> Result<HttpResponse, AppError> {
    let now = ctx.clock.now();
    let Some(pending) = Pending::load(ctx.session, now).filter(|p| p.origin == action) else {
        Pending::clear(ctx.session);
        flash::set(ctx.session, FlashKind::Warning, START_AGAIN);
        return Ok(see_other("/login"));
    };
    if code.trim().is_empty() {
        // Nothing typed: the same page again, nothing counted.
        return wrong_page(ctx, &pending, action, EMPTY_CODE).await;
    }
    let unix = now.and_utc().timestamp();
    let client_key = ctx.client.to_audit_string();
    let keys = ctx.keys.clone();
    let attempt = Attempt {
        account_id: pending.account_id,
        enrol: pending.enrol.then_some(pending.secret_id).flatten(),
        stamp: pending.stamp.clone(),
        typed: code.to_owned(),
        unix,
        client_key,
    };
    let enrol = pending.enrol;
    let actor = Actor { id: Some(pending.account_id), email: pending.email.clone(), client: ctx.client };
    let checked = ctx.db.run(move |conn| check(conn, &keys, &attempt, &actor, now)).await?;
    match checked {
        Checked::Wrong => wrong_page(ctx, &pending, action, if enrol { WRONG_ENROL_CODE } else { WRONG_CODE }).await,
        Checked::StartAgain(why) => {
            Pending::clear(ctx.session);
            flash::set(ctx.session, FlashKind::Warning, why);
            Ok(see_other("/login"))
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

/// The second step's page again with `error`: the code page, or the enrolment page with the
/// very secret it showed (so the app that scanned it keeps working), never another one.
async fn wrong_page(
    ctx: &Context<'_>,
    pending: &Pending,
    action: &str,
    error: &'static str,
) -> Result<HttpResponse, AppError> {
    if !pending.enrol {
        return render_422(&code_page(ctx.session, action, Some(error))?);
    }
    let (keys, account_id) = (ctx.keys.clone(), pending.account_id);
    let stored = ctx.db.run(move |conn| queries::pending_secret(conn, &keys, account_id)).await?;
    let Some(stored) = stored.filter(|s| Some(s.id) == pending.secret_id) else {
        Pending::clear(ctx.session);
        flash::set(ctx.session, FlashKind::Warning, STARTED_ELSEWHERE);
        return Ok(see_other("/login"));
    };
    let purpose = if action.starts_with("/register/") { Purpose::Registration } else { Purpose::SignIn };
    let page = EnrolPage::new(
        sign_in_layout(ctx.session, "Set up two-step sign-in")?,
        &stored.secret,
        &pending.email,
        action,
        purpose,
        Some(error),
    );
    render_422(&page)
}

/// Open the session, with the registration's landing message if any.
async fn finish(ctx: &Context<'_>, pending: &Pending, details: serde_json::Value) -> Result<(), AppError> {
    Pending::clear(ctx.session);
    let now = ctx.clock.now();
    // The owner got in: their earlier typos no longer count toward the lock of every address.
    let account_id = pending.account_id;
    ctx.db.run(move |conn| lockout::clear(conn, account_id, EVERY_ADDRESS, now)).await?;
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

/// One submitted code, with what the pending sign-in says about it.
struct Attempt {
    account_id: i64,
    /// Enrolling: the pending secret the page showed.
    enrol: Option<i64>,
    stamp: String,
    typed: String,
    unix: i64,
    client_key: String,
}

/// Check a typed code against the account's secret (or the pending secret the enrolment page
/// showed), or spend it as a recovery code. A wrong code counts toward the lockout of the
/// pair and toward the account's lock over every address.
fn check(
    conn: &mut db::DbConn,
    keys: &Keys,
    attempt: &Attempt,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Checked, SecretError> {
    let account_id = attempt.account_id;
    let now_stamp: Option<(Option<String>, i64)> = accounts::table
        .find(account_id)
        .select((accounts::password_hash, accounts::session_epoch))
        .first(conn)
        .optional()?;
    match now_stamp {
        None => return Ok(Checked::StartAgain(START_AGAIN)),
        Some((hash, epoch)) if password_stamp(hash.as_deref(), epoch) != attempt.stamp => {
            return Ok(Checked::StartAgain(PASSWORD_CHANGED));
        }
        Some(_) => {}
    }
    if lockout::is_locked(conn, account_id, &attempt.client_key, now)?
        || lockout::is_locked(conn, account_id, EVERY_ADDRESS, now)?
    {
        return Ok(Checked::Locked);
    }
    let accepted = db::write_transaction(conn, |conn| {
        if let Some(shown_id) = attempt.enrol {
            let pending = queries::pending_secret(conn, keys, account_id)?;
            let Some(pending) = pending.filter(|p| p.id == shown_id) else {
                return Ok::<_, SecretError>(Some(Checked::StartAgain(STARTED_ELSEWHERE)));
            };
            let Some(step) = pending.secret.matching_step(&attempt.typed, attempt.unix) else {
                return Ok(None);
            };
            let codes = super::new_recovery_codes();
            // A simultaneous confirmation got there first: this one rolls back whole.
            match queries::confirm(conn, keys, account_id, pending.id, step, &codes, now) {
                Err(diesel::result::Error::RollbackTransaction) => {
                    return Ok(Some(Checked::StartAgain(STARTED_ELSEWHERE)));
                }
                other => other?,
            }
            audit::record(conn, &NewEvent::platform(actor, "account.second_factor_enrolled", &actor.email), now)?;
            return Ok(Some(Checked::Enrolled { step, codes }));
        }
        if let Some(confirmed) = queries::confirmed_secret(conn, keys, account_id)? {
            if let Some(step) = confirmed.secret.matching_step(&attempt.typed, attempt.unix) {
                // A code already taken (replayed, or sent twice at once) is a wrong code.
                if queries::take_step(conn, confirmed.id, step)? {
                    return Ok(Some(Checked::Totp { step }));
                }
                return Ok(None);
            }
        }
        if let Some(normal) = super::normalise_recovery_code(&attempt.typed) {
            if queries::spend_recovery_code(conn, keys, account_id, &normal, now)? {
                audit::record(conn, &NewEvent::platform(actor, "account.recovery_code_used", &actor.email), now)?;
                return Ok(Some(Checked::Recovery));
            }
        }
        Ok(None)
    });
    // `confirm` rolled back inside the transaction: the transaction itself reports it.
    let accepted = match accepted {
        Err(SecretError::Database(diesel::result::Error::RollbackTransaction)) => {
            Some(Checked::StartAgain(STARTED_ELSEWHERE))
        }
        other => other?,
    };
    if let Some(accepted) = accepted {
        return Ok(accepted);
    }
    let client_key = attempt.client_key.as_str();
    let (outcome, everywhere) = db::write_transaction(conn, |conn| {
        let outcome = lockout::record_failure(conn, account_id, client_key, now)?;
        let everywhere = lockout::record_failure(conn, account_id, EVERY_ADDRESS, now)?;
        let failures = match outcome {
            Failure::Counted(n) => Some(n),
            Failure::LockedNow(_) => Some(lockout::MAX_FAILURES),
            Failure::WhileLocked => None,
        };
        let event = NewEvent::platform(actor, "account.sign_in_failed", &actor.email)
            .details(serde_json::json!({ "reason": "wrong second-factor code", "failures in a row": failures }));
        audit::record(conn, &event, now)?;
        for (locked_now, scope) in [(outcome, client_key), (everywhere, "every address")] {
            if let Failure::LockedNow(until) = locked_now {
                let locked = NewEvent::platform(actor, "account.locked", &actor.email).details(serde_json::json!({
                    "locked until": until.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    "client address": scope,
                    "step": "second factor",
                }));
                audit::record(conn, &locked, now)?;
            }
        }
        Ok::<_, diesel::result::Error>((outcome, everywhere))
    })?;
    Ok(match (outcome, everywhere) {
        (Failure::Counted(_), Failure::Counted(_)) => Checked::Wrong,
        _ => Checked::Locked,
    })
}
