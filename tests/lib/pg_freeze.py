# SPDX-License-Identifier: Apache-2.0
"""Freeze the test cluster: SIGSTOP its postmaster and every backend, so
the database hangs instead of failing (connections stay open, connects
are accepted by the kernel, nothing answers).  Used as a context manager,
which always sends SIGCONT again, even when the test fails: a cluster
left stopped would hang the rest of the suite and its cleanup."""
import atexit
import os
import signal


def _postmaster():
    path = os.path.join(os.environ["CSAM_TEST_PG_DATA"], "postmaster.pid")
    with open(path) as f:
        return int(f.readline().strip())


def _children(ppid):
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == ppid:
            kids.append(int(name))
    return kids


class Frozen:
    def __init__(self):
        self.pids = []

    def __enter__(self):
        atexit.register(self.thaw)
        pm = _postmaster()
        # The postmaster first: stopped, it starts no new backend.
        os.kill(pm, signal.SIGSTOP)
        self.pids.append(pm)
        for pid in _children(pm):
            try:
                os.kill(pid, signal.SIGSTOP)
                self.pids.append(pid)
            except ProcessLookupError:
                pass
        return self

    def thaw(self):
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.pids = []

    def __exit__(self, *exc):
        self.thaw()
        return False
