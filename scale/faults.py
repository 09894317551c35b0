#!/usr/bin/env python3
"""Drive a local orgportal cluster (scale/cluster.sh) through faults and count what was lost.

Standard library only. Run by scale/faults.sh, which builds the binary when needed and always
takes the cluster down; this script starts an SMTP sink, brings the cluster up pointed at it,
and then, through HAProxy and directly against single instances:

1. load: several signed-in threads add organizations, edit them and read the list for
   FAULTS_DURATION seconds while one instance is killed with SIGKILL and restarted, and the
   replica is stopped and started; afterwards every acknowledged add and edit (303) is looked
   up on the primary;
2. a session cookie from one instance is used on the two others;
3. two platform administrators approve one removal at the same instant on two instances;
4. wrong passwords spread over the three instances lock the account after the same number of
   failures as on one;
5. 1,000 invitation emails are queued while the three workers deliver them to the sink, and
   one instance is killed mid-delivery; the sink's Message-IDs are compared with the outbox.

The last line is `lost: N`; the exit status is 1 when anything was lost or a check failed.
"""

import collections
import datetime
import http.client
import os
import random
import re
import secrets
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "cluster.sh")

DURATION = float(os.environ.get("FAULTS_DURATION", "75"))
THREADS = int(os.environ.get("FAULTS_THREADS", "6"))
EMAILS = int(os.environ.get("FAULTS_EMAILS", "1000"))
PORT_BASE = int(os.environ.get("CLUSTER_PORT_BASE", "18500"))
SMTP_PORT = int(os.environ.get("FAULTS_SMTP_PORT", str(PORT_BASE + 30)))
# Seconds the sink takes to accept each message (a slower sink widens the kill's window).
SMTP_DELAY = float(os.environ.get("FAULTS_SMTP_DELAY", "0"))
# A killed worker's claim runs out after a minute (src/mail/worker.rs LEASE); the test waits
# for the other instances to take those messages over, and reports how many and how long.
INSTANCES = 3
RUN = secrets.token_hex(3)
LOAD_ADMIN = f"load-{RUN}@faults.example"
# cluster.sh reads these; every call below shares them.
os.environ["CLUSTER_PORT_BASE"] = str(PORT_BASE)
os.environ.setdefault("CLUSTER_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), f"orgportal-faults-{os.getpid()}"))

T0 = time.monotonic()


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S")


def log(message):
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# The SMTP sink: accepts everything, records each message's Message-ID.


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # (monotonic time, message id)

    def record(self, message_id):
        with self.lock:
            self.received.append((time.monotonic(), message_id))

    def count(self):
        with self.lock:
            return len(self.received)

    def ids(self):
        with self.lock:
            return [m for _, m in self.received]


SINK = Sink()
MESSAGE_ID = re.compile(rb"^message-id:\s*(<[^>]*>)", re.IGNORECASE | re.MULTILINE)


class SmtpHandler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        # Small replies at once: Nagle's algorithm against the client's delayed ACK would add
        # 40 ms to every message.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        try:
            self.reply("220 faults-sink ESMTP")
            while True:
                line = self.rfile.readline(65536)
                if not line:
                    return
                verb = line.strip().split(b" ", 1)[0].upper()
                if verb == b"EHLO":
                    self.reply("250-faults-sink\r\n250 8BITMIME")
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    self.reply("250 OK")
                elif verb == b"DATA":
                    self.reply("354 end with .")
                    self.read_data()
                elif verb == b"QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")
        except (ConnectionError, OSError):
            return

    def read_data(self):
        lines = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                raise ConnectionError("closed inside DATA")
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        data = b"".join(lines)
        header = data.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(header)
        message_id = found.group(1).decode(errors="replace") if found else "(none)"
        time.sleep(SMTP_DELAY)
        # Counted as delivered once the 250 is on its way: from here the sender may be told.
        SINK.record(message_id)
        self.reply("250 queued")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------------------------------------
# An HTTP client with a cookie jar, one connection per request.

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ORG_ROW = re.compile(r'<tr data-org-id="(\d+)">\s*<td class="select">.*?</td>\s*<td class="name">([^<]*)</td>', re.S)


class Client:
    def __init__(self, port, forwarded_for=None):
        self.port = port
        self.cookies = {}
        self.csrf = None
        self.forwarded_for = forwarded_for

    def request(self, method, path, form=None, timeout=20):
        headers = {"Connection": "close", "User-Agent": "faults.py"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        body = None
        if form is not None:
            if self.csrf and "csrf_token" not in form:
                form = dict(form, csrf_token=self.csrf)
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    if "max-age=0" in value.lower() or not val:
                        self.cookies.pop(key.strip(), None)
                    else:
                        self.cookies[key.strip()] = val.strip()
            return response.status, response.getheader("Location", ""), text
        finally:
            conn.close()

    def sign_in(self, email, password):
        """True when signed in; the CSRF token of the new session is kept."""
        status, _, page = self.request("GET", "/login")
        token = CSRF.search(page)
        if status != 200 or not token:
            return False
        status, location, _ = self.request(
            "POST", "/login", {"csrf_token": token.group(1), "email": email, "password": password, "next": "/"}
        )
        if status != 303 or location.startswith("/login"):
            return False
        status, _, page = self.request("GET", "/admin/organizations/new")
        token = CSRF.search(page)
        if status != 200 or not token:
            return False
        self.csrf = token.group(1)
        return True


# ---------------------------------------------------------------------------------------------
# The cluster and the database.


def cluster(*args, env=None, stdin=None, check=True):
    result = subprocess.run(
        [CLUSTER, *args], env=env, input=stdin, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed:\n{result.stdout}")
    return result.stdout


def sql(query):
    """Rows of a query on the primary, each a list of strings."""
    out = subprocess.run(
        ["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(PORT_BASE + 21),
         "-U", "postgres", "-d", "orgportal", "-c", query],
        check=True, text=True, stdout=subprocess.PIPE,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def sql_value(query):
    rows = sql(query)
    return rows[0][0] if rows else None


# ---------------------------------------------------------------------------------------------
# Recording requests.


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = collections.Counter()
        self.acked = collections.Counter()
        self.failed = collections.Counter()  # (kind, reason)
        self.adds_acked = {}  # name -> thread
        self.adds_unacked = set()
        # org id -> list of (quota, acked) in the order one thread sent them
        self.edits = collections.defaultdict(list)
        self.read_own_write_missed = 0

    def outcome(self, kind, ok, reason=None):
        with self.lock:
            self.sent[kind] += 1
            if ok:
                self.acked[kind] += 1
            else:
                self.failed[(kind, reason)] += 1


LEDGER = Ledger()


def attempt(kind, fn, expect):
    """Send one request, record it; the response, or None when it failed."""
    try:
        status, location, page = fn()
    except (OSError, http.client.HTTPException) as e:
        LEDGER.outcome(kind, False, f"connection: {type(e).__name__}")
        return None
    if status == expect and not (status == 303 and location.startswith("/login")):
        LEDGER.outcome(kind, True)
        return status, location, page
    reason = f"HTTP {status}" + (" to /login" if location.startswith("/login") else "")
    LEDGER.outcome(kind, False, reason)
    return None


def load_thread(index, deadline, password, errors):
    client = Client(PORT_BASE)
    for _ in range(30):
        try:
            if client.sign_in(LOAD_ADMIN, password):
                break
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    else:
        errors.append(f"load thread {index} could not sign in")
        return
    mine = {}  # id -> name of the organizations this thread added and saw listed
    seq = 0
    rng = random.Random(index)
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.4 or not mine:
            seq += 1
            name = f"faults-{RUN}-t{index}-{seq:05d}"
            form = {"name": name, "quota_gb": "100", "seats": "", "admin_email": f"f{RUN}-t{index}-{seq:05d}@faults.example"}
            got = attempt("add", lambda: client.request("POST", "/admin/organizations", form), 303)
            if got is None:
                with LEDGER.lock:
                    LEDGER.adds_unacked.add(name)
                continue
            with LEDGER.lock:
                LEDGER.adds_acked[name] = index
            # The page after one's own change must show it (read from the primary).
            page = attempt("read after add", lambda: client.request("GET", got[1]), 200)
            if page is not None:
                ids = [int(i) for i, n in ORG_ROW.findall(page[2]) if n == name]
                if ids:
                    mine[ids[0]] = name
                else:
                    with LEDGER.lock:
                        LEDGER.read_own_write_missed += 1
        elif roll < 0.7:
            org_id = rng.choice(list(mine))
            seq += 1
            quota = index * 10_000 + seq  # unique per thread and step, within 0..1,000,000
            # The name is posted back unchanged; the quota tells the edits apart.
            form = {"name": mine[org_id], "quota_gb": str(quota), "seats": ""}
            got = attempt("edit", lambda: client.request("POST", f"/admin/organizations/{org_id}/edit", form), 303)
            with LEDGER.lock:
                LEDGER.edits[org_id].append((quota, got is not None))
        else:
            query = rng.choice(["", "?sort=name", "?sort=created&dir=desc", "?per_page=50", f"?q=t{index}-"])
            attempt("list", lambda: client.request("GET", "/admin/organizations" + query), 200)


# ---------------------------------------------------------------------------------------------


def main():
    failures = []
    smtp = SmtpServer(("127.0.0.1", SMTP_PORT), SmtpHandler)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    log(f"SMTP sink on 127.0.0.1:{SMTP_PORT} (delay {SMTP_DELAY * 1000:.0f} ms a message)")

    env = dict(os.environ)
    env["CLUSTER_SMTP_URL"] = f"smtp://127.0.0.1:{SMTP_PORT}?tls=none"
    # The load signs in with a password only; see the README.
    env["CLUSTER_REQUIRE_ADMIN_2FA"] = "false"
    env.setdefault("RUST_LOG", "info,actix_web::middleware::logger=warn")
    started = time.monotonic()
    print(cluster("up", env=env), flush=True)
    log(f"cluster up in {time.monotonic() - started:.1f}s")
    # admin@default.com is a Delegate of Default, whose members need a second factor; the
    # load signs in as platform administrators of no organization, with a password only.
    password = "faults-" + secrets.token_urlsafe(18)
    add_admin(LOAD_ADMIN, password, env)

    report = {}
    report["load"] = run_load(password, failures)
    report["cookie"] = check_cookie(password, failures)
    report["removal"] = check_removal(password, env, failures)
    report["lockout"] = check_lockout(env, failures)
    report["emails"] = check_emails(password, failures)
    report["servers"] = scan_servers(failures)
    lost = report["load"]["lost"] + report["emails"]["lost"]
    print_report(report, failures, lost)
    smtp.shutdown()
    return 1 if lost or failures else 0


def run_load(password, failures):
    log(f"load: {THREADS} threads for {DURATION:.0f}s through HAProxy on :{PORT_BASE}")
    deadline = time.monotonic() + DURATION
    errors = []
    threads = [threading.Thread(target=load_thread, args=(i + 1, deadline, password, errors)) for i in range(THREADS)]
    for t in threads:
        t.start()
    faults = []
    load_start = time.monotonic()

    def at(offset):
        time.sleep(max(0.0, load_start + offset - time.monotonic()))

    def fault(what, *args):
        out = cluster(*args).strip()
        faults.append((f"+{time.monotonic() - load_start:5.1f}s", now_utc(), what))
        log(f"fault: {what}: {out}")

    at(DURATION * 0.2)
    fault("instance 2 killed (SIGKILL)", "kill-instance", "2")
    at(DURATION * 0.2 + 5)
    fault("instance 2 restarted (ready)", "start-instance", "2")
    at(DURATION * 0.5)
    fault("replica stopped", "stop-replica")
    at(DURATION * 0.5 + 10)
    fault("replica started", "start-replica")
    for t in threads:
        t.join()
    failures.extend(errors)
    log("load: done; checking every acknowledged write on the primary")

    names = {row[0] for row in sql(f"SELECT name FROM organizations WHERE name LIKE 'faults-{RUN}-%'")}
    lost_adds = sorted(n for n in LEDGER.adds_acked if n not in names)
    applied_unacked = len([n for n in LEDGER.adds_unacked if n in names])
    quotas = {int(i): int(q) for i, q in sql(f"SELECT id, quota_gb FROM organizations WHERE name LIKE 'faults-{RUN}-%'")}
    lost_edits = []
    edits_acked = 0
    for org_id, edits in LEDGER.edits.items():
        acked = [i for i, (_, ok) in enumerate(edits) if ok]
        edits_acked += len(acked)
        if not acked:
            continue
        # The stored quota is the last acknowledged edit's, or one sent after it whose answer
        # was lost: never an older one, never missing.
        allowed = {q for q, _ in edits[acked[-1]:]}
        if quotas.get(org_id) not in allowed:
            lost_edits.append((org_id, quotas.get(org_id), edits[acked[-1]][0]))

    replication = wait_replica_caught_up()
    proxy = haproxy_counters()
    backends = haproxy_backends()
    if any(state != "UP" for state in backends.values()):
        failures.append(f"HAProxy backends after the load: {backends}")
    return {
        "faults": faults,
        "lost_adds": lost_adds,
        "lost_edits": lost_edits,
        "adds_acked": len(LEDGER.adds_acked),
        "edits_acked": edits_acked,
        "applied_unacked": applied_unacked,
        "unacked_adds": len(LEDGER.adds_unacked),
        "replication": replication,
        "backends": backends,
        "proxy": proxy,
        "lost": len(lost_adds) + len(lost_edits),
    }


def wait_replica_caught_up():
    """The replica streams again and has replayed everything the primary wrote."""
    target = sql_value("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = sql(f"SELECT state, pg_wal_lsn_diff('{target}', replay_lsn) FROM pg_stat_replication")
        if rows and rows[0][0] == "streaming" and rows[0][1] not in ("", None) and float(rows[0][1]) <= 0:
            return f"streaming, replayed up to the primary ({time.monotonic() - T0:.0f}s into the run)"
        time.sleep(0.5)
    return f"NOT caught up: {sql('SELECT state, sent_lsn, replay_lsn FROM pg_stat_replication')}"


def haproxy_stats():
    """HAProxy's rows of the backend, by server name, as dicts of its CSV columns."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT_BASE + 9, timeout=5)
    try:
        conn.request("GET", "/;csv")
        lines = conn.getresponse().read().decode().splitlines()
    finally:
        conn.close()
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "instances":
            rows[row["svname"]] = row
    return rows


def haproxy_backends():
    return {name: row["status"] for name, row in haproxy_stats().items() if name != "BACKEND"}


def haproxy_counters():
    """What HAProxy saw of the faults: connection errors, retries, redispatches, 5xx answers."""
    row = haproxy_stats().get("BACKEND", {})
    return {key: row.get(key, "?") for key in ("econ", "eresp", "wretr", "wredis", "hrsp_5xx")}


def check_cookie(password, failures):
    """Sign in on instance 1 directly; the same cookie on instances 2 and 3."""
    one = Client(PORT_BASE + 1)
    if not one.sign_in(LOAD_ADMIN, password):
        failures.append("cookie: could not sign in on instance 1")
        return {"ok": False, "detail": "sign-in on instance 1 failed"}
    results = []
    for n in (2, 3):
        other = Client(PORT_BASE + n)
        other.cookies = dict(one.cookies)
        other.csrf = one.csrf
        status, location, page = other.request("GET", "/admin/organizations")
        read_ok = status == 200 and "data-org-id" in page
        name = f"faults-{RUN}-cookie-{n}"
        form = {"name": name, "quota_gb": "1", "seats": "", "admin_email": f"cookie{n}-{RUN}@faults.example"}
        status_post, location_post, _ = other.request("POST", "/admin/organizations", form)
        write_ok = status_post == 303 and not location_post.startswith("/login")
        stored = sql_value(f"SELECT count(*) FROM organizations WHERE name = '{name}'") == "1"
        results.append(f"instance {n}: GET {status}, POST {status_post}, stored {stored}")
        if not (read_ok and write_ok and stored):
            failures.append(f"cookie from instance 1 refused on instance {n}: GET {status} {location}, POST {status_post}")
    ok = all("stored True" in r and "GET 200" in r and "POST 303" in r for r in results)
    log(f"cookie: {'; '.join(results)}")
    return {"ok": ok, "detail": "; ".join(results)}


def add_admin(email, password, env):
    cluster("run", "admin", "add", email, stdin=password + "\n")


def check_removal(password, env, failures):
    """Two administrators approve one removal at the same instant on two instances."""
    admins = {}
    for who in ("approver-b", "approver-c"):
        email = f"{who}-{RUN}@faults.example"
        admins[who] = (email, "faults-" + secrets.token_urlsafe(18))
        add_admin(email, admins[who][1], env)
    initiator = Client(PORT_BASE)
    if not initiator.sign_in(LOAD_ADMIN, password):
        failures.append("removal: the initiator could not sign in")
        return {"ok": False, "detail": "initiator sign-in failed"}
    name = f"faults-{RUN}-removal"
    form = {"name": name, "quota_gb": "5", "seats": "", "admin_email": f"removal-{RUN}@faults.example"}
    status, _, _ = initiator.request("POST", "/admin/organizations", form)
    org_id = sql_value(f"SELECT id FROM organizations WHERE name = '{name}'")
    if status != 303 or org_id is None:
        failures.append(f"removal: adding the organization answered {status}")
        return {"ok": False, "detail": "add failed"}
    # Without notify_contact the request is actionable at once (no countdown to wait out).
    status, _, _ = initiator.request("POST", f"/admin/organizations/{org_id}/removal", {})
    if status != 303:
        failures.append(f"removal: initiating answered {status}")
        return {"ok": False, "detail": f"initiate answered {status}"}
    approvers = []
    for who, n in (("approver-b", 2), ("approver-c", 3)):
        client = Client(PORT_BASE + n)
        if not client.sign_in(*admins[who]):
            failures.append(f"removal: {who} could not sign in on instance {n}")
            return {"ok": False, "detail": "approver sign-in failed"}
        _, _, page = client.request("GET", f"/admin/organizations/{org_id}/removal")
        if "removal/approve" not in page:
            failures.append(f"removal: {who} is not offered Approve")
        approvers.append((who, n, client))
    barrier = threading.Barrier(len(approvers))
    answers = {}

    def approve(who, n, client):
        barrier.wait()
        started = time.monotonic()
        status, location, page = client.request(
            "POST", f"/admin/organizations/{org_id}/removal/approve", {"password": admins[who][1]}
        )
        answers[who] = (n, status, location, time.monotonic() - started)

    threads = [threading.Thread(target=approve, args=a) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    remaining = sql_value(f"SELECT count(*) FROM organizations WHERE id = {org_id}")
    removed_events = sql_value(
        f"SELECT count(*) FROM audit_events WHERE action = 'organization.removed' AND organization_name = '{name}'"
    )
    winners = [w for w, (_, s, loc, _) in answers.items() if s == 303 and loc == "/admin/organizations"]
    detail = "; ".join(f"{w} on instance {n}: HTTP {s}" + (f" → {loc}" if loc else "") for w, (n, s, loc, _) in sorted(answers.items()))
    ok = remaining == "0" and removed_events == "1" and len(winners) == 1
    detail += f"; organization rows left {remaining}, 'organization.removed' events {removed_events}"
    if not ok:
        failures.append(f"removal not exactly once: {detail}")
    log(f"removal: {detail}")
    return {"ok": ok, "detail": detail}


def check_lockout(env, failures):
    """Wrong passwords spread over three instances lock after as many failures as on one."""
    email = f"lockout-{RUN}@faults.example"
    right = "faults-" + secrets.token_urlsafe(18)
    add_admin(email, right, env)
    account = sql_value(f"SELECT id FROM accounts WHERE email = '{email}'")
    client_addr = "198.51.100.77"  # one client, believed through ORGPORTAL_TRUSTED_PROXIES
    threshold = 10  # src/auth/lockout.rs MAX_FAILURES
    steps = []
    locked_at = None
    for i in range(1, threshold + 1):
        n = (i - 1) % INSTANCES + 1
        client = Client(PORT_BASE + n, forwarded_for=client_addr)
        ok = client.sign_in(email, "wrong-" + secrets.token_urlsafe(12))
        row = sql(
            f"SELECT failures, locked_until IS NOT NULL FROM sign_in_failures "
            f"WHERE account_id = {account} AND client_addr = '{client_addr}'"
        )
        failures_now, locked = (int(row[0][0]), row[0][1] == "t") if row else (0, False)
        steps.append((n, failures_now, locked))
        if ok:
            failures.append("lockout: a wrong password signed in")
        if locked and locked_at is None:
            locked_at = i
    # Locked now: the right password is refused on every instance, for this client only.
    refused = []
    for n in range(1, INSTANCES + 1):
        client = Client(PORT_BASE + n, forwarded_for=client_addr)
        refused.append(not client.sign_in(email, right))
    other_client = Client(PORT_BASE + 1, forwarded_for="198.51.100.78").sign_in(email, right)
    counts = [f for _, f, _ in steps]
    ok = locked_at == threshold and counts == list(range(1, threshold + 1)) and all(refused) and other_client
    detail = (
        f"failures counted {counts} over instances {[n for n, _, _ in steps]}; locked at failure {locked_at} "
        f"(threshold {threshold}); right password then refused on instances 1-3: {refused}; "
        f"another client address signs in: {other_client}"
    )
    if not ok:
        failures.append(f"lockout: {detail}")
    log(f"lockout: {detail}")
    return {"ok": ok, "detail": detail}


def check_emails(password, failures):
    """1,000 invitations queued while three workers deliver; one instance killed mid-way."""
    # The load's own emails first, so this phase's kill lands among this phase's messages.
    started = time.monotonic()
    while time.monotonic() - started < 120:
        if int(sql_value("SELECT count(*) FROM outbox WHERE status = 'queued'")) == 0:
            break
        time.sleep(0.5)
    log(f"emails: the load's backlog delivered in {time.monotonic() - started:.1f}s")
    first_id = int(sql_value("SELECT coalesce(max(id), 0) FROM outbox")) + 1
    log(f"emails: queueing {EMAILS} invitations (outbox ids from {first_id}) through HAProxy")
    created = [0]
    lock = threading.Lock()

    def adder(index):
        client = Client(PORT_BASE)
        for _ in range(30):
            try:
                if client.sign_in(LOAD_ADMIN, password):
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.5)
        seq = 0
        while time.monotonic() < give_up:
            with lock:
                if created[0] >= EMAILS:
                    return
                created[0] += 1
            seq += 1
            form = {"name": f"faults-{RUN}-mail-{index}-{seq:05d}", "quota_gb": "1", "seats": "",
                    "admin_email": f"mail-{RUN}-{index}-{seq:05d}@faults.example"}
            try:
                status, location, _ = client.request("POST", "/admin/organizations", form)
            except (OSError, http.client.HTTPException):
                status, location = None, ""
            if status != 303 or location.startswith("/login"):
                with lock:
                    created[0] -= 1  # try again: the count is checked in the outbox below
            # (an add whose answer was lost may still have queued its invitation)

    give_up = time.monotonic() + 90
    threads = [threading.Thread(target=adder, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    # Kill one instance once the workers are busy delivering this phase's messages.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sent = int(sql_value(f"SELECT count(*) FROM outbox WHERE id >= {first_id} AND status = 'sent'"))
        if sent >= EMAILS * 0.3:
            break
        time.sleep(0.2)
    sending_before_kill = sql_value("SELECT count(*) FROM outbox WHERE status = 'sending'")
    cluster("kill-instance", "1")
    killed_at = (now_utc(), int(sql_value(f"SELECT count(*) FROM outbox WHERE id >= {first_id} AND status = 'sent'")))
    log(f"emails: instance 1 killed (SIGKILL) with {killed_at[1]} delivered in this phase, "
        f"{sending_before_kill} claimed just before")
    time.sleep(2)
    cluster("start-instance", "1")
    log("emails: instance 1 restarted")
    for t in threads:
        t.join()
    queued_total = int(sql_value(f"SELECT count(*) FROM outbox WHERE id >= {first_id} AND kind = 'invitation'") or 0)
    phase_total = int(sql_value(f"SELECT count(*) FROM outbox WHERE id >= {first_id}"))
    log(f"emails: {phase_total} messages queued in this phase ({queued_total} of kind 'invitation')")

    held_by_killed = 0
    held_since = None
    waited_for_claims = 0.0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        rows = dict(sql("SELECT status, count(*) FROM outbox WHERE status IN ('queued', 'sending') GROUP BY status"))
        queued, sending = int(rows.get("queued", 0)), int(rows.get("sending", 0))
        if queued == 0 and sending == 0:
            break
        # Nothing queued but messages still held: the killed worker's claims, which the other
        # instances take over once they run out.
        if queued == 0 and held_since is None:
            held_since, held_by_killed = time.monotonic(), sending
            log(f"emails: {sending} messages still claimed by the killed worker; waiting for the claim to run out")
        time.sleep(0.5)
    if held_since is not None:
        waited_for_claims = time.monotonic() - held_since
    time.sleep(1)  # the sink may still be answering the last 250

    statuses = dict(sql("SELECT status, count(*) FROM outbox GROUP BY status"))
    sent_rows = sql("SELECT message_id, attempts FROM outbox WHERE status = 'sent'")
    attempts = {m: int(a) for m, a in sent_rows}
    at_sink = collections.Counter(SINK.ids())
    phase_ids = {m for (m,) in sql(f"SELECT message_id FROM outbox WHERE id >= {first_id}")}
    not_delivered = [m for m in attempts if m not in at_sink]
    unsettled = sum(int(statuses.get(s, 0)) for s in ("queued", "sending", "failed"))
    duplicates = {m: c for m, c in at_sink.items() if c > 1}
    outside_window = [m for m in duplicates if attempts.get(m, 1) < 2]
    unknown = [m for m in at_sink if m not in attempts]
    phase_delivered = len([m for m in phase_ids if m in at_sink])
    lost = len(not_delivered) + unsettled
    if lost:
        failures.append(f"emails: {len(not_delivered)} marked sent but never at the sink, {unsettled} not sent")
    if outside_window:
        failures.append(f"emails: {len(outside_window)} delivered twice after a single attempt: {outside_window[:5]}")
    if unknown:
        failures.append(f"emails: {len(unknown)} at the sink are not sent in the outbox: {unknown[:5]}")
    if phase_total < EMAILS:
        failures.append(f"emails: only {phase_total} queued in the phase")
    result = {
        "phase_queued": phase_total,
        "phase_delivered": phase_delivered,
        "outbox": statuses,
        "sink_total": sum(at_sink.values()),
        "sink_distinct": len(at_sink),
        "duplicates": sum(c - 1 for c in duplicates.values()),
        "duplicate_ids": len(duplicates),
        "outside_window": len(outside_window),
        "killed": killed_at,
        "held_by_killed": held_by_killed,
        "waited_for_claims": round(waited_for_claims, 1),
        "lost": lost,
    }
    log(f"emails: {result}")
    return result


def scan_servers(failures):
    """What the instances said: errors and replica warnings in their logs, 5xx in their metrics."""
    logs = os.path.join(os.environ["CLUSTER_DIR"], "logs")
    errors, panics, replica_warnings = [], 0, []
    for n in range(1, INSTANCES + 1):
        with open(os.path.join(logs, f"instance{n}.log"), errors="replace") as f:
            for line in f:
                if "panicked" in line:
                    panics += 1
                if " ERROR " in line or line.startswith("[ERROR") or "ERROR " in line[:40]:
                    errors.append(f"instance {n}: {line.strip()}")
                if "replica" in line.lower() and "WARN" in line:
                    replica_warnings.append(f"instance {n}: {line.strip()}")
    server_errors = 0
    for n in range(1, INSTANCES + 1):
        conn = http.client.HTTPConnection("127.0.0.1", PORT_BASE + 10 + n, timeout=5)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        for line in text.splitlines():
            m = re.match(r'orgportal_http_requests_total\{[^}]*status="5\d\d"[^}]*\} (\d+)', line)
            if m:
                server_errors += int(m.group(1))
    if panics:
        failures.append(f"{panics} panics in the instance logs")
    if server_errors:
        failures.append(f"{server_errors} answers with status 5xx counted by the instances (since their last start)")
    keep = os.environ.get("FAULTS_KEEP_LOGS")
    if keep:
        import shutil
        shutil.copytree(logs, keep, dirs_exist_ok=True)
    return {"errors": errors, "panics": panics, "replica_warnings": replica_warnings, "server_5xx": server_errors}


def print_report(report, failures, lost):
    load = report["load"]
    print()
    print("=" * 72)
    print(f"orgportal under faults, run {RUN}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"load: {THREADS} threads, {DURATION:.0f}s, through HAProxy")
    for offset, clock, what in load["faults"]:
        print(f"  fault at {offset} ({clock} UTC): {what}")
    total_sent = sum(LEDGER.sent.values())
    total_acked = sum(LEDGER.acked.values())
    print(f"requests sent {total_sent}, acknowledged {total_acked}, failed {sum(LEDGER.failed.values())}")
    for kind in sorted(LEDGER.sent):
        print(f"  {kind:15} sent {LEDGER.sent[kind]:6}  acknowledged {LEDGER.acked[kind]:6}")
    for (kind, reason), count in sorted(LEDGER.failed.items()):
        print(f"  failed: {kind:15} {reason:32} {count}")
    print(f"adds acknowledged {load['adds_acked']}, missing {len(load['lost_adds'])}; "
          f"adds not acknowledged {load['unacked_adds']}, of which stored anyway {load['applied_unacked']}")
    print(f"edits acknowledged {load['edits_acked']}, missing or overwritten by an older one {len(load['lost_edits'])}")
    print(f"pages after one's own add that did not show it: {LEDGER.read_own_write_missed}")
    print(f"replica after the load: {load['replication']}; HAProxy backends: {load['backends']}")
    print(f"HAProxy during the load: {load['proxy']} (econ: connections refused, eresp: answers lost, "
          f"wretr/wredis: retried/redispatched, hrsp_5xx: 5xx answers)")
    print(f"session cookie across instances: {'ok' if report['cookie']['ok'] else 'FAILED'}: {report['cookie']['detail']}")
    print(f"removal approved twice at once: {'ok' if report['removal']['ok'] else 'FAILED'}: {report['removal']['detail']}")
    print(f"lockout across instances: {'ok' if report['lockout']['ok'] else 'FAILED'}: {report['lockout']['detail']}")
    e = report["emails"]
    print(f"emails: {e['phase_queued']} queued in the email phase, instance 1 killed at {e['killed'][0]} UTC "
          f"after {e['killed'][1]} of them; delivered {e['phase_delivered']} of them")
    print(f"  whole run: outbox {e['outbox']}; at the sink {e['sink_total']} messages, {e['sink_distinct']} distinct "
          f"Message-IDs, {e['duplicates']} duplicates ({e['outside_window']} outside DESIGN's window)")
    print(f"  claimed by the killed worker when the rest was sent: {e['held_by_killed']}, taken over by the others "
          f"after {e['waited_for_claims']} s (claims last 60 s)")
    servers = report["servers"]
    print(f"instances: {servers['server_5xx']} answers 5xx (metrics since each one's last start), "
          f"{len(servers['errors'])} ERROR lines, {servers['panics']} panics, "
          f"{len(servers['replica_warnings'])} replica warnings in the logs")
    for line in servers["replica_warnings"][:4] + servers["errors"][:6]:
        print(f"  {line[:200]}")
    for line in failures:
        print(f"CHECK FAILED: {line}")
    for name in load["lost_adds"][:10]:
        print(f"LOST add: {name}")
    for org_id, stored, expected in load["lost_edits"][:10]:
        print(f"LOST edit: organization {org_id} holds quota {stored}, acknowledged {expected}")
    print(f"lost: {lost}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # the run could not finish: say so in the place of the count
        import traceback

        traceback.print_exc()
        print("CHECK FAILED: the run stopped early")
        print("lost: unknown")
        sys.exit(2)
