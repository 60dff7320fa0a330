"""Run Ceph's own argument validators over test cases (differential oracle).

Usage: python3 argtype_oracle.py <dir holding ceph_argparse.py>
stdin:  JSON list of {"type": "CephInt", "kwargs": {...}, "word": "...",
        "partial": false}
stdout: JSON list, one result per case:
        {"ok": true, "vtype": "int|float|bool|str", "val": "<text>"} or
        {"ok": false, "class": "ArgumentValid", "msg": "<message>"} or
        {"ok": false, "class": "crash", "msg": "<exception type>: <text>"}
Integers are sent as decimal text and floats as repr() so nothing is lost.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import ceph_argparse  # noqa: E402


def run(case):
    cls = getattr(ceph_argparse, case["type"])
    t = cls(**case.get("kwargs", {}))
    try:
        t.valid(case["word"], case.get("partial", False))
    except ceph_argparse.ArgumentError as e:
        return {"ok": False, "class": type(e).__name__, "msg": str(e)}
    except Exception as e:  # a Ceph bug, not a validation result
        return {"ok": False, "class": "crash",
                "msg": "%s: %s" % (type(e).__name__, e)}
    v = t.val
    if isinstance(v, bool):
        return {"ok": True, "vtype": "bool", "val": "true" if v else "false"}
    if isinstance(v, int):
        return {"ok": True, "vtype": "int", "val": str(v)}
    if isinstance(v, float):
        return {"ok": True, "vtype": "float", "val": repr(v)}
    return {"ok": True, "vtype": "str", "val": str(v)}


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
