#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Recovery at the desk, end to end through two httpd nodes and the mailbox
(DESIGN 2.7, 3.1; issue 13): a person with an account (the app's key and
the e-mail key, sessions on both nodes) is registered again by an officer,
with a new e-mail address.  The activation answers account "existing"
with the username, a different username is refused, a new password and the
e-mail key are set, and on confirm: the old keys are dead, every session
ends on both nodes, the old address and the new one get a notice without a
code or secret, the new password and key log in, the old password does
not, the username is the same, and the person still has one account.

And two desk registrations of one new number, activated at once: one
account, never two."""
import os
import re
import sys
import threading

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

CACHE_TTL = 2
NEW_PASSWORD = "Tournesol-Recovered-42!"


def server_conf():
    env = t.env_cgi_conf("app")
    if env is None:
        return None
    return env + """
CSAMSessionCacheTTL %d
CSAMResendCooldown 0
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
""" % CACHE_TTL


t.start(__file__, httpd_opts=("--nodes", "2"), extra_conf=server_conf())
mbox = t.Mailbox()
ONE, TWO = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def cookie(value):
    return {"Cookie": "csam_session=%s" % value}


def person_accounts(registration_id):
    """The accounts that are not disabled of the person a registration
    names (one account per person: DESIGN 2.7)."""
    return int(t.scalar(
        "SELECT count(*) FROM csam_accounts WHERE status <> 'disabled' "
        "AND nrn_hash = (SELECT nrn_hash FROM csam_registrations "
        "WHERE id = %d)" % registration_id))


def totp_person():
    """A person activated at the desk with the app's key, who then adds
    the e-mail key: (citizen, registration reply, username, TOTP secret,
    session opened with the app on node 1)."""
    a = t.activate_app(mbox)
    reg, reply, user, secret = a["reg"], a["reply"], a["username"], a["secret"]
    # The activation spent the current step: the login takes the next.
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}, url=ONE), 200)
    t.check(body.get("key_types") == ["totp"], "the app's key", body)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "totp"}, url=ONE), 202)
    resp = t.api("login/verify", {"login": body["login"],
                                  "code": t.totp(secret, 1)}, url=ONE)
    t.expect(resp, 200)
    on_one = t.session_cookie(resp)
    # The e-mail key too, from that session.
    t.expect(t.api("keys", {"key_type": "email", "accept_terms": True},
                   headers=cookie(on_one), url=ONE), 202)
    t.expect(t.api("keys/confirm", {"key_type": "email",
                                    "code": t.mail_code(mbox, reg["email"])},
                   headers=cookie(on_one), url=ONE), 200)
    return reg, reply, user, secret, on_one


def test_desk_recovery():
    reg, first, user, secret, on_one = totp_person()
    old_email = reg["email"]
    on_two = t.login(mbox, user, old_email, url=TWO)
    for value in (on_one, on_two):
        for url in (ONE, TWO):
            t.check(t.backend("/app/env", value, url=url)[0] == 200,
                    "a session before the recovery", url)
    me = t.expect(t.api("me", method="GET", headers=cookie(on_two)), 200)
    t.check(sorted(k["type"] for k in me["keys"] if k["status"] == "active")
            == ["email", "totp"], "two active keys before", me)

    # The person lost access; the officer registers them again, with the
    # address they have now.
    new_email = old_email.replace("@", ".new@")
    again = dict(reg, email=new_email)
    _, reply, token = t.register(mbox, again)
    t.check(reply["registration_id"] != first["registration_id"],
            "a new registration", reply)
    opened = t.expect(t.api("activation", {"token": token, "activation_code":
                                           reply["activation_code"]},
                            url=TWO), 200)
    t.check(opened.get("account") == "existing"
            and opened.get("username") == user,
            "the activation names the existing account and its username",
            opened)
    handle = opened["activation"]
    t.seen_secrets.add(handle)
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": True}, url=ONE), 200)
    # The account keeps its username: another one is refused, and the
    # step can then be done right.
    t.expect(t.api("activation/credentials",
                   {"activation": handle, "username": t.username(),
                    "password": NEW_PASSWORD,
                    "password_repeat": NEW_PASSWORD}, url=TWO), 400)
    body = t.expect(t.api("activation/credentials",
                          {"activation": handle, "password": NEW_PASSWORD,
                           "password_repeat": NEW_PASSWORD}, url=TWO), 202)
    t.check(body.get("next") == "confirm", "next after credentials", body)
    t.check("secret" not in body and "otpauth_uri" not in body,
            "no app secret for the e-mail key", body)
    code = t.mail_code(mbox, new_email)
    # Nothing has changed yet: the old sessions live until the confirm.
    t.expect(t.api("me", method="GET", headers=cookie(on_one), url=ONE), 200)
    mbox.skip_existing()
    done = t.expect(t.api("activation/confirm", {"activation": handle,
                                                 "code": code}, url=ONE),
                    200)
    t.check(done == {"username": user, "key_type": "email",
                     "status": "active"}, "the account recovered, its "
            "username kept", done)

    # Every session of the account ended, on both nodes: the API asks
    # the database at once, protected locations within the cache's bound.
    for value in (on_one, on_two):
        for url in (ONE, TWO):
            t.expect(t.api("me", method="GET", headers=cookie(value),
                           url=url), 401, "unauthenticated")
    for value in (on_one, on_two):
        for url in (ONE, TWO):
            took = t.until(lambda: t.backend(
                "/app/env", value, {"Accept": "application/json"},
                url)[0] == 401, CACHE_TTL + 3)
            t.check(took is not None and took <= CACHE_TTL + 1.5,
                    "an old session refused within CSAMSessionCacheTTL", url,
                    took)
            status, rh, _ = t.backend("/app/env", value, BROWSER, url)
            t.check(status == 303 and rh.get("location", "")
                    .startswith("/csam/login"),
                    "an old session's browser goes to the login page", url,
                    status)

    # The old address and the new one are told, with nothing to use in it.
    secrets = t.seen_secrets | {code, NEW_PASSWORD, secret, handle, token,
                                reply["activation_code"]}
    for address, msgs in mbox.each([old_email, new_email]).items():
        for msg in msgs:
            text = t.text_of(msg)
            html = msg.get_body(preferencelist=("html",))
            whole = text + (html.get_content() if html is not None else "")
            t.check(re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
                    is None, "a recovery notice carries no code", address,
                    text)
            t.check(not [s for s in secrets if s and s in whole],
                    "no secret in the recovery notice", address)

    # The old password is dead, the new one logs in, with the new key only.
    t.expect(t.api("login", {"username": user, "password": t.PASSWORD}),
             401, "invalid_credentials")
    body = t.expect(t.api("login", {"username": user,
                                    "password": NEW_PASSWORD}, url=TWO), 200)
    t.check(body.get("key_types") == ["email"],
            "the app's key is no longer offered", body)
    r = t.api("login/challenge", {"login": body["login"],
                                  "key_type": "totp"}, url=TWO)
    t.check(400 <= r.status < 500, "the old app key cannot be chosen",
            r.status, r.body)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}, url=TWO), 202)
    # The code goes to the new address, never the old one.
    login_code = t.mail_code(mbox, new_email)
    resp = t.api("login/verify", {"login": body["login"],
                                  "code": login_code}, url=TWO)
    t.check(t.expect(resp, 200) == {"username": user, "key_type": "email"},
            "the new key logs in", resp.body)
    fresh = t.session_cookie(resp)
    mbox.none_for(old_email, wait=0.5)
    me = t.expect(t.api("me", method="GET", headers=cookie(fresh), url=ONE),
                  200)
    t.check(me.get("username") == user, "the username is the same", me)
    states = {k["type"]: k["status"] for k in me.get("keys", [])}
    t.check(states.get("email") == "active" and
            states.get("totp", "inactive") == "inactive",
            "the e-mail key active, the app's inactive", me)
    t.check(t.backend("/app/env", fresh, url=TWO)[2].get("CSAM_USER") == user,
            "the recovered account reaches the application")
    t.check(person_accounts(reply["registration_id"]) == 1,
            "still one account for the person")
    t.check(t.scalar("SELECT count(*) FROM csam_accounts WHERE username = "
                     "'%s'" % user) == "1", "no second account of the name")
    # The old registration's link and code are long dead.
    t.forgive_source()


def opened(token, code):
    """The activation handle of a link and paper code, at the key step
    done (the e-mail key); None when the link is refused."""
    r = t.api("activation", {"token": token, "activation_code": code})
    t.check(r.status in (200, 410), "open: 200 or 410", r.status, r.body)
    if r.status != 200:
        return None
    t.check(r.body.get("account") == "new", "a new person", r.body)
    handle = r.body["activation"]
    r = t.api("activation/key", {"activation": handle, "key_type": "email",
                                 "accept_terms": True})
    t.check(r.status in (200, 410), "key: 200 or 410", r.status, r.body)
    return handle if r.status == 200 else None


def racer(ready, out, inbox, user, handle=None, reg=None, code=None):
    """One citizen's activation, in a thread: from `handle` (already past
    the key step; with `code`, past the credentials too: only the confirm
    is left) or from the officer's registration of `reg`.  Every racer
    starts together.  out gets each step's status (and "account", what the
    activation said); a step refused ends the run."""
    try:
        ready.wait(timeout=30)
        if code is not None:
            r = t.api("activation/confirm", {"activation": handle,
                                             "code": code})
            out["confirm"] = r.status
            out["username"] = (r.body or {}).get("username")
            return
        if handle is None:
            r = t.api("registrations", reg, auth=t.OFFICER)
            out["register"] = r.status
            if r.status != 201:
                return
            token = t.activation_link(inbox.wait(reg["email"]))
            r = t.api("activation", {"token": token, "activation_code":
                                     r.body["activation_code"]})
            out["open"] = r.status
            if r.status != 200:
                return
            out["account"] = r.body.get("account")
            handle = r.body["activation"]
            r = t.api("activation/key", {"activation": handle,
                                         "key_type": "email",
                                         "accept_terms": True})
            out["key"] = r.status
            if r.status != 200:
                return
        body = {"activation": handle, "password": t.PASSWORD,
                "password_repeat": t.PASSWORD}
        if out.get("account") != "existing":
            body["username"] = user
        r = t.api("activation/credentials", body)
        out["credentials"] = r.status
        if r.status != 202:
            return
        email = reg["email"] if reg else None
        r = t.api("activation/confirm",
                  {"activation": handle,
                   "code": t.mail_code(inbox, email or out["email"])})
        out["confirm"] = r.status
        out["username"] = (r.body or {}).get("username")
    except Exception as e:  # reported by the main thread
        out["exception"] = repr(e)


def race(racers):
    """Run racers (argument tuples of racer() after ready and out) at
    once; their outs."""
    ready = threading.Barrier(len(racers))
    outs = [dict(extra) for *_, extra in racers]
    threads = [threading.Thread(target=racer, args=(ready, out) + tuple(args))
               for (*args, _), out in zip(racers, outs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=90)
    t.check(not any(th.is_alive() for th in threads), "racers finished")
    print("# racers: %s" % [{k: v for k, v in o.items() if k != "email"}
                            for o in outs])
    for out in outs:
        t.check("exception" not in out, "a racer failed", out)
        t.check(all(v < 500 for v in out.values() if isinstance(v, int)),
                "no server error", out)
    return outs


def one_account(registration_ids, outs):
    for rid in registration_ids:
        t.check(person_accounts(rid) == 1,
                "one account for the person, never two", outs)
    t.check(t.scalar(
        "SELECT count(*) FROM csam_accounts WHERE status = 'active' AND "
        "nrn_hash = (SELECT nrn_hash FROM csam_registrations WHERE "
        "id = %d)" % registration_ids[0]) == "1",
        "the winner's account is active", outs)


def test_registrations_racing():
    """A number registered twice at the desk, both citizens past the paper
    code and the key (the second registration supersedes the first, but
    the first may already be open), then credentials and confirm at once:
    whichever wins, the person has one account, never two."""
    for _ in range(2):
        reg = t.citizen()
        other = dict(reg, email=reg["email"].replace("@", ".second@"))
        first = t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
        handle1 = opened(t.activation_link(mbox.wait(reg["email"])),
                         first["activation_code"])
        second = t.expect(t.api("registrations", other, auth=t.OFFICER), 201)
        handle2 = opened(t.activation_link(mbox.wait(other["email"])),
                         second["activation_code"])
        t.check(handle2 is not None, "the live registration opens")
        outs = race([(t.Mailbox(), t.username(), h, None, None,
                      {"email": c})
                     for h, c in ((handle1, reg["email"]),
                                  (handle2, other["email"])) if h])
        t.check(len([o for o in outs if o.get("confirm") == 200]) == 1,
                "exactly one activation wins", outs)
        one_account([second["registration_id"], first["registration_id"]],
                    outs)
        t.forgive_source()


def test_registration_racing_activation():
    """The officer registers the number again while the citizen confirms
    the first activation: the first wins (the second registration is then
    a recovery of its account, which keeps its name) or the second does
    (the first link dies with its pending account); never two accounts."""
    for _ in range(4):
        reg = t.citizen()
        other = dict(reg, email=reg["email"].replace("@", ".again@"))
        first = t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
        handle1 = opened(t.activation_link(mbox.wait(reg["email"])),
                         first["activation_code"])
        t.check(handle1 is not None, "the first registration opens")
        user = t.username()
        t.set_credentials(handle1, user)
        code = t.mail_code(mbox, reg["email"])
        outs = race([(t.Mailbox(), user, handle1, None, code, {}),
                     (t.Mailbox(), t.username(), None, other, None, {})])
        t.check([o for o in outs if o.get("confirm") == 200],
                "an activation wins", outs)
        if outs[1].get("account") == "existing":
            t.check(outs[0].get("confirm") == 200, "the first won", outs)
            t.check(outs[1].get("username") in (None, user),
                    "the recovery keeps the username", outs)
        rid = int(t.scalar("SELECT max(id) FROM csam_registrations"))
        one_account([rid, first["registration_id"]], outs)
        t.forgive_source()


t.run([test_desk_recovery, test_registrations_racing,
       test_registration_racing_activation])
