"""pyprobe: a Python mgr module of gomgr's bridge tests.

`ceph pyprobe call METHOD [ARGS]` calls METHOD of this MgrModule with the
JSON list ARGS and prints its result as JSON, so a test can compare what a
Python module gets from the real mgr with what a Go module gets through the
bridge for the same call.
"""
import errno
import json
from typing import Any, Dict, Tuple

from mgr_module import MgrModule

# The read-only calls a test may make.
METHODS = frozenset([
    'get', 'get_server', 'list_servers', 'get_metadata', 'get_daemon_status',
    'get_perf_schema', 'get_counter', 'get_latest_counter', 'get_latest',
    'get_all_perf_counters', 'get_mgr_id', 'have_mon_connection', 'get_ceph_option', 'get_foreign_ceph_option',
])


class Probe(MgrModule):
    COMMANDS = [
        {
            'cmd': 'pyprobe call name=method,type=CephString name=args,type=CephString,req=false',
            'desc': 'call a read-only MgrModule method with JSON arguments',
            'perm': 'r',
        },
    ]

    def handle_command(self, inbuf: str, cmd: Dict[str, Any]) -> Tuple[int, str, str]:
        method = cmd['method']
        if method not in METHODS:
            return -errno.EINVAL, '', 'pyprobe: {} is not a method it calls'.format(method)
        try:
            args = json.loads(cmd.get('args') or '[]')
        except ValueError as e:
            return -errno.EINVAL, '', 'pyprobe: args: {}'.format(e)
        if not isinstance(args, list):
            return -errno.EINVAL, '', 'pyprobe: args is not a JSON list'
        return 0, json.dumps(getattr(self, method)(*args), sort_keys=True), ''
