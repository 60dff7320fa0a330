"""Stand-ins for the C modules Pacific's mgr_module.py imports (ceph_module,
rados, cephfs, ceph.deployment.utils), shared by sidebyside.py and
promscrape.py: empty shells but for ceph_module's BaseMgrModule, which the
caller gives (an empty one when the mgr's C side is never called)."""
import sys
import types
from typing import Optional


def install(base_mgr_module: Optional[type] = None) -> None:
    """Put the stand-ins in sys.modules; base_mgr_module, if given, is
    ceph_module.BaseMgrModule."""
    cm = types.ModuleType('ceph_module')
    for name in ('BaseMgrModule', 'BaseMgrStandbyModule', 'BasePyOSDMap',
                 'BasePyOSDMapIncremental', 'BasePyCRUSH'):
        setattr(cm, name, type(name, (object,), {'__init__': lambda self, *a, **k: None}))
    if base_mgr_module is not None:
        cm.BaseMgrModule = base_mgr_module  # type: ignore
    sys.modules['ceph_module'] = cm
    rados = types.ModuleType('rados')
    rados.Rados = object  # type: ignore
    rados.Error = Exception  # type: ignore
    rados.ObjectNotFound = Exception  # type: ignore
    sys.modules['rados'] = rados
    cephfs = types.ModuleType('cephfs')
    cephfs.LibCephFS = object  # type: ignore
    sys.modules['cephfs'] = cephfs
    ceph = types.ModuleType('ceph')
    dep = types.ModuleType('ceph.deployment')
    utils = types.ModuleType('ceph.deployment.utils')
    utils.wrap_ipv6 = lambda a: a  # type: ignore
    ceph.deployment = dep  # type: ignore
    dep.utils = utils  # type: ignore
    sys.modules.update({'ceph': ceph, 'ceph.deployment': dep, 'ceph.deployment.utils': utils})
