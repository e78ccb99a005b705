#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Print the shell blocks of README.md's "Deploy on Debian 12" section that
tests/debian/check-packages.sh runs, so the README and the test cannot
drift apart: the test runs what the README says.

Between "<!-- deploy-test: begin -->" and "<!-- deploy-test: end -->",
each "<!-- deploy-test: run [stdin=NAME] [save=NAME] -->" marker is
followed by one ```sh block.  Writes each block to DIR/NN.sh and its
options to DIR/NN.opts ("stdin=NAME save=NAME"); prints the count.
Exits 1 when the section, a marker's block or the end marker is missing.
"""
import os
import re
import sys

readme, out = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
try:
    begin = lines.index("<!-- deploy-test: begin -->")
    end = lines.index("<!-- deploy-test: end -->")
except ValueError:
    sys.exit("readme_blocks: no deploy-test begin/end markers in " + readme)
marker = re.compile(r"^<!-- deploy-test: run((?: [a-z]+=[a-z-]+)*) -->$")
count = 0
i = begin + 1
while i < end:
    m = marker.match(lines[i])
    i += 1
    if not m:
        continue
    while i < end and lines[i] == "":
        i += 1
    if i >= end or lines[i] != "```sh":
        sys.exit("readme_blocks: marker at line %d is not followed by a ```sh block" % i)
    j = lines.index("```", i + 1)
    if j > end:
        sys.exit("readme_blocks: the block at line %d runs past the end marker" % (i + 1))
    count += 1
    base = os.path.join(out, "%02d" % count)
    with open(base + ".sh", "w", encoding="utf-8") as f:
        f.write("\n".join(lines[i + 1:j]) + "\n")
    with open(base + ".opts", "w", encoding="utf-8") as f:
        f.write(m.group(1).strip() + "\n")
    i = j + 1
if count == 0:
    sys.exit("readme_blocks: no deploy-test blocks in " + readme)
print(count)
