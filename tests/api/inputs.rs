//! No input breaks a page (issue 11, point 4). Generated inputs — random bytes, control
//! characters, invalid percent-encodings, huge and negative numbers, 100 KB strings, empty
//! values, and now and then a plausible value so the deeper paths run too — go into every query
//! parameter, form field and path segment of every route, sent signed in with the route's role.
//! No answer may be a 5xx, and a POST that is refused (4xx) must leave the database exactly as
//! it was (row counts of every table, the last change of accounts, organizations,
//! memberships and plans, and the platform properties).
//!
//! The routes come from the shared table in `route_table.rs` (all of them, in table order): **a route added later is covered by adding one line to it.**
//!
//! The inputs come from a seeded RNG, so a run is repeatable: the seed is printed, and
//! `ORGPORTAL_INPUTS_SEED=<n>` (or `random`) chooses another; `ORGPORTAL_INPUTS=<n>` sets the
//! inputs per backend. A failure names the route, the parameter, the kind of input, the value
//! and the whole request, so it can be replayed by hand.
//!
//! The focused tests after the generated run pin down each 5xx that run found.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method};
use actix_web::test::{self, TestRequest};
use diesel::prelude::*;
use futures_util::FutureExt;
use orgportal::db::schema::{accounts, organizations, outbox, plans};
use orgportal::db::DbConn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::helpers::{escape_html, row_ids, Response, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;
use crate::route_table::{fuzzed_routes, Role, Route, Verb};

on_both_backends!(
    generated_inputs_never_answer_5xx_and_refusals_change_nothing,
    control_characters_in_a_search_are_refused_beside_the_box,
    page_numbers_and_cursors_out_of_range_show_a_real_page,
    malformed_ids_in_paths_are_403_or_404,
    control_characters_in_form_fields_re_render_the_form_with_422,
);

/// Inputs per backend in a full run: SQLite alone passes 10,000, so a run without PostgreSQL
/// does too; PostgreSQL's round trips cost more, so it gets fewer. `ORGPORTAL_INPUTS`
/// overrides both.
const SQLITE_INPUTS: usize = 10_000;
const POSTGRES_INPUTS: usize = 3_000;
const DEFAULT_SEED: u64 = 0x0_5EED_0011;

// ---------------------------------------------------------------------------------------------
// The fixtures: real ids for every placeholder, and real cursors.

struct Fixtures {
    /// The fixture organization (its Delegate is the bootstrap administrator) and Default.
    orgs: Vec<i64>,
    members: Vec<i64>,
    plans: Vec<i64>,
    /// Platform administrators other than the fuzzing one.
    admins: Vec<i64>,
    messages: Vec<i64>,
    /// Sessions of the administrator other than the fuzzing browser's own.
    sessions: Vec<i64>,
    /// LDAP connections (made past the interlock: many organizations exist).
    connections: Vec<i64>,
    /// `after`/`before` values taken from real next and previous links.
    cursors: Vec<String>,
}

/// The fixtures, made through the pages by `app` signed in as the bootstrap administrator (the
/// fuzzing browser signs in after, so `app`'s session is one it can end).
async fn set_up(app: &mut TestApp) -> Fixtures {
    app.login_as_admin().await;
    app.get("/admin/organizations/new").await.assert_status(200);
    app.post(
        "/admin/organizations",
        &[("name", "Fuzz Fixture"), ("quota_gb", "1000"), ("seats", ""), ("admin_email", ADMIN_EMAIL)],
    )
    .await
    .assert_status(303);
    let org = app.org_id("Fuzz Fixture");
    for (name, quota) in [("Basic", "5"), ("Pro", "10")] {
        app.get(&format!("/orgs/{org}/plans")).await.assert_status(200);
        app.post(&format!("/orgs/{org}/plans"), &[("name", name), ("quota_gb", quota)]).await.assert_status(303);
    }
    // Enough invited members that revoking and removing (both late) each find one left.
    for n in 1..=8 {
        let email = format!("member{n}@fuzz.example");
        app.post(&format!("/orgs/{org}/users"), &[("email", email.as_str()), ("quota_gb", "1")])
            .await
            .assert_status(303);
    }
    app.post("/admin/administrators", &[("email", "second-admin@fuzz.example")]).await.assert_status(303);
    // Another administrator who can sign in asks to remove the fixture organization, so the
    // fuzzing one can decline or approve it (an initiator can do neither).
    app.insert_account("other-admin@fuzz.example", ADMIN_PASSWORD, true);
    let mut other = app.client();
    other.login("other-admin@fuzz.example", ADMIN_PASSWORD).await.assert_redirect("/");
    other.get(&format!("/admin/organizations/{org}/removal")).await.assert_status(200);
    other.post(&format!("/admin/organizations/{org}/removal"), &[]).await.assert_status(303);
    // Organizations enough for several pages in every sort, so cursors exist.
    let now = app.clock.now();
    for n in 0..30 {
        let name = format!("Paged Org {n:02}");
        let contact = format!("contact{n}@paged.example");
        app.seed_org(&crate::helpers::SeedOrg {
            name: &name,
            contact: &contact,
            quota_gb: n,
            members: 0,
            created_at: now - chrono::Duration::minutes(60 - n),
        });
    }
    let mut cursors = Vec::new();
    for sort in ["", "&sort=name&dir=asc", "&sort=quota&dir=desc", "&sort=created&dir=asc", "&sort=contact&dir=desc"] {
        let page = app.get(&format!("/admin/organizations?per_page=10&page=2{sort}")).await;
        for rel in ["next", "prev"] {
            if let Some(cursor) = link(&page, rel).and_then(|href| cursor_of(&href)) {
                cursors.push(cursor);
            }
        }
    }
    assert!(cursors.len() >= 8, "the fixture pages have cursors: {cursors:?}");

    let mut conn = app.conn();
    let member_ids = accounts::table
        .filter(accounts::email.like("member%@fuzz.example"))
        .select(accounts::id)
        .load(&mut *conn)
        .expect("members");
    let plan_ids =
        plans::table.filter(plans::organization_id.eq(org)).select(plans::id).load(&mut *conn).expect("plans");
    let admin_ids = accounts::table
        .filter(accounts::email.eq_any(["second-admin@fuzz.example", "other-admin@fuzz.example"]))
        .select(accounts::id)
        .load(&mut *conn)
        .expect("second administrator");
    let message_ids: Vec<i64> =
        outbox::table.select(outbox::id).order(outbox::id.asc()).limit(5).load(&mut *conn).expect("outbox");
    // One failed message, so Retry has something to do once.
    diesel::update(outbox::table.filter(outbox::id.eq(message_ids[0])))
        .set(outbox::status.eq("failed"))
        .execute(&mut *conn)
        .expect("a failed message");
    let default_org = organizations::table
        .filter(organizations::is_default.eq(true))
        .select(organizations::id)
        .first::<i64>(&mut *conn)
        .expect("the default organization");
    drop(conn);
    // Two, so deleting one (late) leaves one for the other routes; no password is stored, so a
    // test stops before the network.
    let connections = vec![
        app.insert_ldap_connection("Fuzz Directory", "ldap://127.0.0.1:9", None),
        app.insert_ldap_connection("Fuzz Directory 2", "ldap://127.0.0.1:9", None),
    ];
    Fixtures {
        orgs: vec![org, default_org],
        members: member_ids,
        plans: plan_ids,
        admins: admin_ids,
        messages: message_ids,
        sessions: Vec::new(),
        connections,
        cursors,
    }
}

/// The ids of the bootstrap administrator's sessions but the fuzzing browser's, which signed in
/// last.
fn other_session_ids(conn: &mut DbConn) -> Vec<i64> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let sql = format!(
        "SELECT id FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE email = '{ADMIN_EMAIL}') ORDER BY id"
    );
    let ids: Vec<Id> = match conn {
        DbConn::Pg(pg) => diesel::sql_query(&sql).load(pg),
        DbConn::Sqlite(sqlite) => diesel::sql_query(&sql).load(sqlite),
    }
    .unwrap_or_default();
    let mut ids: Vec<i64> = ids.into_iter().map(|row| row.id).collect();
    ids.pop();
    ids
}

fn link(page: &Response, rel: &str) -> Option<String> {
    let at = page.body.find(&format!(r#"rel="{rel}""#))?;
    let start = page.body[..at].rfind("href=\"")? + 6;
    let end = start + page.body[start..].find('"')?;
    Some(page.body[start..end].replace("&#38;", "&"))
}

fn cursor_of(href: &str) -> Option<String> {
    href.split(['?', '&'])
        .find_map(|part| part.strip_prefix("after=").or_else(|| part.strip_prefix("before=")).map(str::to_owned))
}

// ---------------------------------------------------------------------------------------------
// Browsers on one service.

/// A browser's cookies and the CSRF token of the last page it saw, for a service built once:
/// `TestApp::send` builds the whole application (route patterns and all) for every request,
/// which would be most of the run's time.
#[derive(Default)]
struct Browser {
    cookies: HashMap<String, String>,
    csrf_token: String,
}

impl Browser {
    fn prepare(&self, request: TestRequest) -> TestRequest {
        let mut request = request.peer_addr("127.0.0.1:40000".parse().expect("address"));
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.insert_header((header::COOKIE, cookie));
        }
        request
    }

    async fn receive<B: MessageBody>(&mut self, response: ServiceResponse<B>) -> Response {
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(header::SET_COOKIE) {
            let Some(cookie) =
                set_cookie.to_str().ok().and_then(|text| actix_web::cookie::Cookie::parse(text.to_owned()).ok())
            else {
                continue;
            };
            let expired = cookie.max_age().is_some_and(|age| age.is_zero() || age.is_negative());
            if expired || cookie.value().is_empty() {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies.insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        let body = String::from_utf8_lossy(&test::read_body(response).await).into_owned();
        if let Some(token) = token_in(&body) {
            self.csrf_token = token;
        }
        Response { status, headers, body }
    }
}

fn get_request(uri: &str) -> TestRequest {
    TestRequest::default().method(Method::GET).uri(uri)
}

fn post_request(uri: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::default()
        .method(Method::POST)
        .uri(uri)
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body)
}

// ---------------------------------------------------------------------------------------------
// The inputs.

/// A generated value and how it goes on the wire.
#[derive(Clone)]
enum Wire {
    /// Percent-encoded: the application receives exactly these bytes (invalid UTF-8 included).
    Encoded(Vec<u8>),
    /// Written into the URL or body as it is (ASCII only): invalid percent-encodings, `&`, `=`.
    Verbatim(String),
    /// Written into a form body as raw bytes, unencoded.
    RawBytes(Vec<u8>),
}

#[derive(Clone)]
struct Value {
    kind: &'static str,
    wire: Wire,
}

impl Value {
    fn text(kind: &'static str, text: impl Into<String>) -> Self {
        Self { kind, wire: Wire::Encoded(text.into().into_bytes()) }
    }

    fn describe(&self) -> String {
        let bytes: &[u8] = match &self.wire {
            Wire::Encoded(bytes) | Wire::RawBytes(bytes) => bytes,
            Wire::Verbatim(text) => text.as_bytes(),
        };
        let how = match self.wire {
            Wire::Encoded(_) => "percent-encoded",
            Wire::Verbatim(_) => "verbatim",
            Wire::RawBytes(_) => "raw bytes",
        };
        format!("{} ({how}, {} bytes): {}", self.kind, bytes.len(), preview(bytes))
    }
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let shown: String = text.chars().take(160).collect();
    let more = if text.chars().count() > 160 { "…" } else { "" };
    format!("{:?}{more}", shown)
}

const CONTROLS: &[&str] = &[
    "\0", "\r\n", "\n", "\r", "\t", "\u{7F}", "\u{1B}", "\u{202E}", "\u{200B}", "\u{FEFF}", "\u{85}", "\u{2028}",
    "\u{8}",
];
const BAD_PERCENT: &[&str] = &[
    "%",
    "%%",
    "%zz",
    "%C3%28",
    "%0",
    "%FF%FE",
    "%E2%82",
    "abc%",
    "%u0041",
    "%%32%30",
    "%C0%AF",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%00",
    "%0D%0A",
    "a%2",
    "%G1",
    "%C3",
    "%F0%9F%98",
];
const NUMBERS: &[&str] = &[
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999999",
    "-1",
    "0",
    "-0",
    "1e309",
    "-1e309",
    "1e3",
    "1.5",
    "NaN",
    "inf",
    "0x10",
    "+5",
    " 7 ",
    "007",
    "١٢",
    "1_000",
    "1,000",
    "2147483648",
    "4294967296",
    "1000001",
    "100000001",
];
const UNICODE: &[&str] = &[
    "Müller",
    "İstanbul",
    "straße",
    "😀",
    "e\u{301}",
    "\u{10FFFF}",
    "\u{FFFD}",
    "ǅ",
    "ﬃ",
    "\u{3000}",
    "ｆｕｌｌ",
    "עברית",
    "𝔘𝔫𝔦",
    "\u{0301}",
];
const INJECTION: &[&str] = &[
    "' OR 1=1 --",
    "\"",
    "\\",
    "%",
    "_",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "NULL",
    "null",
    "true",
    "[]",
    "{}",
    "a&b=c",
    "=",
    "&",
    "#frag",
    "?x=1",
    "//evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "${jndi:ldap://x}",
    "\"; DROP TABLE accounts; --",
    "* MATCH *",
    "NEAR(a b)",
    "\"\"\"",
];

/// Cursors that are malformed or out of range (well-formed JSON with values no cursor we make
/// holds): each must fall back to the first page, whatever the sort.
fn out_of_range_cursors() -> Vec<String> {
    use base64::Engine;
    let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let mut cursors: Vec<String> = [
        r#"{"a":true,"k":"Id","i":9223372036854775807,"p":9223372036854775807}"#,
        r#"{"a":true,"k":"Id","i":1,"p":9223372036854775807}"#,
        r#"{"a":true,"k":"Id","i":1,"p":1000000000001}"#,
        r#"{"a":false,"k":"Id","i":-9223372036854775808,"p":-9223372036854775808}"#,
        r#"{"a":true,"k":"Id","i":0,"p":0}"#,
        r#"{"a":true,"k":{"Int":5},"i":-1,"p":2}"#,
        r#"{"a":true,"k":{"Text":"\u0000"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Text":"abc\u0000def"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Text":"\ud800"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Time":"+262143-12-31T23:59:59.999999"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Time":"-262143-01-01T00:00:00.000000"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Time":"0000-01-01T00:00:00.000000"},"i":1,"p":2}"#,
        r#"{"a":true,"k":{"Time":"2024-02-30T00:00:00.000000"},"i":1,"p":2}"#,
        r#"{"a":true,"k":"Id","i":1e309,"p":2}"#,
        r#"{"a":true,"k":"Id","i":99999999999999999999999,"p":2}"#,
        r#"{"a":1,"k":"Id","i":"1","p":"2"}"#,
        r#"null"#,
        r#"[]"#,
    ]
    .iter()
    .map(|json| encode(json))
    .collect();
    cursors.push(encode(&format!(r#"{{"a":true,"k":{{"Text":"{}"}},"i":1,"p":2}}"#, "z".repeat(5_000))));
    cursors.push(encode(&"[".repeat(10_000)));
    cursors.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xFF, 0xFE, 0x00, 0x80]));
    cursors.push("====".into());
    cursors
}

/// Every cursor the generated run tries: the out-of-range ones, and well-formed ones at the
/// edges of what a sort key holds (an empty page, or a page, but never an error).
fn hostile_cursors() -> Vec<String> {
    use base64::Engine;
    let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let mut cursors = out_of_range_cursors();
    cursors.extend(
        [
            r#"{"a":true,"k":{"Int":9223372036854775807},"i":9223372036854775807,"p":2}"#,
            r#"{"a":false,"k":{"Int":-9223372036854775808},"i":1,"p":2}"#,
            r#"{"a":true,"k":{"Time":"9999-12-31T23:59:59.999999"},"i":1,"p":999999999999}"#,
            r#"{"a":false,"k":{"Text":"\uffff\u202e"},"i":9223372036854775807,"p":3}"#,
            r#"{"a":true,"k":"Id","i":1,"p":2,"x":"extra"}"#,
        ]
        .iter()
        .map(|json| encode(json)),
    );
    cursors
}

struct Generator {
    rng: StdRng,
    serial: u64,
    hostile_cursors: Vec<String>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), serial: 0, hostile_cursors: hostile_cursors() }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.gen_range(0..from.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    /// A hostile value for `param` (a query parameter, form field or `{placeholder}`).
    fn value(&mut self, param: &str, fx: &Fixtures, verb: Verb) -> Value {
        let is_cursor = param == "after" || param == "before";
        // A URL holds at most 64 KiB (the `http` crate's limit; servers allow far less), so a
        // long value in a URL is 20 KB (60 KB once percent-encoded); in a form body, 100 KB.
        let in_url = verb == Verb::Get || param.starts_with('{');
        let long = if in_url { 20_000 } else { 100_000 };
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..=9 => {
                let len = self.rng.gen_range(1..48);
                let bytes: Vec<u8> = (0..len).map(|_| self.rng.gen()).collect();
                if verb == Verb::Post && !param.starts_with('{') && self.chance(40) {
                    Value { kind: "random bytes", wire: Wire::RawBytes(bytes) }
                } else {
                    Value { kind: "random bytes", wire: Wire::Encoded(bytes) }
                }
            }
            10..=24 => {
                let base = self.plausible(param, fx);
                let control = self.pick(CONTROLS);
                let at = self.rng.gen_range(0..=base.chars().count());
                let mut text: String = base.chars().take(at).collect();
                text.push_str(control);
                text.extend(base.chars().skip(at));
                if self.chance(30) {
                    text.push_str(self.pick(CONTROLS));
                }
                Value::text("control characters", text)
            }
            25..=33 => {
                let mut text = String::new();
                if self.chance(30) {
                    text.push_str("abc");
                }
                text.push_str(self.pick(BAD_PERCENT));
                if self.chance(30) {
                    text.push_str(self.pick(BAD_PERCENT));
                }
                Value { kind: "invalid percent-encoding", wire: Wire::Verbatim(text) }
            }
            34..=48 => {
                let text = match self.rng.gen_range(0..4) {
                    0 => self.rng.gen::<i64>().to_string(),
                    1 => format!("{}{}", self.rng.gen::<u64>(), self.rng.gen::<u64>()),
                    2 => self.rng.gen_range(-3i64..60).to_string(),
                    _ => self.pick(NUMBERS).to_owned(),
                };
                Value::text("number", text)
            }
            49..=50 => {
                let unit = self.pick(&["x", "é", "\0", "%", "a&b=", "😀", "\u{202E}"]);
                let text = unit.repeat(long / unit.len());
                Value::text(if in_url { "20 KB string" } else { "100 KB string" }, text)
            }
            51 => {
                // Around the 64 KiB form limit (or the longest a URL takes).
                let len = if in_url { 60_000 } else { 65_536 } - self.rng.gen_range(0..200);
                Value::text("64 KiB string", "y".repeat(len))
            }
            52..=59 => Value::text("empty or blank", self.pick(&["", " ", "   ", "\t", "\u{3000}", "+", "\u{A0}"])),
            60..=66 => {
                let mut text = self.pick(UNICODE).to_owned();
                if self.chance(20) {
                    text = text.repeat(300);
                }
                Value::text("unicode", text)
            }
            67..=72 => Value::text("injection", self.pick(INJECTION)),
            73..=82 if is_cursor => {
                let cursor = if self.chance(50) {
                    self.hostile_cursors[self.rng.gen_range(0..self.hostile_cursors.len())].clone()
                } else {
                    fx.cursors[self.rng.gen_range(0..fx.cursors.len())].clone()
                };
                Value::text("cursor", cursor)
            }
            83..=87 if param.starts_with('{') => {
                // Ids that exist, but not here: another kind of row, or a small id.
                let text = match self.rng.gen_range(0..3) {
                    0 => self.rng.gen_range(1..60).to_string(),
                    1 => fx.orgs[self.rng.gen_range(0..fx.orgs.len())].to_string(),
                    _ => fx.members[self.rng.gen_range(0..fx.members.len())].to_string(),
                };
                Value::text("another id", text)
            }
            _ => Value::text("plausible", self.plausible(param, fx)),
        }
    }

    /// A value the page could have sent itself.
    fn plausible(&mut self, param: &str, fx: &Fixtures) -> String {
        self.serial += 1;
        let serial = self.serial;
        let any = |rng: &mut StdRng, ids: &[i64]| -> String {
            if ids.is_empty() {
                "1".into()
            } else {
                ids[rng.gen_range(0..ids.len())].to_string()
            }
        };
        match param {
            "{org}" | "org" | "org_id" => any(&mut self.rng, &fx.orgs[..1]),
            "{member}" => any(&mut self.rng, &fx.members),
            "{plan}" => any(&mut self.rng, &fx.plans),
            "{admin}" => any(&mut self.rng, &fx.admins),
            "{message}" => any(&mut self.rng, &fx.messages),
            "{session}" => any(&mut self.rng, &fx.sessions),
            "{connection}" => any(&mut self.rng, &fx.connections),
            "{asset}" => self.pick(&["style.css", "favicon.svg"]).into(),
            "{token}" => {
                let bytes: [u8; 32] = self.rng.gen();
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
            }
            "plan_id" | "move_to" => {
                if self.chance(30) {
                    self.pick(&["", "none"]).to_owned()
                } else {
                    any(&mut self.rng, &fx.plans)
                }
            }
            "q" => self.pick(&["paged", "fuzz", "a", "de", "example", "müller", "%", "_", "org 0", "member"]).into(),
            "by" => self.pick(&["all", "name", "contact"]).into(),
            "sort" => self.pick(&["name", "contact", "quota", "users", "created", "email", "status", "added"]).into(),
            "dir" => self.pick(&["asc", "desc"]).into(),
            "per_page" => self.pick(&["10", "25", "50", "100"]).into(),
            "page" => self.rng.gen_range(1..5).to_string(),
            "after" | "before" => fx.cursors[self.rng.gen_range(0..fx.cursors.len())].clone(),
            "status" => self.pick(&["invited", "awaiting_validation", "active", "removed", ""]).into(),
            "actor" => ADMIN_EMAIL.into(),
            "action" => self.pick(&["edit", "remove", "cancel", "decline", "approve", "organization.created"]).into(),
            "target" => "member1@fuzz.example".into(),
            "from" | "to" => self.pick(&["2024-01-01", "2999-12-31", "2025-02-30", "1970-01-01"]).into(),
            "next" | "back" => {
                self.pick(&["/admin", "/admin/organizations?page=2&q=paged", "/orgs/1/users", "//evil.example"]).into()
            }
            "email" | "admin_email" | "contact_email" => match self.rng.gen_range(0..4) {
                0 => "member1@fuzz.example".into(),
                _ => format!("new{serial}@fuzz.example"),
            },
            "password" | "current_password" | "password_confirm" => {
                self.pick(&["not the password", "correct horse battery staple 7", ""]).into()
            }
            "name" => format!("Fuzz name {serial}"),
            "quota_gb" => self.pick(&["0", "1", "2", "5", "1000000"]).into(),
            "seats" => self.pick(&["", "1", "5", "1000"]).into(),
            "days_to_action_removal" => self.pick(&["", "1", "30", "365"]).into(),
            "delegate"
            | "unsigned_containers"
            | "release_protections"
            | "recover"
            | "no_second_factor"
            | "is_default"
            | "notify_contact" => self.pick(&["on", ""]).into(),
            _ => "x".into(),
        }
    }
}

/// Percent-encode everything but unreserved characters (`+` for a space in query and form
/// values, as browsers send them).
fn encode(bytes: &[u8], plus_for_space: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(b)),
            b' ' if plus_for_space => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn wire_bytes(value: &Wire, plus_for_space: bool) -> Vec<u8> {
    match value {
        Wire::Encoded(bytes) => encode(bytes, plus_for_space).into_bytes(),
        Wire::Verbatim(text) => text.clone().into_bytes(),
        Wire::RawBytes(bytes) => bytes.clone(),
    }
}

/// One request, built and described.
struct Request {
    verb: Verb,
    uri: String,
    body: Vec<u8>,
    /// Which parameter got the generated value, and the value.
    target: String,
    value: Value,
}

/// A request to `route` with a generated value in one of its parameters; with `baseline`, a
/// plausible value (each route's first input, which checks that the fixtures let it through
/// the guards).
fn build(route: &Route, generator: &mut Generator, fx: &Fixtures, csrf_token: &str, baseline: bool) -> Request {
    let placeholders = route.placeholders();
    let mut targets: Vec<&str> = placeholders.clone();
    targets.extend(route.params.iter().copied());
    // A route without parameters gets a parameter it does not know.
    let target = if targets.is_empty() {
        "unknown".to_owned()
    } else {
        targets[generator.rng.gen_range(0..targets.len())].to_owned()
    };
    let value = if baseline {
        Value::text("plausible", generator.plausible(&target, fx))
    } else {
        generator.value(&target, fx, route.verb)
    };

    let mut path = route.path.to_owned();
    for placeholder in &placeholders {
        let segment = if *placeholder == target {
            // A path segment: no `+` for spaces, and raw bytes are encoded like any other.
            match &value.wire {
                Wire::Verbatim(text) => text.clone(),
                Wire::Encoded(bytes) | Wire::RawBytes(bytes) => encode(bytes, false),
            }
        } else {
            generator.plausible(placeholder, fx)
        };
        path = path.replacen(placeholder, &segment, 1);
    }

    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let include_others = if route.verb == Verb::Post { 85 } else { 50 };
    for param in route.params {
        if *param == target {
            pairs.push((param.to_string(), wire_bytes(&value.wire, true)));
            if !baseline && generator.chance(4) {
                // The same parameter twice.
                let again = generator.plausible(param, fx);
                pairs.push((param.to_string(), encode(again.as_bytes(), true).into_bytes()));
            }
        } else if generator.chance(include_others) {
            let plausible = generator.plausible(param, fx);
            pairs.push((param.to_string(), encode(plausible.as_bytes(), true).into_bytes()));
        }
    }
    if target == "unknown" || (!baseline && generator.chance(3)) {
        let junk = if target == "unknown" { wire_bytes(&value.wire, true) } else { b"1".to_vec() };
        let name = if generator.chance(50) { "unknown".to_owned() } else { encode(&[generator.rng.gen(), b'x'], true) };
        pairs.push((name, junk));
    }
    let join = |pairs: &[(String, Vec<u8>)]| -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
        }
        out
    };
    match route.verb {
        Verb::Get => {
            let query = join(&pairs);
            // Only ASCII goes into a URL (raw bytes were encoded above).
            let query = String::from_utf8(query).unwrap_or_else(|e| encode(e.as_bytes(), true));
            let uri = if query.is_empty() { path } else { format!("{path}?{query}") };
            Request { verb: Verb::Get, uri, body: Vec::new(), target, value }
        }
        Verb::Post => {
            let token = match generator.rng.gen_range(0..100) {
                _ if baseline => Some(csrf_token.to_owned()),
                0 => None,
                1 => Some("forged".to_owned()),
                2 => Some(format!("{csrf_token}x")),
                _ => Some(csrf_token.to_owned()),
            };
            if let Some(token) = token {
                pairs.insert(0, ("csrf_token".into(), encode(token.as_bytes(), true).into_bytes()));
            }
            if !baseline && generator.chance(2) {
                pairs.reverse();
            }
            // Some query strings on a POST too: ignored, but they must not break it either.
            let uri =
                if !baseline && generator.chance(3) { format!("{path}?{}", encode(b"x=%&\0", true)) } else { path };
            Request { verb: Verb::Post, uri, body: join(&pairs), target, value }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The database's fingerprint.

/// Row counts of every table, the latest change of the main tables and the platform
/// properties, in one query: what a refused request must leave as it found it.
struct Fingerprinter {
    sql: String,
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

impl Fingerprinter {
    fn new(app: &TestApp) -> Self {
        let mut conn = app.conn();
        let tables: Vec<Text> = match &mut *conn {
            DbConn::Pg(pg) => diesel::sql_query(
                "SELECT CAST(table_name AS TEXT) AS v FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .load(pg),
            DbConn::Sqlite(sqlite) => diesel::sql_query(
                "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
            )
            .load(sqlite),
        }
        .expect("list the tables");
        assert!(tables.len() >= 8, "tables found: {}", tables.len());
        let properties = match &*conn {
            DbConn::Pg(_) => "SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM platform_properties",
            DbConn::Sqlite(_) => {
                "SELECT group_concat(name || '=' || value, ',') FROM (SELECT name, value FROM platform_properties \
                 ORDER BY name)"
            }
        };
        let mut parts: Vec<String> =
            tables.iter().map(|t| format!("'{0}=' || CAST((SELECT COUNT(*) FROM \"{0}\") AS TEXT)", t.v)).collect();
        for table in ["accounts", "organizations", "memberships", "plans"] {
            parts.push(format!(
                "'{table}.updated_at=' || COALESCE(CAST((SELECT MAX(updated_at) FROM {table}) AS TEXT), '-')"
            ));
        }
        parts.push(format!("'platform_properties=' || COALESCE(({properties}), '')"));
        Self { sql: format!("SELECT {} AS v", parts.join(" || ';' || ")) }
    }

    fn take(&self, app: &TestApp) -> BTreeMap<String, String> {
        let mut conn = app.conn();
        let row: Text = match &mut *conn {
            DbConn::Pg(pg) => diesel::sql_query(&self.sql).get_result(pg),
            DbConn::Sqlite(sqlite) => diesel::sql_query(&self.sql).get_result(sqlite),
        }
        .expect("fingerprint");
        row.v.split(';').filter_map(|part| part.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}

fn difference(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", before.get(k), after.get(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// The run.

fn inputs_per_backend(app: &TestApp) -> usize {
    match std::env::var("ORGPORTAL_INPUTS").ok().and_then(|v| v.parse().ok()) {
        Some(n) => n,
        None if app.is_postgres() => POSTGRES_INPUTS,
        None => SQLITE_INPUTS,
    }
}

fn seed() -> u64 {
    match std::env::var("ORGPORTAL_INPUTS_SEED") {
        Ok(v) if v == "random" => rand::random(),
        Ok(v) => v.parse().unwrap_or(DEFAULT_SEED),
        Err(_) => DEFAULT_SEED,
    }
}

/// The routes' inputs in the order they are sent: shuffled within each phase.
fn schedule(routes: &[&Route], generator: &mut Generator, total: usize) -> Vec<usize> {
    let weight = |route: &Route| 1 + route.params.len() + route.placeholders().len();
    let fixed: usize = routes.iter().filter_map(|r| r.hashing).sum();
    let shared = total.saturating_sub(fixed);
    let weights: usize = routes.iter().filter(|r| r.hashing.is_none()).map(|r| weight(r)).sum();
    let mut phases: [Vec<usize>; 3] = Default::default();
    for (i, route) in routes.iter().enumerate() {
        let n = route.hashing.unwrap_or_else(|| (shared * weight(route)).div_ceil(weights));
        phases[usize::from(route.phase)].extend(std::iter::repeat_n(i, n));
    }
    let mut order = Vec::with_capacity(total);
    for mut phase in phases {
        // Fisher–Yates, from the seeded generator.
        for i in (1..phase.len()).rev() {
            phase.swap(i, generator.rng.gen_range(0..=i));
        }
        order.extend(phase);
    }
    order
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    seconds: f64,
    /// Answers from past the role guards (not a sign-in redirect, 403, 404 or 405).
    reached: usize,
}

async fn generated_inputs_never_answer_5xx_and_refusals_change_nothing(mut app: TestApp) {
    let seed = seed();
    let total = inputs_per_backend(&app);
    let backend = if app.is_postgres() { "PostgreSQL" } else { "SQLite" };
    eprintln!("generated inputs on {backend}: {total} inputs, seed {seed} (ORGPORTAL_INPUTS_SEED={seed} replays it)");
    let started = Instant::now();
    let mut fx = set_up(&mut app).await;
    let service = test::init_service(orgportal::app::build(&app.state)).await;
    let mut admin = Browser::default();
    let mut anonymous = Browser::default();
    for browser in [&mut admin, &mut anonymous] {
        let page = browser
            .receive(test::call_service(&service, browser.prepare(get_request("/login")).to_request()).await)
            .await;
        page.assert_status(200);
    }
    // The code sent along with the password: one step.
    let body = format!(
        "csrf_token={}&email={}&password={}&code={}",
        admin.csrf_token,
        encode(ADMIN_EMAIL.as_bytes(), true),
        encode(ADMIN_PASSWORD.as_bytes(), true),
        app.fresh_code(ADMIN_EMAIL)
    );
    let signed_in = admin
        .receive(
            test::call_service(&service, admin.prepare(post_request("/login", body.into_bytes())).to_request()).await,
        )
        .await;
    signed_in.assert_redirect("/");
    fx.sessions = other_session_ids(&mut app.conn());
    let fingerprinter = Fingerprinter::new(&app);
    let mut generator = Generator::new(seed);
    let routes = fuzzed_routes();
    let order = schedule(&routes, &mut generator, total);

    let set_up_seconds = started.elapsed().as_secs_f64();
    let mut fingerprint_seconds = 0.0;
    // The database as the last POST left it. A GET writes nothing this fingerprint sees (it
    // may note a session's last use), so one fingerprint after each POST is enough.
    let mut current = fingerprinter.take(&app);
    let mut failures: Vec<String> = Vec::new();
    let mut tallies: HashMap<usize, Tally> = HashMap::new();
    // A page the admin browser takes a fresh token from.
    admin
        .receive(test::call_service(&service, admin.prepare(get_request("/admin/properties")).to_request()).await)
        .await;
    for (n, &route_index) in order.iter().enumerate() {
        let route = routes[route_index];
        let signed_in = route.role != Role::Anonymous;
        let baseline = !tallies.contains_key(&route_index);
        let browser = if signed_in { &mut admin } else { &mut anonymous };
        let request = build(route, &mut generator, &fx, &browser.csrf_token, baseline);
        let test_request = match request.verb {
            Verb::Get => get_request(&request.uri),
            Verb::Post => post_request(&request.uri, request.body.clone()),
        };
        let sent_at = Instant::now();
        let outcome = std::panic::AssertUnwindSafe(async {
            let response = test::call_service(&service, browser.prepare(test_request).to_request()).await;
            browser.receive(response).await
        })
        .catch_unwind()
        .await;
        let took = sent_at.elapsed().as_secs_f64();
        let describe = || {
            format!(
                "#{n} {} — parameter `{}` — {}\n    request: {} {}{}",
                route.name(),
                request.target,
                request.value.describe(),
                if request.verb == Verb::Get { "GET" } else { "POST" },
                preview(request.uri.as_bytes()),
                if request.verb == Verb::Post {
                    format!("\n    body: {}", preview(&request.body))
                } else {
                    String::new()
                },
            )
        };
        let response = match outcome {
            Ok(response) => response,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("the application panicked ({why}): {}", describe()));
                continue;
            }
        };
        let status = response.status.as_u16();
        let tally = tallies.entry(route_index).or_default();
        *tally.statuses.entry(status).or_default() += 1;
        tally.seconds += took;
        let guarded = signed_in && status == 303 && response.location().starts_with("/login");
        let past_guards = !guarded && ![403, 404, 405].contains(&status);
        if past_guards {
            tally.reached += 1;
        }
        // Sign-in may be rate limited (429) or turned away by a full hashing queue (503, with
        // Retry-After): both are answers, not failures.
        let busy = route.path == "/login" && status == 503 && response.header("retry-after").is_some();
        if status >= 500 && !busy {
            failures.push(format!("answered {status}: {}", describe()));
        }
        if request.verb == Verb::Post {
            let fingerprint_at = Instant::now();
            let after = fingerprinter.take(&app);
            fingerprint_seconds += fingerprint_at.elapsed().as_secs_f64();
            if (400..500).contains(&status) && !route.refusal_writes && after != current {
                failures.push(format!(
                    "refused with {status} but the database changed since the previous POST ({}): {}",
                    difference(&current, &after),
                    describe()
                ));
            }
            current = after;
        }
        // The next form is sent with the token of the page just seen, like a browser; a POST
        // that may have ended the anonymous browser's session takes a fresh sign-in page first.
        if !signed_in && request.verb == Verb::Post {
            let page = test::call_service(&service, anonymous.prepare(get_request("/login")).to_request()).await;
            anonymous.receive(page).await;
        }
        if failures.len() >= 50 {
            break;
        }
    }
    let elapsed = started.elapsed();

    let mut summary = String::new();
    for (i, route) in routes.iter().enumerate() {
        let tally = tallies.remove(&i).unwrap_or_default();
        let sent: usize = tally.statuses.values().sum();
        let _ = writeln!(
            summary,
            "  {:<55} {sent:>5} inputs {:>6.2} s, statuses {:?}",
            route.name(),
            tally.seconds,
            tally.statuses
        );
        // A route of the last phase may end the fuzzing browser's own session, after which its
        // inputs are answered with a sign-in redirect by design.
        if tally.reached == 0 && route.phase < 2 && !route.secret && failures.len() < 50 {
            failures.push(format!(
                "{}: no input got past the role guards (statuses {:?}); check its fixtures",
                route.name(),
                tally.statuses
            ));
        }
    }
    eprintln!(
        "generated inputs on {backend}: {} inputs in {:.1} s (set-up {set_up_seconds:.1} s, fingerprints \
         {fingerprint_seconds:.1} s; seed {seed})\n{summary}",
        order.len(),
        elapsed.as_secs_f64()
    );
    assert!(failures.is_empty(), "{} failures (seed {seed}):\n{}", failures.len(), failures.join("\n"));
}

async fn csrf_token(app: &mut TestApp, page: &str) -> String {
    let response = app.get(page).await;
    token_in(&response.body).unwrap_or_default()
}

fn token_in(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

// ---------------------------------------------------------------------------------------------
// Focused tests: each 5xx the generated run found, pinned down.

async fn control_characters_in_a_search_are_refused_beside_the_box(mut app: TestApp) {
    app.login_as_admin().await;
    let org = app.org_id("Default");
    for list in ["/admin/organizations", &format!("/orgs/{org}/users")] {
        for (q, code) in
            [("abc%00", "U+0000"), ("a%0D%0Ab", "U+000D"), ("%3Cb%3Ex%E2%80%AEy", "U+202E"), ("ab%7F", "U+007F")]
        {
            let page = app.get(&format!("{list}?q={q}&sort=name")).await;
            page.assert_status(422);
            assert!(page.body.contains(code) && page.body.contains("The search was not run"), "{list}?q={q}");
            assert!(
                page.body.contains(r#"aria-describedby="q-error""#),
                "{list}?q={q}: the message is tied to the box"
            );
            // The list is still there, unfiltered, and links carry no refused search.
            assert!(!row_ids(&page.body, if list.starts_with("/admin") { "org" } else { "account" }).is_empty());
            assert!(!page.body.contains(&format!(r#"href="{list}?q="#)), "{list}?q={q}: no link repeats the search");
            if q.starts_with("%3Cb") {
                assert!(page.body.contains(&escape_html("<b>x\u{202E}y")), "the value is shown back, escaped");
                assert!(!page.body.contains("<b>x"), "never unescaped");
            }
            app.get(&format!("{list}.csv?q={q}")).await.assert_status(422);
        }
        // Leading and trailing line breaks are only whitespace: trimmed, searched.
        app.get(&format!("{list}?q=%0Adefault%0D%0A")).await.assert_status(200);
    }
}

async fn page_numbers_and_cursors_out_of_range_show_a_real_page(mut app: TestApp) {
    app.login_as_admin().await;
    let now = app.clock.now();
    for n in 0..30 {
        let (name, contact) = (format!("Range Org {n:02}"), format!("c{n}@range.example"));
        app.seed_org(&crate::helpers::SeedOrg {
            name: &name,
            contact: &contact,
            quota_gb: n,
            members: 0,
            created_at: now - chrono::Duration::minutes(60 - n),
        });
    }
    let last = row_ids(&app.get("/admin/organizations?page=2").await.body, "org");
    let first = row_ids(&app.get("/admin/organizations").await.body, "org");
    for page in ["9223372036854775807", "9223372036854775808", "99999999999999999999999", "+99999999999999999999"] {
        let response = app.get(&format!("/admin/organizations?page={page}")).await;
        response.assert_status(200);
        assert_eq!(row_ids(&response.body, "org"), last, "page={page} shows the last page");
        assert!(response.body.contains("Page 2 of 2"), "page={page}");
        let searched = app.get(&format!("/admin/organizations?q=range&sort=quota&page={page}")).await;
        searched.assert_status(200);
        assert!(searched.body.contains("Showing 26–30 of 30"), "q=range&page={page}");
    }
    for page in ["-9223372036854775808", "-1", "0", "1e309"] {
        let response = app.get(&format!("/admin/organizations?page={page}")).await;
        assert_eq!(row_ids(&response.body, "org"), first, "page={page} shows the first page");
    }
    // Cursors out of range are malformed: the first page.
    for cursor in out_of_range_cursors() {
        for (sort, rel) in
            [("", "after"), ("&sort=quota&dir=asc", "after"), ("&sort=name", "before"), ("&sort=created", "after")]
        {
            let url = format!("/admin/organizations?{rel}={cursor}{sort}");
            let response = app.get(&url).await;
            response.assert_status(200);
            assert!(response.body.contains("Showing 1–25 of"), "{url}");
        }
    }
    // Every other list clamps the same way.
    let org = app.org_id("Default");
    for list in ["/admin/audit", "/admin/outbox", &format!("/orgs/{org}/users"), &format!("/orgs/{org}/audit")] {
        for page in ["9223372036854775807", "99999999999999999999999", "-9223372036854775809"] {
            let response = app.get(&format!("{list}?page={page}&per_page=10")).await;
            response.assert_status(200);
            assert!(!response.body.contains("Page 9"), "{list}?page={page}: a real page");
        }
    }
}

async fn malformed_ids_in_paths_are_403_or_404(mut app: TestApp) {
    app.login_as_admin().await;
    let org = app.org_id("Default");
    let token = csrf_token(&mut app, "/admin/properties").await;
    for id in [
        "999999999999999999999",
        "9223372036854775808",
        "-1",
        "0",
        "%00",
        "%zz",
        "1e3",
        "%20",
        "abc",
        "1.0",
        "%E2%80%AE1",
    ] {
        for path in [
            format!("/orgs/{id}"),
            format!("/orgs/{id}/users"),
            format!("/orgs/{id}/users.csv"),
            format!("/orgs/{id}/audit"),
            format!("/admin/organizations/{id}/edit"),
            format!("/admin/organizations/{id}/removal"),
            format!("/orgs/{org}/users/{id}/edit"),
        ] {
            let status = app.get(&path).await.status.as_u16();
            assert!(status == 403 || status == 404, "GET {path}: {status}");
        }
        for path in [
            format!("/admin/organizations/{id}/edit"),
            format!("/admin/organizations/{id}/removal/approve"),
            format!("/admin/outbox/{id}/retry"),
            format!("/admin/administrators/{id}/remove"),
            format!("/orgs/{id}/plans"),
            format!("/orgs/{org}/plans/{id}/delete"),
            format!("/orgs/{org}/users/{id}/remove"),
        ] {
            let body = format!("csrf_token={token}&name=x&quota_gb=1");
            let request = TestRequest::default()
                .method(Method::POST)
                .uri(&path)
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload(body);
            let status = app.send(request).await.status.as_u16();
            assert!((400..500).contains(&status), "POST {path}: {status}");
        }
    }
}

async fn control_characters_in_form_fields_re_render_the_form_with_422(mut app: TestApp) {
    app.login_as_admin().await;
    let org = app.org_id("Default");
    let me = crate::helpers::account_id(&mut app.conn(), ADMIN_EMAIL);
    let fingerprinter = Fingerprinter::new(&app);
    /// A form's path, what is typed into it, and the field that must show the message.
    type Form<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
    let forms: Vec<Form> = vec![
        (
            "/admin/organizations".into(),
            vec![("name", "Acme\0"), ("quota_gb", "1"), ("admin_email", "a@b.example")],
            "name",
        ),
        (
            "/admin/organizations".into(),
            vec![("name", "Acme"), ("quota_gb", "1\r\n2"), ("admin_email", "a@b.example")],
            "quota_gb",
        ),
        (
            "/admin/organizations".into(),
            vec![("name", "Acme"), ("quota_gb", "1"), ("admin_email", "a\u{202E}@b.example")],
            "admin_email",
        ),
        (
            format!("/admin/organizations/{org}/edit"),
            vec![("name", "De\u{200B}fault"), ("quota_gb", "1"), ("admin_email", ADMIN_EMAIL)],
            "name",
        ),
        (format!("/orgs/{org}/users"), vec![("email", "x\0@y.example"), ("quota_gb", "0")], "email"),
        (format!("/orgs/{org}/users/{me}/edit"), vec![("delegate", "on"), ("quota_gb", "0\u{1B}")], "quota_gb"),
        (format!("/orgs/{org}/users/{me}/edit"), vec![("delegate", "on"), ("plan_id", "1\0")], "plan_id"),
        (format!("/orgs/{org}/plans"), vec![("name", "Gold\u{7F}"), ("quota_gb", "0")], "name"),
        (
            format!("/orgs/{org}/properties"),
            vec![("contact_email", "a@b.example\0"), ("admin_email", "a@b.example")],
            "contact_email",
        ),
        ("/admin/administrators".into(), vec![("email", "\u{FEFF}new@admin.example")], "email"),
        ("/admin/properties".into(), vec![("days_to_action_removal", "3\0")], "days_to_action_removal"),
        (
            "/account/password".into(),
            vec![("current_password", "x\0"), ("password", "p\0p"), ("password_confirm", "p\0p")],
            "current_password",
        ),
    ];
    let before = fingerprinter.take(&app);
    for (path, fields, field) in forms {
        app.get("/admin/properties").await;
        let response = app.post(&path, &fields).await;
        response.assert_status(422);
        assert!(
            response.body.contains(&format!(r#"id="{field}-error""#)),
            "POST {path}: a message beside `{field}`: {}",
            response.body
        );
    }
    assert_eq!(difference(&before, &fingerprinter.take(&app)), "", "nothing refused was saved");
    // The approver's password with a control character is just a wrong password.
    app.get("/admin/properties").await;
    let approve = app.post(&format!("/admin/organizations/{org}/removal/approve"), &[("password", "pass\0word")]).await;
    assert!(approve.status.is_client_error(), "{}", approve.status);
    // Signing in with control characters in the email or password is a failed sign-in.
    let mut visitor = app.client();
    visitor.get("/login").await;
    let email = format!("{ADMIN_EMAIL}\0");
    let status = visitor.post("/login", &[("email", &email), ("password", ADMIN_PASSWORD)]).await.status.as_u16();
    assert!(status == 422 || status == 429, "POST /login with a NUL in the email: {status}");
}
