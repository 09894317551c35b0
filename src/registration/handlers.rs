//! `GET/POST /register/{token}`: register a new account, or accept an invitation with an
//! account that already exists.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::queries::{self, ActError, DeadLink, Link, LiveLink, Outcome, Registration};
use super::views::{AcceptPage, DeadLinkPage, RegisterPage, Viewer};
use crate::auth::password::{check_policy, Passwords};
use crate::auth::rate_limit::SignInLimiter;
use crate::auth::CurrentAccount;
use crate::clock::Clock;
use crate::config::Config;
use crate::csrf::CsrfForm;
use crate::db::Db;
use crate::domain::{DisplayName, FieldErrors};
use crate::error::AppError;
use crate::mail::Site;
use crate::second_factor::{self, Keys};
use crate::web::client::ClientAddr;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Section};
use crate::web::{render, render_422, render_with, see_other, urlencode};

fn layout(session: &Session, current: Option<&CurrentAccount>, title: &str) -> Result<Layout, AppError> {
    match current {
        Some(account) => account.layout(title, Section::Account),
        None => Layout::new(session, title, Section::SignIn, None),
    }
}

fn dead_page(session: &Session, current: Option<&CurrentAccount>, dead: &DeadLink) -> Result<HttpResponse, AppError> {
    let page = DeadLinkPage::new(layout(session, current, "Invitation link")?, dead);
    // An unknown link is not found; one that existed is gone.
    let status = if *dead == DeadLink::Unknown { StatusCode::NOT_FOUND } else { StatusCode::GONE };
    render_with(status, &page)
}

fn register_page(
    session: &Session,
    current: Option<&CurrentAccount>,
    token: String,
    link: &LiveLink,
    display_name: String,
    errors: FieldErrors,
) -> Result<RegisterPage, AppError> {
    Ok(RegisterPage {
        layout: layout(session, current, "Set up your account")?,
        token,
        email: link.email.clone(),
        inviters: link.inviters.clone(),
        expires_at: link.expires_at,
        display_name,
        errors,
    })
}

fn accept_page(
    session: &Session,
    current: Option<&CurrentAccount>,
    token: String,
    link: &LiveLink,
) -> Result<HttpResponse, AppError> {
    let viewer = match current {
        None => Viewer::SignedOut,
        Some(account) if account.account_id() == link.account_id => Viewer::Invited,
        Some(_) => Viewer::Other,
    };
    let sign_in_href = format!("/login?next={}", urlencode(&format!("{}{token}", super::PATH_PREFIX)));
    let page = AcceptPage {
        layout: layout(session, current, "Accept the invitation")?,
        token,
        inviters: link.inviters.clone(),
        expires_at: link.expires_at,
        viewer,
        sign_in_href,
    };
    if viewer == Viewer::Other {
        return render_with(StatusCode::FORBIDDEN, &page);
    }
    render(&page)
}

/// `GET /register/{token}`: who invited the address, and the form (or why the link no longer
/// works). Opening the page does not use the link up.
pub async fn show(
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let now = clock.now();
    let lookup_token = token.clone();
    let link = db.run(move |conn| queries::lookup(conn, &lookup_token, now)).await?;
    match link {
        Link::Dead(dead) => dead_page(&session, current.as_ref(), &dead),
        Link::Live(link) if link.registered => accept_page(&session, current.as_ref(), token, &link),
        Link::Live(link) => {
            render(&register_page(&session, current.as_ref(), token, &link, String::new(), FieldErrors::default())?)
        }
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    /// The second-factor step after registering (enrolment's first code).
    #[serde(default)]
    code: String,
}

/// `POST /register/{token}`: register (name and password; the person is signed in and lands
/// on `/account`), or accept with the signed-in account. Uses the link up, once.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    site: web::Data<Site>,
    passwords: web::Data<Passwords>,
    client: ClientAddr,
    current: Option<CurrentAccount>,
    path: web::Path<String>,
    keys: web::Data<Keys>,
    config: web::Data<Config>,
    limiter: web::Data<SignInLimiter>,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let now = clock.now();
    let action = format!("{}{token}", super::PATH_PREFIX);
    let ctx = second_factor::sign_in::Context {
        req: &req,
        session: &session,
        db: &db,
        clock: &clock,
        keys: &keys,
        config: &config,
        client,
    };
    if form.password.is_empty() && form.display_name.is_empty() && !form.code.is_empty() {
        // The link is used up by now; the second step rides on the registration's pending
        // sign-in in the cookie, limited like sign-in codes.
        if let Err(retry_after_secs) = limiter.check(client.0) {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
        return second_factor::sign_in::submit_code(&ctx, &form.code, &action).await;
    }
    let lookup_token = token.clone();
    let link = match db.run(move |conn| queries::lookup(conn, &lookup_token, now)).await? {
        Link::Dead(dead) => return dead_page(&session, current.as_ref(), &dead),
        Link::Live(link) => link,
    };
    if link.registered {
        return accept(&session, &db, &clock, &site, client, current, token, &link).await;
    }

    let mut errors = FieldErrors::default();
    let name = errors.check("display_name", DisplayName::parse(&form.display_name));
    if let Err(why) = check_policy(&form.password, &link.email) {
        errors.add("password", why);
    }
    if form.password_confirm != form.password {
        errors.add("password_confirm", "The two passwords differ.");
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        // The name typed is kept (control characters dropped); passwords never are.
        let typed: String = form.display_name.chars().filter(|c| !c.is_control()).take(400).collect();
        return render_422(&register_page(&session, current.as_ref(), token, &link, typed, errors)?);
    };

    let password_hash = passwords.hash(form.password).await?;
    let password_hash_kept = password_hash.clone();
    let site_for_db = site.clone();
    let registered_token = token.clone();
    let result = db
        .run(move |conn| {
            let registration =
                Registration { token: &registered_token, name: &name, password_hash: &password_hash, client };
            Ok::<_, diesel::result::Error>(queries::register(conn, &site_for_db, &registration, now))
        })
        .await?;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => return refused(&session, current.as_ref(), &token, error),
    };
    let Some(registered) = outcome.registered.clone() else {
        return Err(AppError::Unexpected(anyhow::anyhow!("registration named no account")));
    };
    let landing = landing_message("Your account is set up.", &outcome);
    let pending = second_factor::Pending {
        account_id: registered.account_id.get(),
        email: registered.email.clone(),
        is_platform_admin: registered.is_platform_admin,
        must_change_password: false,
        started_at: now.and_utc().timestamp(),
        next: "/account".to_owned(),
        enrol: false,
        landing: None,
        stamp: second_factor::sign_in::password_stamp(Some(&password_hash_kept), registered.session_epoch),
        secret_id: None,
        origin: String::new(),
    }
    .with_landing(landing.clone());
    // Where a second factor is required, its enrolment comes before the session.
    if let Some(page) = second_factor::sign_in::after_password(&ctx, pending, "", &action).await? {
        return Ok(page);
    }
    crate::auth::open_session(&req, &session, &db, registered.account_id.get(), &registered.email, client, now, None)
        .await?;
    flash::set(&session, FlashKind::Success, landing);
    Ok(see_other("/account"))
}

/// The accepting half of `submit`.
#[allow(clippy::too_many_arguments)]
async fn accept(
    session: &Session,
    db: &Db,
    clock: &Clock,
    site: &web::Data<Site>,
    client: ClientAddr,
    current: Option<CurrentAccount>,
    token: String,
    link: &LiveLink,
) -> Result<HttpResponse, AppError> {
    let Some(account) = current else {
        return Err(AppError::SignInRequired { next: format!("{}{token}", super::PATH_PREFIX) });
    };
    if account.account_id() != link.account_id {
        return accept_page(session, Some(&account), token, link);
    }
    let actor = account.actor(client);
    let now = clock.now();
    let site = site.clone();
    let accepted_token = token.clone();
    let result = db
        .run(move |conn| Ok::<_, diesel::result::Error>(queries::accept(conn, &site, &accepted_token, &actor, now)))
        .await?;
    match result {
        Ok(outcome) => {
            flash::set(
                account.session(),
                FlashKind::Success,
                landing_message("You accepted the invitation.", &outcome),
            );
            Ok(see_other("/account"))
        }
        Err(error) => refused(session, Some(&account), &token, error),
    }
}

fn refused(
    session: &Session,
    current: Option<&CurrentAccount>,
    token: &str,
    error: ActError,
) -> Result<HttpResponse, AppError> {
    match error {
        ActError::Dead(dead) => dead_page(session, current, &dead),
        // The link changed step under the form (registered meanwhile): show it again.
        ActError::WrongStep | ActError::OtherAccount => Ok(see_other(&format!("{}{token}", super::PATH_PREFIX))),
        ActError::Database(e) => Err(e.into()),
    }
}

/// Where the person stands, said once on `/account` (which lists every membership).
fn landing_message(first: &str, outcome: &Outcome) -> String {
    let mut message = first.to_owned();
    if !outcome.active.is_empty() {
        message.push_str(&format!(" You can now work in {}.", outcome.active.join(", ")));
    }
    if !outcome.awaiting_validation.is_empty() {
        message.push_str(&format!(
            " An administrator of {} will validate your membership, usually after speaking with you; you will get an email then.",
            outcome.awaiting_validation.join(", ")
        ));
    }
    message
}
