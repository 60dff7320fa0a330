"""Python's side of benchtable's side-by-side rows (make bench): the same
work as gomgr's, done the way a Ceph module author's Python would do it,
timed in this process and reported to benchtable.

- dispatch: Pacific's own mgr_module.py (the ceph-mgr package's, imported
  with small stand-ins for the C modules it imports: ceph_module, rados,
  cephfs, ceph.deployment.utils), a module with CLICommand commands, and
  MgrModule._handle_command (what the mgr calls for a command: the
  CLICommand lookup, the conversion of the arguments by their
  annotations, the handler);
- match: ceph_argparse.validate_command (the ceph CLI's matcher) over a
  monitor command table and a list of command lines;
- format: json.dumps(v, indent=2, sort_keys=True) (object_format's JSON)
  and yaml.safe_dump(v) (its YAML) of n elements.

It reads one JSON request a line on stdin and writes one JSON answer a
line on stdout, so benchtable can interleave its runs with Go's:

  {"op": "dispatch", "cmd": {...}, "min_time": 0.2}
      -> {"ns": <ns per call>, "ops": <calls>, "retval": r, "stdout": s, "stderr": e}
  {"op": "match", "descriptions": "<path>", "lines": [[...], ...], "min_time": 0.2, "min_ops": 1}
      -> {"ns": <ns per round of all lines>, "ops": <rounds>, "matched": <lines matched>}
  {"op": "format", "kind": "json" | "yaml", "size": n, "min_time": 0.2, "min_ops": 2}
      -> {"ns": <ns per call>, "ops": <calls>, "bytes": <len>, "sha256": <hex of the text>}

min_ops is the fewest calls (a warm-up call first when it is over 1). An
error answers {"error": "<text>"}.
"""
import enum
import hashlib
import io
import json
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import standins  # the C modules mgr_module.py imports

MGR_PATH = '/usr/share/ceph/mgr'
ARGPARSE_PATH = '/usr/lib/python3/dist-packages'


standins.install()
sys.path.insert(0, ARGPARSE_PATH)
sys.path.insert(0, MGR_PATH)
import ceph_argparse  # noqa: E402
import mgr_module  # noqa: E402
from mgr_module import CLIReadCommand, HandleCommandResult, MgrModule  # noqa: E402


class Mode(enum.Enum):
    """bench choose's mode (gomgr's side: bench.Mode)."""
    fast = 'fast'
    safe = 'safe'
    thorough = 'thorough'


class Module(MgrModule):
    """The commands of gomgr's side (internal/bench/sidebyside.go), written
    as a Python author would."""

    place = 'world'
    emphatic = True

    def __del__(self) -> None:
        pass  # MgrModule's unconfigures a logging this stand-in never set up

    @CLIReadCommand('bench hello')
    def hello(self, person_name: Optional[str] = None) -> HandleCommandResult:
        """Say hello"""
        out = 'Hello ' + self.place if person_name is None else 'Hello, ' + person_name
        if self.emphatic:
            out += '!'
        return HandleCommandResult(stdout=out)

    @CLIReadCommand('bench typed')
    def typed(self, name: str, count: int, ratio: float, pool: str, size: int,
              weight: float, force: bool = False, label: Optional[str] = None) -> HandleCommandResult:
        """A command with 8 typed arguments"""
        return HandleCommandResult(stdout='{} {} {} {} {} {} {} {}'.format(
            name, count, ratio, pool, size, weight, 'true' if force else 'false', label or '-'))

    @CLIReadCommand('bench choose')
    def choose(self, mode: Mode, names: List[str]) -> HandleCommandResult:
        """A CephChoices argument and an n=N one"""
        return HandleCommandResult(stdout=mode.value + ': ' + ','.join(names))


def _module() -> Module:
    m = Module.__new__(Module)  # no mgr behind it: _handle_command needs none
    m.module_name = 'bench'
    return m


def _timed(fn: Callable[[], Any], min_time: float, min_ops: int = 2, warm_up: bool = True) -> Tuple[float, int, Any]:
    """Run fn until min_time seconds have passed (at least min_ops times):
    the time per call in ns, the calls, fn's last result."""
    last = fn() if warm_up else None
    ops, total = 0, 0
    batch = 1
    while total < min_time * 1e9 or ops < min_ops:
        start = time.perf_counter_ns()
        for _ in range(batch):
            last = fn()
        total += time.perf_counter_ns() - start
        ops += batch
        batch = min(batch * 2, 1 << 20)
    return total / ops, ops, last


def dispatch(req: Dict[str, Any]) -> Dict[str, Any]:
    m = _module()
    cmd = req['cmd']
    ns, ops, res = _timed(lambda: m._handle_command('', cmd), req.get('min_time', 0.2))
    if isinstance(res, HandleCommandResult):
        r, out, err = res.retval, res.stdout, res.stderr
    else:
        r, out, err = res
    return {'ns': ns, 'ops': ops, 'retval': r, 'stdout': out, 'stderr': err}


_SIGS: Dict[str, Any] = {}


def match(req: Dict[str, Any]) -> Dict[str, Any]:
    path = req['descriptions']
    if path not in _SIGS:
        with open(path) as f:
            _SIGS[path] = ceph_argparse.parse_json_funcsigs(f.read(), 'cli')
    sigdict = _SIGS[path]
    lines = req['lines']

    def one_round() -> int:
        matched = 0
        old, sys.stderr = sys.stderr, io.StringIO()  # validate_command prints its complaints
        try:
            for words in lines:
                if ceph_argparse.validate_command(sigdict, words):
                    matched += 1
        finally:
            sys.stderr = old
        return matched

    # One round is seconds (validate_command walks the whole table for
    # every line): no warm-up round, and the rounds asked for.
    ns, ops, matched = _timed(one_round, req.get('min_time', 0.2), req.get('min_ops', 1), False)
    return {'ns': ns, 'ops': ops, 'matched': matched}


def items(n: int) -> List[Dict[str, Any]]:
    """bench.Items(n): id i, name "obj-<i>", size i*1.5."""
    return [{'id': i, 'name': 'obj-' + str(i), 'size': i * 1.5} for i in range(n)]


_ITEMS: Dict[int, List[Dict[str, Any]]] = {}


def format_(req: Dict[str, Any]) -> Dict[str, Any]:
    import yaml
    n = req['size']
    if n not in _ITEMS:
        _ITEMS.clear()  # one size at a time: a million dicts is large
        _ITEMS[n] = items(n)
    data = _ITEMS[n]
    if req['kind'] == 'json':
        def fn() -> str:
            return json.dumps(data, indent=2, sort_keys=True)
    elif req['kind'] == 'yaml':
        def fn() -> str:
            return yaml.safe_dump(data)
    else:
        raise ValueError('unknown kind {!r}'.format(req['kind']))
    ns, ops, text = _timed(fn, req.get('min_time', 0.2), req.get('min_ops', 2), req.get('min_ops', 2) > 1)
    b = text.encode()
    return {'ns': ns, 'ops': ops, 'bytes': len(b), 'sha256': hashlib.sha256(b).hexdigest()}


OPS = {'dispatch': dispatch, 'match': match, 'format': format_}


def main() -> None:
    assert mgr_module.CLICommand.COMMANDS  # the decorators ran
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            out = OPS[req['op']](req)
        except Exception as e:  # report it: benchtable says which row failed
            out = {'error': '{}: {}'.format(type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
