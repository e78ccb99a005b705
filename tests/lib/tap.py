# SPDX-License-Identifier: Apache-2.0
"""TAP output of the stand-alone test programs (tests/bench/storm.py,
tests/failover/failover.py): numbered "ok" / "not ok" lines, a failure's
details and the measured figures as "# " comments, flushed at once so that
a run killed by its timeout still shows how far it got."""
import sys


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def check(self, cond, what, *detail):
        """One numbered line; the details of a failure below it."""
        self.count += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.count, what))
        if not cond:
            self.failed += 1
            for d in detail:
                print("#   %s" % (d,))
        sys.stdout.flush()
        return cond

    @staticmethod
    def figure(fmt, *args):
        print("# " + fmt % args)
        sys.stdout.flush()

    def plan(self):
        print("1..%d" % self.count)

    def status(self):
        """The program's exit status: 1 when a check failed."""
        return 1 if self.failed else 0
