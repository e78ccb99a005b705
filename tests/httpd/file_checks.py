#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""httpd refuses to start (`apache2 -t` already) on a file others could
read or swap, with a message naming the file:

- a CSAMConfigFile readable by others that holds a credential (a
  mail_relay with a password, sms_auth, a database password);
- a CSAMConfigFile or CSAMSecretFile in a directory others can write;
- a secret file readable by a group other than root's, unless
  CSAMSecretGroup names that group;
- a CSAMPreviousSecretFile under the same rules, or holding the very
  secret of CSAMSecretFile (named as the previous one).

The same files, made safe, pass: the checks tell the two apart."""
import grp
import os
import shutil
import subprocess
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
SCRATCH = os.environ["CSAM_TEST_TMPDIR"]
ROOT = os.geteuid() == 0


def directives(**over):
    """The harness's CSAM directives, some replaced (None: dropped)."""
    out = []
    with open(os.path.join(CONF_DIR, "csam.conf"), encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip().partition(" ")
            if name in over:
                continue
            out.append("%s %s" % (name, value.strip()))
    for name, value in over.items():
        if value is not None:
            out.append("%s %s" % (name, value))
    return out


def configtest(lines):
    path = os.path.join(SCRATCH, "filecheck.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Include %s/base.conf\n" % CONF_DIR)
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([os.environ["CSAM_TEST_APACHE2"], "-t", "-f", path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def accepted(lines, what):
    status, out = configtest(lines)
    t.check(status == 0 and "Syntax OK" in out, what + ": accepted", out)
    t._checks[0] += 1


def refused(lines, what, *words):
    status, out = configtest(lines)
    t.check(status != 0, what + ": refused", out)
    for w in words:
        t.check(w in out, what + ": the message names %r" % w, out)
    t._checks[0] += 1
    return out


def private_dir(name):
    d = os.path.join(SCRATCH, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o700)
    return d


def write(path, text, mode):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def test_config_file_with_credentials_readable_by_others():
    d = private_dir("conf-cred")
    for key, value in (("mail_relay", "smtps://csam:s3cret@127.0.0.1:465"),
                       ("sms_auth", "bearer 0123456789abcdef"),
                       ("database", os.environ["CSAM_TEST_PG_WEB"]
                        + " password=s3cret")):
        conf = write(os.path.join(d, "%s.conf" % key),
                     "%s = %s\n" % (key, value), 0o644)
        out = refused(directives(CSAMConfigFile=conf), key, conf, key,
                      "readable by others")
        t.check("s3cret" not in out and "0123456789abcdef" not in out,
                "the credential is not echoed", out)
        os.chmod(conf, 0o600)
        if key == "mail_relay":
            accepted(directives(CSAMConfigFile=conf), key + " at 0600")
    # No credential: readable by all is fine.
    conf = write(os.path.join(d, "plain.conf"), "code_ttl = 300\n", 0o644)
    accepted(directives(CSAMConfigFile=conf), "0644 without credentials")


def test_config_file_in_a_writable_directory():
    d = private_dir("conf-dir")
    conf = write(os.path.join(d, "csam.conf"), "code_ttl = 300\n", 0o600)
    accepted(directives(CSAMConfigFile=conf), "csam.conf in a 0700 dir")
    for mode in (0o777, 0o770):
        os.chmod(d, mode)
        refused(directives(CSAMConfigFile=conf), "csam.conf dir %o" % mode,
                conf, d, "writable")
    os.chmod(d, 0o700)


def test_secret_file_in_a_writable_directory():
    d = private_dir("secret-dir")
    key = os.path.join(d, "secret.key")
    shutil.copyfile(os.environ["CSAM_TEST_SECRET_FILE"], key)
    os.chmod(key, 0o600)
    accepted(directives(CSAMSecretFile=key), "secret in a 0700 dir")
    os.chmod(d, 0o777)
    refused(directives(CSAMSecretFile=key), "secret dir 0777",
            "CSAMSecretFile", key, d, "writable")
    os.chmod(d, 0o700)


def test_secret_file_group():
    d = private_dir("secret-group")
    key = os.path.join(d, "secret.key")
    shutil.copyfile(os.environ["CSAM_TEST_SECRET_FILE"], key)
    os.chmod(key, 0o640)
    if ROOT:
        os.chown(key, 0, 0)
        accepted(directives(CSAMSecretFile=key), "0640 group root")
        gid = grp.getgrnam("www-data").gr_gid
        os.chown(key, 0, gid)
        name = "www-data"
    else:
        name = grp.getgrgid(os.getegid()).gr_name
    refused(directives(CSAMSecretFile=key), "0640, another group",
            "CSAMSecretFile", key, "group")
    accepted(directives(CSAMSecretFile=key, CSAMSecretGroup=name),
             "0640 with CSAMSecretGroup naming the group")
    refused(directives(CSAMSecretFile=key, CSAMSecretGroup="csam-none"),
            "CSAMSecretGroup naming another group", key)
    refused(directives(CSAMSecretGroup="'bad group'"), "a bad group name",
            "CSAMSecretGroup")


def test_previous_secret_file():
    """CSAMPreviousSecretFile is loaded under CSAMSecretFile's rules, is
    never the same secret, and a refusal names it, not CSAMSecretFile."""
    d = private_dir("secret-previous")
    previous = os.path.join(d, "secret.key.previous")
    with open(previous, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(previous, 0o600)
    accepted(directives(CSAMPreviousSecretFile=previous),
             "another secret at 0600 as the previous one")
    os.chmod(previous, 0o644)
    out = refused(directives(CSAMPreviousSecretFile=previous),
                  "a previous secret readable by others",
                  "CSAMPreviousSecretFile", previous, "0644")
    t.check("CSAMSecretFile:" not in out, "the current secret blamed", out)
    os.chmod(previous, 0o600)
    os.chmod(d, 0o777)
    refused(directives(CSAMPreviousSecretFile=previous),
            "a previous secret in a 0777 dir", "CSAMPreviousSecretFile",
            previous, "writable")
    os.chmod(d, 0o700)
    same = os.path.join(d, "secret.key.same")
    shutil.copyfile(os.environ["CSAM_TEST_SECRET_FILE"], same)
    os.chmod(same, 0o600)
    out = refused(directives(CSAMPreviousSecretFile=same),
                  "the current secret as the previous one",
                  "CSAMPreviousSecretFile", same, "same secret")
    t.check("CSAMSecretFile:" not in out, "the current secret blamed", out)
    missing = os.path.join(d, "none.key")
    refused(directives(CSAMPreviousSecretFile=missing),
            "a missing previous secret", "CSAMPreviousSecretFile", missing)


t.run([test_config_file_with_credentials_readable_by_others,
       test_config_file_in_a_writable_directory,
       test_secret_file_in_a_writable_directory,
       test_secret_file_group,
       test_previous_secret_file])
