#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""SMS gateway for the tests: records what an HTTP SMS transport posts.

sms_sink.py --port P --dir D

Listens on 127.0.0.1:P (P = 0: a free port the kernel picks), prints
"ready PORT" on stdout once it listens, and stores every POST it receives
as one JSON file in D:

    {"method": "POST", "path": "/send?x=1", "headers": {...}, "body": "..."}

named <time_ns>.<seq>.json and written atomically (a dot-file renamed into
place), so a reader never sees half a message.  It answers 200 with
{"status": "accepted"}; a POST to /status/NNN is recorded too and answered
with status NNN, so tests can make the gateway refuse.  Bodies over 64 KiB
get 413 and are not recorded.  It stops cleanly on SIGTERM or SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIMIT = 64 * 1024


class Sink(BaseHTTPRequestHandler):
    server_version = "csam-sms-sink"
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    seq = 0

    def answer(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > LIMIT:
            self.close_connection = True
            self.answer(413, {"status": "too large"})
            return
        body = self.rfile.read(length)
        with Sink.lock:
            Sink.seq += 1
            name = "%d.%06d.json" % (time.time_ns(), Sink.seq)
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        tmp = os.path.join(self.server.out, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.server.out, name))
        status = 200
        parts = self.path.split("?")[0].split("/")
        if len(parts) == 3 and parts[1] == "status" and parts[2].isdigit():
            status = int(parts[2])
        if status == 200:
            self.answer(200, {"status": "accepted"})
        else:
            self.answer(status, {"status": "refused"})

    def do_GET(self):
        self.answer(405, {"status": "POST only"})

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Sink)
    server.daemon_threads = True
    server.out = args.dir

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready %d" % server.server_address[1], flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
