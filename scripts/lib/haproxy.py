#!/usr/bin/env python3
"""Runs HAProxy as a gRPC load balancer (cleartext HTTP/2, round-robin per call, no stickiness).

Usage: haproxy.py start DIR PORT [PORT ...]   -> prints `export UPLOADER_TEST_LB=127.0.0.1:P`
       haproxy.py stop DIR

As a library: `LoadBalancer(directory, backends).start()` returns the frontend address, where
`backends` are gRPC ports or (gRPC port, metrics port) pairs; `stop()` ends it. Installs
Debian's `haproxy` when it is missing (as root). Each gRPC call is routed on its own (HAProxy
balances HTTP/2 streams, not connections). Replicas are checked every 300 ms: with a metrics
port, by GET /healthz, which answers 503 while the replica drains or its database or object
store fails, and nothing while it is stopped (SIGSTOP); else by connecting.
Calls that could not connect are sent to another replica, and a call whose replica stays silent
for 10 s is ended, so its client reconnects to a live one.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

CONFIG = """\
global
    maxconn 2000
    # One HTTP/2 stream may carry a whole part: let it have a window worth a few round trips.
    tune.h2.initial-window-size 4194304
    tune.bufsize 262144

defaults
    mode http
    timeout connect 1s
    timeout client 600s
    timeout server 10s
    timeout check 1s
    timeout client-fin 5s
    timeout server-fin 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response 503

frontend grpc
    bind 127.0.0.1:{port} proto h2
    default_backend replicas

backend replicas
    balance roundrobin
{servers}
{http}"""

# The tus door: HTTP/1.1, each request balanced on its own.
HTTP_CONFIG = """
frontend tus
    bind 127.0.0.1:{port}
    timeout client 60s
    default_backend tus_replicas

backend tus_replicas
    balance roundrobin
    timeout server 60s
{servers}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    found = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and "/usr/sbin/haproxy")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("haproxy is not installed and installing it needs root: apt-get install -y haproxy")
    subprocess.run(["apt-get", "install", "-y", "-q", "haproxy"], check=True, stdout=sys.stderr,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


class LoadBalancer:
    def __init__(self, directory, backend_ports, port=None, http_backends=None):
        self.directory = os.path.abspath(directory)
        self.backend_ports = list(backend_ports)
        self.port = port or free_port()
        # (tus port, metrics port) pairs, balanced on http_port.
        self.http_backends = list(http_backends or [])
        self.http_port = free_port() if self.http_backends else None
        self.process = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        lines = []
        for i, backend in enumerate(self.backend_ports):
            port, metrics = backend if isinstance(backend, tuple) else (backend, None)
            check = f"check port {metrics} check-proto h1 inter 300ms fall 2 rise 1" if metrics else "check inter 300ms fall 1 rise 1"
            lines.append(f"    server r{i + 1} 127.0.0.1:{port} proto h2 {check}")
        servers = "\n".join(lines)
        if any(isinstance(b, tuple) for b in self.backend_ports):
            servers = "    option httpchk GET /healthz\n" + servers
        http = ""
        if self.http_backends:
            http = HTTP_CONFIG.format(port=self.http_port, servers="    option httpchk GET /healthz\n" + "\n".join(
                f"    server t{i + 1} 127.0.0.1:{port} check port {metrics} inter 300ms fall 2 rise 1"
                for i, (port, metrics) in enumerate(self.http_backends)))
        config = os.path.join(self.directory, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(CONFIG.format(port=self.port, servers=servers, http=http))
        log = open(os.path.join(self.directory, "haproxy.log"), "w")
        self.process = subprocess.Popen([binary(), "-db", "-f", config], stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        with open(os.path.join(self.directory, "haproxy.pid"), "w") as f:
            f.write(str(self.process.pid))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.process.returncode}; see {self.directory}/haproxy.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self.address
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not listen within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def stop(directory):
    try:
        with open(os.path.join(directory, "haproxy.pid")) as f:
            os.kill(int(f.read()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "start":
        lb = LoadBalancer(sys.argv[2], [int(p) for p in sys.argv[3:]])
        print(f"export UPLOADER_TEST_LB={lb.start()}")
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        stop(sys.argv[2])
    else:
        sys.exit(__doc__)
