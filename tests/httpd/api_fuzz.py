#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Mutated request bodies against every endpoint of the JSON API: each gets
a JSON error of the 4xx family, never a 500, a crash or a sanitizer report
(httpd-run fails the test on those).  The seed is printed; CSAM_FUZZ_SEED
replays a run, CSAM_FUZZ_ROUNDS makes it longer."""
import json
import os
import random
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
SEED = int(os.environ.get("CSAM_FUZZ_SEED", "20261201"))
ROUNDS = int(os.environ.get("CSAM_FUZZ_ROUNDS", "600"))
rng = random.Random(SEED)
print("# seed %d, %d rounds" % (SEED, ROUNDS))

ENDPOINTS = {
    "registrations": lambda: t.citizen(),
    "activation": lambda: {"token": "A" * 43, "activation_code":
                           "K7QF-M2XD-9RTA"},
    "activation/key": lambda: {"activation": "A" * 43, "key_type": "email",
                               "accept_terms": True},
    "activation/credentials": lambda: {"activation": "A" * 43,
                                       "username": "someone",
                                       "password": t.PASSWORD,
                                       "password_repeat": t.PASSWORD},
    "activation/confirm": lambda: {"activation": "A" * 43,
                                   "code": "123456"},
    "activation/resend": lambda: {"activation": "A" * 43},
    "login": lambda: {"username": "someone", "password": t.PASSWORD},
    "login/challenge": lambda: {"login": "A" * 43, "key_type": "email"},
    "login/verify": lambda: {"login": "A" * 43, "code": "123456"},
    # Without a session these stop at 401, after the body is read.
    "keys": lambda: {"key_type": "email", "accept_terms": True},
    "keys/confirm": lambda: {"key_type": "email", "code": "123456"},
    "password": lambda: {"current_password": t.PASSWORD,
                         "password": t.PASSWORD,
                         "password_repeat": t.PASSWORD},
}

ODD_VALUES = [None, True, False, 0, -1, 2 ** 63, 1e308, "", " ", "\u0000",
              "\ud7ff", "\uffff", "\U0001f600" * 50, "é" * 200, "A" * 5000,
              [], {}, [[[[[]]]]], {"a": {"b": {"c": {}}}}, "%s%n%x",
              "\\u0000", "<script>", "../../", "\u202e", "\u2028"]


def mutate_value(v):
    choice = rng.random()
    if choice < 0.4:
        return rng.choice(ODD_VALUES)
    if isinstance(v, str) and v:
        i = rng.randrange(len(v))
        return v[:i] + chr(rng.choice([0x27, 0x22, 0x5c, 0x7f, 0xa0, 0x300,
                                       0xfeff, rng.randrange(32, 0x2fff)])) \
            + v[i + 1:]
    if isinstance(v, dict):
        return mutate_obj(v)
    return rng.choice(ODD_VALUES)


def mutate_obj(obj):
    obj = dict(obj)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        keys = list(obj)
        if op < 0.5 and keys:
            k = rng.choice(keys)
            obj[k] = mutate_value(obj[k])
        elif op < 0.7 and keys:
            del obj[rng.choice(keys)]
        else:
            obj[rng.choice(["x", "token", "code", "__proto__", "é",
                            "a" * 300])] = rng.choice(ODD_VALUES)
    return obj


def mutate_bytes(raw):
    raw = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        if not raw:
            break
        i = rng.randrange(len(raw))
        op = rng.random()
        if op < 0.4:
            raw[i] = rng.randrange(256)
        elif op < 0.7:
            del raw[i:i + rng.randint(1, 8)]
        else:
            raw[i:i] = bytes(rng.choice([b"\x00", b"{", b"[", b"\"", b"\\",
                                         b"\xc3", b"\xff", b"}" * 40,
                                         b"[" * 2000]))
    return bytes(raw)


def test_fuzz():
    t.forgive_source()
    seen = {}
    for i in range(ROUNDS):
        path = rng.choice(sorted(ENDPOINTS))
        base = ENDPOINTS[path]()
        if rng.random() < 0.5:
            raw = json.dumps(mutate_obj(base)).encode()
        else:
            raw = mutate_bytes(json.dumps(base).encode())
        r = t.api(path, raw=raw, auth=t.OFFICER)
        seen[r.status] = seen.get(r.status, 0) + 1
        t.check(400 <= r.status < 500 or r.status in (201, 502),
                "round %d: %s answered %d" % (i, path, r.status), raw[:200],
                r.body)
        if i % 100 == 99:
            t.forgive_source()
    print("# statuses: %s" % json.dumps(seen, sort_keys=True))
    t.check(seen.get(400, 0) > ROUNDS // 4, "most mutations are refused",
            seen)


t.run([test_fuzz])
