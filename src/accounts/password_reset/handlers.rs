//! `/password-reset` and `/password-reset/{token}`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, Link};
use super::ResetLimiter;
use crate::audit::Actor;
use crate::auth::password::{check_policy, Passwords};
use crate::auth::session;
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::{EmailAddress, FieldErrors};
use crate::error::AppError;
use crate::mail::Site;
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, render_with, see_other};

/// The longest typed address shown back on a refused form.
const SHOWN_EMAIL_MAX_CHARS: usize = EmailAddress::MAX_LEN;

#[derive(Template)]
#[template(path = "accounts/password_reset_request.html")]
pub struct RequestPage {
    pub layout: Layout,
    pub email: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "accounts/password_reset_sent.html")]
pub struct SentPage {
    pub layout: Layout,
    pub email: String,
}

#[derive(Template)]
#[template(path = "accounts/password_reset_form.html")]
pub struct ResetFormPage {
    pub layout: Layout,
    pub email: String,
    /// The link's own path, where the form posts.
    pub action: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "accounts/password_reset_gone.html")]
pub struct LinkGonePage {
    pub layout: Layout,
    pub expired: bool,
}

/// `GET /password-reset`
pub async fn request_page(session: Session) -> Result<HttpResponse, AppError> {
    let page = RequestPage {
        layout: Layout::new(&session, "Forgot your password?", Section::SignIn, None)?,
        email: String::new(),
        errors: FieldErrors::default(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

/// `POST /password-reset`: the same page, in the same time, whether an active account has the
/// address or not; at most one email per account every 5 minutes (silently), and requests
/// are rate-limited per client address (429).
#[allow(clippy::too_many_arguments)]
pub async fn request(
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    site: web::Data<Site>,
    limiter: web::Data<ResetLimiter>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> Result<HttpResponse, AppError> {
    if let Err(retry_after_secs) = limiter.check(client.0) {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(why) => {
            let page = RequestPage {
                layout: Layout::new(&session, "Forgot your password?", Section::SignIn, None)?,
                email: form.email.trim().chars().filter(|c| !c.is_control()).take(SHOWN_EMAIL_MAX_CHARS).collect(),
                errors: FieldErrors::one("email", why),
            };
            return render_422(&page);
        }
    };
    let actor = Actor { id: None, email: email.as_str().to_owned(), client };
    let (site, now, address) = (site.into_inner(), clock.now(), email.as_str().to_owned());
    // What came of it is for the audit trail only: the page is the same in every case.
    db.run(move |conn| queries::request(conn, &site, &address, &actor, now)).await?;
    let page = SentPage {
        layout: Layout::new(&session, "Check your email", Section::SignIn, None)?,
        email: email.as_str().to_owned(),
    };
    render(&page)
}

/// The page of a link that no longer works: says why, and where to get a new one.
fn link_gone(session: &Session, link: &Link) -> Result<HttpResponse, AppError> {
    let expired = matches!(link, Link::Expired);
    let (status, title) = if expired {
        (StatusCode::GONE, "This link has expired")
    } else {
        (StatusCode::NOT_FOUND, "This link no longer works")
    };
    render_with(status, &LinkGonePage { layout: Layout::new(session, title, Section::SignIn, None)?, expired })
}

/// `GET /password-reset/{token}`: the form, if the link works; opening it does not use it up.
pub async fn form(
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let now = clock.now();
    let lookup = token.clone();
    match db.run(move |conn| queries::lookup(conn, &lookup, now)).await? {
        Link::Usable { email, .. } => render(&ResetFormPage {
            layout: Layout::new(&session, "Choose a new password", Section::SignIn, None)?,
            email,
            action: format!("{}{token}", super::PATH_PREFIX),
            errors: FieldErrors::default(),
        }),
        other => link_gone(&session, &other),
    }
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /password-reset/{token}`: set the password (policy, confirmation), use the link up
/// exactly once, end every session of the account, clear its lockouts; then to `/login`.
#[allow(clippy::too_many_arguments)]
pub async fn set_password(
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    passwords: web::Data<Passwords>,
    client: ClientAddr,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let now = clock.now();
    let lookup = token.clone();
    let (account_id, email) = match db.run(move |conn| queries::lookup(conn, &lookup, now)).await? {
        Link::Usable { account_id, email } => (account_id, email),
        other => return link_gone(&session, &other),
    };
    let mut errors = FieldErrors::default();
    if let Err(why) = check_policy(&form.password, &email) {
        errors.add("password", why);
    }
    if form.password_confirm != form.password {
        errors.add("password_confirm", "The two passwords differ.");
    }
    if !errors.is_empty() {
        // The link stays usable, and the passwords are never echoed back into the page.
        return render_422(&ResetFormPage {
            layout: Layout::new(&session, "Choose a new password", Section::SignIn, None)?,
            email,
            action: format!("{}{token}", super::PATH_PREFIX),
            errors,
        });
    }

    let hash = passwords.hash(form.password).await?;
    let browser_session = session::cookie_token(&session);
    let actor = Actor { id: Some(account_id), email, client };
    let now = clock.now();
    let done = db
        .run(move |conn| queries::use_link(conn, &token, account_id, &hash, browser_session.as_deref(), &actor, now))
        .await?;
    if done.is_none() {
        // Another submission of the same link got there first, or it expired meanwhile.
        return link_gone(&session, &Link::Gone);
    }
    // Whoever was signed in in this browser is not any more; the next page gets a new token.
    session::end_cookie(&session);
    flash::set(&session, FlashKind::Success, "Your password is set; sign in.");
    Ok(see_other("/login"))
}
