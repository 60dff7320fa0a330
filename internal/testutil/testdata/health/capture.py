#!/usr/bin/python3
"""Capture a Ceph monitor's health replies into ceph-16.2.15.json.

Run against a throwaway loopback cluster (Ceph 16.2.15, Pacific), with the
system Python (it needs python3-rados):

    env=$(scripts/ceph-cluster.sh start /tmp/c1) && eval "$env"
    ceph mgr module enable selftest
    /usr/bin/python3 internal/testutil/testdata/health/capture.py > internal/testutil/testdata/health/ceph-16.2.15.json
    scripts/ceph-cluster.sh destroy /tmp/c1

The checks are raised with "ceph osd set noout" (the monitor's OSDMAP_FLAGS)
and the Python selftest module's "mgr self-test health set" (which always
sets count 123); mutes with "ceph health mute". Each reply is the monitor's
output buffer, byte for byte, as librados returns it (the ceph CLI prints
it unchanged, after a blank line for -f json*). "status" is the health
block of the monitor's plain "status" output.
"""
import json
import os
import subprocess
import time

import rados

WARN = {"MGR_TEST_WARN": {"severity": "warning", "summary": "a mild concern",
                          "detail": ["osd.1 is slow", "osd.2 is slower"]}}
ERR = {
    "MGR_TEST_ERR": {"severity": "error", "summary": "something is badly broken",
                     "detail": ["first thing: broken", "second thing: also broken"]},
    "MGR_TEST_ESC": {"severity": "warning",
                     "summary": 'a/b "q" back\\slash tab\there \u00e9 \u65e5\u672c <>&',
                     "detail": ["line\nbreak", "ctl\x01\x08\x0c\r\x1b\x7f.", "u2028\u2028."]},
}

COMMANDS = {
    "health": {},
    "health detail": {"detail": "detail"},
    "health -f json": {"format": "json"},
    "health detail -f json": {"detail": "detail", "format": "json"},
    "health -f json-pretty": {"format": "json-pretty"},
    "health detail -f json-pretty": {"detail": "detail", "format": "json-pretty"},
    "health detail -f plain": {"detail": "detail", "format": "plain"},
    "health detail -f yaml": {"detail": "detail", "format": "yaml"},
}


def ceph(*args):
    subprocess.run(["ceph", *args], check=True, capture_output=True)


def mon(cluster, cmd):
    r, out, outs = cluster.mon_command(json.dumps(cmd), b"")
    assert r == 0, (cmd, r, outs)
    return out.decode("utf-8")


def wait_for(cluster, names):
    for _ in range(120):
        checks = json.loads(mon(cluster, {"prefix": "health", "format": "json"}))["checks"]
        if sorted(checks) == sorted(names):
            return
        time.sleep(0.5)
    raise RuntimeError("health checks never became %s" % names)


def status_block(cluster):
    lines = mon(cluster, {"prefix": "status"}).split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("    health: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("            "))
    return "\n".join(lines[start:end]) + "\n"


def capture(cluster):
    out = {name: mon(cluster, dict(prefix="health", **args)) for name, args in COMMANDS.items()}
    out["status"] = status_block(cluster)
    return out


def main():
    cluster = rados.Rados(conffile=os.environ["CEPH_CONF"], conf={"keyring": os.environ["CEPH_KEYRING"]})
    cluster.connect()
    ceph("mgr", "self-test", "health", "clear")
    ceph("osd", "unset", "noout")
    for code in ("OSDMAP_FLAGS", "MGR_TEST_WARN"):
        subprocess.run(["ceph", "health", "unmute", code], capture_output=True)
    wait_for(cluster, [])
    scenarios = {"ok": capture(cluster)}

    ceph("osd", "set", "noout")
    ceph("mgr", "self-test", "health", "set", json.dumps(WARN))
    wait_for(cluster, ["OSDMAP_FLAGS", *WARN])
    scenarios["warn"] = capture(cluster)

    ceph("mgr", "self-test", "health", "set", json.dumps(ERR))
    wait_for(cluster, ["OSDMAP_FLAGS", *WARN, *ERR])
    scenarios["err"] = capture(cluster)

    ceph("health", "mute", "OSDMAP_FLAGS")
    ceph("health", "mute", "MGR_TEST_WARN", "--sticky")
    time.sleep(2)
    scenarios["muted"] = capture(cluster)

    ceph("health", "unmute", "OSDMAP_FLAGS")
    ceph("health", "unmute", "MGR_TEST_WARN")
    ceph("mgr", "self-test", "health", "clear")
    ceph("osd", "unset", "noout")
    version = mon(cluster, {"prefix": "version", "format": "json"})
    print(json.dumps({"captured_from": json.loads(version)["version"],
                      "how": "internal/testutil/testdata/health/capture.py",
                      "scenarios": scenarios}, indent=1, sort_keys=True))


main()
