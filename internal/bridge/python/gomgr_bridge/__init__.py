"""gomgr_bridge: Go modules of a gomgr binary as modules of this ceph-mgr.

`ceph-mgr bridge install --module-path DIR` (the gomgr binary) writes this
package into the real mgr's module path, and a small module per Go module
(DIR/<name>/module.py) that calls module_class(). At import, the shim asks
the gomgr binary for its module's commands and options
(`ceph-mgr describe --module NAME`, JSON) and declares them as COMMANDS and
MODULE_OPTIONS, so the monitors check `ceph config set mgr mgr/NAME/OPT`
against the Go module's types, enums and bounds, and the ceph CLI lists
its commands.

This package is not a module itself (it has no module.py), so the mgr does
not load it as one; each shim imports it in its own sub-interpreter.
"""
import errno
import json
import subprocess
from typing import Any, Dict, List, Optional, Tuple

from mgr_module import MgrModule, Option

# How long `ceph-mgr describe` may take at import (the mgr imports every
# module at start, so this bounds its start-up).
DESCRIBE_TIMEOUT = 20


def describe(binary: str, go_name: str) -> Dict[str, Any]:
    """The description of Go module go_name, from the gomgr binary."""
    out = subprocess.run([binary, 'describe', '--module', go_name],
                         stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=DESCRIBE_TIMEOUT, check=False)
    if out.returncode != 0:
        raise RuntimeError('{} describe --module {} failed (exit {}): {}'.format(
            binary, go_name, out.returncode,
            out.stderr.decode('utf-8', 'replace').strip()))
    modules = json.loads(out.stdout)['modules']
    if len(modules) != 1 or modules[0]['name'] != go_name:
        raise RuntimeError('{} describe --module {}: unexpected reply'.format(binary, go_name))
    return modules[0]


def rename_prefix(prefix: str, renames: List[Tuple[str, str]]) -> str:
    """prefix with its leading words renamed (the first matching rename)."""
    for old, new in renames:
        if prefix == old or prefix.startswith(old + ' '):
            return new + prefix[len(old):]
    return prefix


def commands(desc: Dict[str, Any], renames: List[Tuple[str, str]]) -> List[Dict[str, Any]]:
    """desc's commands as a COMMANDS list, their prefixes renamed."""
    out = []
    for c in desc['commands']:
        prefix = c['prefix']
        cmd = rename_prefix(prefix, renames) + c['cmd'][len(prefix):]
        out.append({'cmd': cmd, 'desc': c['desc'], 'perm': c['perm'], 'poll': c['poll']})
    return out


def options(desc: Dict[str, Any]) -> List[Option]:
    """desc's options as MODULE_OPTIONS, but for the log options every
    MgrModule declares itself."""
    out = []
    for o in desc['options']:
        if o.get('builtin'):
            continue
        out.append(Option(name=o['name'], type=o['type'], default=o.get('default'),
                          desc=o.get('desc'), long_desc=o.get('long_desc'),
                          min=o.get('min'), max=o.get('max'),
                          enum_allowed=o.get('enum_allowed'), tags=o.get('tags'),
                          see_also=o.get('see_also'), runtime=o.get('runtime', False)))
    return out


def module_class(binary: str, go_name: str,
                 renames: Optional[List[Tuple[str, str]]] = None) -> type:
    """The MgrModule subclass for Go module go_name of binary. If the binary
    cannot describe it, the class declares nothing and can_run() says why
    (the mgr reports the module as unavailable instead of failing)."""
    renames = renames or []
    why = ''
    try:
        desc = describe(binary, go_name)
        cmds, opts = commands(desc, renames), options(desc)
        if not desc.get('can_run', True):
            why = desc.get('error_string', 'the Go module cannot run here')
    except Exception as e:  # the mgr must start whatever the binary does
        cmds, opts, why = [], [], 'gomgr bridge: {}'.format(e)
    unavailable = why

    class Module(MgrModule):
        COMMANDS = cmds
        MODULE_OPTIONS = opts

        @staticmethod
        def can_run() -> Tuple[bool, str]:
            return (False, unavailable) if unavailable else (True, '')

        def handle_command(self, inbuf: str, cmd: Dict[str, Any]) -> Tuple[int, str, str]:
            return (-errno.ENOTCONN, '',
                    'gomgr bridge: the Go side of module {} is not running '
                    '(commands are not forwarded yet)'.format(go_name))

    Module.__doc__ = 'Go module {} of {}'.format(go_name, binary)
    return Module
