"""S3 that answers badly, through an HTTP proxy in front of SeaweedFS that serves S3's own error
documents: 503 SlowDown and 500 InternalError are waited out and the object is whole; a 403
mid-run stops the upload with a message that says so, and the server stays up."""
import json

from conftest import object_sha256
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
