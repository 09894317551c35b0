//! The application: shared state, the middleware stack, and every feature's routes.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Payload, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::Logger;
use actix_web::{web, App, FromRequest, HttpRequest, HttpServer};
use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::accounts::password_reset::ResetLimiter;
use crate::audit::{Actor, NewEvent};
use crate::auth::password::Passwords;
use crate::auth::rate_limit::SignInLimiter;
use crate::auth::CurrentAccount;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::{AppError, Failure};
use crate::mail::Site;
use crate::second_factor::Keys;
use crate::web::client::ClientAddr;

pub const SESSION_COOKIE: &str = "orgportal_session";

/// Everything the handlers share. Cheap to clone (handles and `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<Clock>,
    pub passwords: Passwords,
    /// Shared by every worker of this instance, so the per-address limit is one limit.
    pub sign_in_limiter: Arc<SignInLimiter>,
    /// Password reset requests per client address, likewise one limit per instance.
    pub password_reset_limiter: Arc<ResetLimiter>,
    pub session_key: Key,
    /// The second factor's sealing key and recovery-code pepper.
    pub second_factor_keys: crate::second_factor::Keys,
    pub common_terms: Arc<crate::db::search::CommonTerms>,
    /// Seals LDAP bind passwords at rest.
    pub ldap_key: crate::platform::ldap::BindPasswordKey,
    /// This instance's metrics, shared by its workers and its metrics listener.
    pub metrics: Arc<crate::ops::Metrics>,
}

impl AppState {
    pub fn new(config: Config, db: Db, clock: Arc<Clock>) -> anyhow::Result<Self> {
        let secret = config.load_secret_key()?;
        // HKDF-derived, so any secret of 64+ characters gives a full-strength key.
        let session_key = Key::derive_from(&secret);
        Ok(Self {
            db,
            config: Arc::new(config),
            clock,
            passwords: Passwords::new()?,
            sign_in_limiter: Arc::default(),
            password_reset_limiter: Arc::default(),
            session_key,
            second_factor_keys: crate::second_factor::Keys::derive(&secret),
            common_terms: Arc::default(),
            ldap_key: crate::platform::ldap::BindPasswordKey::derive(&secret),
            metrics: Arc::default(),
        })
    }
}

/// Mount every feature's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::web::static_files::configure(cfg);
    crate::auth::configure(cfg);
    crate::accounts::configure(cfg);
    crate::home::configure(cfg);
    crate::platform::configure(cfg);
    crate::org_admin::configure(cfg);
    crate::registration::configure(cfg);
    crate::second_factor::handlers::configure(cfg);
    crate::ops::configure(cfg);
}

/// The whole application, as `serve` runs it and as the tests drive it.
pub fn build(
    state: &AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(CookieSessionStore::default(), state.session_key.clone())
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_http_only(true)
        .cookie_secure(state.config.secure_cookies)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        // The cookie only names a server-side session; its timeouts are enforced on the row.
        .session_lifecycle(BrowserSession::default())
        .build();
    App::new()
        .app_data(web::Data::new(state.db.clone()))
        .app_data(web::Data::from(state.config.clone()))
        .app_data(web::Data::from(state.clock.clone()))
        .app_data(web::Data::new(state.passwords.clone()))
        .app_data(web::Data::from(state.sign_in_limiter.clone()))
        .app_data(web::Data::from(state.password_reset_limiter.clone()))
        .app_data(web::Data::from(state.common_terms.clone()))
        .app_data(web::Data::new(state.second_factor_keys.clone()))
        .app_data(web::Data::new(state.ldap_key.clone()))
        .app_data(web::Data::from(state.metrics.clone()))
        .app_data(web::Data::new(crate::mail::Site::from_config(&state.config)))
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .app_data(
            web::QueryConfig::default().error_handler(|e, _| {
                AppError::Unprocessable(format!("The address has a malformed query: {e}.")).into()
            }),
        )
        .configure(routes)
        .default_service(web::to(not_found))
        // Inside the session layer, so the position it keeps in the session is saved.
        .wrap(actix_web::middleware::from_fn(crate::web::own_writes::remember))
        .wrap(sessions)
        .wrap(crate::web::headers::security_headers(state.config.secure_cookies))
        // `%r` with the token of a registration or reset link hidden: the log holds no link.
        .wrap(
            Logger::new(r#"%a "%{request}xi" %s %b %Dms"#)
                .custom_request_replace("request", crate::registration::redacted_request_line),
        )
        // Outermost, so a request's time includes every layer above.
        .wrap(crate::ops::RecordRequests(state.metrics.clone()))
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Serve until stopped, with the metrics listener beside the main one when configured.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let bind = state.config.bind;
    let server = HttpServer::new({
        let state = state.clone();
        move || build(&state)
    })
    .bind(bind)
    .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?
    .run();
    let Some(metrics_bind) = state.config.metrics_bind else {
        server.await?;
        return Ok(());
    };
    let (metrics_server, address) =
        crate::ops::metrics_server(metrics_bind, state.metrics.clone(), state.db.clone(), state.clock.clone())?;
    println!("Metrics are served on http://{address}/metrics");
    // A signal stops both listeners; the process ends when both have drained.
    let (served, metrics_served) = futures_util::future::join(server, metrics_server).await;
    served?;
    metrics_served?;
    Ok(())
}

/// What a handler works with besides its role and its form, as one extractor: the shared
/// services `build` registers, and the client's address for the audit trail.
#[derive(Clone)]
pub struct Services {
    pub db: web::Data<Db>,
    pub clock: web::Data<Clock>,
    pub config: web::Data<Config>,
    pub passwords: web::Data<Passwords>,
    pub site: web::Data<Site>,
    pub keys: web::Data<Keys>,
    pub ldap_key: web::Data<crate::platform::ldap::BindPasswordKey>,
    pub metrics: web::Data<crate::ops::Metrics>,
    pub client: ClientAddr,
}

impl Services {
    fn from_app(req: &HttpRequest, payload: &mut Payload) -> Result<Self, AppError> {
        Ok(Self {
            db: data(req)?,
            clock: data(req)?,
            config: data(req)?,
            passwords: data(req)?,
            site: data(req)?,
            keys: data(req)?,
            ldap_key: data(req)?,
            metrics: data(req)?,
            client: ClientAddr::from_request(req, payload).into_inner()?,
        })
    }

    /// `account`'s act from this client, now.
    pub fn act(&self, account: &CurrentAccount) -> Act {
        Act { actor: account.actor(self.client), now: self.clock.now(), site: self.site.clone().into_inner() }
    }

    /// Whether `typed` is the password of `account_id`: the check behind every act that asks
    /// for one's own password again. An account without a password still costs one hash.
    pub async fn is_password_of(&self, account_id: i64, typed: &str) -> Result<bool, AppError> {
        let stored = self.db.run(move |conn| crate::auth::queries::password_hash(conn, account_id)).await?;
        self.passwords.verify(typed.to_owned(), stored).await
    }

    /// Run `account`'s act in the database: a refusal comes back for the handler to show, a
    /// fault as the outer error.
    pub async fn attempt<T, R, F>(&self, account: &CurrentAccount, work: F) -> Result<Result<T, R>, AppError>
    where
        F: FnOnce(&mut DbConn, &Act) -> Result<T, Failure<R>> + Send + 'static,
        T: Send + 'static,
        R: Send + 'static,
    {
        let act = self.act(account);
        self.db.attempt(move |conn| work(conn, &act)).await
    }

    /// Run `account`'s act in one write transaction (an act with nothing to refuse).
    pub async fn write<T, F>(&self, account: &CurrentAccount, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn, &Act) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let act = self.act(account);
        self.db.run(move |conn| crate::db::write_transaction(conn, |conn| work(conn, &act))).await
    }
}

/// Who acts, when, and the site its emails link to: what every audited write takes.
pub struct Act {
    pub actor: Actor,
    pub now: NaiveDateTime,
    pub site: Arc<Site>,
}

impl Act {
    /// An act of the account on itself (its password, sessions, name, second factor), in the
    /// audit trail.
    pub fn record_own(&self, conn: &mut DbConn, action: &'static str, details: serde_json::Value) -> QueryResult<()> {
        crate::audit::record(
            conn,
            &NewEvent::platform(&self.actor, action, &self.actor.email).details(details),
            self.now,
        )
    }
}

/// A `web::Data` that `build` registers; missing, it is a fault of the build (500).
fn data<T: ?Sized + 'static>(req: &HttpRequest) -> Result<web::Data<T>, AppError> {
    req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!("{} is not registered with the application", std::any::type_name::<T>()))
    })
}

impl FromRequest for Services {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Self::from_app(req, payload))
    }
}
