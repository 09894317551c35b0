//! `TestApp`: the real application on a fresh database (a temp SQLite file, or a PostgreSQL
//! database created for the test and dropped after it), driven through `actix_web::test` by a
//! client that keeps cookies and follows CSRF tokens like a browser.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::{header, Method, StatusCode};
use actix_web::test;
use diesel::prelude::*;
use orgportal::app::{self, AppState};
use orgportal::clock::Clock;
use orgportal::config::{Config, Settings};
use orgportal::db::schema::accounts;
use orgportal::db::{self, Db, DbConn};
use tempfile::TempDir;

pub const ADMIN_EMAIL: &str = "admin@default.com";
pub const ADMIN_PASSWORD: &str = "violet-harbour-92-kettle";

/// Runs each named test function once per backend: `<name>::sqlite` and `<name>::postgres`.
/// The PostgreSQL run needs `TEST_DATABASE_URL`; without it the test is skipped, except under
/// `CI=true`, where a missing database fails the run.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::sqlite().await).await
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    )* };
}

/// A fresh database of either backend, dropped with the value.
pub struct TestDatabase {
    pub url: String,
    pub dir: TempDir,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("orgportal.db").display());
        Self { url, dir, postgres: None }
    }

    /// `None` when `TEST_DATABASE_URL` is unset (outside CI).
    pub fn postgres() -> Option<Self> {
        let Ok(server_url) = std::env::var("TEST_DATABASE_URL") else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("TEST_DATABASE_URL must be set under CI=true: PostgreSQL tests may not be skipped");
            }
            eprintln!("TEST_DATABASE_URL is unset: skipping the PostgreSQL run of this test");
            return None;
        };
        let name =
            format!("orgportal_test_{}", orgportal::auth::random_token(9).to_lowercase().replace(['-', '_'], "x"));
        let mut admin = PgConnection::establish(&server_url).expect("TEST_DATABASE_URL must reach a PostgreSQL server");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
        let mut url = url::Url::parse(&server_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            dir: tempfile::tempdir().expect("temp dir"),
            postgres: Some((server_url, name)),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(server_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// The settings `serve` would read, pointed at a test database and data dir.
pub fn test_config(database: &TestDatabase, extra: &[&str]) -> Config {
    use clap::Parser;
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        settings: Settings,
    }
    let data_dir = database.dir.path().join("data");
    let mut args = vec![
        "orgportal".to_owned(),
        "--database-url".into(),
        database.url.clone(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--secret-key".into(),
        "k".repeat(64),
        "--admin-password".into(),
        ADMIN_PASSWORD.into(),
    ];
    // Off unless a test asks: the second factor's own tests switch the administrators' rule
    // back on (the production default), the rest sign administrators in with a password.
    if !extra.contains(&"--require-admin-2fa") {
        args.extend(["--require-admin-2fa".to_owned(), "false".to_owned()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let settings = Args::try_parse_from(args).expect("test settings parse").settings;
    Config::from_settings(&settings).expect("test settings are valid")
}

/// The last response: status, headers and body text.
pub struct Response {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected 303 to {to}, body: {}", self.body);
        assert_eq!(self.location(), to);
    }

    #[track_caller]
    /// Where the browser goes next: a 303's target, or the Continue link of the recovery
    /// codes page shown once after enrolling a second factor (the page's only way onward).
    pub fn assert_lands_on(&self, to: &str) {
        if self.status == StatusCode::SEE_OTHER {
            return self.assert_redirect(to);
        }
        assert_eq!(self.status, StatusCode::OK, "expected a 303 or the recovery codes page, body: {}", self.body);
        assert!(self.body.contains(r#"id="recovery-codes""#), "not the recovery codes page: {}", self.body);
        let expected = format!(r#"id="continue" class="button button-primary" href="{to}""#);
        assert!(self.body.contains(&expected), "Continue does not lead to {to}: {}", self.body);
    }

    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
    }
}

/// The running application and one browser-like client. `client()` makes a second browser.
pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<Clock>,
    pub database: Arc<TestDatabase>,
    cookies: HashMap<String, String>,
    csrf_token: Option<String>,
    /// The authenticator app every client of this test shares: email → (base32 secret, last
    /// step whose code was used).
    pub authenticator: Arc<std::sync::Mutex<HashMap<String, (String, i64)>>>,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::start(TestDatabase::sqlite(), &[])
    }

    pub async fn postgres() -> Option<Self> {
        TestDatabase::postgres().map(|db| Self::start(db, &[]))
    }

    /// Connect, migrate, bootstrap (admin@default.com with `ADMIN_PASSWORD`) and build the app,
    /// exactly as `orgportal serve` does.
    pub fn start(database: TestDatabase, extra_settings: &[&str]) -> Self {
        let config = test_config(&database, extra_settings);
        let db = Db::connect(config.database.clone(), 4).expect("connect to test database");
        // No monitor here: a test stands in for it with `Replica::observe`.
        let db = match &config.replica {
            Some(settings) => db.with_replica(db::Replica::new(settings, 4)),
            None => db,
        };
        let clock = Arc::new(Clock::system());
        {
            let mut conn = db.get().expect("connection");
            db::run_migrations(&mut conn).expect("migrations");
            orgportal::bootstrap::ensure(&mut conn, config.admin_password.as_deref(), clock.now()).expect("bootstrap");
        }
        let state = AppState::new(config, db, clock.clone()).expect("app state");
        let app = Self {
            state,
            clock,
            database: Arc::new(database),
            cookies: HashMap::new(),
            csrf_token: None,
            authenticator: Arc::default(),
        };
        // The bootstrap administrator is a Delegate of the default organization, whose
        // membership requires a second factor: set up here as if done at an earlier sign-in,
        // so every test's `login` goes through the code step. The second factor's own tests
        // remove it to see enrolment happen.
        app.enrol_directly(ADMIN_EMAIL);
        app
    }

    /// The CSRF token of the last page this browser saw.
    pub fn csrf_token(&self) -> Option<String> {
        self.csrf_token.clone()
    }

    /// Give `email` a confirmed second factor held by the shared authenticator, straight in
    /// the database (what enrolling through the pages leaves behind).
    pub fn enrol_directly(&self, email: &str) {
        use orgportal::second_factor::{self, queries, Secret};
        let keys = &self.state.second_factor_keys;
        let mut conn = self.conn();
        let id = account_id(&mut conn, email);
        let secret = Secret::generate();
        let now = self.clock.now();
        queries::put_pending(&mut conn, keys, id, &secret, now).expect("pending secret");
        let pending = queries::pending_secret(&mut conn, keys, id).expect("read").expect("pending");
        let codes = second_factor::new_recovery_codes();
        queries::confirm(&mut conn, keys, id, pending.id, 0, &codes, now).expect("confirm");
        self.authenticator.lock().expect("authenticator").insert(email.to_owned(), (secret.base32(), 0));
    }

    /// Make `email` sign in with the password alone: its memberships stop asking for a second
    /// factor and it has none (for tests of the password step itself).
    pub fn password_only(&self, email: &str) {
        use orgportal::db::schema::memberships;
        let id = account_id(&mut self.conn(), email);
        diesel::update(memberships::table.filter(memberships::account_id.eq(id)))
            .set(memberships::no_second_factor.eq(true))
            .execute(&mut *self.conn())
            .expect("memberships without a second factor");
        self.remove_second_factor(email);
    }

    /// Take `email`'s second factor away (and out of the shared authenticator).
    pub fn remove_second_factor(&self, email: &str) {
        let id = account_id(&mut self.conn(), email);
        orgportal::second_factor::queries::remove(&mut self.conn(), id).expect("remove");
        self.authenticator.lock().expect("authenticator").remove(email);
    }

    /// Only a handle on an empty database (for commands that set it up themselves).
    pub fn start_without_bootstrap(database: TestDatabase) -> Self {
        let config = test_config(&database, &[]);
        let db = Db::connect(config.database.clone(), 2).expect("connect to test database");
        let clock = Arc::new(Clock::system());
        let state = AppState::new(config, db, clock.clone()).expect("app state");
        Self {
            state,
            clock,
            database: Arc::new(database),
            cookies: HashMap::new(),
            csrf_token: None,
            authenticator: Arc::default(),
        }
    }

    /// Another browser (empty cookie jar) on the same application and database.
    pub fn client(&self) -> Self {
        Self {
            state: self.state.clone(),
            clock: self.clock.clone(),
            database: self.database.clone(),
            cookies: HashMap::new(),
            csrf_token: None,
            authenticator: self.authenticator.clone(),
        }
    }

    /// Another instance over the same database, as a second `orgportal serve` would be: its own
    /// pool, limiters and caches, the same settings (and so the same secret key), and a new
    /// browser. Only the clock is shared, so tests can still move time for both.
    pub fn other_instance(&self) -> Self {
        let config = (*self.state.config).clone();
        let db = Db::connect(config.database.clone(), 4).expect("connect to test database");
        let state = AppState::new(config, db, self.clock.clone()).expect("app state");
        Self { state, ..self.client() }
    }

    /// This instance, in a browser holding a copy of `other`'s cookies (of any instance).
    pub fn with_cookies_of(&self, other: &TestApp) -> Self {
        Self { cookies: other.cookies.clone(), csrf_token: other.csrf_token.clone(), ..self.client() }
    }

    /// A second browser holding a copy of this one's cookies: what an attacker who copied the
    /// session cookie would send.
    pub fn copy_of_cookies(&self) -> Self {
        Self { cookies: self.cookies.clone(), csrf_token: self.csrf_token.clone(), ..self.client() }
    }

    pub fn conn(&self) -> diesel::r2d2::PooledConnection<db::ConnectionManager> {
        self.state.db.get().expect("connection")
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_postgres()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.database.dir.path().join("data")
    }

    pub async fn get(&mut self, path: &str) -> Response {
        self.send(test::TestRequest::default().method(Method::GET).uri(path)).await
    }

    /// POST a form with the CSRF token of the last page seen, like a browser submitting it.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, serde_urlencoded::to_string(&all).expect("encode form")).await
    }

    /// POST a body exactly as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, body: String) -> Response {
        let request = test::TestRequest::default()
            .method(Method::POST)
            .uri(path)
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body);
        self.send(request).await
    }

    pub async fn send(&mut self, request: test::TestRequest) -> Response {
        let mut request = request.peer_addr("127.0.0.1:40000".parse().expect("addr"));
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.insert_header((header::COOKIE, cookie));
        }
        let service = test::init_service(app::build(&self.state)).await;
        let response = test::call_service(&service, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(header::SET_COOKIE) {
            let Ok(text) = set_cookie.to_str() else {
                continue;
            };
            let Ok(cookie) = actix_web::cookie::Cookie::parse(text.to_owned()) else {
                continue;
            };
            let expired = cookie.max_age().is_some_and(|age| age.is_zero() || age.is_negative());
            if expired || cookie.value().is_empty() {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap_or_default();
        if let Some(token) = find_csrf_token(&body) {
            self.csrf_token = Some(token);
        }
        Response { status, headers, body }
    }

    /// Open the sign-in page and sign in, giving a code from the shared authenticator (or
    /// enrolling it) when the portal asks for a second factor.
    pub async fn login(&mut self, email: &str, password: &str) -> Response {
        self.get("/login").await.assert_status(200);
        let response = self.post("/login", &[("email", email), ("password", password)]).await;
        self.answer_second_factor(email, response).await
    }

    /// The code the shared authenticator shows now for `email`, at a step not used before
    /// (the clock moves on to the next step when this one was used: codes work once).
    pub fn fresh_code(&self, email: &str) -> String {
        let email = email.trim().to_lowercase();
        let email = email.as_str();
        let mut app = self.authenticator.lock().expect("authenticator");
        let (secret, last_step) =
            app.get(email).cloned().unwrap_or_else(|| panic!("no app holds a secret for {email}"));
        let mut step = self.clock.now().and_utc().timestamp() / 30;
        if step <= last_step {
            self.clock.advance(chrono::Duration::seconds(30 * (last_step - step + 1)));
            step = self.clock.now().and_utc().timestamp() / 30;
        }
        app.insert(email.to_owned(), (secret.clone(), step));
        totp_code(&secret, step)
    }

    /// What a person with the app does when `response` asks for a second factor: scan the
    /// enrolment page's secret and confirm it, or type the current code; else nothing.
    pub async fn answer_second_factor(&mut self, email: &str, response: Response) -> Response {
        if !response.body.contains(r#"name="code""#) {
            return response;
        }
        let action = form_action_with_code(&response.body);
        if let Some(secret) = text_of_id(&response.body, "totp-secret") {
            self.authenticator.lock().expect("authenticator").insert(email.trim().to_lowercase(), (secret, 0));
        }
        let code = self.fresh_code(email);
        self.post(&action, &[("code", &code)]).await
    }

    /// Sign in sending extra request headers (a browser's User-Agent, a proxy's
    /// X-Forwarded-For), as a fresh visit to the sign-in page would.
    pub async fn login_with_headers(&mut self, email: &str, password: &str, headers: &[(&str, &str)]) -> Response {
        self.get("/login").await.assert_status(200);
        let token = self.csrf_token.clone().unwrap_or_default();
        let body =
            serde_urlencoded::to_string([("csrf_token", token.as_str()), ("email", email), ("password", password)])
                .expect("encode form");
        let mut request = test::TestRequest::default()
            .method(Method::POST)
            .uri("/login")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body);
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let response = self.send(request).await;
        if !response.body.contains(r#"name="code""#) {
            return response;
        }
        // The code step, from the same client.
        let code = self.fresh_code(email);
        let token = self.csrf_token.clone().unwrap_or_default();
        let body =
            serde_urlencoded::to_string([("csrf_token", token.as_str()), ("code", code.as_str())]).expect("encode");
        let mut request = test::TestRequest::default()
            .method(Method::POST)
            .uri("/login")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body);
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        self.send(request).await
    }

    /// Sign in as the bootstrap administrator and check it worked.
    pub async fn login_as_admin(&mut self) {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
    }

    /// An active account straight in the database, with a second factor in the shared
    /// authenticator (as registration leaves most accounts): `login` gives its codes.
    pub fn insert_account(&self, email: &str, password: &str, is_platform_admin: bool) -> i64 {
        let id = self.insert_account_without_second_factor(email, password, is_platform_admin);
        self.enrol_directly(email);
        id
    }

    /// An active account straight in the database, password only.
    pub fn insert_account_without_second_factor(&self, email: &str, password: &str, is_platform_admin: bool) -> i64 {
        let hash = orgportal::auth::password::hash_blocking(password).expect("hash");
        let now = self.clock.now();
        let mut conn = self.conn();
        diesel::insert_into(accounts::table)
            .values((
                accounts::email.eq(email),
                accounts::password_hash.eq(hash),
                accounts::status.eq("active"),
                accounts::is_platform_admin.eq(is_platform_admin),
                accounts::created_at.eq(now),
                accounts::updated_at.eq(now),
            ))
            .execute(&mut *conn)
            .expect("insert account");
        account_id(&mut conn, email)
    }

    pub fn password_hash(&self, email: &str) -> Option<String> {
        accounts::table
            .filter(accounts::email.eq(email))
            .select(accounts::password_hash)
            .first(&mut *self.conn())
            .expect("account exists")
    }
}

/// The six-digit TOTP code of a base32 secret at a 30-second step, as an authenticator app
/// computes it (RFC 6238, SHA-1).
pub fn totp_code(secret_base32: &str, step: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_owned()).to_bytes().expect("base32 secret");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).expect("totp");
    totp.generate(u64::try_from(step).expect("step") * 30)
}

/// The text inside the element with `id` (no nested tags), unescaped of `&amp;`.
pub fn text_of_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!(r#"id="{id}""#))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().replace("&amp;", "&"))
}

/// The address an enrolment page sets up (the label of its `otpauth://` URI).
pub fn enrolment_email(html: &str) -> Option<String> {
    let uri = text_of_id(html, "totp-uri")?;
    let label = uri.strip_prefix("otpauth://totp/orgportal:")?.split('?').next()?;
    Some(label.replace("%40", "@").replace("%2B", "+"))
}

/// The `action` of the form holding the field `code`.
pub fn form_action_with_code(html: &str) -> String {
    let field = html.find(r#"name="code""#).expect("a code field");
    let form = html[..field].rfind("<form").expect("a form around the code field");
    let action = form + html[form..].find(r#"action=""#).expect("form action") + r#"action=""#.len();
    let end = action + html[action..].find('"').expect("end of action");
    html[action..end].replace("&#x2f;", "/").replace("&#47;", "/")
}

pub fn account_id(conn: &mut DbConn, email: &str) -> i64 {
    accounts::table.filter(accounts::email.eq(email)).select(accounts::id).first(conn).expect("account exists")
}

fn find_csrf_token(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf_token" value=""#)? + r#"name="csrf_token" value=""#.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// An organization straight in the database, for list tests that need many rows fast.
pub struct SeedOrg<'a> {
    pub name: &'a str,
    pub contact: &'a str,
    pub quota_gb: i64,
    pub members: i64,
    pub created_at: chrono::NaiveDateTime,
}

impl TestApp {
    pub fn seed_org(&self, org: &SeedOrg<'_>) -> i64 {
        use orgportal::db::schema::organizations;
        use orgportal::domain::fold;
        let mut conn = self.conn();
        diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(org.name),
                organizations::name_key.eq(fold(org.name)),
                organizations::contact_email.eq(org.contact),
                organizations::contact_key.eq(fold(org.contact)),
                organizations::admin_email.eq(org.contact),
                organizations::quota_gb.eq(org.quota_gb),
                organizations::member_count.eq(org.members),
                organizations::created_at.eq(org.created_at),
                organizations::updated_at.eq(org.created_at),
            ))
            .execute(&mut *conn)
            .expect("insert organization");
        let id = organizations::table
            .filter(organizations::name_key.eq(fold(org.name)))
            .select(organizations::id)
            .first(&mut *conn)
            .expect("organization exists");
        orgportal::db::org_index::inserted(&mut conn, id).expect("index the organization");
        id
    }

    pub fn org_id(&self, name: &str) -> i64 {
        use orgportal::db::schema::organizations;
        organizations::table
            .filter(organizations::name.eq(name))
            .select(organizations::id)
            .first(&mut *self.conn())
            .expect("organization exists")
    }
}

/// The ids of `data-<attr>-id` rows in a page, in order.
pub fn row_ids(html: &str, attr: &str) -> Vec<i64> {
    let marker = format!(r#"data-{attr}-id=""#);
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

/// Text as askama writes it into a page (numeric character references).
pub fn escape_html(raw: &str) -> String {
    raw.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

impl TestApp {
    /// An LDAP connection straight in the database, past the interlock (a fixture for pages
    /// that need one while several organizations exist). `password` is sealed as the portal
    /// seals it.
    pub fn insert_ldap_connection(&self, name: &str, url: &str, password: Option<&str>) -> i64 {
        use orgportal::db::schema::ldap_connections;
        let mut conn = self.conn();
        let now = self.clock.now();
        diesel::insert_into(ldap_connections::table)
            .values((
                ldap_connections::name.eq(name),
                ldap_connections::url.eq(url),
                ldap_connections::starttls.eq(false),
                ldap_connections::bind_dn.eq("cn=reader,dc=example,dc=org"),
                ldap_connections::base_dn.eq("dc=example,dc=org"),
                ldap_connections::user_filter.eq("(objectClass=inetOrgPerson)"),
                ldap_connections::email_attr.eq("mail"),
                ldap_connections::name_attr.eq("cn"),
                ldap_connections::new_entry_status.eq("active"),
                ldap_connections::created_at.eq(now),
                ldap_connections::updated_at.eq(now),
            ))
            .execute(&mut *conn)
            .expect("insert LDAP connection");
        let id = ldap_connections::table
            .filter(ldap_connections::name.eq(name))
            .select(ldap_connections::id)
            .first(&mut *conn)
            .expect("the connection");
        if let Some(password) = password {
            let sealed = self.state.ldap_key.seal(password, id).expect("seal");
            diesel::update(ldap_connections::table.find(id))
                .set(ldap_connections::bind_password_sealed.eq(sealed))
                .execute(&mut *conn)
                .expect("store the sealed password");
        }
        id
    }
}
