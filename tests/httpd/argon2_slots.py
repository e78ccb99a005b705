#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Password checks take turns in slots shared by a server's children and
by the servers naming one CSAMArgon2Slots file (mod_csam(8)), through two
httpd nodes of several prefork children each, CSAMArgon2Max 1, one file
on /dev/shm.

- The file is made as mod_csam(8) says: a regular file of the user httpd
  starts as, mode 0600, one slot.
- A holder of the slot outside both servers (this test, writing the
  file's owner word) holds back every login on either node: 503 with
  Retry-After after the 2 s wait, CSAM00750 logged.  Given back, both
  nodes check passwords again.
- A holder that no longer exists loses the slot: the next login is
  checked within the half second after which waiters look for the dead.
- Twelve logins at once over both nodes are all checked (none 503), by
  more than one process, each check logged as 1 of at most 1.
- A CSAMArgon2Slots file outside a memory file system stops the start,
  naming the directive and the reason (CSAM01111); nothing is left there.
"""
import mmap
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

SLOTS = "/dev/shm/csam-test-%s.slots" % os.path.basename(
    os.environ.get("CSAM_TEST_TMPDIR", "none"))
EXTRA = """
LogLevel warn csam:debug
CSAMArgon2Max 1
CSAMArgon2Slots %s
StartServers 4
MinSpareServers 4
MaxSpareServers 8
""" % SLOTS
# The table's header (common/base/argon2_slots.c): magic, slots,
# reserved, bytes, released, recent, then one owner word a slot.
HEAD = struct.Struct("=8sIIQII")
OWNER = HEAD.size

if not os.path.isdir("/dev/shm"):
    print("SKIP: no /dev/shm on this machine")
    sys.exit(77)
status = t.start(__file__, httpd_opts=("--nodes", "2", "--mpm", "prefork"),
                 extra_conf=EXTRA, child=True)
if status is not None:
    # After both nodes stopped: the file is this test's to remove.
    try:
        os.unlink(SLOTS)
    except FileNotFoundError:
        pass
    sys.exit(status)

URLS = os.environ["CSAM_TEST_HTTPD_URLS"].split()
LOGS = os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split()
_seq = [0]


def guess(url):
    """A login of a name no one has: one Argon2id run (the decoy hash)."""
    _seq[0] += 1
    return t.api("login", {"username": "nobody%d.%d" % (os.getpid(),
                                                        _seq[0]),
                           "password": "Not-the-password-1"}, url=url)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(starts):
    text = ""
    for log, start in zip(LOGS, starts):
        with open(log, encoding="utf-8", errors="replace") as f:
            f.seek(start)
            text += f.read()
    return text


def log_sizes():
    return [os.path.getsize(log) for log in LOGS]


class Table:
    """The slots file, mapped here as a third server would."""

    def __init__(self):
        self.f = open(SLOTS, "r+b")
        self.m = mmap.mmap(self.f.fileno(), 0)
        magic, slots, _, _, _, _ = HEAD.unpack_from(self.m, 0)
        t.check(magic == b"CSAMAS02" and slots == 1, "the table's header",
                magic, slots)

    def owner(self):
        return struct.unpack_from("=i", self.m, OWNER)[0]

    def hold(self, pid):
        struct.pack_into("=i", self.m, OWNER, pid)

    def give_back(self):
        struct.pack_into("=i", self.m, OWNER, 0)
        released = struct.unpack_from("=I", self.m, 24)[0]
        struct.pack_into("=I", self.m, 24, (released + 1) & 0xffffffff)

    def close(self):
        self.m.close()
        self.f.close()


def test_the_file():
    st = os.stat(SLOTS)
    t.check(st.st_uid == os.geteuid() and (st.st_mode & 0o777) == 0o600,
            "a file of httpd's starting user, mode 0600", oct(st.st_mode),
            st.st_uid)


def test_an_outside_holder_holds_back_both_nodes():
    table = Table()
    t.check(table.owner() == 0, "the slot is free", table.owner())
    starts = log_sizes()
    table.hold(os.getpid())
    try:
        for url in URLS:
            began = time.monotonic()
            r = guess(url)
            took = time.monotonic() - began
            t.check(r.status == 503 and r.body.get("error") == "unavailable",
                    "held back", url, r.status, r.body)
            t.check(r.header("retry-after") == "1", "Retry-After: 1",
                    r.headers)
            t.check(1.5 <= took < 10, "after the 2 s wait", took)
    finally:
        table.give_back()
    time.sleep(0.3)
    refused = re.findall(r"CSAM00750: ", log_tail(starts))
    t.check(len(refused) == len(URLS), "each node logged its refusal",
            refused)
    for url in URLS:
        r = guess(url)
        t.check(r.status == 401, "checked again", url, r.status, r.body)
    table.close()


def test_a_dead_holder_loses_the_slot():
    table = Table()
    gone = subprocess.Popen(["true"])
    gone.wait()
    table.hold(gone.pid)
    began = time.monotonic()
    r = guess(URLS[1])
    took = time.monotonic() - began
    t.check(r.status == 401, "checked once the holder is found dead",
            r.status, r.body)
    t.check(took < 1.9, "within the half second of a look for the dead",
            took)
    t.check(table.owner() == 0, "the slot is free again", table.owner())
    table.close()


def test_many_at_once_take_turns():
    starts = log_sizes()
    barrier = threading.Barrier(12)
    statuses = []
    lock = threading.Lock()

    def one(i):
        barrier.wait()
        r = guess(URLS[i % 2])
        with lock:
            statuses.append(r.status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(statuses == [401] * 12, "every login checked", statuses)
    time.sleep(0.3)
    text = log_tail(starts)
    checks = re.findall(r"\[pid (\d+)[^\]]*\][^\n]*CSAM00751: password "
                        r"check (\d+) of at most 1 ", text)
    pids = {pid for pid, _ in checks}
    waited = len(re.findall(r"CSAM00751: [^\n]*\(waited\)", text))
    print("# 12 logins at once over 2 nodes, CSAMArgon2Max 1 shared: %d "
          "checks by %d processes, %d waited their turn" %
          (len(checks), len(pids), waited))
    t.check(len(checks) == 12, "every check logged", checks)
    t.check({n for _, n in checks} == {"1"}, "one at a time", checks)
    t.check(len(pids) >= 2, "by more than one process", pids)
    t.check(waited > 0, "the others waited their turn", waited)


def test_a_file_on_disk_stops_the_start():
    conf_dir = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
    scratch = os.path.join(os.environ["CSAM_TEST_TMPDIR"], "disk-slots")
    os.makedirs(scratch, exist_ok=True)
    on_disk = os.path.join(scratch, "argon2.slots")
    with open(os.path.join(conf_dir, "csam.conf"), encoding="utf-8") as f:
        csam = f.read()
    probe = subprocess.run(["stat", "-f", "-c", "%T", scratch],
                           capture_output=True, text=True)
    if probe.stdout.strip() in ("tmpfs", "ramfs"):
        print("# the scratch directory is in memory: no disk to refuse")
        return
    path = os.path.join(scratch, "httpd.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Include %s/common.conf\n" % conf_dir)
        f.write("Listen 127.0.0.1:%d\n" % free_port())
        f.write("PidFile %s/httpd.pid\n" % scratch)
        f.write("ErrorLog %s/error_log\n" % scratch)
        f.write(csam)
        f.write("CSAMArgon2Slots %s\n" % on_disk)
    p = subprocess.run([os.environ["CSAM_TEST_APACHE2"], "-f", path,
                        "-DFOREGROUND"], capture_output=True, text=True,
                       timeout=60)
    with open(os.path.join(scratch, "error_log"), encoding="utf-8",
              errors="replace") as f:
        log = f.read() + p.stdout + p.stderr
    t.check(p.returncode != 0, "the start stopped", p.returncode, log)
    t.check(re.search(r"CSAM01111: .*CSAMArgon2Slots %s.*not on a memory "
                      r"file system" % re.escape(on_disk), log),
            "the reason, naming the directive and the file", log)
    t.check(not os.path.exists(on_disk), "nothing left on the disk")


t.run([test_the_file, test_an_outside_holder_holds_back_both_nodes,
       test_a_dead_holder_loses_the_slot, test_many_at_once_take_turns,
       test_a_file_on_disk_stops_the_start])
