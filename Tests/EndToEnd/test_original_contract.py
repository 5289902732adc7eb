"""The original contract (uploader.FileUploader/Upload) driven by an independent grpcio client
against the real server process, checked with an independent S3 client (boto3)."""
import hashlib
import os
import subprocess
import time

import grpc
import pytest

from conftest import make_s3_client, object_sha256
from tcp_proxy import TCPProxy

MiB = 1 << 20


def chunks(pb2, path, filename, chunk_size=MiB, after_each=None):
    sent = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk_size)
            if not block:
                break
            yield pb2.UploadRequest(filename=filename, chunk=block)
            sent += len(block)
            if after_each:
                after_each(sent)


def upload(proto, address, path, filename, **kwargs):
    pb2, pb2_grpc = proto
    with grpc.insecure_channel(address) as channel:
        stub = pb2_grpc.FileUploaderStub(channel)
        return stub.Upload(chunks(pb2, path, filename, **kwargs), timeout=300)


def test_100_mib_into_s3(proto, start_server, random_file, s3, bucket):
    path, digest = random_file(100 * MiB)
    server = start_server("--s3-bucket", bucket)
    response = upload(proto, server.address, path, "e2e/100mib.bin")
    assert response.success
    assert response.message == f"stored e2e/100mib.bin ({100 * MiB} bytes, sha256 {digest})"
    assert object_sha256(s3, bucket, "e2e/100mib.bin") == digest
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_100_mib_into_the_local_directory_store(proto, start_server, random_file, tmp_path):
    path, digest = random_file(100 * MiB)
    server = start_server()
    response = upload(proto, server.address, path, "e2e/local.bin")
    assert response.success
    stored = tmp_path / "data0" / "store" / "objects" / "e2e" / "local.bin"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert list((tmp_path / "data0" / "spool").rglob("part-*")) == []


def test_server_memory_stays_flat_for_256_mib(proto, start_server, random_file, s3, bucket):
    path, digest = random_file(256 * MiB)
    server = start_server("--s3-bucket", bucket)
    response = upload(proto, server.address, path, "big.bin")
    assert response.success
    peak = server.peak_rss_kib()
    print(f"server peak RSS (VmHWM) for a 256 MiB upload: {peak / 1024:.1f} MiB")
    assert peak < 128 * 1024, f"server peak RSS {peak / 1024:.1f} MiB is not under 128 MiB"
    assert object_sha256(s3, bucket, "big.bin") == digest


def test_empty_file_becomes_an_empty_object(proto, start_server, s3, bucket):
    pb2, pb2_grpc = proto
    server = start_server("--s3-bucket", bucket)
    with grpc.insecure_channel(server.address) as channel:
        response = pb2_grpc.FileUploaderStub(channel).Upload(iter([pb2.UploadRequest(filename="empty")]))
    assert response.success
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0


@pytest.mark.parametrize("key", ["", "../x", "/abs", "a/../../b", "nul\0key", "k" * 2048, "a//b"])
def test_bad_keys_are_invalid_argument(proto, start_server, key, s3, bucket):
    pb2, pb2_grpc = proto
    server = start_server("--s3-bucket", bucket)
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as failure:
            pb2_grpc.FileUploaderStub(channel).Upload(iter([pb2.UploadRequest(filename=key, chunk=b"x")]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid object key" in failure.value.details()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_unreachable_s3_is_unavailable_and_leaves_no_multipart_upload(
        proto, start_server, random_file, s3_settings, s3, bucket):
    path, _ = random_file(100 * MiB)
    upstream = s3_settings["endpoint"].rsplit(":", 1)
    proxy = TCPProxy("127.0.0.1", int(upstream[1]))
    try:
        server = start_server("--s3-bucket", bucket, "--s3-max-attempts", "2", s3_endpoint=proxy.endpoint)

        def cut_s3_once_the_upload_exists(sent):
            if sent == 24 * MiB:
                deadline = time.time() + 20
                while not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"):
                    assert time.time() < deadline, "the server never started a multipart upload"
                    time.sleep(0.05)
                proxy.down()

        with pytest.raises(grpc.RpcError) as failure:
            upload(proto, server.address, path, "cut.bin", after_each=cut_s3_once_the_upload_exists)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, failure.value.details()
        assert "try again later" in failure.value.details()

        # Once S3 is back, the server aborts what the failed stream left behind.
        proxy.up()
        deadline = time.time() + 60
        while s3.list_multipart_uploads(Bucket=bucket).get("Uploads"):
            assert time.time() < deadline, "the failed stream's multipart upload is still in the bucket"
            time.sleep(0.2)
        assert "multipart upload aborted" in server.output()
    finally:
        proxy.close()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_wrong_s3_configuration_is_reported_at_start(tmp_path, s3_settings, bucket):
    binary = os.environ["UPLOADER_SERVER_BIN"]
    base = dict(os.environ, AWS_ACCESS_KEY_ID=s3_settings["access_key"],
                AWS_SECRET_ACCESS_KEY=s3_settings["secret_key"], AWS_ENDPOINT_URL_S3=s3_settings["endpoint"])
    cases = [
        (["--s3-bucket", "no-such-bucket-e2e"], base, "does not exist"),
        (["--s3-bucket", bucket], dict(base, AWS_SECRET_ACCESS_KEY="wrong"), "credentials were refused"),
        (["--s3-bucket", bucket, "--s3-max-attempts", "1"], dict(base, AWS_ENDPOINT_URL_S3="http://127.0.0.1:1"),
         "cannot be reached"),
        (["--s3-bucket", bucket], {k: v for k, v in base.items() if k != "AWS_ACCESS_KEY_ID"},
         "AWS_ACCESS_KEY_ID"),
    ]
    for args, env, expected in cases:
        result = subprocess.run([binary, "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), *args],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, f"{args} started anyway"
        assert expected in result.stderr, f"{args}: {result.stderr}"
