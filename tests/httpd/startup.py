#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bad CSAM configuration is refused at startup, by `apache2 -t` already,
with a message naming the directive: a public URL that is not absolute, a
missing, short or insecure secret file, a bad conninfo, out-of-range numbers,
a missing CSAMMailFrom, directives where they do not belong.  And a good
configuration passes, so these checks can tell the two apart."""
import os
import re
import subprocess
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
SCRATCH = os.environ["CSAM_TEST_TMPDIR"]


def good():
    """The harness's own CSAM directives, as (directive, value) pairs."""
    pairs = []
    with open(os.path.join(CONF_DIR, "csam.conf"), encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip().partition(" ")
            pairs.append((name, value.strip()))
    return pairs


def configtest(directives, extra=""):
    """`apache2 -t` on base.conf plus these directives: (status, output)."""
    path = os.path.join(SCRATCH, "configtest.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Include %s/base.conf\n" % CONF_DIR)
        for name, value in directives:
            f.write("%s %s\n" % (name, value))
        f.write(extra)
    p = subprocess.run([os.environ["CSAM_TEST_APACHE2"], "-t", "-f", path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def replaced(name, value):
    out = [(n, v) for n, v in good() if n != name]
    if value is not None:
        out.append((name, value))
    return out


def refused(directives, *words, extra=""):
    status, out = configtest(directives, extra)
    t.check(status != 0, "configuration accepted", directives, out)
    for w in words:
        t.check(w in out, "message does not name %r" % w, out)
    t._checks[0] += 1
    return out


def test_good_configuration_passes():
    status, out = configtest(good())
    t.check(status == 0 and "Syntax OK" in out, "good configuration", out)
    # Every default but the two required values.
    status, out = configtest(replaced("CSAMMailRelay", None))
    t.check(status == 0, "CSAMMailRelay has a default", out)


def test_public_url():
    for bad in ("portal.example.be", "/csam", "ftp://portal.example.be",
                "https://", "https://portal.example.be/?x=1",
                "https://portal.example.be/"):
        refused(replaced("CSAMPublicURL", '"%s"' % bad), "CSAMPublicURL")
    refused(replaced("CSAMPublicURL", None), "CSAMPublicURL")


def test_secret_file():
    missing = os.path.join(SCRATCH, "no-such-secret")
    refused(replaced("CSAMSecretFile", missing), "CSAMSecretFile", missing)
    short = os.path.join(SCRATCH, "short.key")
    with open(short, "wb") as f:
        f.write(os.urandom(16))
    os.chmod(short, 0o600)
    refused(replaced("CSAMSecretFile", short), "CSAMSecretFile")
    loose = os.path.join(SCRATCH, "loose.key")
    with open(loose, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(loose, 0o644)
    refused(replaced("CSAMSecretFile", loose), "CSAMSecretFile")
    os.chmod(loose, 0o622)
    refused(replaced("CSAMSecretFile", loose), "CSAMSecretFile")
    os.chmod(loose, 0o640)
    status, out = configtest(replaced("CSAMSecretFile", loose))
    t.check(status == 0, "mode 0640 is accepted", out)
    refused(replaced("CSAMSecretFile", SCRATCH), "CSAMSecretFile")


def test_data_dir():
    empty = os.path.join(SCRATCH, "empty-data")
    os.makedirs(empty, exist_ok=True)
    refused(replaced("CSAMDataDir", empty), "CSAMDataDir")
    # Pages there but no mail templates: refused too, not at the first
    # registration.
    import shutil
    partial = os.path.join(SCRATCH, "partial-data")
    shutil.copytree(os.path.join(CONF_DIR, "data"), partial)
    shutil.rmtree(os.path.join(partial, "templates", "mail"))
    refused(replaced("CSAMDataDir", partial), "CSAMDataDir",
            "activation.subject")
    refused(replaced("CSAMDataDir", "relative/dir"), "CSAMDataDir")


def test_reserved_usernames():
    """The administrator's list must be readable; the shipped one too."""
    missing = os.path.join(SCRATCH, "no-such-reserved-list")
    refused(good() + [("CSAMReservedUsernames", missing)],
            "CSAMReservedUsernames", missing)
    mine = os.path.join(SCRATCH, "reserved.txt")
    with open(mine, "w", encoding="utf-8") as f:
        f.write("# local service accounts\nops-team\n")
    status, out = configtest(good() + [("CSAMReservedUsernames", mine)])
    t.check(status == 0, "a readable list is accepted", out)
    import shutil
    partial = os.path.join(SCRATCH, "no-reserved-data")
    shutil.copytree(os.path.join(CONF_DIR, "data"), partial)
    os.unlink(os.path.join(partial, "reserved-usernames.txt"))
    refused(replaced("CSAMDataDir", partial), "CSAMDataDir",
            "reserved-usernames.txt")


def test_database():
    out = refused(replaced("CSAMDatabase", "\"password=hunter2 host='db\""),
                  "CSAMDatabase")
    t.check("hunter2" not in out, "the conninfo is not repeated", out)
    refused(replaced("CSAMDatabase", "\"dbname\""), "CSAMDatabase")


def test_numbers_and_mail():
    refused(replaced("CSAMCodeAttempts", None) + [("CSAMCodeAttempts", "0")],
            "CSAMCodeAttempts")
    refused(good() + [("CSAMCodeTTL", "10 minutes")], "CSAMCodeTTL")
    refused(good() + [("CSAMPasswordMin", "64"), ("CSAMPasswordMax", "32")],
            "CSAMPasswordMin")
    out = refused(replaced("CSAMMailRelay",
                           "\"ftp://mailer:s3cret@relay.example.be\""),
                  "CSAMMailRelay")
    t.check("s3cret" not in out, "the relay password is not repeated", out)
    refused(replaced("CSAMMailFrom", None), "CSAMMailFrom")
    refused(replaced("CSAMMailFrom", '"not an address"'), "CSAMMailFrom")


def test_context():
    refused(good(), "CSAMPublicURL",
            extra="<Location /x>\nCSAMPublicURL https://x.example.be\n"
                  "</Location>\n")
    refused(good(), "CSAMConfigFile", extra="CSAMConfigFile %s/none.conf\n"
            % SCRATCH)
    refused(good(), "CSAMTermsVersion", extra="CSAMTermsVersion \"v 1\"\n")


def test_config_file():
    conf = os.path.join(SCRATCH, "csam.conf")
    with open(conf, "w") as f:
        f.write("# settings shared with pam_csam\ncode_attempts = 3\n"
                "bogus_key = 1\n")
    out = refused(good() + [("CSAMConfigFile", conf)], "CSAMConfigFile",
                  conf + ":3")
    with open(conf, "w") as f:
        f.write("code_attempts = 3\n")
    os.chmod(conf, 0o644)
    status, out = configtest(good() + [("CSAMConfigFile", conf)])
    t.check(status == 0, "a good csam.conf", out)
    if os.geteuid() == 0:
        # Others could change the settings: refused, like pam_csam does.
        os.chmod(conf, 0o666)
        refused(good() + [("CSAMConfigFile", conf)], "CSAMConfigFile")
        os.chmod(conf, 0o644)
        os.chown(conf, 65534, -1)
        refused(good() + [("CSAMConfigFile", conf)], "CSAMConfigFile")


def test_sms_and_pool():
    # A transport without what it needs: refused, naming both directives.
    refused(good() + [("CSAMSMSTransport", "http")], "CSAMSMSTransport",
            "CSAMSMSURL")
    refused(good() + [("CSAMSMSTransport", "command")], "CSAMSMSTransport",
            "CSAMSMSCommand")
    refused(good() + [("CSAMSMSTransport", "pigeon")], "CSAMSMSTransport")
    out = refused(good() + [("CSAMSMSURL",
                             '"http://sms.example.be/send?key=s3cret"')],
                  "CSAMSMSURL")
    t.check("s3cret" not in out, "the gateway URL is not repeated", out)
    refused(good() + [("CSAMSMSTimeout", "0")], "CSAMSMSTimeout")
    refused(good() + [("CSAMTOTPIssuer", '"a:b"')], "CSAMTOTPIssuer")
    # A partial calling code would be a wildcard (35: Gibraltar to Bulgaria)
    refused(good() + [("CSAMSMSCountries", "32 35")], "CSAMSMSCountries")
    refused(good() + [("CSAMMailCAFile", '""')], "CSAMMailCAFile")
    refused(good() + [("CSAMMailCAFile", "/nonexistent/ca.pem")],
            "CSAMMailCAFile", "/nonexistent/ca.pem")
    refused(good() + [("CSAMMailCAFile", "/etc/ssl/certs")],
            "CSAMMailCAFile")
    ok = good() + [("CSAMSMSTransport", "http"),
                   ("CSAMSMSCountries", '32 "33" +352'),
                   ("CSAMMailCAFile", "/etc/ssl/certs/ca-certificates.crt"),
                   ("CSAMSMSURL", "http://127.0.0.1:9/send"),
                   ("CSAMSMSBody", "'{\"to\":\"{{to}}\",\"text\":"
                                   "\"{{text}}\"}'"),
                   ("CSAMSMSTimeout", "5"), ("CSAMTOTPIssuer", "Portail"),
                   ("CSAMPoolMax", "3")]
    status, out = configtest(ok)
    t.check(status == 0, "a good SMS and pool configuration", out)
    # The credentials come only through CSAMConfigFile.
    conf = os.path.join(SCRATCH, "sms.conf")
    with open(conf, "w") as f:
        f.write("sms_auth = bearer 0123456789abcdef\n")
    os.chmod(conf, 0o600)
    status, out = configtest(ok + [("CSAMConfigFile", conf)])
    t.check(status == 0, "sms_auth from CSAMConfigFile", out)
    refused(ok + [("CSAMSMSAuth", "bearer x")], "CSAMSMSAuth")
    for bad in ("0", "1025", "-1", "ten"):
        refused(good() + [("CSAMPoolMax", bad)], "CSAMPoolMax")
    refused(good(), "CSAMPoolMax",
            extra="<Location /x>\nCSAMPoolMax 2\n</Location>\n")


def test_virtual_host_errors_name_it():
    refused(good(), "CSAMPublicURL",
            extra="<VirtualHost 127.0.0.1:1>\nServerName v.test\n"
                  "CSAMPublicURL not-a-url\n</VirtualHost>\n")
    # Found when the virtual host's settings are put together.
    refused(good(), "CSAMSecretFile", "virtual host",
            extra="<VirtualHost 127.0.0.1:1>\nServerName v.test\n"
                  "CSAMSecretFile %s/none.key\n</VirtualHost>\n" % SCRATCH)


def test_versions_at_startup():
    """One NOTICE line names the module's version and the libraries'."""
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split()[0],
              encoding="utf-8") as f:
        lines = [line for line in f if "CSAM01070" in line]
    t.check(len(lines) == 1, "one version line at startup", lines)
    t.check(re.search(r"\[csam:notice\] .*CSAM01070: mod_csam \d+\.\d+\.\d+, "
                      r"with APR \d+\.\d+\.\d+, APR-util \d+\.\d+\.\d+, "
                      r"jansson \d+\.\d+[.\d]*, OpenSSL \d+\.\d+\.\d+.*, "
                      r"libpq \d+\.\d+, libcurl \d+\.\d+\.\d+, "
                      r"libunistring \d+\.\d+$", lines[0].rstrip("\n"))
            is not None, "the versions", lines)


def test_service_not_defined():
    """CSAMDatabase service=NAME that no service file defines: a warning
    naming the files, and httpd still starts (the file may come later)."""
    status, out = configtest(replaced("CSAMDatabase",
                                      '"service=csam-no-such-service"'))
    t.check(status == 0, "a warning only", out)
    t.check("CSAM01071" in out and "service=csam-no-such-service" in out
            and "/etc/postgresql-common/pg_service.conf" in out,
            "the warning names the service and the file", out)
    status, out = configtest(good())
    t.check("CSAM01071" not in out, "no warning without a service", out)


t.run([
    test_versions_at_startup,
    test_service_not_defined,
    test_good_configuration_passes,
    test_public_url,
    test_secret_file,
    test_data_dir,
    test_reserved_usernames,
    test_database,
    test_numbers_and_mail,
    test_context,
    test_config_file,
    test_sms_and_pool,
    test_virtual_host_errors_name_it,
])
