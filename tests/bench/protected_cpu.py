# SPDX-License-Identifier: Apache-2.0
"""CPU time spent by the servers, for tests/bench/protected.sh (python3
standard library, Linux /proc).

Requests per second on a shared machine measure the scheduler as much as
the module: another job's build halves them.  The CPU time httpd and
PostgreSQL spend per answered request does not depend on what else runs,
so the driver prints it beside the rates.  Each server is counted as its
parent process and its children: the parent's own time, the time of its
live children, and (cutime, cstime) that of children it has reaped.
"""
import os

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid, which=(0, 1)):
    """(ppid, own ticks, reaped children's ticks) of a process, or None;
    which picks user (0) and/or system (1) time."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after it.
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 of proc(5): ppid is 4, utime..cstime 14..17.
    ppid = int(fields[1])
    own = sum(int(fields[11 + w]) for w in which)
    reaped = sum(int(fields[13 + w]) for w in which)
    return ppid, own, reaped


def tree_seconds(parent, which=(0, 1)):
    """CPU seconds of a process and all its children, live or reaped."""
    st = _stat(parent, which)
    if st is None:
        return 0.0
    ticks = st[1] + st[2]
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        child = _stat(int(name), which)
        if child is not None and child[0] == parent:
            ticks += child[1]
    return ticks / TICK


def children(parent):
    """The pids of a process's children."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None and st[0] == parent:
                out.append(int(name))
    return out


def httpd_pid():
    # httpd-run keeps node 1's foreground httpd pid there.
    with open(os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"],
                           "fg.pid")) as f:
        return int(f.read().strip())


def postmaster_pid():
    # run-with-services: the cluster lives in $tmp/pg/data, pg-ctl in $tmp.
    path = os.path.join(os.path.dirname(os.environ["CSAM_TEST_PG_CTL"]),
                        "pg", "data", "postmaster.pid")
    with open(path) as f:
        return int(f.readline().strip())


def servers():
    """(httpd seconds, PostgreSQL seconds, httpd's user seconds) so far."""
    httpd = httpd_pid()
    return (tree_seconds(httpd), tree_seconds(postmaster_pid()),
            tree_seconds(httpd, (0,)))
