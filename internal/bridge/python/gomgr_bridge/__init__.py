"""gomgr_bridge: Go modules of a gomgr binary as modules of this ceph-mgr.

`ceph-mgr bridge install --module-path DIR` (the gomgr binary) writes this
package into the real mgr's module path, and a small module per Go module
(DIR/<name>/module.py) that calls module_class(). At import, the shim asks
the gomgr binary for its module's commands and options
(`ceph-mgr describe --module NAME`, JSON) and declares them as COMMANDS and
MODULE_OPTIONS, so the monitors check `ceph config set mgr mgr/NAME/OPT`
against the Go module's types, enums and bounds, and the ceph CLI lists
its commands.

When the mgr runs the module (serve()), the shim connects to the gomgr
process of this mgr daemon (`<binary> bridged --run-dir DIR --mgr-id ID`,
started by the first shim that finds it missing) over the unix socket
DIR/bridge.sock, and speaks the bridge protocol (version 1): length-prefixed
JSON requests and replies in both directions. The shim forwards the mgr's
commands, notifications and option changes to the Go module, and runs the
Go module's calls of the mgr (get, set_store, mon_command, ...) on its
MgrModule in worker threads.

This package is not a module itself (it has no module.py), so the mgr does
not load it as one; each shim imports it in its own sub-interpreter.
"""
import base64
import binascii
import collections
import errno
import fcntl
import json
import logging
import os
import re
import select
import socket
import stat
import struct
import subprocess
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from mgr_module import MgrModule, MgrStandbyModule, Option

# How long `ceph-mgr describe` may take at import (the mgr imports every
# module at start, so this bounds its start-up).
DESCRIBE_TIMEOUT = 20

# The protocol's limits and the shim's timeouts (seconds).
MAX_FRAME = 64 << 20          # largest message body
COMMAND_TIMEOUT = 300.0       # a command's reply
HELLO_TIMEOUT = 60.0          # hello's reply (the Go module's Init)
SHUTDOWN_TIMEOUT = 10.0       # shutdown's reply
SEND_COMMAND_TIMEOUT = 300.0  # a send_command the Go side asked for
IO_TIMEOUT = 60.0             # writing one message
CONNECT_TIMEOUT = 5.0         # connect(2) on the socket
RETRY_INTERVAL = 1.0          # between attempts to reach the Go side
START_TIMEOUT = 10.0          # for the socket of a started Go process
START_POLL = 0.1              # connect polling while it starts
LOCK_TIMEOUT = 20.0           # waiting for start.lock
MAX_WORKERS = 16              # threads running the Go side's calls
WORKER_IDLE = 10.0            # an idle worker thread exits after this
MAX_QUEUED_ONEWAY = 1000      # notify/config messages queued, then dropped

# The Go side's requests the reader thread answers itself rather than
# handing them to a worker thread: the mgr's getters, answered from its
# own state in C++ without waiting on anything (a worker's hand-off cost
# more than most of them: a thread to wake, the GIL to take again).
# Everything that can wait (commands to the monitors or daemons, the
# store, Python loops such as get_all_perf_counters) stays with workers.
INLINE_OPS = frozenset(['get', 'get_many', 'get_metadata', 'get_daemon_status', 'get_perf_schema', 'get_counter',
                        'get_latest_counter', 'list_servers', 'get_server', 'get_daemon_health_metrics'])
OPTION_POLL = 5.0             # a standby shim's look at its options

# The protocol extensions this shim takes (hello's "features"):
# raw_stdout: a command's stdout as raw bytes after the reply's frame;
# lane: commands over a connection of their own, read by the caller;
# get_fields: a get with "fields" answers only those parts of the value;
# get_many: several gets (each with its fields) in one request;
# perf_counters: the perf counters as values for schemas sent once.
FEATURES = ['raw_stdout', 'lane', 'get_fields', 'get_many', 'perf_counters']
MAX_FIELDS_DEPTH = 16         # as the Go side's module.MaxFieldsDepth
MAX_GET_MANY = 64             # names of one get_many, as module.MaxGetMany
PERF_SCHEMA_TTL = 60.0        # a daemon's cached perf schema is read again after this
PERF_SERVICES = ('mds', 'mon', 'osd', 'rbd-mirror', 'rgw', 'tcmu-runner')  # get_all_perf_counters' default
PERFCOUNTER_LONGRUNAVG = 4

# The mgr's Ceph options the Go side's librados (Handle.Rados) connects
# with (rados_identity): how to reach the monitors and authenticate as the
# mgr, as self.rados does with the mgr's own context.
RADOS_OPTIONS = ('mon_host', 'keyring', 'auth_client_required', 'ms_client_mode', 'ms_mon_client_mode',
                 'ms_bind_ipv4', 'ms_bind_ipv6')

HEALTH_CHECK = 'MGR_MODULE_ERROR'  # as the real mgr names a failed module's
SOCKET_NAME = 'bridge.sock'
LOCK_NAME = 'start.lock'
LOG_NAME = 'bridged.log'
# The options every MgrModule declares itself (in _register_options).
LOG_OPTIONS = ('log_level', 'log_to_file', 'log_to_cluster', 'log_to_cluster_level')
LOG_LEVELS = ('debug', 'info', 'warning', 'error', 'critical')


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


def unrename_prefix(prefix: str, renames: List[Tuple[str, str]]) -> str:
    """The Go prefix of the mgr's prefix: its leading NEW words (the longest
    matching rename) replaced by the OLD words they were renamed from."""
    best = None  # type: Optional[Tuple[str, str]]
    for old, new in renames:
        if (prefix == new or prefix.startswith(new + ' ')) and (best is None or len(new) > len(best[1])):
            best = (old, new)
    if best is None:
        return prefix
    return best[0] + prefix[len(best[1]):]


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


# ---------------------------------------------------------------------------
# Protocol plumbing

# FORWARDED marks a log record written for the Go side (op "log").
FORWARDED = 'gomgr_forwarded'


def _not_forwarded(record: logging.LogRecord) -> bool:
    """A filter of the cluster log handler: not the Go side's records."""
    return not getattr(record, FORWARDED, False)


class BridgeError(Exception):
    """A failed request: errno is negative (-errno.ENOTCONN, ...)."""

    def __init__(self, err: int, msg: str) -> None:
        super().__init__(msg)
        self.errno = err
        self.msg = msg


class _Failure(Exception):
    """An attempt to reach the Go side failed (the reason is the text)."""


def _json_default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray)):
        return bytes(o).decode('utf-8', 'replace')
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    value = getattr(o, 'value', None)  # an Enum
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(o)


# One encoder for every frame (json.dumps with options builds one per call).
_ENCODER = json.JSONEncoder(default=_json_default, allow_nan=False, separators=(',', ':'))


def encode_frame(msg: Dict[str, Any]) -> bytes:
    """msg as one frame: 4-byte big-endian length, then JSON."""
    body = _ENCODER.encode(msg).encode('utf-8')
    if len(body) > MAX_FRAME:
        raise BridgeError(-errno.EMSGSIZE, 'gomgr bridge: message of {} bytes is over the {} byte limit'.format(
            len(body), MAX_FRAME))
    return struct.pack('>I', len(body)) + body


def _to_bytes(v: Any) -> bytes:
    if v is None:
        return b''
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if not isinstance(v, str):
        v = str(v)
    try:
        return v.encode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        return v.encode('utf-8', 'replace')


def b64e(v: Any) -> str:
    return base64.b64encode(_to_bytes(v)).decode('ascii')


def b64d(s: Any) -> bytes:
    if s is None or s == '':
        return b''
    if not isinstance(s, str):
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: base64 field is not a string')
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: bad base64: {}'.format(e))


def _errno_of(e: BaseException) -> int:
    if isinstance(e, BridgeError):
        return e.errno
    n = getattr(e, 'errno', None)
    if isinstance(n, int) and not isinstance(n, bool) and n != 0:
        return -abs(n)
    return -errno.EIO


def _err_text(e: BaseException) -> str:
    if isinstance(e, BridgeError):
        return e.msg
    return str(e) or type(e).__name__


class _Pool:
    """Threads running queued functions: up to max_workers, started as
    needed, leaving after idle seconds without work. With max_workers 1 the
    functions run in order."""

    def __init__(self, name: str, max_workers: int, idle: float) -> None:
        self._name = name
        self._max = max_workers
        self._idle_timeout = idle
        self._cv = threading.Condition()
        self._work = collections.deque()  # type: collections.deque
        self._idle = 0
        self._workers = 0
        self._running = 0  # functions running now
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> bool:
        with self._cv:
            if self._closed:
                return False
            self._work.append(fn)
            if len(self._work) > self._idle and self._workers < self._max:
                self._workers += 1
                t = threading.Thread(target=self._run, name=self._name, daemon=True)
                t.start()
            else:
                self._cv.notify()
        return True

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._work.clear()
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._work and not self._closed:
                    self._idle += 1
                    woke = self._cv.wait(self._idle_timeout)
                    self._idle -= 1
                    if not woke and not self._work:
                        self._workers -= 1
                        return
                if self._closed:
                    self._workers -= 1
                    return
                fn = self._work.popleft()
                self._running += 1
            try:
                fn()
            except Exception:  # fn reports its own errors
                pass
            finally:
                with self._cv:
                    self._running -= 1
                    self._cv.notify_all()

    def running(self) -> bool:
        with self._cv:
            return self._running > 0

    def drain(self, timeout: float) -> bool:
        """Wait until no function runs (after close, none starts);
        whether that happened within timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True


class _Waiter:
    """A request waiting for its reply: set() once (by the reader, or by
    close), wait() by the caller. A lock held until set: lighter than an
    Event, which builds a Condition and a lock per wait."""
    __slots__ = ('_lock', 'reply')

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.reply = None  # type: Optional[Dict[str, Any]]

    def set(self) -> None:
        self._lock.release()

    def wait(self, timeout: float) -> bool:
        return self._lock.acquire(timeout=timeout)


# Flags of a send that never blocks (Linux); without MSG_DONTWAIT every
# frame goes through the writer thread.
_SEND_NOW_FLAGS = getattr(socket, 'MSG_DONTWAIT', 0) | getattr(socket, 'MSG_NOSIGNAL', 0)
_CAN_SEND_NOW = hasattr(socket, 'MSG_DONTWAIT') and hasattr(select, 'poll')


class _ProtocolError(Exception):
    """A frame that breaks the protocol; the connection ends."""


class _LaneClosed(_ProtocolError):
    """The Go side closed a lane: it does so only when the lane's
    connection ends (PROTOCOL.md)."""


def _read_message(recv_exact: Callable[[int], Optional[bytearray]]) -> Optional[Dict[str, Any]]:
    """One message read with recv_exact (None at the end of the stream),
    its raw bytes, if any, in its "raw"; _ProtocolError for a bad one."""
    hdr = recv_exact(4)
    if hdr is None:
        return None
    (n,) = struct.unpack('>I', hdr)
    if n > MAX_FRAME:
        raise _ProtocolError('protocol error: message of {} bytes is over the {} byte limit'.format(n, MAX_FRAME))
    body = recv_exact(n)
    if body is None:
        return None
    try:
        msg = json.loads(body.decode('utf-8'))
    except ValueError as e:
        raise _ProtocolError('protocol error: bad JSON: {}'.format(e))
    if not isinstance(msg, dict):
        raise _ProtocolError('protocol error: a message is not a JSON object')
    raw = msg.get('raw')
    if raw is not None:  # raw bytes follow the frame
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0 or raw > MAX_FRAME:
            raise _ProtocolError('protocol error: bad raw length {!r}'.format(raw))
        data = recv_exact(raw) if raw else bytearray()
        if data is None:
            return None
        msg['raw'] = data
    return msg


def _reply_value(reply: Dict[str, Any]) -> Tuple[Any, Optional[bytearray]]:
    """A reply's "ok" value and raw bytes (None if none), or BridgeError."""
    if 'err' not in reply:
        raw = reply.get('raw')
        return reply.get('ok'), raw if isinstance(raw, bytearray) else None
    err = reply.get('err')
    if not isinstance(err, dict):
        err = {}
    n = err.get('errno')
    if not isinstance(n, int) or isinstance(n, bool) or n == 0:
        n = -errno.EIO
    raise BridgeError(-abs(n), str(err.get('msg', '')))


# A lane's reads: what one recv asks for.
_LANE_CHUNK = 65536


class _Lane:
    """A second connection to the Go side that carries one request at a
    time, sent and read by its caller's own thread (PROTOCOL.md, the lane
    feature): a command's reply wakes the thread waiting for it, not the
    reader thread, which would then wake it (two thread hand-offs and two
    takings of the GIL fewer). The Go side sends nothing on it but
    replies."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._next_id = 0
        self._timeout = None  # type: Optional[float]
        self._deadline = 0.0  # of the request being read (time.monotonic)
        self._buf = bytearray()  # read past what was asked for

    def _wait_left(self) -> None:
        """Before a recv: the socket's timeout no more than a second past
        the request's deadline (socket.timeout once it has passed), so a
        reply that trickles in is bounded as a whole."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout('timed out')
        if self._timeout is None or left + 1.0 < self._timeout:
            self._sock.settimeout(left)
            self._timeout = left

    def _recv_exact(self, n: int) -> Optional[bytearray]:
        """n bytes, read in as few recv calls as can be (a reply's header
        and body come in one), or None at the end of the stream."""
        have = len(self._buf)
        if have >= n:
            out = self._buf[:n]
            del self._buf[:n]
            return out
        out = bytearray(n)
        out[:have] = self._buf
        self._buf.clear()
        view = memoryview(out)
        got = have
        while got < n:
            self._wait_left()
            if n - got >= _LANE_CHUNK:  # a large one goes straight to its place
                k = self._sock.recv_into(view[got:], n - got)
                if k == 0:
                    return None
                got += k
                continue
            chunk = self._sock.recv(_LANE_CHUNK)
            if not chunk:
                return None
            take = min(len(chunk), n - got)
            view[got:got + take] = chunk[:take]
            got += take
            if take < len(chunk):
                self._buf += chunk[take:]
        return out

    def request_raw(self, op: str, args: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        """Send request op and read its reply (the reply message); OSError,
        socket.timeout or _ProtocolError if the lane failed (it is unusable
        then)."""
        self._next_id += 1
        rid = self._next_id
        frame = encode_frame({'id': rid, 'op': op, 'args': args})
        self._deadline = time.monotonic() + timeout
        if timeout != self._timeout:  # settimeout costs two fcntl calls
            self._sock.settimeout(timeout)
            self._timeout = timeout
        self._sock.sendall(frame, getattr(socket, 'MSG_NOSIGNAL', 0))
        msg = _read_message(self._recv_exact)
        if msg is None:
            raise _LaneClosed('lane closed by the Go side')
        if msg.get('re') != rid:
            raise _ProtocolError('protocol error: a lane carried something else than its reply')
        return msg

    def shutdown(self) -> None:
        """End the lane (a caller reading it gets its end at once)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Shut the lane and close its socket (by its user only)."""
        self.shutdown()
        try:
            self._sock.close()
        except OSError:
            pass


class Connection:
    """One protocol connection: a reader thread taking frames, a writer
    thread sending queued frames (so no caller blocks on the socket; when
    nothing is queued the caller sends what the socket takes at once,
    without blocking, and leaves only the rest to the writer), replies
    matched to waiting requests by "re", and the peer's requests
    run by handler(op, args) in worker threads (one-way ones in order, in a
    thread of their own; requests whose op is in inline_ops by the reader
    thread itself, before it reads on). When the connection breaks, every
    waiting request fails at once with -ENOTCONN and on_close() is
    called. request_lane sends a request over the connection's lane
    (set_lane), a second connection its caller reads itself, when it has
    one and nobody else uses it."""

    def __init__(self, sock: socket.socket,
                 handler: Callable[[str, Dict[str, Any]], Any],
                 on_close: Optional[Callable[[], None]] = None,
                 name: str = 'gomgr-bridge',
                 inline_ops: frozenset = frozenset()) -> None:
        self._sock = sock
        self._handler = handler
        self._on_close = on_close
        self._lock = threading.Condition()
        self._out = collections.deque()  # type: collections.deque  # (frame, droppable)
        self._queued_oneway = 0
        self._writing = False  # the writer is sending a frame
        self._poll = None  # type: Any
        if _CAN_SEND_NOW:
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLOUT)
        self._pending = {}  # type: Dict[int, _Waiter]
        self._next_id = 0
        self._closed = False
        self.reason = ''
        self._workers = _Pool(name + '-worker', MAX_WORKERS, WORKER_IDLE)
        self._oneways = _Pool(name + '-oneway', 1, WORKER_IDLE)
        self._inline_ops = inline_ops
        self._inline = 0  # requests the reader thread runs now (0 or 1)
        self._lane_open = None  # type: Optional[Callable[[], Optional[_Lane]]]
        self._lane = None  # type: Optional[_Lane]
        self._lane_lock = threading.Lock()  # held by the lane's one caller
        self._writer = threading.Thread(target=self._write_loop, name=name + '-writer', daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name=name + '-reader', daemon=True)
        self._writer.start()
        self._reader.start()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- sending

    def _send_now(self, frame: bytes) -> Any:
        """With the lock held: send what the socket takes of frame now,
        without blocking, if nothing is queued or being written (so frames
        keep their order). The rest of the frame (None if all was sent),
        for the writer."""
        if self._poll is None or self._out or self._writing:
            return frame
        try:
            if not self._poll.poll(0):
                return frame
            n = self._sock.send(frame, _SEND_NOW_FLAGS)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return frame
        except OSError:
            return frame  # the writer meets the error and closes the connection
        if n >= len(frame):
            return None
        return memoryview(frame)[n:]

    def _queue(self, frame: bytes, droppable: bool) -> None:
        """With the lock held: send frame now or queue it for the writer
        (a frame begun here is finished, never dropped)."""
        rest = self._send_now(frame)
        if rest is None:
            return
        if rest is not frame:
            droppable = False
        elif droppable:
            self._queued_oneway += 1
        self._out.append((rest, droppable))
        self._lock.notify_all()

    def _enqueue(self, frame: bytes, droppable: bool) -> bool:
        with self._lock:
            if self._closed:
                return False
            if droppable and self._queued_oneway >= MAX_QUEUED_ONEWAY:
                return False
            self._queue(frame, droppable)
        return True

    def request(self, op: str, args: Dict[str, Any], timeout: float) -> Any:
        """Send request op and wait (up to timeout) for its reply: its "ok"
        value, or BridgeError."""
        return self.request_raw(op, args, timeout)[0]

    def request_raw(self, op: str, args: Dict[str, Any], timeout: float) -> Tuple[Any, Optional[bytearray]]:
        """request, and the raw bytes the reply carried (None if none)."""
        with self._lock:
            self._next_id += 1
            rid = self._next_id
        frame = encode_frame({'id': rid, 'op': op, 'args': args})
        w = _Waiter()
        with self._lock:
            if self._closed:
                raise BridgeError(-errno.ENOTCONN, 'gomgr bridge: not connected ({})'.format(self.reason))
            self._pending[rid] = w
            self._queue(frame, False)
        if not w.wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
            if w.reply is None:
                raise BridgeError(-errno.ETIMEDOUT, 'gomgr bridge: no reply from the Go side')
        return _reply_value(w.reply or {})

    def set_lane(self, opener: Callable[[], Optional[_Lane]]) -> None:
        """Let request_lane open lanes with opener (a connected lane, or
        None if there can be none)."""
        with self._lock:
            self._lane_open = opener

    def request_lane(self, op: str, args: Dict[str, Any], timeout: float) -> Tuple[Any, Optional[bytearray]]:
        """request_raw, over the connection's lane when it has one and no
        other thread uses it (otherwise as request_raw does). A lane that
        fails is closed; the next request opens another."""
        if self._lane_open is None or not self._lane_lock.acquire(blocking=False):
            return self.request_raw(op, args, timeout)
        lane = None  # type: Optional[_Lane]
        try:
            lane = self._lane
            if lane is None:
                try:
                    lane = self._lane_open()
                except Exception:
                    lane = None
                if lane is None:  # no lanes for this connection, then
                    self._lane_open = None
                    return self.request_raw(op, args, timeout)
                with self._lock:
                    if self._closed:
                        lane.close()
                        raise BridgeError(-errno.ENOTCONN, 'gomgr bridge: not connected ({})'.format(self.reason))
                    self._lane = lane
            try:
                reply = lane.request_raw(op, args, timeout)
            except socket.timeout:
                self._drop_lane(lane)
                raise BridgeError(-errno.ETIMEDOUT, 'gomgr bridge: no reply from the Go side')
            except (OSError, _ProtocolError) as e:
                self._drop_lane(lane)
                gone = isinstance(e, _LaneClosed) or getattr(e, 'errno', None) in (errno.EPIPE, errno.ECONNRESET)
                if self._closed or gone:  # the connection ends (its reader may not know yet)
                    raise BridgeError(-errno.ENOTCONN, 'gomgr bridge: connection to the Go side lost ({})'.format(self.reason))
                raise BridgeError(-errno.EIO, 'gomgr bridge: the command lane failed: {}'.format(e))
            return _reply_value(reply)
        finally:
            self._lane_lock.release()
            if lane is not None and self._lane is not lane:  # dropped, or the connection closed meanwhile
                lane.close()  # (close() only shut it down while this thread held it)

    def _drop_lane(self, lane: _Lane) -> None:
        with self._lock:
            if self._lane is lane:
                self._lane = None
        lane.close()

    def oneway(self, op: str, args: Dict[str, Any]) -> bool:
        """Queue one-way message op (never blocks; False if dropped)."""
        try:
            frame = encode_frame({'id': 0, 'op': op, 'args': args})
        except (BridgeError, ValueError, TypeError):
            return False
        return self._enqueue(frame, True)

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._out and not self._closed:
                    self._lock.wait(IO_TIMEOUT)
                if self._closed:
                    return
                frame, droppable = self._out.popleft()
                if droppable:
                    self._queued_oneway -= 1
                self._writing = True
            try:
                self._sock.sendall(frame, getattr(socket, 'MSG_NOSIGNAL', 0))
            except OSError as e:
                self.close('write: {}'.format(e))
                return
            with self._lock:
                self._writing = False

    # -- receiving

    def _recv_exact(self, n: int) -> Optional[bytearray]:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = self._sock.recv_into(view[got:], n - got)
            except socket.timeout:
                if self._closed:
                    return None
                continue
            if k == 0:
                return None
            got += k
        return buf  # not copied into bytes: a large reply is decoded once

    def _read_loop(self) -> None:
        reason = 'connection closed by the Go side'
        try:
            while not self._closed:
                msg = _read_message(self._recv_exact)
                if msg is None:
                    break
                self._dispatch(msg)
        except _ProtocolError as e:
            reason = str(e)
        except OSError as e:
            reason = 'read: {}'.format(e)
        except Exception as e:  # never leave the connection half alive
            reason = 'reader: {}'.format(e)
        self.close(reason)
        self._writer.join(IO_TIMEOUT)
        try:
            self._sock.close()
        except OSError:
            pass

    def _dispatch(self, msg: Dict[str, Any]) -> None:
        if 're' in msg:
            rid = msg.get('re')
            with self._lock:
                w = self._pending.pop(rid, None) if isinstance(rid, int) else None
            if w is not None:
                w.reply = msg
                w.set()
            return
        op = msg.get('op')
        rid = msg.get('id', 0)
        if not isinstance(op, str) or not isinstance(rid, int) or isinstance(rid, bool):
            return
        args = msg.get('args')
        if args is None:
            args = {}
        if rid == 0:
            self._oneways.submit(lambda: self._run_oneway(op, args))
        elif op in self._inline_ops:
            with self._lock:
                if self._closed:
                    return
                self._inline += 1
            try:
                self._run_request(rid, op, args)
            finally:
                with self._lock:
                    self._inline -= 1
                    if self._closed:  # drain() may wait (the writer need not wake)
                        self._lock.notify_all()
        else:
            self._workers.submit(lambda: self._run_request(rid, op, args))

    def _call(self, op: str, args: Any) -> Any:
        if not isinstance(args, dict):
            raise BridgeError(-errno.EINVAL, 'gomgr bridge: the args of {} are not an object'.format(op))
        return self._handler(op, args)

    def _run_oneway(self, op: str, args: Any) -> None:
        try:
            self._call(op, args)
        except Exception:
            pass  # nobody to tell

    def _run_request(self, rid: int, op: str, args: Any) -> None:
        try:
            reply = {'re': rid, 'ok': self._call(op, args)}  # type: Dict[str, Any]
            try:
                frame = encode_frame(reply)
            except (ValueError, TypeError) as e:
                raise BridgeError(-errno.EIO, 'gomgr bridge: the result of {} is not JSON: {}'.format(op, e))
        except Exception as e:
            frame = encode_frame({'re': rid, 'err': {'errno': _errno_of(e), 'msg': _err_text(e)}})
        self._enqueue(frame, False)

    # -- closing

    def busy(self) -> bool:
        """Whether a call of the Go side runs (in a worker thread, or the
        reader's)."""
        with self._lock:
            inline = self._inline > 0
        return inline or self._workers.running() or self._oneways.running()

    def drain(self, timeout: float) -> bool:
        """After close: wait for the Go side's calls still running in
        worker threads or the reader's (they use the module's mgr object,
        which the mgr frees once serve() has returned); whether they ended
        in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._inline > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return (self._workers.drain(max(0.0, deadline - time.monotonic())) and
                self._oneways.drain(max(0.0, deadline - time.monotonic())))

    def close(self, reason: str = 'closed') -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.reason = reason
            pending = list(self._pending.values())
            self._pending.clear()
            self._out.clear()
            lane, self._lane = self._lane, None
            self._lock.notify_all()
        if lane is not None:
            if self._lane_lock.acquire(blocking=False):
                try:
                    lane.close()
                finally:
                    self._lane_lock.release()
            else:
                lane.shutdown()  # its caller gets -ENOTCONN and closes it
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader; it closes the socket
        except OSError:
            pass
        self._workers.close()
        self._oneways.close()
        for w in pending:
            w.reply = {'err': {'errno': -errno.ENOTCONN,
                               'msg': 'gomgr bridge: connection to the Go side lost ({})'.format(reason)}}
            w.set()
        if self._on_close is not None:
            try:
                self._on_close()
            except Exception:
                pass


def check_dir(d: str) -> None:
    """Create d (0700) if missing; raise _Failure unless it is a real
    directory owned by this uid without group or other permissions."""
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise _Failure('cannot create {}: {}'.format(d, e))
    try:
        st = os.lstat(d)
    except OSError as e:
        raise _Failure('cannot use {}: {}'.format(d, e))
    why = ''
    if stat.S_ISLNK(st.st_mode):
        why = 'it is a symbolic link'
    elif not stat.S_ISDIR(st.st_mode):
        why = 'it is not a directory'
    elif st.st_uid != os.getuid():
        why = 'it is owned by uid {}, not {}'.format(st.st_uid, os.getuid())
    elif st.st_mode & 0o077:
        why = 'its mode is {:04o}, with group or other permissions'.format(stat.S_IMODE(st.st_mode))
    if why:
        raise _Failure('refusing to use {}: {}'.format(d, why))


def check_peer(sock: socket.socket) -> None:
    """Raise _Failure unless the socket's peer runs as this uid."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
    except OSError as e:
        raise _Failure('cannot check the peer of the socket: {}'.format(e))
    pid, uid, _ = struct.unpack('3i', creds)
    if uid != os.getuid():
        raise _Failure('refusing the socket: its peer (pid {}) runs as uid {}, not {}'.format(pid, uid, os.getuid()))


def _connect(path: str) -> Optional[socket.socket]:
    """A socket connected to path, or None if nothing listens there."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(CONNECT_TIMEOUT)
    try:
        s.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        s.close()
        return None
    except OSError as e:
        s.close()
        raise _Failure('cannot connect to {}: {}'.format(path, e))
    s.settimeout(IO_TIMEOUT)
    return s


def _open_lane(path: str, token: str) -> Optional[_Lane]:
    """A lane of the connection that got token (None if the Go side's
    socket cannot be reached)."""
    sock = _connect(path)
    if sock is None:
        return None
    try:
        check_peer(sock)
        lane = _Lane(sock)
        _reply_value(lane.request_raw('hello', {'lane': token}, HELLO_TIMEOUT))
        return lane
    except Exception:
        sock.close()
        raise


def _opt_text(v: Any) -> Optional[str]:
    if v is None:
        return None
    if isinstance(v, bool):
        return 'true' if v else 'false'
    return str(v)


class _State:
    """A shim instance's bridge state."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.conn = None        # type: Optional[Connection]  # connected, hello done
        self.connecting = None  # type: Optional[Connection]  # hello in flight
        self.stopped = False
        self.health_lock = threading.Lock()
        self.go_checks = {}     # type: Dict[str, Any]  # the Go side's last set_health_checks
        self.down = None        # type: Optional[str]  # why the Go side is unreachable
        self.procs = []         # type: List[subprocess.Popen]
        # The OSD perf queries each connection's Go side added and has not
        # removed: removed from the mgr when the connection goes away, so
        # that a Go side that stops or dies leaks none.
        self.perf_lock = threading.Lock()
        self.perf_queries = {}  # type: Dict[Any, Set[int]]
        # perf_counters' cache of the daemons' perf schemas: daemon name ->
        # (version, read at (monotonic), [(path, schema entry)] by path),
        # dropped on the mgr's perf_schema_update for the daemon.
        self.schema_lock = threading.Lock()
        self.schemas = {}  # type: Dict[str, Tuple[int, float, List[Tuple[str, Dict[str, Any]]]]]
        self.schema_version = 0
        # perf_schema_update notifications so far: a schema read while one
        # comes is not cached (it may be the one the notification drops).
        self.schema_updates = 0


def _state_of(mod: Any) -> Optional[_State]:
    if mod is None:
        return None
    return getattr(mod, '_gomgr', None)


def _arg(args: Dict[str, Any], name: str, typ: type, optional: bool = False) -> Any:
    v = args.get(name)
    if v is None and optional:
        return None
    if not isinstance(v, typ) or (typ is int and isinstance(v, bool)):
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: bad or missing argument {!r}'.format(name))
    return v


def _names_arg(args: Dict[str, Any]) -> Dict[str, Any]:
    """get_many's "names": an object of at most MAX_GET_MANY names, each
    with its fields (checked as _fields_arg's)."""
    names = args.get('names')
    if not isinstance(names, dict):
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: names is not an object')
    if len(names) > MAX_GET_MANY:
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: {} names, more than {} at once'.format(len(names), MAX_GET_MANY))
    return {name: _fields_arg({'fields': fields}) for name, fields in names.items()}


def _fields_arg(args: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A get's "fields" (module.Fields), checked: an object whose values
    are null or objects of the same kind, at most MAX_FIELDS_DEPTH deep;
    None when absent or empty."""
    fields = args.get('fields')
    if fields is None:
        return None
    todo = [(fields, 1)]
    while todo:
        f, depth = todo.pop()
        if not isinstance(f, dict):
            raise BridgeError(-errno.EINVAL, 'gomgr bridge: fields is not an object of objects')
        if f and depth > MAX_FIELDS_DEPTH:
            raise BridgeError(-errno.EINVAL, 'gomgr bridge: the fields nest more than {} deep'.format(MAX_FIELDS_DEPTH))
        todo.extend((sub, depth + 1) for sub in f.values() if sub is not None)
    return fields or None


def _select(v: Any, fields: Optional[Dict[str, Any]]) -> Any:
    """The parts of v that fields names, as module.Fields.Select: an
    object keeps the keys named (those it has), a list is selected element
    by element, anything else is kept whole."""
    if not fields:
        return v
    if isinstance(v, dict):
        return {k: _select(v[k], sub) for k, sub in fields.items() if k in v}
    if isinstance(v, list):
        return [_select(e, fields) for e in v]
    return v


def _cmd_result(r: Any, outb: Any, outs: Any) -> Dict[str, Any]:
    return {'retval': int(r), 'stdout_b64': b64e(outb), 'stderr': '' if outs is None else str(outs)}


def _inbuf_text(args: Dict[str, Any]) -> Optional[str]:
    data = b64d(args.get('inbuf_b64'))
    if not data:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise BridgeError(-errno.EINVAL, 'gomgr bridge: the mgr takes only UTF-8 text as inbuf')


class _Bridged:
    """What the active and the standby shim of a Go module share: the
    connection to the Go side (started when missing, restarted when it
    dies), the hello, and the Go side's calls of the mgr."""
    _gomgr_binary = ''
    _gomgr_go_name = ''
    _gomgr_renames = []  # type: List[Tuple[str, str]]
    _gomgr_standby = False
    _gomgr_sent_options = None  # type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore
        self._gomgr = _State()
        # The Go side sends its module's records to the cluster log itself
        # while log_to_cluster is on (on the module's channel, as Python's
        # ClusterLogHandler does): the records this logger writes for it
        # (op "log", marked) must not go there a second time; the shim's
        # own records still do.
        handler = getattr(self, '_cluster_log_handler', None)
        if handler is not None:
            handler.addFilter(_not_forwarded)

    # -- the mgr's calls (and Module's handle_command, notify, config_notify)

    def serve(self) -> None:
        st = self._gomgr_state()
        opened = []  # type: List[Connection]
        first = True
        while not st.stop.is_set():
            if not first and st.stop.wait(RETRY_INTERVAL):
                break
            first = False
            self._gomgr_reap(st)
            try:
                conn = self._gomgr_open(st)
            except Exception as e:
                if st.stop.is_set():
                    break
                self._gomgr_set_down(st, str(e))
                continue
            opened = [c for c in opened if not c.closed or c.busy()] + [conn]
            with st.lock:
                publish = not st.stopped
                if publish:
                    st.conn = conn
            if not publish:
                self._gomgr_goodbye(conn)
                break
            self._gomgr_set_up(st)
            polled = time.monotonic()
            while not st.stop.is_set() and not conn.closed:
                st.wake.wait(1.0)
                st.wake.clear()
                self._gomgr_reap(st)
                if self._gomgr_standby and time.monotonic() - polled >= OPTION_POLL:
                    # The mgr tells standby modules of no option change.
                    polled = time.monotonic()
                    self._gomgr_send_options(conn)
            with st.lock:
                if st.conn is conn:
                    st.conn = None
            self._gomgr_drop_queries(st, conn)
            if st.stop.is_set():
                break
            self._gomgr_set_down(st, 'connection lost: {}'.format(conn.reason))
        self._gomgr_reap(st)
        # The mgr frees this module's object once serve() returns (a standby
        # one's when its mgr becomes active): no call of the Go side may be
        # left running on it.
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        for c in opened:
            c.close('serve ended')
            if not c.drain(max(0.0, deadline - time.monotonic())):
                self.log.warning('gomgr bridge: a call of the Go side still runs as serve() returns')
            self._gomgr_drop_queries(st, c)

    def shutdown(self) -> None:
        st = self._gomgr_state()
        with st.lock:
            st.stopped = True
            conn, st.conn = st.conn, None
            connecting = st.connecting
        st.stop.set()
        st.wake.set()
        if connecting is not None:
            connecting.close('shutdown')
        if conn is not None:
            self._gomgr_goodbye(conn)
        parent = getattr(super(), 'shutdown', None)
        if parent is not None:
            try:
                parent()
            except Exception:
                pass

    # -- the bridge

    def _gomgr_state(self) -> _State:
        st = _state_of(self)
        if st is None:
            st = self._gomgr = _State()
        return st

    def _gomgr_goodbye(self, conn: Connection) -> None:
        try:
            conn.request('shutdown', {}, SHUTDOWN_TIMEOUT)
        except BridgeError:
            pass
        conn.close('shutdown')

    def _gomgr_dir(self) -> Tuple[str, str]:
        run_dir = self.get_ceph_option('run_dir')
        mgr_id = self.get_mgr_id()
        if not run_dir:
            raise _Failure('the mgr has no run_dir')
        if not mgr_id or '/' in mgr_id:
            raise _Failure('bad mgr id {!r}'.format(mgr_id))
        return os.path.join(str(run_dir), 'gomgr-bridge-' + mgr_id), mgr_id

    def _gomgr_options(self) -> Tuple[Dict[str, Optional[str]], Dict[str, Optional[str]]]:
        names = []  # type: List[str]
        for o in list(self.MODULE_OPTIONS):
            n = o.get('name') if isinstance(o, dict) else getattr(o, 'name', None)
            if n and n not in names:
                names.append(n)
        for n in LOG_OPTIONS:
            if n not in names:
                names.append(n)
        if self._gomgr_standby:  # MgrStandbyModule's: (key[, mgr id])
            def get(n: str, *who: str) -> Any:
                return self._ceph_get_module_option(n, *who)
        else:
            def get(n: str, *who: str) -> Any:
                return self._ceph_get_module_option(self.module_name, n, *who)
        values = {n: _opt_text(get(n)) for n in names}
        localized = {}  # type: Dict[str, Optional[str]]
        mgr_id = self.get_mgr_id()
        try:
            for n in names:
                localized[n] = _opt_text(get(n, mgr_id))
        except TypeError:  # no localized look-up
            localized = {}
        return values, localized

    def _gomgr_native(self) -> Dict[str, Optional[str]]:
        """The values of the Ceph options the Go module reads
        (NATIVE_OPTIONS), sent with its options so that a change reaches
        its ConfigNotify."""
        native = {}  # type: Dict[str, Optional[str]]
        for n in getattr(self, 'NATIVE_OPTIONS', None) or []:
            try:
                native[n] = _opt_text(self.get_ceph_option(n))
            except Exception:  # an option this Ceph does not have
                pass
        return native

    def _gomgr_send_options(self, conn: 'Connection', always: bool = False) -> None:
        """Send the options to the Go side: always (the mgr said they
        changed), or when they differ from those sent last (a standby's
        look)."""
        try:
            values, localized = self._gomgr_options()
            native = self._gomgr_native()
        except Exception as e:
            self.log.warning('gomgr bridge: cannot read the options: %s', e)
            return
        if always or (values, localized, native) != self._gomgr_sent_options:
            if conn.oneway('config', {'options': values, 'localized': localized, 'native': native}):
                self._gomgr_sent_options = (values, localized, native)  # a dropped one is sent again

    def _gomgr_hello(self, mgr_id: str) -> Dict[str, Any]:
        values, localized = self._gomgr_options()
        native = self._gomgr_native()
        self._gomgr_sent_options = (values, localized, native)
        hello = {'module': self.module_name, 'go_name': self._gomgr_go_name, 'mgr_id': mgr_id,
                 'renames': [[old, new] for old, new in self._gomgr_renames], 'features': FEATURES,
                 'options': values, 'localized': localized, 'native': native}  # type: Dict[str, Any]
        if self._gomgr_standby:
            # A standby module cannot list its store: the Go side asks
            # for each key (get_store).
            hello['role'] = 'standby'
        else:
            hello['store'] = dict(self.get_store_prefix('') or {})
        return hello

    def _gomgr_open(self, st: _State) -> Connection:
        """Connect (starting the Go process if needed) and say hello."""
        d, mgr_id = self._gomgr_dir()
        check_dir(d)
        path = os.path.join(d, SOCKET_NAME)
        sock = _connect(path)
        if sock is None:
            sock = self._gomgr_start(st, d, mgr_id, path)
        try:
            check_peer(sock)
        except Exception:
            sock.close()
            raise
        conn = Connection(sock, lambda op, args: self._gomgr_op(st, op, args, conn),
                          on_close=st.wake.set, name='gomgr-bridge-' + str(self.module_name),
                          inline_ops=INLINE_OPS)
        with st.lock:
            stopped = st.stopped
            if not stopped:
                st.connecting = conn
        if stopped:
            conn.close('shutdown')
            raise _Failure('shut down')
        try:
            ok = conn.request('hello', self._gomgr_hello(mgr_id), HELLO_TIMEOUT)
        except Exception as e:
            conn.close('hello failed')
            raise _Failure('hello: {}'.format(_err_text(e)))
        finally:
            with st.lock:
                st.connecting = None
        token = ok.get('lane') if isinstance(ok, dict) else None
        if isinstance(token, str) and token:
            conn.set_lane(lambda: _open_lane(path, token))
        return conn

    def _gomgr_start(self, st: _State, d: str, mgr_id: str, path: str) -> socket.socket:
        """Under start.lock: connect, else start the Go process and
        wait for its socket."""
        lock_path = os.path.join(d, LOCK_NAME)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise _Failure('cannot open {}: {}'.format(lock_path, e))
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise _Failure('cannot lock {}: {}'.format(lock_path, e))
                if time.monotonic() > deadline:
                    raise _Failure('timed out waiting for {}'.format(lock_path))
                if st.stop.wait(START_POLL):
                    raise _Failure('shut down')
            sock = _connect(path)
            if sock is not None:
                return sock
            log_path = os.path.join(d, LOG_NAME)
            binary = self._gomgr_binary
            argv = [binary, 'bridged', '--run-dir', d, '--mgr-id', mgr_id]
            try:
                logfd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                                0o600)
            except OSError as e:
                raise _Failure('cannot open {}: {}'.format(log_path, e))
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logfd, stderr=logfd,
                                        close_fds=True, start_new_session=True)
            except OSError as e:
                raise _Failure('cannot run {}: {}'.format(binary, e))
            finally:
                os.close(logfd)
            st.procs.append(proc)
            self.log.info('gomgr bridge: started %s (pid %d)', ' '.join(argv), proc.pid)
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                sock = _connect(path)
                if sock is not None:
                    return sock
                rc = proc.poll()
                if rc is not None and rc != 0:  # 0: it went to the background
                    raise _Failure('{} bridged exited with status {} (see {})'.format(binary, rc, log_path))
                if time.monotonic() > deadline:
                    raise _Failure('{} bridged started, but {} did not appear in {:g} s (see {})'.format(
                        binary, path, START_TIMEOUT, log_path))
                if st.stop.wait(START_POLL):
                    raise _Failure('shut down')
        finally:
            os.close(fd)  # releases the lock

    def _gomgr_reap(self, st: _State) -> None:
        st.procs = [p for p in st.procs if p.poll() is None]

    def _gomgr_apply_health(self, st: _State) -> None:
        if self._gomgr_standby:  # a standby module has no health checks
            return
        checks = dict(st.go_checks)
        if st.down is not None:
            checks[HEALTH_CHECK] = {
                'severity': 'error',
                'summary': "Module '{}' has failed: the Go side of the gomgr bridge is down".format(self.module_name),
                'count': 1,
                # The real mgr merges the checks of one code: each
                # module's detail line says which module it is about.
                'detail': ["Module '{}' has failed: {}".format(self.module_name, st.down)],
            }
        try:
            self.set_health_checks(checks)
        except Exception as e:
            self.log.error('gomgr bridge: set_health_checks: %s', e)

    def _gomgr_set_down(self, st: _State, reason: str) -> None:
        with st.health_lock:
            if st.down == reason:
                return
            st.down = reason
            self._gomgr_apply_health(st)
        self.log.warning('gomgr bridge: the Go side of module %s is down: %s', self.module_name, reason)

    def _gomgr_set_up(self, st: _State) -> None:
        with st.health_lock:
            was, stale = st.down, bool(st.go_checks)
            st.down = None
            st.go_checks = {}  # a new Go side: its module starts with no checks
            if was is not None or stale:
                self._gomgr_apply_health(st)
        self.log.info('gomgr bridge: connected to the Go side of module %s', self.module_name)

    # -- the Go side's calls

    def _gomgr_drop_queries(self, st: _State, conn: Any) -> None:
        """Remove the OSD perf queries conn's Go side left (conn is
        closed: it adds no more)."""
        with st.perf_lock:
            ids = st.perf_queries.pop(conn, set())
            for qid in sorted(ids):
                try:
                    self.remove_osd_perf_query(qid)
                except Exception as e:
                    self.log.warning('gomgr bridge: cannot remove OSD perf query %s: %s', qid, e)

    def _gomgr_perf_op(self, st: _State, op: str, args: Dict[str, Any], conn: Any) -> Any:
        qid = None if op == 'add_osd_perf_query' else _arg(args, 'query_id', int)
        with st.perf_lock:
            if op == 'add_osd_perf_query':
                if conn.closed:
                    raise BridgeError(-errno.ENOTCONN, 'gomgr bridge: the connection is closed')
                qid = self.add_osd_perf_query(_arg(args, 'query', dict))
                if qid is None:
                    raise BridgeError(-errno.EINVAL, 'gomgr bridge: the mgr refused the OSD perf query')
                st.perf_queries.setdefault(conn, set()).add(int(qid))
                return int(qid)
            if qid not in st.perf_queries.get(conn, set()):
                raise BridgeError(-errno.ENOENT, 'gomgr bridge: no OSD perf query {} of this module'.format(qid))
            if op == 'remove_osd_perf_query':
                self.remove_osd_perf_query(qid)
                st.perf_queries[conn].discard(qid)
                return None
        res = self.get_osd_perf_counters(qid)
        if res is None:
            raise BridgeError(-errno.ENOENT, 'gomgr bridge: the mgr has no OSD perf query {}'.format(qid))
        return res

    def _gomgr_schema(self, st: _State, svc_type: str, svc_id: str) -> Optional[Tuple[int, List[Tuple[str, Dict[str, Any]]]]]:
        """A daemon's perf schema (its version and entries by path), from
        the cache while the mgr has not told of a change (nor
        PERF_SCHEMA_TTL passed); None when the mgr has none."""
        name = '{}.{}'.format(svc_type, svc_id)
        now = time.monotonic()
        with st.schema_lock:
            cached = st.schemas.get(name)
            updates = st.schema_updates
        if cached is not None and now - cached[1] < PERF_SCHEMA_TTL:
            return cached[0], cached[2]
        schemas = self.get_perf_schema(svc_type, svc_id)
        if not schemas or name not in schemas:
            with st.schema_lock:
                st.schemas.pop(name, None)
            return None
        entries = sorted(schemas[name].items())
        with st.schema_lock:
            if cached is not None and cached[2] == entries and st.schemas.get(name) is cached:
                version = cached[0]  # read again (PERF_SCHEMA_TTL), unchanged: the same token
            else:
                st.schema_version += 1
                version = st.schema_version
            if st.schema_updates == updates:
                st.schemas[name] = (version, now, entries)
            else:  # a perf_schema_update came meanwhile: what was read may be older
                st.schemas.pop(name, None)
        return version, entries

    def _gomgr_perf_counters(self, st: _State, args: Dict[str, Any]) -> Dict[str, Any]:
        """get_all_perf_counters' daemons, counters and values, compact: for
        each daemon a token naming its counters (schema version and
        priority limit), the counters themselves only when the Go side's
        "known" token differs, and the values in their order (a
        long-running average's value and count)."""
        prio = _arg(args, 'prio_limit', int)
        services = args.get('services')
        if services is None:
            services = PERF_SERVICES
        elif not isinstance(services, list) or not all(isinstance(x, str) for x in services):
            raise BridgeError(-errno.EINVAL, 'gomgr bridge: services is not a list of strings')
        known = args.get('known')
        if known is None:
            known = {}
        elif not isinstance(known, dict):
            raise BridgeError(-errno.EINVAL, 'gomgr bridge: known is not an object')
        latest = self._ceph_get_latest_counter
        start = time.monotonic()
        out = []  # type: List[Dict[str, Any]]
        seen = set()  # type: Set[str]
        for server in self.list_servers():
            for service in server['services']:
                svc_type, svc_id = service['type'], service['id']
                name = '{}.{}'.format(svc_type, svc_id)
                if svc_type not in services or name in seen:
                    continue
                seen.add(name)
                schema = self._gomgr_schema(st, svc_type, svc_id)
                if schema is None:
                    self.log.warning('No perf counter schema for %s', name)
                    continue
                version, entries = schema
                token = '{}/{}'.format(version, prio)
                counters = []  # type: List[List[Any]]
                values = []  # type: List[int]
                for path, entry in entries:
                    if entry['priority'] < prio:
                        continue
                    tp = entry['type']
                    counters.append([path, entry.get('description', ''), entry.get('nick', ''), tp,
                                     entry['priority'], entry.get('units', 0)])
                    data = latest(svc_type, svc_id, path)[path]
                    if tp & PERFCOUNTER_LONGRUNAVG:
                        values.extend((data[1], data[2]) if data else (0, 0))
                    else:
                        values.append(data[1] if data else 0)
                if not counters:
                    continue  # as get_all_perf_counters, which lists a daemon once it has a counter
                d = {'name': name, 'token': token, 'values': values}  # type: Dict[str, Any]
                if known.get(name) != token:
                    d['counters'] = counters
                out.append(d)
        # The schemas not read for PERF_SCHEMA_TTL (daemons gone, or not
        # asked for) go: they would be read again anyway.
        with st.schema_lock:
            for name in [n for n, c in st.schemas.items() if start - c[1] > PERF_SCHEMA_TTL]:
                del st.schemas[name]
        return {'daemons': out}

    def _gomgr_op(self, st: _State, op: str, args: Dict[str, Any], conn: Any = None) -> Any:
        if op == 'get_store':
            return self.get_store(_arg(args, 'key', str))
        if op == 'log':
            level = args.get('level')
            if level not in LOG_LEVELS:
                level = 'info'
            getattr(self.log, level)('%s', args.get('msg', ''), extra={FORWARDED: True})
            return None
        if self._gomgr_standby:
            if op == 'get_active_uri':
                return self.get_active_uri() or ''
            if op == 'get':
                fields = _fields_arg(args)
                return _select(self.get(_arg(args, 'name', str)), fields)
            if op == 'get_many':
                return {name: _select(self.get(name), fields) for name, fields in _names_arg(args).items()}
            raise BridgeError(-errno.EOPNOTSUPP, 'gomgr bridge: {} is not available to a standby module'.format(op))
        if op == 'get':
            fields = _fields_arg(args)
            return _select(self.get(_arg(args, 'name', str)), fields)
        if op == 'get_many':
            return {name: _select(self.get(name), fields) for name, fields in _names_arg(args).items()}
        if op == 'have_mon_connection':
            return bool(self.have_mon_connection())
        if op == 'set_module_option':
            key = _arg(args, 'key', str)
            value = _arg(args, 'value', str, optional=True)
            if args.get('localized'):
                self.set_localized_module_option(key, value)
            else:
                self.set_module_option(key, value)
            return None
        if op == 'set_store':
            self.set_store(_arg(args, 'key', str), _arg(args, 'value', str, optional=True))
            return None
        if op == 'mon_command':
            r, outb, outs = self.mon_command(_arg(args, 'cmd', dict), _inbuf_text(args))
            return _cmd_result(r, outb, outs)
        if op == 'send_command':
            from mgr_module import CommandResult
            svc_type = _arg(args, 'type', str)
            svc_id = str(args.get('id') or '')
            cmd = _arg(args, 'cmd', dict)
            inbuf = _inbuf_text(args)
            result = CommandResult('')
            try:
                self.send_command(result, svc_type, svc_id, json.dumps(cmd), '', inbuf)
            except SystemError:
                # The C++ returns from a "pg" send without an exception
                # set (the command is sent): wait for its result.
                if svc_type != 'pg':
                    raise
            except ValueError as e:  # an unknown type, a bad OSD id or pgid
                raise BridgeError(-errno.EINVAL, 'send_command to {}.{}: {}'.format(svc_type, svc_id, e))
            except RuntimeError as e:  # "failed to send command to mds: (2) ..."
                m = re.search(r'\((\d+)\)', str(e))
                raise BridgeError(-int(m.group(1)) if m else -errno.EIO, 'send_command to {}.{}: {}'.format(svc_type, svc_id, e))
            ev = getattr(result, 'ev', None)
            if ev is not None:
                if not ev.wait(SEND_COMMAND_TIMEOUT):
                    raise BridgeError(-errno.ETIMEDOUT, 'gomgr bridge: no reply to send_command from {}.{}'.format(
                        svc_type, svc_id))
                return _cmd_result(result.r, result.outb, result.outs)
            return _cmd_result(*result.wait())
        if op == 'set_health_checks':
            checks = args.get('checks') or {}
            if not isinstance(checks, dict):
                raise BridgeError(-errno.EINVAL, 'gomgr bridge: checks is not an object')
            with st.health_lock:
                st.go_checks = dict(checks)
                self._gomgr_apply_health(st)
            return None
        if op == 'cluster_log':
            channel = _arg(args, 'channel', str)
            if channel == self._gomgr_go_name:  # log_to_cluster's: the module's name here
                channel = self.module_name
            prio = _arg(args, 'priority', int)
            msg = str(args.get('msg', ''))
            prio_cls = getattr(self, 'ClusterLogPrio', None)
            if prio_cls is not None:
                self.cluster_log(channel, prio_cls(prio), msg)
            else:
                self._ceph_cluster_log(channel, prio, msg)
            return None
        if op in ('get_metadata', 'get_daemon_status', 'get_perf_schema'):
            return getattr(self, op)(_arg(args, 'svc_type', str), _arg(args, 'svc_id', str))
        if op == 'get_counter':
            return self.get_counter(_arg(args, 'svc_type', str), _arg(args, 'svc_id', str),
                                    _arg(args, 'path', str))
        if op == 'list_servers':
            return self.list_servers()
        if op == 'get_daemon_health_metrics':
            return self.get_daemon_health_metrics()
        if op in ('add_osd_perf_query', 'get_osd_perf_counters', 'remove_osd_perf_query'):
            return self._gomgr_perf_op(st, op, args, conn)
        if op == 'get_server':
            return self.get_server(_arg(args, 'hostname', str))
        if op == 'get_latest_counter':
            return self.get_latest_counter(_arg(args, 'svc_type', str), _arg(args, 'svc_id', str),
                                           _arg(args, 'path', str))
        if op == 'perf_counters':
            return self._gomgr_perf_counters(st, args)
        if op == 'get_all_perf_counters':
            prio = args.get('prio_limit')
            prio = prio if isinstance(prio, int) and not isinstance(prio, bool) else 5
            services = args.get('services')
            if services is None:
                return self.get_all_perf_counters(prio)
            if not isinstance(services, list) or not all(isinstance(x, str) for x in services):
                raise BridgeError(-errno.EINVAL, 'gomgr bridge: services is not a list of strings')
            return self.get_all_perf_counters(prio, tuple(services))
        if op == 'set_uri':
            self._ceph_set_uri(_arg(args, 'uri', str))
            return None
        if op == 'rados_identity':
            conf = {}  # type: Dict[str, str]
            for key in RADOS_OPTIONS:
                try:
                    v = _opt_text(self.get_ceph_option(key))
                except KeyError:
                    continue
                if v:
                    conf[key] = v
            return {'name': 'mgr.' + str(self.get_mgr_id()), 'conf': conf}
        if op in ('register_client', 'unregister_client'):
            # As self.rados registers its client: the monitors blocklist
            # its addresses when this mgr fails over.
            getattr(self, '_ceph_' + op)(_arg(args, 'addrs', str))
            return None
        if op in ('get_ceph_option', 'get_foreign_ceph_option'):
            key = _arg(args, 'key', str)
            try:
                if op == 'get_ceph_option':
                    return self.get_ceph_option(key)
                return self.get_foreign_ceph_option(_arg(args, 'entity', str), key)
            except KeyError as e:  # the mgr's "option not found: <key>"
                raise BridgeError(-errno.ENOENT, str(e.args[0]) if e.args else 'option not found: ' + key)
        raise BridgeError(-errno.EOPNOTSUPP, 'unknown op {}'.format(op))


def module_classes(binary: str, go_name: str,
                   renames: Optional[List[Tuple[str, str]]] = None) -> Tuple[type, Optional[type]]:
    """The MgrModule subclass for Go module go_name of binary, and its
    MgrStandbyModule subclass when the Go module has a standby variant
    (else None). If the binary cannot describe the module, the class
    declares nothing and can_run() says why (the mgr reports the module as
    unavailable instead of failing)."""
    renames = [(str(old), str(new)) for old, new in (renames or [])]
    why = ''
    notify_types = None  # type: Optional[frozenset]
    standby = False
    native = []  # type: List[str]
    try:
        desc = describe(binary, go_name)
        cmds, opts = commands(desc, renames), options(desc)
        if not desc.get('can_run', True):
            why = desc.get('error_string', 'the Go module cannot run here')
        if isinstance(desc.get('notify_types'), list):
            notify_types = frozenset(str(t) for t in desc['notify_types'])
        standby = desc.get('standby') is True
        if isinstance(desc.get('native_options'), list):
            native = [str(n) for n in desc['native_options']]
    except Exception as e:  # the mgr must start whatever the binary does
        cmds, opts, why = [], [], 'gomgr bridge: {}'.format(e)
    unavailable = why

    def not_running(self: Any) -> str:
        name = getattr(self, 'module_name', None) or go_name
        return 'gomgr bridge: the Go side of module {} is not running'.format(name)

    class Module(_Bridged, MgrModule):
        COMMANDS = cmds
        MODULE_OPTIONS = opts
        NATIVE_OPTIONS = native
        _gomgr_binary = binary
        _gomgr_go_name = go_name
        _gomgr_renames = renames

        @staticmethod
        def can_run() -> Tuple[bool, str]:
            return (False, unavailable) if unavailable else (True, '')

        # -- the mgr's calls

        def handle_command(self, inbuf: str, cmd: Dict[str, Any]) -> Tuple[int, str, str]:
            st = _state_of(self)
            conn = st.conn if st is not None else None
            if conn is None or conn.closed:
                return -errno.ENOTCONN, '', not_running(self)
            fwd = dict(cmd or {})
            if isinstance(fwd.get('prefix'), str):
                fwd['prefix'] = unrename_prefix(fwd['prefix'], renames)
            try:
                ok, raw = conn.request_lane('command', {'cmd': fwd, 'inbuf_b64': b64e(inbuf)}, COMMAND_TIMEOUT)
            except BridgeError as e:
                if e.errno == -errno.ENOTCONN:
                    return -errno.ENOTCONN, '', not_running(self)
                return e.errno, '', e.msg
            try:
                retval = ok['retval']
                if not isinstance(retval, int) or isinstance(retval, bool):
                    raise ValueError('retval is not an int')
                out = (raw if raw is not None else b64d(ok.get('stdout_b64'))).decode('utf-8', 'replace')
                err = ok.get('stderr') or ''
                return retval, out, err if isinstance(err, str) else str(err)
            except (KeyError, TypeError, ValueError, AttributeError, BridgeError) as e:
                return -errno.EIO, '', 'gomgr bridge: bad reply to command from the Go side: {}'.format(e)

        def notify(self, notify_type: Any, notify_id: Any) -> None:
            t = getattr(notify_type, 'value', notify_type)
            t = '' if t is None else str(t)
            st = _state_of(self)
            if t == 'perf_schema_update' and st is not None:
                with st.schema_lock:
                    st.schema_updates += 1
                    st.schemas.pop('' if notify_id is None else str(notify_id), None)
            if notify_types is not None and t not in notify_types:
                return
            conn = st.conn if st is not None else None
            if conn is not None:
                conn.oneway('notify', {'type': t, 'id': '' if notify_id is None else str(notify_id)})

        def config_notify(self) -> None:
            st = _state_of(self)
            conn = st.conn if st is not None else None
            if conn is not None:
                self._gomgr_send_options(conn, always=True)

    Module.__doc__ = 'Go module {} of {}'.format(go_name, binary)
    if not standby or unavailable:
        return Module, None

    class StandbyModule(_Bridged, MgrStandbyModule):
        MODULE_OPTIONS = list(opts)  # its own: the mgr appends the log options to each class's
        NATIVE_OPTIONS = list(native)
        _gomgr_binary = binary
        _gomgr_go_name = go_name
        _gomgr_renames = renames
        _gomgr_standby = True

    StandbyModule.__doc__ = 'the standby variant of Go module {} of {}'.format(go_name, binary)
    return Module, StandbyModule


def module_class(binary: str, go_name: str,
                 renames: Optional[List[Tuple[str, str]]] = None) -> type:
    """The MgrModule subclass for Go module go_name of binary (see
    module_classes)."""
    return module_classes(binary, go_name, renames)[0]
