//! A private OpenLDAP server for the LDAP tests: Debian's `slapd` on a free loopback port, with
//! a throwaway configuration and database in a temporary directory, seeded with `slapadd`.
//! One per test process (`directory()`); a watchdog shell stops it and removes its directory
//! when the test process is gone, since a static is never dropped.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SLAPD: &str = "/usr/sbin/slapd";
pub const SLAPADD: &str = "/usr/sbin/slapadd";
pub const SUFFIX: &str = "dc=example,dc=org";
/// The service account the portal binds as: not the root DN, which no limit applies to.
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
pub const READER_PASSWORD: &str = "reader-secret-41";
/// People under `ou=people`: more than the server's size limit, so only a paged search sees all.
pub const PEOPLE: usize = 150;
pub const SIZE_LIMIT: usize = 100;

/// `user{n}@example.org` signs in with `person_password(n)`.
pub fn person_email(n: usize) -> String {
    format!("user{n}@example.org")
}

pub fn person_password(n: usize) -> String {
    format!("pw-{n}-lantern")
}

pub fn person_dn(n: usize) -> String {
    format!("uid=user{n},ou=people,{SUFFIX}")
}

pub struct Directory {
    pub url: String,
    _watchdog: Child,
}

static DIRECTORY: OnceLock<Directory> = OnceLock::new();

/// The running server, started on first use.
pub fn directory() -> &'static Directory {
    DIRECTORY.get_or_init(start)
}

fn config(dir: &Path) -> String {
    format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
# Plain searches stop at {SIZE_LIMIT} entries; paged searches may read everything.
sizelimit size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.prtotal=unlimited
database mdb
maxsize 104857600
suffix \"{SUFFIX}\"
rootdn \"cn=admin,{SUFFIX}\"
rootpw root-secret-17
directory {dir}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
",
        dir = dir.display()
    )
}

fn seed() -> String {
    let mut ldif = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {READER_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: reader\nsn: reader\n\
         userPassword: {READER_PASSWORD}\n\n"
    );
    for n in 0..PEOPLE {
        ldif.push_str(&format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: user{n}\ncn: User {n}\nsn: {n}\nmail: {}\nuserPassword: {}\n\n",
            person_dn(n),
            person_email(n),
            person_password(n)
        ));
    }
    ldif
}

fn start() -> Directory {
    assert!(
        Path::new(SLAPD).exists(),
        "{SLAPD} is missing: install Debian's slapd and ldap-utils (.ci/run does) to run the LDAP tests"
    );
    // Kept: the watchdog removes it once the test process is gone.
    let dir = tempfile::Builder::new().prefix("orgportal-slapd-").tempdir().expect("temp dir").keep();
    std::fs::create_dir(dir.join("db")).expect("db dir");
    std::fs::write(dir.join("slapd.conf"), config(&dir)).expect("slapd.conf");
    let mut slapadd = Command::new(SLAPADD)
        .arg("-q")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run slapadd");
    slapadd.stdin.take().expect("stdin").write_all(seed().as_bytes()).expect("write the seed");
    let added = slapadd.wait_with_output().expect("slapadd");
    assert!(added.status.success(), "slapadd failed: {}", String::from_utf8_lossy(&added.stderr));

    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
    let url = format!("ldap://127.0.0.1:{port}");
    // slapd in the foreground (-d 0) under a shell that stops it, and removes its files, when
    // this process has exited.
    let script = format!(
        "{SLAPD} -d 0 -f '{dir}/slapd.conf' -h '{url}/' >'{dir}/slapd.log' 2>&1 & pid=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done; \
         kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '{dir}'",
        dir = dir.display(),
        parent = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slapd");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "slapd did not listen on {url}: {}",
            std::fs::read_to_string(dir.join("slapd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Directory { url, _watchdog: watchdog }
}

pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PASSWORD: &str = "root-secret-17";

/// Run an `ldap-utils` tool as the root DN against the running server, `input` on stdin.
fn as_root(tool: &str, extra: &[&str], input: &str) {
    let url = &directory().url;
    let mut child = Command::new(tool)
        .args(["-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PASSWORD])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write the input");
    let done = child.wait_with_output().expect(tool);
    assert!(done.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&done.stderr));
}

/// A branch of the directory of its own, `ou=NAME` under the suffix: tests that change
/// entries work there, away from `ou=people` and from each other. Returns its DN.
pub fn branch() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ou = format!("sync{n}");
    as_root("ldapadd", &[], &format!("dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n"));
    format!("ou={ou},{SUFFIX}")
}

/// `uid=p{n}` under `branch`, `p{n}@sync.example.org`.
pub fn member_dn(branch: &str, n: usize) -> String {
    format!("uid=p{n},{branch}")
}

pub fn member_email(n: usize) -> String {
    format!("p{n}@sync.example.org")
}

/// Add people `range` under `branch`, named "Person {n}".
pub fn add_members(branch: &str, range: std::ops::Range<usize>) {
    let mut ldif = String::new();
    for n in range {
        ldif.push_str(&format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: p{n}\ncn: Person {n}\nsn: {n}\nmail: {}\nuserPassword: {}\n\n",
            member_dn(branch, n),
            member_email(n),
            person_password(n)
        ));
    }
    as_root("ldapadd", &[], &ldif);
}

pub fn rename_member(branch: &str, n: usize, cn: &str) {
    as_root("ldapmodify", &[], &format!("dn: {}\nchangetype: modify\nreplace: cn\ncn: {cn}\n", member_dn(branch, n)));
}

pub fn delete_member(branch: &str, n: usize) {
    as_root("ldapdelete", &[], &format!("{}\n", member_dn(branch, n)));
}
