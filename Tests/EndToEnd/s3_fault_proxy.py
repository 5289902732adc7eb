"""An HTTP proxy in front of a real S3 server that answers some requests itself, badly: S3's own
error documents (503 SlowDown, 500 InternalError, 403 AccessDenied) for requests that match,
as many times as asked. Everything else goes to the real server untouched (the Host header
too, so SigV4 signatures still hold)."""
import http.client
import http.server
import re
import threading

ERRORS = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    403: ("AccessDenied", "Access Denied"),
}


class S3FaultProxy:
    """`fail(method, pattern, status, times)` answers the next `times` requests whose method is
    `method` and whose path and query match the regular expression `pattern` with `status`.
    `failed` counts the answers given, per status."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.rules = []
        self.failed = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status = proxy._take(self.command, self.path)
                if status is not None:
                    code, message = ERRORS[status]
                    document = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                                f"<Message>{message}</Message><RequestId>fault</RequestId></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(document)))
                    self.end_headers()
                    self.wfile.write(document)
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response(response.status, response.reason)
                    for name, value in response.getheaders():
                        if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def fail(self, method, pattern, status, times):
        with self.lock:
            self.rules.append([method, re.compile(pattern), status, times])

    def _take(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule[0] == method and rule[1].search(path) and rule[3] > 0:
                    rule[3] -= 1
                    self.failed[rule[2]] = self.failed.get(rule[2], 0) + 1
                    return rule[2]
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
