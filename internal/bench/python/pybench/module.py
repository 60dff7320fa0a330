"""pybench: gomgr's Python benchmark module (make bench).

It answers, inside the real ceph-mgr, the commands the benchmark compares
with Go modules bridged into the same mgr:

- `pybench hello [<person_name>]` answers as the Go module hello's `hello`
  does ("Hello, Bob!", or "Hello world!" with the options place and
  emphatic, read once per change as the Go module does);
- `pybench format <n>` builds n elements and returns them as JSON, the
  work of the Go module gobench's `gobench format <n>` (see elements.py);
- `pybench cached <n>` returns the same text, built once: what a reply of
  that size costs the mgr itself, with no work in the module;
- `pybench snapshot` returns, as JSON, what the prometheus modules read
  of the cluster, in the shape of the benchmark's synthetic clusters
  (internal/bench/promsynth.go's files: get, servers, meta, schema,
  values, health), so that both modules' collection code can be timed on
  the loopback cluster's own data.
"""
import errno
import json
from typing import Any, Dict, List, Optional

from mgr_module import CLIReadCommand, HandleCommandResult, MgrModule, Option

from .elements import MAX_ELEMENTS, render


# The get() names the prometheus modules read (the synthetic clusters'
# get.json; "osd_metadata" comes from the metadata).
SNAPSHOT_GETS = ('df', 'fs_map', 'health', 'mgr_map', 'mon_status', 'osd_map', 'osd_map_crush',
                 'osd_pool_stats', 'osd_stats', 'pg_dump', 'pg_summary')
PERFCOUNTER_LONGRUNAVG = 4


class Module(MgrModule):
    MODULE_OPTIONS = [
        Option(name='place', default='world', desc='a place in the world', runtime=True),
        Option(name='emphatic', type='bool', default=True, desc='whether to say it loudly', runtime=True),
    ]

    def __init__(self, *args, **kwargs) -> None:  # type: ignore
        super().__init__(*args, **kwargs)
        self.place = 'world'
        self.emphatic = True
        self.cache = {}  # type: Dict[int, str]
        self.config_notify()

    def config_notify(self) -> None:
        self.place = str(self.get_module_option('place'))
        self.emphatic = bool(self.get_module_option('emphatic'))

    @CLIReadCommand('pybench hello')
    def hello(self, person_name: Optional[str] = None) -> HandleCommandResult:
        """Say hello (as the Go module hello does)"""
        out = 'Hello ' + self.place if person_name is None else 'Hello, ' + person_name
        if self.emphatic:
            out += '!'
        return HandleCommandResult(stdout=out)

    @CLIReadCommand('pybench format')
    def format(self, n: int) -> HandleCommandResult:
        """Build n elements and return them as JSON (benchmark)"""
        if n < 0 or n > MAX_ELEMENTS:
            return HandleCommandResult(retval=-errno.EINVAL, stderr='n must be between 0 and {}'.format(MAX_ELEMENTS))
        return HandleCommandResult(stdout=render(n))

    @CLIReadCommand('pybench cached')
    def cached(self, n: int) -> HandleCommandResult:
        """Return format's text for n, built once (benchmark)"""
        if n < 0 or n > MAX_ELEMENTS:
            return HandleCommandResult(retval=-errno.EINVAL, stderr='n must be between 0 and {}'.format(MAX_ELEMENTS))
        if n not in self.cache:
            self.cache = {n: render(n)}  # one size at a time
        return HandleCommandResult(stdout=self.cache[n])

    @CLIReadCommand('pybench snapshot')
    def snapshot(self) -> HandleCommandResult:
        """What the prometheus modules read of this cluster, as JSON (benchmark)"""
        get = {name: self.get(name) for name in SNAPSHOT_GETS}  # type: Dict[str, Any]
        for name in ('health', 'mon_status'):  # the synthetic files hold them decoded
            get[name] = json.loads(get[name]['json'])
        servers = self.list_servers()
        meta = {}  # type: Dict[str, Dict[str, Any]]
        schema = {}  # type: Dict[str, Dict[str, Any]]
        daemons = []  # type: List[Any]
        for server in servers:
            for svc in server['services']:
                typ, sid = svc['type'], str(svc['id'])
                meta.setdefault(typ, {})[sid] = self.get_metadata(typ, sid)
                s = (self.get_perf_schema(typ, sid) or {}).get(typ + '.' + sid)
                if not s:
                    continue
                if typ in schema and schema[typ] != s:
                    return HandleCommandResult(retval=-errno.EINVAL,
                                               stderr='the {} daemons declare different perf counters'.format(typ))
                schema[typ] = s
                daemons.append((typ, sid))
        values = {}  # type: Dict[str, List[Any]]
        for typ, sid in daemons:
            vals = []  # type: List[Any]
            for path in sorted(schema[typ]):
                data = self.get_latest_counter(typ, sid, path)[path]
                if schema[typ][path]['type'] & PERFCOUNTER_LONGRUNAVG:
                    vals.append([data[1], data[2]] if data else [0, 0])
                else:
                    vals.append(data[1] if data else 0)
            values[typ + '.' + sid] = vals
        return HandleCommandResult(stdout=json.dumps({
            'get': get, 'servers': servers, 'meta': meta, 'schema': schema, 'values': values,
            'health': self.get_daemon_health_metrics()}))
