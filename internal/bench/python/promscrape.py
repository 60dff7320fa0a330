"""Python's side of benchtable's prometheus scrape comparison (make bench,
issue 14): Pacific's own prometheus module (/usr/share/ceph/mgr/prometheus,
ceph-mgr-modules-core 16.2.15) run by python3 against a stand-in for the
mgr's C side, fed a synthetic cluster written by gomgr's
bench.GenerateSynth (internal/bench/promsynth.go), and timed.

  python3 promscrape.py DATA_DIR SCRAPES OUT_FILE

The stand-in is the C module ceph_module's BaseMgrModule: every _ceph_*
call Pacific's mgr_module.py makes in a collection answers from the
loaded cluster (get() as the mgr's C++ hands it: decoded objects, health
and mon_status as {'json': text}; list_servers, get_metadata,
get_perf_schema, get_latest_counter, get_daemon_health_metrics), at no
cost, as gomgr's stand-in answers the Go module (promhost.go). Everything
above it is Pacific's Python: mgr_module.py's get_all_perf_counters,
get_latest, get_service_list... and the module's collect(), which
returns the text its /metrics handler serves (str_expfmt of every
metric). rbd is stood in (the module only uses it with rbd_stats_pools
set; it is not).

Each scrape is one collect(): its wall time (perf_counter) and the
process's CPU time (process_time). After loading the cluster and
constructing the module, the peak resident set is reset
(/proc/self/clear_refs), so VmHWM after the scrapes is their peak. Then
the same number of scrapes over HTTP: the module's own serve() (its
cherrypy server, cache off, on a free port of 127.0.0.1) in a thread,
scraped by an HTTP client in this process, as the Go side scrapes its
module's server (http_wall_ns, http_cpu_ns). It prints one JSON line
(bench.ScrapeFigures), or {"error": ...}, and writes the last collect()'s
text to OUT_FILE.
"""
import http.client
import json
import socket
import sys
import threading
import time
import types

import standins  # the C modules mgr_module.py imports
from typing import Any, Dict, List, Optional

MGR_PATH = '/usr/share/ceph/mgr'
DIST_PACKAGES = '/usr/lib/python3/dist-packages'  # python3-cherrypy3, python3-yaml


class Cluster:
    """The synthetic cluster's files, as bench.LoadSynth reads them."""

    def __init__(self, data_dir: str) -> None:
        def load(name: str) -> Any:
            with open(data_dir + '/' + name) as f:
                return json.load(f)
        self.get = load('get.json')
        for name in ('health', 'mon_status'):  # as the mgr's C++ hands them
            self.get[name] = {'json': json.dumps(self.get[name])}
        self.servers = load('servers.json')
        self.meta = load('metadata.json')
        self.schema = load('perf_schema.json')
        values = load('perf_values.json')
        self.health = load('daemon_health.json')
        # daemon -> path -> latest sample, as get_latest_counter's tuples
        self.latest: Dict[str, Dict[str, tuple]] = {}
        ts = 1764672000.0  # bench.SynthTimestamp
        for daemon, vals in values.items():
            paths = sorted(self.schema[daemon.split('.', 1)[0]])
            self.latest[daemon] = {p: (ts, v[0], v[1]) if isinstance(v, list) else (ts, v)
                                   for p, v in zip(paths, vals)}


CLUSTER: Optional[Cluster] = None
# The module options the stand-in sets (the rest read as their defaults).
OPTIONS: Dict[str, Any] = {}


class BaseMgrModule:
    """The stand-in for ceph_module.BaseMgrModule (the mgr's C side)."""

    def __init__(self, py_modules_ptr: object, this_ptr: object) -> None:
        self._store: Dict[str, str] = {}

    def _ceph_get(self, name: str) -> Any:
        if name == 'osd_metadata':  # every OSD's, as gomgr's stand-in (Pacific's module does not ask)
            return CLUSTER.meta['osd']
        return CLUSTER.get.get(name)

    def _ceph_get_server(self, hostname: Optional[str]) -> Any:
        if hostname is None:
            return CLUSTER.servers
        for s in CLUSTER.servers:
            if s['hostname'] == hostname:
                return s
        return {'hostname': hostname, 'services': [], 'ceph_version': ''}

    def _ceph_get_metadata(self, svc_type: str, svc_id: str) -> Any:
        return CLUSTER.meta.get(svc_type, {}).get(svc_id)

    def _ceph_get_perf_schema(self, svc_type: str, svc_name: str) -> Any:
        name = '{}.{}'.format(svc_type, svc_name)
        if name not in CLUSTER.latest:
            return {}
        return {name: CLUSTER.schema[svc_type]}

    def _ceph_get_latest_counter(self, svc_type: str, svc_name: str, path: str) -> Any:
        sample = CLUSTER.latest.get('{}.{}'.format(svc_type, svc_name), {}).get(path)
        return {path: sample if sample is not None else ()}

    def _ceph_get_counter(self, svc_type: str, svc_name: str, path: str) -> Any:
        sample = CLUSTER.latest.get('{}.{}'.format(svc_type, svc_name), {}).get(path)
        return {path: [sample] if sample is not None else []}

    def _ceph_get_daemon_health_metrics(self) -> Any:
        return CLUSTER.health

    def _ceph_get_option(self, key: str) -> Any:
        # debug_mgr: Ceph's default (info); log_file: never opened (the
        # module's log_to_file is off)
        return {'debug_mgr': '2/5', 'log_file': '/var/log/ceph/ceph-mgr.x.log'}.get(key)

    def _ceph_get_module_option(self, module: str, key: str, prefix: str = '') -> Any:
        return OPTIONS.get(key)  # else the defaults: rbd_stats_pools '' ...

    def _ceph_get_store(self, key: str) -> Optional[str]:
        return self._store.get(key)

    def _ceph_set_store(self, key: str, val: Optional[str]) -> None:
        if val is None:
            self._store.pop(key, None)
        else:
            self._store[key] = val

    def _ceph_get_mgr_id(self) -> str:
        return 'x'

    def _ceph_get_version(self) -> str:
        return '16.2.15'

    def _ceph_get_release_name(self) -> str:
        return 'pacific'

    def _ceph_have_mon_connection(self) -> bool:
        return True

    def _ceph_log(self, *args: Any) -> None:
        pass  # the mgr's log: discarded, as gomgr's side discards its

    def _ceph_cluster_log(self, *args: Any) -> None:
        pass

    def _ceph_set_uri(self, uri: str) -> None:
        pass


def _stand_ins() -> None:
    standins.install(BaseMgrModule)
    rbd = types.ModuleType('rbd')
    rbd.RBD = object  # type: ignore
    sys.modules['rbd'] = rbd


def _status(field: str) -> float:
    """A /proc/self/status field in bytes (VmRSS, VmHWM)."""
    with open('/proc/self/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k == field:
                return float(v.split()[0]) * 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http_pass(m: Any, scrapes: int) -> Dict[str, List[float]]:
    """Times scrapes of /metrics from the module's own server."""
    import cherrypy
    # stdout is the figures' line: the engine logs nowhere.
    cherrypy.config.update({'log.screen': False, 'checker.on': False})
    port = _free_port()
    OPTIONS.update({'server_addr': '127.0.0.1', 'server_port': port, 'cache': False})

    def serve() -> None:
        try:
            m.serve()
        except RuntimeError as e:
            # Pacific's serve() joins its collection thread on the way
            # out, which it never started with the cache off.
            if 'cannot join thread before it is started' not in str(e):
                raise
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or not server.is_alive():
                raise RuntimeError('the module\'s server does not answer on port {}'.format(port))
            time.sleep(0.01)
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=600)
    wall: List[float] = []
    cpu: List[float] = []
    try:
        for _ in range(scrapes):
            c0, t0 = time.process_time_ns(), time.perf_counter_ns()
            conn.request('GET', '/metrics')
            r = conn.getresponse()
            body = r.read()
            wall.append(float(time.perf_counter_ns() - t0))
            cpu.append(float(time.process_time_ns() - c0))
            if r.status != 200 or not body:
                raise RuntimeError('GET /metrics: {} {!r}'.format(r.status, body[:300]))
    finally:
        conn.close()
        m.shutdown()
        server.join(30)
        cherrypy.engine.exit()
    return {'http_wall_ns': wall, 'http_cpu_ns': cpu}


def main(argv: List[str]) -> Dict[str, Any]:
    global CLUSTER
    data_dir, scrapes, out = argv[1], int(argv[2]), argv[3]
    _stand_ins()
    sys.path.append(DIST_PACKAGES)
    sys.path.insert(0, MGR_PATH)
    CLUSTER = Cluster(data_dir)
    from prometheus.module import Module  # Pacific's
    Module._register_options('prometheus')
    m = Module('prometheus', None, None)
    rss_before = _status('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    wall: List[float] = []
    cpu: List[float] = []
    text = ''
    for _ in range(scrapes):
        c0, t0 = time.process_time_ns(), time.perf_counter_ns()
        text = m.collect()
        wall.append(float(time.perf_counter_ns() - t0))
        cpu.append(float(time.process_time_ns() - c0))
    rss_peak = _status('VmHWM')
    b = text.encode()
    with open(out, 'wb') as f:
        f.write(b)
    res = {'wall_ns': wall, 'cpu_ns': cpu, 'bytes': len(b), 'rss_before': rss_before,
           'rss_peak': rss_peak, 'rss_after': _status('VmRSS')}
    res.update(http_pass(m, scrapes))
    return res


if __name__ == '__main__':
    try:
        res = main(sys.argv)
    except Exception as e:  # report it: benchtable says which size failed
        import traceback
        traceback.print_exc()
        res = {'error': '{}: {}'.format(type(e).__name__, e)}
    print(json.dumps(res), flush=True)
