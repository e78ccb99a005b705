#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Where codes may be sent, through httpd (issue 11, items 5, 6 and 17;
DESIGN 3.3):

- CSAMSMSCountries: by default only Belgium and the other EU/EEA calling
  codes; +44, +1 900, +882, +883, +960, +41 are 400 invalid_phone at
  activation and at key add, and no SMS goes out; +32, +33 and +371
  (Latvia) are taken; a virtual host with its own list narrows it.
- CSAMSMSCommand gets the number as its only argument and the text on its
  standard input, in a fixed environment: httpd was started with hostile
  variables (PERL5OPT, PYTHONPATH, BASH_ENV, ...) that must not reach it.
- CSAMMailRelay with credentials: a relay that offers no STARTTLS gets no
  password and no mail (502 mail_unavailable, no registration row); one
  that requires STARTTLS, with a certificate from a test CA named by
  CSAMMailCAFile, delivers; a CA file naming another CA does not."""
import glob
import json
import os
import re
import socket
import subprocess
import sys
import time
import atexit

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

RELAY_USER = "relayuser"
RELAY_PASSWORD = "relay-s3cret-pw"
# Variables a user running setuid su could set, and that would steer a
# Perl, Python or shell program run as root.
HOSTILE = {
    "PERL5OPT": "-Mcsam_hostile",
    "PYTHONPATH": "/nonexistent/csam-hostile",
    "BASH_ENV": "/nonexistent/csam-hostile.sh",
    "ENV": "/nonexistent/csam-hostile.sh",
    "CSAM_HOSTILE": "1",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(d):
    """A test CA, a relay certificate it signed, and a CA that did not."""
    script = """set -e
cd "$1"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=CSAM test CA' \
    -keyout ca.key -out ca.pem
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Other CA' \
    -keyout other.key -out other-ca.pem
openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' \
    -keyout relay.key -out relay.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext
openssl x509 -req -in relay.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile ext -out relay.pem
chmod 644 ca.pem other-ca.pem
"""
    subprocess.run(["sh", "-c", script, "sh", d], check=True,
                   capture_output=True)


RECORDER = """#!/bin/sh
# One SMS: its arguments, its standard input and its environment, each in
# a file named after the time; written under a dot name, then renamed.
d=%(dir)s
n=$(date +%%s%%N).$$
{ printf '%%s\\n' "$#"; for a in "$@"; do printf '%%s\\n' "$a"; done; } \
    > "$d/.$n.args"
cat > "$d/.$n.text"
env > "$d/.$n.env"
mv "$d/.$n.text" "$d/$n.text"
mv "$d/.$n.env" "$d/$n.env"
mv "$d/.$n.args" "$d/$n.args"
"""


def server_conf():
    """None before the services exist (the first stage only
    re-executes)."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    d = os.path.join(tmp, "delivery-%d" % os.getpid())
    os.makedirs(d)
    os.chmod(d, 0o755)
    make_certs(d)
    spool = os.path.join(d, "sms")
    os.mkdir(spool)
    os.chmod(spool, 0o777)   # httpd's user writes there
    recorder = os.path.join(d, "record-sms")
    with open(recorder, "w") as f:
        f.write(RECORDER % {"dir": spool})
    os.chmod(recorder, 0o755)
    clear_port, tls_port = free_port(), free_port()
    # For the third stage (the tests), which starts the relays there.
    os.environ.update({"CSAM_DELIVERY_DIR": d,
                       "CSAM_DELIVERY_CLEAR_PORT": str(clear_port),
                       "CSAM_DELIVERY_TLS_PORT": str(tls_port)})
    # httpd inherits these: the SMS command must not.
    os.environ.update(HOSTILE)
    creds = "%s:%s@" % (RELAY_USER, RELAY_PASSWORD)
    return """
CSAMSMSTransport http
CSAMSMSURL %(sms)s/send
CSAMSMSTimeout 3
CSAMResendCooldown 0
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName narrow.test
    CSAMSMSCountries "+33" 371
</VirtualHost>
<VirtualHost *:*>
    ServerName command.test
    CSAMSMSTransport command
    CSAMSMSCommand %(recorder)s
</VirtualHost>
<VirtualHost *:*>
    ServerName clear-relay.test
    CSAMMailRelay smtp://%(creds)s127.0.0.1:%(clear)d
    CSAMMailTimeout 5
</VirtualHost>
<VirtualHost *:*>
    ServerName tls-relay.test
    CSAMMailRelay smtp://%(creds)slocalhost:%(tls)d
    CSAMMailCAFile %(dir)s/ca.pem
    CSAMMailTimeout 5
</VirtualHost>
<VirtualHost *:*>
    ServerName other-ca.test
    CSAMMailRelay smtp://%(creds)slocalhost:%(tls)d
    CSAMMailCAFile %(dir)s/other-ca.pem
    CSAMMailTimeout 5
</VirtualHost>
""" % {"sms": os.environ["CSAM_TEST_SMS_URL"], "recorder": recorder,
       "creds": creds, "clear": clear_port, "tls": tls_port, "dir": d}


t.start(__file__, extra_conf=server_conf())
mbox = t.Mailbox()
DIR = os.environ["CSAM_DELIVERY_DIR"]
SPOOL = os.path.join(DIR, "sms")
SMS_DIR = os.environ["CSAM_TEST_SMS_DIR"]
seen_sms = set(os.listdir(SMS_DIR))

# ---------------------------------------------------------------- relays

relays = []


def start_relay(name, port, tls):
    maildir = os.path.join(DIR, name + "-mail")
    log = os.path.join(DIR, name + "-auth.log")
    argv = ["/usr/bin/python3",
            os.path.join(os.environ["CSAM_SRCDIR"], "tests", "lib",
                         "smtp_server.py"),
            "--port", str(port), "--maildir", maildir,
            "--auth", "%s:%s" % (RELAY_USER, RELAY_PASSWORD),
            "--auth-log", log]
    if tls:
        argv += ["--tls", "starttls", "--cert", os.path.join(DIR, "relay.pem"),
                 "--key", os.path.join(DIR, "relay.key")]
    env = {k: v for k, v in os.environ.items() if k not in HOSTILE}
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    relays.append(p)
    line = p.stdout.readline().decode()
    t.check(line.startswith("ready"), "relay %s started" % name, line)
    return {"maildir": os.path.join(maildir, "new"), "auth_log": log}


def stop_relays():
    for p in relays:
        p.terminate()
        p.wait()


atexit.register(stop_relays)
CLEAR = start_relay("clear", int(os.environ["CSAM_DELIVERY_CLEAR_PORT"]),
                    False)
TLS = start_relay("tls", int(os.environ["CSAM_DELIVERY_TLS_PORT"]), True)


def mails(relay):
    d = relay["maildir"]
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def auth_log(relay):
    try:
        with open(relay["auth_log"]) as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------- helpers

def start_activation(headers=None):
    """Register (through the default relay) and open the activation."""
    reg, reply, token = t.register(mbox)
    body = t.expect(t.api("activation", {"token": token,
                                         "activation_code":
                                         reply["activation_code"]},
                          headers=headers), 200)
    t.check("sms" in body.get("key_types", []), "SMS offered", body)
    return reg, body["activation"]


def choose(handle, number, headers=None):
    return t.api("activation/key", {"activation": handle, "key_type": "sms",
                                    "accept_terms": True, "phone": number},
                 headers=headers)


def credentials(handle, user, headers=None):
    return t.api("activation/credentials",
                 {"activation": handle, "username": user,
                  "password": t.PASSWORD, "password_repeat": t.PASSWORD},
                 headers=headers)


def unique_digits(n):
    return ("%d" % time.time_ns())[-n:]


def new_sms():
    """Records the HTTP gateway received since the last call: [(to,
    text)]."""
    out = []
    for path in sorted(glob.glob(os.path.join(SMS_DIR, "*.json"))):
        name = os.path.basename(path)
        if name in seen_sms:
            continue
        seen_sms.add(name)
        with open(path, encoding="utf-8") as f:
            body = json.loads(json.load(f)["body"])
        out.append((body["to"], body["text"]))
    return out


def sms_to(e164, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for to, text in new_sms():
            if to == e164:
                return text
        time.sleep(0.1)
    raise t.Failure("no SMS to %s" % e164)


def the_code(text):
    codes = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
    t.check(len(codes) == 1, "one code in the SMS", text)
    return codes[0]


def mail_code(email):
    """The next security code mailed to email (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


REFUSED = (
    "+44 7700 900%s" % unique_digits(3),        # United Kingdom
    "+1 900 555 %s" % unique_digits(4),         # premium rate
    "+882 1234 %s" % unique_digits(4),          # international networks
    "+883 1234 %s" % unique_digits(4),
    "+960 712 %s" % unique_digits(4),           # Maldives
    "+41 79 123 %s" % unique_digits(4),         # Switzerland
    "+373 621 %s" % unique_digits(5),           # Moldova, beside Latvia
    "+350 5712 %s" % unique_digits(4),          # Gibraltar, beside Portugal
)


# ---------------------------------------------------------------- tests

def test_default_countries_at_activation():
    _, handle = start_activation()
    new_sms()
    for number in REFUSED:
        t.expect(choose(handle, number), 400, "invalid_phone")
    t.forgive_source()
    # EU numbers, Latvia's +371 among them, are taken; the last choice
    # counts, and its SMS goes out
    for number in ("+33 6 12 34 %s" % unique_digits(2),
                   "+371 2123 %s" % unique_digits(4)):
        t.expect(choose(handle, number), 200)
    e164 = "+32470" + unique_digits(6)
    t.expect(choose(handle, e164), 200)
    t.expect(credentials(handle, t.username()), 202)
    sms_to(e164)
    t.check(all(to.startswith(("+32", "+33", "+371"))
                for to, _ in new_sms()),
            "an SMS went outside the EU/EEA")


def test_default_countries_at_key_add():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    login = t.expect(t.api("login", {"username": a["username"],
                                     "password": t.PASSWORD}), 200)["login"]
    t.expect(t.api("login/challenge", {"login": login, "key_type": "email"}),
             202)
    code = mail_code(a["reg"]["email"])
    resp = t.api("login/verify", {"login": login, "code": code})
    t.expect(resp, 200)
    cookie = re.search(r"csam_session=([^;]+)",
                       resp.header("set-cookie") or "").group(1)
    h = {"Cookie": "csam_session=%s" % cookie}
    new_sms()
    for number in REFUSED:
        t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                                "phone": number}, headers=h),
                 400, "invalid_phone")
    t.check(new_sms() == [], "an SMS was sent to a refused number")
    e164 = "+33612" + unique_digits(6)
    t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                            "phone": e164}, headers=h), 202)
    sms_to(e164)


def test_narrowed_list():
    h = {"Host": "narrow.test"}
    _, handle = start_activation(headers=h)
    t.expect(choose(handle, "+32470" + unique_digits(6), headers=h), 400,
             "invalid_phone")
    t.expect(choose(handle, "0470 12 34 56", headers=h), 400,
             "invalid_phone")
    t.expect(choose(handle, "+371 2123 %s" % unique_digits(4), headers=h),
             200)
    e164 = "+33612" + unique_digits(6)
    t.expect(choose(handle, e164, headers=h), 200)
    t.expect(credentials(handle, t.username(), headers=h), 202)
    sms_to(e164)


def test_command_gets_text_on_stdin():
    h = {"Host": "command.test"}
    before = set(glob.glob(os.path.join(SPOOL, "*.text")))
    _, handle = start_activation(headers=h)
    e164 = "+32470" + unique_digits(6)
    t.expect(choose(handle, e164, headers=h), 200)
    user = t.username()
    t.expect(credentials(handle, user, headers=h), 202)
    new = sorted(set(glob.glob(os.path.join(SPOOL, "*.text"))) - before)
    t.check(len(new) == 1, "one run of the SMS command", new)
    stem = new[0][:-len(".text")]
    with open(stem + ".args") as f:
        args = f.read().splitlines()
    with open(new[0], encoding="utf-8") as f:
        text = f.read()
    with open(stem + ".env") as f:
        env = dict(line.split("=", 1) for line in f.read().splitlines()
                   if "=" in line)
    code = the_code(text)
    # the number is its one argument; the code is not on its command line
    t.check(args == ["1", e164], "the command's arguments", args)
    t.check(code not in "".join(args), "the code in the arguments", args)
    # the environment is the fixed one, not httpd's
    t.check(env.get("PATH") == "/usr/sbin:/usr/bin:/sbin:/bin",
            "the command's PATH", env)
    t.check(env.get("LANG") == "C.UTF-8", "the command's LANG", env)
    leaked = sorted(set(HOSTILE) & set(env))
    t.check(leaked == [], "httpd's environment reached the command", leaked)
    t.check(set(env) <= {"PATH", "LANG", "PWD", "SHLVL", "_", "OLDPWD"},
            "variables the command was given", sorted(env))
    # and the code it read works
    body = t.expect(t.api("activation/confirm",
                          {"activation": handle, "code": code}, headers=h),
                    200)
    t.check(body.get("username") == user and body.get("key_type") == "sms",
            "activated with the code from stdin", body)


# What a registration whose activation mail was refused logs.
MAIL_REFUSED = (r"csam:error CSAM00001: the 'activation' mail could not be "
                r"delivered \(mail_unavailable\)")


def test_relay_without_starttls_gets_no_password():
    reg = t.citizen()
    with t.log_expected(MAIL_REFUSED):
        t.expect(t.api("registrations", reg, auth=t.OFFICER,
                       headers={"Host": "clear-relay.test"}),
                 502, "mail_unavailable")
    t.check(auth_log(CLEAR) == "", "AUTH was tried without TLS",
            auth_log(CLEAR))
    t.check(mails(CLEAR) == [], "mail went through a clear relay")
    t.check(t.scalar("SELECT count(*) FROM csam_registrations WHERE "
                     "email = '%s'" % reg["email"]) == "0",
            "a registration row without its mail")


def test_relay_with_starttls_and_test_ca():
    before = mails(TLS)
    reg = t.citizen()
    t.expect(t.api("registrations", reg, auth=t.OFFICER,
                   headers={"Host": "tls-relay.test"}), 201)
    t.check(len(mails(TLS)) == len(before) + 1, "the mail reached the relay")
    t.check(auth_log(TLS).splitlines()[-1:] == ["tls=1 ok=1"],
            "AUTH under TLS", auth_log(TLS))
    # a certificate from a CA other than the configured one: no AUTH, no
    # mail, no row
    log = auth_log(TLS)
    reg = t.citizen()
    with t.log_expected(MAIL_REFUSED):
        t.expect(t.api("registrations", reg, auth=t.OFFICER,
                       headers={"Host": "other-ca.test"}),
                 502, "mail_unavailable")
    t.check(auth_log(TLS) == log, "AUTH to an unverified relay")
    t.check(len(mails(TLS)) == len(before) + 1, "mail to an unverified relay")
    t.check(t.scalar("SELECT count(*) FROM csam_registrations WHERE "
                     "email = '%s'" % reg["email"]) == "0",
            "a registration row without its mail")
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"], errors="replace") as f:
        t.check(RELAY_PASSWORD not in f.read(), "the relay's password logged")


t.run([test_default_countries_at_activation,
       test_default_countries_at_key_add, test_narrowed_list,
       test_command_gets_text_on_stdin,
       test_relay_without_starttls_gets_no_password,
       test_relay_with_starttls_and_test_ca])
