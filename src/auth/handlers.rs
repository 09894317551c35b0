//! `/login` and `/logout`.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::lockout::{self, Failure};
use super::queries::{self, Credentials};
use super::rate_limit::SignInLimiter;
use super::session;
use crate::app::Services;
use crate::audit::{self, Actor, NewEvent};
use crate::csrf::CsrfForm;
use crate::db::{self, Db};
use crate::domain::{fold, FieldErrors};
use crate::error::AppError;
use crate::platform::ldap::sign_in::{self as ldap_sign_in, Checked, DIRECTORY_UNAVAILABLE};
use crate::second_factor::sign_in;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{local_path, render, render_422, see_other};

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub next: String,
    pub error: Option<&'static str>,
    pub errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /login`
pub async fn login_page(session: Session, query: Option<web::Query<NextQuery>>) -> Result<HttpResponse, AppError> {
    let next = query.map(|q| q.into_inner().next).unwrap_or_default();
    let page = LoginPage {
        layout: Layout::new(&session, "Sign in", Section::SignIn, None)?,
        email: String::new(),
        next: local_path(&next).to_owned(),
        error: None,
        errors: FieldErrors::default(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    /// The second step's field (a TOTP code or a recovery code), alone or with the password.
    #[serde(default)]
    code: String,
}

const WRONG_CREDENTIALS: &str = "The email address or password is not right.";
/// The longest typed email kept in the audit trail of a failed sign-in.
const AUDIT_EMAIL_MAX_CHARS: usize = 254;

/// How a sign-in attempt ended, decided before anything is answered.
enum Attempt {
    SignedIn(Credentials),
    /// Wrong password, unknown email or a locked pair: one answer for all three.
    Refused,
}

/// `POST /login`: one answer, in the same time, for a wrong password, an unknown email and a
/// locked pair; rate-limited per client address; password checks wait in a bounded line.
pub async fn login(
    req: HttpRequest,
    session: Session,
    app: Services,
    limiter: web::Data<SignInLimiter>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let (db, client) = (&app.db, app.client);
    if let Err(retry_after_secs) = limiter.check(client.0) {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let ctx = sign_in::Context::new(&req, &session, &app);
    if form.email.is_empty() && form.password.is_empty() && !form.code.is_empty() {
        // The second step of a sign-in begun with the password.
        return sign_in::submit_code(&ctx, &form.code, "/login").await;
    }
    let mut errors = FieldErrors::default();
    if form.email.trim().is_empty() {
        errors.add("email", "Enter your email address.");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    if !errors.is_empty() {
        // Nothing was checked, so nothing counts toward a lockout.
        return login_refused(&session, &form, errors, None);
    }

    // Looked up loosely: a malformed email simply matches no account and costs a dummy hash.
    let email = fold(form.email.trim());
    let client_key = client.to_audit_string();
    let now = app.clock.now();
    let (lookup_email, lookup_client) = (email.clone(), client_key.clone());
    let (account, locked, directory) = db
        .run(move |conn| {
            // No stored address holds a control character (PostgreSQL refuses NUL in text
            // outright), so such an email is simply unknown.
            let account = if lookup_email.chars().any(char::is_control) {
                None
            } else {
                queries::credentials_by_email(conn, &lookup_email)?
            };
            let (locked, directory) = match &account {
                Some(account) => (
                    lockout::is_locked(conn, account.id, &lookup_client, now)?,
                    ldap_sign_in::directory_of(conn, account.id)?,
                ),
                None => (false, None),
            };
            Ok::<_, diesel::result::Error>((account, locked, directory))
        })
        .await?;
    let verified = match directory {
        // An account from a directory signs in with its directory password; a locked pair
        // never reaches the directory.
        Some(connection) if !locked => {
            // The dummy hash alongside: an answer from the directory alone would come back in
            // a few milliseconds and tell a directory account from an unknown address.
            let (checked, evened) = futures_util::future::join(
                ldap_sign_in::verify(
                    db,
                    app.ldap_key.get_ref().clone(),
                    connection,
                    email.clone(),
                    form.password.clone(),
                ),
                app.passwords.verify(form.password.clone(), None),
            )
            .await;
            let (checked, _) = (checked?, evened?);
            if checked == Checked::Unavailable {
                return login_refused(&session, &form, FieldErrors::default(), Some(DIRECTORY_UNAVAILABLE));
            }
            checked == Checked::Verified
        }
        _ => {
            // A locked pair checks the dummy hash, so its answer takes as long as any other.
            let stored_hash = if locked { None } else { account.as_ref().and_then(|a| a.password_hash.clone()) };
            app.passwords.verify(form.password.clone(), stored_hash).await?
        }
    };
    let account_id = account.as_ref().map(|a| a.id);
    let attempt = match account {
        Some(account) if verified && !locked => Attempt::SignedIn(account),
        _ => Attempt::Refused,
    };
    let audit_email: String = email.chars().filter(|c| !c.is_control()).take(AUDIT_EMAIL_MAX_CHARS).collect();

    let Attempt::SignedIn(account) = attempt else {
        let actor = Actor { id: account_id, email: audit_email, client };
        let metrics = app.metrics.clone();
        db.run(move |conn| {
            db::write_transaction(conn, |conn| {
                let outcome = match account_id {
                    Some(id) => Some(lockout::record_failure(conn, id, &client_key, now)?),
                    None => None,
                };
                let reason = match outcome {
                    None => "unknown email",
                    Some(Failure::WhileLocked) => "locked",
                    Some(_) => "wrong password",
                };
                let failures = match outcome {
                    Some(Failure::Counted(n)) => Some(n),
                    Some(Failure::LockedNow(_)) => Some(lockout::MAX_FAILURES),
                    _ => None,
                };
                let failed = NewEvent::platform(&actor, "account.sign_in_failed", &actor.email)
                    .details(serde_json::json!({ "reason": reason, "failures in a row": failures }));
                audit::record(conn, &failed, now)?;
                if let Some(Failure::LockedNow(until)) = outcome {
                    let locked =
                        NewEvent::platform(&actor, "account.locked", &actor.email).details(serde_json::json!({
                            "locked until": until.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                            "client address": client_key,
                        }));
                    audit::record(conn, &locked, now)?;
                }
                metrics.sign_in_failed(matches!(outcome, Some(Failure::LockedNow(_))));
                Ok::<_, diesel::result::Error>(())
            })
        })
        .await?;
        return login_refused(&session, &form, FieldErrors::default(), Some(WRONG_CREDENTIALS));
    };

    let pending = crate::second_factor::Pending::new(&account, &form.next, now);
    let code = form.code.clone();
    if let Some(page) = sign_in::after_password(&ctx, pending, &code, "/login").await? {
        return Ok(page);
    }
    open_session(&req, &session, db, account.id, &audit_email, client, now, None).await?;
    Ok(landing(&session, account.must_change_password, &form.next))
}

/// Where a finished sign-in goes: the password page first when the password is a generated one.
pub(crate) fn landing(session: &Session, must_change_password: bool, next: &str) -> HttpResponse {
    if must_change_password {
        flash::set(session, FlashKind::Warning, "Choose a new password before you continue.");
        return see_other("/account");
    }
    see_other(local_path(next))
}

/// Finish a sign-in: the pair's failures cleared, a session row, the audit event (with
/// `details`, e.g. how the second factor was given); only then the cookie.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_session(
    req: &HttpRequest,
    session: &Session,
    db: &Db,
    account_id: i64,
    email: &str,
    client: ClientAddr,
    now: chrono::NaiveDateTime,
    details: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let actor = Actor { id: Some(account_id), email: email.to_owned(), client };
    let client_key = client.to_audit_string();
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let token = db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                lockout::clear(conn, account_id, &client_key, now)?;
                let new = session::NewSession { account_id, client, user_agent: &user_agent };
                let token = session::create(conn, &new, now)?;
                let mut event = NewEvent::platform(&actor, "account.sign_in", &actor.email);
                if let Some(details) = details {
                    event = event.details(details);
                }
                audit::record(conn, &event, now)?;
                Ok::<_, diesel::result::Error>(token)
            })
        })
        .await?;
    // Only once everything is recorded does the browser get a signed-in session.
    session::begin_cookie(session, &token)?;
    Ok(())
}

fn login_refused(
    session: &Session,
    form: &LoginForm,
    errors: FieldErrors,
    error: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        layout: Layout::new(session, "Sign in", Section::SignIn, None)?,
        email: form.email.trim().chars().filter(|c| !c.is_control()).take(AUDIT_EMAIL_MAX_CHARS).collect(),
        next: local_path(&form.next).to_owned(),
        error,
        errors,
    };
    render_422(&page)
}

#[derive(Deserialize)]
pub struct EmptyForm {}

/// `POST /logout`: the session's row is deleted, so a copy of the cookie opens nothing.
pub async fn logout(
    session: Session,
    db: web::Data<Db>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let token = session::cookie_token(&session);
    session::end_cookie(&session);
    if let Some(token) = token {
        db.run(move |conn| session::delete_by_token(conn, &token)).await?;
        flash::set(&session, FlashKind::Success, "You are signed out.");
    }
    Ok(see_other("/login"))
}
