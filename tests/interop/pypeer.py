#!/usr/bin/python3
"""A small pseud v1 peer of our own, for interop tests of pseud++.

It speaks the wire that PROTOCOL-NOTES.md describes for Python pseud
(ROUTER sockets; a server's routing id is its name; clients are anonymous and
connect with PROBE_ROUTER; ROUTER_MANDATORY; 16-byte uuid4 ids; msgpack with
use_bin_type=True / raw=False; ERROR bodies [class, message, traceback] with
Python class names and builtin reconstruction on the calling side; the
untrusted_curve HELLO exchange on the client side). It is written from that
description, only on Debian's python3-zmq and python3-msgpack, and is not
pseud itself. Run it with /usr/bin/python3.

Unlike pseud, it is strict: every inbound frame set that pseud could not
handle, or that a correct peer would never send (a bad frame count, version or
type byte, an undecodable or mis-shaped body, non-str map keys, ext 123-126,
an OK/ERROR for no waiting call, a probe or a HELLO where none belongs...),
is reported as one stdout line {"event": "anomaly", ...} and then handled as
gracefully as possible (a malformed WORK still gets an ERROR reply), so a test
learns about it instead of hanging. Every msgpack body it receives is also
re-packed the way Python packs; when the bytes differ it prints
{"event": "noncanonical", ...}: pseud would understand such a body, but a
Python peer would never have produced it (a wire difference).

Deliberate differences from pseud, harmless for tests: a call to a peer that
is not connected yet (EHOSTUNREACH) is retried every 20 ms until the call's
timeout (pseud: 0.1 s, at most 3 times); a PLAIN login needs the password
given with --user (pseud's test backend: login == password); nothing is
unpickled (ext 123-126 is an anomaly) unless --unpickle is given.

--unpickle (both modes): ext 123-126 are unpickled as pseud's Packer does
(pickle.loads, whatever the payload holds: only ever give it to tests); one
that does not unpickle is an anomaly (pseud's reader would stop on it).
datetime, date, timedelta and tzinfo values are packed as pseud packs them
(ext 125, 126, 124, 123: their pickle, protocol 5). They render as
{"$datetime": ISO} (datetime only) or {"$pickled": [code, repr]}.

Modes
-----
pypeer.py server ENDPOINT [--name NAME] [--auth noop|plain|trusted_curve]
                 [--user LOGIN=PASSWORD]... [--secret-key Z85] [--trust NAME=Z85]...
    Binds ENDPOINT (tcp://127.0.0.1:* is fine) with routing id NAME (default
    "server"), prints {"event": "ready", "endpoint": ...} and serves until
    stdin closes or SIGTERM/SIGINT. Functions:
      echo(x), echo_args(*args, **kwargs) -> {"args": [...], "kwargs": {...}},
      add(a, b), greet(name, greeting="Hello", punctuation="!", **extra)
      -> {"text": ..., "extra": {...}}, fail(message="boom") raises ValueError,
      fail_custom(message) raises CustomError, blob() -> see BLOB below,
      when() -> WHEN below, a datetime (sent as pseud sends it: ext 125, a pickle),
      shapes.rectangle.area(command) -> {"area": width * height, "fields": sorted keys}
      (a typed command's function: `command` is a dict),
      whoami() -> {"user_id": str (ZAP User-Id, "" without ZAP),
                   "routing_id": bytes (the caller's ZMQ routing id)},
      call_me_back(func, *args, **kwargs) -> None at once, and afterwards calls
      `func` on the calling peer (its routing id, or the routing id mapped to
      its User-Id); the outcome is printed as {"event": "callback", ...} and
      kept for callback_results() -> [{"func": f, "result": r} |
      {"func": f, "error": {"name", "remote_class", "message"}}, ...].
    plain: PLAIN server with our own ZAP handler; a login is accepted iff it
      was given with --user and the password matches; User-Id = login.
    trusted_curve: CURVE server with --secret-key; a client key is accepted
      iff it was given with --trust NAME=KEY; User-Id = NAME.

pypeer.py client ENDPOINT --server-name NAME [--auth noop|plain|trusted_curve|untrusted_curve]
                 [--login L --password P] [--server-key Z85]
                 [--public-key Z85 --secret-key Z85] [--serve SECONDS]
    Connects (anonymous, PROBE_ROUTER), prints {"event": "ready", ...}, offers
    client.double(x), client.echo(x), string.upper(s) and client.fail(message) (ValueError),
    and reads requests from stdin, one JSON object a line:
      {"func": "add", "args": [1, 2], "kwargs": {}, "timeout": 5}
    Requests run one after another; for each it prints one line
      {"result": value}   or   {"error": {"name": N, "remote_class": C, "message": M}}
    where N is the class pseud's reconstruction raises (a builtin such as
    ValueError, ServiceNotFoundError, UnauthorizedError, or Exception for
    other classes), C the class name on the wire, M the message on the wire
    (local failures: N = TimeoutError / UnreachableError / ProtocolError /
    BadRequest, C = "").
    When stdin closes it finishes the queue, keeps serving for --serve seconds
    (default 0) and exits.
    plain: PLAIN username/password. trusted_curve: CURVE with --server-key and
    its own key pair (generated when not given). untrusted_curve: CURVE with a
    key pair (given or generated) plus pseud's in-band login: on UNAUTHORIZED it sends
    HELLO [bin login, bin password] with the WORK's id, and after
    AUTHENTICATED re-sends that WORK (same id, same bytes); it gives up after
    the third UNAUTHORIZED.

Output: one JSON object a line on stdout, ASCII only. Reply lines have their
keys sorted at every level. Event lines start with {"event": "<kind>" and the
other keys follow, sorted: ready, anomaly, noncanonical, zap (server: each ZAP
decision), callback (server), authenticated (client), heartbeat (at the 1st
and 10th HEARTBEAT received), reply_not_sent, exit.
Values are rendered as JSON with bytes as {"$bytes": "<hex>"} and ext values as
{"$ext": [code, "<hex>"]}; in requests {"$bytes": "<hex>"} becomes bytes,
{"$ext": [code, "<hex>"]} an ExtType and {"$datetime": ISO} a datetime.
Before exiting it prints {"event": "exit", "anomalies": N, "noncanonical": M}.
"""

import argparse
import builtins
import datetime
import json
import os
import pickle
import signal
import sys
import time
import traceback
import uuid

import msgpack
import zmq
import zmq.utils.z85

VERSION = b"v1"
OK = b"\x01"
HELLO = b"\x02"
WORK = b"\x03"
AUTHENTICATED = b"\x04"
HEARTBEAT = b"\x06"
ERROR = b"\x10"
UNAUTHORIZED = b"\x11"
TYPE_NAMES = {OK: "OK", HELLO: "HELLO", WORK: "WORK", AUTHENTICATED: "AUTHENTICATED",
              HEARTBEAT: "HEARTBEAT", ERROR: "ERROR", UNAUTHORIZED: "UNAUTHORIZED"}
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
PICKLED_EXT_CODES = range(123, 127)  # pseud's tzinfo, timedelta, datetime, date
PICKLED_CLASSES = ((123, datetime.tzinfo), (124, datetime.timedelta), (125, datetime.datetime), (126, datetime.date))
UNPICKLE = False  # --unpickle: decode ext 123-126 as pseud does
MAX_AUTH_FAILURES = 3
SEND_RETRY_S = 0.02


class ServiceNotFoundError(Exception):
    pass


class UnauthorizedError(Exception):
    pass


class CustomError(Exception):
    pass


LOCAL_CLASSES = {"ServiceNotFoundError": ServiceNotFoundError, "UnauthorizedError": UnauthorizedError}


class Anomaly(Exception):
    """Something a correct pseud v1 peer would never send us."""


# ---- output --------------------------------------------------------------------

def to_json(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, msgpack.ExtType):
        return {"$ext": [value.code, value.data.hex()]}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, (datetime.date, datetime.timedelta, datetime.tzinfo)):
        code = next(code for code, cls in PICKLED_CLASSES if isinstance(value, cls))
        return {"$pickled": [code, repr(value)]}
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else json.dumps(to_json(k), sort_keys=True)): to_json(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        if set(value) == {"$ext"}:
            return msgpack.ExtType(value["$ext"][0], bytes.fromhex(value["$ext"][1]))
        if set(value) == {"$datetime"}:
            return datetime.datetime.fromisoformat(value["$datetime"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def emit(obj):
    """Prints a reply line: {"result": ...} or {"error": ...}, keys sorted."""
    sys.stdout.write(json.dumps(to_json(obj), sort_keys=True, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def emit_event(kind, **fields):
    """Prints an event line; it always starts with {"event": "<kind>"."""
    rest = json.dumps(to_json(fields), sort_keys=True, ensure_ascii=True)
    line = '{"event": %s%s' % (json.dumps(kind), ", " + rest[1:] if fields else "}")
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def frames_hex(frames, limit=200):
    return [f[:limit].hex() + ("..." if len(f) > limit else "") for f in frames]


# ---- msgpack -------------------------------------------------------------------

def _pack_default(value):
    """pseud's Packer.ext_type_pack_hook for its default translation table."""
    for code, cls in PICKLED_CLASSES:
        if isinstance(value, cls):
            return msgpack.ExtType(code, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    raise TypeError("Unknown type: %r" % (value,))


def packb(value):
    return msgpack.packb(value, use_bin_type=True, default=_pack_default)


def _ext_hook(code, data):
    if code in PICKLED_EXT_CODES:
        if not UNPICKLE:
            raise Anomaly("ext type %d (pseud would unpickle it)" % code)
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise Anomaly("ext type %d that does not unpickle (pseud's reader would stop): %r" % (code, exc)) from None
    return msgpack.ExtType(code, data)


def _pairs_hook(pairs):
    for key, _ in pairs:
        if not isinstance(key, str):
            raise Anomaly("map key %r is not a str" % (key,))
    return dict(pairs)


def unpackb(body):
    """Decodes a body as pseud 2.0.0dev would (raw=False, strict_map_key), but
    reports non-str keys and pickled ext codes instead of crashing."""
    try:
        return msgpack.unpackb(body, raw=False, strict_map_key=False, use_list=True,
                               ext_hook=_ext_hook, object_pairs_hook=_pairs_hook)
    except Anomaly:
        raise
    except Exception as exc:  # ExtraData, FormatError, StackError, UnicodeDecodeError, ...
        raise Anomaly("undecodable msgpack body: %r" % (exc,)) from None


def remote_traceback_text(tb):
    lines = str(tb).splitlines()
    return ("\n-- Beginning of remote traceback --\n    " + "\n            ".join(lines) +
            "\n-- End of remote traceback --\n")


def reconstruct_error(klass, message, tb):
    """The exception a pseud caller raises for ERROR [klass, message, tb]."""
    full_message = "\n".join((remote_traceback_text(tb), message))
    builtin = getattr(builtins, klass, None)
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        return builtin(full_message)
    if klass in LOCAL_CLASSES:
        return LOCAL_CLASSES[klass](full_message)
    return Exception("\n".join((klass, full_message)))


def error_report(name, remote_class, message):
    return {"name": name, "remote_class": remote_class, "message": message}


# ---- the peer --------------------------------------------------------------------

class Call:
    def __init__(self, dest, name, frames, deadline, on_done):
        self.dest = dest
        self.name = name
        self.frames = frames      # the WORK as sent, kept for re-sending after login
        self.deadline = deadline
        self.on_done = on_done    # on_done({"result": v} | {"error": {...}})
        self.retry_at = None      # set while the destination is unreachable


class Peer:
    def __init__(self, options, role):
        self.options = options
        self.role = role
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.zap = None
        self.anomalies = 0
        self.noncanonical = 0
        self.heartbeats = 0
        self.pending = {}         # message id -> Call
        self.timed_out = set()    # ids of calls that timed out (a reply to them is late)
        self.user_rids = {}       # ZAP User-Id -> routing id
        self.registry = {}
        self.scheduled = []       # run after the current message's reply is sent
        self.current = None       # (routing id, User-Id) of the request being handled
        self.stdin_open = True
        self.stdin_buffer = b""
        self.running = True
        s = self.socket
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        s.setsockopt(zmq.ROUTER_HANDOVER, 1)
        s.setsockopt(zmq.SNDTIMEO, 5000)

    # -- reporting

    def anomaly(self, what, frames=None, **extra):
        self.anomalies += 1
        report = {"what": what}
        if frames is not None:
            report["frames"] = frames_hex(frames)
        report.update(extra)
        emit_event("anomaly", **report)

    def decode(self, body, frames):
        """Unpacks a body (raising Anomaly) and reports it when Python would
        have encoded the same values differently (a wire difference, not an
        anomaly: pseud would still understand it)."""
        value = unpackb(body)
        try:
            canonical = packb(value)
        except Exception as exc:
            canonical = ("unpackable: %r" % (exc,)).encode()
        if canonical != body:
            self.noncanonical += 1
            emit_event("noncanonical", frames=frames_hex(frames), python=canonical.hex())
        return value

    # -- sending

    def send(self, frames):
        """Sends without blocking; returns None, or the errno name on failure."""
        try:
            self.socket.send_multipart(frames, flags=zmq.NOBLOCK)
            return None
        except zmq.ZMQError as exc:
            return {zmq.EHOSTUNREACH: "EHOSTUNREACH", zmq.EAGAIN: "EAGAIN"}.get(exc.errno, str(exc))

    def reply(self, rid, mid, mtype, body):
        failure = self.send([rid, b"", VERSION, mid, mtype, body])
        if failure:
            emit_event("reply_not_sent", reason=failure, routing_id=rid)

    def call(self, dest, name, args, kwargs, timeout, on_done):
        mid = uuid.uuid4().bytes
        frames = [dest, b"", VERSION, mid, WORK, packb([name, list(args), dict(kwargs)])]
        call = Call(dest, name, frames, time.monotonic() + timeout, on_done)
        self.pending[mid] = call
        self.try_send(mid, call)
        return mid

    def try_send(self, mid, call):
        failure = self.send(call.frames)
        if failure is None:
            call.retry_at = None
        elif failure == "EHOSTUNREACH" or failure == "EAGAIN":
            # Not connected yet (pseud retries after 0.1 s): retry until the deadline.
            call.retry_at = time.monotonic() + SEND_RETRY_S
        else:
            self.finish(mid, {"error": error_report("UnreachableError", "", failure)})

    def finish(self, mid, outcome):
        call = self.pending.pop(mid, None)
        if call is not None:
            call.on_done(outcome)

    # -- timers

    def next_timeout_ms(self):
        now = time.monotonic()
        times = [c.deadline for c in self.pending.values()]
        times += [c.retry_at for c in self.pending.values() if c.retry_at is not None]
        extra = self.extra_deadline()
        if extra is not None:
            times.append(extra)
        if not times:
            return None
        return max(0, int((min(times) - now) * 1000) + 1)

    def extra_deadline(self):
        return None

    def run_timers(self):
        now = time.monotonic()
        for mid, call in list(self.pending.items()):
            if call.deadline <= now:
                self.timed_out.add(mid)
                self.finish(mid, {"error": error_report(
                    "TimeoutError", "", "no reply to %s within its timeout" % call.name)})
            elif call.retry_at is not None and call.retry_at <= now:
                self.try_send(mid, call)

    # -- receiving

    def on_frames(self, zframes):
        frames = [f.bytes for f in zframes]
        try:
            user_id = zframes[-1].get("User-Id")
        except zmq.ZMQError:
            user_id = ""  # no ZAP handler
        if isinstance(user_id, bytes):
            user_id = user_id.decode("utf-8", "replace")
        count = len(frames)
        if count == 2:
            rid, empty = frames
            if empty != b"":
                self.anomaly("2-frame message that is not a probe", frames)
                return
            self.on_probe(rid, user_id)
            return
        if count != 6:
            self.anomaly("frame count %d (pseud accepts 2, 4 or 6; a ROUTER peer sends 6)" % count, frames)
            return
        rid, delimiter, version, mid, mtype, body = frames
        if delimiter != b"":
            self.anomaly("delimiter frame not empty", frames)
            return
        if version != VERSION:
            self.anomaly("version is not v1", frames)
            return
        if mtype not in TYPE_NAMES:
            self.anomaly("unknown type byte", frames)
            return
        if user_id:
            self.user_rids[user_id] = rid
        if not self.accept_source(rid, frames):
            return
        self.current = (rid, user_id)
        try:
            if mtype == WORK:
                self.on_work(rid, user_id, mid, body, frames)
            elif mtype in (OK, ERROR):
                self.on_reply(rid, mid, mtype, body, frames)
            elif mtype == HEARTBEAT:
                if mid != b"" or body != b"":
                    self.anomaly("HEARTBEAT with a non-empty id or body", frames)
                self.heartbeats += 1
                if self.heartbeats in (1, 10):
                    emit_event("heartbeat", count=self.heartbeats)
            else:
                self.on_auth_message(rid, mid, mtype, body, frames)
        finally:
            self.current = None
        scheduled, self.scheduled = self.scheduled, []
        for action in scheduled:
            action()

    def on_probe(self, rid, user_id):
        if user_id:
            self.user_rids[user_id] = rid

    def accept_source(self, rid, frames):
        return True

    def on_auth_message(self, rid, mid, mtype, body, frames):
        self.anomaly("%s sent to a %s that never asked for it" % (TYPE_NAMES[mtype], self.role), frames)

    def on_work(self, rid, user_id, mid, body, frames):
        if len(mid) != 16:
            # pseud accepts and echoes any id, but always sends uuid4().bytes itself.
            self.noncanonical += 1
            emit_event("noncanonical", frames=frames_hex(frames), what="WORK id of %d bytes, not 16" % len(mid))
        try:
            value = self.decode(body, frames)
            if not (isinstance(value, list) and len(value) == 3):
                raise Anomaly("WORK body is not a 3-element array")
            name, args, kwargs = value
            if not isinstance(name, str):
                raise Anomaly("WORK name is not a str")
            if not isinstance(args, list):
                raise Anomaly("WORK args is not an array")
            if not isinstance(kwargs, dict):
                raise Anomaly("WORK kwargs is not a map")
        except Anomaly as exc:
            self.anomaly(str(exc), frames)
            self.reply(rid, mid, ERROR, packb(["TypeError", str(exc), ""]))
            return
        function = self.registry.get(name)
        if function is None:
            try:
                raise ServiceNotFoundError(name)
            except ServiceNotFoundError as exc:
                self.reply(rid, mid, ERROR, packb([type(exc).__name__, str(exc), traceback.format_exc()]))
            return
        try:
            result = function(*args, **kwargs)
            body = packb(result)
            status = OK
        except Exception as exc:
            body = packb([type(exc).__name__, str(exc), traceback.format_exc()])
            status = ERROR
        self.reply(rid, mid, status, body)

    def on_reply(self, rid, mid, mtype, body, frames):
        call = self.pending.get(mid)
        if call is None:
            late = mid in self.timed_out
            self.anomaly("%s for %s" % (TYPE_NAMES[mtype], "a call that already timed out (late reply)"
                                        if late else "no waiting call (duplicate or unsolicited)"), frames)
            return
        if rid != call.dest:
            self.anomaly("%s from %r for a call sent to %r" % (TYPE_NAMES[mtype], rid, call.dest), frames)
        try:
            value = self.decode(body, frames)
        except Anomaly as exc:
            self.anomaly(str(exc), frames)
            self.finish(mid, {"error": error_report("ProtocolError", "", str(exc))})
            return
        if mtype == OK:
            self.finish(mid, {"result": value})
            return
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
            self.anomaly("ERROR body is not [str, str, str]", frames)
            self.finish(mid, {"error": error_report("ProtocolError", "", repr(value))})
            return
        klass, message, tb = value
        exc = reconstruct_error(klass, message, tb)
        self.finish(mid, {"error": error_report(type(exc).__name__, klass, message)})

    # -- the loop

    def extra_poll(self, poller):
        pass

    def on_stdin_line(self, line):
        pass

    def on_stdin_eof(self):
        self.running = False

    def on_idle(self):
        pass

    def read_stdin(self):
        try:
            chunk = os.read(0, 65536)
        except (BlockingIOError, InterruptedError):
            return
        if not chunk:
            self.stdin_open = False
            if self.stdin_buffer.strip():
                self.on_stdin_line(self.stdin_buffer)
            self.stdin_buffer = b""
            self.on_stdin_eof()
            return
        self.stdin_buffer += chunk
        while b"\n" in self.stdin_buffer:
            line, self.stdin_buffer = self.stdin_buffer.split(b"\n", 1)
            if line.strip():
                self.on_stdin_line(line)

    def guarded(self, handler, *args):
        """Runs a handler; a bug of this peer is reported as an anomaly, never silent."""
        try:
            handler(*args)
        except Exception as exc:
            traceback.print_exc()
            frames = [f.bytes for f in args[0]] if args else None
            self.anomaly("pypeer internal error: %r" % (exc,), frames)

    def serve(self):
        while self.running:
            poller = zmq.Poller()
            poller.register(self.socket, zmq.POLLIN)
            if self.zap is not None:
                poller.register(self.zap, zmq.POLLIN)
            if self.stdin_open:
                poller.register(0, zmq.POLLIN)
            ready = dict(poller.poll(self.next_timeout_ms()))
            if self.zap is not None and ready.get(self.zap):
                self.guarded(self.on_zap)
            if ready.get(self.socket):
                for _ in range(100):
                    try:
                        zframes = self.socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    self.guarded(self.on_frames, zframes)
            if self.stdin_open and ready.get(0):
                self.read_stdin()
            self.run_timers()
            self.on_idle()

    # -- ZAP (server side)

    def start_zap(self):
        self.zap = self.context.socket(zmq.REP)
        self.zap.setsockopt(zmq.LINGER, 0)
        self.zap.bind(ZAP_ENDPOINT)

    def on_zap(self):
        try:
            request = self.zap.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            return
        if len(request) < 6:
            self.zap.send_multipart([b"1.0", b"", b"500", b"Internal error", b"", b""])
            return
        version, sequence, _domain, _address, _identity, mechanism = request[:6]
        credentials = request[6:]
        user = self.authenticate(mechanism, credentials)
        status = (b"200", b"OK") if user is not None else (b"400", b"Unauthorized")
        emit_event("zap", mechanism=mechanism.decode("ascii", "replace"), user=user, status=status[0].decode())
        self.zap.send_multipart([version, sequence, status[0], status[1],
                                 (user or "").encode("utf-8"), b""])

    def authenticate(self, mechanism, credentials):
        return None

    def close(self):
        self.socket.close(0)
        if self.zap is not None:
            self.zap.close(0)
        self.context.term()


# ---- the server's functions (module level, so Python's TypeError texts name
# them as pseud's would: "add() takes 2 positional arguments but 3 were given")

SERVER = None  # the PyServer, for the functions that need the caller


def echo(x):
    return x


def echo_args(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def add(a, b):
    return a + b


def greet(name, greeting="Hello", punctuation="!", **extra):
    return {"text": "%s, %s%s" % (greeting, name, punctuation), "extra": extra}


def fail(message="boom"):
    raise ValueError(message)


def fail_custom(message):
    raise CustomError(message)


def blob():
    return BLOB


def when():
    return WHEN


def whoami():
    rid, user_id = SERVER.current
    return {"user_id": user_id, "routing_id": rid}


def call_me_back(func, *args, **kwargs):
    rid, user_id = SERVER.current
    dest = SERVER.user_rids.get(user_id, rid) if user_id else rid

    def record(outcome):
        entry = dict(outcome, func=func)
        SERVER.callback_results.append(entry)
        emit_event("callback", **entry)

    # Scheduled, not awaited: the caller gets its None first (pseud's reader
    # handles one message at a time, so a handler must not wait for a callback).
    SERVER.scheduled.append(lambda: SERVER.call(dest, func, args, kwargs, 5.0, record))
    return None


def callback_results():
    return SERVER.callback_results


def rectangle_area(command):
    """A typed command's function, as pseud++'s execute() calls it: its one
    argument is the command's fields as a dict."""
    if not isinstance(command, dict):
        raise TypeError("rectangle_area() expects a dict, got %s" % type(command).__name__)
    return {"area": command["width"] * command["height"], "fields": sorted(command)}


class PyServer(Peer):
    def __init__(self, options):
        super().__init__(options, "server")
        self.name = options.name.encode("utf-8")
        self.callback_results = []
        self.users = dict(split_assignment(u) for u in options.user)
        self.trusted = {key: name for name, key in (split_assignment(t) for t in options.trust)}
        self.socket.setsockopt(zmq.ROUTING_ID, self.name)
        self.socket.setsockopt(zmq.PROBE_ROUTER, 0)
        if options.auth == "plain":
            self.start_zap()
            self.socket.setsockopt(zmq.PLAIN_SERVER, 1)
        elif options.auth == "trusted_curve":
            if not options.secret_key:
                raise SystemExit("trusted_curve needs --secret-key")
            self.start_zap()
            secret = options.secret_key.encode("ascii")
            self.socket.setsockopt(zmq.CURVE_SERVER, 1)
            self.socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
            self.socket.setsockopt(zmq.CURVE_PUBLICKEY, zmq.curve_public(secret))
        self.registry = {f.__name__: f for f in (echo, echo_args, add, greet, fail, fail_custom, blob, when, whoami,
                                                 call_me_back, callback_results)}
        self.registry["shapes.rectangle.area"] = rectangle_area

    def authenticate(self, mechanism, credentials):
        if mechanism == b"PLAIN" and self.options.auth == "plain" and len(credentials) == 2:
            login, password = (c.decode("utf-8", "replace") for c in credentials)
            if login in self.users and self.users[login] == password:
                return login
            return None
        if mechanism == b"CURVE" and self.options.auth == "trusted_curve" and len(credentials) == 1:
            return self.trusted.get(zmq.utils.z85.encode(credentials[0]).decode("ascii"))
        return None


    def run(self):
        self.socket.bind(self.options.endpoint)
        endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        emit_event("ready", endpoint=endpoint, name=self.options.name)
        self.serve()


# ---- the client's functions

def double(x):
    return x * 2


def upper(s):
    return s.upper()


def client_fail(message="client failure"):
    raise ValueError(message)


def client_echo(x):
    return x


class PyClient(Peer):
    def __init__(self, options):
        super().__init__(options, "client")
        self.server = options.server_name.encode("utf-8")
        self.queue = []
        self.in_flight = None
        self.serve_until = None
        self.auth_failures = 0
        self.socket.setsockopt(zmq.PROBE_ROUTER, 1)
        if options.auth == "plain":
            if options.login is None or options.password is None:
                raise SystemExit("plain needs --login and --password")
            self.socket.setsockopt(zmq.PLAIN_USERNAME, options.login.encode("utf-8"))
            self.socket.setsockopt(zmq.PLAIN_PASSWORD, options.password.encode("utf-8"))
        elif options.auth in ("trusted_curve", "untrusted_curve"):
            if not options.server_key:
                raise SystemExit("%s needs --server-key" % options.auth)
            if options.public_key and options.secret_key:
                public, secret = options.public_key.encode("ascii"), options.secret_key.encode("ascii")
            else:
                public, secret = zmq.curve_keypair()
            self.socket.setsockopt(zmq.CURVE_SERVERKEY, options.server_key.encode("ascii"))
            self.socket.setsockopt(zmq.CURVE_PUBLICKEY, public)
            self.socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
            if options.auth == "untrusted_curve" and (options.login is None or options.password is None):
                raise SystemExit("untrusted_curve needs --login and --password")
        self.registry = {"client.double": double, "client.echo": client_echo, "string.upper": upper,
                         "client.fail": client_fail}

    def accept_source(self, rid, frames):
        if rid != self.server:
            self.anomaly("message from %r, not from the server %r" % (rid, self.server), frames)
            return False
        return True

    def on_probe(self, rid, user_id):
        # The server binds and never sets PROBE_ROUTER: it sends no probe.
        self.anomaly("probe received by a connecting client", [rid, b""])

    # -- pseud's in-band login (untrusted_curve)

    def on_auth_message(self, rid, mid, mtype, body, frames):
        if self.options.auth != "untrusted_curve" or mtype == HELLO:
            super().on_auth_message(rid, mid, mtype, body, frames)
            return
        call = self.pending.get(mid)
        if call is None:
            self.anomaly("%s for no waiting call" % TYPE_NAMES[mtype], frames)
            return
        login = self.options.login.encode("utf-8")
        if mtype == UNAUTHORIZED:
            if body not in (b"Authentication Required", b"Authentication Error"):
                self.anomaly("UNAUTHORIZED with an unexpected text", frames)
            self.auth_failures += 1
            if self.auth_failures >= MAX_AUTH_FAILURES:
                self.finish(mid, {"error": error_report("UnauthorizedError", "UnauthorizedError",
                                                        "Max authentication retries reached")})
                return
            hello = packb([login, self.options.password.encode("utf-8")])
            failure = self.send([self.server, b"", VERSION, mid, HELLO, hello])
            if failure:
                self.finish(mid, {"error": error_report("UnreachableError", "", failure)})
            return
        # AUTHENTICATED: the text embeds Python's repr of the login bytes.
        expected = ("Welcome %r" % (login,)).encode("utf-8")
        if body != expected:
            self.anomaly("AUTHENTICATED text %r, expected %r" % (body, expected), frames)
        emit_event("authenticated", text=body.decode("utf-8", "replace"))
        self.try_send(mid, call)  # the same WORK again: same id, same bytes

    # -- requests from stdin

    def on_stdin_line(self, line):
        self.queue.append(line)
        self.start_next()

    def start_next(self):
        while self.in_flight is None and self.queue:
            line = self.queue.pop(0)
            try:
                request = json.loads(line)
                func = request["func"]
                args = from_json(request.get("args", []))
                kwargs = from_json(request.get("kwargs", {}))
                timeout = float(request.get("timeout", 5))
                if not isinstance(func, str) or not isinstance(args, list) or not isinstance(kwargs, dict):
                    raise ValueError("func must be a string, args a list, kwargs an object")
            except Exception as exc:
                emit({"error": error_report("BadRequest", "", "%s: %s" % (type(exc).__name__, exc))})
                continue
            self.in_flight = "starting"
            try:
                mid = self.call(self.server, func, args, kwargs, timeout, self.on_result)
            except Exception as exc:  # e.g. a value msgpack cannot pack
                self.in_flight = None
                emit({"error": error_report("BadRequest", "", "%s: %s" % (type(exc).__name__, exc))})
                continue
            if self.in_flight == "starting":  # not already finished inside call()
                self.in_flight = mid

    def on_result(self, outcome):
        emit(outcome)
        self.in_flight = None  # the next request starts from on_idle

    def on_idle(self):
        self.start_next()
        if not self.stdin_open and self.in_flight is None and not self.queue:
            if self.serve_until is None:
                self.serve_until = time.monotonic() + self.options.serve
            if time.monotonic() >= self.serve_until:
                self.running = False

    def on_stdin_eof(self):
        pass  # on_idle decides when to stop

    def extra_deadline(self):
        return self.serve_until

    def run(self):
        self.socket.connect(self.options.endpoint)
        emit_event("ready", endpoint=self.options.endpoint)
        self.serve()


WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5)

BLOB = {
    "bytes": bytes(range(256)),
    "empty_bytes": b"",
    "text": "h\u00e9llo w\u00f6rld \u2603 \u65e5\u672c \U0001F600",
    "empty_text": "",
    "nested": {"a": {"b": [1, 2, {"c": None}], "d": [True, False]}, "e": []},
    "u64_max": 2 ** 64 - 1,
    "i64_min": -2 ** 63,
    "float": 1.5,
    "empty_list": [],
    "empty_map": {},
}


def split_assignment(text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise SystemExit("expected NAME=VALUE, got %r" % text)
    return name, value


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="pseud v1 test peer (see the module docstring)")
    modes = parser.add_subparsers(dest="mode", required=True)
    server = modes.add_parser("server")
    server.add_argument("endpoint")
    server.add_argument("--name", default="server")
    server.add_argument("--auth", choices=["noop", "plain", "trusted_curve"], default="noop")
    server.add_argument("--user", action="append", default=[], help="LOGIN=PASSWORD (plain)")
    server.add_argument("--secret-key", help="Z85 (trusted_curve)")
    server.add_argument("--trust", action="append", default=[], help="NAME=Z85 public key (trusted_curve)")
    server.add_argument("--unpickle", action="store_true", help="decode ext 123-126 as pseud does")
    client = modes.add_parser("client")
    client.add_argument("endpoint")
    client.add_argument("--server-name", required=True)
    client.add_argument("--auth", choices=["noop", "plain", "trusted_curve", "untrusted_curve"], default="noop")
    client.add_argument("--login")
    client.add_argument("--password")
    client.add_argument("--server-key", help="Z85 server public key (curve)")
    client.add_argument("--public-key", help="Z85 (trusted_curve; generated when absent)")
    client.add_argument("--secret-key", help="Z85 (trusted_curve; generated when absent)")
    client.add_argument("--serve", type=float, default=0.0, help="seconds to keep serving after stdin closes")
    client.add_argument("--unpickle", action="store_true", help="decode ext 123-126 as pseud does")
    return parser.parse_args(argv)


def main(argv):
    options = parse_arguments(argv)
    global UNPICKLE
    UNPICKLE = options.unpickle

    def on_signal(number, _frame):
        raise SystemExit(128 + number)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    os.set_blocking(0, False)
    global SERVER
    peer = PyServer(options) if options.mode == "server" else PyClient(options)
    if options.mode == "server":
        SERVER = peer
    try:
        peer.run()
    finally:
        emit_event("exit", anomalies=peer.anomalies, noncanonical=peer.noncanonical)
        peer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
