#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/demo/walk.sh: the newcomer's path, end to end, against scripts/demo.
#
# Starts scripts/demo with a temporary CSAM_DEMO_DIR and a free
# CSAM_DEMO_PORT, then walks what the demo prints, with curl and the mail
# it stores as files: the officer registers a citizen (basic auth), the
# citizen activates an e-mail key through the JSON API with the codes from
# $CSAM_DEMO_DIR/mail/new/, logs in (login, challenge, verify), opens /app/
# with the session cookie and sees the identity, then authenticates with
# `pamtester csam-demo USER authenticate` and the mailed code.  Then runs
# conf/examples/portal-site.conf (TLS, the officer desk, a proxied backend
# told the identity) against the demo's database and mail.  Restarts the
# demo, stops it, and checks nothing is left: no process of the demo, no
# listening port, no /etc/pam.d/csam-demo.
#
# Not part of make check (it builds and installs like a newcomer would):
# scripts/check runs it after make check.  As root:
#   tests/demo/walk.sh
# CSAM_DEMO_BUILDDIR (passed on to scripts/demo) reuses an existing build
# tree; CSAM_WALK_KEEP=1 keeps the state directory afterwards.
# Prints TAP-like "ok N - ..." lines and ends with "walk: N passed, N failed";
# exits 0 when every step passed, 1 otherwise, 77 when not run as root.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
demo=$top/scripts/demo
python=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: scripts/demo needs root (PostgreSQL as postgres, /etc/pam.d/csam-demo)"
    exit 77
fi
for tool in curl "$python"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "walk: $tool not found" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/csam-walk.XXXXXX) || exit 1
work=$(mktemp -d /tmp/csam-walk-work.XXXXXX) || exit 1
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
CSAM_DEMO_DIR=$dir
CSAM_DEMO_PORT=$port
export CSAM_DEMO_DIR CSAM_DEMO_PORT

cleanup() {
    trap - EXIT INT TERM
    if [ -f "$dir/.csam-demo" ]; then
        "$demo" stop >/dev/null 2>&1
    fi
    if [ -n "${CSAM_WALK_KEEP:-}" ]; then
        echo "walk: kept $dir"
    else
        rm -rf "$dir"
    fi
    rm -rf "$work"
}
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

n=0
passed=0
failed=0
ok() {
    n=$((n + 1))
    passed=$((passed + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for detail in "$@"; do
        printf '%s\n' "$detail" | head -c 2000 | sed 's/^/#   /'
        echo
    done
}
check() { # what, then a command
    what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# ---------------------------------------------------------------- helpers

# POST JSON $2 to the API path $1 of $api_base (the demo's); the status
# lands in $status, the body in $work/body.  Extra curl arguments follow.
api_base=$base
api_tls=
api() {
    p=$1
    body=$2
    shift 2
    # shellcheck disable=SC2086 # api_tls: words without blanks
    status=$(curl -s $api_tls -o "$work/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Accept: application/json' --data-binary "$body" "$@" "$api_base/csam/api/v1/$p")
}

# A field of the JSON in $work/body (a list is printed space-separated).
field() {
    "$python" -c '
import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except (ValueError, AttributeError):
    v = ""
print(" ".join(map(str, v)) if isinstance(v, list) else v)
' "$work/body" "$1"
}

# The mail in $dir/mail/new/, one file per message.  "mark" remembers the
# files there now; "wait ADDR code|token" waits (20 s) for a newer file to
# ADDR whose text part carries a security code (the only run of 6-8
# digits) or an activation link, and prints that code or the link's token.
# Notices (key activated, ...) carry neither and are passed over.
cat >"$work/mailtool.py" <<'EOF'
import email, email.policy, os, re, sys, time
new, seen_file, cmd = sys.argv[1], sys.argv[2], sys.argv[3]

def names():
    return set(os.listdir(new)) if os.path.isdir(new) else set()

if cmd == "mark":
    with open(seen_file, "w") as f:
        f.write("\n".join(sorted(names())))
    sys.exit(0)
to, want = sys.argv[4].lower(), sys.argv[5]
with open(seen_file) as f:
    seen = set(f.read().split())
deadline = time.time() + 20
while time.time() < deadline:
    fresh = []
    for name in names() - seen:
        path = os.path.join(new, name)
        fresh.append((os.stat(path).st_mtime_ns, name, path))
    for _, name, path in sorted(fresh):
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if to not in str(msg.get("To", "")).lower():
            continue
        part = msg.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        if want == "code":
            runs = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
            found = runs if len(runs) == 1 else []
        else:
            found = re.findall(
                r"/csam/activate\?t=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])", text)
        if found:
            print(found[0])
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
EOF
mailtool() {
    "$python" "$work/mailtool.py" "$dir/mail/new" "$work/seen" "$@"
}

# ---------------------------------------------------------------- start

t0=$(date +%s)
if "$demo" >"$work/demo.out" 2>&1; then
    ok "scripts/demo starts ($(($(date +%s) - t0)) s)"
else
    not_ok "scripts/demo starts" "$(tail -n 30 "$work/demo.out")"
    echo "walk: $passed passed, $failed failed"
    exit 1
fi
out=$(cat "$work/demo.out")
printed() {
    case "$out" in *"$1"*) return 0 ;; esac
    return 1
}
check "it prints the officer URL and credentials" \
    eval 'printed "$base/csam/registration" && printed "user officer, password officer"'
check "it prints where mail lands" printed "$dir/mail/new/"
# Mail and SMS carry links and codes: no other local user may read them.
check "the mail and SMS spools are root's alone (0700)" \
    eval '[ "$(stat -c %a:%U "$dir/mail")" = 700:root ] && [ "$(stat -c %a:%U "$dir/sms")" = 700:root ]'
# The modules' database role may use the tables and nothing more.
demo_db=$(sed -n 's/^database = //p' "$dir/pam/csam.conf")
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1)
role=$("$pg_bin/psql" -X -At -d "$demo_db" -c "SELECT current_user || ' ' || (rolsuper OR rolcreatedb OR rolcreaterole)::text FROM pg_roles WHERE rolname = current_user" 2>&1)
check "the modules connect as the role csam, no superuser ($role)" eval '[ "$role" = "csam false" ]'
check "it prints the pamtester line" printed "pamtester csam-demo USERNAME authenticate"
check "it prints the sample application" printed "$base/app/"
check "scripts/demo status: everything runs" eval '"$demo" status >/dev/null'
# The walk below is the one scripts/demo api prints: the same calls.
api_text=$("$demo" api)
missing=
for p in registrations activation activation/key activation/credentials \
    activation/confirm login login/challenge login/verify; do
    case "$api_text" in *"$base/csam/api/v1/$p "*) ;; *) missing="$missing $p" ;; esac
done
case "$api_text" in *"pamtester csam-demo "*) ;; *) missing="$missing pamtester" ;; esac
check "scripts/demo api prints every step walked here" eval '[ -z "$missing" ]'
ports=$(sed -n 's/^[a-z]* //p' "$dir/run/ports" 2>/dev/null | tr '\n' ' ')
check "four ports in $dir/run/ports" eval '[ $(echo $ports | wc -w) -eq 4 ]'

# The pages the printed browser steps open: each a form for a person.
page() { # path, then curl arguments
    path=$1
    shift
    pst=$(curl -s -o "$work/page" -w '%{http_code}' -H 'Accept: text/html' "$@" "$base$path")
    [ "$pst" = 200 ] && grep -q '<form' "$work/page"
}
check "the registration desk's page asks the officer to log in (401)" eval \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Accept: text/html" "$base/csam/registration")" = 401 ]'
check "the officer sees the registration form" page /csam/registration -u officer:officer
check "the login page is a form" page /csam/login

# ---------------------------------------------------------------- registration

email=marie.walk@example.be
user=marie.walk
password='Correct-Horse-Battery-7!'
registration='{"national_number": "85.07.30-033.28", "first_name": "Marie",
  "last_name": "Dupont", "birth_date": "1985-07-30",
  "document": {"type": "eid", "number": "591-1234567-89"},
  "email": "'"$email"'", "language": "fr"}'

api registrations "$registration"
check "the registration desk asks the officer to log in (401)" eval '[ "$status" = 401 ]'
mailtool mark
api registrations "$registration" -u officer:officer
code=$(field activation_code)
if [ "$status" = 201 ] && [ -n "$code" ]; then
    ok "the officer registers a citizen (201 with an activation code)"
else
    not_ok "the officer registers a citizen" "status $status" "$(cat "$work/body")"
fi

# ---------------------------------------------------------------- activation

token=$(mailtool wait "$email" token)
check "the activation mail is a file in $dir/mail/new/ with the link" eval '[ -n "$token" ]'
n_files=$(ls "$dir/mail/new" 2>/dev/null | wc -l)
check "one file per message in mail/new/ ($n_files)" eval '[ "$n_files" -eq 1 ]'

api activation '{"token": "'"$token"'", "activation_code": "'"$code"'"}'
handle=$(field activation)
key_types=
if [ "$status" = 200 ] && [ -n "$handle" ]; then
    key_types=$(field key_types)
    ok "the link's token and the paper code open the activation (key types: $key_types)"
else
    not_ok "the link's token and the paper code open the activation" "status $status" "$(cat "$work/body")"
fi
api activation/key '{"activation": "'"$handle"'", "key_type": "email", "accept_terms": true}'
check "the e-mail key is chosen, terms accepted" eval '[ "$status" = 200 ] && [ "$(field next)" = credentials ]'
mailtool mark
api activation/credentials '{"activation": "'"$handle"'", "username": "'"$user"'",
  "password": "'"$password"'", "password_repeat": "'"$password"'"}'
check "username and password are set (202)" eval '[ "$status" = 202 ] && [ "$(field next)" = confirm ]'
confirm=$(mailtool wait "$email" code)
check "the confirmation code arrives by mail" eval '[ -n "$confirm" ]'
shown=$("$demo" mail "$email" 2>&1)
check "scripts/demo mail shows that code" eval 'case "$shown" in *"Code:    $confirm"*) [ -n "$confirm" ] ;; *) false ;; esac'
api activation/confirm '{"activation": "'"$handle"'", "code": "'"$confirm"'"}'
if [ "$status" = 200 ] && [ "$(field status)" = active ] && [ "$(field username)" = "$user" ]; then
    ok "the code confirms the key: $user has an active e-mail key"
else
    not_ok "the code confirms the key" "status $status" "$(cat "$work/body")"
fi

# ---------------------------------------------------------------- login

api login '{"username": "'"$user"'", "password": "'"$password"'"}'
login=$(field login)
if [ "$status" = 200 ] && [ -n "$login" ]; then
    ok "login with username and password (key types: $(field key_types))"
else
    not_ok "login with username and password" "status $status" "$(cat "$work/body")"
fi
mailtool mark
api login/challenge '{"login": "'"$login"'", "key_type": "email"}'
check "the e-mail challenge is sent (202)" eval '[ "$status" = 202 ]'
login_code=
if [ "$status" = 202 ]; then
    login_code=$(mailtool wait "$email" code)
fi
check "the login code arrives by mail" eval '[ -n "$login_code" ]'
api login/verify '{"login": "'"$login"'", "code": "'"$login_code"'"}' -c "$work/cookies"
if [ "$status" = 200 ] && [ "$(field username)" = "$user" ] &&
    grep -q 'csam_session' "$work/cookies" 2>/dev/null; then
    ok "the code completes the login: a csam_session cookie"
else
    not_ok "the code completes the login: a csam_session cookie" "status $status" "$(cat "$work/body")"
fi

# ---------------------------------------------------------------- /app/

app_status=$(curl -s -o "$work/app" -w '%{http_code}' -b "$work/cookies" \
    -H 'X-CSAM-User: mallory' "$base/app/")
app=$(cat "$work/app")
shows() {
    case "$app" in *"id=\"$1\">$2</td>"*) return 0 ;; esac
    return 1
}
if [ "$app_status" = 200 ] && shows REMOTE_USER "$user" && shows CSAM_USER "$user" &&
    shows CSAM_KEY email; then
    ok "/app/ with the cookie shows REMOTE_USER, CSAM_USER and CSAM_KEY"
else
    not_ok "/app/ with the cookie shows REMOTE_USER, CSAM_USER and CSAM_KEY" "status $app_status" "$app"
fi
auth_time=$(printf '%s' "$app" | sed -n 's/.*id="CSAM_AUTH_TIME">\([0-9]*\)<.*/\1/p')
now=$(date +%s)
check "/app/ shows CSAM_AUTH_TIME, Unix seconds of this login" \
    eval '[ -n "$auth_time" ] && [ "$auth_time" -le "$now" ] && [ "$auth_time" -gt $((now - 600)) ]'
check "a spoofed X-CSAM-User header never reaches /app/" \
    eval '[ "$app_status" = 200 ] && case "$app" in *"reached the application: none"*) true ;; *) false ;; esac'
anon=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$base/app/")
check "/app/ without a session sends a browser to the login page ($anon)" \
    eval 'case "$anon" in 30[23]\ "$base/csam/login"*) true ;; *) false ;; esac'
anon=$(curl -s -o "$work/body" -w '%{http_code}' -H 'Accept: application/json' "$base/app/")
check "/app/ without a session answers an API client 401 unauthenticated" \
    eval '[ "$anon" = 401 ] && [ "$(field error)" = unauthenticated ]'

# ---------------------------------------------------------------- PAM

check "the PAM service file /etc/pam.d/csam-demo is there" test -f /etc/pam.d/csam-demo
# pamtester prompts once the code is mailed; type the code of that mail.
mailtool mark
"$python" - "$user" "$email" "$work/mailtool.py" "$dir/mail/new" "$work/seen" \
    >"$work/pam" 2>&1 <<'EOF'
import subprocess, sys
user, to, tool = sys.argv[1], sys.argv[2], sys.argv[3:]
proc = subprocess.Popen(["pamtester", "csam-demo", user, "authenticate"],
                        stdin=subprocess.PIPE, text=True)
# pam_csam mails the code, then prompts: what a person at the terminal does.
wait = subprocess.run([sys.executable] + tool + ["wait", to, "code"],
                      capture_output=True, text=True)
code = wait.stdout.strip()
try:
    proc.stdin.write(code + "\n")
    proc.stdin.close()
except BrokenPipeError:
    pass
try:
    rc = proc.wait(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = -1
print("pamtester exit %d, %s" % (rc, "code typed" if code else "no code mail"))
sys.exit(0 if rc == 0 and code else 1)
EOF
if [ $? -eq 0 ]; then
    ok "pamtester csam-demo $user authenticate, answered with the mailed code"
else
    not_ok "pamtester csam-demo $user authenticate, answered with the mailed code" "$(cat "$work/pam")"
fi

# ---------------------------------------------------------------- SMS

# The SMS key, once the build offers it: its codes reach the SMS sink, one
# JSON file per message in $dir/sms/.
if case " $key_types " in *" sms "*) true ;; *) false ;; esac; then
    email3=lotte.walk@example.be
    mailtool mark
    api registrations '{"national_number": "75.03.15-210.63", "first_name": "Lotte",
      "last_name": "Janssens", "birth_date": "1975-03-15",
      "document": {"type": "eid", "number": "592-7654321-12"},
      "email": "'"$email3"'", "language": "nl"}' -u officer:officer
    code3=$(field activation_code)
    token3=
    [ "$status" = 201 ] && token3=$(mailtool wait "$email3" token)
    api activation '{"token": "'"$token3"'", "activation_code": "'"$code3"'"}'
    handle3=$(field activation)
    api activation/key '{"activation": "'"$handle3"'", "key_type": "sms", "accept_terms": true,
      "phone": "+32470123456"}'
    ls "$dir/sms" >"$work/sms-before" 2>/dev/null
    api activation/credentials '{"activation": "'"$handle3"'", "username": "lotte.walk",
      "password": "'"$password"'", "password_repeat": "'"$password"'"}'
    sms_code=$("$python" - "$dir/sms" "$work/sms-before" <<'EOF'
import json, os, re, sys, time
sink, before = sys.argv[1], set(open(sys.argv[2]).read().split())
deadline = time.time() + 20
while time.time() < deadline:
    for name in sorted(set(os.listdir(sink)) - before):
        if name.startswith("."):
            continue
        body = json.load(open(os.path.join(sink, name)))["body"]
        try:
            text = json.loads(body).get("text", "")
        except ValueError:
            text = body
        runs = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
        if len(runs) == 1:
            print(runs[0])
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
EOF
)
    check "the SMS key's code reaches the SMS sink in $dir/sms/" eval '[ -n "$sms_code" ]'
    api activation/confirm '{"activation": "'"$handle3"'", "code": "'"$sms_code"'"}'
    check "the code from the SMS sink confirms the SMS key" \
        eval '[ "$status" = 200 ] && [ "$(field key_type)" = sms ] && [ "$(field status)" = active ]'
else
    not_ok "the SMS key is offered (key types: $key_types)"
fi

# ---------------------------------------------------------------- conf/examples

# conf/examples/csam.conf: every key it sets is one conf/csam.conf documents.
keys=$(sed -n 's/^\([a-z_]*\) *=.*/\1/p' "$top/conf/examples/csam.conf")
unknown=
for k in $keys; do
    grep -q "^#$k = " "$top/conf/csam.conf" || unknown="$unknown $k"
done
check "conf/examples/csam.conf sets only keys of conf/csam.conf ($(echo $keys))" \
    eval '[ -n "$keys" ] && [ -z "$unknown" ]'

# conf/examples/portal-site.conf, run as it is but for the values marked
# ADAPT: TLS with a throwaway certificate, the demo's database, secret and
# mail, and a backend that answers with the X-CSAM-* headers it receives.
# (CSAMDataDir is added: the templates are not installed where make
# install puts them.)
portal=$work/portal
mkdir -p "$portal/htdocs/mon-dossier" "$portal/run"
chmod 711 "$work"
chmod 755 "$portal" "$portal/htdocs" "$portal/htdocs/mon-dossier"
echo "<!doctype html><title>dossier</title><p>mon dossier</p>" >"$portal/htdocs/mon-dossier/index.html"
chmod 644 "$portal/htdocs/mon-dossier/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=portal.example.be \
    -addext subjectAltName=DNS:portal.example.be \
    -keyout "$portal/key.pem" -out "$portal/cert.pem" >/dev/null 2>&1
# shellcheck disable=SC2046 # three port numbers, split on purpose
set -- $("$python" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
p80=$1
p443=$2
pback=$3
conninfo=$(sed -n 's/^database = //p' "$dir/pam/csam.conf")
smtp=$(sed -n 's/^mail_relay = //p' "$dir/pam/csam.conf")
sed -e "s|\*:80>|127.0.0.1:$p80>|; s|\*:443>|127.0.0.1:$p443>|" \
    -e "s|https://portal.example.be|https://portal.example.be:$p443|" \
    -e "s|/etc/ssl/certs/portal.example.be.pem|$portal/cert.pem|" \
    -e "s|/etc/ssl/private/portal.example.be.key|$portal/key.pem|" \
    -e "s|/var/www/portal|$portal/htdocs|" \
    -e "s|\"service=csam connect_timeout=5\"|\"$conninfo\"|" \
    -e "s|/etc/csam/secret.key|$dir/secret.key|" \
    -e "s|smtp://127.0.0.1:25|$smtp|" \
    -e "s|/etc/csam/officers.htpasswd|$dir/httpd/officers.htpasswd|" \
    -e "s|127.0.0.1:8000|127.0.0.1:$pback|g" \
    -e "/^ *CSAMMailFrom/a\\
    CSAMDataDir $dir/httpd/data" \
    "$top/conf/examples/portal-site.conf" >"$portal/site.conf"
m=/usr/lib/apache2/modules
{
    echo "LoadModule mpm_event_module $m/mod_mpm_event.so"
    for mod in authn_core authz_core auth_basic authn_file authz_user alias mime \
        dir ssl socache_shmcb headers proxy proxy_http; do
        echo "LoadModule ${mod}_module $m/mod_$mod.so"
    done
    cat <<EOF
LoadModule csam_module $dir/modules/mod_csam.so
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$p80
Listen 127.0.0.1:$p443
PidFile $portal/run/httpd.pid
DefaultRuntimeDir $portal/run
Mutex file:$portal/run default
ErrorLog $portal/error.log
LogLevel warn csam:info
TypesConfig /etc/mime.types
DirectoryIndex index.html
SSLSessionCache shmcb:$portal/run/ssl_scache(512000)
StartServers 1
ServerLimit 1
ThreadLimit 16
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
Include $portal/site.conf
EOF
} >"$portal/httpd.conf"
chmod 600 "$portal/httpd.conf" "$portal/site.conf" "$portal/key.pem"
setsid "$python" -c '
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Backend(BaseHTTPRequestHandler):
    def do_GET(self):
        seen = {k: v for k, v in self.headers.items() if k.lower().startswith("x-csam")}
        body = json.dumps({"path": self.path, "headers": seen}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Backend).serve_forever()
' "$pback" "$portal" >/dev/null 2>&1 </dev/null &
backend_pid=$!
portal_ok=0
if /usr/sbin/apache2 -d "$portal" -f "$portal/httpd.conf" -t >"$portal/check.out" 2>&1; then
    ok "conf/examples/portal-site.conf passes apachectl -t (ADAPT values filled in)"
    if /usr/sbin/apache2 -d "$portal" -f "$portal/httpd.conf" -k start >"$portal/start.out" 2>&1; then
        i=0
        until curl -s -o /dev/null "http://127.0.0.1:$p80/" || [ $i -ge 100 ]; do
            i=$((i + 1))
            sleep 0.1
        done
        portal_ok=1
    fi
    check "the portal example starts" eval '[ $portal_ok -eq 1 ]'
else
    not_ok "conf/examples/portal-site.conf passes apachectl -t (ADAPT values filled in)" \
        "$(cat "$portal/check.out")"
fi
pcurl() {
    curl -s --resolve "portal.example.be:$p443:127.0.0.1" --cacert "$portal/cert.pem" "$@"
}
pbase=https://portal.example.be:$p443
redirect=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$p80/mon-dossier/")
check "portal example: plain HTTP is sent to HTTPS ($redirect)" \
    eval '[ "$redirect" = "301 $pbase/mon-dossier/" ]'
api_base=$pbase
api_tls="--resolve portal.example.be:$p443:127.0.0.1 --cacert $portal/cert.pem"
api registrations "$registration"
check "portal example: the registration desk asks for an officer over TLS ($status)" \
    eval '[ "$status" = 401 ]'
# A second citizen, from the portal's desk to its backend: the first one's
# login code is too recent for another (the resend cooldown).
email2=jan.walk@example.be
user2=jan.walk
mailtool mark
api registrations '{"national_number": "90.01.01-123.95", "first_name": "Jan",
  "last_name": "Peeters", "birth_date": "1990-01-01",
  "document": {"type": "passport", "number": "EP123456"},
  "email": "'"$email2"'", "language": "nl"}' -u officer:officer
code2=$(field activation_code)
token2=
[ "$status" = 201 ] && token2=$(mailtool wait "$email2" token)
api activation '{"token": "'"$token2"'", "activation_code": "'"$code2"'"}'
handle2=$(field activation)
api activation/key '{"activation": "'"$handle2"'", "key_type": "email", "accept_terms": true}'
mailtool mark
api activation/credentials '{"activation": "'"$handle2"'", "username": "'"$user2"'",
  "password": "'"$password"'", "password_repeat": "'"$password"'"}'
confirm2=
[ "$status" = 202 ] && confirm2=$(mailtool wait "$email2" code)
api activation/confirm '{"activation": "'"$handle2"'", "code": "'"$confirm2"'"}'
check "portal example: an officer registers, the citizen activates over TLS" \
    eval '[ "$status" = 200 ] && [ "$(field status)" = active ]'
link_ok=0
grep -q "portal.example.be:$p443/csam/activate?t=" "$dir"/mail/new/* 2>/dev/null && link_ok=1
check "portal example: the activation link names the portal (CSAMPublicURL)" eval '[ $link_ok -eq 1 ]'
api login '{"username": "'"$user2"'", "password": "'"$password"'"}'
plogin=$(field login)
mailtool mark
api login/challenge '{"login": "'"$plogin"'", "key_type": "email"}'
pcode=
[ "$status" = 202 ] && pcode=$(mailtool wait "$email2" code)
api login/verify '{"login": "'"$plogin"'", "code": "'"$pcode"'"}' -c "$portal/cookies"
check "portal example: login over TLS gives a Secure session cookie" \
    eval 'awk -F "\t" "\$4 == \"TRUE\" && \$6 == \"csam_session\" { found = 1 } END { exit !found }" "$portal/cookies" 2>/dev/null'
api_base=$base
api_tls=
seen=$(pcurl -b "$portal/cookies" -H 'X-CSAM-User: mallory' "$pbase/app/hello")
check "portal example: the backend behind the proxy is told the identity" eval \
    'printf "%s" "$seen" | "$python" -c "
import json, sys
h = {k.lower(): v for k, v in json.load(sys.stdin)[\"headers\"].items()}
sys.exit(not (h.get(\"x-csam-user\") == sys.argv[1] and h.get(\"x-csam-key\") == \"email\"
              and h.get(\"x-csam-auth-time\", \"\").isdigit()))" "$user2" 2>/dev/null'
anon=$(pcurl -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$pbase/mon-dossier/")
check "portal example: /mon-dossier/ without a session goes to the login page ($anon)" \
    eval 'case "$anon" in 30[23]\ "$pbase/csam/login"*) true ;; *) false ;; esac'
if [ -f "$portal/run/httpd.pid" ]; then
    pid=$(cat "$portal/run/httpd.pid")
    kill -TERM "$pid" 2>/dev/null
    i=0
    while [ $i -lt 100 ] && case "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)" in
        '' | Z* | X*) false ;; *) true ;; esac; do
        i=$((i + 1))
        sleep 0.1
    done
fi
kill -TERM "$backend_pid" 2>/dev/null
wait "$backend_pid" 2>/dev/null
errors=$(grep -E '\[[a-z_0-9]*:(emerg|alert|crit|error)\]' "$portal/error.log" 2>/dev/null)
if [ $portal_ok -eq 1 ] && [ -z "$errors" ]; then
    ok "portal example: no line at level error or worse in its error log"
else
    not_ok "portal example: no line at level error or worse in its error log" "$errors"
fi

# ---------------------------------------------------------------- restart, stop

old_httpd=$(cat "$dir/httpd/run/httpd.pid" 2>/dev/null)
if "$demo" >"$work/demo2.out" 2>&1 && "$demo" status >/dev/null; then
    new_httpd=$(cat "$dir/httpd/run/httpd.pid" 2>/dev/null)
    old_state=$(sed 's/.*) //' "/proc/$old_httpd/stat" 2>/dev/null)
    if [ -n "$old_httpd" ] && [ "$old_httpd" != "$new_httpd" ] &&
        case "$old_state" in '' | Z* | X*) true ;; *) false ;; esac; then
        ok "scripts/demo again restarts everything"
    else
        not_ok "scripts/demo again restarts everything" "httpd $old_httpd -> $new_httpd"
    fi
else
    not_ok "scripts/demo again restarts everything" "$(tail -n 30 "$work/demo2.out")"
fi
api login '{"username": "'"$user"'", "password": "'"$password"'"}'
check "the account survives the restart (login answers 200)" eval '[ "$status" = 200 ]'
ports=$(sed -n 's/^[a-z]* //p' "$dir/run/ports" 2>/dev/null | tr '\n' ' ')

"$demo" stop >"$work/stop.out" 2>&1
rc=$?
check "scripts/demo stop" eval '[ $rc -eq 0 ]'
"$demo" status >/dev/null 2>&1
rc=$?
check "scripts/demo status after stop: nothing runs (3)" eval '[ $rc -eq 3 ]'
left=$(for p in /proc/[0-9]*; do
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$dir/"; then
        echo "${p#/proc/}: $({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)"
    fi
done)
if [ -z "$left" ]; then ok "no process of the demo is left"; else not_ok "no process of the demo is left" "$left"; fi
listening=$("$python" - $ports <<'EOF'
import sys
wanted = {int(p) for p in sys.argv[1:]}
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as f:
        next(f)
        for line in f:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) in wanted:
                print(int(local.rsplit(":", 1)[1], 16))
EOF
)
check "no port of the demo is listening ($ports)" eval '[ -n "$ports" ] && [ -z "$listening" ]'
check "/etc/pam.d/csam-demo is gone" eval '[ ! -e /etc/pam.d/csam-demo ]'
errors=$(grep -E '\[[a-z_0-9]*:(emerg|alert|crit|error)\]|exit signal|possible coredump' \
    "$dir/logs/httpd-error.log" 2>/dev/null)
if [ -z "$errors" ]; then
    ok "httpd's error log holds no line at level error or worse"
else
    not_ok "httpd's error log holds no line at level error or worse" "$errors"
fi

echo "walk: $passed passed, $failed failed ($(($(date +%s) - t0)) s)"
[ $failed -eq 0 ]
