//! `/login` and `/logout`.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::password::Passwords;
use super::{queries, session};
use crate::audit::{self, Actor, NewEvent};
use crate::clock::Clock;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::fold;
use crate::error::AppError;
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
}

const WRONG_CREDENTIALS: &str = "The email address or password is not right.";

/// `POST /login`
pub async fn login(
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    passwords: web::Data<Passwords>,
    client: ClientAddr,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    // Looked up loosely: a malformed email simply matches no account and costs a dummy hash.
    let email = fold(form.email.trim());
    let lookup_email = email.clone();
    let account = db.run(move |conn| queries::credentials_by_email(conn, &lookup_email)).await?;
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let verified = passwords.verify(form.password, stored_hash).await?;

    let account = match account {
        Some(account) if verified => account,
        _ => {
            let page = LoginPage {
                layout: Layout::new(&session, "Sign in", Section::SignIn, None)?,
                email: form.email.trim().to_owned(),
                next: local_path(&form.next).to_owned(),
                error: Some(WRONG_CREDENTIALS),
            };
            return render_422(&page);
        }
    };

    let actor = Actor { id: Some(account.id), email, client };
    let now = clock.now();
    db.run(move |conn| audit::record(conn, &NewEvent::platform(&actor, "account.sign_in", &actor.email), now)).await?;
    // Only once everything is recorded does the browser get a signed-in session.
    session::begin(&session, account.id, account.session_epoch, now)?;
    if account.must_change_password {
        flash::set(&session, FlashKind::Warning, "Choose a new password before you continue.");
        return Ok(see_other("/account"));
    }
    Ok(see_other(local_path(&form.next)))
}

#[derive(Deserialize)]
pub struct EmptyForm {}

/// `POST /logout`
pub async fn logout(session: Session, CsrfForm(_): CsrfForm<EmptyForm>) -> HttpResponse {
    let was_signed_in = session::SessionState::read(&session).is_some();
    session::end(&session);
    if was_signed_in {
        flash::set(&session, FlashKind::Success, "You are signed out.");
    }
    see_other("/login")
}
