"""S3 that answers badly, through an HTTP proxy in front of SeaweedFS that serves S3's own error
documents: 503 SlowDown and 500 InternalError are waited out and the object is whole; a 403
mid-run stops the upload with a message that says so, and the server stays up. And S3 over HTTPS
with a private CA."""
import json
import socket
import subprocess
import time

import pytest

from conftest import object_sha256
from replicas import free_port  # noqa: I001 (first: it puts scripts/lib on the path)
from haproxy import binary as haproxy_binary
from s3_fault_proxy import S3FaultProxy

MiB = 1 << 20


def proxy_for(s3_settings):
    host, port = s3_settings["endpoint"].removeprefix("http://").rsplit(":", 1)
    return S3FaultProxy(host, int(port))


def test_slow_down_and_internal_errors_are_retried_and_the_object_is_whole(cli, start_server, random_file, s3,
                                                                          bucket, s3_settings):
    path, digest = random_file(16 * MiB)
    proxy = proxy_for(s3_settings)
    try:
        server = start_server("--s3-bucket", bucket, "--s3-max-attempts", "5", s3_endpoint=proxy.endpoint)
        proxy.fail("PUT", r"partNumber=", 503, times=3)
        proxy.fail("POST", r"\?uploadId=", 500, times=2)  # CompleteMultipartUpload
        result = cli("upload", str(path), "--key", "bad/slow.bin", "--part-size", "5MiB", "--no-progress", "--json",
                     server=server.address)
        assert json.loads(result.stdout)["state"] == "completed"
        assert proxy.failed == {503: 3, 500: 2}, proxy.failed  # every fault was served, and survived
        assert object_sha256(s3, bucket, "bad/slow.bin") == digest
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        proxy.close()


def test_access_denied_mid_run_stops_the_upload_with_a_message(cli, start_server, random_file, bucket, s3_settings):
    path, _ = random_file(16 * MiB)
    proxy = proxy_for(s3_settings)
    try:
        server = start_server("--s3-bucket", bucket, s3_endpoint=proxy.endpoint)
        proxy.fail("PUT", r"partNumber=", 403, times=1000)  # the credentials lost the right to write
        result = cli("upload", str(path), "--key", "bad/denied.bin", "--part-size", "5MiB", "--no-progress",
                     server=server.address, check=False)
        assert result.returncode == 1, result.stderr
        assert "AccessDenied" in result.stderr and "refused" in result.stderr, result.stderr
        assert proxy.failed.get(403, 0) >= 1
        # The server is still up and answers.
        assert cli("status", server=server.address).returncode == 0
        assert server.process.poll() is None
    finally:
        proxy.close()


def test_https_to_s3_with_a_private_ca(cli, start_server, random_file, s3, bucket, s3_settings, tmp_path,
                                       monkeypatch):
    """S3 over HTTPS, as a private S3-compatible service serves it: HAProxy terminates TLS with a
    certificate from a CA of the test's own in front of SeaweedFS. AWS_CA_BUNDLE trusts it;
    without it the server refuses to start and says why."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign")
    (tmp_path / "s3.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("req", *ec, "-keyout", "s3.key", "-out", "s3.csr", "-subj", "/CN=s3")
    openssl("x509", "-req", "-in", "s3.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "s3.pem",
            "-days", "2", "-extfile", "s3.ext")
    (tmp_path / "s3-combined.pem").write_text((tmp_path / "s3.pem").read_text() + (tmp_path / "s3.key").read_text())
    port = free_port()
    backend = s3_settings["endpoint"].removeprefix("http://")
    (tmp_path / "haproxy.cfg").write_text(f"""\
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s

frontend s3_tls
    bind 127.0.0.1:{port} ssl crt {tmp_path / "s3-combined.pem"}
    default_backend seaweedfs

backend seaweedfs
    server s3 {backend}
""")
    balancer = subprocess.Popen([haproxy_binary(), "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.time() < deadline, "haproxy did not listen"
                time.sleep(0.05)
        endpoint = f"https://127.0.0.1:{port}"
        with pytest.raises(AssertionError) as untrusted:
            start_server("--s3-bucket", bucket, s3_endpoint=endpoint)
        assert "certificate" in str(untrusted.value).lower(), str(untrusted.value)[-2000:]

        monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "ca.pem"))
        server = start_server("--s3-bucket", bucket, s3_endpoint=endpoint)
        path, digest = random_file(12 * MiB)
        cli("upload", str(path), "--key", "https/object.bin", "--part-size", "5MiB", "--no-progress",
            server=server.address)
        assert object_sha256(s3, bucket, "https/object.bin") == digest
    finally:
        balancer.terminate()
        balancer.wait()
