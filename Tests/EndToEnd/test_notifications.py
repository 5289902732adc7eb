"""Completion notifications end to end: a real HTTP receiver that refuses deliveries, goes away
and comes back; a real server that is killed with events queued; two replicas sharing the outbox
and the expiry. Every event arrives, signed, and duplicates carry the same id."""
import hashlib
import hmac
import json
import os
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest

from replicas import Cluster
from sessions_client import MiB, LocalFile, chunks

SECRET = "notify-test-secret"
PART = 5 * MiB


class Receiver:
    """An HTTP endpoint on a fixed port that records every delivery and refuses the first
    `refuse` of them with 503; it can be stopped and started again on the same port."""

    def __init__(self, refuse=0, port=0):
        self.deliveries = []
        self.refuse = refuse
        self.lock = threading.Lock()
        self.server = None
        self.port = port
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.deliveries.append((dict(self.headers), body))
                    refused = receiver.refuse > 0
                    receiver.refuse -= 1 if refused else 0
                self.send_response(503 if refused else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/uploads"

    def events(self):
        """Every delivery's body, parsed, after checking its signature and headers."""
        with self.lock:
            deliveries = list(self.deliveries)
        parsed = []
        for headers, body in deliveries:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Uploader-Signature"], expected), headers
            event = json.loads(body)
            assert headers["X-Uploader-Event-Id"] == event["id"]
            assert headers["Content-Type"] == "application/json"
            parsed.append(event)
        return parsed


def wait_for(condition, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def upload_session(v1, address, path, key, complete=True):
    pb, stubs = v1
    file = LocalFile(path, PART)
    stub = stubs.ResumableUploadsStub(grpc.insecure_channel(address))
    session = stub.CreateSession(pb.CreateSessionRequest(key=key, size=file.size, part_size=PART))
    for _ in stub.UploadParts(chunks(pb, session.id, file, {})):
        pass
    if complete:
        stub.CompleteSession(pb.CompleteSessionRequest(session_id=session.id, sha256=file.sha256,
                                                       part_sha256s=file.part_digests))
    return stub, session


def metric(server, name):
    url = re.search(r"metrics on (\S+)", server.output()).group(1)
    text = urllib.request.urlopen(url).read().decode()
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_every_event_arrives_signed_despite_refusals(v1, start_server, random_file, bucket):
    pb, _ = v1
    path, digest = random_file(6 * MiB)
    receiver = Receiver(refuse=2)
    try:
        server = start_server("--s3-bucket", bucket, "--notify-url", receiver.url, "--notify-secret", SECRET,
                              "--metrics-listen", "127.0.0.1:0")
        _, completed = upload_session(v1, server.address, path, "hooks/done.bin")
        stub, aborted = upload_session(v1, server.address, path, "hooks/gone.bin", complete=False)
        stub.AbortSession(pb.AbortSessionRequest(session_id=aborted.id))

        # Both refused once (503), then accepted: four deliveries.
        wait_for(lambda: len(receiver.events()) >= 4, "both events, each delivered twice")
        events = {e["id"]: e for e in receiver.events()}
        done = events[f"{completed.id}.completed"]
        assert done["type"] == "session.completed" and done["key"] == "hooks/done.bin"
        assert done["sha256"] == digest and done["size"] == 6 * MiB and done["etag"]
        assert done["session_id"] == completed.id and done["owner"] == "" and done["occurred_at"].endswith("Z")
        gone = events[f"{aborted.id}.aborted"]
        assert gone["type"] == "session.aborted" and gone["sha256"] is None and gone["etag"] is None

        # Two refusals, each retried: the same ids came again, nothing else.
        ids = [e["id"] for e in receiver.events()]
        assert sorted(ids) == sorted(2 * [f"{completed.id}.completed", f"{aborted.id}.aborted"])
        wait_for(lambda: metric(server, "uploader_notifications_queued") == 0, "an empty outbox")
        assert metric(server, "uploader_notification_deliveries_failed_total") == 2
        assert metric(server, "uploader_notifications_delivered_total") == 2
    finally:
        receiver.stop()


def test_events_survive_a_receiver_outage_and_a_killed_server(v1, start_server, random_file, bucket, tmp_path):
    path, digest = random_file(6 * MiB)
    receiver = Receiver()
    port = receiver.port
    receiver.stop()  # nothing listens: every delivery fails
    data = tmp_path / "notify-data"
    flags = ("--s3-bucket", bucket, "--notify-url", receiver.url, "--notify-secret", SECRET,
             "--metrics-listen", "127.0.0.1:0")
    server = start_server(*flags, data_dir=data)
    _, session = upload_session(v1, server.address, path, "hooks/outage.bin")
    wait_for(lambda: metric(server, "uploader_notification_deliveries_failed_total") >= 1, "a failed delivery")
    assert metric(server, "uploader_notifications_queued") == 1
    server.kill()  # kill -9 with the event queued

    receiver = Receiver(port=port)
    try:
        start_server(*flags, data_dir=data)
        wait_for(lambda: any(e["id"] == f"{session.id}.completed" for e in receiver.events()), "the event")
        event = next(e for e in receiver.events() if e["id"] == f"{session.id}.completed")
        assert event["sha256"] == digest and event["key"] == "hooks/outage.bin"
    finally:
        receiver.stop()


def test_a_notify_url_without_a_secret_is_refused(start_server):
    with pytest.raises(AssertionError, match="needs --notify-secret"):
        start_server("--notify-url", "http://127.0.0.1:9/hooks")


def test_two_replicas_deliver_each_event_once_and_expire_each_session_once(v1, cli, s3, s3_settings, tmp_path):
    """Two replicas on one PostgreSQL behind HAProxy share the outbox and the expiry: every
    completion and every expiry is delivered, none twice, and each idle session's multipart
    upload is aborted."""
    pb, stubs = v1
    receiver = Receiver()
    cluster = Cluster(tmp_path / "pair", s3, s3_settings, os.environ["UPLOADER_SERVER_BIN"], count=2,
                      extra=["--notify-url", receiver.url, "--notify-secret", SECRET, "--session-ttl", "4s"])
    try:
        cluster.start()
        root = tmp_path / "files"
        root.mkdir()
        for n in range(12):
            (root / f"f{n:02d}.txt").write_bytes(os.urandom(10_000 + n))
        cli("upload", str(root), "--key-prefix", "n/", "--no-progress", server=cluster.address)
        stub = stubs.ResumableUploadsStub(grpc.insecure_channel(cluster.address))
        idle = {stub.CreateSession(pb.CreateSessionRequest(key=f"idle/{n}", size=6 * MiB, part_size=PART)).id
                for n in range(6)}
        completed = {row[0] for row in cluster.sql("SELECT id FROM sessions WHERE state = 'completed'")}
        assert len(completed) == 12
        assert len(s3.list_multipart_uploads(Bucket=cluster.bucket).get("Uploads", [])) == 6

        expected = sorted([f"{id}.completed" for id in completed] + [f"{id}.expired" for id in idle])
        wait_for(lambda: len(receiver.events()) >= len(expected), "every event", timeout=90)
        time.sleep(2)  # a second delivery of any of them would come within the delivery interval
        assert sorted(e["id"] for e in receiver.events()) == expected
        states = {row[0]: row[1] for row in cluster.sql("SELECT id, state FROM sessions")}
        assert all(states[id] == "expired" for id in idle), states
        wait_for(lambda: not s3.list_multipart_uploads(Bucket=cluster.bucket).get("Uploads"),
                 "the idle sessions' multipart uploads aborted", timeout=60)
        delivered = 0
        for replica in cluster.replicas:
            assert replica.running(), replica.name
            text = urllib.request.urlopen(f"http://127.0.0.1:{replica.metrics_port}/metrics").read().decode()
            match = re.search(r"^uploader_notifications_delivered_total (\S+)$", text, re.M)
            delivered += float(match.group(1)) if match else 0
        assert delivered == len(expected)
    finally:
        receiver.stop()
        cluster.stop()
