"""The work of `pybench format <n>`, without the mgr: build n elements and
render them as the Go module gobench's Responder does for JSON (Python's
json.dumps(v, indent=2, sort_keys=True)).

Run as a script (python3 elements.py N) it prints render(N): the Go test of
gobench compares that with its own output.
"""
import json
import sys
from typing import Any, Dict, List

# The largest n (the Go module's MaxElements).
MAX_ELEMENTS = 1000000

_PARITY = ('even', 'odd')


def build(n: int) -> List[Dict[str, Any]]:
    """n elements: id i, name "obj-<i>", size i*1.5, tags ["bench", "even"
    or "odd"] (gobench's Elements(n))."""
    return [{'id': i, 'name': 'obj-' + str(i), 'size': i * 1.5, 'tags': ['bench', _PARITY[i % 2]]}
            for i in range(n)]


def render(n: int) -> str:
    """build(n) as JSON text."""
    return json.dumps(build(n), indent=2, sort_keys=True)


if __name__ == '__main__':
    sys.stdout.write(render(int(sys.argv[1])))
