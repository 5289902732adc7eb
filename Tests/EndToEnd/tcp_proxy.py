"""A TCP proxy that can be taken down and brought back, to make S3 unreachable on demand."""
import socket
import threading


class TCPProxy:
    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.is_down = False
        self.connections = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def down(self):
        """Cuts every open connection and refuses new ones until up()."""
        with self.lock:
            self.is_down = True
            for sock in self.connections:
                _close(sock)
            self.connections.clear()

    def up(self):
        with self.lock:
            self.is_down = False

    def close(self):
        self.closed = True
        self.down()
        _close(self.listener)

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_down:
                    _close(client)
                    continue
                try:
                    upstream = socket.create_connection(self.upstream)
                except OSError:
                    _close(client)
                    continue
                self.connections += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def _pump(source, destination):
    try:
        while True:
            data = source.recv(1 << 16)
            if not data:
                break
            destination.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(destination)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
