//! The browser journey: the real `orgportal` binary on 127.0.0.1, driven in headless Chromium
//! through chromedriver, clicking real links and typing into real fields, with axe-core
//! checking every page visited. Skipped (with a message) where chromedriver, Chromium or
//! axe-core are missing, except under `CI=true`, where that is a failure.
//!
//! `ORGPORTAL_UPDATE_SCREENSHOTS=1` also writes the README's screenshots to `docs/screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const ADMIN_EMAIL: &str = "admin@default.com";
const ADMIN_PASSWORD: &str = "violet-harbour-92-kettle";
const CHROMIUM: &str = "/usr/bin/chromium";

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_http(port: u16, path: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            // Only the status line matters; some servers keep the connection open after it.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let mut head = [0u8; 16];
            if stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(program)).find(|p| p.is_file())
}

/// Why the journey cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if which("chromedriver").is_none() {
        return Some("chromedriver is not installed (apt-get install chromium chromium-driver)".into());
    }
    if !Path::new(CHROMIUM).is_file() {
        return Some(format!("{CHROMIUM} is not installed (apt-get install chromium)"));
    }
    if !repo_path("tests/browser/node_modules/axe-core/axe.min.js").is_file() {
        return Some("axe-core is not installed (npm ci --prefix tests/browser)".into());
    }
    None
}

#[tokio::test(flavor = "current_thread")]
async fn organizations_journey_in_chromium() {
    if let Some(why) = missing_prerequisite() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("the browser journey cannot run under CI: {why}");
        }
        // Straight to the stderr handle: libtest captures `eprintln!` of passing tests, and
        // a skip must be seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED the browser journey: {why}");
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Running(
        Command::new(env!("CARGO_BIN_EXE_orgportal"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data.path())
            .env("ORGPORTAL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start orgportal"),
    );
    assert!(wait_for_http(port, "/healthz"), "orgportal did not come up");
    seed_organizations(&data.path().join("orgportal.db"), 24);

    let driver_port = free_port();
    let _driver = Running(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    assert!(wait_for_http(driver_port, "/status"), "chromedriver did not come up");

    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,800", "--lang=en-US"
            ]
        }),
    );
    let client = ClientBuilder::native()
        .capabilities(capabilities.clone())
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session");

    let mut outcome = journey(&client, &base).await;
    if outcome.is_ok() {
        // A second administrator in a second browser, for the removal that needs two.
        add_platform_admin(&data.path().join("orgportal.db"), SECOND_EMAIL, SECOND_PASSWORD);
        match ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(second) => {
                outcome = removal_journey(&client, &second, &base).await;
                if outcome.is_ok() {
                    outcome = manage_journey(&client, &base).await;
                }
                if outcome.is_err() {
                    save_artifacts_as(&second, "failure-second").await;
                }
                let _ = second.close().await;
            }
            Err(e) => outcome = Err(format!("a second Chromium session: {e}").into()),
        }
    }
    if let Err(error) = &outcome {
        save_artifacts(&client).await;
        eprintln!("journey failed at {:?}: {error}", client.current_url().await.ok().map(|u| u.to_string()));
    }
    let _ = client.close().await;
    if let Err(error) = outcome {
        panic!("browser journey failed: {error} (screenshot and HTML in target/e2e-artifacts/)");
    }
}

const SECOND_EMAIL: &str = "second.admin@example.com";
const SECOND_PASSWORD: &str = "lichen-summit-82-parade";

/// A platform administrator straight in the server's database (registration comes later).
fn add_platform_admin(db: &Path, email: &str, password: &str) {
    use diesel::prelude::*;
    use orgportal::db::schema::accounts;
    use orgportal::db::{ConnectionManager, DatabaseTarget};
    let mut conn =
        ConnectionManager::new(DatabaseTarget::Sqlite(db.to_owned())).open().expect("open the server's database");
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(accounts::table)
        .values((
            accounts::email.eq(email),
            accounts::password_hash.eq(orgportal::auth::password::hash_blocking(password).expect("hash")),
            accounts::status.eq("active"),
            accounts::is_platform_admin.eq(true),
            accounts::created_at.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .expect("add a platform administrator");
}

async fn sign_in(client: &Client, base: &str, email: &str, password: &str) -> Outcome {
    client.goto(&format!("{base}/login")).await?;
    fill(client, "#email", email).await?;
    fill(client, "#password", password).await?;
    click(client, "form[action='/login'] button[type=submit]").await
}

/// The Removal Status this browser reads for the only row of a name search.
async fn removal_status(client: &Client, base: &str, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    client.goto(&format!("{base}/admin/organizations")).await?;
    search(client, name, "name").await?;
    Ok(text_of(client, "tr[data-org-id] td.removal-status").await?.trim().to_owned())
}

/// Two administrators, two browsers: A initiates with notification and both read the
/// countdown; B declines; A initiates without notification (Pending for A, Awaiting approval
/// for B); B approves with the password; the organization is gone for both.
async fn removal_journey(a: &Client, b: &Client, base: &str) -> Outcome {
    const ORG: &str = "Müller Logistik GmbH";
    sign_in(a, base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    sign_in(b, base, SECOND_EMAIL, SECOND_PASSWORD).await?;

    // A selects the row and uses the toolbar's Remove.
    a.goto(&format!("{base}/admin/organizations")).await?;
    search(a, "Müller", "name").await?;
    a.find(Locator::Css("tr[data-org-id] input[type=radio]")).await?.click().await?;
    click(a, ".toolbar button[value=remove]").await?;
    expect_text(a, "h1", "Request to remove organization").await?;
    ensure(
        a.find(Locator::Css("input[name=notify_contact]:checked")).await.is_ok(),
        "notification checked by default",
    )?;
    check_accessibility(a, "removal request page").await?;
    screenshot(a, 1280, 900, "removal-request.png").await?;
    a.set_window_size(1280, 800).await?;
    click(a, "form[action$='/removal'] button[type=submit]").await?;
    expect_text(a, ".flash", "was notified").await?;
    ensure(removal_status(a, base, "Müller").await? == "Action in 6 days", "A reads the countdown")?;
    ensure(removal_status(b, base, "Müller").await? == "Action in 6 days", "B reads the countdown")?;

    // B declines from the row's removal page.
    click(b, "tr[data-org-id] a[href$='/removal']").await?;
    check_accessibility(b, "removal page of a pending request").await?;
    ensure(
        b.find(Locator::Css("form[action$='/removal/approve']")).await.is_err(),
        "no Approve before the notice ran",
    )?;
    click(b, "form[action$='/removal/decline'] button").await?;
    expect_text(b, ".flash", "declined").await?;
    ensure(removal_status(b, base, "Müller").await?.is_empty(), "the status is cleared")?;

    // A initiates again, this time without notification.
    a.goto(&format!("{base}/admin/organizations")).await?;
    search(a, "Müller", "name").await?;
    click(a, "tr[data-org-id] a[href$='/removal']").await?;
    a.find(Locator::Css("input[name=notify_contact]")).await?.click().await?;
    click(a, "form[action$='/removal'] button[type=submit]").await?;
    expect_text(a, ".flash", "without notification").await?;
    ensure(removal_status(a, base, "Müller").await? == "Pending", "A reads Pending")?;
    ensure(removal_status(b, base, "Müller").await? == "Awaiting approval", "B reads Awaiting approval")?;

    // B approves through the toolbar, confirming with the password.
    b.find(Locator::Css("tr[data-org-id] input[type=radio]")).await?.click().await?;
    click(b, ".toolbar button[value=approve]").await?;
    expect_text(b, "#removal-status", "Awaiting approval").await?;
    check_accessibility(b, "removal approval page").await?;
    screenshot(b, 1280, 1000, "removal-approve.png").await?;
    b.set_window_size(1280, 800).await?;
    fill(b, "#password", SECOND_PASSWORD).await?;
    click(b, "form[action$='/removal/approve'] button[type=submit]").await?;
    expect_text(b, ".flash", "was removed").await?;
    for (who, client) in [("A", a), ("B", b)] {
        client.goto(&format!("{base}/admin/organizations")).await?;
        search(client, "Müller", "name").await?;
        ensure(row_names(client).await?.is_empty(), format!("{ORG} is gone for {who}"))?;
    }
    // The pages this issue added pass axe too.
    for (path, what) in [("/admin/properties", "properties page"), ("/admin/outbox", "outbox")] {
        a.goto(&format!("{base}{path}")).await?;
        check_accessibility(a, what).await?;
    }
    // An organization's own pages, reached from home as its Delegate.
    a.goto(&format!("{base}/")).await?;
    click(a, "main a[href^='/orgs/']").await?;
    check_accessibility(a, "organization home").await?;
    click(a, ".subnav a[href$='/properties']").await?;
    expect_text(a, "h1", "Organization properties").await?;
    check_accessibility(a, "organization properties").await?;
    click(a, ".subnav a[href$='/audit']").await?;
    check_accessibility(a, "organization audit log").await?;
    Ok(())
}

/// A platform administrator who administers an organization: Manage, a plan, users with
/// each flag, the seat limit and why, a removal that frees the seat, and no way into another
/// organization by editing the address.
async fn manage_journey(a: &Client, base: &str) -> Outcome {
    // Three seats for Acme Research (its administrator takes one).
    a.goto(&format!("{base}/admin/organizations")).await?;
    search(a, "Acme", "name").await?;
    click(a, "tr[data-org-id] a[href$='/edit']").await?;
    fill(a, "#seats", "3").await?;
    click(a, "form.form button[type=submit]").await?;
    expect_text(a, ".flash", "saved").await?;
    click(a, "tr[data-org-id] a[href^='/orgs/']").await?;
    expect_text(a, "h1", "Acme Research").await?;
    check_accessibility(a, "organization overview").await?;

    // A default plan.
    click(a, ".subnav a[href$='/plans']").await?;
    fill(a, "#name", "Standard").await?;
    fill(a, "#quota_gb", "10").await?;
    a.find(Locator::Css("input[name=is_default]")).await?.click().await?;
    click(a, "form[action$='/plans'] button[type=submit]").await?;
    expect_text(a, ".flash", "Standard").await?;
    check_accessibility(a, "plans page").await?;

    // A user with every flag, on the default plan (preselected).
    click(a, ".subnav a[href$='/users']").await?;
    click_link(a, "Add user").await?;
    expect_text(a, "#quota_gb-hint", "Available: 100 of 100 GB").await?;
    check_accessibility(a, "Add user form").await?;
    screenshot(a, 1280, 1000, "users-add.png").await?;
    a.set_window_size(1280, 800).await?;
    fill(a, "#email", "flags@acme.example").await?;
    for flag in ["delegate", "unsigned_containers", "release_protections", "recover", "no_second_factor"] {
        a.find(Locator::Css(&format!("input[name={flag}]"))).await?.click().await?;
    }
    click(a, "form.form button[type=submit]").await?;
    expect_text(a, ".flash", "flags@acme.example was added").await?;
    let row = text_of(a, "tr[data-account-id]:nth-child(2)").await?;
    for words in [
        "flags@acme.example",
        "Invited",
        "Delegate",
        "Unsigned Containers",
        "Release Protections",
        "Recover",
        "No 2nd Factor",
        "Standard",
    ] {
        ensure(row.contains(words), format!("the new row shows {words:?}: {row:?}"))?;
    }

    // The third seat, then a fourth user who does not fit: the form says why and keeps the email.
    for email in ["second@acme.example", "fourth@acme.example"] {
        click_link(a, "Add user").await?;
        fill(a, "#email", email).await?;
        click(a, "form.form button[type=submit]").await?;
    }
    expect_text(a, ".form-error", "All 3 seats are in use").await?;
    ensure(value_of(a, "#email").await? == "fourth@acme.example", "the email typed is kept")?;
    check_accessibility(a, "Add user form refusing a fourth seat").await?;

    // Remove one; the seat is free again.
    click(a, ".subnav a[href$='/users']").await?;
    click(a, "button[aria-label='Remove second@acme.example']").await?;
    expect_text(a, ".flash", "free again").await?;
    click_link(a, "Add user").await?;
    fill(a, "#email", "fourth@acme.example").await?;
    click(a, "form.form button[type=submit]").await?;
    expect_text(a, ".flash", "fourth@acme.example was added").await?;
    check_accessibility(a, "users page").await?;
    screenshot(a, 1280, 800, "users-1280.png").await?;
    screenshot(a, 390, 844, "users-390.png").await?;
    let width: Value = a.execute("return document.documentElement.scrollWidth", vec![]).await?;
    ensure(width.as_i64().is_some_and(|w| w <= 390), format!("no sideways scrolling at 390 px (scrollWidth {width})"))?;
    a.set_window_size(1280, 800).await?;
    click(a, ".subnav a[href$='/audit']").await?;
    expect_text(a, "main", "membership.removed").await?;

    // Another organization is out of reach, whatever the address says.
    a.goto(&format!("{base}/admin/organizations")).await?;
    search(a, "Zentrum", "name").await?;
    let other = a.find(Locator::Css("tr[data-org-id]")).await?.attr("data-org-id").await?.unwrap_or_default();
    ensure(a.find(Locator::Css("tr[data-org-id] a[href^='/orgs/']")).await.is_err(), "no Manage on a foreign row")?;
    a.goto(&format!("{base}/orgs/{other}/users")).await?;
    expect_text(a, "main", "not an administrator of this organization").await?;
    Ok(())
}

async fn save_artifacts_as(client: &Client, name: &str) {
    let dir = repo_path("target/e2e-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join(format!("{name}.html")), html);
    }
}

/// Extra rows so that paging has pages, written straight into the server's database.
fn seed_organizations(db: &Path, count: usize) {
    use diesel::prelude::*;
    use orgportal::db::schema::organizations;
    use orgportal::db::{ConnectionManager, DatabaseTarget};
    let mut conn =
        ConnectionManager::new(DatabaseTarget::Sqlite(db.to_owned())).open().expect("open the server's database");
    let now = chrono::Utc::now().naive_utc();
    for i in 0..count {
        let name = format!("Seeded Org {i:02}");
        diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(&name),
                organizations::name_key.eq(orgportal::domain::fold(&name)),
                organizations::contact_email.eq(format!("contact{i}@seeded.example")),
                organizations::contact_key.eq(format!("contact{i}@seeded.example")),
                organizations::quota_gb.eq(i as i64 * 10),
                organizations::created_at.eq(now),
                organizations::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .expect("seed an organization");
        let id: i64 = organizations::table
            .filter(organizations::name.eq(&name))
            .select(organizations::id)
            .first(&mut conn)
            .expect("seeded organization");
        orgportal::db::org_index::inserted(&mut conn, id).expect("index the organization");
    }
}

async fn save_artifacts(client: &Client) {
    let dir = repo_path("target/e2e-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join("failure.png"), png);
    }
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join("failure.html"), html);
    }
}

async fn journey(client: &Client, base: &str) -> Outcome {
    // Sign in, arriving from a protected page.
    client.goto(&format!("{base}/admin/organizations")).await?;
    expect_path(client, "/login").await?;
    check_accessibility(client, "sign-in page").await?;
    fill(client, "#email", ADMIN_EMAIL).await?;
    fill(client, "#password", ADMIN_PASSWORD).await?;
    click(client, "form[action='/login'] button[type=submit]").await?;
    expect_path(client, "/admin/organizations").await?;
    check_accessibility(client, "Organizations page").await?;

    // Home and the platform console through the navigation.
    click_link(client, "Home").await?;
    expect_path(client, "/").await?;
    check_accessibility(client, "home").await?;
    click(client, ".site-nav a[href='/admin']").await?;
    expect_path(client, "/admin").await?;
    check_accessibility(client, "platform console").await?;
    click(client, ".subnav a[href='/admin/organizations']").await?;

    // Add three organizations; the first try has a wrong quota.
    click_link(client, "Add organization").await?;
    expect_path(client, "/admin/organizations/new").await?;
    check_accessibility(client, "Add organization form").await?;
    fill(client, "#name", "Müller Logistik GmbH").await?;
    fill(client, "#quota_gb", "lots").await?;
    fill(client, "#admin_email", "jurgen@mueller.example").await?;
    click(client, "form.form button[type=submit]").await?;
    let error = text_of(client, "#quota_gb-error").await?;
    ensure(error.contains("whole number"), format!("quota error shown: {error:?}"))?;
    ensure(value_of(client, "#name").await? == "Müller Logistik GmbH", "the name typed is kept")?;
    check_accessibility(client, "form with errors").await?;
    fill(client, "#quota_gb", "250").await?;
    click(client, "form.form button[type=submit]").await?;
    expect_text(client, ".flash", "Müller Logistik GmbH").await?;
    for (name, quota, email) in [("Acme Research", "100", ADMIN_EMAIL), ("Zentrum Nord AG", "5", "it@zentrum.example")]
    {
        click(client, ".subnav a[href='/admin/organizations']").await?;
        click_link(client, "Add organization").await?;
        fill(client, "#name", name).await?;
        fill(client, "#quota_gb", quota).await?;
        fill(client, "#admin_email", email).await?;
        click(client, "form.form button[type=submit]").await?;
        expect_text(client, ".flash", name).await?;
    }

    // Search each way.
    click(client, ".subnav a[href='/admin/organizations']").await?;
    search(client, "MÜLLER", "name").await?;
    ensure(row_names(client).await? == ["Müller Logistik GmbH"], "search by name, ignoring case")?;
    search(client, "zentrum.example", "contact").await?;
    ensure(row_names(client).await? == ["Zentrum Nord AG"], "search by contact person")?;
    search(client, "acme", "all").await?;
    ensure(row_names(client).await? == ["Acme Research"], "search all fields")?;
    ensure(
        client.find(Locator::Css("tr[data-org-id] a[href^='/orgs/']")).await.is_ok(),
        "Manage on an organization I administer",
    )?;
    check_accessibility(client, "search results").await?;

    // Clear the search, sort by Name twice.
    click_link(client, "Clear").await?;
    click(client, "th a[href*='sort=name']").await?;
    expect_attr(client, "th[aria-sort]", "aria-sort", "ascending").await?;
    let ascending = row_names(client).await?;
    click(client, "th a[href*='sort=name']").await?;
    expect_attr(client, "th[aria-sort]", "aria-sort", "descending").await?;
    let descending = row_names(client).await?;
    ensure(
        ascending.first() == Some(&"Acme Research".to_owned()),
        format!("ascending starts with Acme: {ascending:?}"),
    )?;
    ensure(
        descending.first() == Some(&"Zentrum Nord AG".to_owned()),
        format!("descending starts with Zentrum: {descending:?}"),
    )?;

    // Page: 28 organizations, 10 a page.
    client.find(Locator::Css("#per_page")).await?.select_by_value("10").await?;
    click(client, ".search-bar button[type=submit]").await?;
    expect_text(client, ".list-summary", "Showing 1–10 of 28").await?;
    click(client, "a[rel=next]").await?;
    expect_text(client, ".list-summary", "Showing 11–20 of 28").await?;
    click(client, "a[rel=last]").await?;
    expect_text(client, ".list-summary", "Showing 21–28 of 28").await?;
    ensure(client.find(Locator::Css("a[rel=next]")).await.is_err(), "no next link on the last page")?;
    click(client, "a[rel=first]").await?;
    expect_text(client, ".list-summary", "Showing 1–10 of 28").await?;

    // Edit one.
    search(client, "Zentrum", "name").await?;
    click(client, "tr[data-org-id] a[href$='/edit']").await?;
    check_accessibility(client, "Edit organization form").await?;
    fill(client, "#quota_gb", "75").await?;
    click(client, "form.form button[type=submit]").await?;
    expect_text(client, ".flash", "saved").await?;
    expect_text(client, "tr[data-org-id] td.num", "75").await?;

    // The pages of the README, at desktop and phone widths.
    client.goto(&format!("{base}/admin/organizations?sort=name&dir=asc")).await?;
    screenshot(client, 1280, 800, "organizations-1280.png").await?;
    screenshot(client, 390, 844, "organizations-390.png").await?;
    check_accessibility(client, "Organizations page at 390 px").await?;
    let width: Value = client.execute("return document.documentElement.scrollWidth", vec![]).await?;
    ensure(width.as_i64().is_some_and(|w| w <= 390), format!("no sideways scrolling at 390 px (scrollWidth {width})"))?;
    client.set_window_size(1280, 800).await?;

    // The other platform pages, then sign out.
    click(client, ".subnav a[href='/admin/administrators']").await?;
    check_accessibility(client, "administrators page").await?;
    click(client, ".subnav a[href='/admin/audit']").await?;
    check_accessibility(client, "audit log").await?;
    click(client, ".site-nav a[href='/account']").await?;
    check_accessibility(client, "account page").await?;
    click(client, ".who button[type=submit]").await?;
    expect_path(client, "/login").await?;
    expect_text(client, ".flash", "signed out").await?;
    client.goto(&format!("{base}/admin")).await?;
    expect_path(client, "/login").await?;
    Ok(())
}

fn ensure(condition: bool, what: impl Into<String>) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(format!("expected: {}", what.into()).into())
    }
}

async fn expect_path(client: &Client, path: &str) -> Outcome {
    let url = client.current_url().await?;
    ensure(url.path() == path, format!("to be at {path}, but at {url}"))
}

async fn fill(client: &Client, css: &str, text: &str) -> Outcome {
    let field = client.find(Locator::Css(css)).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

async fn click(client: &Client, css: &str) -> Outcome {
    let element = client.find(Locator::Css(css)).await?;
    navigate_by(client, element).await
}

async fn click_link(client: &Client, text: &str) -> Outcome {
    let element = client.find(Locator::LinkText(text)).await?;
    navigate_by(client, element).await
}

/// Click something that loads a new page, and wait until the new page has loaded: the old
/// document is marked first, so a check cannot run against the page being left.
async fn navigate_by(client: &Client, element: Element) -> Outcome {
    client.execute("window.__orgportalLeaving = true;", vec![]).await?;
    element.click().await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let loaded: Value = client
            .execute("return window.__orgportalLeaving === undefined && document.readyState === 'complete';", vec![])
            .await
            .unwrap_or(Value::Bool(false));
        if loaded == Value::Bool(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the click did not load a new page within 15 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(client.find(Locator::Css(css)).await?.text().await?)
}

async fn value_of(client: &Client, css: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(client.find(Locator::Css(css)).await?.prop("value").await?.unwrap_or_default())
}

async fn expect_text(client: &Client, css: &str, needle: &str) -> Outcome {
    let text = text_of(client, css).await?;
    ensure(text.contains(needle), format!("{css} to contain {needle:?}, it says {text:?}"))
}

async fn expect_attr(client: &Client, css: &str, attr: &str, value: &str) -> Outcome {
    let found = client.find(Locator::Css(css)).await?.attr(attr).await?;
    ensure(found.as_deref() == Some(value), format!("{css} [{attr}] = {value}, found {found:?}"))
}

async fn search(client: &Client, text: &str, by: &str) -> Outcome {
    fill(client, "#q", text).await?;
    client.find(Locator::Css("#by")).await?.select_by_value(by).await?;
    click(client, ".search-bar button[type=submit]").await
}

async fn row_names(client: &Client) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let cells: Vec<Element> = client.find_all(Locator::Css("tr[data-org-id] td.name")).await?;
    let mut names = Vec::new();
    for cell in cells {
        names.push(cell.text().await?);
    }
    Ok(names)
}

async fn screenshot(client: &Client, width: u32, height: u32, name: &str) -> Outcome {
    client.set_window_size(width, height).await?;
    // Chromium's window includes its frame: set the viewport itself to the size asked for.
    let inner: Value = client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await?;
    let (w, h) = (inner[0].as_u64().unwrap_or(width as u64) as u32, inner[1].as_u64().unwrap_or(height as u64) as u32);
    client.set_window_size(2 * width - w, 2 * height - h).await?;
    let png = client.screenshot().await?;
    let dir = repo_path("target/e2e-artifacts");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), &png)?;
    if std::env::var("ORGPORTAL_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = repo_path("docs/screenshots");
        std::fs::create_dir_all(&docs)?;
        std::fs::write(docs.join(name), &png)?;
    }
    Ok(())
}

/// Inject axe-core and fail on any serious or critical violation.
async fn check_accessibility(client: &Client, page: &str) -> Outcome {
    let axe = std::fs::read_to_string(repo_path("tests/browser/node_modules/axe-core/axe.min.js"))?;
    client.execute(&axe, vec![]).await?;
    let result: Value = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
                .then(r => done(r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await?;
    let violations: Vec<String> = serde_json::from_value(result)?;
    ensure(violations.is_empty(), format!("no serious accessibility violations on the {page}: {violations:#?}"))
}
