#!/usr/bin/env python3
"""Does the sign-in answer take the same time for a wrong password, an unknown email and a
locked pair? Times N attempts of each kind, interleaved, against a running release server.

    bench/sign_in_timing.py BASE_URL EMAIL PASSWORD [N]

The server must trust 127.0.0.1 as a proxy (ORGPORTAL_TRUSTED_PROXIES=127.0.0.1), so each
attempt can name its own client address in X-Forwarded-For and stay under the per-address
rate limit. The static stylesheet is timed in the same run as the machine's yardstick.
"""
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, email, password = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 60


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def attempt(address, login_email, login_password):
    """One sign-in from a fresh browser; returns (status, seconds for the POST alone)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": login_email, "password": login_password}).encode()
    request = urllib.request.Request(base + "/login", data=body, headers={"X-Forwarded-For": address})
    started = time.perf_counter()
    try:
        status = opener.open(request).status
    except urllib.error.HTTPError as answer:
        status = answer.code
    return status, time.perf_counter() - started


def static():
    started = time.perf_counter()
    urllib.request.urlopen(base + "/static/style.css").read()
    return 0, time.perf_counter() - started


# Lock ten pairs (email, 198.51.100.200–209) first, ten wrong passwords each. Taking them in
# turn keeps each address under one attempt a second, so no answer is a 429.
locked_addresses = [f"198.51.100.{200 + k}" for k in range(10)]
for address in locked_addresses:
    for _ in range(10):
        attempt(address, email, "not-the-password-at-all")

cases = {
    "wrong password": lambda i: attempt(f"203.0.113.{i % 250 + 1}", email, "not-the-password-at-all"),
    "unknown email": lambda i: attempt(f"192.0.2.{i % 250 + 1}", f"nobody{i}@example.com", "not-the-password-at-all"),
    "locked pair (right password)": lambda i: attempt(locked_addresses[i % 10], email, password),
    "static stylesheet": lambda i: static(),
}
timings = {name: [] for name in cases}
statuses = {name: set() for name in cases}
for i in range(n):
    for name, run in cases.items():
        status, seconds = run(i)
        timings[name].append(seconds * 1000)
        statuses[name].add(status)

yardstick = statistics.median(timings["static stylesheet"])
print(f"{'case':<30} {'statuses':<10} {'median ms':>10} {'p90 ms':>8} {'x static':>9}")
for name, values in timings.items():
    values.sort()
    median = statistics.median(values)
    p90 = values[int(len(values) * 0.9) - 1]
    print(f"{name:<30} {','.join(map(str, sorted(statuses[name]))):<10} {median:>10.2f} {p90:>8.2f} {median / yardstick:>9.1f}")
