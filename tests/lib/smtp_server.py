#!/usr/bin/python3
"""SMTP server for the integration tests (started by run-with-services).

smtp_server.py --port P --maildir DIR

Listens on 127.0.0.1:P, stores every accepted message as one file in the
Maildir DIR (DIR/new/), prints "ready" on stdout once it listens and stops
cleanly on SIGTERM or SIGINT.  It is a real SMTP server (aiosmtpd, Debian
package python3-aiosmtpd): the code under test speaks SMTP to it exactly as
it would to a relay.  STARTTLS is not offered (loopback only), so smtp://
URLs with CURLUSESSL_TRY deliver in clear, as they should here.

The envelope is recorded in X-Csam-Envelope-From / X-Csam-Envelope-To
headers prepended to the stored message, so tests can check MAIL FROM and
RCPT TO as well as the headers the client wrote.
"""
import argparse
import asyncio
import mailbox
import os
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

MAX_MESSAGE = 10 * 1024 * 1024


class MaildirHandler:
    def __init__(self, path):
        self.maildir = mailbox.Maildir(path, factory=None, create=True)

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        head = ("X-Csam-Envelope-From: %s\r\n" % envelope.mail_from).encode()
        for rcpt in envelope.rcpt_tos:
            head += ("X-Csam-Envelope-To: %s\r\n" % rcpt).encode()
        # mailbox.Maildir.add writes to tmp/ then renames into new/, so a
        # reader never sees a half-written file.
        self.maildir.add(head + data)
        return "250 OK stored"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    # Maildir(create=True) makes tmp/ new/ cur/ only when DIR is new, and
    # run-with-services creates DIR beforehand.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    handler = MaildirHandler(args.maildir)
    controller = Controller(
        handler,
        hostname=args.host,
        port=args.port,
        data_size_limit=MAX_MESSAGE,
        decode_data=False,
        server_kwargs={"ident": "csam-test-smtp"},
    )
    controller.start()

    loop = asyncio.new_event_loop()
    stop = loop.create_future()

    def on_signal(signum, frame):
        loop.call_soon_threadsafe(
            lambda: stop.done() or stop.set_result(signum))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("ready", flush=True)
    try:
        loop.run_until_complete(stop)
    finally:
        controller.stop()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
