#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The driver of tests/bench/protected.sh, run under tests/lib/httpd-run
(itself under run-with-services) with the locations that script writes:
/bench/a (open), /bench/b (AuthType CSAM), /bench/c (mod_auth_form with
mod_session_crypto), all serving one static file (hard links of it), and
(d): /bench/b on the virtual host nocache.bench (CSAMSessionCacheTTL 0).

It checks that each location answers as it must (200 and the file's bytes
with its credential, 401 or a redirect without), measures the four with
wrk interleaved, checks in the access log that every measured answer was a
200 for the right user, prints the wrk lines, the median requests/s, the
CPU time the servers spent per request and the ratios, then counts
database statements through PostgreSQL's own log.
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "httpd"))
import csamtest as t  # noqa: E402
import protected_cpu  # noqa: E402
from protected_db import StatementLog  # noqa: E402

# Short runs, many rounds: neighbours in time share the machine's other
# load, so the per-round ratios stay meaningful when the rates move.
DURATION = int(os.environ.get("CSAM_BENCH_DURATION", "2"))
ROUNDS = int(os.environ.get("CSAM_BENCH_ROUNDS", "10"))
# DESIGN 5: wrk with as many connections as a busy portal, 32, on this
# machine's cores (2 threads).
THREADS = int(os.environ.get("CSAM_BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("CSAM_BENCH_CONNECTIONS", "32"))
PROFILE = os.environ.get("CSAM_BENCH_PROFILE", "")
DB_REQUESTS = 200       # protected requests whose statements are counted
DB_LOGINS = 3           # logins whose statements are counted
if not 1 <= CONNECTIONS < 48:
    sys.exit("CSAM_BENCH_CONNECTIONS: 1 to 47 (each child has 48 threads)")
if not 1 <= THREADS <= CONNECTIONS:
    sys.exit("CSAM_BENCH_THREADS: 1 to CSAM_BENCH_CONNECTIONS")
PATHS = {"a": "/bench/a/index.html", "b": "/bench/b/index.html",
         "c": "/bench/c/index.html", "d": "/bench/b/index.html"}
HOSTS = {"d": "nocache.bench"}
NAMES = "abcd"
WHAT = {"a": "static file, unprotected",
        "b": "AuthType CSAM, csam_session cookie",
        "c": "mod_auth_form + mod_session_crypto, htpasswd %s"
        % os.environ.get("CSAM_BENCH_FORM_HASH", "-m"),
        "d": "AuthType CSAM, CSAMSessionCacheTTL 0 (no cache)"}

BASE = t.base_url()
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
ACCESS_LOG = os.path.join(CONF_DIR, "access_log")


class BenchFailure(Exception):
    pass


def need(cond, what, *detail):
    if not cond:
        raise BenchFailure(what + "".join(" | %r" % (d,) for d in detail))


def static_file():
    """A 2 KiB page, one file behind three paths (hard links)."""
    body = "<!doctype html><title>bench</title>\n<p>static page</p>\n"
    body += "".join("<p>line %04d %s</p>\n" % (i, "y" * 40)
                    for i in range(36))
    data = body.encode()
    root = os.path.join(CONF_DIR, "htdocs", "bench")
    first = None
    for name in "abc":
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        path = os.path.join(d, "index.html")
        if first is None:
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o644)
            first = path
        else:
            os.link(first, path)
    os.chmod(root, 0o755)
    return data


def get(path, cookie=None, accept=None, host=None):
    headers = {}
    if host:
        headers["Host"] = host
    if cookie:
        headers["Cookie"] = cookie
    if accept:
        headers["Accept"] = accept
    return t.request("GET", path, None, headers)


def check_open(data):
    status, _, body = get(PATHS["a"])
    need(status == 200 and body == data, "(a) does not serve the file",
         status, body[:200])


def check_protected(name, cookie, data):
    host = HOSTS.get(name)
    status, _, body = get(PATHS[name], cookie, host=host)
    need(status == 200, "(%s) refuses its valid credential" % name, status,
         body[:300])
    need(body == data, "(%s) answers 200 with another body" % name,
         body[:300])
    status, headers, body = get(PATHS[name], host=host)
    need(status == 401 or status in (302, 303),
         "(%s) without a credential must be refused" % name, status,
         body[:300])
    need(data not in body, "(%s) leaks the file without a credential"
         % name)
    return status


def form_login():
    """(c)'s session, from one POST of mod_auth_form's login form (curl)."""
    out = subprocess.run(
        ["curl", "-s", "-S", "-o", "/dev/null", "-D", "-",
         "--data-urlencode",
         "httpd_username=" + os.environ["CSAM_BENCH_FORM_USER"],
         "--data-urlencode",
         "httpd_password=" + os.environ["CSAM_BENCH_FORM_PASSWORD"],
         BASE + "/bench/form-login"],
        check=True, capture_output=True, text=True).stdout
    status = out.split("\r\n", 1)[0]
    need(re.match(r"HTTP/1\.1 30[23]", status) is not None,
         "mod_auth_form's login did not redirect", status)
    m = re.search(r"(?im)^set-cookie:\s*(session=[^;\r\n]+)", out)
    need(m is not None, "mod_auth_form's login set no session cookie", out)
    return m.group(1)


def make_citizen():
    """A citizen with an active e-mail key, through the activation API."""
    mbox = t.Mailbox()
    f = t.activate(mbox)
    body = t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                                 "code": f["code"]}), 200)
    need(body.get("status") == "active", "e-mail key not active", body)
    return mbox, f


def login_code(mbox, address):
    """The code of the next code mail for address, past the notices (key
    activated, ...) that carry none."""
    for _ in range(5):
        msg = mbox.wait(address)
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise BenchFailure("no code mail for %s" % address)


def csam_login(mbox, f, marks=None):
    """Log in through the JSON API; returns the csam_session cookie.
    marks, when given, is called with a step name before each step and
    "done" after the last (the statement counter's hooks)."""
    def mark(step):
        if marks is not None:
            marks(step)

    mark("login")
    r = t.api("login", {"username": f["username"], "password": t.PASSWORD})
    need(r.status == 200, "POST /csam/api/v1/login", r.status, r.body)
    login = r.body.get("login")
    need(isinstance(login, str) and "email" in r.body.get("key_types", []),
         "login answer", r.body)
    mark("challenge")
    r = t.api("login/challenge", {"login": login, "key_type": "email"})
    need(r.status == 202, "POST /csam/api/v1/login/challenge", r.status,
         r.body)
    code = login_code(mbox, f["reg"]["email"])
    mark("verify")
    r = t.api("login/verify", {"login": login, "code": code})
    mark("done")
    need(r.status == 200, "POST /csam/api/v1/login/verify", r.status, r.body)
    need(r.body.get("username") == f["username"], "verify answer", r.body)
    # One Set-Cookie per line; the session's is not always the first.
    m = re.search(r"(?:^|\n)\s*(csam_session=[^;\s]+)",
                  r.header("set-cookie") or "")
    need(m is not None, "verify set no csam_session cookie",
         r.header("set-cookie"))
    return m.group(1)


# ---------------------------------------------------------------- wrk

def wrk(name, cookie, duration):
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS,
           "-d%ds" % duration, "--latency", "--timeout", "10s"]
    if cookie:
        cmd += ["-H", "Cookie: " + cookie]
    if name in HOSTS:
        cmd += ["-H", "Host: " + HOSTS[name]]
    cmd.append(BASE + PATHS[name])
    before = os.path.getsize(ACCESS_LOG)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = protected_cpu.servers() + (ru0.ru_utime + ru0.ru_stime,)
    out = subprocess.run(cmd, check=True, capture_output=True,
                         text=True).stdout
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = protected_cpu.servers() + (ru1.ru_utime + ru1.ru_stime,)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    need(m is not None, "no Requests/sec in wrk's output", out)
    need("Non-2xx" not in out and "Socket errors" not in out,
         "(%s) answered errors under load" % name, out)
    cpu = tuple(x1 - x0 for x0, x1 in zip(cpu0, cpu1))
    return float(m.group(1)), out, before, cpu


def audit_access_log(name, before, user):
    """Every request wrk made on (name) since `before` got a 200 with the
    file's size, for the expected user: else the figure means nothing."""
    time.sleep(0.2)         # the last lines of the run reach the log
    with open(ACCESS_LOG, "rb") as f:
        f.seek(before)
        lines = f.read().decode("utf-8", "replace").splitlines()
    path = PATHS[name]
    n = bad = 0
    for line in lines:
        parts = line.split(" ")
        # %h %u "%r" %>s %b %D
        if len(parts) < 7 or parts[3] != path:
            continue
        n += 1
        if parts[-3] != "200" or parts[1] != user:
            bad += 1
    need(n > 0, "(%s) no request of the run in the access log" % name)
    need(bad == 0, "(%s) %d of %d measured answers were not a 200 for %s"
         % (name, bad, n, user))
    return n


def wrk_lines(out):
    keep = []
    for line in out.splitlines():
        s = line.strip()
        if (s.startswith("Latency") or s.startswith("Req/Sec")
                or "requests in" in s or s.startswith("Requests/sec")
                or s.startswith("50%") or s.startswith("99%")):
            keep.append("      " + s)
    return "\n".join(keep)


def measure(configs):
    users = {"a": "-", "b": configs.get("b_user"),
             "c": os.environ["CSAM_BENCH_FORM_USER"],
             "d": configs.get("b_user")}
    names = [n for n in NAMES if n in configs]
    print("# wrk -t%d -c%d -d%ds --latency (keep-alive), interleaved %s"
          " x %d rounds" % (THREADS, CONNECTIONS, DURATION,
                            ", ".join(names), ROUNDS))
    for n in names:                 # warm-up: connections, caches
        wrk(n, configs[n], 1)
    rates = {n: [] for n in names}
    cpu_httpd = {n: [] for n in names}
    cpu_pg = {n: [] for n in names}
    cpu_user = {n: [] for n in names}
    cpu_wrk = {n: [] for n in names}
    for rnd in range(1, ROUNDS + 1):
        for n in names:
            rate, out, before, cpu = wrk(n, configs[n], DURATION)
            count = audit_access_log(n, before, users[n])
            rates[n].append(rate)
            cpu_httpd[n].append(cpu[0] * 1e6 / count)
            cpu_pg[n].append(cpu[1] * 1e6 / count)
            cpu_user[n].append(cpu[2] * 1e6 / count)
            cpu_wrk[n].append(cpu[3] * 1e6 / count)
            print("round %d (%s) %s: %.0f requests/s; CPU per request: "
                  "httpd %.1f us (user %.1f), PostgreSQL %.1f us, wrk %.1f "
                  "us (%d answers checked in the access log; load %.1f)"
                  % (rnd, n, WHAT[n], rate, cpu_httpd[n][-1],
                     cpu_user[n][-1], cpu_pg[n][-1], cpu_wrk[n][-1], count,
                     os.getloadavg()[0]))
            print(wrk_lines(out))
            sys.stdout.flush()
    med = {n: statistics.median(v) for n, v in rates.items()}

    def ratio(x, y):
        """Ratio of the medians, and the median of each round's ratio
        (neighbours in time, so less shaken by the machine's other load)."""
        per = [p / q for p, q in zip(rates[x], rates[y])]
        return med[x] / med[y], statistics.median(per)

    print("# median requests/s [each round]:")
    for n in names:
        print("  (%s) %-52s %9.0f   [%s]" % (
            n, WHAT[n], med[n], " ".join("%.0f" % x for x in rates[n])))
    # What a request costs, whatever else the machine runs; with wrk on
    # the same CPUs, the throughput ratio those costs predict when this
    # benchmark has the machine to itself.
    med_of = statistics.median
    print("# median CPU per request in microseconds: httpd (of which "
          "user) + PostgreSQL + wrk")
    for n in names:
        print("  (%s) %-52s %7.1f (%6.1f) + %6.1f + %5.1f" % (
            n, WHAT[n], med_of(cpu_httpd[n]), med_of(cpu_user[n]),
            med_of(cpu_pg[n]), med_of(cpu_wrk[n])))
    server = {n: med_of(cpu_httpd[n]) + med_of(cpu_pg[n]) for n in names}
    whole = {n: server[n] + med_of(cpu_wrk[n]) for n in names}
    for x, y in (("b", "a"), ("b", "c"), ("d", "a")):
        if x in server and y in server:
            user = med_of(p / q for p, q in zip(cpu_user[x], cpu_user[y]))
            print("CPU per request %s/%s: servers %.3f, with wrk %.3f "
                  "(throughput ratio predicted %.3f); httpd user time %.3f"
                  % (x, y, server[x] / server[y], whole[x] / whole[y],
                     whole[y] / whole[x], user))
    # DESIGN 5: (b) at least 0.95 times (a), and ahead of (c).
    lines = [("b", "a", 0.95, ">= 0.95"), ("c", "a", None, None),
             ("b", "c", 1.0, "> 1"), ("d", "a", None, None),
             ("d", "c", None, None)]
    for x, y, goal, text in lines:
        if x not in med or y not in med:
            continue
        of_medians, per_round = ratio(x, y)
        out = "%s/%s = %.3f (median of per-round ratios %.3f)" % (
            x, y, of_medians, per_round)
        if goal is not None:
            met = (of_medians >= goal if goal < 1 else of_medians > goal)
            out += "; goal %s: %s" % (text, "met" if met else "NOT MET")
        print(out)
    return med


# ---------------------------------------------------------------- profile

def profile(name, cookie):
    """Where httpd's children spend (name)'s time: perf on them while wrk
    runs; percentages of their samples."""
    # Kept in the build directory for `perf report -i` afterwards.
    data = os.path.join(os.environ["CSAM_BUILDDIR"],
                        "bench-perf-%s.data" % name)
    pids = protected_cpu.children(protected_cpu.httpd_pid())
    rec = subprocess.Popen(["perf", "record", "-q", "-g", "-o", data,
                            "-p", ",".join(str(p) for p in pids),
                            "--", "sleep", str(DURATION)],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    wrk(name, cookie, DURATION)
    err = rec.communicate()[1]
    if rec.returncode != 0:
        print("# perf record failed: %s" % err.strip()[:300])
        return
    print("# perf: where apache2 spends its time while serving (%s)" % name)
    for sort, limit, only in (("dso", "1", []),
                              ("dso,symbol", "1.5", []),
                              ("symbol", "0.05", ["--dsos", "mod_csam.so"])):
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                              "--no-children", "--sort", sort, "-g", "none",
                              "--percent-limit", limit] + only,
                             capture_output=True, text=True)
        if only:
            print("  in mod_csam.so:")
        for line in rep.stdout.splitlines():
            if line.strip() and not line.startswith("#"):
                # Without perf's empty IPC columns.
                print("  " + re.sub(r"(\s+-){2}\s*$", "",
                                    " ".join(line.split())))


# ---------------------------------------------------------------- main

def main():
    data = static_file()
    print("# static file: %d bytes; server: %s" % (len(data), BASE))
    check_open(data)
    configs = {"a": None}

    form_cookie = form_login()
    st = check_protected("c", form_cookie, data)
    print("# (c) without its cookie: %d; with it: 200 and the file" % st)
    configs["c"] = form_cookie

    mbox, f = make_citizen()
    cookie = csam_login(mbox, f)
    st = check_protected("b", cookie, data)
    status, headers, _ = get(PATHS["b"], accept="text/html")
    need(status in (302, 303) and
         (headers.get("location") or "").find("/csam/login") >= 0,
         "(b) does not send a browser to the login page", status,
         headers.get("location"))
    bad = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    need(get(PATHS["b"], bad)[0] == 401, "(b) takes a tampered cookie")
    print("# (b) without its cookie: %d (browser: %d to %s); "
          "tampered cookie: 401; with it: 200 and the file"
          % (st, status, headers.get("location")))
    configs["b"] = cookie
    configs["b_user"] = f["username"]
    check_protected("d", cookie, data)
    configs["d"] = cookie

    others = [make_citizen() for _ in range(DB_LOGINS)]
    measure(configs)
    for name in PROFILE:
        if name in NAMES and name in configs:
            profile(name, configs[name])
    log = StatementLog()
    try:
        log.protected(BASE, PATHS["b"], configs["b"], DB_REQUESTS,
                      None, "session cache on (CSAMSessionCacheTTL "
                      "default)")
        log.protected(BASE, PATHS["d"], configs["d"], DB_REQUESTS,
                      HOSTS["d"], "session cache off "
                      "(CSAMSessionCacheTTL 0)")
        # One citizen each: a second login of one account within the
        # resend cooldown would be refused a new code.
        for mbox, f in others:
            csam_login(mbox, f, log.mark)
        log.report_logins()
    finally:
        log.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchFailure, t.Failure) as e:
        print("protected.sh: FAILED: %s" % e)
        sys.exit(1)
