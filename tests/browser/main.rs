//! The browser journey: the real `orgportal` binary on 127.0.0.1, driven in headless Chromium
//! through chromedriver, clicking real links and typing into real fields, with axe-core
//! checking every page visited. Skipped (with a message) where chromedriver, Chromium or
//! axe-core are missing, except under `CI=true`, where that is a failure.
//!
//! Every account that must have a second factor enrols it the way a person would: the test
//! reads the secret off the enrolment page and computes the codes (RFC 6238) itself, never
//! replaying one; the links people are sent are read from the `.eml` files the server writes.
//!
//! Every page checked is also checked for sideways scrolling: never at 390 px, and at 1280 px
//! neither the page nor any table's own box. A fourth browser, whose system asks for dark
//! colours, runs axe over the main pages in dark mode.
//!
//! `ORGPORTAL_UPDATE_SCREENSHOTS=1` also writes the README's screenshots and a gallery of every
//! page checked, at 1280×800 and 390×844 (`<page>-1280.png`, `<page>-390.png`), to
//! `docs/screenshots/`.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

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
    // The same browser with the system's colour scheme set to dark, for the dark journey.
    let mut dark_capabilities = capabilities.clone();
    if let Some(args) = dark_capabilities["goog:chromeOptions"]["args"].as_array_mut() {
        args.push(json!("--force-dark-mode"));
    }
    let keyboard_capabilities = capabilities.clone();
    let client = ClientBuilder::native()
        .capabilities(capabilities.clone())
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session");

    let authenticator = Authenticator::default();
    let mailbox = Mailbox::new(data.path().join("mail"), &base);
    let db = data.path().join("orgportal.db");
    let mut outcome = journey(&client, &base, &authenticator).await;
    if outcome.is_ok() {
        // A second administrator in a second browser, for the removal that needs two.
        add_platform_admin(&db, SECOND_EMAIL, SECOND_PASSWORD);
        match ClientBuilder::native()
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(second) => {
                outcome = removal_journey(&client, &second, &base, &authenticator).await;
                if outcome.is_ok() {
                    outcome = manage_journey(&client, &base).await;
                }
                if outcome.is_ok() {
                    match ClientBuilder::native()
                        .capabilities(dark_capabilities)
                        .connect(&format!("http://127.0.0.1:{driver_port}"))
                        .await
                    {
                        Ok(dark) => {
                            outcome = dark_journey(&client, &dark, &base).await;
                            if outcome.is_err() {
                                save_artifacts_as(&dark, "failure-dark").await;
                            }
                            let _ = dark.close().await;
                        }
                        Err(e) => outcome = Err(format!("a dark Chromium session: {e}").into()),
                    }
                }
                if outcome.is_ok() {
                    // The people invited by email: a third browser for an organization's
                    // administrator, the second one (signed out) for its users.
                    match ClientBuilder::native()
                        .capabilities(capabilities)
                        .connect(&format!("http://127.0.0.1:{driver_port}"))
                        .await
                    {
                        Ok(third) => {
                            let world =
                                World { base: &base, db: &db, authenticator: &authenticator, mailbox: &mailbox };
                            outcome = invitation_journey(&client, &third, &second, &world).await;
                            if outcome.is_err() {
                                save_artifacts_as(&third, "failure-third").await;
                            }
                            let _ = third.close().await;
                        }
                        Err(e) => outcome = Err(format!("a third Chromium session: {e}").into()),
                    }
                }
                if outcome.is_err() {
                    save_artifacts_as(&second, "failure-second").await;
                }
                let _ = second.close().await;
            }
            Err(e) => outcome = Err(format!("a second Chromium session: {e}").into()),
        }
    }
    if outcome.is_ok() {
        // Keyboard only, in a browser of its own (the others are signed in or closed).
        match ClientBuilder::native()
            .capabilities(keyboard_capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(keyboard) => {
                outcome = keyboard_journey(&keyboard, &base, &authenticator).await;
                if outcome.is_err() {
                    save_artifacts_as(&keyboard, "failure-keyboard").await;
                }
                let _ = keyboard.close().await;
            }
            Err(e) => outcome = Err(format!("a keyboard Chromium session: {e}").into()),
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

/// What the sign-in asked for after the password.
#[derive(Debug, PartialEq)]
enum SecondStep {
    /// Nothing: signed in with the password alone.
    None,
    /// A code of the enrolled authenticator.
    Code,
    /// Enrolment, as the account had to have a second factor and had none.
    Enrolment,
}

async fn sign_in(
    client: &Client,
    base: &str,
    authenticator: &Authenticator,
    email: &str,
    password: &str,
) -> Result<SecondStep, Box<dyn std::error::Error>> {
    client.goto(&format!("{base}/login")).await?;
    submit_sign_in(client, authenticator, email, password).await
}

/// On the sign-in page: the email and password, then whatever second step the portal asks
/// for: a fresh code of the account's authenticator, or enrolment (followed to its end).
async fn submit_sign_in(
    client: &Client,
    authenticator: &Authenticator,
    email: &str,
    password: &str,
) -> Result<SecondStep, Box<dyn std::error::Error>> {
    fill(client, "#email", email).await?;
    fill(client, "#password", password).await?;
    click(client, "form[action='/login'] button[type=submit]").await?;
    if present(client, "#totp-secret").await {
        enrol(client, authenticator, email).await?;
        return Ok(SecondStep::Enrolment);
    }
    if present(client, "form[action='/login'] #code").await {
        ensure(!present(client, "#password").await, "the code step no longer asks for the password")?;
        check_accessibility(client, "sign-in code step").await?;
        let code = authenticator.fresh_code(email).await?;
        fill(client, "#code", &code).await?;
        click(client, "form[action='/login'] button[type=submit]").await?;
        ensure(!present(client, "#code").await, format!("the code of {email} is accepted"))?;
        return Ok(SecondStep::Code);
    }
    Ok(SecondStep::None)
}

/// Sign in giving a recovery code at the code step (no check of where it leads).
async fn sign_in_with_recovery_code(
    client: &Client,
    base: &str,
    email: &str,
    password: &str,
    recovery_code: &str,
) -> Outcome {
    client.goto(&format!("{base}/login")).await?;
    fill(client, "#email", email).await?;
    fill(client, "#password", password).await?;
    click(client, "form[action='/login'] button[type=submit]").await?;
    ensure(present(client, "form[action='/login'] #code").await, format!("the code step for {email}"))?;
    fill(client, "#code", recovery_code).await?;
    click(client, "form[action='/login'] button[type=submit]").await
}

/// On an enrolment page (sign-in, registration or the account page): read the secret as a
/// person typing it into an app would, answer with the app's code, keep the recovery codes
/// shown once, and follow the link onward.
async fn enrol(
    client: &Client,
    authenticator: &Authenticator,
    email: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    check_accessibility(client, "second factor enrolment page").await?;
    // As text, not as seen: the URI may sit in a closed disclosure.
    let secret: String = text_content(client, "#totp-secret").await?.chars().filter(|c| !c.is_whitespace()).collect();
    let uri = text_content(client, "#totp-uri").await?.trim().to_owned();
    ensure(uri.starts_with("otpauth://totp/"), format!("an otpauth URI: {uri:?}"))?;
    ensure(uri.contains(&format!("secret={secret}")), format!("the URI holds the secret shown: {uri:?}"))?;
    ensure(present(client, "main svg").await, "a QR code drawn as SVG")?;
    authenticator.enrol(email, &secret)?;
    let code = authenticator.fresh_code(email).await?;
    fill(client, "#code", &code).await?;
    click(client, "form:has(#code) button[type=submit]").await?;

    // The recovery codes, shown once, with a download and a link onward.
    check_accessibility(client, "recovery codes page").await?;
    let items: Vec<Element> = client.find_all(Locator::Css("#recovery-codes li code")).await?;
    let mut codes = Vec::new();
    for item in items {
        codes.push(item.text().await?.trim().to_owned());
    }
    ensure(codes.len() == 10, format!("ten recovery codes for {email}: {codes:?}"))?;
    ensure(present(client, "a#recovery-codes-download").await, "a download of the recovery codes")?;
    authenticator.keep_recovery_codes(email, codes.clone());
    click(client, "a#continue").await?;
    Ok(codes)
}

/// The authenticator app of everyone in the journeys: each enrolled account's secret, the
/// last 30-second step whose code was given, and the recovery codes it was shown.
#[derive(Default)]
struct Authenticator {
    accounts: Mutex<HashMap<String, Enrolled>>,
}

struct Enrolled {
    totp: TOTP,
    last_step: Option<u64>,
    recovery_codes: Vec<String>,
}

impl Authenticator {
    fn enrol(&self, email: &str, secret: &str) -> Outcome {
        let bytes =
            Secret::Encoded(secret.to_owned()).to_bytes().map_err(|e| format!("the secret {secret:?}: {e:?}"))?;
        let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new())
            .map_err(|e| format!("the secret {secret:?}: {e:?}"))?;
        let mut accounts = self.accounts.lock().expect("authenticator");
        accounts.insert(email.to_owned(), Enrolled { totp, last_step: None, recovery_codes: Vec::new() });
        Ok(())
    }

    fn keep_recovery_codes(&self, email: &str, codes: Vec<String>) {
        if let Some(enrolled) = self.accounts.lock().expect("authenticator").get_mut(email) {
            enrolled.recovery_codes = codes;
        }
    }

    fn recovery_code(&self, email: &str, index: usize) -> Result<String, Box<dyn std::error::Error>> {
        let accounts = self.accounts.lock().expect("authenticator");
        let enrolled = accounts.get(email).ok_or_else(|| format!("{email} has no second factor in the test"))?;
        Ok(enrolled
            .recovery_codes
            .get(index)
            .cloned()
            .ok_or_else(|| format!("{email} has no recovery code {index}"))?)
    }

    /// A code of a step this account has not given a code for yet (a code is accepted once):
    /// waits for the next 30-second step when needed, and also when the current one is about
    /// to end, so that the code is still current when the server reads it.
    async fn fresh_code(&self, email: &str) -> Result<String, Box<dyn std::error::Error>> {
        loop {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
            let step = (now / 30.0) as u64;
            let left = (step + 1) as f64 * 30.0 - now;
            {
                let mut accounts = self.accounts.lock().expect("authenticator");
                let enrolled =
                    accounts.get_mut(email).ok_or_else(|| format!("{email} has no second factor in the test"))?;
                if enrolled.last_step.is_none_or(|last| step > last) && left > 2.0 {
                    enrolled.last_step = Some(step);
                    return Ok(enrolled.totp.generate(step * 30));
                }
            }
            tokio::time::sleep(Duration::from_secs_f64(left + 0.2)).await;
        }
    }
}

/// The mail folder the server writes one `.eml` file per message to, read as a mail client
/// would (quoted-printable and base64 parts decoded; see tests/api/mailbox.rs).
struct Mailbox {
    dir: PathBuf,
    base: String,
    read: Mutex<HashSet<PathBuf>>,
}

impl Mailbox {
    fn new(dir: PathBuf, base: &str) -> Self {
        Mailbox { dir, base: base.to_owned(), read: Mutex::new(HashSet::new()) }
    }

    /// The decoded text of the first unread message of this kind (`0000000012-KIND.eml`) to
    /// `to` that contains `containing`, waiting for the outbox worker to write it.
    async fn receive(&self, to: &str, kind: &str, containing: &str) -> Result<String, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let suffix = format!("-{kind}.eml");
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            for path in files {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if !name.ends_with(&suffix) || self.read.lock().expect("mailbox").contains(&path) {
                    continue;
                }
                let Ok(raw) = std::fs::read_to_string(&path) else { continue };
                let addressed = raw
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.to_ascii_lowercase().contains(to));
                let text = decode_mail(&raw);
                if addressed && text.contains(containing) {
                    self.read.lock().expect("mailbox").insert(path);
                    return Ok(text);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no {kind} email to {to} containing {containing:?} within 20 s").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The first link in a message to a path starting with `prefix`.
    fn link(&self, text: &str, prefix: &str) -> Result<String, Box<dyn std::error::Error>> {
        let start = format!("{}{prefix}", self.base);
        let at = text.find(&start).ok_or_else(|| format!("a link to {start}… in the email: {text}"))?;
        Ok(text[at..].chars().take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | ')')).collect())
    }
}

/// A raw message with every part's body decoded (headers kept as they are).
fn decode_mail(raw: &str) -> String {
    let mut out = String::new();
    let mut encoding = String::new();
    let mut in_headers = true;
    let mut body = Vec::new();
    let flush = |encoding: &str, body: &mut Vec<&str>, out: &mut String| {
        match encoding {
            "base64" => {
                let joined: String = body.concat().split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(joined).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            "quoted-printable" => out.push_str(&quoted_printable(&body.join("\n"))),
            _ => out.push_str(&body.join("\n")),
        }
        out.push('\n');
        body.clear();
    };
    for line in raw.lines() {
        if line.starts_with("--") {
            flush(&encoding, &mut body, &mut out);
            encoding.clear();
            in_headers = true;
            continue;
        }
        if in_headers {
            out.push_str(line);
            out.push('\n');
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-transfer-encoding:") {
                encoding = value.trim().to_owned();
            }
            if line.is_empty() {
                in_headers = false;
            }
            continue;
        }
        body.push(line);
    }
    flush(&encoding, &mut body, &mut out);
    out
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if let Some(byte) = joined.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
async fn removal_journey(a: &Client, b: &Client, base: &str, authenticator: &Authenticator) -> Outcome {
    const ORG: &str = "Müller Logistik GmbH";
    // A enrolled at the first sign-in: a fresh code now. B, added straight into the database
    // with no second factor, must enrol first.
    let step = sign_in(a, base, authenticator, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    ensure(step == SecondStep::Code, format!("A gives a code at sign-in, not {step:?}"))?;
    let step = sign_in(b, base, authenticator, SECOND_EMAIL, SECOND_PASSWORD).await?;
    ensure(step == SecondStep::Enrolment, format!("B is made to enrol at the first sign-in, not {step:?}"))?;

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

    // B approves by keyboard alone: Space selects the row, Shift+Tab goes back up to the
    // toolbar (it sits above the table), and a mistyped password is refused and announced
    // before the right one is accepted.
    tab_to(b, "tr[data-org-id] input[type=radio]").await?;
    keys(b, " ").await?;
    ensure(b.find(Locator::Css("tr[data-org-id] input[type=radio]:checked")).await.is_ok(), "Space selects the row")?;
    tab_back_to(b, ".toolbar button[value=approve]").await?;
    enter(b).await?;
    expect_text(b, "#removal-status", "Awaiting approval").await?;
    check_accessibility(b, "removal approval page").await?;
    screenshot(b, 1280, 1000, "removal-approve.png").await?;
    b.set_window_size(1280, 800).await?;
    tab_to(b, "#password").await?;
    keys(b, "not-the-password-at-all").await?;
    enter(b).await?;
    expect_announced_error(b, "#password", "not your password").await?;
    check_accessibility(b, "removal approval refusing a wrong password").await?;
    keys(b, SECOND_PASSWORD).await?;
    enter(b).await?;
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
    expect_text(a, "h1", "Properties of").await?;
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
    let title = a.title().await?;
    ensure(title.contains("Acme Research"), format!("the title names the organization: {title:?}"))?;
    expect_text(a, "nav[aria-label=Breadcrumb]", "Organizations").await?;
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
    // The badges are short on screen; their full names are there for screen readers.
    let row = text_content(a, "tr[data-account-id]:nth-child(2)").await?;
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
    // Each change's details name the fields as the Add user form labels them.
    let details = text_content(a, ".audit-details").await?;
    ensure(
        details.contains("No 2nd Factor") && !details.contains("no_second_factor") && !details.contains("quota_gb"),
        format!("the details use the forms' labels: {details:?}"),
    )?;
    let all: Value = a
        .execute("return [...document.querySelectorAll('.audit-details li')].map(li => li.textContent.trim());", vec![])
        .await?;
    let lines: Vec<&str> = all.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    ensure(
        lines.iter().any(|l| l.starts_with("Quota (GB): ")),
        format!("a details line reads \"Quota (GB): …\": {lines:?}"),
    )?;
    ensure(
        lines.iter().all(|l| l.chars().next().is_some_and(char::is_uppercase) && l.contains(": ")),
        format!("every details line reads \"Label: value\": {lines:?}"),
    )?;

    // Another organization is out of reach, whatever the address says.
    a.goto(&format!("{base}/admin/organizations")).await?;
    search(a, "Zentrum", "name").await?;
    let other = a.find(Locator::Css("tr[data-org-id]")).await?.attr("data-org-id").await?.unwrap_or_default();
    ensure(a.find(Locator::Css("tr[data-org-id] a[href^='/orgs/']")).await.is_err(), "no Manage on a foreign row")?;
    a.goto(&format!("{base}/orgs/{other}/users")).await?;
    expect_text(a, "main", "not an administrator of this organization").await?;
    check_accessibility(a, "forbidden page").await?;
    a.goto(&format!("{base}/admin/organizations/999999/edit")).await?;
    check_accessibility(a, "not found page").await?;
    Ok(())
}

/// What the invitation journey needs besides its browsers.
struct World<'a> {
    base: &'a str,
    db: &'a Path,
    authenticator: &'a Authenticator,
    mailbox: &'a Mailbox,
}

const ORG_NEW: &str = "Lindqvist Design AB";
const DELEGATE_EMAIL: &str = "astrid@lindqvist.example";
const DELEGATE_PASSWORD: &str = "copper-meadow-47-lantern";
const USER_EMAIL: &str = "bo@lindqvist.example";
const USER_PASSWORD: &str = "saffron-quay-63-bicycle";
const USER_NEW_PASSWORD: &str = "harbour-thistle-58-glacier";
const NO_2FA_EMAIL: &str = "cecilia@lindqvist.example";
const NO_2FA_PASSWORD: &str = "walnut-orbit-29-meadow";
const LATE_EMAIL: &str = "dag@lindqvist.example";

/// The seed's way in, by email: a platform administrator adds an organization naming a new
/// address; that person registers from the emailed link, enrols a second factor and adds two
/// users (one with No 2nd Factor); each registers; the administrator reads "ready for
/// validation" and validates one; that one reads "account ready" and signs in to `Active`.
/// Then the links that must not work: an expired invitation, a password reset link used
/// twice, a recovery code given twice.
async fn invitation_journey(admin: &Client, delegate: &Client, user: &Client, world: &World<'_>) -> Outcome {
    let World { base, authenticator, mailbox, .. } = *world;

    // (1) The platform administrator adds the organization, naming a new address.
    admin.goto(&format!("{base}/admin/organizations")).await?;
    click_link(admin, "Add organization").await?;
    fill(admin, "#name", ORG_NEW).await?;
    fill(admin, "#quota_gb", "50").await?;
    fill(admin, "#admin_email", DELEGATE_EMAIL).await?;
    click(admin, "form.form button[type=submit]").await?;
    expect_text(admin, ".flash", ORG_NEW).await?;
    search(admin, "Lindqvist", "name").await?;
    let org = admin.find(Locator::Css("tr[data-org-id]")).await?.attr("data-org-id").await?.unwrap_or_default();
    ensure(!org.is_empty(), "the new organization's row")?;

    // (2) Its administrator registers from the invitation, enrols, and is active at once.
    let invitation = mailbox.receive(DELEGATE_EMAIL, "invitation", ORG_NEW).await?;
    let link = mailbox.link(&invitation, "/register/")?;
    delegate.goto(&link).await?;
    expect_text(delegate, "h1", "Set up your account").await?;
    expect_text(delegate, "main", ORG_NEW).await?;
    check_accessibility(delegate, "registration page").await?;
    register(delegate, "Astrid Lindqvist", DELEGATE_PASSWORD).await?;
    ensure(present(delegate, "#totp-secret").await, "registration asks the administrator to enrol")?;
    ensure(
        present(delegate, &format!("form[action='{}'] #code", link.trim_start_matches(base))).await,
        "the enrolment form posts to the registration link",
    )?;
    enrol(delegate, authenticator, DELEGATE_EMAIL).await?;
    expect_path(delegate, "/account").await?;
    check_accessibility(delegate, "account page after registration").await?;
    let row = membership_row(delegate, ORG_NEW).await?;
    ensure(row.contains("Active"), format!("the organization's administrator is Active at once: {row:?}"))?;
    let left = recovery_codes_left(delegate).await?;
    ensure(left == 10, format!("ten recovery codes left, the page says {left}"))?;

    // (3) As the organization's administrator, two users: one with No 2nd Factor.
    delegate.goto(&format!("{base}/orgs/{org}/users/new")).await?;
    check_accessibility(delegate, "Add user form of the new organization").await?;
    for (email, no_second_factor) in [(USER_EMAIL, false), (NO_2FA_EMAIL, true)] {
        fill(delegate, "#email", email).await?;
        if no_second_factor {
            delegate.find(Locator::Css("input[name=no_second_factor]")).await?.click().await?;
        }
        click(delegate, "form.form button[type=submit]").await?;
        expect_text(delegate, ".flash", &format!("{email} was added")).await?;
        if !no_second_factor {
            click_link(delegate, "Add user").await?;
        }
    }
    expect_path(delegate, &format!("/orgs/{org}/users")).await?;
    let row = user_row(delegate, NO_2FA_EMAIL).await?;
    ensure(row.contains("Invited") && row.contains("No 2nd Factor"), format!("the row of {NO_2FA_EMAIL}: {row:?}"))?;

    // (4) Each registers in the users' browser: the first enrols, the second does not.
    sign_out(user).await?;
    let invitation = mailbox.receive(USER_EMAIL, "user_invitation", ORG_NEW).await?;
    user.goto(&mailbox.link(&invitation, "/register/")?).await?;
    expect_text(user, "main", ORG_NEW).await?;
    register(user, "Bo Nyberg", USER_PASSWORD).await?;
    ensure(present(user, "#totp-secret").await, "registration asks a user without No 2nd Factor to enrol")?;
    enrol(user, authenticator, USER_EMAIL).await?;
    expect_path(user, "/account").await?;
    let row = membership_row(user, ORG_NEW).await?;
    ensure(row.contains("Awaiting validation"), format!("{USER_EMAIL} awaits validation: {row:?}"))?;
    sign_out(user).await?;

    let invitation = mailbox.receive(NO_2FA_EMAIL, "user_invitation", ORG_NEW).await?;
    user.goto(&mailbox.link(&invitation, "/register/")?).await?;
    register(user, "Cecilia Holm", NO_2FA_PASSWORD).await?;
    ensure(!present(user, "#totp-secret").await, "no enrolment for a user with No 2nd Factor")?;
    expect_path(user, "/account").await?;
    check_accessibility(user, "account page awaiting validation").await?;
    let row = membership_row(user, ORG_NEW).await?;
    ensure(row.contains("Awaiting validation"), format!("{NO_2FA_EMAIL} awaits validation: {row:?}"))?;
    user.goto(&format!("{base}/orgs/{org}/users")).await?;
    ensure(!present(user, "tr[data-account-id]").await, "nothing of the organization before validation")?;
    user.goto(&format!("{base}/account")).await?;
    sign_out(user).await?;

    // (5) The administrator follows "ready for validation" to the users list and validates.
    let ready = mailbox.receive(DELEGATE_EMAIL, "ready_for_validation", USER_EMAIL).await?;
    delegate.goto(&mailbox.link(&ready, &format!("/orgs/{org}/users"))?).await?;
    expect_path(delegate, &format!("/orgs/{org}/users")).await?;
    expect_text(delegate, "#awaiting-heading", "Awaiting validation").await?;
    check_accessibility(delegate, "users awaiting validation").await?;
    // By keyboard alone: Tab to the row's Validate and press Enter.
    tab_to(delegate, &format!("tr[data-account-id] button[aria-label='Validate {USER_EMAIL}']")).await?;
    enter(delegate).await?;
    delegate.goto(&format!("{base}/orgs/{org}/users")).await?;
    let row = user_row(delegate, USER_EMAIL).await?;
    ensure(row.contains("Active") && row.contains("Bo Nyberg"), format!("{USER_EMAIL} is validated: {row:?}"))?;

    // (6) "Account ready": the user signs in from its link with a fresh code and is Active.
    let ready = mailbox.receive(USER_EMAIL, "account_validated", ORG_NEW).await?;
    user.goto(&mailbox.link(&ready, "/login")?).await?;
    expect_path(user, "/login").await?;
    let step = submit_sign_in(user, authenticator, USER_EMAIL, USER_PASSWORD).await?;
    ensure(step == SecondStep::Code, format!("{USER_EMAIL} gives a code at sign-in, not {step:?}"))?;
    user.goto(&format!("{base}/account")).await?;
    let row = membership_row(user, ORG_NEW).await?;
    ensure(row.contains("Active"), format!("{USER_EMAIL} is Active: {row:?}"))?;

    // (7) An expired invitation link explains itself and offers no form.
    delegate.goto(&format!("{base}/orgs/{org}/users/new")).await?;
    fill(delegate, "#email", LATE_EMAIL).await?;
    click(delegate, "form.form button[type=submit]").await?;
    expect_text(delegate, ".flash", &format!("{LATE_EMAIL} was added")).await?;
    let invitation = mailbox.receive(LATE_EMAIL, "user_invitation", ORG_NEW).await?;
    expire_invitations(world.db, LATE_EMAIL);
    sign_out(user).await?;
    user.goto(&mailbox.link(&invitation, "/register/")?).await?;
    expect_text(user, "h1", "expired").await?;
    ensure(!present(user, "main form").await && !present(user, "#password").await, "no form behind an expired link")?;
    check_accessibility(user, "expired invitation page").await?;

    // (8) A password reset link works once; the second factor stays.
    user.goto(&format!("{base}/login")).await?;
    click_link(user, "Forgot your password?").await?;
    expect_path(user, "/password-reset").await?;
    check_accessibility(user, "password reset request").await?;
    fill(user, "#email", USER_EMAIL).await?;
    click(user, "form[action='/password-reset'] button[type=submit]").await?;
    expect_text(user, "h1", "Check your email").await?;
    check_accessibility(user, "password reset sent").await?;
    let reset = mailbox.receive(USER_EMAIL, "password_reset", "/password-reset/").await?;
    let link = mailbox.link(&reset, "/password-reset/")?;
    user.goto(&link).await?;
    expect_text(user, "h1", "Choose a new password").await?;
    check_accessibility(user, "password reset form").await?;
    fill(user, "#password", USER_NEW_PASSWORD).await?;
    fill(user, "#password_confirm", USER_NEW_PASSWORD).await?;
    click(user, "main form button[type=submit]").await?;
    expect_path(user, "/login").await?;
    expect_text(user, ".flash", "password is set").await?;
    user.goto(&link).await?;
    expect_text(user, "main", "already been used").await?;
    ensure(!present(user, "#password").await, "no form behind a used reset link")?;
    check_accessibility(user, "used password reset link").await?;
    let step = sign_in(user, base, authenticator, USER_EMAIL, USER_NEW_PASSWORD).await?;
    ensure(step == SecondStep::Code, format!("a password reset keeps the second factor, asked {step:?}"))?;
    expect_path(user, "/").await?;
    sign_out(user).await?;

    // (9) A recovery code signs in once, and only once.
    let recovery = authenticator.recovery_code(USER_EMAIL, 0)?;
    sign_in_with_recovery_code(user, base, USER_EMAIL, USER_NEW_PASSWORD, &recovery).await?;
    ensure(!present(user, "#code").await, "signed in with a recovery code")?;
    user.goto(&format!("{base}/account")).await?;
    let left = recovery_codes_left(user).await?;
    ensure(left == 9, format!("nine recovery codes left after one was used, the page says {left}"))?;
    sign_out(user).await?;
    sign_in_with_recovery_code(user, base, USER_EMAIL, USER_NEW_PASSWORD, &recovery).await?;
    expect_path(user, "/login").await?;
    ensure(present(user, "#code").await, "the code step again after a spent recovery code")?;
    ensure(
        present(user, ".form-error, .field-error, [role=alert]").await,
        "an error says the spent recovery code was refused",
    )?;
    expect_announced_error(user, "#code", "").await?;
    check_accessibility(user, "code step refusing a spent recovery code").await?;
    Ok(())
}

/// Fill the registration form this browser shows and submit it.
async fn register(client: &Client, name: &str, password: &str) -> Outcome {
    fill(client, "#display_name", name).await?;
    fill(client, "#password", password).await?;
    fill(client, "#password_confirm", password).await?;
    click(client, "form[action^='/register/'] button[type=submit]").await
}

async fn sign_out(client: &Client) -> Outcome {
    if present(client, ".who button[type=submit]").await {
        click(client, ".who button[type=submit]").await?;
        expect_path(client, "/login").await?;
    }
    Ok(())
}

async fn present(client: &Client, css: &str) -> bool {
    client.find(Locator::Css(css)).await.is_ok()
}

/// The text of the row of the account page's organizations table naming `org`.
async fn membership_row(client: &Client, org: &str) -> Result<String, Box<dyn std::error::Error>> {
    row_containing(client, "main table tbody tr:not([data-session-id])", org).await
}

/// The text of the users list's row of `email`.
async fn user_row(client: &Client, email: &str) -> Result<String, Box<dyn std::error::Error>> {
    row_containing(client, "tr[data-account-id]", email).await
}

async fn row_containing(client: &Client, css: &str, needle: &str) -> Result<String, Box<dyn std::error::Error>> {
    for row in client.find_all(Locator::Css(css)).await? {
        let text = row.text().await?;
        if text.contains(needle) {
            return Ok(text);
        }
    }
    Err(format!("a row ({css}) naming {needle}").into())
}

/// Every invitation of `email` a day past its expiry, straight in the server's database.
fn expire_invitations(db: &Path, email: &str) {
    use diesel::prelude::*;
    use orgportal::db::schema::{accounts, invitations};
    use orgportal::db::{ConnectionManager, DatabaseTarget};
    let mut conn =
        ConnectionManager::new(DatabaseTarget::Sqlite(db.to_owned())).open().expect("open the server's database");
    let account: i64 =
        accounts::table.filter(accounts::email.eq(email)).select(accounts::id).first(&mut conn).expect("the account");
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::days(1);
    let expired = diesel::update(invitations::table.filter(invitations::account_id.eq(account)))
        .set(invitations::expires_at.eq(past))
        .execute(&mut conn)
        .expect("expire the invitation");
    assert!(expired > 0, "an invitation of {email} to expire");
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

async fn journey(client: &Client, base: &str, authenticator: &Authenticator) -> Outcome {
    // Sign in, arriving from a protected page.
    client.goto(&format!("{base}/admin/organizations")).await?;
    expect_path(client, "/login").await?;
    check_accessibility(client, "sign-in page").await?;
    // A platform administrator without a second factor must enrol before going anywhere
    // (ORGPORTAL_REQUIRE_ADMIN_2FA is on by default); then on to the page asked for.
    let step = submit_sign_in(client, authenticator, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    ensure(step == SecondStep::Enrolment, format!("the administrator is made to enrol at sign-in, not {step:?}"))?;
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
    expect_announced_error(client, "#quota_gb", "whole number").await?;
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
    // Beside the sorted header, the way back to natural order.
    click_link(client, "Natural order").await?;
    ensure(!present(client, "th[aria-sort]").await, "natural order: no column is sorted")?;
    ensure(!present(client, "a.natural-order").await, "natural order: no link back to itself")?;

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
    check_accessibility(client, "Organizations page sorted by name").await?;
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
    let left = recovery_codes_left(client).await?;
    ensure(left == 10, format!("ten recovery codes left, the page says {left}"))?;
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

/// The text of an element whether it is shown or not.
async fn text_content(client: &Client, css: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(client.find(Locator::Css(css)).await?.prop("textContent").await?.unwrap_or_default())
}

/// How many recovery codes the account page says are left.
async fn recovery_codes_left(client: &Client) -> Result<u32, Box<dyn std::error::Error>> {
    let text = text_of(client, "#second-factor").await?;
    let after = text.find("left").map(|at| &text[at + "left".len()..]).unwrap_or_default();
    let digits: String = after.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    Ok(digits.parse().map_err(|_| format!("a number of recovery codes left in {text:?}"))?)
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

/// Make the viewport itself `width`×`height`.
async fn fit_viewport(client: &Client, width: u32, height: u32) -> Outcome {
    client.set_window_size(width, height).await?;
    // Chromium's window includes its frame: set the viewport itself to the size asked for. The
    // resize lands asynchronously, so the frame is measured once the viewport has moved.
    let (mut w, mut h) = (i64::from(width), i64::from(height));
    for _ in 0..20 {
        let inner: Value = client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await?;
        (w, h) = (inner[0].as_i64().unwrap_or(w), inner[1].as_i64().unwrap_or(h));
        // A frame is never 400 px: anything outside that is the size before the resize.
        if (i64::from(width) - 400..=i64::from(width)).contains(&w)
            && (i64::from(height) - 400..=i64::from(height)).contains(&h)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let frame_width = (i64::from(width) - w).clamp(0, 400);
    let frame_height = (i64::from(height) - h).clamp(0, 400);
    client.set_window_size(width + frame_width as u32, height + frame_height as u32).await?;
    Ok(())
}

fn updating_screenshots() -> bool {
    std::env::var("ORGPORTAL_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

async fn screenshot(client: &Client, width: u32, height: u32, name: &str) -> Outcome {
    fit_viewport(client, width, height).await?;
    let png = client.screenshot().await?;
    let dir = repo_path("target/e2e-artifacts");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), &png)?;
    if updating_screenshots() {
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
    ensure(violations.is_empty(), format!("no serious accessibility violations on the {page}: {violations:#?}"))?;
    at_both_widths(client, page).await
}

/// Fail when the page scrolls sideways: never at any width, and at desktop width (1200 px and
/// more) no table's own box either.
async fn check_no_sideways_scroll(client: &Client, page: &str) -> Outcome {
    let found: Value = client
        .execute(
            "const out = [];
             const doc = document.documentElement;
             if (doc.scrollWidth > doc.clientWidth) out.push('the page is ' + doc.scrollWidth + ' px wide in ' + doc.clientWidth);
             if (window.innerWidth >= 1200) document.querySelectorAll('.table-scroll').forEach((box, i) => {
               if (box.scrollWidth > box.clientWidth) out.push('table box ' + (i + 1) + ' is ' + box.scrollWidth + ' px wide in ' + box.clientWidth);
             });
             return [window.innerWidth, out];",
            vec![],
        )
        .await?;
    let width = found[0].as_i64().unwrap_or_default();
    let problems: Vec<String> = serde_json::from_value(found[1].clone())?;
    ensure(problems.is_empty(), format!("no sideways scroll on the {page} at {width} px: {problems:?}"))
}

/// The page at both widths: checked for sideways scrolling and, when updating screenshots,
/// written to the gallery as `<page>-1280.png` and `<page>-390.png`. The window's size is put
/// back afterwards.
async fn at_both_widths(client: &Client, page: &str) -> Outcome {
    let (width, height) = client.get_window_size().await?;
    let name: String = page
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    for (w, h) in [(1280, 800), (390, 844)] {
        if updating_screenshots() {
            screenshot(client, w, h, &format!("{name}-{w}.png")).await?;
        } else {
            fit_viewport(client, w, h).await?;
        }
        check_no_sideways_scroll(client, page).await?;
    }
    client.set_window_size(width as u32, height as u32).await?;
    Ok(())
}

/// The main pages again in a browser whose system prefers dark colours (signed in with the
/// first browser's cookies): the dark theme applies, and axe finds its contrast as good.
async fn dark_journey(light: &Client, dark: &Client, base: &str) -> Outcome {
    dark.goto(&format!("{base}/login")).await?;
    let prefers: Value = dark.execute("return matchMedia('(prefers-color-scheme: dark)').matches", vec![]).await?;
    ensure(prefers == Value::Bool(true), "the dark browser prefers dark colours")?;
    let background: Value = dark.execute("return getComputedStyle(document.body).backgroundColor", vec![]).await?;
    ensure(background != json!("rgb(244, 245, 247)"), format!("the dark theme applies, background {background}"))?;
    check_accessibility(dark, "sign-in page in dark mode").await?;
    for cookie in light.get_all_cookies().await? {
        dark.add_cookie(cookie).await?;
    }
    dark.goto(&format!("{base}/admin/organizations?sort=name&dir=asc")).await?;
    expect_path(dark, "/admin/organizations").await?;
    check_accessibility(dark, "Organizations page in dark mode").await?;
    search(dark, "Acme", "name").await?;
    click(dark, "tr[data-org-id] a[href^='/orgs/']").await?;
    check_accessibility(dark, "organization overview in dark mode").await?;
    click(dark, ".subnav a[href$='/users']").await?;
    check_accessibility(dark, "users page in dark mode").await?;
    click_link(dark, "Add user").await?;
    // The browser's own check would keep the empty required email from being sent; the
    // server's refusal is the page to look at.
    dark.execute("document.querySelector('form.form').noValidate = true;", vec![]).await?;
    click(dark, "form.form button[type=submit]").await?;
    expect_announced_error(dark, "#email", "").await?;
    check_accessibility(dark, "Add user form with errors in dark mode").await?;
    click(dark, ".subnav a[href$='/audit']").await?;
    check_accessibility(dark, "organization audit log in dark mode").await?;
    dark.goto(&format!("{base}/account")).await?;
    check_accessibility(dark, "account page in dark mode").await
}

/// Signing in with the second factor, the skip link, and adding an organization through a
/// refused first try, by keyboard alone (typing, Tab and Enter), with the focus visible at
/// every stop.
async fn keyboard_journey(client: &Client, base: &str, authenticator: &Authenticator) -> Outcome {
    client.goto(&format!("{base}/login")).await?;
    expect_focus(client, "#email").await?;
    keys(client, ADMIN_EMAIL).await?;
    tab_to(client, "#password").await?;
    keys(client, ADMIN_PASSWORD).await?;
    enter(client).await?;
    expect_focus(client, "#code").await?;
    let code = authenticator.fresh_code(ADMIN_EMAIL).await?;
    keys(client, &code).await?;
    enter(client).await?;
    ensure(!present(client, "#code").await, "the code typed is accepted")?;

    // The skip link is the first stop and takes the keyboard past the navigation.
    client.goto(&format!("{base}/admin/organizations")).await?;
    keys(client, &char::from(Key::Tab).to_string()).await?;
    expect_focus(client, "a.skip-link").await?;
    keys(client, &char::from(Key::Enter).to_string()).await?;
    let url = client.current_url().await?;
    ensure(url.fragment() == Some("main"), format!("the skip link leads to the content: {url}"))?;

    // Add an organization; the first try has a wrong quota, and the focus lands on it.
    tab_to(client, "a[href='/admin/organizations/new']").await?;
    enter(client).await?;
    tab_to(client, "#name").await?;
    keys(client, "Tastatur Verlag KG").await?;
    tab_to(client, "#quota_gb").await?;
    keys(client, "plenty").await?;
    tab_to(client, "#admin_email").await?;
    keys(client, "hanna@tastatur.example").await?;
    enter(client).await?;
    expect_announced_error(client, "#quota_gb", "whole number").await?;
    check_accessibility(client, "Add organization form with errors, by keyboard").await?;
    let clear = format!("{}{}", char::from(Key::End), char::from(Key::Backspace).to_string().repeat(10));
    keys(client, &clear).await?;
    keys(client, "40").await?;
    enter(client).await?;
    expect_text(client, ".flash", "Tastatur Verlag KG").await?;

    // Add a user to the default organization and remove them again.
    client.goto(&format!("{base}/")).await?;
    let default = client.find(Locator::LinkText("Default")).await?.attr("href").await?.unwrap_or_default();
    tab_to(client, &format!("main a[href='{default}']")).await?;
    enter(client).await?;
    tab_to(client, ".subnav a[href$='/users']").await?;
    enter(client).await?;
    tab_to(client, "a[href$='/users/new']").await?;
    enter(client).await?;
    tab_to(client, "#email").await?;
    keys(client, "tabea@keyboard.example").await?;
    enter(client).await?;
    expect_text(client, ".flash", "tabea@keyboard.example was added").await?;
    tab_to(client, "button[aria-label='Remove tabea@keyboard.example']").await?;
    enter(client).await?;
    expect_text(client, ".flash", "free again").await?;

    // Find the new organization with the search box and ask for its removal.
    client.goto(&format!("{base}/admin/organizations")).await?;
    tab_to(client, "#q").await?;
    keys(client, "Tastatur").await?;
    enter(client).await?;
    tab_to(client, "a[aria-label='Remove Tastatur Verlag KG']").await?;
    enter(client).await?;
    tab_to(client, "form[action$='/removal'] button[type=submit]").await?;
    enter(client).await?;
    expect_text(client, ".flash", "Removal of “Tastatur Verlag KG” initiated").await
}

/// Type into whatever has the focus, as a person at a keyboard would.
async fn keys(client: &Client, text: &str) -> Outcome {
    client.active_element().await?.send_keys(text).await?;
    Ok(())
}

/// Press Enter on what has the focus and wait for the page it loads.
async fn enter(client: &Client) -> Outcome {
    client.execute("window.__orgportalLeaving = true;", vec![]).await?;
    keys(client, &char::from(Key::Enter).to_string()).await?;
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
            return Err("Enter did not load a new page within 15 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Press Tab until `css` has the focus (at most 80 presses); every stop on the way must show
/// that it has the focus.
async fn tab_to(client: &Client, css: &str) -> Outcome {
    move_focus_to(client, css, char::from(Key::Tab).to_string()).await
}

/// As `tab_to`, backwards (Shift+Tab), for a control above the focus.
async fn tab_back_to(client: &Client, css: &str) -> Outcome {
    // Within one send, a modifier stays down until the end of the text.
    move_focus_to(client, css, format!("{}{}", char::from(Key::Shift), char::from(Key::Tab))).await
}

async fn move_focus_to(client: &Client, css: &str, press: String) -> Outcome {
    for _ in 0..80 {
        if focused(client, css).await? {
            return Ok(());
        }
        keys(client, &press).await?;
        let shown: Value = client
            .execute(
                "const e = document.activeElement;
                 if (!e || e === document.body) return true;
                 const s = getComputedStyle(e);
                 return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none';",
                vec![],
            )
            .await?;
        let at: Value = client.execute("return document.activeElement.outerHTML.slice(0, 120)", vec![]).await?;
        ensure(shown == Value::Bool(true), format!("the focus is visible on {at}"))?;
    }
    Err(format!("Tab never reached {css}").into())
}

async fn focused(client: &Client, css: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let hit: Value = client
        .execute("return !!document.activeElement && document.activeElement.matches(arguments[0]);", vec![json!(css)])
        .await?;
    Ok(hit == Value::Bool(true))
}

async fn expect_focus(client: &Client, css: &str) -> Outcome {
    let at: Value = client.execute("return document.activeElement.outerHTML.slice(0, 120)", vec![]).await?;
    ensure(focused(client, css).await?, format!("{css} has the focus, not {at}"))
}

/// A refused form announces its error: `css` is marked invalid, is described by an element
/// that says what is wrong (containing `needle`), and is the first invalid field of the page,
/// which has the focus once the page has loaded.
async fn expect_announced_error(client: &Client, css: &str, needle: &str) -> Outcome {
    let found: Value = client
        .execute(
            "const e = document.querySelector(arguments[0]);
             if (!e) return {missing: true};
             const ids = (e.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
             const texts = ids.map(id => document.getElementById(id))
                 .filter(m => m && /(^|\\s)(field-error|form-error)(\\s|$)/.test(m.className))
                 .map(m => m.textContent.trim());
             return {
                 invalid: e.getAttribute('aria-invalid'),
                 messages: texts,
                 first: document.querySelector('form [aria-invalid=\"true\"]') === e,
                 focused: document.activeElement === e,
             };",
            vec![json!(css)],
        )
        .await?;
    ensure(found.get("missing").is_none(), format!("{css} is on the refused page"))?;
    ensure(found["invalid"] == json!("true"), format!("{css} has aria-invalid=\"true\": {found}"))?;
    let messages: Vec<&str> = found["messages"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    ensure(
        messages.iter().any(|m| !m.is_empty() && m.contains(needle)),
        format!("{css} is described by its error message (containing {needle:?}): {found}"),
    )?;
    ensure(found["first"] == json!(true), format!("{css} is the first invalid field: {found}"))?;
    ensure(found["focused"] == json!(true), format!("{css} has the focus after the page loads: {found}"))
}
