#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam with each key type (issue 6): the authenticator app (TOTP,
codes computed by Debian's oathtool from the secret the activation
returned), the SMS key (codes read from what the test gateway received),
key=any choosing the account's only key whatever its type, key= refusing
an account whose keys are all of other types (PAM_AUTHINFO_UNAVAIL, and
nullok does not skip it), SMS without a transport, and the SMS gateway
refusing or not answering (PAM_AUTHINFO_UNAVAIL, nothing left pending).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
if not h.sms_url or not h.sms_dir:
    print("CSAM_TEST_SMS_URL/CSAM_TEST_SMS_DIR are not set: "
          "tests/lib/run-with-services starts the SMS gateway")
    sys.exit(pamtest.HARD_ERROR)
svc_any = h.csam_service("csam")
svc_totp = h.csam_service("csam-totp", "key=totp")
svc_sms = h.csam_service("csam-sms", "key=sms")
svc_email = h.csam_service("csam-email", "key=email")


def jump_stack(name, args, conf=None):
    """Only PAM_IGNORE jumps over pam_deny: PAM_SUCCESS from this stack
    means pam_csam ignored the user."""
    line = "[ignore=1 default=die] pam_csam.so config=%s %s" % (
        conf or h.conf, args)
    return h.service(name, auth=[line, "requisite pam_deny.so",
                                 "required pam_permit.so"],
                     account=[line, "requisite pam_deny.so",
                              "required pam_permit.so"])


svc_email_nullok = jump_stack("csam-email-nullok", "key=email nullok")


def nothing_sent(before_mail, before_sms, what):
    h.check(set(h.mails()) == before_mail and set(h.sms()) == before_sms,
            what + ": no mail and no SMS sent")


def shown(res):
    return res.stdout + res.stderr


# ---- the app (TOTP).  The activation's confirmation used the current
# step, so the first login types the code of the next one (±1 step).
TINA = h.enrol("tina", "tina@example.test", "en", key="totp")
secret = h.totp_secrets[TINA]
h.check(len(secret) == 32, "a 160-bit secret in base32", secret)
mails, texts = set(h.mails()), set(h.sms())
code = h.totp(secret, 30)
res = h.pamtester(svc_totp, TINA, answer=code)
h.expect(res, "PAM_SUCCESS", "key=totp, oathtool's code")
h.check("Code from your mobile app: " in shown(res), "the app's prompt",
        shown(res))
h.check("has been sent" not in shown(res), "no 'code sent' line for the app",
        shown(res))
h.check(any("user tina authenticated with key totp" in line
            for line in res.syslog), "success logged with the key type",
        res.syslog)
h.no_secret_logged(res, [code, secret], "totp")
nothing_sent(mails, texts, "totp")

res = h.pamtester(svc_totp, TINA, answer=code)
h.expect(res, "PAM_AUTH_ERR", "the same TOTP code again (replay)")
h.no_secret_logged(res, [code, secret], "totp replay")
older = h.totp(secret, 0)
if older != code:
    res = h.pamtester(svc_totp, TINA, answer=older)
    h.expect(res, "PAM_AUTH_ERR", "a step before the one already used")
res = h.pamtester(svc_totp, TINA, answer=h.totp(secret, 120))
h.expect(res, "PAM_AUTH_ERR", "a code four steps ahead")
res = h.pamtester(svc_totp, TINA, answer="12345")
h.expect(res, "PAM_AUTH_ERR", "five digits")

# ---- key=any, the app the only key: nothing is sent, the app is asked for
UMA = h.enrol("uma", "uma@example.test", "fr", key="totp")
mails, texts = set(h.mails()), set(h.sms())
res = h.pamtester(svc_any, UMA, answer=h.totp(h.totp_secrets[UMA], 30))
h.expect(res, "PAM_SUCCESS", "key=any, TOTP-only account")
h.check("Code de votre application mobile : " in shown(res),
        "key=any asks for the app's code, in French", shown(res))
nothing_sent(mails, texts, "key=any with the app")

# ---- SMS: a Belgian mobile number typed as 04xx is stored and used as
# +32; the code comes from the gateway.
SAM = h.enrol("sam", "sam@example.test", "nl", key="sms",
              phone="0470 12 34 56")
PHONE = "+32470123456"
mails = set(h.mails())
res = h.pamtester(svc_sms, SAM, sms_to=PHONE)
h.expect(res, "PAM_SUCCESS", "key=sms, the code from the SMS")
h.check(res.sms is not None, "an SMS was sent to +32470123456")
h.check("Er is u een beveiligingscode per sms gestuurd." in shown(res),
        "Dutch 'sent by SMS' line", shown(res))
h.check(set(h.mails()) == mails, "key=sms mails nothing")
h.check(any("user sam authenticated with key sms" in line
            for line in res.syslog), "success logged with the key type",
        res.syslog)
h.no_secret_logged(res, [res.typed], "sms")
used = res.typed

texts = set(h.sms(PHONE))
res = h.pamtester(svc_sms, SAM, answer=used)
h.expect(res, "PAM_AUTH_ERR", "the used SMS code again (replay)")
h.check(len(set(h.sms(PHONE)) - texts) == 1,
        "the replay attempt got a fresh SMS")
res = h.pamtester(svc_any, SAM, sms_to=PHONE)
h.expect(res, "PAM_SUCCESS", "key=any, SMS-only account: the pending code")
h.check("De beveiligingscode die u net ontving, is nog geldig." in shown(res),
        "the pending SMS code is reused, and the user told so", shown(res))
res = h.pamtester(svc_any, SAM, sms_to=PHONE)
h.expect(res, "PAM_SUCCESS", "key=any, SMS-only account: a fresh SMS")
h.check("per sms gestuurd" in shown(res), "a new SMS for the next login",
        shown(res))
res = h.pamtester(svc_sms, SAM, answer="00000000")
h.expect(res, "PAM_AUTH_ERR", "wrong SMS code")
h.no_secret_logged(res, [h.sms_code(t) for t in h.sms(PHONE).values()],
                   "wrong SMS code")

# ---- key= narrower than the account's keys: the account exists and has
# a second factor, just not one this service takes.  That is not "no
# CSAM account": PAM_AUTHINFO_UNAVAIL (PAM_PERM_DENIED for the account
# stack), with or without nullok, and nothing sent.
ALICE = h.enrol("alice", "alice@example.test", "fr")
mails, texts = set(h.mails()), set(h.sms())
res = h.pamtester(svc_email, TINA, answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=email, TOTP-only account")
h.check(any("user tina has no active key of a type this service accepts"
            in line for line in res.syslog), "the reason is logged",
        res.syslog)
res = h.pamtester(svc_email_nullok, TINA, answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL",
         "key=email nullok, TOTP-only account: not ignored")
res = h.pamtester(svc_email, TINA, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED", "acct_mgmt key=email, TOTP-only account")
res = h.pamtester(svc_email_nullok, TINA, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED",
         "acct_mgmt key=email nullok, TOTP-only account: not ignored")
res = h.pamtester(svc_totp, ALICE, answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=totp, e-mail-only account")
res = h.pamtester(svc_sms, TINA, answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=sms, TOTP-only account")
nothing_sent(mails, texts, "keys of other types")
res = h.pamtester(svc_email_nullok, "nosuchuser", answer="")
h.expect(res, "PAM_SUCCESS", "key=email nullok, no account: still ignored")

# ---- SMS not configured: key=sms is a configuration error, and an
# SMS-only account cannot be skipped by nullok.
no_sms = h.write_conf("no-sms.conf", sms_transport="none", sms_url=None,
                      sms_timeout=None)
res = h.pamtester(h.csam_service("csam-no-sms", "key=sms", conf=no_sms),
                  SAM, answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=sms without sms_transport")
h.check(any("sets no sms_transport" in line for line in res.syslog),
        "key=sms without a transport is logged", res.syslog)
texts = set(h.sms())
res = h.pamtester(jump_stack("csam-no-sms-nullok", "nullok", conf=no_sms),
                  SAM, answer="123456")
# The account exists with a key this host cannot reach: the engine answers
# CSAM_ERR_STATE, never "not found", so nullok does not skip it.
h.expect(res, "PAM_AUTHINFO_UNAVAIL",
         "SMS-only account, no transport, nullok: not ignored")
h.check(set(h.sms()) == texts, "no transport: nothing sent")
res = h.pamtester(h.csam_service("csam-no-sms-any", conf=no_sms), UMA,
                  answer=h.totp(h.totp_secrets[UMA], 30))
h.check("Code de votre application mobile : " in shown(res) and
        res.status in ("PAM_SUCCESS", "PAM_AUTH_ERR"),
        "without an SMS transport the app is still asked for", shown(res))

# ---- the gateway refuses (HTTP 503) or is not there: no login, a clear
# log line without the code, and nothing left pending, so the next login
# sends a fresh code instead of "reusing" one nobody received.
VERA = h.enrol("vera", "vera@example.test", "de", key="sms",
               phone="+32 485 11 22 33")
VPHONE = "+32485112233"
for label, url in (("refusing", h.sms_url + "/status/503"),
                   ("not answering", "http://127.0.0.1:1/send")):
    conf = h.write_conf("sms-%s.conf" % label.split()[0], sms_url=url)
    svc_down = h.csam_service("csam-sms-" + label.split()[0], conf=conf)
    res = h.pamtester(svc_down, VERA, answer="123456")
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", "SMS gateway " + label)
    h.check(any("SMS gateway" in line for line in res.syslog),
            "gateway %s: logged as the SMS gateway's failure" % label,
            res.syslog)
    h.no_secret_logged(res, [h.sms_code(t) for t in h.sms(VPHONE).values()],
                       "gateway " + label)
    h.check(h.psql("SELECT count(*) FROM csam_challenges c JOIN csam_accounts"
                   " a ON a.id = c.account_id WHERE a.username = 'vera' AND"
                   " c.purpose = 'pam_login' AND c.used_at IS NULL AND"
                   " c.superseded_at IS NULL") == "0",
            "gateway %s: no PAM code left pending" % label)
res = h.pamtester(svc_sms, VERA, sms_to=VPHONE)
h.expect(res, "PAM_SUCCESS", "gateway back: a fresh SMS")
h.check("Ein Sicherheitscode wurde Ihnen per SMS gesendet." in shown(res),
        "a new code was sent, not a pending one reused", shown(res))

h.finish()
