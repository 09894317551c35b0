//! Role guards as extractor types: a handler that names one in its signature cannot run without
//! the role. Each re-reads the account from the database on every request, so a revoked role or
//! an ended session (its row deleted) takes effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::queries::{self, AccountRoles, SessionLookup};
use super::session;
use crate::clock::Clock;
use crate::db::{Db, DbConn};
use crate::domain::{AccountId, OrgId};
use crate::error::AppError;
use crate::web::flash::{self, FlashKind};
use crate::web::layout::{Layout, Nav, Section};

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// Any signed-in account, even one that still has to change its generated password.
/// Only the account page and sign-out take this; everything else takes `SignedIn`.
#[derive(Clone)]
pub struct CurrentAccount {
    pub account: AccountRoles,
    pub administers_orgs: bool,
    /// The `sessions` row of this request.
    pub session_id: i64,
    session: Session,
}

impl CurrentAccount {
    pub fn id(&self) -> i64 {
        self.account.id
    }

    pub fn account_id(&self) -> AccountId {
        AccountId(self.account.id)
    }

    pub fn email(&self) -> &str {
        &self.account.email
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// This account as the author of a change, for the audit trail.
    pub fn actor(&self, client: crate::web::client::ClientAddr) -> crate::audit::Actor {
        crate::audit::Actor { id: Some(self.id()), email: self.email().to_owned(), client }
    }

    /// The frame of a page shown to this account.
    pub fn layout(&self, title: impl Into<String>, section: Section) -> Result<Layout, AppError> {
        let nav = Nav {
            email: self.account.email.clone(),
            is_platform_admin: self.account.is_platform_admin,
            administers_orgs: self.administers_orgs,
        };
        Layout::new(&self.session, title, section, Some(nav))
    }
}

fn requested_path(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => req.path().to_owned(),
    }
}

/// What a request's cookie names, before the database is asked: the session, the hash of its
/// token (what the `sessions` table stores), and the app's database and clock.
struct Presented {
    session: Session,
    token_hash: String,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
}

fn sign_in_required(req: &HttpRequest) -> AppError {
    // A GET can be repeated after sign-in; a form post cannot, so go back home instead.
    AppError::SignInRequired {
        next: if req.method() == actix_web::http::Method::GET { requested_path(req) } else { "/".into() },
    }
}

fn presented(req: &HttpRequest) -> Result<Presented, AppError> {
    let session = req.get_session();
    let token = session::cookie_token(&session).ok_or_else(|| sign_in_required(req))?;
    let (db, clock) = app_parts(req)?;
    Ok(Presented { session, token_hash: session::token_hash(&token), db, clock })
}

/// The account a session lookup found, or the sign-in page with why the session ended.
fn admit(lookup: SessionLookup, session: Session, req: &HttpRequest) -> Result<CurrentAccount, AppError> {
    let why = match lookup {
        SessionLookup::Live { session_id, roles } => {
            return Ok(CurrentAccount {
                administers_orgs: roles.administers_orgs,
                account: roles,
                session_id,
                session,
            });
        }
        SessionLookup::Expired(session::Expiry::Idle) => {
            "Your session ended after 30 minutes without activity. Sign in again."
        }
        SessionLookup::Expired(session::Expiry::Absolute) => "Your session reached its 12-hour limit. Sign in again.",
        // Signed out elsewhere, ended from another device, or the account no longer exists.
        SessionLookup::Missing => "You were signed out. Sign in again.",
    };
    session::end_cookie(&session);
    flash::set(&session, FlashKind::Info, why);
    Err(sign_in_required(req))
}

async fn load_current(req: HttpRequest) -> Result<CurrentAccount, AppError> {
    let Presented { session, token_hash, db, clock } = presented(&req)?;
    let now = clock.now();
    let lookup = db.run(move |conn| queries::current_session(conn, &token_hash, now)).await?;
    admit(lookup, session, &req)
}

fn app_parts(req: &HttpRequest) -> Result<(web::Data<Db>, web::Data<Clock>), AppError> {
    let missing = |what| AppError::Unexpected(anyhow::anyhow!("{what} is not registered with the app"));
    let db = req.app_data::<web::Data<Db>>().cloned().ok_or_else(|| missing("Db"))?;
    let clock = req.app_data::<web::Data<Clock>>().cloned().ok_or_else(|| missing("Clock"))?;
    Ok((db, clock))
}

impl FromRequest for CurrentAccount {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load_current(req.clone()))
    }
}

/// A signed-in account whose password needs no forced change.
#[derive(Clone)]
pub struct SignedIn(pub CurrentAccount);

impl std::ops::Deref for SignedIn {
    type Target = CurrentAccount;
    fn deref(&self) -> &CurrentAccount {
        &self.0
    }
}

async fn load_signed_in(req: HttpRequest) -> Result<SignedIn, AppError> {
    SignedIn::from_current(load_current(req).await?)
}

impl SignedIn {
    fn from_current(current: CurrentAccount) -> Result<Self, AppError> {
        if current.account.must_change_password {
            flash::set(current.session(), FlashKind::Warning, "Choose a new password before you continue.");
            return Err(AppError::PasswordChangeRequired);
        }
        Ok(SignedIn(current))
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load_signed_in(req.clone()))
    }
}

/// A platform administrator.
#[derive(Clone)]
pub struct PlatformAdmin(pub SignedIn);

impl std::ops::Deref for PlatformAdmin {
    type Target = CurrentAccount;
    fn deref(&self) -> &CurrentAccount {
        &self.0
    }
}

impl PlatformAdmin {
    fn from_signed_in(signed_in: SignedIn) -> Result<Self, AppError> {
        if !signed_in.account.is_platform_admin {
            return Err(AppError::Forbidden("This page is for platform administrators."));
        }
        Ok(PlatformAdmin(signed_in))
    }

    /// Whether a session lookup admits a platform administrator (the test `from_signed_in` and
    /// `SignedIn::from_current` make, before their messages).
    fn admits(lookup: &SessionLookup) -> bool {
        matches!(lookup, SessionLookup::Live { roles, .. } if roles.is_platform_admin && !roles.must_change_password)
    }
}

impl FromRequest for PlatformAdmin {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { PlatformAdmin::from_signed_in(load_signed_in(req).await?) })
    }
}

/// A platform administrator whose check has not run yet: it runs in the same blocking hop as
/// the page's own read (`read`), so a read-only page costs one trip to the thread pool instead
/// of two. `read` is the only way to the account or the database, and it checks first: a
/// handler taking this type cannot skip the check. The check always reads the primary; the
/// page's read goes to the read replica when one serves this viewer (`db::replica`).
pub struct PlatformAdminRead {
    req: HttpRequest,
}

impl FromRequest for PlatformAdminRead {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self { req: req.clone() }))
    }
}

impl PlatformAdminRead {
    /// Check the session and the role on the primary, then run `work` (on the replica when it
    /// serves this viewer, else on the same connection); `work` runs only for a platform
    /// administrator, and gets the account's id. It may run twice (replica, then primary).
    pub async fn read<T, F>(self, work: F) -> Result<(PlatformAdmin, T), AppError>
    where
        F: Fn(&mut DbConn, i64) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let Presented { session, token_hash, db, clock } = presented(&self.req)?;
        let now = clock.now();
        let floor = crate::web::own_writes::floor(&session);
        let (lookup, read) = db
            .run_guarded_listing(
                floor,
                move |conn| {
                    let lookup = queries::current_session(conn, &token_hash, now)?;
                    let admitted = match &lookup {
                        SessionLookup::Live { roles, .. } if PlatformAdmin::admits(&lookup) => Some(roles.id),
                        _ => None,
                    };
                    Ok((lookup, admitted))
                },
                work,
            )
            .await?;
        let admin = PlatformAdmin::from_signed_in(SignedIn::from_current(admit(lookup, session, &self.req)?)?)?;
        let read =
            read.ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("the page was not read for its administrator")))?;
        Ok((admin, read))
    }
}

/// An active Delegate of the organization named by the route's `{id}`. A missing organization
/// and a malformed id get the same 403 as a foreign one, so ids cannot be probed.
#[derive(Clone)]
pub struct OrgAdmin {
    pub signed_in: SignedIn,
    pub org_id: OrgId,
}

impl std::ops::Deref for OrgAdmin {
    type Target = CurrentAccount;
    fn deref(&self) -> &CurrentAccount {
        &self.signed_in
    }
}

const NOT_YOUR_ORG: &str = "You are not an administrator of this organization.";

impl FromRequest for OrgAdmin {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let raw_id = req.match_info().get("id").map(str::to_owned);
            let signed_in = load_signed_in(req.clone()).await?;
            let org_id = raw_id.and_then(|id| id.parse::<OrgId>().ok()).ok_or(AppError::Forbidden(NOT_YOUR_ORG))?;
            let (db, _) = app_parts(&req)?;
            let account_id = signed_in.id();
            let allowed = db.run(move |conn| queries::is_org_admin(conn, account_id, org_id.get())).await?;
            if !allowed {
                return Err(AppError::Forbidden(NOT_YOUR_ORG));
            }
            Ok(OrgAdmin { signed_in, org_id })
        })
    }
}

/// An active Delegate of the route's organization whose check has not run yet: like
/// `PlatformAdminRead`, the session, the role and the page's own read share one blocking hop
/// and one connection, and `read` is the only way to the data.
pub struct OrgAdminRead {
    req: HttpRequest,
}

impl FromRequest for OrgAdminRead {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self { req: req.clone() }))
    }
}

impl OrgAdminRead {
    /// Check the session, then that the account is an active Delegate of the route's
    /// organization (both on the primary), then run `work` for that organization (on the
    /// replica when it serves this viewer). `work` may run twice (replica, then primary).
    pub async fn read<T, F>(self, work: F) -> Result<(OrgAdmin, T), AppError>
    where
        F: Fn(&mut DbConn, OrgId) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let org_id = self.req.match_info().get("id").and_then(|id| id.parse::<OrgId>().ok());
        let Presented { session, token_hash, db, clock } = presented(&self.req)?;
        let now = clock.now();
        let floor = crate::web::own_writes::floor(&session);
        let (lookup, read) = db
            .run_guarded_listing(
                floor,
                move |conn| {
                    let lookup = queries::current_session(conn, &token_hash, now)?;
                    let admitted = match (&lookup, org_id) {
                        (SessionLookup::Live { roles, .. }, Some(org_id)) if !roles.must_change_password => {
                            queries::is_org_admin(conn, roles.id, org_id.get())?.then_some(org_id)
                        }
                        _ => None,
                    };
                    Ok((lookup, admitted))
                },
                work,
            )
            .await?;
        // The same answers, in the same order, as `SignedIn` then `OrgAdmin`.
        let signed_in = SignedIn::from_current(admit(lookup, session, &self.req)?)?;
        let (Some(org_id), Some(read)) = (org_id, read) else {
            return Err(AppError::Forbidden(NOT_YOUR_ORG));
        };
        Ok((OrgAdmin { signed_in, org_id }, read))
    }
}
