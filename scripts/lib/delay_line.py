"""An emulated long link: a TCP proxy that adds one-way delay and a shared rate per direction.

The kernel here has no netem, so the delay is added in user space. Each connection's bytes are
delivered in order from one FIFO per direction; every chunk leaves the link `delay` seconds after
the link finished serialising it at `rate`. The rate is shared by every connection in the same
direction, as on a real link. Each FIFO holds at most `queue_limit` bytes (by default about
rate x delay, the link's capacity), so senders feel backpressure instead of filling our memory.

`in_flight_max` records, per connection, the most bytes that were on the emulated wire from the
client to the upstream at once: what the sender had outstanding beyond the kernel's buffers. A
receiver whose flow-control window is W can never have more than W there.

    link = DelayLine(("127.0.0.1", 8333), rtt_ms=100, mbit=1000)
    ... connect to 127.0.0.1:link.port ...
    link.close()

Run as a program it proxies until killed: `delay_line.py UPSTREAM_HOST:PORT RTT_MS MBIT`; it prints
the port it listens on.
"""
import collections
import socket
import sys
import threading
import time

CHUNK = 256 << 10


class Direction:
    """One direction of the link: a serialiser shared by every connection, then the delay."""

    def __init__(self, delay, rate):
        self.delay = delay
        self.rate = rate
        self.free_at = 0.0
        self.lock = threading.Lock()

    def arrival(self, size):
        """When `size` bytes handed to the link now reach the far end."""
        now = time.monotonic()
        if self.rate is None:
            return now + self.delay
        with self.lock:
            start = max(now, self.free_at)
            self.free_at = start + size / self.rate
            return self.free_at + self.delay


class Pipe:
    """Moves one connection's bytes in one direction through a `Direction`, in order."""

    def __init__(self, source, destination, direction, queue_limit, on_queued=None):
        self.source = source
        self.destination = destination
        self.direction = direction
        self.queue_limit = queue_limit
        self.on_queued = on_queued
        self.queue = collections.deque()
        self.queued = 0
        self.ended = False
        self.condition = threading.Condition()

    def start(self, on_end):
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._deliver, args=(on_end,), daemon=True).start()

    def _read(self):
        try:
            while True:
                data = self.source.recv(CHUNK)
                if not data:
                    break
                with self.condition:
                    while self.queued >= self.queue_limit and not self.ended:
                        self.condition.wait()
                    if self.ended:
                        break
                    self.queue.append((self.direction.arrival(len(data)), data))
                    self.queued += len(data)
                    if self.on_queued:
                        self.on_queued(self.queued)
                    self.condition.notify_all()
        except OSError:
            pass
        with self.condition:
            self.queue.append((None, b""))  # end of stream, delivered in order after the data
            self.condition.notify_all()

    def _deliver(self, on_end):
        failed = False
        try:
            while True:
                with self.condition:
                    while not self.queue:
                        self.condition.wait()
                    due, data = self.queue[0]
                if due is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.destination.sendall(data)
                with self.condition:
                    self.queue.popleft()
                    self.queued -= len(data)
                    self.condition.notify_all()
        except OSError:
            failed = True
        with self.condition:
            self.ended = True
            self.condition.notify_all()
        on_end(self.destination, failed)


class DelayLine:
    """Listens on 127.0.0.1 and forwards every connection to `upstream` through the link."""

    def __init__(self, upstream, rtt_ms, mbit=None, queue_limit=None):
        delay = rtt_ms / 2000.0
        rate = mbit * 1e6 / 8 if mbit else None
        self.upstream = upstream
        self.up = Direction(delay, rate)
        self.down = Direction(delay, rate)
        capacity = int(rate * delay) if rate else 64 << 20
        self.queue_limit = queue_limit or max(capacity, 4 * CHUNK)
        self.in_flight_max = []  # per connection, client to upstream
        self.lock = threading.Lock()
        self.sockets = []
        self.closed = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def most_in_flight(self):
        """The most bytes one connection ever had on the wire towards the upstream."""
        with self.lock:
            return max(self.in_flight_max, default=0)

    def close(self):
        self.closed = True
        _close(self.listener)
        with self.lock:
            for sock in self.sockets:
                _close(sock)

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.upstream)
            except OSError:
                if self.closed:
                    return
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.sockets += [client, upstream]
                index = len(self.in_flight_max)
                self.in_flight_max.append(0)

            def record(queued, index=index):
                if queued > self.in_flight_max[index]:
                    with self.lock:
                        self.in_flight_max[index] = max(self.in_flight_max[index], queued)

            connection = _Connection(client, upstream, self.lock, self.sockets)
            Pipe(client, upstream, self.up, self.queue_limit, record).start(connection.ended)
            Pipe(upstream, client, self.down, self.queue_limit).start(connection.ended)


class _Connection:
    """Closes both sockets once both directions have ended."""

    def __init__(self, client, upstream, lock, registry):
        self.sockets = (client, upstream)
        self.lock = lock
        self.registry = registry
        self.remaining = 2

    def ended(self, destination, failed):
        if failed:  # the far side is gone: reset both, as a broken link would
            for sock in self.sockets:
                _close(sock)
        else:  # half-close, as TCP would, and let the other direction drain
            try:
                destination.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        with self.lock:
            self.remaining -= 1
            if self.remaining == 0:
                for sock in self.sockets:
                    _close(sock)
                    if sock in self.registry:
                        self.registry.remove(sock)

def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    line = DelayLine((host, int(port)), float(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else None)
    print(line.port, flush=True)
    while True:
        time.sleep(3600)
