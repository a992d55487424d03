"""Starts a private redis-server and iplus service binaries for out-of-process tests.

Everything listens on loopback on free ports, lives in a temporary directory, and is
stopped by stop() (SIGTERM, then SIGKILL after a bounded wait). Python gRPC stubs are
generated at run time with protoc into a temporary directory.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate_stubs(protoc, grpc_python_plugin, include_dirs, protos, out_dir):
    """Runs protoc for Python messages and gRPC stubs and makes them importable."""
    os.makedirs(out_dir, exist_ok=True)
    cmd = [protoc, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
           "--plugin=protoc-gen-grpc_python=" + grpc_python_plugin]
    cmd += ["-I" + d for d in include_dirs]
    cmd += list(protos)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError("protoc failed (%d): %s\n%s" % (
            proc.returncode, " ".join(cmd), proc.stdout.decode(errors="replace")))
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


def _child_env(extra=None):
    # The services read IPLUS_* variables as flags; do not let the caller's leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPLUS_")}
    env.update(extra or {})
    return env


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(data[-lines:])


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=_child_env(env))
        self.returncode = None
        self.stopped = False

    def alive(self):
        return self.proc.poll() is None

    def terminate(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code,
        or None when it had to be killed."""
        self.stopped = True
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            self._log.close()
            return self.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            self.returncode = None
        self._log.close()
        return self.returncode

    def describe_failure(self):
        return "%s exited with %s; last output:\n%s" % (
            self.name, self.proc.poll(), tail(self.log_path))


def wait_redis(port, proc, deadline):
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(proc.describe_failure())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                s.settimeout(1.0)
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("redis-server on port %d not ready in time" % port)


def health_serving(target, timeout=1.0):
    """True when grpc.health.v1.Health/Check for the whole server says SERVING. Uses
    raw bytes so no generated health stubs are needed."""
    import grpc
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=None, response_deserializer=None)
        try:
            resp = check(b"", timeout=timeout)
        except grpc.RpcError:
            return False
    # HealthCheckResponse{status = 1 (SERVING)} is field 1, varint 1.
    return resp == b"\x08\x01"


def wait_http_ok(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(proc.describe_failure())
        try:
            with urllib.request.urlopen(url, timeout=2.0) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s not ready in time" % url)


class Service:
    """One service binary. `flags` are passed as given; `links` maps a flag name to the
    name of another service of the same stack, and passes that service's gRPC target
    (e.g. links={"registry_target": "registry"} gives --registry_target=127.0.0.1:PORT).
    A stack starts linked services before the services that link to them. `env` adds
    environment variables (e.g. IPLUS_<FLAG>) to the child's."""

    def __init__(self, name, binary, flags=(), links=None, env=None):
        self.name = name
        self.binary = binary
        self.flags = list(flags)
        self.links = dict(links or {})
        self.env = dict(env or {})
        self.grpc_port = None
        self.metrics_port = None
        self.process = None

    @property
    def target(self):
        return "127.0.0.1:%d" % self.grpc_port

    @property
    def metrics_url(self):
        return "http://127.0.0.1:%d/metrics" % self.metrics_port


class Stack:
    """One redis-server and any number of services sharing it, each on its own ports
    with its own flags."""

    def __init__(self, work_dir, redis_server, services, redis_flags=None):
        self.work_dir = work_dir
        self.redis_server = redis_server
        self.services = list(services)
        # redis-server's persistence flags: none by default; the funds service needs
        # ["--appendonly", "yes", "--appendfsync", "always"].
        self.redis_flags = list(redis_flags) if redis_flags is not None else [
            "--appendonly", "no"]
        self.redis_port = None
        self.redis = None
        self._started = []

    def service(self, name):
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError("no service %r in the stack" % name)

    def start_order(self):
        """The services with every linked service before the services linking to it;
        otherwise in the order given."""
        names = [svc.name for svc in self.services]
        if len(set(names)) != len(names):
            raise ValueError("service names must be unique: %s" % names)
        order, visiting = [], set()

        def visit(svc):
            if svc in order:
                return
            if svc.name in visiting:
                raise ValueError("services link to each other in a cycle through %r" %
                                 svc.name)
            visiting.add(svc.name)
            for flag, other in sorted(svc.links.items()):
                if other not in names:
                    raise ValueError("%s: --%s links to %r, which is not in the stack" % (
                        svc.name, flag, other))
                visit(self.service(other))
            visiting.discard(svc.name)
            order.append(svc)

        for svc in self.services:
            visit(svc)
        return order

    def start(self):
        order = self.start_order()
        self._start_redis()
        for svc in order:
            self._start_service(svc)
            self._started.append(svc)

    def _start_redis(self):
        data = os.path.join(self.work_dir, "redis")
        os.makedirs(data, exist_ok=True)
        last_error = None
        for attempt in range(3):
            port = free_port()
            proc = Process("redis-server", [
                self.redis_server, "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--dir", data] + self.redis_flags,
                os.path.join(self.work_dir, "redis-%d.log" % attempt))
            try:
                wait_redis(port, proc, time.monotonic() + STARTUP_TIMEOUT_S)
                self.redis_port, self.redis = port, proc
                return
            except RuntimeError as e:  # e.g. the port was taken in between
                last_error = e
                proc.terminate()
        raise RuntimeError("cannot start redis-server: %s" % last_error)

    def _start_service(self, svc):
        last_error = None
        for attempt in range(3):
            svc.grpc_port, svc.metrics_port = free_port(), free_port()
            argv = [svc.binary,
                    "--grpc_address=" + svc.target,
                    "--metrics_address=127.0.0.1:%d" % svc.metrics_port,
                    "--redis_address=127.0.0.1:%d" % self.redis_port,
                    # Loopback tests speak plaintext; TLS has its own tests (tests/tls).
                    "--plaintext"] + svc.flags
            # Without a token file of its own, a service serves every caller as the
            # anonymous admin; authentication has its own tests (tests/auth).
            if not any(f.startswith("--token_file") for f in svc.flags):
                argv.append("--allow_unauthenticated")
            argv += ["--%s=%s" % (flag, self.service(other).target)
                     for flag, other in sorted(svc.links.items())]
            proc = Process(svc.name, argv,
                           os.path.join(self.work_dir, "%s-%d.log" % (svc.name, attempt)),
                           env=svc.env)
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            try:
                while not health_serving(svc.target):
                    if not proc.alive():
                        raise RuntimeError(proc.describe_failure())
                    if time.monotonic() > deadline:
                        raise RuntimeError("%s not SERVING in time; last output:\n%s" % (
                            svc.name, tail(proc.log_path)))
                    time.sleep(0.1)
                svc.process = proc
                return
            except RuntimeError as e:
                last_error = e
                proc.terminate()
        raise RuntimeError("cannot start %s: %s" % (svc.name, last_error))

    def stop(self):
        """Stops whatever is still running, services that link to others first; safe to
        call more than once."""
        for svc in reversed(self._started):
            if svc.process is not None and not svc.process.stopped:
                svc.process.terminate()
        if self.redis is not None and not self.redis.stopped:
            self.redis.terminate()


def status_details(err):
    """The google.rpc.Status carried in an RpcError's grpc-status-details-bin trailer.

    Needs the generated google.rpc stubs on sys.path (generate_stubs)."""
    from google.rpc import status_pb2
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(value)
            return st
    return None


def bad_request_fields(st):
    """Field names of every google.rpc.BadRequest violation in a google.rpc.Status."""
    from google.rpc import error_details_pb2
    fields = []
    for any_msg in st.details:
        if any_msg.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            any_msg.Unpack(br)
            fields.extend(v.field for v in br.field_violations)
    return fields


def run_suites(stack, *test_cases):
    """Starts `stack`, runs the unittest cases in order, prints the services' last log
    lines if any failed, stops the stack; returns the process exit code."""
    import unittest
    try:
        try:
            stack.start()
        except (RuntimeError, ValueError) as e:
            print("cannot start the stack: %s" % e, file=sys.stderr)
            return 1
        loader = unittest.TestLoader()
        suite = unittest.TestSuite()
        for case in test_cases:
            suite.addTests(loader.loadTestsFromTestCase(case))
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
        if not result.wasSuccessful():
            for svc in stack.services:
                if svc.process is not None:
                    print("--- %s output (last lines) ---\n%s" % (
                        svc.name, tail(svc.process.log_path, 60)))
        return 0 if result.wasSuccessful() else 1
    finally:
        stack.stop()
