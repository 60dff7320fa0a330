#!/usr/bin/env python3
"""Tests of the gomgr_bridge shim runtime against a fake Go side.

Run from the repository root:

    python3 internal/bridge/python/test_gomgr_bridge.py

The shim imports the real mgr's mgr_module; these tests write a stand-in
for it to a temporary directory. The fake Go side is a thread serving the
bridge protocol on DIR/bridge.sock (or, for the start-the-Go-process test,
this file run as `test_gomgr_bridge.py --fake-go DIR` by a fake binary).
"""
import sys

sys.dont_write_bytecode = True

import base64  # noqa: E402
import errno  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
THIS = os.path.abspath(__file__)

# The stand-in for the real mgr's mgr_module: the MgrModule calls the shim
# makes, backed by dicts the tests look at.
STANDIN = r'''
import json
import logging
import threading
from enum import IntEnum


class Option(dict):
    def __init__(self, name, default=None, type='str', desc=None, long_desc=None, min=None, max=None,
                 enum_allowed=None, tags=None, see_also=None, runtime=False):
        super().__init__((k, v) for k, v in vars().items() if k != 'self' and v is not None)


class CommandResult(object):
    def __init__(self, tag=None):
        self.ev = threading.Event()
        self.outs = ''
        self.outb = ''
        self.r = 0
        self.tag = tag if tag else ''

    def complete(self, r, outb, outs):
        self.r, self.outb, self.outs = r, outb, outs
        self.ev.set()

    def wait(self):
        self.ev.wait()
        return self.r, self.outb, self.outs


class _ListHandler(logging.Handler):
    def __init__(self, records):
        super().__init__()
        self.records = records

    def emit(self, record):
        self.records.append((record.levelname.lower(), record.getMessage()))


_count = [0]


def _new_logger(name, records):
    """A logger of its own (numbered) that appends to records."""
    _count[0] += 1
    logger = logging.getLogger('{}.{}'.format(name, _count[0]))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(_ListHandler(records))
    return logger


class MgrModule(object):
    COMMANDS = []
    MODULE_OPTIONS = []

    class ClusterLogPrio(IntEnum):
        DEBUG = 0
        INFO = 1
        SEC = 2
        WARN = 3
        ERROR = 4

    def __init__(self, module_name, py_modules_ptr=None, this_ptr=None):
        self.module_name = module_name
        self.mgr_id = 'x'
        self.run_dir = None
        self.config = {}   # option name (or MGRID/name) -> typed value
        self.store = {}
        self.health = []   # every set_health_checks
        self.clog = []
        self.clients = []
        self.uri = None
        self.data = {}     # what get() returns
        self.mon_handler = lambda cmd, inbuf: (0, '', '')
        self.records = []
        self._logger = _new_logger('standin.' + module_name, self.records)

    @property
    def log(self):
        return self._logger

    def get(self, data_name):
        return self.data.get(data_name)

    def get_mgr_id(self):
        return self.mgr_id

    def get_ceph_option(self, key):
        if key not in ('run_dir', 'mon_host', 'keyring', 'auth_client_required', 'ms_client_mode',
                       'ms_mon_client_mode', 'ms_bind_ipv4', 'ms_bind_ipv6'):
            raise KeyError('option not found: ' + key)
        return {'run_dir': self.run_dir, 'mon_host': '[v2:127.0.0.1:3300]', 'keyring': '/k/mgr.x/keyring',
                'ms_bind_ipv4': True, 'ms_bind_ipv6': False, 'ms_client_mode': ''}.get(key)

    def _ceph_register_client(self, addrs):
        self.clients.append(addrs)

    def _ceph_unregister_client(self, addrs):
        self.clients.remove(addrs)

    def _ceph_get_module_option(self, module, key, prefix=''):
        assert module == self.module_name
        if prefix:  # as Pacific: the localized value, else the global one
            v = self.config.get(prefix + '/' + key)
            if v is not None:
                return v
        return self.config.get(key)

    def _ceph_set_module_option(self, module, key, val):
        assert module == self.module_name
        if val is None:
            self.config.pop(key, None)
        else:
            self.config[key] = val

    def _validate_module_option(self, key):
        names = [o['name'] for o in self.MODULE_OPTIONS]
        names += ['log_level', 'log_to_file', 'log_to_cluster', 'log_to_cluster_level']
        if key not in names:
            raise RuntimeError("Config option '{0}' is not in {1}.MODULE_OPTIONS".format(
                key, self.__class__.__name__))

    def set_module_option(self, key, val):
        self._validate_module_option(key)
        self._ceph_set_module_option(self.module_name, key, None if val is None else str(val))

    def set_localized_module_option(self, key, val):
        self._validate_module_option(key)
        self._ceph_set_module_option(self.module_name, self.mgr_id + '/' + key, None if val is None else str(val))

    def get_store(self, key, default=None):
        return self.store.get(key, default)

    def set_store(self, key, val):
        if val is None:
            self.store.pop(key, None)
        else:
            self.store[key] = val

    def get_store_prefix(self, key_prefix):
        return {k: v for k, v in self.store.items() if k.startswith(key_prefix)}

    def mon_command(self, cmd_dict, inbuf=None):
        return self.mon_handler(cmd_dict, inbuf)

    def send_command(self, result, svc_type, svc_id, command, tag, inbuf=None):
        out = 'out {}.{} {} {}'.format(svc_type, svc_id, command, inbuf)
        threading.Timer(0.02, result.complete, (0, out, 'done')).start()

    def set_health_checks(self, checks):
        self.health.append(json.loads(json.dumps(checks)))

    def have_mon_connection(self):
        return True

    def get_metadata(self, svc_type, svc_id, default=None):
        return {'hostname': 'host-' + svc_type + svc_id}

    def get_daemon_status(self, svc_type, svc_id):
        return {'status': svc_type + '.' + svc_id}

    def get_perf_schema(self, svc_type, svc_id):
        return {svc_type + '.' + svc_id: {}}

    def get_counter(self, svc_type, svc_name, path):
        return {path: [(1.5, 2)]}

    def list_servers(self):
        return [{'hostname': 'h1', 'services': []}]

    # The mgr's OSD perf queries, shared by every module as in the mgr.
    perf_queries = {}
    perf_next = [0]

    def add_osd_perf_query(self, query):
        if not query.get('key_descriptor'):
            return None
        self.perf_next[0] += 1
        self.perf_queries[self.perf_next[0]] = query
        return self.perf_next[0]

    def remove_osd_perf_query(self, query_id):
        self.perf_queries.pop(query_id, None)

    def get_osd_perf_counters(self, query_id):
        if query_id not in self.perf_queries:
            return None
        return {'counters': [{'k': [['1'], [''], ['', 'abc']], 'c': [[3, 0]]}]}

    def get_server(self, hostname):
        return {'hostname': hostname, 'services': [], 'ceph_version': ''}

    def get_latest_counter(self, svc_type, svc_name, path):
        return {path: (1.5, 2)}

    def get_all_perf_counters(self, prio_limit=5, services=('mds', 'mon', 'osd', 'rbd-mirror', 'rgw', 'tcmu-runner')):
        return {s + '.0': {'osd.op_r': {'priority': prio_limit, 'value': 3}} for s in services if s == 'osd'}

    def cluster_log(self, channel, priority, message):
        self.clog.append((channel, priority.value, message))

    def _ceph_set_uri(self, uri):
        self.uri = uri


class MgrStandbyModule(object):
    MODULE_OPTIONS = []

    def __init__(self, module_name, capsule=None):
        self.module_name = module_name
        self.mgr_id = 'x'
        self.run_dir = None
        self.config = {}
        self.store = {}
        self.active_uri = ''
        self.records = []
        self._logger = _new_logger('standin.standby.' + module_name, self.records)

    @property
    def log(self):
        return self._logger

    def get_mgr_id(self):
        return self.mgr_id

    def get_ceph_option(self, key):
        return {'run_dir': self.run_dir}.get(key)

    def _ceph_get_module_option(self, key, prefix=''):
        if prefix:
            v = self.config.get(prefix + '/' + key)
            if v is not None:
                return v
        return self.config.get(key)

    def get_store(self, key):
        return self.store.get(key)

    def get_active_uri(self):
        return self.active_uri

    def get(self, data_name):
        return {'mgr_ips': {'ips': ['127.0.0.1']}}.get(data_name)  # all Pacific's standby get knows
'''

DESCRIPTION = {'modules': [{
    'name': 'selftest', 'desc': 'self test', 'always_on': False, 'can_run': True,
    'notify_types': ['osd_map'], 'standby': False,
    'commands': [
        {'prefix': 'mgr self-test run', 'cmd': 'mgr self-test run', 'desc': 'Run', 'perm': 'w', 'poll': False},
        {'prefix': 'mgr self-test slow', 'cmd': 'mgr self-test slow', 'desc': 'Slow', 'perm': 'w', 'poll': False},
        {'prefix': 'greet', 'cmd': 'greet name=person_name,req=false,type=CephString', 'desc': 'Say hello',
         'perm': 'r', 'poll': False},
    ],
    'options': [
        {'name': 'count', 'type': 'int', 'level': 'advanced', 'default': 5, 'runtime': True},
        {'name': 'flag', 'type': 'bool', 'level': 'advanced', 'default': False, 'runtime': True},
        {'name': 'log_level', 'type': 'str', 'level': 'advanced', 'default': '', 'runtime': True, 'builtin': True},
        {'name': 'place', 'type': 'str', 'level': 'advanced', 'default': 'world', 'runtime': True},
    ],
}]}
RENAMES = [('mgr self-test', 'mgr goselftest')]


# ---------------------------------------------------------------------------
# The fake Go side

def send_frame(sock, lock, msg, raw=None):
    """msg as a frame, then raw (msg says "raw": its length)."""
    body = json.dumps(msg).encode('utf-8')
    with lock:
        sock.sendall(struct.pack('>I', len(body)) + body + (raw or b''))


def recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock):
    hdr = recv_exact(sock, 4)
    if hdr is None:
        return None
    body = recv_exact(sock, struct.unpack('>I', hdr)[0])
    return None if body is None else json.loads(body.decode('utf-8'))


def b64(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return base64.b64encode(data).decode('ascii')


class FakeConn(object):
    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.reading = threading.Event()
        self.reading.set()
        self.open = True


class FakeGo(object):
    """The Go side: serves DIR/bridge.sock, answers hello, command and
    shutdown, records every message the shim sends, and sends requests."""

    def __init__(self, d, on_command=None, on_hello=None):
        self.path = os.path.join(d, 'bridge.sock')
        self.on_command = on_command or (lambda args: ('ok', {'retval': 0, 'stdout_b64': '', 'stderr': ''}))
        self.on_hello = on_hello or (lambda args: ('ok', {}))
        self.cv = threading.Condition()
        self.log = []        # (conn, msg) of the shim's requests, in order
        self.seen = set()    # indexes of log that expect() returned
        self.replies = {}    # (conn, id) -> reply
        self.conns = []
        self.ever_connected = False
        self.next_id = 0
        self.lsock = None

    def start(self):
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(16)
        self.acceptor = threading.Thread(target=self._accept, args=(self.lsock,), daemon=True)
        self.acceptor.start()
        return self

    def stop(self):
        """The Go process dies: the socket and every connection go."""
        lsock, self.lsock = self.lsock, None
        if lsock is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            try:  # wakes the accept (close alone does not)
                lsock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.acceptor.join(5)
            lsock.close()
        with self.cv:
            conns = list(self.conns)
        for c in conns:
            c.reading.set()
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self, lsock):
        while True:
            try:
                s, _ = lsock.accept()
            except OSError:
                return
            c = FakeConn(s)
            with self.cv:
                self.conns.append(c)
                self.ever_connected = True
                self.cv.notify_all()
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        try:
            while True:
                c.reading.wait(10)
                msg = recv_frame(c.sock)
                if msg is None:
                    break
                if 're' in msg:
                    with self.cv:
                        self.replies[(c, msg['re'])] = msg
                        self.cv.notify_all()
                    continue
                with self.cv:
                    self.log.append((c, msg))
                    self.cv.notify_all()
                if msg.get('id'):
                    threading.Thread(target=self._answer, args=(c, msg), daemon=True).start()
        except (OSError, ValueError):
            pass
        finally:
            with self.cv:
                c.open = False
                if c in self.conns:
                    self.conns.remove(c)
                self.cv.notify_all()
            c.sock.close()

    def _answer(self, c, msg):
        op, args = msg['op'], msg.get('args') or {}
        if op == 'hello':
            res = self.on_hello(args)
        elif op == 'command':
            res = self.on_command(args)
        elif op == 'shutdown':
            res = ('ok', {})
        else:
            res = ('err', -95, 'unknown op ' + op)
        raw = None
        if res[0] == 'trickle':  # ('trickle', ok): the reply a byte at a time, 0.1 s apart
            body = json.dumps({'re': msg['id'], 'ok': res[1]}).encode('utf-8')
            data = struct.pack('>I', len(body)) + body
            try:
                with c.lock:
                    for i in range(len(data)):
                        c.sock.sendall(data[i:i + 1])
                        time.sleep(0.1)
            except OSError:
                pass
            return
        if res[0] == 'ok':
            reply = {'re': msg['id'], 'ok': res[1]}
        elif res[0] == 'raw':  # ('raw', ok, raw bytes): the raw_stdout feature
            reply, raw = {'re': msg['id'], 'ok': res[1], 'raw': len(res[2])}, res[2]
        else:
            reply = {'re': msg['id'], 'err': {'errno': res[1], 'msg': res[2]}}
        try:
            send_frame(c.sock, c.lock, reply, raw)
        except OSError:
            pass

    def expect(self, op, pred=None, timeout=5.0):
        """The next message op (matching pred) the shim sent, not returned
        before: (conn, msg)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, (c, msg) in enumerate(self.log):
                    if i not in self.seen and msg.get('op') == op and (pred is None or pred(msg)):
                        self.seen.add(i)
                        return c, msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('the shim sent no {} (got {})'.format(
                        op, [m.get('op') for _, m in self.log]))
                self.cv.wait(left)

    def ops(self):
        with self.cv:
            return [m.get('op') for _, m in self.log]

    def conn(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while not self.conns:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no connection')
                self.cv.wait(left)
            return self.conns[-1]

    def send(self, op, args, conn=None):
        """Send request op; its id."""
        c = conn or self.conn()
        with self.cv:
            self.next_id += 1
            rid = self.next_id
        send_frame(c.sock, c.lock, {'id': rid, 'op': op, 'args': args})
        return c, rid

    def reply(self, c, rid, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while (c, rid) not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no reply to request {}'.format(rid))
                self.cv.wait(left)
            return self.replies.pop((c, rid))

    def request(self, op, args=None, conn=None, timeout=5.0):
        c, rid = self.send(op, args if args is not None else {}, conn)
        return self.reply(c, rid, timeout)

    def oneway(self, op, args, conn=None):
        c = conn or self.conn()
        send_frame(c.sock, c.lock, {'id': 0, 'op': op, 'args': args})


def echo_command(args):
    return ('ok', {'retval': 0, 'stdout_b64': b64(json.dumps(args['cmd'], sort_keys=True)),
                   'stderr': 'pid {}'.format(os.getpid())})


def fake_go_main(d):
    """`test_gomgr_bridge.py --fake-go DIR`: the Go process, as a fake
    binary starts it. It leaves when its last connection has been gone for
    half a second (or after 30 s)."""
    fake = FakeGo(d, on_command=echo_command).start()
    with open(os.path.join(d, 'fake.pid'), 'w') as f:
        f.write(str(os.getpid()))
    start = time.monotonic()
    idle_since = None
    while time.monotonic() - start < 30:
        time.sleep(0.05)
        with fake.cv:
            busy = bool(fake.conns)
        if busy or not fake.ever_connected:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 0.5:
            break
    fake.stop()


# ---------------------------------------------------------------------------
# The tests

gomgr_bridge = None
_stub_dir = None


def setUpModule():
    global gomgr_bridge, _stub_dir
    _stub_dir = tempfile.mkdtemp(prefix='gomgr-bridge-stub-')
    with open(os.path.join(_stub_dir, 'mgr_module.py'), 'w') as f:
        f.write(STANDIN)
    sys.path.insert(0, _stub_dir)
    sys.path.insert(0, HERE)
    import gomgr_bridge as gb
    gomgr_bridge = gb


def tearDownModule():
    shutil.rmtree(_stub_dir, ignore_errors=True)


def wait_for(pred, timeout=5.0, what='condition'):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.01)


class BridgeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='gomgr-bridge-test-')
        self.run_dir = os.path.join(self.tmp, 'run')
        os.mkdir(self.run_dir)
        os.chmod(self.run_dir, 0o755)
        self.dir = os.path.join(self.run_dir, 'gomgr-bridge-x')
        self.calls = os.path.join(self.tmp, 'calls')
        with open(os.path.join(self.tmp, 'desc.json'), 'w') as f:
            json.dump(DESCRIPTION, f)
        self.saved = {k: getattr(gomgr_bridge, k) for k in ('RETRY_INTERVAL', 'COMMAND_TIMEOUT')}
        gomgr_bridge.RETRY_INTERVAL = 0.05
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.stop()
        pidfile = os.path.join(self.dir, 'fake.pid')
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read())
            try:  # the fake Go process this test started leaves by itself when idle
                wait_for(lambda: not _alive(pid), timeout=5, what='the fake Go process to leave')
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
                raise
        for k, v in self.saved.items():
            setattr(gomgr_bridge, k, v)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def binary(self, bridged):
        """A fake gomgr binary: describe prints DESCRIPTION; bridged logs
        its arguments and runs the shell code bridged."""
        path = os.path.join(self.tmp, 'fake-ceph-mgr')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n'
                    'case "$1" in\n'
                    'describe) [ "$2 $3" = "--module selftest" ] || exit 3; exec cat {desc} ;;\n'
                    'bridged) echo "$*" >> {calls}\n{bridged}\nexit ;;\n'
                    'esac\nexit 2\n'.format(desc=os.path.join(self.tmp, 'desc.json'), calls=self.calls,
                                            bridged=bridged))
        os.chmod(path, 0o755)
        return path

    def module(self, bridged='exit 1', name='goselftest'):
        cls = gomgr_bridge.module_class(self.binary(bridged), 'selftest', RENAMES)
        self.assertEqual(cls.can_run(), (True, ''))
        mod = cls(name)
        mod.run_dir = self.run_dir
        return mod

    def serve(self, mod):
        t = threading.Thread(target=mod.serve, daemon=True)
        t.start()

        def stop():
            mod.shutdown()
            t.join(5)
            self.assertFalse(t.is_alive(), 'serve() returns after shutdown()')
        self.addCleanup(stop)
        return t

    def fake(self, **kw):
        if not os.path.isdir(self.dir):
            os.mkdir(self.dir, 0o700)
        f = FakeGo(self.dir, **kw).start()
        self.fakes.append(f)
        return f

    def connected(self, mod):
        wait_for(lambda: mod._gomgr.conn is not None, what='the shim to connect')

    def calls_made(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return f.read().splitlines()

    # -- tests

    def test_not_connected(self):
        cls = gomgr_bridge.module_class(self.binary('exit 1'), 'selftest', RENAMES)
        self.assertEqual(cls.handle_command(None, '', {'prefix': 'mgr goselftest run'}),
                         (-107, '', 'gomgr bridge: the Go side of module selftest is not running'))
        mod = cls('goselftest')
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'}),
                         (-107, '', 'gomgr bridge: the Go side of module goselftest is not running'))
        mod.notify('osd_map', '')
        mod.config_notify()
        self.assertEqual([c['cmd'] for c in cls.COMMANDS],
                         ['mgr goselftest run', 'mgr goselftest slow',
                          'greet name=person_name,req=false,type=CephString'])
        self.assertEqual([o['name'] for o in cls.MODULE_OPTIONS], ['count', 'flag', 'place'])

    def test_forwarded_records_filter(self):
        # The cluster log handler's filter drops the records written for
        # the Go side (which sends them itself) and keeps the shim's own.
        fwd = logging.LogRecord('x', logging.WARNING, __file__, 1, 'from go', None, None)
        setattr(fwd, gomgr_bridge.FORWARDED, True)
        own = logging.LogRecord('x', logging.WARNING, __file__, 1, 'shim', None, None)
        self.assertFalse(gomgr_bridge._not_forwarded(fwd))
        self.assertTrue(gomgr_bridge._not_forwarded(own))

    def test_unrename_prefix(self):
        renames = [('mgr self-test', 'mgr goselftest'), ('a', 'b'), ('x', 'b c')]
        u = gomgr_bridge.unrename_prefix
        self.assertEqual(u('mgr goselftest run', renames), 'mgr self-test run')
        self.assertEqual(u('mgr goselftest', renames), 'mgr self-test')
        self.assertEqual(u('mgr goselftestx run', renames), 'mgr goselftestx run')
        self.assertEqual(u('b c d', renames), 'x d', 'the longest new words win')
        self.assertEqual(u('b d', renames), 'a d')
        self.assertEqual(u('greet', renames), 'greet')

    def test_hello_command_shutdown(self):
        got = []

        def on_command(args):
            got.append(args)
            prefix = args['cmd']['prefix']
            if prefix == 'greet':
                return ('err', -22, 'no such person')
            if prefix == 'mgr self-test slow':
                time.sleep(1)
            return ('ok', {'retval': 3, 'stdout_b64': b64(b'\x00\xff ' + 'é'.encode('utf-8')), 'stderr': 'said'})

        fake = self.fake(on_command=on_command)
        mod = self.module()
        mod.config = {'count': 7, 'flag': True, 'x/place': 'here'}
        mod.store = {'greeted/Bob': '1', 'other': 'v'}
        self.serve(mod)
        _, hello = fake.expect('hello')
        args = hello['args']
        self.assertIsInstance(hello['id'], int)
        self.assertGreater(hello['id'], 0)
        self.assertEqual(args['module'], 'goselftest')
        self.assertEqual(args['go_name'], 'selftest')
        self.assertEqual(args['mgr_id'], 'x')
        self.assertEqual(args['renames'], [['mgr self-test', 'mgr goselftest']])
        self.assertEqual(args['features'], ['raw_stdout', 'lane', 'get_fields', 'get_many', 'perf_counters'])
        self.assertEqual(args['options'], {'count': '7', 'flag': 'true', 'place': None, 'log_level': None,
                                           'log_to_file': None, 'log_to_cluster': None,
                                           'log_to_cluster_level': None})
        self.assertEqual(args['localized'], {'count': '7', 'flag': 'true', 'place': 'here', 'log_level': None,
                                             'log_to_file': None, 'log_to_cluster': None,
                                             'log_to_cluster_level': None})
        self.assertEqual(args['store'], {'greeted/Bob': '1', 'other': 'v'})
        self.connected(mod)
        self.assertEqual(mod.health, [], 'no health check while all is well')

        inbuf = 'in\x00put é'
        r = mod.handle_command(inbuf, {'prefix': 'mgr goselftest run', 'format': 'json'})
        self.assertEqual(r, (3, '\x00\ufffd é', 'said'), 'stdout decoded with errors=replace')
        self.assertEqual(got[-1]['cmd'], {'prefix': 'mgr self-test run', 'format': 'json'},
                         'the prefix renamed back to the Go one')
        self.assertEqual(base64.b64decode(got[-1]['inbuf_b64']), inbuf.encode('utf-8'))
        self.assertEqual(mod.handle_command(None, {'prefix': 'greet', 'person_name': 'Bob'}),
                         (-22, '', 'no such person'))
        self.assertEqual(got[-1], {'cmd': {'prefix': 'greet', 'person_name': 'Bob'}, 'inbuf_b64': ''})

        gomgr_bridge.COMMAND_TIMEOUT = 0.2
        t0 = time.monotonic()
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest slow'}),
                         (-110, '', 'gomgr bridge: no reply from the Go side'))
        self.assertLess(time.monotonic() - t0, 0.9)

        conn = fake.conn()
        mod.shutdown()
        fake.expect('shutdown')
        wait_for(lambda: not conn.open, what='the shim to close the connection')
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'})[0], -107)

    def test_standby(self):
        # A Go module with a standby variant: a MgrStandbyModule class next
        # to the module's, whose hello says standby and carries no store.
        fake = self.fake()
        desc = json.loads(json.dumps(DESCRIPTION))
        desc['modules'][0]['standby'] = True
        with open(os.path.join(self.tmp, 'desc.json'), 'w') as f:
            json.dump(desc, f)
        binary = self.binary('exit 1')
        active, standby = gomgr_bridge.module_classes(binary, 'selftest', RENAMES)
        self.assertTrue(issubclass(standby, sys.modules['mgr_module'].MgrStandbyModule))
        self.assertEqual([o['name'] for o in standby.MODULE_OPTIONS], [o['name'] for o in active.MODULE_OPTIONS])
        mod = standby('goselftest')
        mod.run_dir = self.run_dir
        mod.config = {'count': 7, 'x/place': 'here'}
        mod.store = {'k': 'v'}
        mod.active_uri = 'http://active:1/'
        self.serve(mod)
        _, hello = fake.expect('hello')
        args = hello['args']
        self.assertEqual(args['role'], 'standby')
        self.assertNotIn('store', args, 'a standby module cannot list its store')
        self.assertEqual(args['options']['count'], '7')
        self.assertEqual(args['localized']['place'], 'here')
        self.connected(mod)
        def ok(op, args=None):
            return fake.request(op, args)['ok']
        self.assertEqual(ok('get_store', {'key': 'k'}), 'v')
        self.assertEqual(ok('get_store', {'key': 'nosuch'}), None)
        self.assertEqual(ok('get_active_uri'), 'http://active:1/')
        self.assertEqual(ok('get', {'name': 'mgr_ips'}), {'ips': ['127.0.0.1']})
        self.assertEqual(ok('log', {'level': 'info', 'msg': 'from the standby'}), None)
        self.assertIn(('info', 'from the standby'), mod.records)
        r = fake.request('set_health_checks', {'checks': {}})
        self.assertEqual(r['err']['errno'], -95)
        self.assertIn('not available to a standby module', r['err']['msg'])
        # The mgr tells a standby module of no option change: the shim looks.
        gomgr_bridge.OPTION_POLL, saved = 0.1, gomgr_bridge.OPTION_POLL
        self.addCleanup(setattr, gomgr_bridge, 'OPTION_POLL', saved)
        mod.config['count'] = 9
        _, cfg = fake.expect('config', timeout=5)
        self.assertEqual(cfg['args']['options']['count'], '9')
        # Down: logged only (a standby module has no health checks).
        fake.stop()
        wait_for(lambda: any('is down' in m for _, m in mod.records), what='the down logged')

    def test_serve_waits_for_running_calls(self):
        # The mgr frees the module's object once serve() returns: a call of
        # the Go side still running on it is waited for.
        fake = self.fake()
        mod = self.module()
        entered, ended = threading.Event(), threading.Event()

        def mon_handler(cmd, inbuf):
            entered.set()
            time.sleep(0.5)
            ended.set()
            return (0, '', '')
        mod.mon_handler = mon_handler
        t = threading.Thread(target=mod.serve, daemon=True)
        t.start()
        fake.expect('hello')
        self.connected(mod)
        fake.send('mon_command', {'cmd': {'prefix': 'slow'}, 'inbuf_b64': ''})
        self.assertTrue(entered.wait(5))
        mod.shutdown()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertTrue(ended.is_set(), 'serve() returned while a call of the Go side still ran')

    def test_no_standby_variant(self):
        self.fake()
        self.assertIsNone(gomgr_bridge.module_classes(self.binary('exit 1'), 'selftest', RENAMES)[1])

    def test_command_lane(self):
        def on_hello(args):
            if 'lane' in args:
                return ('ok', {}) if args['lane'] == 'tok' else ('err', -2, 'no such lane')
            return ('ok', {'lane': 'tok'})

        big = b'\xff' + b'y' * (3 << 20)

        def on_command(args):
            prefix = args['cmd']['prefix']
            if prefix == 'mgr self-test slow':
                time.sleep(1)
            if prefix == 'mgr self-test run':  # raw bytes, more than one read's worth
                return ('raw', {'retval': 0, 'stderr': 'big'}, big)
            if prefix == 'small':  # raw bytes in the same read as the frame
                return ('raw', {'retval': 0, 'stderr': 'small'}, b'raw')
            return ('ok', {'retval': 0, 'stdout_b64': b64('hi ' + prefix), 'stderr': ''})

        fake = self.fake(on_hello=on_hello, on_command=on_command)
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        main = fake.conn()
        self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, 'hi greet', ''))
        lane, hello = fake.expect('hello')
        self.assertEqual(hello['args'], {'lane': 'tok'})
        self.assertIsNot(lane, main, 'a connection of its own')
        c, _ = fake.expect('command')
        self.assertIs(c, lane, 'the command came over the lane')
        self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, 'hi greet', ''))
        c, _ = fake.expect('command')
        self.assertIs(c, lane, 'the lane stays')
        for _ in range(2):  # the lane stays in step after raw bytes
            self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'}),
                             (0, big.decode('utf-8', 'replace'), 'big'))
            self.assertEqual(mod.handle_command('', {'prefix': 'small'}), (0, 'raw', 'small'))
            self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, 'hi greet', ''))
        for _ in range(6):
            c, _ = fake.expect('command')
            self.assertIs(c, lane)

        # A command the Go side does not answer in time ends its lane;
        # the next command opens another.
        gomgr_bridge.COMMAND_TIMEOUT = 0.2
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest slow'}),
                         (-110, '', 'gomgr bridge: no reply from the Go side'))
        fake.expect('command')
        wait_for(lambda: not lane.open, what='the timed-out lane to close')
        gomgr_bridge.COMMAND_TIMEOUT = 5.0
        self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, 'hi greet', ''))
        lane2, _ = fake.expect('hello')
        c, _ = fake.expect('command')
        self.assertIs(c, lane2)
        self.assertIsNot(lane2, lane)

        # The connection's end ends its lane.
        main.sock.shutdown(socket.SHUT_RDWR)
        wait_for(lambda: not lane2.open, what='the lane to close with its connection')

    def test_dead_connection_lane(self):
        # test_dead_connection with a lane: the Go process dies while a
        # command waits on the lane; the command must be answered as with
        # no lane (-ENOTCONN, "not running"), not -EIO.
        release = threading.Event()

        def on_hello(args):
            return ('ok', {}) if 'lane' in args else ('ok', {'lane': 'tok'})

        def on_command(args):
            if args['cmd']['prefix'] == 'mgr self-test slow':
                release.wait(10)
            return echo_command(args)

        fake = self.fake(on_command=on_command, on_hello=on_hello)
        mod = self.module(bridged='exit 1')
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'})[0], 0)
        fake.expect('hello')  # the lane's
        replies = []
        t = threading.Thread(target=lambda: replies.append(mod.handle_command('', {'prefix': 'mgr goselftest slow'})))
        t.start()
        fake.expect('command')
        fake.expect('command')
        fake.stop()  # the Go process dies
        t.join(2)
        release.set()
        not_running = (-107, '', 'gomgr bridge: the Go side of module goselftest is not running')
        self.assertEqual(replies, [not_running])

    def test_command_lane_trickle(self):
        # A reply that comes a byte at a time is bounded as a whole (a
        # second past COMMAND_TIMEOUT at most), not a recv at a time.
        def on_command(args):
            if args['cmd']['prefix'] == 'mgr self-test slow':
                return ('trickle', {'retval': 0, 'stdout_b64': b64('x' * 100), 'stderr': ''})
            return echo_command(args)
        fake = self.fake(on_command=on_command,
                         on_hello=lambda args: ('ok', {}) if 'lane' in args else ('ok', {'lane': 'tok'}))
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'})[0], 0)
        gomgr_bridge.COMMAND_TIMEOUT = 0.5
        t0 = time.monotonic()
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest slow'}),
                         (-110, '', 'gomgr bridge: no reply from the Go side'))
        self.assertLess(time.monotonic() - t0, 2.5)

    def test_command_lane_refused(self):
        # A Go side that gives a token but refuses the lane: commands go
        # over the connection, and no lane is asked for again.
        fake = self.fake(on_hello=lambda args: ('err', -2, 'no such lane') if 'lane' in args else ('ok', {'lane': 't'}))
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        main = fake.conn()
        for _ in range(3):
            self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, '', ''))
            c, _ = fake.expect('command')
            self.assertIs(c, main)
        self.assertEqual(fake.ops().count('hello'), 2, 'one refused lane hello, then none')

    def test_raw_stdout(self):
        big = b'\x00\xff ' + 'é'.encode('utf-8') + b'x' * (3 << 20)

        def on_command(args):
            prefix = args['cmd']['prefix']
            if prefix == 'mgr self-test run':
                return ('raw', {'retval': 0, 'stderr': 'raw'}, big)
            if prefix == 'mgr self-test slow':
                return ('raw', {'retval': 1, 'stderr': ''}, b'')
            return ('ok', {'retval': 0, 'stdout_b64': b64('small'), 'stderr': 'b64'})

        fake = self.fake(on_command=on_command)
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        for _ in range(2):  # the stream stays in step after raw bytes
            self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'}),
                             (0, big.decode('utf-8', 'replace'), 'raw'))
            self.assertEqual(mod.handle_command('', {'prefix': 'greet'}), (0, 'small', 'b64'))
            self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest slow'}), (1, '', ''))
        mod.data['osd_map'] = {'epoch': 3}
        self.assertEqual(fake.request('get', {'name': 'osd_map'}), {'re': fake.next_id, 'ok': {'epoch': 3}})

        # A bad raw length is a protocol error: the connection goes.
        conn = fake.conn()
        send_frame(conn.sock, conn.lock, {'re': 999, 'ok': {}, 'raw': -1})
        wait_for(lambda: mod._gomgr.conn is None or mod._gomgr.conn.closed, what='the shim to drop the connection')

    def test_go_requests(self):
        fake = self.fake()
        mod = self.module()
        release = threading.Event()
        mon = []

        def mon_handler(cmd, inbuf):
            mon.append((cmd, inbuf))
            if cmd['prefix'] == 'slow':
                release.wait(5)
            return (0, 'out é', 'fine')
        mod.mon_handler = mon_handler
        mod.data['osd_map'] = {'epoch': 3, 'pools': []}
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)

        def ok(op, args=None):
            r = fake.request(op, args)
            self.assertNotIn('err', r, r)
            return r['ok']

        def err(op, args=None):
            r = fake.request(op, args)
            self.assertNotIn('ok', r, r)
            return r['err']['errno'], r['err']['msg']

        self.assertIsNone(ok('set_store', {'key': 'greeted/Bob', 'value': 'yes'}))
        self.assertEqual(mod.store, {'greeted/Bob': 'yes'})
        ok('set_store', {'key': 'greeted/Bob', 'value': None})
        self.assertEqual(mod.store, {})
        self.assertEqual(ok('get', {'name': 'osd_map'}), {'epoch': 3, 'pools': []})
        self.assertIsNone(ok('get', {'name': 'nothing'}))
        self.assertIs(ok('have_mon_connection'), True)

        ok('set_module_option', {'key': 'count', 'value': '9', 'localized': False})
        ok('set_module_option', {'key': 'place', 'value': 'there', 'localized': True})
        self.assertEqual(mod.config, {'count': '9', 'x/place': 'there'})
        ok('set_module_option', {'key': 'count', 'value': None, 'localized': False})
        ok('set_module_option', {'key': 'place', 'value': None, 'localized': True})
        self.assertEqual(mod.config, {})
        n, msg = err('set_module_option', {'key': 'nope', 'value': '1', 'localized': False})
        self.assertEqual(n, -5)
        self.assertIn("'nope' is not in", msg)
        self.assertEqual(err('get', {})[0], -22, 'a missing argument')

        # get with fields: only those parts, lists element by element.
        mod.data['mgr_map'] = {'active_name': 'x', 'epoch': 9,
                               'standbys': [{'name': 'y', 'gid': 1}, {'name': 'z', 'gid': 2}],
                               'available_modules': [{'name': 'a', 'can_run': True, 'module_options': {'o': {}}}],
                               'always_on_modules': {'pacific': ['crash'], 'octopus': ['x']}}
        self.assertEqual(ok('get', {'name': 'mgr_map', 'fields': {
            'active_name': None, 'standbys': {'name': None}, 'missing': None,
            'available_modules': {'name': None, 'can_run': {}}, 'always_on_modules': {'pacific': None},
            'epoch': {'deeper': None}}}),
            {'active_name': 'x', 'standbys': [{'name': 'y'}, {'name': 'z'}], 'epoch': 9,
             'available_modules': [{'name': 'a', 'can_run': True}], 'always_on_modules': {'pacific': ['crash']}})
        self.assertEqual(ok('get', {'name': 'osd_map', 'fields': {}}), {'epoch': 3, 'pools': []}, 'empty: all')
        self.assertIsNone(ok('get', {'name': 'nothing', 'fields': {'a': None}}))
        self.assertEqual(err('get', {'name': 'osd_map', 'fields': ['epoch']})[0], -22)
        self.assertEqual(err('get', {'name': 'osd_map', 'fields': {'epoch': 1}})[0], -22)
        deep = None
        for _ in range(gomgr_bridge.MAX_FIELDS_DEPTH):
            deep = {'a': deep}
        self.assertEqual(ok('get', {'name': 'osd_map', 'fields': deep}), {}, 'as deep as allowed')
        self.assertEqual(err('get', {'name': 'osd_map', 'fields': {'a': deep}}), (-22, 'gomgr bridge: the fields nest more than 16 deep'))

        # get_many: several gets at once, each with its fields.
        self.assertEqual(ok('get_many', {'names': {'mgr_map': {'standbys': {'name': None}}, 'osd_map': None, 'nothing': {}}}),
                         {'mgr_map': {'standbys': [{'name': 'y'}, {'name': 'z'}]}, 'osd_map': {'epoch': 3, 'pools': []},
                          'nothing': None})
        self.assertEqual(ok('get_many', {'names': {}}), {})
        self.assertEqual(err('get_many', {'names': ['osd_map']})[0], -22)
        self.assertEqual(err('get_many', {'names': {'osd_map': {'a': deep}}})[0], -22)
        self.assertEqual(err('get_many', {'names': {str(i): None for i in range(gomgr_bridge.MAX_GET_MANY + 1)}}),
                         (-22, 'gomgr bridge: 65 names, more than 64 at once'))

        r = ok('mon_command', {'cmd': {'prefix': 'osd ls'}, 'inbuf_b64': b64('abc')})
        self.assertEqual(mon[-1], ({'prefix': 'osd ls'}, 'abc'))
        self.assertEqual(r, {'retval': 0, 'stdout_b64': b64('out é'), 'stderr': 'fine'})
        ok('mon_command', {'cmd': {'prefix': 'osd ls'}, 'inbuf_b64': ''})
        self.assertEqual(mon[-1], ({'prefix': 'osd ls'}, None))
        r = ok('send_command', {'type': 'osd', 'id': '1', 'cmd': {'prefix': 'perf dump'}, 'inbuf_b64': ''})
        self.assertEqual(r, {'retval': 0, 'stdout_b64': b64('out osd.1 {"prefix": "perf dump"} None'),
                             'stderr': 'done'})

        check = {'severity': 'warning', 'summary': 'foo', 'count': 2, 'detail': ['a', 'b']}
        ok('set_health_checks', {'checks': {'FOO': check}})
        self.assertEqual(mod.health[-1], {'FOO': check})

        self.assertEqual(ok('get_metadata', {'svc_type': 'osd', 'svc_id': '0'}), {'hostname': 'host-osd0'})
        self.assertEqual(ok('get_daemon_status', {'svc_type': 'rgw', 'svc_id': 'a'}), {'status': 'rgw.a'})
        self.assertEqual(ok('get_perf_schema', {'svc_type': 'osd', 'svc_id': '0'}), {'osd.0': {}})
        self.assertEqual(ok('get_counter', {'svc_type': 'osd', 'svc_id': '0', 'path': 'osd.op'}),
                         {'osd.op': [[1.5, 2]]})
        self.assertEqual(ok('list_servers'), [{'hostname': 'h1', 'services': []}])
        self.assertEqual(ok('get_server', {'hostname': 'nosuch'}), {'hostname': 'nosuch', 'services': [], 'ceph_version': ''})
        self.assertEqual(ok('get_latest_counter', {'svc_type': 'osd', 'svc_id': '0', 'path': 'osd.op'}),
                         {'osd.op': [1.5, 2]})
        self.assertEqual(ok('get_all_perf_counters', {'prio_limit': 8}), {'osd.0': {'osd.op_r': {'priority': 8, 'value': 3}}})
        self.assertEqual(ok('get_all_perf_counters'), {'osd.0': {'osd.op_r': {'priority': 5, 'value': 3}}})
        self.assertEqual(ok('get_all_perf_counters', {'prio_limit': 8, 'services': ['mon']}), {})
        self.assertEqual(ok('get_all_perf_counters', {'services': ['osd']}), {'osd.0': {'osd.op_r': {'priority': 5, 'value': 3}}})
        self.assertEqual(err('get_all_perf_counters', {'services': 'osd'})[0], -22, 'services must be a list')
        ok('set_uri', {'uri': 'http://h:1/'})
        self.assertEqual(mod.uri, 'http://h:1/')
        # The Go side's librados: the mgr's identity (the options set;
        # unset ones left out), its client registered for blocklisting.
        self.assertEqual(ok('rados_identity'), {'name': 'mgr.x', 'conf': {
            'mon_host': '[v2:127.0.0.1:3300]', 'keyring': '/k/mgr.x/keyring', 'ms_bind_ipv4': 'true',
            'ms_bind_ipv6': 'false'}})
        ok('register_client', {'addrs': '127.0.0.1:0/123'})
        self.assertEqual(mod.clients, ['127.0.0.1:0/123'])
        ok('unregister_client', {'addrs': '127.0.0.1:0/123'})
        self.assertEqual(mod.clients, [])
        self.assertEqual(err('register_client', {})[0], -22, 'no addrs')
        self.assertEqual(err('frobnicate'), (-95, 'unknown op frobnicate'))

        fake.oneway('log', {'level': 'warning', 'msg': 'from go'})
        fake.oneway('log', {'level': 'debug', 'msg': 'from go 2'})
        fake.oneway('cluster_log', {'channel': 'audit', 'priority': 3, 'msg': 'careful'})
        wait_for(lambda: mod.clog, what='the cluster log')
        self.assertEqual(mod.clog, [('audit', 3, 'careful')])
        logged = [r for r in mod.records if r[1].startswith('from go')]
        self.assertEqual(logged, [('warning', 'from go'), ('debug', 'from go 2')], 'one-way calls in order')

        # A slow call does not hold up the others.
        c, slow = fake.send('mon_command', {'cmd': {'prefix': 'slow'}, 'inbuf_b64': ''})
        wait_for(lambda: mon[-1][0]['prefix'] == 'slow', what='the slow call to start')
        self.assertEqual(ok('get', {'name': 'osd_map'})['epoch'], 3)
        self.assertEqual(ok('have_mon_connection'), True)
        release.set()
        self.assertEqual(fake.reply(c, slow)['ok']['retval'], 0)

    def test_notify_and_config(self):
        fake = self.fake()
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        mod.notify('pg_summary', '')  # not one of the Go module's notify types
        mod.notify('osd_map', '12')
        _, n = fake.expect('notify')
        self.assertEqual(n, {'id': 0, 'op': 'notify', 'args': {'type': 'osd_map', 'id': '12'}})
        mod.config['count'] = 3
        mod.config['x/flag'] = False
        mod.config_notify()
        _, c = fake.expect('config')
        self.assertEqual(c['id'], 0)
        self.assertEqual(c['args']['options']['count'], '3')
        self.assertIsNone(c['args']['options']['flag'])
        self.assertEqual(c['args']['localized']['flag'], 'false')
        self.assertEqual(fake.ops(), ['hello', 'notify', 'config'], 'the filtered notify was not sent')

        # notify never blocks, even when the Go side does not read.
        conn = fake.conn()
        conn.reading.clear()
        t0 = time.monotonic()
        for i in range(3000):
            mod.notify('osd_map', str(i) * 100)
        self.assertLess(time.monotonic() - t0, 1.0)
        conn.reading.set()
        fake.expect('notify', pred=lambda m: m['args']['id'] == '0' * 100)
        # Once the queue drains, notifications flow again.
        wait_for(lambda: mod.notify('osd_map', 'last') or
                 'last' in [m['args'].get('id') for _, m in list(fake.log)], what='the last notify')

    def test_perf_counters(self):
        """perf_counters answers what get_all_perf_counters does, compact:
        the counters of a token once, the values every time; the schema
        read again after the mgr's perf_schema_update."""
        fake = self.fake()
        mod = self.module()
        schemas = {
            'osd.0': {'osd.op_w': {'type': 10, 'priority': 8, 'units': 1, 'description': 'writes', 'nick': 'w'},
                      'osd.op_r': {'type': 10, 'priority': 5, 'units': 1, 'description': 'reads', 'nick': ''},
                      'osd.lat': {'type': 5, 'priority': 5, 'units': 0, 'description': 'latency', 'nick': 'l'},
                      'osd.low': {'type': 2, 'priority': 2, 'units': 0, 'description': 'dull', 'nick': ''}},
            'mon.a': {'mon.num': {'type': 2, 'priority': 5, 'units': 0, 'description': 'n', 'nick': ''}},
            'mgr.x': {'mgr.c': {'type': 2, 'priority': 9, 'units': 0, 'description': 'c', 'nick': ''}},
        }
        latest = {('osd.0', 'osd.op_w'): (1.0, 7), ('osd.0', 'osd.lat'): (1.0, 30, 3), ('mon.a', 'mon.num'): (2.0, 4)}
        reads = []

        def get_perf_schema(svc_type, svc_id):
            name = svc_type + '.' + svc_id
            reads.append(name)
            return {name: schemas[name]} if name in schemas else {}
        mod.get_perf_schema = get_perf_schema
        mod.list_servers = lambda: [{'hostname': 'h', 'services': [{'type': 'osd', 'id': '0'}, {'type': 'mgr', 'id': 'x'},
                                                                    {'type': 'mon', 'id': 'a'}, {'type': 'osd', 'id': '9'}]},
                                    {'hostname': 'h2', 'services': [{'type': 'osd', 'id': '0'}]}]
        mod._ceph_get_latest_counter = lambda t, i, path: {path: latest.get((t + '.' + i, path), [])}
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)

        def ok(args):
            r = fake.request('perf_counters', args)
            self.assertNotIn('err', r, r)
            return r['ok']['daemons']
        osd_counters = [['osd.lat', 'latency', 'l', 5, 5, 0], ['osd.op_r', 'reads', '', 10, 5, 1],
                        ['osd.op_w', 'writes', 'w', 10, 8, 1]]
        got = ok({'prio_limit': 5, 'services': ['osd', 'mon']})
        self.assertEqual([d['name'] for d in got], ['osd.0', 'mon.a'], 'osd.9 has no schema; the mgr is not asked for')
        osd, mon = got
        self.assertEqual(osd['counters'], osd_counters)
        self.assertEqual(osd['values'], [30, 3, 0, 7], 'an average: value and count; no sample: 0')
        self.assertEqual((mon['counters'], mon['values']), ([['mon.num', 'n', '', 2, 5, 0]], [4]))
        self.assertEqual(sorted(reads), ['mon.a', 'osd.0', 'osd.9'])

        # Known tokens: values only, and the schemas come from the cache.
        latest[('osd.0', 'osd.op_w')] = (3.0, 8)
        got = ok({'prio_limit': 5, 'services': ['osd', 'mon'], 'known': {'osd.0': osd['token'], 'mon.a': 'stale'}})
        self.assertNotIn('counters', got[0])
        self.assertEqual(got[0]['values'], [30, 3, 0, 8])
        self.assertEqual(got[1]['counters'], mon['counters'], 'a token that does not match: the counters again')
        self.assertEqual(sorted(reads), ['mon.a', 'osd.0', 'osd.9', 'osd.9'], 'only the daemon without a schema read again')

        # Another priority limit is another token.
        hi = ok({'prio_limit': 8, 'services': ['osd'], 'known': {'osd.0': osd['token']}})
        self.assertNotEqual(hi[0]['token'], osd['token'])
        self.assertEqual((hi[0]['counters'], hi[0]['values']), ([['osd.op_w', 'writes', 'w', 10, 8, 1]], [8]))

        # perf_schema_update: the daemon's schema is read again, a new token.
        schemas['osd.0']['osd.new'] = {'type': 2, 'priority': 5, 'units': 0, 'description': 'new', 'nick': ''}
        mod.notify('perf_schema_update', 'osd.0')
        got = ok({'prio_limit': 5, 'services': ['osd'], 'known': {'osd.0': osd['token']}})
        self.assertNotEqual(got[0]['token'], osd['token'])
        self.assertEqual([c[0] for c in got[0]['counters']], ['osd.lat', 'osd.new', 'osd.op_r', 'osd.op_w'])
        self.assertEqual(got[0]['values'], [30, 3, 0, 0, 8])

        # A cached schema is read again after PERF_SCHEMA_TTL.
        self.addCleanup(setattr, gomgr_bridge, 'PERF_SCHEMA_TTL', gomgr_bridge.PERF_SCHEMA_TTL)
        gomgr_bridge.PERF_SCHEMA_TTL = 0.0
        n = len(reads)
        ok({'prio_limit': 5, 'services': ['osd']})
        self.assertEqual(reads[n:], ['osd.0', 'osd.9'])

        # The default services are get_all_perf_counters': no mgr.
        self.assertEqual([d['name'] for d in ok({'prio_limit': 0})], ['osd.0', 'mon.a'])
        for bad in ({}, {'prio_limit': '5'}, {'prio_limit': 5, 'services': 'osd'}, {'prio_limit': 5, 'known': []}):
            r = fake.request('perf_counters', bad)
            self.assertEqual(r['err']['errno'], -22, bad)

    def perf_shim(self, schemas, latest=None):
        """A connected shim whose mgr has these daemons' perf schemas (one
        server, the daemons in the order given); its ok(args) is
        perf_counters' daemons, reads the get_perf_schema calls."""
        fake = self.fake()
        mod = self.module()
        latest = {} if latest is None else latest
        reads = []

        def get_perf_schema(svc_type, svc_id):
            name = svc_type + '.' + svc_id
            reads.append(name)
            return {name: dict(schemas[name])} if name in schemas else {}
        mod.get_perf_schema = get_perf_schema
        mod.list_servers = lambda: [{'hostname': 'h', 'services': [
            {'type': n.split('.', 1)[0], 'id': n.split('.', 1)[1]} for n in list(schemas)]}]
        mod._ceph_get_latest_counter = lambda t, i, path: {path: latest.get((t + '.' + i, path), [])}
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)

        def ok(args):
            r = fake.request('perf_counters', args)
            self.assertNotIn('err', r, r)
            return r['ok']['daemons']
        return mod, reads, ok

    def test_perf_counters_pacific_daemons(self):
        """As get_all_perf_counters (whose result has a daemon only once it
        has a counter): a daemon none of whose counters reach the priority
        limit, or whose schema is empty, is not listed."""
        schemas = {'osd.0': {'osd.op_w': {'type': 10, 'priority': 8, 'units': 1, 'description': 'w', 'nick': ''}},
                   'osd.1': {'osd.low': {'type': 2, 'priority': 2, 'units': 0, 'description': 'l', 'nick': ''}},
                   'osd.2': {}}
        _, _, ok = self.perf_shim(schemas)
        self.assertEqual([d['name'] for d in ok({'prio_limit': 5})], ['osd.0'])
        self.assertEqual([d['name'] for d in ok({'prio_limit': 9})], [])
        self.assertEqual([d['name'] for d in ok({'prio_limit': 0})], ['osd.0', 'osd.1'])

    def test_perf_counters_schema_reread(self):
        """A schema read again after PERF_SCHEMA_TTL that has not changed
        keeps its token (the Go side keeps its PerfCounterInfos, and is not
        sent the counters again); one that changed has a new token."""
        schemas = {'osd.0': {'osd.op_w': {'type': 10, 'priority': 8, 'units': 1, 'description': 'w', 'nick': ''}}}
        _, reads, ok = self.perf_shim(schemas)
        self.addCleanup(setattr, gomgr_bridge, 'PERF_SCHEMA_TTL', gomgr_bridge.PERF_SCHEMA_TTL)
        gomgr_bridge.PERF_SCHEMA_TTL = 0.0
        first = ok({'prio_limit': 5})[0]
        again = ok({'prio_limit': 5, 'known': {'osd.0': first['token']}})[0]
        self.assertEqual(reads, ['osd.0', 'osd.0'], 'read again')
        self.assertEqual(again['token'], first['token'])
        self.assertNotIn('counters', again)
        schemas['osd.0'] = {'osd.op_w': {'type': 10, 'priority': 8, 'units': 1, 'description': 'writes', 'nick': ''}}
        changed = ok({'prio_limit': 5, 'known': {'osd.0': first['token']}})[0]
        self.assertNotEqual(changed['token'], first['token'])
        self.assertEqual(changed['counters'], [['osd.op_w', 'writes', '', 10, 8, 1]])

    def test_perf_counters_schema_update_while_reading(self):
        """A perf_schema_update that comes while the daemon's schema is
        being read (after the mgr answered the old one) is not lost: the
        next perf_counters reads the schema again."""
        schemas = {'osd.0': {'osd.a': {'type': 2, 'priority': 5, 'units': 0, 'description': 'a', 'nick': ''}}}
        mod, reads, ok = self.perf_shim(schemas)
        read = mod.get_perf_schema

        def racing(svc_type, svc_id):
            old = read(svc_type, svc_id)
            # The daemon declares a counter, and the mgr notifies, before
            # the shim has cached what it read.
            schemas['osd.0'] = dict(schemas['osd.0'], **{'osd.b': {'type': 2, 'priority': 5, 'units': 0,
                                                                 'description': 'b', 'nick': ''}})
            mod.notify('perf_schema_update', 'osd.0')
            mod.get_perf_schema = read
            return old
        mod.get_perf_schema = racing
        self.assertEqual([c[0] for c in ok({'prio_limit': 5})[0]['counters']], ['osd.a'])
        self.assertEqual([c[0] for c in ok({'prio_limit': 5})[0]['counters']], ['osd.a', 'osd.b'])
        self.assertEqual(reads, ['osd.0', 'osd.0'])

    def test_perf_counters_schema_cache_bounded(self):
        """The schemas of daemons that are gone (or no longer asked for)
        are dropped once PERF_SCHEMA_TTL has passed: the cache does not
        grow with every daemon the cluster ever had."""
        schemas = {'rgw.a': {'rgw.req': {'type': 10, 'priority': 5, 'units': 0, 'description': 'r', 'nick': ''}}}
        mod, _, ok = self.perf_shim(schemas)
        st = gomgr_bridge._state_of(mod)
        self.addCleanup(setattr, gomgr_bridge, 'PERF_SCHEMA_TTL', gomgr_bridge.PERF_SCHEMA_TTL)
        gomgr_bridge.PERF_SCHEMA_TTL = 0.0
        for i in range(5):
            name = 'rgw.r{}'.format(i)
            schemas.clear()
            schemas[name] = {'rgw.req': {'type': 10, 'priority': 5, 'units': 0, 'description': 'r', 'nick': ''}}
            self.assertEqual([d['name'] for d in ok({'prio_limit': 5})], [name])
            time.sleep(0.01)
        self.assertEqual(list(st.schemas), ['rgw.r4'])

    def test_osd_perf_queries(self):
        fake = self.fake()
        mod = self.module()
        type(mod).perf_queries.clear()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        query = {'key_descriptor': [{'type': 'pool_id', 'regex': '^(1)$'}],
                 'performance_counter_descriptors': ['write_ops']}
        r = fake.request('add_osd_perf_query', {'query': query})
        qid = r['ok']
        self.assertEqual(mod.perf_queries, {qid: query})
        r = fake.request('get_osd_perf_counters', {'query_id': qid})
        self.assertEqual(r['ok'], {'counters': [{'k': [['1'], [''], ['', 'abc']], 'c': [[3, 0]]}]})
        r = fake.request('add_osd_perf_query', {'query': {}})
        self.assertEqual(r['err']['errno'], -22)
        # Only this connection's queries are its to read or remove.
        mod.perf_queries[999] = query
        r = fake.request('get_osd_perf_counters', {'query_id': 999})
        self.assertEqual(r['err']['errno'], -2)
        r = fake.request('remove_osd_perf_query', {'query_id': 999})
        self.assertEqual(r['err']['errno'], -2)
        self.assertIn(999, mod.perf_queries)
        r = fake.request('remove_osd_perf_query', {'query_id': qid})
        self.assertNotIn('err', r)
        self.assertNotIn(qid, mod.perf_queries)
        r = fake.request('get_osd_perf_counters', {'query_id': qid})
        self.assertEqual(r['err']['errno'], -2)
        # A query left when the Go side dies is removed from the mgr.
        qid = fake.request('add_osd_perf_query', {'query': query})['ok']
        self.assertIn(qid, mod.perf_queries)
        fake.stop()
        wait_for(lambda: qid not in mod.perf_queries, what='the dead side\'s query removed')
        self.assertIn(999, mod.perf_queries, "another's query stays")
        del mod.perf_queries[999]

    def test_dead_connection(self):
        release = threading.Event()

        def on_command(args):
            if args['cmd']['prefix'] == 'mgr self-test slow':
                release.wait(10)
            return echo_command(args)

        fake = self.fake(on_command=on_command)
        mod = self.module(bridged='exit 1')
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        foo = {'severity': 'warning', 'summary': 'foo', 'count': 1, 'detail': []}
        fake.request('set_health_checks', {'checks': {'FOO': foo}})

        replies = []
        t = threading.Thread(target=lambda: replies.append(mod.handle_command('', {'prefix': 'mgr goselftest slow'})))
        t.start()
        fake.expect('command')
        t0 = time.monotonic()
        fake.stop()  # the Go process dies
        t.join(2)
        self.assertLess(time.monotonic() - t0, 1.0, 'a waiting command is answered at once')
        release.set()
        not_running = (-107, '', 'gomgr bridge: the Go side of module goselftest is not running')
        self.assertEqual(replies, [not_running])
        t0 = time.monotonic()
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'}), not_running)
        self.assertLess(time.monotonic() - t0, 0.1)

        h = wait_for(lambda: mod.health and 'MGR_MODULE_ERROR' in mod.health[-1] and mod.health[-1],
                     what='the bridge health check')
        self.assertEqual(h['FOO'], foo, "the Go side's checks are kept")
        self.assertEqual(h['MGR_MODULE_ERROR']['severity'], 'error')
        self.assertEqual(h['MGR_MODULE_ERROR']['summary'], "Module 'goselftest' has failed: the Go side of the gomgr bridge is down")
        # It tries to start the Go process again (this binary cannot).
        wait_for(lambda: self.calls_made(), what='a start of the Go process')
        self.assertEqual(self.calls_made()[0], 'bridged --run-dir {} --mgr-id x'.format(self.dir))
        wait_for(lambda: 'exited with status 1' in mod.health[-1]['MGR_MODULE_ERROR']['detail'][0],
                 what='the reason in the detail')

        # The Go side comes back: hello again, and the check is cleared
        # with the dead side's checks (the new side's module starts with
        # none of its own).
        fake2 = self.fake(on_command=echo_command)
        _, hello = fake2.expect('hello')
        self.assertEqual(hello['args']['module'], 'goselftest')
        self.connected(mod)
        wait_for(lambda: mod.health[-1] == {}, what='the bridge check cleared')
        r = mod.handle_command('', {'prefix': 'mgr goselftest run'})
        self.assertEqual(r[0], 0)
        self.assertEqual(json.loads(r[1]), {'prefix': 'mgr self-test run'})

    def test_protocol_error(self):
        fake = self.fake()
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        self.connected(mod)
        conn = fake.conn()
        with conn.lock:
            conn.sock.sendall(struct.pack('>I', (64 << 20) + 1))
        wait_for(lambda: not conn.open, what='the shim to drop the connection')
        h = wait_for(lambda: mod.health and mod.health[0], what='the bridge health check')
        self.assertIn('protocol error', h['MGR_MODULE_ERROR']['detail'][0])
        fake.expect('hello')  # and it comes back

    def test_hello_refused(self):
        fake = self.fake(on_hello=lambda args: ('err', -2, 'no module selftest enabled'))
        mod = self.module()
        self.serve(mod)
        fake.expect('hello')
        h = wait_for(lambda: mod.health and mod.health[-1], what='the bridge health check')
        self.assertEqual(h['MGR_MODULE_ERROR']['detail'], ["Module 'goselftest' has failed: hello: no module selftest enabled"])
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'})[0], -107)
        fake.on_hello = lambda args: ('ok', {})
        fake.expect('hello')
        self.connected(mod)
        wait_for(lambda: mod.health[-1] == {}, what='the check cleared')

    def test_dir_refused(self):
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o750)
        fake = self.fake()
        mod = self.module()
        self.serve(mod)
        h = wait_for(lambda: mod.health and mod.health[-1], what='the bridge health check')
        self.assertEqual(h['MGR_MODULE_ERROR']['detail'],
                         ["Module 'goselftest' has failed: refusing to use {}: its mode is 0750, with group or other permissions".format(
                             self.dir)])
        self.assertEqual(mod.handle_command('', {'prefix': 'mgr goselftest run'})[0], -107)
        self.assertFalse(fake.ever_connected)
        self.assertEqual(self.calls_made(), [])
        if os.getuid() == 0:
            os.chmod(self.dir, 0o700)
            os.chown(self.dir, 54321, -1)
            wait_for(lambda: 'owned by uid 54321' in mod.health[-1]['MGR_MODULE_ERROR']['detail'][0],
                     what='the owner refused')
            os.chown(self.dir, 0, -1)
        os.chmod(self.dir, 0o700)
        fake.expect('hello')
        self.connected(mod)
        wait_for(lambda: mod.health[-1] == {}, what='the check cleared')

    def test_dir_symlink_refused(self):
        real = os.path.join(self.tmp, 'real')
        os.mkdir(real, 0o700)
        os.symlink(real, self.dir)
        mod = self.module()
        self.serve(mod)
        h = wait_for(lambda: mod.health and mod.health[-1], what='the bridge health check')
        self.assertEqual(h['MGR_MODULE_ERROR']['detail'],
                         ["Module 'goselftest' has failed: refusing to use {}: it is a symbolic link".format(self.dir)])
        self.assertEqual(os.listdir(real), [])

    def test_start_go_process(self):
        # The binary starts the fake Go side in the background; two shims
        # serve at once, and start.lock lets only one of them start it.
        bridged = '{} {} --fake-go "$3" </dev/null >>"$3/fake.log" 2>&1 &'.format(sys.executable, THIS)
        mods = [self.module(bridged=bridged, name='goselftest'), self.module(bridged=bridged, name='goother')]
        for m in mods:
            self.serve(m)
        for m in mods:
            wait_for(lambda: m._gomgr.conn is not None, timeout=10, what='the shim to connect')
        self.assertEqual(self.calls_made(), ['bridged --run-dir {} --mgr-id x'.format(self.dir)])
        st = os.lstat(self.dir)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0)
        for f in ('start.lock', 'bridged.log'):
            self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.dir, f)).st_mode), 0o600, f)
        pids = set()
        for m in mods:
            r, out, err = m.handle_command('', {'prefix': 'mgr goselftest run'})
            self.assertEqual((r, json.loads(out)), (0, {'prefix': 'mgr self-test run'}))
            pids.add(err)
        self.assertEqual(len(pids), 1, 'one Go process serves both')
        self.assertNotEqual(pids, {'pid {}'.format(os.getpid())})
        for m in mods:
            m.shutdown()
        # tearDown waits for the fake Go process to leave.


# _BIG_FRAME: a body larger than any read a buffering reader would make at once
# (256 KiB), so a frame spans several reads.
_BIG_FRAME = 256 << 10


class ConnectionFramingTest(unittest.TestCase):
    """Connection over a socket pair: the request frames it writes are
    encode_frame's, and the reader takes replies whatever the peer's
    writes look like: many frames in one write, one frame byte by byte,
    bodies and raw data larger than the reader's chunk."""

    def setUp(self):
        gb = gomgr_bridge
        self.a, self.b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.a.settimeout(gb.IO_TIMEOUT)
        self.conn = gb.Connection(self.a, lambda op, args: None, name='framing-test')
        self.addCleanup(self.b.close)
        self.addCleanup(self.conn.close)

    def reply_writes(self, frames):
        """The peer: read len(frames) requests, checking each frame, then
        answer all (frames(reqs) gives the byte strings to write)."""
        gb = gomgr_bridge
        reqs = []
        for _ in range(frames[0]):
            hdr = recv_exact(self.b, 4)
            body = recv_exact(self.b, struct.unpack('>I', hdr)[0])
            msg = json.loads(body.decode('utf-8'))
            self.assertEqual(hdr + body, gb.encode_frame(msg), 'the request frame is encode_frame\'s')
            reqs.append(msg)
        for chunk in frames[1](reqs):
            self.b.sendall(chunk)

    def run_requests(self, args_list, writes):
        results = [None] * len(args_list)

        def call(i):
            try:
                results[i] = self.conn.request_raw('echo', args_list[i], 10.0)
            except Exception as e:  # reported below
                results[i] = e
        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(args_list))]
        for t in threads:
            t.start()
        self.reply_writes((len(args_list), writes))
        for t in threads:
            t.join(10)
            self.assertFalse(t.is_alive())
        return results

    @staticmethod
    def frame_of(msg, raw=b''):
        body = json.dumps(msg).encode('utf-8')
        return struct.pack('>I', len(body)) + body + raw

    def test_coalesced_and_split_replies(self):
        gb = gomgr_bridge
        big = 'x' * (_BIG_FRAME * 2 + 7)
        args = [{'n': i, 's': 'é' * i} for i in range(5)] + [{'n': 5, 's': big}]

        def writes(reqs):
            data = b''.join(self.frame_of({'re': r['id'], 'ok': r['args'], 'raw': 12000}, raw=b'r' * 12000)
                            if r['args']['n'] == 4 else self.frame_of({'re': r['id'], 'ok': r['args']})
                            for r in reqs)
            first = data[:len(data) // 3]
            return [first[:5]] + [first[i:i + 1] for i in range(5, 40)] + [first[40:], data[len(first):]]
        results = self.run_requests(args, writes)
        for i, res in enumerate(results):
            self.assertNotIsInstance(res, Exception, res)
            ok, raw = res
            self.assertEqual(ok, args[i])
            self.assertEqual(raw, bytearray(b'r' * 12000) if i == 4 else None)

    def test_large_request_frame(self):
        gb = gomgr_bridge
        args = [{'cmd': {'prefix': 'p', 'v': [1, 2.5, None, True, 'ü' * 70000]}, 'inbuf_b64': ''}]
        results = self.run_requests(args, lambda reqs: [self.frame_of({'re': reqs[0]['id'], 'ok': 1})])
        self.assertEqual(results[0], (1, None))
        with self.assertRaises(gb.BridgeError) as e:
            self.conn.request('echo', {'s': 'x' * gb.MAX_FRAME}, 1.0)
        self.assertEqual(e.exception.errno, -errno.EMSGSIZE)

    def test_peer_gone_fails_waiters(self):
        gb = gomgr_bridge

        def writes(reqs):  # half a reply, then the peer goes
            return [self.frame_of({'re': reqs[0]['id'], 'ok': 0})[:7]]
        results = [None, None]

        def call(i):
            try:
                results[i] = self.conn.request('echo', {'n': i}, 10.0)
            except gb.BridgeError as e:
                results[i] = e.errno
        threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        self.reply_writes((2, writes))
        start = time.monotonic()
        self.b.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(5)
            self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(results, [-errno.ENOTCONN, -errno.ENOTCONN])
        self.assertTrue(self.conn.closed)

    def peer_reply(self):
        hdr = recv_exact(self.b, 4)
        return json.loads(recv_exact(self.b, struct.unpack('>I', hdr)[0]).decode('utf-8'))

    def inline_conn(self, handler):
        self.conn.close()
        self.a, self.b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.b.settimeout(10)
        self.addCleanup(self.b.close)
        conn = gomgr_bridge.Connection(self.a, handler, name='inline-test', inline_ops=frozenset(['get']))
        self.addCleanup(conn.close)
        return conn

    def test_inline_ops_run_by_reader(self):
        # An op of inline_ops runs in the reader thread, in the order the
        # requests came; the others in worker threads.
        ran = []

        def handler(op, args):
            ran.append((op, threading.current_thread().name))
            return args['n']
        self.inline_conn(handler)
        for i, op in enumerate(['get', 'mon_command', 'get']):
            self.b.sendall(self.frame_of({'id': i + 1, 'op': op, 'args': {'n': i}}))
        replies = {r['re']: r for r in (self.peer_reply() for _ in range(3))}
        self.assertEqual({k: v.get('ok') for k, v in replies.items()}, {1: 0, 2: 1, 3: 2})
        threads = dict(((op, name) for op, name in ran if op == 'mon_command'))
        self.assertEqual(threads['mon_command'], 'inline-test-worker')
        self.assertEqual([name for op, name in ran if op == 'get'], ['inline-test-reader'] * 2)

    def test_drain_waits_for_inline_call(self):
        # busy() and drain() count a call running in the reader thread:
        # after close, the mgr's object is not freed under it.
        entered, release = threading.Event(), threading.Event()

        def handler(op, args):
            entered.set()
            release.wait(10)
            return 1
        conn = self.inline_conn(handler)
        self.b.sendall(self.frame_of({'id': 1, 'op': 'get', 'args': {}}))
        self.assertTrue(entered.wait(5))
        self.assertTrue(conn.busy())
        conn.close()
        start = time.monotonic()
        self.assertFalse(conn.drain(0.2))
        self.assertLess(time.monotonic() - start, 2.0, 'drain is bounded by its timeout')
        release.set()
        self.assertTrue(conn.drain(5))
        self.assertFalse(conn.busy())


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours? (the shim's Popen child exits at once here; the fake
    # went to the background, so it is not our child)
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


if __name__ == '__main__':
    if sys.argv[1:2] == ['--fake-go']:
        fake_go_main(sys.argv[2])
        sys.exit(0)
    unittest.main()
