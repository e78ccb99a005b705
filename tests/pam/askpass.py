#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""SSH_ASKPASS for the sshd test: answers ssh's keyboard-interactive prompt
with the security code mailed to CSAM_ASKPASS_TO, read from the test SMTP
server's Maildir (CSAM_ASKPASS_MAILDIR).

ssh runs this once the prompt has arrived, and pam_csam sends its mail
before it prompts: the code is the one of a mail not listed in the file
CSAM_ASKPASS_SEEN or, when there is none (the module reused a pending
code), of the newest mail to that address.  Each prompt is appended to
CSAM_ASKPASS_LOG so the test can see what ssh showed.
"""
import email
import email.policy
import os
import re
import sys

prompt = sys.argv[1] if len(sys.argv) > 1 else ""
maildir = os.path.join(os.environ["CSAM_ASKPASS_MAILDIR"], "new")
to = os.environ["CSAM_ASKPASS_TO"]
with open(os.environ["CSAM_ASKPASS_SEEN"]) as f:
    seen = set(f.read().split())
with open(os.environ["CSAM_ASKPASS_LOG"], "a") as f:
    f.write(prompt.replace("\n", " ") + "\n")

fresh, old = [], []
for name in os.listdir(maildir) if os.path.isdir(maildir) else []:
    path = os.path.join(maildir, name)
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    if to not in (msg.get_all("X-Csam-Envelope-To") or []):
        continue
    body = msg.get_body(preferencelist=("plain",))
    codes = re.findall(r"(?<!\d)\d{6,8}(?!\d)",
                       body.get_content() if body else "")
    if len(codes) == 1:
        (old if name in seen else fresh).append(
            (os.stat(path).st_mtime_ns, codes[0]))
pick = sorted(fresh) or sorted(old)[-1:]
if not pick:
    sys.exit(1)
print(pick[0][1])
