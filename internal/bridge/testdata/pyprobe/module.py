"""pyprobe: a Python mgr module of gomgr's bridge tests.

`ceph pyprobe call METHOD [ARGS]` calls METHOD of this MgrModule with the
JSON list ARGS and prints its result as JSON (METHOD osdmap calls an
accessor of get_osdmap() or its CRUSH map, see OSDMAP_ACCESSORS; METHOD tell
is send_command to one daemon and its wait), so a test can compare what a
Python module gets from the real mgr with what a Go module gets through the
bridge for the same call.
"""
import errno
import json
from typing import Any, Dict, Tuple

from mgr_module import CommandResult, MgrModule

# The read-only calls a test may make.
METHODS = frozenset([
    'get', 'get_server', 'list_servers', 'get_metadata', 'get_daemon_status',
    'get_perf_schema', 'get_counter', 'get_latest_counter', 'get_latest', 'get_latest_avg',
    'get_all_perf_counters', 'get_mgr_id', 'have_mon_connection', 'get_ceph_option', 'get_foreign_ceph_option',
])

# The read-only accessors of OSDMap and (prefixed "crush.") CRUSHMap that
# the method "osdmap" calls: `ceph pyprobe call osdmap '["get_epoch"]'`,
# `ceph pyprobe call osdmap '["crush.get_item_name", 0]'`.
OSDMAP_ACCESSORS = frozenset([
    'get_epoch', 'get_crush_version', 'dump', 'get_pools', 'get_pools_by_name',
    'get_pools_by_take', 'pool_raw_used_rate', 'get_ec_profile',
    'get_require_osd_release',
])
CRUSH_ACCESSORS = frozenset([
    'dump', 'get_item_name', 'get_item_weight', 'find_takes', 'find_roots',
    'get_rule', 'get_rule_by_id', 'get_rule_root', 'get_take_weight_osd_map',
    'get_osds_under',
])


class Probe(MgrModule):
    COMMANDS = [
        {
            'cmd': 'pyprobe call name=method,type=CephString name=args,type=CephString,req=false',
            'desc': 'call a read-only MgrModule method with JSON arguments',
            'perm': 'r',
        },
    ]

    def osdmap(self, accessor: str, *args: Any) -> Any:
        """Calls get_osdmap().ACCESSOR(*args), or get_crush().X for
        "crush.X"."""
        target: Any = self.get_osdmap()
        name = accessor
        allowed = OSDMAP_ACCESSORS
        if accessor.startswith('crush.'):
            target, name, allowed = target.get_crush(), accessor[len('crush.'):], CRUSH_ACCESSORS
        if name not in allowed:
            raise ValueError('{} is not an accessor it calls'.format(accessor))
        return getattr(target, name)(*args)

    def tell(self, svc_type: str, svc_id: str, command: Dict[str, Any], inbuf: str = '') -> Any:
        """send_command to one daemon and wait: [retval, outb, outs], or
        [None, '', error] if send_command raised (the C++ refuses an
        unknown MDS that way)."""
        result = CommandResult('')
        try:
            self.send_command(result, svc_type, svc_id, json.dumps(command), '', inbuf or None)
        except Exception as e:
            return [None, '', '{}: {}'.format(type(e).__name__, e)]
        if not result.ev.wait(60):
            return [None, '', 'no answer within 60 s']
        return [result.r, result.outb, result.outs]

    def handle_command(self, inbuf: str, cmd: Dict[str, Any]) -> Tuple[int, str, str]:
        method = cmd['method']
        if method == 'tell':
            args = json.loads(cmd.get('args') or '[]')
            return 0, json.dumps(self.tell(*args), sort_keys=True), ''
        if method == 'osdmap':
            try:
                args = json.loads(cmd.get('args') or '[]')
                if not isinstance(args, list) or not args or not isinstance(args[0], str):
                    return -errno.EINVAL, '', 'pyprobe: osdmap wants [accessor, args...]'
                return 0, json.dumps(self.osdmap(*args), sort_keys=True), ''
            except Exception as e:  # the C++ returns NULL: SystemError
                return -errno.EINVAL, '', 'pyprobe: {}: {}'.format(type(e).__name__, e)
        if method not in METHODS:
            return -errno.EINVAL, '', 'pyprobe: {} is not a method it calls'.format(method)
        try:
            args = json.loads(cmd.get('args') or '[]')
        except ValueError as e:
            return -errno.EINVAL, '', 'pyprobe: args: {}'.format(e)
        if not isinstance(args, list):
            return -errno.EINVAL, '', 'pyprobe: args is not a JSON list'
        return 0, json.dumps(getattr(self, method)(*args), sort_keys=True), ''
