//! Every route is guarded as the route table says (issue 15, point 6). The table in
//! `route_table.rs` must name every route registered under `src/` (read from the sources, so a
//! route added without its line fails here); then, on both backends, an anonymous browser is
//! sent to sign in by every route that needs a role, a signed-in account without the role is
//! refused with 403, and a Delegate of one organization is refused on another's pages.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use orgportal::db::schema::{memberships, outbox, plans, sessions};

use crate::helpers::{account_id, SeedOrg, TestApp, ADMIN_EMAIL};
use crate::on_both_backends;
use crate::route_table::{Role, Route, Verb, ROUTES};

on_both_backends!(
    an_anonymous_browser_is_sent_to_sign_in_by_every_guarded_route,
    an_account_without_the_role_is_refused_with_403,
    a_delegate_of_one_organization_is_refused_on_another,
);

const PLAIN_EMAIL: &str = "no-role@routes.example";
const DELEGATE_EMAIL: &str = "delegate-a@routes.example";
const PASSWORD: &str = "amber-lantern-58-orchard";

/// What the guards say when they refuse: the 403 is the role's, not a CSRF refusal or a 404.
const NOT_PLATFORM_ADMIN: &str = "This page is for platform administrators.";
const NOT_DELEGATE: &str = "You are not an administrator of this organization.";

// ---------------------------------------------------------------------------------------------
// The table against the sources.

/// A route as registered: method and path with every `{placeholder}` written `{}`.
type Registered = (String, String);

fn normalised(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// The string literal that starts at `text` (just after its opening quote).
fn literal(text: &str) -> Option<&str> {
    let end = text.find('"')?;
    Some(&text[..end])
}

/// The HTTP method of the first `web::get()`, `web::post()`, … (or `web::method(Method::X)`)
/// in `text`; `ANY` when there is none (`.to(…)` answers every method).
fn method_in(text: &str) -> String {
    let Some(at) = text.find("web::") else { return "ANY".into() };
    let rest = &text[at + 5..];
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    match name.as_str() {
        "method" => rest
            .find("Method::")
            .map(|m| rest[m + 8..].chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>())
            .unwrap_or_else(|| "ANY".into())
            .to_uppercase(),
        "get" | "post" | "put" | "delete" | "patch" | "head" => name.to_uppercase(),
        _ => "ANY".into(),
    }
}

/// The code of a source file without comment lines and unit tests.
fn code_of(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    source.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every route registered under `src/`: `.route("…", web::get()…)`, `web::resource("…")` with
/// its `.route(web::…)`s, and `#[get("…")]`-style attributes; and every `web::scope("…")`
/// prefix, whose routes are written relative to it.
fn registered_routes() -> (BTreeSet<Registered>, BTreeSet<String>) {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut routes = BTreeSet::new();
    let mut scopes = BTreeSet::new();
    for file in files {
        let code = code_of(&std::fs::read_to_string(&file).expect("read a source file"));
        for (at, _) in code.match_indices(".route(\"") {
            let rest = &code[at + 8..];
            let path = literal(rest).expect("a closed literal");
            let after = &rest[path.len()..];
            let call = &after[..after.find(".to(").unwrap_or(after.len()).min(160)];
            routes.insert((method_in(call), normalised(path)));
        }
        for (at, _) in code.match_indices("web::resource(\"") {
            let rest = &code[at + 15..];
            let path = literal(rest).expect("a closed literal");
            let chain = &rest[..rest.find(';').unwrap_or(rest.len())];
            let mut methods: Vec<String> =
                chain.match_indices(".route(web::").map(|(route_at, _)| method_in(&chain[route_at + 7..])).collect();
            if methods.is_empty() {
                methods.push("ANY".into());
            }
            for method in methods {
                routes.insert((method, normalised(path)));
            }
        }
        for verb in ["get", "post", "put", "delete", "patch", "head"] {
            for (at, _) in code.match_indices(&format!("#[{verb}(\"")) {
                let rest = &code[at + verb.len() + 4..];
                routes.insert((verb.to_uppercase(), normalised(literal(rest).expect("a closed literal"))));
            }
        }
        // A path the scan cannot read (a constant, a `format!`) must not slip past it.
        for call in [".route(", "web::resource(", "web::scope(", ".service(fs::Files"] {
            for (at, _) in code.match_indices(call) {
                let rest = code[at + call.len()..].trim_start();
                assert!(
                    rest.starts_with('"') || (call == ".route(" && rest.starts_with("web::")),
                    "{}: `{call}` without a literal path; teach `registered_routes` to read it",
                    file.display()
                );
            }
        }
        for (at, _) in code.match_indices("web::scope(\"") {
            scopes.insert(normalised(literal(&code[at + 12..]).expect("a closed literal")));
        }
    }
    (routes, scopes)
}

fn table() -> BTreeSet<Registered> {
    ROUTES.iter().map(|route| (route.method().to_owned(), normalised(route.path))).collect()
}

/// `(method, path)` is in `set` as written or, when `path` is relative to a scope, with the
/// scope's prefix.
fn covered(set: &BTreeSet<Registered>, scopes: &BTreeSet<String>, (method, path): &Registered) -> bool {
    let same_path = |other: &str| set.iter().any(|(m, p)| p == other && (m == method || method == "ANY" || m == "ANY"));
    same_path(path) || scopes.iter().any(|scope| same_path(&format!("{scope}{path}")))
}

#[test]
fn every_registered_route_is_in_the_table() {
    let (registered, scopes) = registered_routes();
    // The scan itself works: it finds routes of several features.
    for known in [("GET", "/login"), ("POST", "/logout"), ("GET", "/healthz"), ("POST", "/account/2fa/disable")] {
        let known = (known.0.to_owned(), known.1.to_owned());
        assert!(covered(&registered, &scopes, &known), "the scan of src/ finds {known:?}: {registered:?}");
    }
    let table = table();
    assert_eq!(table.len(), ROUTES.len(), "the table names each route once");
    let missing: Vec<&Registered> = registered.iter().filter(|r| !covered(&table, &scopes, r)).collect();
    assert!(
        missing.is_empty(),
        "routes registered under src/ but missing from tests/api/route_table.rs (add each with the role \
         its handler requires): {missing:?}"
    );
    // Relative paths inside a scope are compared with the prefix taken off the table's path.
    let unscoped = |(method, path): &Registered| {
        let mut forms = vec![(method.clone(), path.clone())];
        for scope in &scopes {
            if let Some(rest) = path.strip_prefix(scope.as_str()) {
                forms.push((method.clone(), rest.to_owned()));
            }
        }
        forms
    };
    let stale: Vec<&Registered> = table
        .iter()
        .filter(|route| !unscoped(route).iter().any(|form| covered(&registered, &BTreeSet::new(), form)))
        .collect();
    assert!(stale.is_empty(), "routes in the table that src/ does not register: {stale:?}");
}

#[test]
fn the_table_only_opens_by_design() {
    let anonymous: BTreeSet<&str> =
        ROUTES.iter().filter(|route| route.role == Role::Anonymous).map(|route| route.path).collect();
    let by_design = [
        "/login",
        "/logout",
        "/password-reset",
        "/password-reset/{token}",
        "/register/{token}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/static/{asset}",
        "/favicon.ico",
    ];
    let unexpected: Vec<&&str> = anonymous.iter().filter(|path| !by_design.contains(path)).collect();
    assert!(unexpected.is_empty(), "routes open to anonymous browsers but not by design: {unexpected:?}");
}

// ---------------------------------------------------------------------------------------------
// The guards on both backends.

/// Real ids for every placeholder: organization B (the bootstrap administrator is its
/// Delegate), a member and a plan of it, an administrator, a message and a session.
struct Ids {
    org: i64,
    member: i64,
    plan: i64,
    admin: i64,
    message: i64,
    session: i64,
    connection: i64,
}

impl Ids {
    fn fill(&self, route: &Route) -> String {
        let mut path = route.path.to_owned();
        for placeholder in route.placeholders() {
            let value = match placeholder {
                "{org}" => self.org.to_string(),
                "{member}" => self.member.to_string(),
                "{plan}" => self.plan.to_string(),
                "{admin}" => self.admin.to_string(),
                "{message}" => self.message.to_string(),
                "{session}" => self.session.to_string(),
                "{connection}" => self.connection.to_string(),
                "{asset}" => "style.css".into(),
                "{token}" => "A".repeat(43),
                other => panic!("{}: no fixture for {other}; add one to `Ids::fill`", route.name()),
            };
            path = path.replacen(placeholder, &value, 1);
        }
        path
    }
}

/// Organization B with a plan, an invited member (whose invitation is a message in the
/// outbox), made through the pages by the bootstrap administrator.
async fn organization_b(app: &TestApp) -> Ids {
    let mut admin = app.client();
    admin.login_as_admin().await;
    admin.get("/admin/organizations/new").await.assert_status(200);
    admin
        .post(
            "/admin/organizations",
            &[("name", "Route Table B"), ("quota_gb", "100"), ("seats", ""), ("admin_email", ADMIN_EMAIL)],
        )
        .await
        .assert_status(303);
    let org = app.org_id("Route Table B");
    admin.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
    admin.post(&format!("/orgs/{org}/plans"), &[("name", "Gold"), ("quota_gb", "5")]).await.assert_status(303);
    admin.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
    admin
        .post(&format!("/orgs/{org}/users"), &[("email", "member@b.routes.example"), ("quota_gb", "1")])
        .await
        .assert_status(303);
    let mut conn = app.conn();
    let member = account_id(&mut conn, "member@b.routes.example");
    let plan = plans::table.filter(plans::organization_id.eq(org)).select(plans::id).first(&mut *conn).expect("plan");
    let message = outbox::table.select(outbox::id).order(outbox::id.desc()).first(&mut *conn).expect("a message");
    let session = sessions::table.select(sessions::id).order(sessions::id.desc()).first(&mut *conn).expect("session");
    let admin_id = account_id(&mut conn, ADMIN_EMAIL);
    drop(conn);
    // Past the LDAP interlock (two organizations exist): a fixture only.
    let connection = app.insert_ldap_connection("Route Table Directory", "ldap://127.0.0.1:9", None);
    Ids { org, member, plan, admin: admin_id, message, session, connection }
}

/// Sends `route` (filled from `ids`) as `browser`, a POST with the CSRF token of the last page
/// it saw.
async fn send(browser: &mut TestApp, route: &Route, ids: &Ids) -> crate::helpers::Response {
    let path = ids.fill(route);
    match route.verb {
        Verb::Get => browser.get(&path).await,
        Verb::Post => browser.post(&path, &[]).await,
    }
}

async fn an_anonymous_browser_is_sent_to_sign_in_by_every_guarded_route(app: TestApp) {
    let ids = organization_b(&app).await;
    let mut anonymous = app.client();
    let before = state(&app, &ids);
    let mut checked = 0;
    for route in ROUTES.iter().filter(|route| route.role != Role::Anonymous) {
        // A valid token, so a POST is stopped by the role guard and not by the CSRF check.
        anonymous.get("/login").await.assert_status(200);
        let path = ids.fill(route);
        let response = send(&mut anonymous, route, &ids).await;
        // A GET comes back after sign-in; a form post cannot be repeated, so it goes home.
        let next = if route.verb == Verb::Get { path.as_str() } else { "/" };
        let expected = format!("/login?{}", serde_urlencoded::to_string([("next", next)]).expect("encode"));
        assert_eq!(response.status.as_u16(), 303, "{} ({path}) anonymous: {}", route.name(), response.body);
        assert_eq!(response.location(), expected, "{} ({path}) anonymous", route.name());
        checked += 1;
    }
    assert!(checked >= 50, "guarded routes checked: {checked}");
    assert_eq!(state(&app, &ids), before, "the refused posts changed nothing");
}

async fn an_account_without_the_role_is_refused_with_403(app: TestApp) {
    let ids = organization_b(&app).await;
    app.insert_account_without_second_factor(PLAIN_EMAIL, PASSWORD, false);
    let mut plain = app.client();
    plain.login(PLAIN_EMAIL, PASSWORD).await.assert_redirect("/");
    plain.get("/").await.assert_status(200);
    plain.get("/account").await.assert_status(200);
    refused_everywhere(&mut plain, &ids, "an account without a role").await;
}

async fn a_delegate_of_one_organization_is_refused_on_another(app: TestApp) {
    let ids = organization_b(&app).await;
    let org_a = app.seed_org(&SeedOrg {
        name: "Route Table A",
        contact: DELEGATE_EMAIL,
        quota_gb: 10,
        members: 1,
        created_at: app.clock.now(),
    });
    // Delegates need a second factor: this one is enrolled already.
    let delegate = app.insert_account(DELEGATE_EMAIL, PASSWORD, false);
    let now = app.clock.now();
    diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(org_a),
            memberships::account_id.eq(delegate),
            memberships::status.eq("active"),
            memberships::is_delegate.eq(true),
            memberships::created_at.eq(now),
            memberships::updated_at.eq(now),
        ))
        .execute(&mut *app.conn())
        .expect("the Delegate of A");
    let mut browser = app.client();
    browser.login(DELEGATE_EMAIL, PASSWORD).await.assert_redirect("/");
    // The Delegate's own organization opens: the refusals below are about B.
    for page in [format!("/orgs/{org_a}"), format!("/orgs/{org_a}/users"), format!("/orgs/{org_a}/plans")] {
        browser.get(&page).await.assert_status(200);
    }
    refused_everywhere(&mut browser, &ids, "the Delegate of organization A").await;
}

/// Every platform route and every route of organization B answers `who` 403 with the guard's
/// own message, and the refused posts change nothing.
async fn refused_everywhere(browser: &mut TestApp, ids: &Ids, who: &str) {
    let before = state(browser, ids);
    let mut checked = 0;
    for route in ROUTES.iter().filter(|route| matches!(route.role, Role::PlatformAdmin | Role::Delegate)) {
        // A page with a form first, so a POST carries a valid token.
        browser.get("/account").await.assert_status(200);
        let path = ids.fill(route);
        let response = send(browser, route, ids).await;
        let message = if route.role == Role::PlatformAdmin { NOT_PLATFORM_ADMIN } else { NOT_DELEGATE };
        assert_eq!(response.status.as_u16(), 403, "{} ({path}) as {who}: {}", route.name(), response.body);
        assert!(
            response.body.contains(message),
            "{} ({path}) as {who}: the guard refused: {}",
            route.name(),
            response.body
        );
        checked += 1;
    }
    assert!(checked >= 40, "routes checked as {who}: {checked}");
    assert_eq!(state(browser, ids), before, "the posts refused to {who} changed nothing");
}

/// What the refused requests must leave as they found it: organization B's plans, memberships
/// and removal requests, the organizations, the platform administrators and the outbox.
fn state(app: &TestApp, ids: &Ids) -> [i64; 6] {
    use orgportal::db::schema::{accounts, organizations, removal_requests};
    let mut conn = app.conn();
    let conn = &mut *conn;
    [
        plans::table.filter(plans::organization_id.eq(ids.org)).count().get_result(conn),
        memberships::table.filter(memberships::organization_id.eq(ids.org)).count().get_result(conn),
        removal_requests::table.filter(removal_requests::organization_id.eq(ids.org)).count().get_result(conn),
        organizations::table.count().get_result(conn),
        accounts::table.filter(accounts::is_platform_admin.eq(true)).count().get_result(conn),
        outbox::table.count().get_result(conn),
    ]
    .map(|count| count.expect("count"))
}
