"""Object metadata and the read-back verify, end to end: the CLI and an independent grpcio client
against a real server, checked in SeaweedFS with boto3's head_object and in the local store with
the file's extended attributes."""
import json
import os
import shutil

import grpc

from conftest import object_sha256
from sessions_client import MiB, LocalFile, chunks

PART = 5 * MiB


def named_copy(random_file, tmp_path, name, size=12 * MiB):
    source, digest = random_file(size)
    path = tmp_path / name
    shutil.copyfile(source, path)
    return path, digest


def test_upload_carries_content_type_metadata_and_the_verified_digest(cli, start_server, random_file, s3, bucket,
                                                                      tmp_path):
    path, digest = named_copy(random_file, tmp_path, "clip.mp4")
    server = start_server("--s3-bucket", bucket)
    result = cli("upload", str(path), "--key", "media/clip.mp4", "--metadata", "camera=north-7", "--metadata",
                 "take=3", "--verify", "--json", server=server.address)
    done = json.loads(result.stdout)
    assert done["verified"] is True and done["content_type"] == "video/mp4"
    assert done["metadata"] == {"camera": "north-7", "take": "3"}

    head = s3.head_object(Bucket=bucket, Key="media/clip.mp4")
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"camera": "north-7", "take": "3", "sha256": digest}
    assert object_sha256(s3, bucket, "media/clip.mp4") == digest

    human = cli("upload", str(path), "--key", "media/again.mp4", "--verify", "--no-progress", server=server.address)
    assert "verified by reading it back" in human.stdout


def test_verify_later_stamps_an_object_uploaded_without_it(cli, start_server, random_file, s3, bucket, tmp_path):
    path, digest = named_copy(random_file, tmp_path, "table.csv", 6 * MiB)
    server = start_server("--s3-bucket", bucket)
    done = json.loads(cli("upload", str(path), "--key", "t/table.csv", "--json", server=server.address).stdout)
    assert done["verified"] is False
    head = s3.head_object(Bucket=bucket, Key="t/table.csv")
    assert head["ContentType"] == "text/csv" and "sha256" not in head["Metadata"]

    verdict = json.loads(cli("verify", done["id"], "--json", server=server.address).stdout)
    assert verdict["verified"] is True and verdict["verified_sha256"] == digest == verdict["sha256"]
    assert s3.head_object(Bucket=bucket, Key="t/table.csv")["Metadata"] == {"sha256": digest}


def test_a_lying_whole_file_digest_is_caught_and_never_stamped(v1, cli, start_server, random_file, s3, bucket):
    pb, stubs = v1
    path, digest = random_file(6 * MiB)
    file = LocalFile(path, PART)
    server = start_server("--s3-bucket", bucket)
    stub = stubs.ResumableUploadsStub(grpc.insecure_channel(server.address))
    session = stub.CreateSession(pb.CreateSessionRequest(key="lie.bin", size=file.size, part_size=PART,
                                                         content_type="application/octet-stream",
                                                         metadata={"origin": "test"}))
    for _ in stub.UploadParts(chunks(pb, session.id, file, {})):
        pass
    lie = bytes(32)
    try:
        stub.CompleteSession(pb.CompleteSessionRequest(session_id=session.id, sha256=lie,
                                                       part_sha256s=file.part_digests, verify=True))
        raise AssertionError("CompleteSession accepted a digest the object does not have")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.DATA_LOSS, error
        assert dict(error.trailing_metadata())["uploader-error-code"] == "DIGEST_MISMATCH"
        assert digest in error.details() and "does not carry a digest" in error.details()

    recorded = stub.GetSession(pb.GetSessionRequest(session_id=session.id))
    assert recorded.state == pb.SESSION_STATE_COMPLETED
    assert recorded.verified_sha256.hex() == digest and recorded.sha256 == lie
    assert s3.head_object(Bucket=bucket, Key="lie.bin")["Metadata"] == {"origin": "test"}

    # The CLI, asked about a session it did not upload, says so and fails.
    result = cli("verify", session.id, server=server.address, check=False)
    assert result.returncode == 1, result
    assert "does not carry a digest" in result.stderr


def test_the_local_store_keeps_attributes_as_extended_attributes(cli, start_server, random_file, tmp_path):
    path, digest = named_copy(random_file, tmp_path, "report.pdf", 6 * MiB)
    server = start_server("--verify-objects")
    cli("upload", str(path), "--key", "docs/report.pdf", "--metadata", "dept=finance", server=server.address)
    stored = server.data_dir / "store" / "objects" / "docs" / "report.pdf"
    attributes = {name: os.getxattr(stored, name).decode() for name in os.listxattr(stored)}
    assert attributes == {"user.mime_type": "application/pdf", "user.meta.dept": "finance", "user.sha256": digest}


def test_bad_metadata_is_a_usage_error_before_anything_is_sent(cli, random_file, tmp_path):
    path, _ = random_file(1 * MiB)
    for args, phrase in [
        (["--metadata", "Camera=x"], 'use "camera"'),
        (["--metadata", "novalue"], "is not NAME=VALUE"),
        (["--metadata", "note=a\nb"], "only printable ASCII"),
        (["--content-type", "text"], "a content type is type/subtype"),
        (["--metadata", "sha256=abc"], "set by the server"),
    ]:
        result = cli("upload", str(path), *args, server="127.0.0.1:1", check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert phrase in result.stderr, (args, result.stderr)
    assert "no uploads" in cli("status", server="127.0.0.1:1").stdout


def test_metadata_that_could_inject_a_header_is_refused_at_create_session(v1, start_server, bucket, s3):
    pb, stubs = v1
    server = start_server("--s3-bucket", bucket)
    stub = stubs.ResumableUploadsStub(grpc.insecure_channel(server.address))
    for metadata, content_type, phrase in [
        ({"note": "a\r\nx-amz-acl: public-read"}, "", 'invalid value of metadata "note"'),
        ({"x-amz-acl": "public-read", "Bad Name": "v"}, "", 'invalid metadata name "Bad Name"'),
        ({}, "text/plain\r\nx-amz-acl: public-read", "invalid content type"),
        ({"k": "v" * 2000}, "", "the limit is 1978"),
    ]:
        try:
            stub.CreateSession(pb.CreateSessionRequest(key="injected.bin", size=10, metadata=metadata,
                                                       content_type=content_type))
            raise AssertionError(f"CreateSession accepted {metadata} {content_type!r}")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
            assert dict(error.trailing_metadata())["uploader-error-code"] == "INVALID_REQUEST"
            assert phrase in error.details(), error.details()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_verify_names_a_server_that_does_not_answer(cli, start_server, random_file, bucket):
    path, _ = random_file(1 * MiB)
    server = start_server("--s3-bucket", bucket)
    done = json.loads(cli("upload", str(path), "--key", "t/unanswered.bin", "--json", server=server.address).stdout)
    server.stop()
    result = cli("verify", done["id"], server="127.0.0.1:1", check=False)  # UPLOADER_SERVER wins over the journal's
    assert result.returncode == 1, result
    assert f"did not verify session {done['session_id']}" in result.stderr and "127.0.0.1:1" in result.stderr
