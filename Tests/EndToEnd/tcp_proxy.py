"""A TCP proxy that can be taken down and brought back, to make S3 unreachable on demand."""
import socket
import struct
import threading


class TCPProxy:
    """Forwards 127.0.0.1:port to upstream. `down()`/`up()` make the upstream unreachable, in one
    of two ways: `down("refuse")` closes the listener, so connecting fails at once (ECONNREFUSED,
    nothing listens), and `down("reset")` keeps listening but resets every connection (RST), open
    ones and new ones;
    `cut_between=(lo, hi)` cuts every connection after a random lo..hi bytes from the client;
    `corrupt_after=n` flips the byte at offset n of all client-to-upstream bytes, on whichever
    connection carries it (clients spread streams over several); `hold()` keeps every
    answer from upstream until `release()` (a store that accepts requests and stalls). `bytes_up`
    counts client-to-upstream bytes, `refused` the connections turned away while down, and
    `corrupted_at` where the byte was flipped, once it was."""

    def __init__(self, upstream_host, upstream_port, cut_between=None, corrupt_after=None, seed=None):
        import random
        self.upstream = (upstream_host, upstream_port)
        self.cut_between = cut_between
        self.corrupt_after = corrupt_after
        self.random = random.Random(seed)
        self.bytes_up = 0
        self.cuts = 0
        self.refused = 0
        self.corrupted_at = None
        self.port = 0
        self.is_down = False
        self.connections = []
        self.lock = threading.Lock()
        self.closed = False
        self.flowing = threading.Event()
        self.flowing.set()
        self._listen()

    def _listen(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def down(self, mode="reset"):
        """Resets every open connection, and until up() either resets new ones ("reset") or has no
        listener at all ("refuse")."""
        if mode not in ("reset", "refuse"):
            raise ValueError(f"unknown outage mode {mode!r}")
        with self.lock:
            self.is_down = mode
            for sock in self.connections:
                _reset(sock)
            self.connections.clear()
            if mode == "refuse":
                _close(self.listener)

    def up(self):
        with self.lock:
            if self.is_down == "refuse" and not self.closed:
                self._listen()
            self.is_down = False

    def hold(self):
        """Answers from upstream wait until release()."""
        self.flowing.clear()

    def release(self):
        self.flowing.set()

    def close(self):
        self.closed = True
        self.release()
        self.down()
        _close(self.listener)

    def _accept(self, listener):
        while not self.closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_down:
                    self.refused += 1
                    _reset(client)
                    continue
                try:
                    upstream = socket.create_connection(self.upstream)
                except OSError:
                    _close(client)
                    continue
                self.connections += [client, upstream]
                budget = self.random.randint(*self.cut_between) if self.cut_between else None
            threading.Thread(target=self._pump_up, args=(client, upstream, budget), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client, self.flowing), daemon=True).start()

    def _pump_up(self, source, destination, budget):
        sent = 0
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if budget is not None and sent + len(data) > budget:
                    data = data[:max(0, budget - sent)]
                    destination.sendall(self._counted(data))
                    with self.lock:
                        self.cuts += 1
                    break
                destination.sendall(self._counted(data))
                sent += len(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(destination)

    def _counted(self, data):
        """Counts `data` as sent upstream, flipping the byte at `corrupt_after` if it is in it."""
        with self.lock:
            base = self.bytes_up
            self.bytes_up += len(data)
            at = self.corrupt_after
            if at is not None and self.corrupted_at is None and base <= at < base + len(data):
                index = at - base
                data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1:]
                self.corrupted_at = at
        return data


def _pump(source, destination, flowing=None):
    try:
        while True:
            data = source.recv(1 << 16)
            if not data:
                break
            if flowing is not None:
                flowing.wait()
            destination.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(destination)


def _reset(sock):
    """Closes `sock` with a TCP RST rather than a FIN. SHUT_RD first: it sends nothing, but wakes
    a pump thread blocked in recv on it, which would otherwise keep the socket (and the
    connection) alive after close."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
