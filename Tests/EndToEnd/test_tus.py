"""The tus 1.0 door against real peers: tuspy (the tus project's Python client, which no one here
wrote) uploads and resumes through kill -9 and through HAProxy over three replicas; a battery of
raw HTTP requests drives one case per status the protocol names. SeaweedFS behind, as always."""
import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from conftest import object_sha256
from replicas import Cluster, free_port

MiB = 1 << 20
VERSION = {"Tus-Resumable": "1.0.0"}


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Tus:
    """Raw requests to one tus endpoint, over a fresh connection each."""

    def __init__(self, url, token=None):
        self.url = url
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port, self.root = parsed.hostname, parsed.port, parsed.path
        self.token = token

    def request(self, method, path=None, headers=None, body=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        connection.request(method, path or self.root, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def create(self, length, key, extra=None, body=None):
        headers = {**VERSION, "Upload-Length": str(length), "Upload-Metadata": f"key {b64(key)}", **(extra or {})}
        if body is not None:
            headers["Content-Type"] = "application/offset+octet-stream"
        status, headers, text = self.request("POST", headers=headers, body=body)
        assert status == 201, (status, text)
        return urllib.parse.urlsplit(headers["location"]).path, headers

    def patch(self, path, offset, body, extra=None):
        headers = {**VERSION, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                   **(extra or {})}
        return self.request("PATCH", path, headers=headers, body=body)

    def offset(self, path):
        status, headers, _ = self.request("HEAD", path, headers=VERSION)
        assert status == 200, status
        return int(headers["upload-offset"])


@pytest.fixture
def tus_server(start_server, bucket):
    server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0", "--http-allowed-origins",
                          "https://app.example", "--max-object-size", "64MiB")
    return server, Tus(server.tus_url)


def test_tuspy_uploads_with_a_checksum_on_every_patch(tus_server, random_file, s3, bucket):
    server, _ = tus_server
    path, digest = random_file(20 * MiB + 123)
    uploader = tus_client.TusClient(server.tus_url).uploader(
        str(path), chunk_size=3 * MiB, upload_checksum=True,
        metadata={"filename": "tuspy/checked.bin", "filetype": "application/x-test", "camera": "north-7"})
    uploader.upload()
    assert uploader.offset == 20 * MiB + 123
    assert object_sha256(s3, bucket, "tuspy/checked.bin") == digest
    head = s3.head_object(Bucket=bucket, Key="tuspy/checked.bin")
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"camera": "north-7"}


def test_tuspy_resumes_after_kill_9_from_the_servers_offset(start_server, bucket, random_file, s3, tmp_path, cli):
    port = free_port()
    data = tmp_path / "data"
    args = ("--s3-bucket", bucket, "--http-listen", f"127.0.0.1:{port}")
    server = start_server(*args, data_dir=data)
    path, digest = random_file(24 * MiB)
    uploader = tus_client.TusClient(server.tus_url).uploader(
        str(path), chunk_size=MiB, metadata={"filename": "tuspy/killed.bin"}, retries=0)
    for _ in range(6):
        uploader.upload_chunk()
    acknowledged = uploader.offset
    assert acknowledged == 6 * MiB
    # Kill it while the next PATCH is on its way.
    failure = []

    def send_more():
        try:
            while True:
                uploader.upload_chunk()
        except Exception as error:  # the server went away: what a real client meets
            failure.append(error)

    sender = threading.Thread(target=send_more)
    sender.start()
    time.sleep(0.05)
    server.kill()
    sender.join(60)
    assert failure, "the client never noticed the server was killed"

    restarted = start_server(*args, data_dir=data)
    resumed = tus_client.TusClient(restarted.tus_url).uploader(str(path), url=uploader.url, chunk_size=4 * MiB)
    assert resumed.offset >= acknowledged, "bytes acknowledged before the kill were lost"
    assert resumed.offset < 24 * MiB
    resumed.upload()
    assert object_sha256(s3, bucket, "tuspy/killed.bin") == digest
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # A tus upload is a session like any other: the CLI's status sees it.
    session_id = resumed.url.rstrip("/").rsplit("/", 1)[-1]
    status = cli("status", session_id, "--remote", "--json", server=restarted.address)
    described = json.loads(status.stdout)
    assert "tuspy/killed.bin" in json.dumps(described) and "completed" in json.dumps(described), described


def test_tuspy_through_haproxy_over_three_replicas_with_one_killed(s3, s3_settings, random_file, tmp_path):
    cluster = Cluster(tmp_path / "cluster", s3, s3_settings, os.environ["UPLOADER_SERVER_BIN"], count=3, tus=True)
    try:
        cluster.start()
        path, digest = random_file(48 * MiB)
        uploader = tus_client.TusClient(cluster.tus_url).uploader(
            str(path), chunk_size=8 * MiB, upload_checksum=True, retries=10, retry_delay=1,
            metadata={"filename": "tus/replicated.bin"})
        for _ in range(2):
            uploader.upload_chunk()
        cluster.replicas[1].kill()
        uploader.upload()
        assert uploader.offset == 48 * MiB
        assert object_sha256(s3, cluster.bucket, "tus/replicated.bin") == digest
        holders = cluster.sql("SELECT DISTINCT holder_node FROM parts")
        assert len(holders) >= 2, f"round-robin should spread the PATCHes over the replicas: {holders}"
        rows = cluster.sql("SELECT state, origin FROM sessions")
        assert rows == [["completed", "tus"]], rows
        assert s3.list_multipart_uploads(Bucket=cluster.bucket).get("Uploads", []) == []
    except Exception:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()


def test_every_status_the_protocol_names(start_server, bucket, s3, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"{p} {hashlib.sha256(t.encode()).hexdigest()}\n"
                              for p, t in {"alice": "alice-token", "bob": "bob-token"}.items()))
    server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0", "--auth-tokens", str(tokens),
                          "--http-allowed-origins", "https://app.example", "--max-object-size", "32MiB")
    tus = Tus(server.tus_url, token="alice-token")

    # Discovery: no Tus-Resumable needed.
    status, headers, _ = tus.request("OPTIONS")
    assert status == 204
    assert headers["tus-version"] == "1.0.0"
    assert set(headers["tus-extension"].split(",")) >= {
        "creation", "creation-with-upload", "creation-defer-length", "termination", "expiration", "checksum"}
    assert headers["tus-max-size"] == str(32 * MiB)
    assert headers["tus-checksum-algorithm"] == "sha1,sha256"

    # CORS: an allowed origin's preflight is answered; another origin gets nothing to go on.
    status, headers, _ = tus.request("OPTIONS", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PATCH"})
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert "PATCH" in headers["access-control-allow-methods"] and "Upload-Offset" in headers["access-control-allow-headers"]
    status, headers, _ = tus.request("OPTIONS", headers={"Origin": "https://evil.example",
                                                         "Access-Control-Request-Method": "PATCH"})
    assert "access-control-allow-origin" not in headers

    # 412: another protocol version, or none.
    for extra in [{}, {"Tus-Resumable": "0.2.2"}]:
        status, headers, _ = tus.request("POST", headers={**extra, "Upload-Length": "10"})
        assert status == 412 and headers["tus-version"] == "1.0.0"

    # 401 without a token or with an unknown one.
    status, headers, text = Tus(server.tus_url).request("POST", headers={**VERSION, "Upload-Length": "1"})
    assert status == 401 and headers["www-authenticate"] == "Bearer" and b"Authorization: Bearer" in text
    status, _, _ = Tus(server.tus_url, token="nope").request("POST", headers={**VERSION, "Upload-Length": "1"})
    assert status == 401

    # 400: no length; no name; a bad metadata header. 413 over the size limit.
    for extra, code in [({"Upload-Metadata": f"key {b64('a')}"}, "INVALID_REQUEST"),
                        ({"Upload-Length": "5"}, "INVALID_KEY"),
                        ({"Upload-Length": "5", "Upload-Metadata": "key ***"}, "INVALID_REQUEST"),
                        ({"Upload-Length": "5", "Upload-Metadata": f"key {b64('../x')}"}, "INVALID_KEY")]:
        status, headers, text = tus.request("POST", headers={**VERSION, **extra})
        assert status == 400 and headers["uploader-error-code"] == code, (extra, status, text)
    status, headers, _ = tus.request("POST", headers={
        **VERSION, "Upload-Length": str(32 * MiB + 1), "Upload-Metadata": f"key {b64('big')}"})
    assert status == 413 and headers["uploader-error-code"] == "OBJECT_TOO_LARGE"

    body = os.urandom(5 * MiB + 17)
    upload, headers = tus.create(len(body), "battery/a.bin", extra={"Upload-Metadata": f"key {b64('battery/a.bin')},flag"})
    assert "upload-expires" in headers and headers["upload-expires"].endswith(" GMT")
    status, headers, _ = tus.request("HEAD", upload, headers=VERSION)
    assert status == 200 and headers["upload-offset"] == "0" and headers["upload-length"] == str(len(body))
    assert headers["cache-control"] == "no-store"
    assert "flag" in headers["upload-metadata"].split(",")

    # 415 for a body of another type; 400 without Upload-Offset; 409 at another offset.
    status, _, _ = tus.request("PATCH", upload, headers={**VERSION, "Upload-Offset": "0",
                                                          "Content-Type": "application/octet-stream"}, body=body[:10])
    assert status == 415
    status, _, _ = tus.request("PATCH", upload, headers={**VERSION, "Content-Type": "application/offset+octet-stream"},
                               body=body[:10])
    assert status == 400
    status, headers, _ = tus.patch(upload, 7, body[7:20])
    assert status == 409 and headers["uploader-error-code"] == "OFFSET_GAP"

    # The checksum: an unknown algorithm is 400, a wrong digest 460, and nothing of it is kept.
    status, _, text = tus.patch(upload, 0, body[:MiB], {"Upload-Checksum": "md5 " + b64("x" * 16)})
    assert status == 400 and b"not supported" in text
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    status, headers, _ = tus.patch(upload, 0, body[:MiB], {"Upload-Checksum": f"sha1 {wrong}"})
    assert status == 460 and headers["uploader-error-code"] == "DIGEST_MISMATCH"
    assert tus.offset(upload) == 0
    assert not os.listdir(server.data_dir / "spool" / "incoming"), "a refused body was left in the spool"
    right = base64.b64encode(hashlib.sha256(body[:MiB]).digest()).decode()
    status, headers, _ = tus.patch(upload, 0, body[:MiB], {"Upload-Checksum": f"sha256 {right}"})
    assert status == 204 and headers["upload-offset"] == str(MiB)

    # 404 for another principal's upload, and for one that never was.
    bob = Tus(server.tus_url, token="bob-token")
    status, _, _ = bob.request("HEAD", upload, headers=VERSION)
    assert status == 404
    status, _, _ = bob.patch(upload, MiB, body[MiB:2 * MiB])
    assert status == 404
    status, _, _ = tus.request("HEAD", tus.root + "0123456789abcdef0123456789abcdef", headers=VERSION)
    assert status == 404

    # 413 for a body past the length; then the rest completes the object.
    status, _, _ = tus.patch(upload, MiB, body[MiB:] + b"x")
    assert status == 413
    status, headers, _ = tus.patch(upload, MiB, body[MiB:])
    assert status == 204 and headers["upload-offset"] == str(len(body))
    assert s3.get_object(Bucket=bucket, Key="battery/a.bin")["Body"].read() == body
    status, headers, _ = tus.request("HEAD", upload, headers=VERSION)
    assert status == 200 and headers["upload-offset"] == str(len(body)) and "upload-expires" not in headers

    # creation-with-upload, then termination: 204, and the upload is gone (410).
    upload, headers = tus.create(3 * MiB, "battery/terminated.bin", body=body[:MiB])
    assert headers["upload-offset"] == str(MiB)
    status, _, _ = tus.request("DELETE", upload, headers=VERSION)
    assert status == 204
    for method in ["HEAD", "PATCH"]:
        status, _, _ = tus.request(method, upload, headers={
            **VERSION, "Upload-Offset": str(MiB), "Content-Type": "application/offset+octet-stream"},
            body=b"" if method == "PATCH" else None)
        assert status == 410, method
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [] or _eventually_no_uploads(s3, bucket)

    # creation-defer-length: the length comes with the PATCH that carries the last byte.
    status, headers, _ = tus.request("POST", headers={
        **VERSION, "Upload-Defer-Length": "1", "Upload-Metadata": f"filename {b64('battery/deferred.txt')}"})
    assert status == 201
    deferred = urllib.parse.urlsplit(headers["location"]).path
    status, headers, _ = tus.request("HEAD", deferred, headers=VERSION)
    assert headers["upload-defer-length"] == "1" and "upload-length" not in headers
    status, _, _ = tus.patch(deferred, 0, b"hello, ")
    assert status == 204
    status, headers, _ = tus.patch(deferred, 7, b"world", {"Upload-Length": "12"})
    assert status == 204 and headers["upload-offset"] == "12"
    assert s3.get_object(Bucket=bucket, Key="battery/deferred.txt")["Body"].read() == b"hello, world"

    # An empty object completes on its first PATCH.
    empty, _ = tus.create(0, "battery/empty")
    status, headers, _ = tus.patch(empty, 0, b"")
    assert status == 204 and headers["upload-offset"] == "0"
    assert s3.get_object(Bucket=bucket, Key="battery/empty")["Body"].read() == b""


def _eventually_no_uploads(s3, bucket):
    deadline = time.time() + 30
    while time.time() < deadline:
        if not s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            return True
        time.sleep(0.2)
    return False


def test_the_http_listener_stays_on_loopback_without_tokens(start_server, bucket):
    with pytest.raises(AssertionError) as refused:
        start_server("--s3-bucket", bucket, "--http-listen", "0.0.0.0:0")
    assert "refusing to serve tus on 0.0.0.0 without authentication" in str(refused.value)


def test_tus_over_tls_with_verified_objects(start_server, bucket, s3, tmp_path):
    """TLS from the gRPC flags, and --verify-objects: a tus client gives no whole-object digest, so
    the one read back becomes the session's, and the object carries it."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "server.key", "-out", "server.pem", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=tmp_path, check=True, capture_output=True)
    server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0", "--tls-cert",
                          str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.key"), "--verify-objects")
    url = server.tus_url
    assert url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(tmp_path / "server.pem"))
    parsed = urllib.parse.urlsplit(url)

    def request(method, path, headers, body=None):
        connection = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=context, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}

    body = os.urandom(3 * MiB + 5)
    status, headers = request("POST", parsed.path, {
        **VERSION, "Upload-Length": str(len(body)), "Upload-Metadata": f"key {b64('tls/verified.bin')}",
        "Content-Type": "application/offset+octet-stream"}, body)
    assert status == 201 and headers["upload-offset"] == str(len(body))
    assert headers["location"].startswith("https://")
    digest = hashlib.sha256(body).hexdigest()
    assert s3.head_object(Bucket=bucket, Key="tls/verified.bin")["Metadata"].get("sha256") == digest
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        plain = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        plain.request("OPTIONS", parsed.path)
        plain.getresponse()


def test_expect_100_continue_is_asked_for_only_when_the_body_is_wanted(tus_server):
    """curl and others send `Expect: 100-continue` before a large body: the server asks for the
    body only when it will keep it, and answers a refusal at once without it."""
    _, tus = tus_server
    upload, _ = tus.create(10, "continue/a.bin")

    def exchange(offset, body):
        with socket.create_connection((tus.host, tus.port), timeout=30) as connection:
            connection.sendall((f"PATCH {upload} HTTP/1.1\r\nHost: {tus.host}\r\nTus-Resumable: 1.0.0\r\n"
                                f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                                f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode())
            first = connection.recv(65536).decode(errors="replace")
            if not first.startswith("HTTP/1.1 100"):
                return first, None
            connection.sendall(body)
            rest = b""
            while b"\r\n\r\n" not in rest:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return first, rest.decode(errors="replace")

    first, _ = exchange(3, b"xxxxxxx")
    assert first.startswith("HTTP/1.1 409"), first
    assert "connection: close" in first.lower()
    first, final = exchange(0, b"0123456789")
    assert first.startswith("HTTP/1.1 100"), first
    assert final.startswith("HTTP/1.1 204") and "upload-offset: 10" in final.lower(), final
    assert tus.offset(upload) == 10


def test_a_client_that_vanishes_mid_patch_keeps_what_arrived_and_continues_from_head(tus_server, s3, bucket):
    """A browser tab closed mid-PATCH: the connection ends halfway through the body. What the
    server received is made durable anyway, HEAD says how much, and the upload goes on from there."""
    _, tus = tus_server
    body = os.urandom(4 * MiB)
    upload, _ = tus.create(len(body), "vanished/a.bin")
    with socket.create_connection((tus.host, tus.port), timeout=30) as connection:
        connection.sendall((f"PATCH {upload} HTTP/1.1\r\nHost: {tus.host}\r\nTus-Resumable: 1.0.0\r\n"
                            f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                            f"Content-Length: {len(body)}\r\n\r\n").encode())
        connection.sendall(body[:5 * MiB // 2])
    deadline = time.time() + 30
    offset = tus.offset(upload)
    while offset == 0 and time.time() < deadline:  # the server notices the close on its own time
        time.sleep(0.1)
        offset = tus.offset(upload)
    assert MiB <= offset <= 5 * MiB // 2, offset
    status, headers, _ = tus.patch(upload, offset, body[offset:])
    assert status == 204 and headers["upload-offset"] == str(len(body))
    assert s3.get_object(Bucket=bucket, Key="vanished/a.bin")["Body"].read() == body


def test_a_patch_past_the_stream_limit_is_told_to_retry_and_loses_nothing(start_server, bucket, s3):
    """Each PATCH with a body takes a place among --max-streams, as a gRPC upload stream does. With
    the one place held by a PATCH still sending, another is refused with 429, Retry-After and the
    stable code, nothing of it kept; once the first ends, the refused PATCH goes through."""
    server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0", "--max-streams", "1")
    tus = Tus(server.tus_url)
    first, second = os.urandom(2 * MiB), os.urandom(MiB)
    held, _ = tus.create(len(first), "limit/held.bin")
    refused, _ = tus.create(len(second), "limit/refused.bin")
    with socket.create_connection((tus.host, tus.port), timeout=30) as connection:
        # The server asks for the body (100 Continue) only once the PATCH holds its place.
        connection.sendall((f"PATCH {held} HTTP/1.1\r\nHost: {tus.host}\r\nTus-Resumable: 1.0.0\r\n"
                            f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                            f"Expect: 100-continue\r\nContent-Length: {len(first)}\r\n\r\n").encode())
        reply = connection.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 100"), reply
        connection.sendall(first[:MiB // 2])
        status, headers, text = tus.patch(refused, 0, second)
        assert status == 429, (status, text)
        assert headers["uploader-error-code"] == "TOO_MANY_STREAMS" and headers["retry-after"] == "1"
        assert tus.offset(refused) == 0
        connection.sendall(first[MiB // 2:])
        reply = connection.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 204"), reply
    status, headers, text = tus.patch(refused, 0, second)
    assert status == 204 and headers["upload-offset"] == str(len(second)), (status, text)
    assert s3.get_object(Bucket=bucket, Key="limit/held.bin")["Body"].read() == first
    assert s3.get_object(Bucket=bucket, Key="limit/refused.bin")["Body"].read() == second


def test_a_checksummed_body_that_fills_the_disk_is_refused_and_leaves_nothing(start_server, bucket, s3, tmp_path):
    """A checksummed PATCH is staged in the spool while it is hashed. On a real full disk (a tmpfs
    under the spool, ENOSPC from the kernel) it is refused with 507 and SPOOL_FULL, the staged
    bytes are removed so the disk is free again, the offset has not moved, and the same bytes in
    smaller PATCHes complete the object."""
    data = tmp_path / "data"
    spool = data / "spool"
    spool.mkdir(parents=True)
    # Root is needed to mount; without it this test fails, it does not skip.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(spool)], check=True)
    try:
        server = start_server("--s3-bucket", bucket, "--http-listen", "127.0.0.1:0", data_dir=data)
        tus = Tus(server.tus_url)
        # 18 MiB: the disk fills about 2 MiB before the body's end, and a refused body's rest of
        # up to 4 MiB is read and dropped so the client sees the answer (a larger rest ends the
        # connection, and the client learns the offset from HEAD instead).
        body = os.urandom(18 * MiB)
        upload, _ = tus.create(len(body), "full/tus.bin")

        def checksum(piece):
            return {"Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode()}

        status, headers, text = tus.patch(upload, 0, body, checksum(body))
        assert status == 507 and headers["uploader-error-code"] == "SPOOL_FULL", (status, text)
        assert tus.offset(upload) == 0
        assert not os.listdir(spool / "incoming"), "the refused body was left in the spool"
        stats = os.statvfs(spool)
        assert stats.f_bavail * stats.f_frsize > 15 * MiB, "the refused body's bytes still fill the disk"
        offset = 0
        while offset < len(body):
            piece = body[offset:offset + 4 * MiB]
            status, headers, text = tus.patch(upload, offset, piece, checksum(piece))
            assert status == 204, (status, text)
            offset = int(headers["upload-offset"])
        assert s3.get_object(Bucket=bucket, Key="full/tus.bin")["Body"].read() == body
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        subprocess.run(["umount", "-l", str(spool)], check=False)
