//! Operators' endpoints (issue 18, point 5): `/healthz` and `/readyz` for load balancers,
//! `/metrics` in the Prometheus text format, hidden unless a token or a second listener is
//! configured, labelled by route pattern only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::test as actix_test;
use diesel::prelude::*;
use orgportal::clock::Clock;

use crate::helpers::{TestApp, TestDatabase, ADMIN_EMAIL};
use crate::on_both_backends;

const TOKEN: &str = "metrics-token-of-the-tests-0123456789";

on_both_backends!(
    health_and_readiness_answer_without_a_session,
    readiness_fails_while_a_migration_is_pending,
    metrics_open_only_to_the_exact_bearer_token,
    metrics_label_routes_by_pattern_never_by_path,
    refused_sign_ins_and_lockouts_are_counted,
    metrics_listener_serves_metrics_and_nothing_else,
);

async fn health_and_readiness_answer_without_a_session(mut app: TestApp) {
    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = app.get(path).await;
        response.assert_status(200);
        assert_eq!(response.body, body);
        assert!(response.header("set-cookie").is_none(), "{path} set a cookie");
        assert_eq!(response.header("cache-control"), Some("no-store"), "{path}");
    }
}

diesel::table! {
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

async fn readiness_fails_while_a_migration_is_pending(mut app: TestApp) {
    use self::__diesel_schema_migrations::dsl::{__diesel_schema_migrations as migrations, version};
    let newest: String = migrations.select(version).order(version.desc()).first(&mut *app.conn()).unwrap();
    diesel::delete(migrations.filter(version.eq(&newest))).execute(&mut *app.conn()).unwrap();

    let response = app.get("/readyz").await;
    response.assert_status(503);
    assert!(response.body.contains("1 migration(s) pending"), "{}", response.body);
    assert!(response.body.contains(&newest), "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // Alive all the same: a restart would not apply the migration.
    app.get("/healthz").await.assert_status(200);
}

fn metrics_request(authorization: Option<&str>) -> actix_test::TestRequest {
    let request = actix_test::TestRequest::get().uri("/metrics");
    match authorization {
        Some(value) => request.insert_header((header::AUTHORIZATION, value)),
        None => request,
    }
}

async fn metrics_open_only_to_the_exact_bearer_token(app: TestApp) {
    let mut hidden = app.client();
    hidden.send(metrics_request(Some(&format!("Bearer {TOKEN}")))).await.assert_status(404);
    hidden.get("/metrics").await.assert_status(404);

    let mut app = with_token(&app);
    app.send(metrics_request(None)).await.assert_status(401);
    for wrong in [format!("Bearer {TOKEN}x"), format!("Bearer {}", &TOKEN[1..]), TOKEN.to_owned(), "Bearer".into()] {
        let response = app.send(metrics_request(Some(&wrong))).await;
        response.assert_status(401);
        assert!(!response.body.contains("orgportal_"), "metrics leaked to {wrong:?}");
    }
    let response = app.send(metrics_request(Some(&format!("Bearer {TOKEN}")))).await;
    response.assert_status(200);
    assert!(response.header("content-type").is_some_and(|t| t.starts_with("application/openmetrics-text")));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.header("set-cookie").is_none());
    let samples = parse_prometheus_text(&response.body);
    for family in [
        "orgportal_db_pool_connections_in_use",
        "orgportal_db_pool_connections_idle",
        "orgportal_db_pool_waiting",
        "orgportal_outbox_queued",
        "orgportal_outbox_failed",
        "orgportal_outbox_oldest_queued_age_seconds",
        "orgportal_sign_in_failures_total",
        "orgportal_sign_in_lockouts_total",
    ] {
        assert!(samples.iter().any(|s| s.name == family), "{family} missing:\n{}", response.body);
    }
    let lag = samples.iter().find(|s| s.name == "orgportal_replica_lag_seconds").expect("replica lag gauge");
    assert!(lag.value.is_nan(), "no replica, yet a lag of {}", lag.value);
}

/// A second `TestApp` on the same database whose settings carry the metrics token.
fn with_token(app: &TestApp) -> TestApp {
    let mut app = app.client();
    app.state.config = Arc::new(crate::helpers::test_config(&app.database, &["--metrics-token", TOKEN]));
    app
}

async fn metrics_label_routes_by_pattern_never_by_path(app: TestApp) {
    let mut app = with_token(&app);
    app.login_as_admin().await;
    app.get("/admin/organizations").await.assert_status(200);
    app.get("/orgs/12345/users").await;
    app.get("/register/sometoken").await;
    app.get("/no/such/page/98765").await.assert_status(404);

    let response = app.send(metrics_request(Some(&format!("Bearer {TOKEN}")))).await;
    response.assert_status(200);
    let samples = parse_prometheus_text(&response.body);
    let requests: Vec<&Sample> = samples.iter().filter(|s| s.name == "orgportal_http_requests_total").collect();
    let count = |method: &str, route: &str, status: &str| {
        requests
            .iter()
            .filter(|s| s.label("method") == Some(method) && s.label("route") == Some(route))
            .filter(|s| s.label("status") == Some(status))
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert_eq!(count("GET", "/admin/organizations", "200"), 1.0, "{}", response.body);
    assert_eq!(count("GET", "/no/such/page/98765", "404"), 0.0);
    assert_eq!(count("GET", "unmatched", "404"), 1.0, "{}", response.body);
    assert!(requests.iter().any(|s| s.label("route") == Some("/orgs/{id}/users")), "{}", response.body);
    assert!(requests.iter().any(|s| s.label("route") == Some("/register/{token}")), "{}", response.body);
    let latency: Vec<&Sample> =
        samples.iter().filter(|s| s.name == "orgportal_http_request_duration_seconds_count").collect();
    assert!(latency.iter().any(|s| s.label("route") == Some("/admin/organizations") && s.value >= 1.0));
    for sample in &samples {
        for (name, value) in &sample.labels {
            for secret in ["12345", "sometoken", "98765", TOKEN] {
                assert!(!value.contains(secret), "{secret} in label {name}={value:?} of {}", sample.name);
            }
        }
    }
}

async fn refused_sign_ins_and_lockouts_are_counted(app: TestApp) {
    let mut app = with_token(&app);
    let read = |app: &TestApp, name: &str| {
        let text = app.state.metrics.render(app.state.db.pool_use(), None);
        parse_prometheus_text(&text).iter().find(|s| s.name == name).map(|s| s.value).unwrap_or(f64::NAN)
    };
    let (failures, lockouts) =
        (read(&app, "orgportal_sign_in_failures_total"), read(&app, "orgportal_sign_in_lockouts_total"));
    app.login(ADMIN_EMAIL, "not-the-password-at-all").await.assert_status(422);
    assert_eq!(read(&app, "orgportal_sign_in_failures_total"), failures + 1.0);
    assert_eq!(read(&app, "orgportal_sign_in_lockouts_total"), lockouts);

    for _ in 1..orgportal::auth::lockout::MAX_FAILURES {
        app.login(ADMIN_EMAIL, "not-the-password-at-all").await.assert_status(422);
    }
    let locks: i64 = orgportal::db::schema::sign_in_failures::table
        .filter(orgportal::db::schema::sign_in_failures::locked_until.is_not_null())
        .count()
        .get_result(&mut *app.conn())
        .unwrap();
    assert_eq!(locks, 1, "the tenth failure locks the pair");
    assert_eq!(read(&app, "orgportal_sign_in_lockouts_total"), lockouts + 1.0);
    assert_eq!(
        read(&app, "orgportal_sign_in_failures_total"),
        failures + orgportal::auth::lockout::MAX_FAILURES as f64
    );
    // Through the endpoint too, not only the registry.
    let response = app.send(metrics_request(Some(&format!("Bearer {TOKEN}")))).await;
    let samples = parse_prometheus_text(&response.body);
    let lockouts_shown = samples.iter().find(|s| s.name == "orgportal_sign_in_lockouts_total").map(|s| s.value);
    assert_eq!(lockouts_shown, Some(lockouts + 1.0));
}

async fn metrics_listener_serves_metrics_and_nothing_else(app: TestApp) {
    let queued = queue_one_email(&app);
    let service = actix_test::init_service(orgportal::ops::metrics_app(
        app.state.metrics.clone(),
        app.state.db.clone(),
        app.state.clock.clone(),
    ))
    .await;
    let response =
        actix_test::call_service(&service, actix_test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(response.status(), 200);
    let body = String::from_utf8(actix_test::read_body(response).await.to_vec()).unwrap();
    let samples = parse_prometheus_text(&body);
    let value = |name: &str| samples.iter().find(|s| s.name == name).map(|s| s.value);
    assert_eq!(value("orgportal_outbox_queued"), Some(queued as f64), "{body}");
    assert!(value("orgportal_outbox_oldest_queued_age_seconds").is_some_and(|age| age >= 0.0));
    for path in ["/login", "/healthz", "/admin/organizations"] {
        let response = actix_test::call_service(&service, actix_test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), 404, "{path} on the metrics listener");
    }
}

/// Queue a message as the pages do (a password reset for the administrator); the number queued.
fn queue_one_email(app: &TestApp) -> i64 {
    use orgportal::db::schema::outbox;
    let now = app.clock.now();
    let mut conn = app.conn();
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq("<ops-test@example.com>"),
            outbox::kind.eq("password_reset"),
            outbox::recipient.eq(ADMIN_EMAIL),
            outbox::subject.eq("Test"),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::status.eq("queued"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::last_error.eq(""),
            outbox::created_at.eq(now - chrono::Duration::seconds(90)),
        ))
        .execute(&mut *conn)
        .unwrap();
    outbox::table.filter(outbox::status.eq("queued")).count().get_result(&mut *conn).unwrap()
}

#[actix_web::test]
async fn a_real_metrics_listener_answers_on_its_own_port() {
    let app = TestApp::start(TestDatabase::sqlite(), &["--metrics-bind", "127.0.0.1:0"]);
    let bind = app.state.config.metrics_bind.expect("configured");
    let (server, address) = orgportal::ops::metrics_server(
        bind,
        app.state.metrics.clone(),
        app.state.db.clone(),
        Arc::new(Clock::system()),
    )
    .unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let answer = actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    handle.stop(false).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("# TYPE orgportal_sign_in_failures counter"), "{answer}");
    assert!(answer.contains("\r\ncache-control: no-store\r\n"), "{answer}");
}

// ---------------------------------------------------------------------------------------------
// A small reader of the Prometheus / OpenMetrics text format, strict enough to catch a broken
// exposition: every sample is `name{labels} value` with a float value, under a `# TYPE`.

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

fn parse_prometheus_text(text: &str) -> Vec<Sample> {
    let mut typed = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line {line:?}"));
            assert!(
                ["counter", "gauge", "histogram", "summary", "unknown", "info", "stateset", "gaugehistogram"]
                    .contains(&kind),
                "unknown type in {line:?}"
            );
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line:?}");
        let sample = parse_sample(line);
        let family = ["_total", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .find_map(|suffix| sample.name.strip_suffix(suffix).filter(|base| typed.contains(*base)))
            .unwrap_or(&sample.name);
        assert!(typed.contains(family), "{} has no # TYPE line before it", sample.name);
        samples.push(sample);
    }
    assert!(!samples.is_empty(), "no samples in:\n{text}");
    samples
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = &line[..name_end];
    assert!(
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let Some(&(start, c)) = chars.peek() else { panic!("unclosed labels in {line:?}") };
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            let eq = start + inner[start..].find('=').unwrap_or_else(|| panic!("label without = in {line:?}"));
            let label = &inner[start..eq];
            assert!(label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad label {label:?} in {line:?}");
            assert_eq!(&inner[eq + 1..eq + 2], "\"", "unquoted value in {line:?}");
            while chars.next_if(|&(at, _)| at <= eq + 1).is_some() {}
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, escaped @ ('\\' | '"'))) => value.push(escaped),
                        other => panic!("bad escape {other:?} in {line:?}"),
                    },
                    Some((_, '"')) => break,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated value in {line:?}"),
                }
            }
            labels.insert(label.to_owned(), value);
            chars.next_if(|&(_, c)| c == ',');
        }
    }
    let value_text = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no space before the value in {line:?}"));
    // An optional timestamp may follow the value.
    let value_text = value_text.split(' ').next().unwrap_or_default();
    let value: f64 = value_text.parse().unwrap_or_else(|_| panic!("value {value_text:?} is not a float in {line:?}"));
    Sample { name: name.to_owned(), labels, value }
}

#[test]
fn the_reader_rejects_broken_expositions() {
    let good = "# TYPE a counter\na_total{x=\"1\\\"2\",y=\"\"} 3\n# TYPE b gauge\nb NaN\n# EOF\n";
    let samples = parse_prometheus_text(good);
    assert_eq!(samples[0].label("x"), Some("1\"2"));
    assert_eq!(samples[0].value, 3.0);
    assert!(samples[1].value.is_nan());
    for broken in ["a_total 3\n", "# TYPE a counter\na_total three\n", "# TYPE a counter\na_total{x=1} 3\n"] {
        assert!(std::panic::catch_unwind(|| parse_prometheus_text(broken)).is_err(), "{broken:?} accepted");
    }
}
