# SPDX-License-Identifier: Apache-2.0
"""What the tests of the secret's replacement (secret_rollover.py on one
node, secret_rollover_nodes.py on two) start from: httpd with a CGI behind
AuthType CSAM, and the operator's directory of secret files holding the
secret httpd started with.

    import rollovertest as rollover
    t.start(__file__, extra_conf=rollover.server_conf(sms=True))
    KEYS, SECRET = rollover.keys("rollover-keys")  # third stage
"""
import os

import csamtest as t


def server_conf(sms=False):
    """A CGI printing its environment at /app/env behind AuthType CSAM; no
    session cache, so that every protected request looks its session up
    in the database, where the secret matters; no resend cooldown.  sms:
    SMS through the recording gateway.  None outside the stage that
    writes the configuration (csamtest.env_cgi_conf)."""
    env = t.env_cgi_conf("app")
    if env is None:
        return None
    if sms:
        env += """
CSAMSMSTransport http
CSAMSMSURL %s/send
CSAMSMSTimeout 3""" % os.environ["CSAM_TEST_SMS_URL"]
    return env + """
CSAMResendCooldown 0
CSAMSessionCacheTTL 0
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
"""


def write_secret(path, data):
    """A secret file as the module accepts it: readable by its owner
    alone."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def keys(name):
    """The operator's directory `name` (0700) in the test's temp dir, with
    secret.key in it: a copy of the secret httpd started with.  Returns
    (the directory, secret.key's path)."""
    directory = os.path.join(os.environ["CSAM_TEST_TMPDIR"], name)
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o700)
    secret = os.path.join(directory, "secret.key")
    with open(os.environ["CSAM_TEST_SECRET_FILE"], "rb") as src:
        write_secret(secret, src.read())
    return directory, secret
