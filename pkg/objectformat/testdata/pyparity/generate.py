#!/usr/bin/python3
"""Regenerate the Python parity goldens for pkg/objectformat.

Run with the system interpreter, which has PyYAML 6:

    /usr/bin/python3 pkg/objectformat/testdata/pyparity/generate.py [--out DIR]

It reads cases.json (next to this script) and, for every case, writes what
Ceph's mgr object_format.Responder prints for the value:

    <name>.json       json.dumps(value, indent=2, sort_keys=True)
    <name>.line.json  json.dumps(value, sort_keys=True)   (indent=None)
    <name>.yaml       yaml.safe_dump(value)

When json.dumps raises (bytes), <name>.json.err / <name>.line.json.err hold
the exception type instead. The Go tests (pyjson_test.go, pyyaml_test.go)
decode the same cases.json and require byte equality with these files.

cases.json is a JSON list of {"name": ..., "value": ...}. Values JSON cannot
carry are written as single-key objects:

    {"$float": "nan" | "inf" | "-inf"}   a non-finite float
    {"$bytes": "<base64>"}              bytes
    {"$intkeys": [[1, v], [2, v]]}      a dict with int keys
    {"$repeat": ["text", N]}            "text" * N (long strings)

Numbers with a fraction or exponent are floats, other numbers ints, in both
Python and Go.
"""

import argparse
import base64
import json
import os
import sys

import yaml


def decode_tags(obj):
    if len(obj) == 1:
        (key, val), = obj.items()
        if key == "$float":
            return float(val)
        if key == "$bytes":
            return base64.b64decode(val)
        if key == "$intkeys":
            return {int(k): v for k, v in val}
        if key == "$repeat":
            return val[0] * val[1]
    return obj


def write(path, data):
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=here)
    ap.add_argument("--cases", default=os.path.join(here, "cases.json"))
    args = ap.parse_args()

    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f, object_hook=decode_tags)

    os.makedirs(args.out, exist_ok=True)
    seen = set()
    for case in cases:
        name, value = case["name"], case["value"]
        if name in seen:
            sys.exit("duplicate case name %r" % name)
        seen.add(name)
        for suffix, indent in ((".json", 2), (".line.json", None)):
            path = os.path.join(args.out, name + suffix)
            try:
                write(path, json.dumps(value, indent=indent, sort_keys=True))
            except TypeError as e:
                write(path + ".err", type(e).__name__ + "\n")
        write(os.path.join(args.out, name + ".yaml"), yaml.safe_dump(value))
    print("wrote %d cases to %s" % (len(cases), args.out))


if __name__ == "__main__":
    main()
