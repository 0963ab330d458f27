#!/usr/bin/python3
"""pyplugin.py: a pseud plugin in Python, for the tests of pseud++'s plugin host.

A test plugin written from protocol/PLUGINS.md (section 2, what the plugin
does): a host starts it as a child process, it checks the host's cookie,
picks the protocol version, listens with CURVE on a channel only the host can
use, writes the handshake line and serves pseud v1 calls. Run it with
/usr/bin/python3; it needs only Debian's python3-zmq and python3-msgpack. The
pseud v1 wire (framing, ZAP, error replies) is tests/interop/pypeer.py's: the
plugin is a pypeer server with its own functions and its own way to stop.

Command line
------------
pyplugin.py --cookie KEY=VALUE [--versions 1,2] [--noise] [--ignore-shutdown]

    --cookie KEY=VALUE   the cookie its host sets: without KEY=VALUE in the
                         environment it says on standard error that it is a
                         plugin its host starts, and exits 1 at once: before
                         importing zmq, in about 55 ms (25 of them the
                         interpreter's own start).
    --versions LIST      the protocol versions it supports (default 1,2).
    --noise              writes a few lines to standard output before the
                         handshake (a host must log them, not take them for it).
    --ignore-shutdown    pseud.plugin.shutdown answers "ok" and the plugin keeps
                         serving (for the host's SIGTERM / SIGKILL path);
                         SIGTERM still stops it.

Environment (set by the host, PLUGINS.md section 1): the cookie,
PLUGIN_PROTOCOL_VERSIONS, PLUGIN_TRANSPORTS (default unix,tcp when absent),
PSEUD_PLUGIN_CLIENT_KEY, PSEUD_PLUGIN_HANDSHAKE_FD (default: standard
output), PSEUD_PLUGIN_SOCKET_DIR (default: a 0700 directory of its own under
XDG_RUNTIME_DIR or the temporary directory, removed at exit).

Functions: the "counter" plugin of rpcplugin's examples.
    version 1: count() -> the counter plus one (it is incremented),
               get_count() -> the counter;
    version 2: the same and reset() -> None (the counter is 0 again);
    every version: language() -> "python", pid() -> its process id,
               sleep(seconds) -> seconds, after sleeping that long,
               pseud.health(service="") -> "SERVING" ("NOT_SERVING" while it
               stops) for "" and "plugin", ServiceNotFoundError otherwise,
               pseud.plugin.shutdown() -> "ok", and then it stops.

Stopping (PLUGINS.md 2.6 and 2.7): after pseud.plugin.shutdown, SIGTERM (or
SIGINT), or when its parent is no longer the process that started it
(checked every 200 ms), it refuses new calls with UnavailableError, as a
stopping pseud++ peer does (pseud.health and pseud.plugin.shutdown still
answer), until none has come for 50 ms; then it closes, leaving the replies
already sent up to 1 s to leave, removes its socket and exits 0. A SIGTERM
before the handshake exits 0 at once, except in the first ~40 ms, while the
interpreter starts and before its handler is installed: it dies of it then.

Single-threaded, as pypeer is: a call runs to its end before the next message
is read, so sleep(seconds) holds every other call (and a new client's CURVE
handshake) back until it returns, and a shutdown that arrives meanwhile is
answered after it. Calls are never "in flight" concurrently; "lets the calls
in flight finish" is therefore what one loop does anyway. A host's in-flight
test should keep the sleep shorter than its shutdown grace (default 2 s).

Exit status: 0 after a stop; 1 when the cookie, the versions, the transports,
the client key or the socket are not right (one line on standard error); 2 for
a bad command line. Standard error also says "pyplugin: serving version N on
ADDRESS" after the handshake and "pyplugin: stopped (...)" at the end;
pypeer's event lines ({"event": "zap", ...}) go to standard output, which the
host logs.
"""

import argparse
import os
import re
import signal
import sys
import tempfile
import time

PROGRAM = "pyplugin"
HANDSHAKE_VERSION = 1
PROTOCOL = "pseud"
ROUTING_ID = "plugin"
SOCKET_NAME = "plugin.sock"
SHUTDOWN_FUNCTION = "pseud.plugin.shutdown"
HEALTH_FUNCTION = "pseud.health"
STILL_ANSWERED = (SHUTDOWN_FUNCTION, HEALTH_FUNCTION)  # while stopping
TRANSPORTS = ("unix", "tcp")  # the ones this plugin supports
DEFAULT_TRANSPORTS = "unix,tcp"  # when PLUGIN_TRANSPORTS is absent
PARENT_CHECK_S = 0.2
QUIET_S = 0.05  # stopping: no call refused for this long, and it closes
QUIET_MAX_S = 1.0  # ... or after this long at most
REPLY_LINGER_MS = 1000  # what the replies already sent have to leave at close
UNIX_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
Z85_KEY_LENGTH = 40

ENV_VERSIONS = "PLUGIN_PROTOCOL_VERSIONS"
ENV_TRANSPORTS = "PLUGIN_TRANSPORTS"
ENV_CLIENT_KEY = "PSEUD_PLUGIN_CLIENT_KEY"
ENV_HANDSHAKE_FD = "PSEUD_PLUGIN_HANDSHAKE_FD"
ENV_SOCKET_DIR = "PSEUD_PLUGIN_SOCKET_DIR"


class Refusal(Exception):
    """A reason not to serve: said as one line on standard error, exit 1."""


def say(text):
    """One line on standard error (the host logs it); a gone host is no error."""
    try:
        sys.stderr.write("%s: %s\n" % (PROGRAM, text))
        sys.stderr.flush()
    except OSError:
        pass


# ---- before zmq: the command line, the cookie, the version, the transport ------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="pyplugin.py", description="a pseud plugin for tests, started by its host (see the module docstring)")
    parser.add_argument("--cookie", required=True, metavar="KEY=VALUE",
                        help="the cookie variable the host sets, and its value")
    parser.add_argument("--versions", default="1,2", help="the protocol versions of this plugin (default 1,2)")
    parser.add_argument("--noise", action="store_true", help="a few standard-output lines before the handshake")
    parser.add_argument("--ignore-shutdown", action="store_true",
                        help='pseud.plugin.shutdown answers "ok" and the plugin keeps serving')
    options = parser.parse_args(argv)
    key, sep, value = options.cookie.partition("=")
    if not sep or not key:
        parser.error("--cookie expects KEY=VALUE, got %r" % options.cookie)
    options.cookie_key, options.cookie_value = key, value
    try:
        options.own_versions = parse_versions(options.versions, "--versions")
    except Refusal as refusal:
        parser.error(str(refusal))
    return options


def check_cookie(key, value):
    """PLUGINS.md 2.1: started by a host, or nothing to do."""
    seen = os.environ.get(key)
    if seen == value:
        return
    why = "%s is not set" % key if seen is None else "%s has another value" % key
    raise Refusal("this is a pseud plugin, started by its host, which sets the cookie %s (%s): "
                  "it is not meant to be run by hand" % (key, why))


def parse_versions(text, where):
    """'1,2' -> [1, 2]: positive decimal integers, comma-separated (spaces around them allowed)."""
    items = [item.strip() for item in text.split(",")]
    if not all(re.fullmatch(r"0*[1-9][0-9]*", item) for item in items):
        raise Refusal("%s=%r: expected positive decimal integers, comma-separated (such as 1,2)" % (where, text))
    return [int(item) for item in items]


def version_list(versions):
    return ",".join(str(v) for v in versions)


def choose_version(own):
    """PLUGINS.md 2.2: the highest version in both lists."""
    text = os.environ.get(ENV_VERSIONS)
    if text is None:
        raise Refusal("%s is not set: the host's protocol versions are unknown" % ENV_VERSIONS)
    host = parse_versions(text, ENV_VERSIONS)
    common = set(host) & set(own)
    if not common:
        raise Refusal("no protocol version in common: the host supports %s, this plugin supports %s"
                      % (version_list(host), version_list(own)))
    return max(common)


def choose_transport():
    """The first transport the host lists (its preference) that this plugin has."""
    text = os.environ.get(ENV_TRANSPORTS, DEFAULT_TRANSPORTS)
    listed = [item.strip() for item in text.split(",") if item.strip()]
    for transport in listed:
        if transport in TRANSPORTS:
            return transport
    raise Refusal("no transport in common: the host accepts %r (%s), this plugin supports %s"
                  % (text, ENV_TRANSPORTS, ",".join(TRANSPORTS)))


def client_key_from_environment():
    key = os.environ.get(ENV_CLIENT_KEY)
    if not key:
        raise Refusal("%s is not set: there is no host key to accept" % ENV_CLIENT_KEY)
    return key


def handshake_fd_from_environment():
    """The handshake descriptor, or None for standard output."""
    text = os.environ.get(ENV_HANDSHAKE_FD)
    if text is None or text == "":
        return None
    if not re.fullmatch(r"[0-9]+", text):
        raise Refusal("%s=%r is not a descriptor number" % (ENV_HANDSHAKE_FD, text))
    return int(text)


# ---- the functions (module level, so Python's TypeError texts name them as
# pseud's would: "count() takes 0 positional arguments but 1 was given")

COUNTER = 0
PLUGIN = None  # the PluginServer, for the functions that stop it or report on it


def count():
    global COUNTER
    COUNTER += 1
    return COUNTER


def get_count():
    return COUNTER


def reset():
    global COUNTER
    COUNTER = 0
    return None


def language():
    return "python"


def pid():
    return os.getpid()


def sleep(seconds):
    time.sleep(seconds)  # holds the whole (single-threaded) plugin: see the module docstring
    return seconds


def health(service=""):
    if service not in ("", ROUTING_ID):
        raise PLUGIN.service_not_found("no service %r here: pseud.health knows '' (the plugin as a whole) and %r"
                                       % (service, ROUTING_ID))
    return "NOT_SERVING" if PLUGIN.stop_reason is not None else "SERVING"


def plugin_shutdown():
    PLUGIN.on_shutdown_call()
    return "ok"


def functions_of(version):
    """What a host that chose `version` can call."""
    functions = {f.__name__: f for f in (count, get_count, language, pid, sleep)}
    if version >= 2:
        functions["reset"] = reset
    functions[HEALTH_FUNCTION] = health
    functions[SHUTDOWN_FUNCTION] = plugin_shutdown
    return functions


# ---- the server: pypeer's, imported once the checks above passed (it imports
# zmq, which alone takes longer than a refusal should)

def load_pypeer():
    interop = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "interop")
    sys.path.insert(0, os.path.normpath(interop))
    import pypeer
    return pypeer


def plugin_server_class(pypeer):
    """PluginServer: a pypeer trusted_curve server (ZAP accepts the host's key
    only) whose routing id is "plugin", with the plugin's functions and stop."""
    import zmq

    class PluginServer(pypeer.PyServer):
        def __init__(self, version, secret_key, client_key, ignore_shutdown):
            options = argparse.Namespace(
                name=ROUTING_ID, auth="trusted_curve", secret_key=secret_key, trust=["host=" + client_key],
                user=[], endpoint=None, unpickle=False)
            super().__init__(options)
            self.registry = functions_of(version)
            self.stdin_open = False  # stdin is /dev/null: calls come over the socket only
            self.ignore_shutdown = ignore_shutdown
            self.stop_reason = None
            self.stopping_since = None
            self.last_refusal = None
            self.parent = os.getppid()
            self.next_parent_check = time.monotonic() + PARENT_CHECK_S

        def service_not_found(self, message):
            return pypeer.ServiceNotFoundError(message)

        def bind(self, endpoint):
            self.socket.bind(endpoint)
            return self.socket.getsockopt_string(zmq.LAST_ENDPOINT)

        # -- stopping

        def stop(self, reason):
            if self.stop_reason is None:
                self.stop_reason = reason
                self.stopping_since = time.monotonic()

        def on_shutdown_call(self):
            if self.ignore_shutdown:
                say("pseud.plugin.shutdown answered and ignored (--ignore-shutdown)")
            else:
                self.stop("pseud.plugin.shutdown")

        def stop_deadline(self):
            quiet_from = max(self.stopping_since, self.last_refusal or self.stopping_since)
            return min(quiet_from + QUIET_S, self.stopping_since + QUIET_MAX_S)

        def on_work(self, rid, user_id, mid, body, frames):
            if self.stop_reason is not None:
                name = self.function_name(body)
                if name is not None and name not in STILL_ANSWERED:
                    self.last_refusal = time.monotonic()
                    message = ("the plugin is stopping: %r was not run; safe to retry on another instance" % name)
                    self.reply(rid, mid, pypeer.ERROR, pypeer.packb(["UnavailableError", message, ""]))
                    return
            super().on_work(rid, user_id, mid, body, frames)  # a malformed body gets pypeer's reply

        @staticmethod
        def function_name(body):
            try:
                value = pypeer.unpackb(body)
            except Exception:
                return None
            if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
                return value[0]
            return None

        # -- pypeer's loop hooks: wake for the parent check and the end of a stop

        def extra_deadline(self):
            deadline = self.next_parent_check
            if self.stop_reason is not None:
                deadline = min(deadline, self.stop_deadline())
            return deadline

        def on_idle(self):
            now = time.monotonic()
            if now >= self.next_parent_check:
                self.next_parent_check = now + PARENT_CHECK_S
                if os.getppid() != self.parent:
                    self.stop("the parent %d that started it is gone" % self.parent)
            if self.stop_reason is not None and now >= self.stop_deadline():
                self.running = False

        def close(self):
            # pypeer closes with LINGER 0, which would drop the shutdown's "ok":
            # the replies already queued get REPLY_LINGER_MS to leave first.
            self.socket.close(linger=REPLY_LINGER_MS)
            super().close()

    return PluginServer


# ---- the listening socket, the handshake

class Listener:
    """Where the plugin listens, and what to remove at exit."""

    def __init__(self, transport):
        self.transport = transport
        self.own_dir = None  # made here (no PSEUD_PLUGIN_SOCKET_DIR): removed at exit
        self.socket_path = None
        self.address = None

    def endpoint(self):
        if self.transport == "tcp":
            return "tcp://127.0.0.1:*"
        directory = os.environ.get(ENV_SOCKET_DIR)
        if not directory:
            parent = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
            directory = self.own_dir = tempfile.mkdtemp(prefix="pseud-plugin-", dir=parent)  # mode 0700
        self.socket_path = os.path.join(os.path.abspath(directory), SOCKET_NAME)
        if len(os.fsencode(self.socket_path)) > UNIX_PATH_MAX:
            raise Refusal("the unix socket path %s is longer than %d bytes" % (self.socket_path, UNIX_PATH_MAX))
        return "ipc://" + self.socket_path

    def bound(self, last_endpoint):
        if self.transport == "tcp":
            self.address = last_endpoint[len("tcp://"):]  # 127.0.0.1:PORT
        else:
            self.address = self.socket_path

    def remove(self):
        # libzmq unlinks the socket it bound when it closes; this covers the rest.
        bound_path = self.socket_path if self.address is not None else None
        for remove, path in ((os.unlink, bound_path), (os.rmdir, self.own_dir)):
            if path is None:
                continue
            try:
                remove(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                say("could not remove %s: %s" % (path, exc))


def write_handshake(line, fd):
    """PLUGINS.md 2.5: the line to the handshake descriptor, which is then closed."""
    if fd is None or fd == 1:
        sys.stdout.write(line)
        sys.stdout.flush()
        return
    data = line.encode("ascii")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        raise Refusal("cannot write the handshake to %s=%d: %s" % (ENV_HANDSHAKE_FD, fd, exc.strerror))
    if fd > 2:
        os.close(fd)


def make_noise():
    for n in range(1, 4):
        sys.stdout.write("%s: noise line %d of 3 on standard output, before the handshake\n" % (PROGRAM, n))
    sys.stdout.flush()


# ---- main ------------------------------------------------------------------------

def main(argv):
    global PLUGIN

    def exit_at_once(number, _frame):
        raise SystemExit(0)  # SIGTERM before serving: nothing to finish

    signal.signal(signal.SIGTERM, exit_at_once)
    signal.signal(signal.SIGINT, exit_at_once)
    options = parse_arguments(argv)
    try:
        check_cookie(options.cookie_key, options.cookie_value)
        version = choose_version(options.own_versions)
        transport = choose_transport()
        client_key = client_key_from_environment()
        handshake_fd = handshake_fd_from_environment()
    except Refusal as refusal:
        say(str(refusal))
        return 1

    pypeer = load_pypeer()
    import zmq
    import zmq.utils.z85
    try:
        if len(client_key) != Z85_KEY_LENGTH:
            raise ValueError("%d characters" % len(client_key))
        zmq.utils.z85.decode(client_key)
    except Exception as exc:
        say("%s=%r is not a Z85 CURVE public key (%s)" % (ENV_CLIENT_KEY, client_key, exc))
        return 1

    public_key, secret_key = (k.decode("ascii") for k in zmq.curve_keypair())
    listener = Listener(transport)
    server = None
    try:
        server = plugin_server_class(pypeer)(version, secret_key, client_key, options.ignore_shutdown)
        PLUGIN = server
        try:
            listener.bound(server.bind(listener.endpoint()))
        except zmq.ZMQError as exc:
            raise Refusal("cannot listen (%s): %s" % (transport, exc)) from None
        if options.noise:
            make_noise()
        write_handshake("%d|%d|%s|%s|%s|%s\n" % (HANDSHAKE_VERSION, version, transport, listener.address,
                                                 PROTOCOL, public_key), handshake_fd)
        say("serving version %d on %s" % (version, listener.address))

        def stop_on_signal(number, _frame):
            server.stop(signal.Signals(number).name)  # the loop notices within PARENT_CHECK_S

        signal.signal(signal.SIGTERM, stop_on_signal)
        signal.signal(signal.SIGINT, stop_on_signal)
        server.serve()
        say("stopped (%s)" % server.stop_reason)
        return 0
    except Refusal as refusal:
        say(str(refusal))
        return 1
    finally:
        if server is not None:
            server.close()
        listener.remove()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
