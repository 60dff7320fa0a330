"""Run Ceph's own client-side validation (ceph_argparse.validate_command,
the code behind the `ceph` CLI) over a description table and a list of
command lines, for the matcher's differential test.

stdin: {"descriptions": "<path>", "cases": [["word", ...], ...]}
stdout: [{"dict": {...}, "stderr": "..."}, ...]
"""
import io
import json
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import ceph_argparse  # noqa: E402

req = json.load(sys.stdin)
with open(req["descriptions"]) as f:
    sigdict = ceph_argparse.parse_json_funcsigs(f.read(), "cli")
out = []
for words in req["cases"]:
    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        d = ceph_argparse.validate_command(sigdict, words)
    finally:
        sys.stderr = old
    out.append({"dict": d, "stderr": err.getvalue()})
json.dump(out, sys.stdout)
