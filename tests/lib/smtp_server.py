#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""SMTP server for the integration tests (started by run-with-services).

smtp_server.py --port P --maildir DIR [--tls starttls|smtps --cert PEM
               --key PEM] [--auth USER:PASSWORD [--auth-log FILE]]

Listens on 127.0.0.1:P (P 0: a free port), stores every accepted message
as one file in the Maildir DIR (DIR/new/), prints "ready PORT" on stdout
once it listens and stops cleanly on SIGTERM or SIGINT.  It is a real SMTP
server (aiosmtpd, Debian package python3-aiosmtpd): the code under test
speaks SMTP to it exactly as it would to a relay.

By default STARTTLS is not offered (loopback only), so smtp:// URLs with
CURLUSESSL_TRY deliver in clear, as they should here.  --tls starttls
offers STARTTLS and refuses MAIL before it (a relay that requires TLS);
--tls smtps speaks TLS from the first byte (RFC 8314).  --auth makes AUTH
PLAIN/LOGIN with these credentials required before MAIL, and offers it
even without TLS, so a client that would send a password in clear can be
caught doing it: every AUTH attempt is appended to --auth-log as
"tls=0|1 ok=0|1" (never the password).

The envelope is recorded in X-Csam-Envelope-From / X-Csam-Envelope-To
headers prepended to the stored message, so tests can check MAIL FROM and
RCPT TO as well as the headers the client wrote.
"""
import argparse
import asyncio
import logging
import mailbox
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

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


class Authenticator:
    """Accepts exactly one user and password; logs each attempt."""

    def __init__(self, credentials, log):
        user, _, password = credentials.partition(":")
        self.user = user.encode()
        self.password = password.encode()
        self.log = log

    def __call__(self, server, session, envelope, mechanism, auth_data):
        tls = (server._tls_protocol is not None
               or server.transport.get_extra_info("ssl_object") is not None)
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user
              and auth_data.password == self.password)
        if self.log:
            with open(self.log, "a") as f:
                f.write("tls=%d ok=%d\n" % (tls, ok))
        return AuthResult(success=ok)


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tls", choices=("starttls", "smtps"))
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth")
    parser.add_argument("--auth-log")
    args = parser.parse_args()
    if args.tls and not (args.cert and args.key):
        parser.error("--tls needs --cert and --key")

    # Maildir(create=True) makes tmp/ new/ cur/ only when DIR is new, and
    # run-with-services creates DIR beforehand.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    handler = MaildirHandler(args.maildir)
    ctx = tls_context(args.cert, args.key) if args.tls else None
    kwargs = {
        "data_size_limit": MAX_MESSAGE,
        "decode_data": False,
        "ident": "csam-test-smtp",
        # not socket.getfqdn() at each connection: no DNS in the tests
        "hostname": "localhost",
    }
    if args.tls == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        # aiosmtpd warns (rightly) about what follows; here it is the point
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
    if args.tls:
        # a client refusing the certificate is what the tests want to see
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        # Offered in clear too (the library would hide it): the client
        # under test is the one that must refuse to use it.
        kwargs.update(authenticator=Authenticator(args.auth, args.auth_log),
                      auth_required=True, auth_require_tls=False)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, loop=loop, **kwargs), host=args.host,
        port=args.port, ssl=ctx if args.tls == "smtps" else None))
    port = server.sockets[0].getsockname()[1]
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, loop.stop)
    print("ready %d" % port, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
