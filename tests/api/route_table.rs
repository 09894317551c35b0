//! The table of every route the application registers, with the role its handler requires and
//! its parameters (issue 15, point 6). Two tests read it:
//!
//! - `routes.rs` checks that it names every route registered under `src/`, and that each
//!   guarded route sends an anonymous browser to sign in and refuses a signed-in account
//!   without the role with 403;
//! - `inputs.rs` sends generated inputs into every parameter of every route it fuzzes.
//!
//! **A route added later gets one line here**, or `routes.rs` fails.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
}

/// The role a route's handler requires. The generated-input test plays every signed-in role
/// with one browser (the bootstrap administrator is a platform administrator and the Delegate
/// of its fixture organization) and `Anonymous` with a second browser that is not signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Open to anyone, by design (sign-in, password reset, registration links, health, assets).
    Anonymous,
    /// Any signed-in account (`SignedIn` or `CurrentAccount`).
    SignedIn,
    /// A platform administrator (`PlatformAdmin`).
    PlatformAdmin,
    /// An active Delegate of the organization in the path's `{org}` (`OrgAdmin`).
    Delegate,
}

/// One route: method, path (with `{org}`, `{member}`, `{plan}`, `{admin}`, `{message}`,
/// `{session}`, `{connection}`, `{asset}` and `{token}` for the fixtures; each placeholder is fuzzed as well),
/// its query parameters (GET) or form fields (POST), and the role that may use it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    pub(crate) params: &'static [&'static str],
    pub(crate) role: Role,
    /// `Some(n)`: each input that gets past the guards hashes a password (argon2, ~0.1 s), so
    /// the route gets `n` inputs instead of its share.
    pub(crate) hashing: Option<usize>,
    /// 0: any time. 1: after the others, since a success takes away a fixture the others
    /// need (a user, a plan, an organization's removal state). 2: at the very end, since it may
    /// end the fuzzing browser's own session.
    pub(crate) phase: u8,
    /// A refusal is itself recorded (failed sign-ins are counted and audited).
    pub(crate) refusal_writes: bool,
    /// The path holds a secret (an emailed token) no fixture has, so inputs stop at the check
    /// of the link: that they get past the guards is not required.
    pub(crate) secret: bool,
}

pub(crate) const fn get(path: &'static str, params: &'static [&'static str], role: Role) -> Route {
    Route { verb: Verb::Get, path, params, role, hashing: None, phase: 0, refusal_writes: false, secret: false }
}

pub(crate) const fn post(path: &'static str, params: &'static [&'static str], role: Role) -> Route {
    Route { verb: Verb::Post, ..get(path, params, role) }
}

impl Route {
    pub(crate) const fn hashing(self, inputs: usize) -> Self {
        Self { hashing: Some(inputs), ..self }
    }

    pub(crate) const fn late(self) -> Self {
        Self { phase: 1, ..self }
    }

    pub(crate) const fn last(self) -> Self {
        Self { phase: 2, ..self }
    }

    pub(crate) const fn refusal_writes(self) -> Self {
        Self { refusal_writes: true, ..self }
    }

    pub(crate) const fn secret(self) -> Self {
        Self { secret: true, ..self }
    }

    pub(crate) fn method(&self) -> &'static str {
        match self.verb {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }

    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.method(), self.path)
    }

    pub(crate) fn placeholders(&self) -> Vec<&'static str> {
        let mut found = Vec::new();
        let mut rest = self.path;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            found.push(&rest[start..=start + len]);
            rest = &rest[start + len + 1..];
        }
        found
    }
}

/// The routes the generated-input test sends inputs to: all of them, in table order (its
/// seeded schedule depends on that order).
pub(crate) fn fuzzed_routes() -> Vec<&'static Route> {
    ROUTES.iter().collect()
}

const ORG_LIST: &[&str] = &["q", "by", "sort", "dir", "per_page", "page", "after", "before"];
const USER_LIST: &[&str] = &["q", "status", "sort", "dir", "per_page", "page", "after", "before"];
const PLATFORM_AUDIT: &[&str] =
    &["actor", "action", "target", "org", "from", "to", "per_page", "page", "after", "before"];
const ORG_AUDIT: &[&str] = &["actor", "action", "target", "from", "to", "per_page", "page", "after", "before"];
const PAGER: &[&str] = &["per_page", "page", "after", "before"];
const ORG_FORM: &[&str] = &["name", "quota_gb", "seats", "admin_email"];
const USER_FORM: &[&str] = &[
    "email",
    "delegate",
    "unsigned_containers",
    "release_protections",
    "recover",
    "no_second_factor",
    "quota_gb",
    "plan_id",
];
const USER_EDIT_FORM: &[&str] =
    &["delegate", "unsigned_containers", "release_protections", "recover", "no_second_factor", "quota_gb", "plan_id"];
const PLAN_FORM: &[&str] = &["name", "quota_gb", "is_default"];
const PASSWORD_FORM: &[&str] = &["current_password", "password", "password_confirm"];
const REGISTER_FORM: &[&str] = &["display_name", "password", "password_confirm", "code"];
const LDAP_FORM: &[&str] = &[
    "name",
    "url",
    "starttls",
    "bind_dn",
    "bind_password",
    "base_dn",
    "user_filter",
    "email_attr",
    "name_attr",
    "schedule_minutes",
    "new_entry_status",
];
const NONE: &[&str] = &[];

/// Every route of the application, checked against each feature's `configure` by
/// `routes::every_registered_route_is_in_the_table`. A new kind of `{placeholder}` or parameter
/// also gets its real values in `inputs::Generator::plausible` and `routes::Ids::fill`.
pub(crate) const ROUTES: &[Route] = &[
    get("/login", &["next"], Role::Anonymous),
    post("/login", &["email", "password", "next", "code"], Role::Anonymous).hashing(100).refusal_writes(),
    post("/logout", NONE, Role::Anonymous).last(),
    get("/password-reset", NONE, Role::Anonymous),
    post("/password-reset", &["email"], Role::Anonymous),
    get("/password-reset/{token}", NONE, Role::Anonymous).secret(),
    post("/password-reset/{token}", &["password", "password_confirm"], Role::Anonymous).secret(),
    get("/register/{token}", NONE, Role::Anonymous).secret(),
    post("/register/{token}", REGISTER_FORM, Role::Anonymous).secret(),
    get("/", NONE, Role::SignedIn),
    get("/healthz", NONE, Role::Anonymous),
    get("/readyz", NONE, Role::Anonymous),
    // Opens only to ORGPORTAL_METRICS_TOKEN, a secret no fixture has: 404 without the setting
    // (tests/api/ops.rs covers it with one).
    get("/metrics", NONE, Role::Anonymous).secret(),
    get("/static/{asset}", NONE, Role::Anonymous),
    get("/favicon.ico", NONE, Role::Anonymous),
    get("/account", NONE, Role::SignedIn),
    post("/account/password", PASSWORD_FORM, Role::SignedIn).hashing(40),
    post("/account/profile", &["display_name"], Role::SignedIn),
    post("/account/sessions/end-others", NONE, Role::SignedIn).late(),
    get("/account/2fa", NONE, Role::SignedIn),
    post("/account/2fa", &["code"], Role::SignedIn),
    post("/account/2fa/new", &["current_password"], Role::SignedIn).hashing(40),
    post("/account/2fa/recovery-codes", &["current_password"], Role::SignedIn).hashing(40),
    post("/account/2fa/disable", &["current_password"], Role::SignedIn).hashing(40),
    post("/account/sessions/{session}/end", NONE, Role::SignedIn).last(),
    get("/admin", NONE, Role::PlatformAdmin),
    get("/admin/organizations", ORG_LIST, Role::PlatformAdmin),
    get("/admin/organizations.csv", ORG_LIST, Role::PlatformAdmin),
    post("/admin/organizations/selection", &["org_id", "action", "back"], Role::PlatformAdmin),
    get("/admin/organizations/new", NONE, Role::PlatformAdmin),
    post("/admin/organizations", ORG_FORM, Role::PlatformAdmin),
    get("/admin/organizations/{org}/edit", NONE, Role::PlatformAdmin),
    post("/admin/organizations/{org}/edit", ORG_FORM, Role::PlatformAdmin),
    get("/admin/organizations/{org}/removal", NONE, Role::PlatformAdmin),
    post("/admin/organizations/{org}/removal", &["notify_contact"], Role::PlatformAdmin).late(),
    post("/admin/organizations/{org}/removal/cancel", NONE, Role::PlatformAdmin).late(),
    post("/admin/organizations/{org}/removal/decline", NONE, Role::PlatformAdmin).late(),
    post("/admin/organizations/{org}/removal/approve", &["password"], Role::PlatformAdmin).hashing(40).late(),
    get("/admin/properties", NONE, Role::PlatformAdmin),
    post("/admin/properties", &["days_to_action_removal"], Role::PlatformAdmin),
    get("/admin/administrators", NONE, Role::PlatformAdmin),
    post("/admin/administrators", &["email"], Role::PlatformAdmin),
    post("/admin/administrators/{admin}/remove", NONE, Role::PlatformAdmin).late(),
    post("/admin/administrators/{admin}/end-sessions", NONE, Role::PlatformAdmin),
    post("/admin/administrators/{admin}/resend", NONE, Role::PlatformAdmin),
    post("/admin/administrators/{admin}/revoke", NONE, Role::PlatformAdmin).late(),
    post("/admin/administrators/{admin}/reset-2fa", &["password"], Role::PlatformAdmin).hashing(40).late(),
    get("/admin/audit", PLATFORM_AUDIT, Role::PlatformAdmin),
    get("/admin/audit.csv", PLATFORM_AUDIT, Role::PlatformAdmin),
    get("/admin/outbox", PAGER, Role::PlatformAdmin),
    post("/admin/outbox/{message}/retry", NONE, Role::PlatformAdmin),
    get("/admin/ldap", NONE, Role::PlatformAdmin),
    post("/admin/ldap", LDAP_FORM, Role::PlatformAdmin),
    get("/admin/ldap/{connection}", NONE, Role::PlatformAdmin),
    post("/admin/ldap/{connection}", LDAP_FORM, Role::PlatformAdmin),
    post("/admin/ldap/{connection}/delete", NONE, Role::PlatformAdmin).late(),
    post("/admin/ldap/{connection}/test", NONE, Role::PlatformAdmin),
    post("/admin/ldap/{connection}/test-sign-in", &["email", "password"], Role::PlatformAdmin),
    get("/admin/ldap/{connection}/sync", NONE, Role::PlatformAdmin),
    post("/admin/ldap/{connection}/sync", NONE, Role::PlatformAdmin),
    get("/orgs/{org}", NONE, Role::Delegate),
    get("/orgs/{org}/users", USER_LIST, Role::Delegate),
    get("/orgs/{org}/users.csv", USER_LIST, Role::Delegate),
    get("/orgs/{org}/users/new", NONE, Role::Delegate),
    post("/orgs/{org}/users", USER_FORM, Role::Delegate),
    get("/orgs/{org}/users/{member}/edit", NONE, Role::Delegate),
    post("/orgs/{org}/users/{member}/edit", USER_EDIT_FORM, Role::Delegate),
    post("/orgs/{org}/users/{member}/validate", NONE, Role::Delegate),
    post("/orgs/{org}/users/{member}/resend", NONE, Role::Delegate),
    post("/orgs/{org}/users/{member}/revoke", NONE, Role::Delegate).late(),
    post("/orgs/{org}/users/{member}/remove", NONE, Role::Delegate).late(),
    get("/orgs/{org}/properties", NONE, Role::Delegate),
    post("/orgs/{org}/properties", &["contact_email", "admin_email"], Role::Delegate),
    get("/orgs/{org}/plans", NONE, Role::Delegate),
    post("/orgs/{org}/plans", PLAN_FORM, Role::Delegate),
    post("/orgs/{org}/plans/{plan}/edit", PLAN_FORM, Role::Delegate),
    post("/orgs/{org}/plans/{plan}/delete", &["move_to"], Role::Delegate).late(),
    get("/orgs/{org}/audit", ORG_AUDIT, Role::Delegate),
    get("/orgs/{org}/audit.csv", ORG_AUDIT, Role::Delegate),
];
