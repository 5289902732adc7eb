#!/usr/bin/env python3
"""A packet-level link for tests and the bench: the client runs in a network namespace that
reaches the host only through two TUN devices and this relay, which delays, rate-limits, drops
at random and blacks out IP packets. Unlike a TCP proxy, it sits below TCP, so the client's
congestion control sees the long round trip and every loss, and a blackout is silent: no FIN,
no RST, just nothing.

    host netns                                   client netns
    HOST_IP/32 on tun "ulh<N>"  <-- relay -->    CLIENT_IP/32 on tun "uln<N>"

Per direction: a serialiser at the rate, then the one-way delay (half the round trip), random
drop with probability LOSS, and a drop-tail queue of QUEUE_MS at the rate (default: one round
trip). Blackouts drop every packet in both directions.

Run as root (namespaces, TUN devices). As a program it sets the link up, prints one JSON line
(namespace, addresses), and then reads commands on standard input, one per line:
    blackout SECONDS     drop everything for SECONDS, starting now
    loss PERCENT         change the random loss of both directions
    stats                print a JSON line of counters
It tears the namespace down when its input ends or it is terminated. `PacketLink` below drives
it from Python (tests, bench).
"""
import argparse
import collections
import fcntl
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    """One way of the link: rate, delay, loss, a drop-tail queue; packets leave in order."""

    def __init__(self, mbit, delay, loss, queue_bytes, rng):
        self.bytes_per_second = mbit * 1e6 / 8
        self.delay = delay
        self.loss = loss
        self.queue_bytes = queue_bytes
        self.rng = rng
        self.free_at = 0.0  # when the serialiser finishes the packets it holds
        self.line = collections.deque()  # (release time, packet), release times non-decreasing
        self.counts = collections.Counter()

    def arrive(self, packet, now, dark):
        self.counts["packets"] += 1
        if dark:
            self.counts["dropped_blackout"] += 1
            return
        if self.loss > 0 and self.rng.random() < self.loss:
            self.counts["dropped_loss"] += 1
            return
        start = max(now, self.free_at)
        if (start - now) * self.bytes_per_second > self.queue_bytes:
            self.counts["dropped_queue"] += 1
            return
        self.free_at = start + len(packet) / self.bytes_per_second
        self.line.append((self.free_at + self.delay, packet))

    def due(self, now):
        while self.line and self.line[0][0] <= now:
            yield self.line.popleft()[1]

    def next_release(self):
        return self.line[0][0] if self.line else None


class Relay:
    def __init__(self, host_fd, client_fd, args):
        rng = random.Random(args.seed)
        delay = args.rtt_ms / 2000
        queue_bytes = args.mbit * 1e6 / 8 * (args.queue_ms if args.queue_ms is not None else args.rtt_ms) / 1000
        loss = args.loss / 100
        self.fds = {host_fd: client_fd, client_fd: host_fd}
        # Packets read from the client's device travel up (towards the host), and back.
        self.directions = {
            client_fd: Direction(args.mbit, delay, loss, queue_bytes, rng),
            host_fd: Direction(args.mbit, delay, loss, queue_bytes, rng),
        }
        self.up = self.directions[client_fd]
        self.down = self.directions[host_fd]
        self.dark_until = 0.0
        self.blackouts = 0
        self.schedule = args.blackout  # (every, for) or None
        self.started = time.monotonic()
        self.next_scheduled = self.started + self.schedule[0] if self.schedule else None

    def blackout(self, seconds, now):
        self.dark_until = max(self.dark_until, now + seconds)
        self.blackouts += 1

    def stats(self):
        return {"up": dict(self.up.counts), "down": dict(self.down.counts), "blackouts": self.blackouts,
                "dark": time.monotonic() < self.dark_until}

    def run(self, control):
        poll = select.epoll()
        for fd in self.fds:
            poll.register(fd, select.EPOLLIN)
        if control is not None:
            poll.register(control, select.EPOLLIN)
        pending = b""
        while True:
            now = time.monotonic()
            if self.next_scheduled is not None and now >= self.next_scheduled:
                self.blackout(self.schedule[1], now)
                self.next_scheduled += self.schedule[0] + self.schedule[1]
            releases = [r for r in (d.next_release() for d in self.directions.values()) if r is not None]
            if self.next_scheduled is not None:
                releases.append(self.next_scheduled)
            timeout = max(0.0, min(releases) - now) if releases else 1.0
            for fd, _ in poll.poll(timeout):
                if fd == control:
                    data = os.read(control, 4096)
                    if not data:
                        return
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        self.command(line.decode().split())
                    continue
                direction = self.directions[fd]
                dark = time.monotonic() < self.dark_until
                for _ in range(256):
                    try:
                        packet = os.read(fd, 65535)
                    except BlockingIOError:
                        break
                    direction.arrive(packet, time.monotonic(), dark)
            now = time.monotonic()
            for source, direction in self.directions.items():
                out = self.fds[source]
                for packet in direction.due(now):
                    try:
                        os.write(out, packet)
                    except (BlockingIOError, OSError):
                        direction.counts["dropped_write"] += 1

    def command(self, words):
        if not words:
            return
        if words[0] == "blackout":
            self.blackout(float(words[1]), time.monotonic())
            print(json.dumps({"blackout": float(words[1])}), flush=True)
        elif words[0] == "loss":
            for direction in self.directions.values():
                direction.loss = float(words[1]) / 100
            print(json.dumps({"loss": float(words[1])}), flush=True)
        elif words[0] == "stats":
            print(json.dumps(self.stats()), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {words[0]}"}), flush=True)


def set_up(index, namespace, congestion_control):
    host_dev, client_dev = f"ulh{index}", f"uln{index}"
    host_ip, client_ip = f"10.203.{index}.1", f"10.203.{index}.2"
    sh("ip", "netns", "add", namespace)
    host_fd, client_fd = open_tun(host_dev), open_tun(client_dev)
    sh("ip", "link", "set", client_dev, "netns", namespace)
    sh("ip", "addr", "add", f"{host_ip}/32", "dev", host_dev)
    sh("ip", "link", "set", host_dev, "up")
    sh("ip", "route", "add", f"{client_ip}/32", "dev", host_dev)
    inside = ("ip", "netns", "exec", namespace)
    sh(*inside, "ip", "link", "set", "lo", "up")
    sh(*inside, "ip", "addr", "add", f"{client_ip}/32", "dev", client_dev)
    sh(*inside, "ip", "link", "set", client_dev, "up")
    sh(*inside, "ip", "route", "add", f"{host_ip}/32", "dev", client_dev)
    if congestion_control:
        # A namespace may default only to an allowed algorithm (NOTES.md); allow it beside the rest.
        allowed = open("/proc/sys/net/ipv4/tcp_allowed_congestion_control").read().split()
        if congestion_control not in allowed:
            sh("sysctl", "-q", "-w", f"net.ipv4.tcp_allowed_congestion_control={' '.join(allowed + [congestion_control])}")
        sh(*inside, "sysctl", "-q", "-w", f"net.ipv4.tcp_congestion_control={congestion_control}")
    return host_fd, client_fd, host_ip, client_ip


def tear_down(index, namespace):
    sh("ip", "netns", "delete", namespace, check=False)
    sh("ip", "link", "delete", f"ulh{index}", check=False)


def parse_blackout(text):
    every, length = text.split(":")
    return float(every), float(length)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=int, default=os.getpid() % 200 + 20, help="names ulh/uln<N>, 10.203.<N>.0")
    parser.add_argument("--rtt-ms", type=float, default=100)
    parser.add_argument("--mbit", type=float, default=100)
    parser.add_argument("--loss", type=float, default=0, help="percent of packets dropped, each way")
    parser.add_argument("--queue-ms", type=float, default=None, help="drop-tail queue (default: one round trip)")
    parser.add_argument("--blackout", type=parse_blackout, default=None, help="EVERY_S:FOR_S, repeating")
    parser.add_argument("--congestion-control", default="cubic", help="the namespace's default ('' keeps the host's)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    namespace = f"uploader-link-{args.index}"
    tear_down(args.index, namespace)  # left over from a run that was killed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        host_fd, client_fd, host_ip, client_ip = set_up(args.index, namespace, args.congestion_control)
        print(json.dumps({"namespace": namespace, "host": host_ip, "client": client_ip}), flush=True)
        Relay(host_fd, client_fd, args).run(sys.stdin.fileno())
    finally:
        tear_down(args.index, namespace)


class Forwarder:
    """Accepts on the host side of the link and relays each connection to `target` on loopback:
    services bound to 127.0.0.1 (SeaweedFS) are not reachable from the namespace. It sits after
    the link, so the client's TCP still sees the emulated path."""

    def __init__(self, host, target):
        self.listener = socket.create_server((host, 0))
        self.address = f"{host}:{self.listener.getsockname()[1]}"
        self.target = target
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(1 << 18):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


class PacketLink:
    """Runs the relay as a child process: `with PacketLink(rtt_ms=100, mbit=100, loss=1) as link:`
    then prefix client commands with `link.inside` and address the host as `link.host`."""

    def __init__(self, rtt_ms, mbit, loss=0.0, blackout=None, congestion_control="cubic", queue_ms=None,
                 index=None, seed=None):
        command = [sys.executable, os.path.abspath(__file__), "--rtt-ms", str(rtt_ms), "--mbit", str(mbit),
                   "--loss", str(loss), "--congestion-control", congestion_control]
        if blackout:
            command += ["--blackout", f"{blackout[0]}:{blackout[1]}"]
        if queue_ms is not None:
            command += ["--queue-ms", str(queue_ms)]
        if index is not None:
            command += ["--index", str(index)]
        if seed is not None:
            command += ["--seed", str(seed)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f"the packet link did not start (exit {self.process.returncode}); it needs root")
        ready = json.loads(line)
        self.namespace, self.host, self.client = ready["namespace"], ready["host"], ready["client"]
        self.inside = ["ip", "netns", "exec", self.namespace]
        self.forwarders = []

    def _ask(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def blackout(self, seconds):
        """Drops every packet, both ways and silently, for `seconds` from now."""
        return self._ask(f"blackout {seconds}")

    def set_loss(self, percent):
        return self._ask(f"loss {percent}")

    def stats(self):
        return self._ask("stats")

    def forward(self, host, port):
        """An address on the host side of the link that relays to `host:port` (loopback)."""
        forwarder = Forwarder(self.host, (host, int(port)))
        self.forwarders.append(forwarder)
        return forwarder.address

    def close(self):
        for forwarder in self.forwarders:
            forwarder.close()
        self.forwarders = []
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    main()
