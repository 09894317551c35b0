//! `/password-reset` and `/password-reset/{token}`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::queries::{self, Link};
use super::ResetLimiter;
use crate::app::Services;
use crate::audit::Actor;
use crate::auth::password::check_policy;
use crate::auth::session;
use crate::csrf::CsrfForm;
use crate::domain::{EmailAddress, FieldErrors};
use crate::error::AppError;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, render_with, see_other};

/// A form posted by someone who cannot sign in: the browser's session, the services, the form
/// past its CSRF check.
type Posted<F> = (Session, Services, CsrfForm<F>);

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
pub async fn request(
    (session, app, CsrfForm(form)): Posted<RequestForm>,
    limiter: web::Data<ResetLimiter>,
) -> Result<HttpResponse, AppError> {
    if let Err(retry_after_secs) = limiter.check(app.client.0) {
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
    let actor = Actor { id: None, email: email.as_str().to_owned(), client: app.client };
    let (site, now, address) = (app.site.clone().into_inner(), app.clock.now(), email.as_str().to_owned());
    // What came of it is for the audit trail only: the page is the same in every case.
    app.db.run(move |conn| queries::request(conn, &site, &address, &actor, now)).await?;
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

/// What the link in the path opens now.
async fn lookup(app: &Services, token: &str) -> Result<Link, AppError> {
    let (token, now) = (token.to_owned(), app.clock.now());
    app.db.run(move |conn| queries::lookup(conn, &token, now)).await
}

fn reset_form(session: &Session, email: String, token: &str, errors: FieldErrors) -> Result<ResetFormPage, AppError> {
    Ok(ResetFormPage {
        layout: Layout::new(session, "Choose a new password", Section::SignIn, None)?,
        email,
        action: format!("{}{token}", super::PATH_PREFIX),
        errors,
    })
}

/// `GET /password-reset/{token}`: the form, if the link works; opening it does not use it up.
pub async fn form(session: Session, app: Services, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    match lookup(&app, &token).await? {
        Link::Usable { email, .. } => render(&reset_form(&session, email, &token, FieldErrors::default())?),
        other => link_gone(&session, &other),
    }
}

/// A field left out of the request reads as empty, as in every form here.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    password: String,
    password_confirm: String,
}

/// `POST /password-reset/{token}`: set the password (policy, confirmation), use the link up
/// exactly once, end every session of the account, clear its lockouts; then to `/login`.
pub async fn set_password(
    (session, app, CsrfForm(form)): Posted<NewPasswordForm>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let (account_id, email) = match lookup(&app, &token).await? {
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
        return render_422(&reset_form(&session, email, &token, errors)?);
    }

    let hash = app.passwords.hash(form.password).await?;
    let browser_session = session::cookie_token(&session);
    let actor = Actor { id: Some(account_id), email, client: app.client };
    let now = app.clock.now();
    let done = app
        .db
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
