#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""CSAMPoolMax: a virtual host with its own CSAM settings has its own
database pool in every child, and no child opens more than CSAMPoolMax
connections for it, however many of its threads need one at once; the
requests beyond wait for a connection and are all answered."""
import concurrent.futures
import os
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

POOL_APP = "csam-pool-max-test"
POOL_MAX = 2


def server_conf():
    """None before the services exist (the first stage only
    re-executes)."""
    if not os.environ.get("CSAM_TEST_PG") \
            or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    # Its own application_name tells its connections apart in
    # pg_stat_activity.
    return """
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName pool.test
    CSAMDatabase "%(pg)s application_name=%(app)s"
    CSAMPoolMax %(max)d
</VirtualHost>
""" % {"pg": os.environ["CSAM_TEST_PG_WEB"], "app": POOL_APP, "max": POOL_MAX}


t.start(__file__, extra_conf=server_conf())
mbox = t.Mailbox()
# Sixteen clients at once on sixteen workers, whose password checks queue
# for CSAMArgon2Max: httpd may say it reached MaxRequestWorkers.

# A burst bigger than the workers: httpd's parent may say so, within a
# second of the burst (its maintenance tick), or not at all.
MAX_WORKERS = (r"mpm_[a-z]+:error AH00484: server reached MaxRequestWorkers "
               r"setting, consider raising the MaxRequestWorkers setting")


def test_pool_max_bounds_connections():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    user = a["username"]
    headers = {"Host": "pool.test"}
    count_sql = ("SELECT count(*) FROM pg_stat_activity WHERE "
                 "application_name = '%s'" % POOL_APP)
    t.check(int(t.scalar(count_sql)) == 0, "no connection before a "
            "request")

    def one(_):
        return t.api("login", {"username": user, "password": t.PASSWORD},
                     headers=headers).status

    # Sixteen password checks (Argon2id, each holding its connection while
    # it runs) at once on two children of eight threads.
    with t.log_expected(optional=(MAX_WORKERS,), settle=1.5), \
            concurrent.futures.ThreadPoolExecutor(16) as ex:
        statuses = list(ex.map(one, range(32)))
    t.check(statuses == [200] * 32, "every login answered", statuses)
    opened = int(t.scalar(count_sql))
    # Idle connections stay in their pool: what is open now is what the
    # children opened, at most CSAMPoolMax each (httpd-run: ServerLimit 2).
    t.check(1 <= opened <= 2 * POOL_MAX, "connections of a pool capped at "
            "%d in each of two children" % POOL_MAX, opened)


t.run([test_pool_max_bounds_connections])
