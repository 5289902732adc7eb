"""Resumable sessions (uploader.v1) against the real server process and SeaweedFS: a kill -9 in
the middle of an upload, a restart on the same data directory, and the upload continues from
the durable offsets. Objects are checked with boto3; ListMultipartUploads must be empty after
complete, abort and expiry."""
import threading
import time

import grpc
import pytest

from conftest import object_sha256
from sessions_client import MiB, LocalFile, chunks, resume_offsets
from tcp_proxy import TCPProxy


def stub(v1, address):
    return v1[1].ResumableUploadsStub(grpc.insecure_channel(address))


def create(v1, address, key, file):
    return stub(v1, address).CreateSession(v1[0].CreateSessionRequest(key=key, size=file.size, part_size=file.part_size))


def get(v1, address, session_id):
    return stub(v1, address).GetSession(v1[0].GetSessionRequest(session_id=session_id))


def complete(v1, address, session_id, file):
    return stub(v1, address).CompleteSession(v1[0].CompleteSessionRequest(
        session_id=session_id, sha256=file.sha256, part_sha256s=file.part_digests)).session


def no_multipart_uploads(s3, bucket, timeout=20):
    """Multipart aborts run in the background, at once: waits up to `timeout` for none to be left."""
    deadline = time.time() + timeout
    while s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        if time.time() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_upload_survives_kill_9_of_the_server(v1, start_server, random_file, s3, bucket):
    path, digest = random_file(64 * MiB)
    file = LocalFile(path, 8 * MiB)
    server = start_server("--s3-bucket", bucket)
    data_dir = server.data_dir
    session = create(v1, server.address, "crash/object.bin", file)

    acknowledged = 0
    sent = [0]

    def counted(requests):
        for request in requests:
            yield request
            sent[0] += len(request.data)

    with pytest.raises(grpc.RpcError) as failure:
        for event in stub(v1, server.address).UploadParts(counted(chunks(v1[0], session.id, file, {}))):
            if event.WhichOneof("event") == "progress":
                acknowledged += 1
                if acknowledged == 12:
                    server.kill()
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE

    restarted = start_server("--s3-bucket", bucket, data_dir=data_dir)
    progress = stub(v1, restarted.address).GetSession(v1[0].GetSessionRequest(session_id=session.id))
    starts = resume_offsets(progress)
    durable = sum(starts.values())
    assert durable > 0, "nothing survived the crash"
    for event in stub(v1, restarted.address).UploadParts(chunks(v1[0], session.id, file, starts)):
        pass
    done = complete(v1, restarted.address, session.id, file)
    assert done.state == v1[0].SESSION_STATE_COMPLETED
    assert done.sha256.hex() == digest
    assert object_sha256(s3, bucket, "crash/object.bin") == digest
    assert no_multipart_uploads(s3, bucket)
    print(f"kill -9 after {sent[0] / MiB:.1f} MiB handed to gRPC; {durable / MiB:.1f} MiB durable; "
          f"at most {(sent[0] - durable) / MiB:.1f} MiB sent again")


def test_spooled_reports_come_between_durable_acknowledgements(v1, start_server, random_file):
    """An independent grpcio client sees PartSpooled for its first chunk at once, then every MiB
    between the durable PartProgress events; a spooled report never repeats a durable offset, and
    every event grants the stream the whole receive budget (it is the only stream)."""
    path, _ = random_file(16 * MiB)
    file = LocalFile(path, 16 * MiB)
    server = start_server("--ack-bytes", "4MiB", "--ack-interval", "1h")
    session = create(v1, server.address, "spooled.bin", file)
    assert session.spooled_report_bytes == MiB
    spooled, durable, credits = [], [], set()
    for event in stub(v1, server.address).UploadParts(chunks(v1[0], session.id, file, {}, chunk_size=256 * 1024)):
        credits.add(event.credit_bytes)
        kind = event.WhichOneof("event")
        if kind == "spooled":
            spooled.append(event.spooled.spooled_bytes)
        elif kind == "progress":
            durable.append(event.progress.received_bytes)
    assert durable == [4 * MiB, 8 * MiB, 12 * MiB, 16 * MiB]
    assert spooled == [int(n * MiB) for n in (0.25, 1.25, 2.25, 3.25, 5, 6, 7, 9, 10, 11, 13, 14, 15)]
    assert credits == {16 * MiB}
    assert complete(v1, server.address, session.id, file).state == v1[0].SESSION_STATE_COMPLETED


def test_abort_and_expiry_leave_no_multipart_upload(v1, start_server, random_file, s3, bucket):
    path, _ = random_file(20 * MiB)
    file = LocalFile(path, 8 * MiB)
    server = start_server("--s3-bucket", bucket, "--session-ttl", "3s")
    aborted = create(v1, server.address, "aborted.bin", file)
    expiring = create(v1, server.address, "expiring.bin", file)
    for session in (aborted, expiring):
        list(stub(v1, server.address).UploadParts(chunks(v1[0], session.id, file, {3: 0, 2: 8 * MiB})))
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 2

    result = stub(v1, server.address).AbortSession(v1[0].AbortSessionRequest(session_id=aborted.id))
    assert result.session.state == v1[0].SESSION_STATE_ABORTED

    deadline = time.time() + 30
    while True:
        state = stub(v1, server.address).GetSession(v1[0].GetSessionRequest(session_id=expiring.id)).state
        if state == v1[0].SESSION_STATE_EXPIRED:
            break
        assert time.time() < deadline, "the idle session did not expire"
        time.sleep(0.5)
    assert no_multipart_uploads(s3, bucket)
    with pytest.raises(grpc.RpcError) as failure:
        complete(v1, server.address, expiring.id, file)
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_abort_returns_while_s3_is_stalled(v1, start_server, random_file, s3_settings, s3, bucket):
    path, _ = random_file(20 * MiB)
    file = LocalFile(path, 8 * MiB)
    upstream = s3_settings["endpoint"].rsplit(":", 1)
    proxy = TCPProxy("127.0.0.1", int(upstream[1]))
    try:
        # No forwarding: part 1 is committed from the spool once received, and that commit stalls.
        server = start_server("--s3-bucket", bucket, "--max-forwarded-parts", "0", s3_endpoint=proxy.endpoint)
        session = create(v1, server.address, "stalled.bin", file)
        proxy.hold()
        sender = threading.Thread(
            target=lambda: _drain(stub(v1, server.address).UploadParts(chunks(v1[0], session.id, file, {2: 8 * MiB, 3: 4 * MiB}))))
        sender.start()
        deadline = time.time() + 30
        while get(v1, server.address, session.id).parts[0].state != v1[0].PART_STATE_RECEIVED:
            assert time.time() < deadline, "part 1 was never received"
            time.sleep(0.05)

        # The commit of part 1 waits for S3; the abort must not. A deadline turns a wait into a failure.
        result = stub(v1, server.address).AbortSession(v1[0].AbortSessionRequest(session_id=session.id), timeout=15)
        assert result.session.state == v1[0].SESSION_STATE_ABORTED
        assert get(v1, server.address, session.id).state == v1[0].SESSION_STATE_ABORTED

        proxy.release()
        sender.join(timeout=60)
        assert no_multipart_uploads(s3, bucket), "the aborted session's multipart upload was left behind"
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    finally:
        proxy.close()


def _drain(responses):
    try:
        for _ in responses:
            pass
    except grpc.RpcError:
        pass


def test_unknown_sessions_and_gaps_get_precise_statuses(v1, start_server, random_file):
    path, _ = random_file(20 * MiB)
    file = LocalFile(path, 8 * MiB)
    server = start_server()
    pb2 = v1[0]
    with pytest.raises(grpc.RpcError) as failure:
        stub(v1, server.address).GetSession(pb2.GetSessionRequest(session_id="0" * 32))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND

    session = create(v1, server.address, "gap.bin", file)
    with pytest.raises(grpc.RpcError) as failure:
        list(stub(v1, server.address).UploadParts(iter([
            pb2.PartChunk(session_id=session.id, part_number=1, offset=MiB, data=b"x")])))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert ("uploader-expected-offset", "0") in failure.value.trailing_metadata()

    with pytest.raises(grpc.RpcError) as failure:
        list(stub(v1, server.address).UploadParts(iter([
            pb2.PartChunk(session_id=session.id, part_number=4, offset=0, data=b"x")])))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_small_objects_in_one_call_each_get_their_result(v1, start_server, s3, bucket):
    """UploadObjects from an independent grpcio client: the good objects land whole (one
    PutObject each, no multipart upload), a bad one gets its own DATA_LOSS, and the same call
    again returns the same sessions without storing anything again."""
    import hashlib
    import os
    pb, stubs = v1
    server = start_server("--s3-bucket", bucket)
    blobs = {f"batch/{n}.bin": os.urandom(1000 * n) for n in range(5)}

    def request(key, data, digest=None):
        return pb.UploadObjectRequest(
            session=pb.CreateSessionRequest(key=key, size=len(data), idempotency_key="id-" + key,
                                            content_type="application/x-test", metadata={"batch": "1"}),
            data=data, sha256=digest or hashlib.sha256(data).digest())

    objects = [request(key, data) for key, data in blobs.items()]
    objects.insert(2, request("batch/bad.bin", b"abc", hashlib.sha256(b"abd").digest()))
    call = pb.UploadObjectsRequest(objects=objects)
    results = stub(v1, server.address).UploadObjects(call).results
    assert [r.WhichOneof("result") for r in results] == ["session"] * 2 + ["error"] + ["session"] * 3
    assert (results[2].error.status, results[2].error.code) == (grpc.StatusCode.DATA_LOSS.value[0], "DIGEST_MISMATCH")
    for key, data in blobs.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "application/x-test" and head["Metadata"] == {"batch": "1"}, key
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data, key
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    sessions = [r.session for r in results if r.WhichOneof("result") == "session"]
    assert all(s.state == pb.SESSION_STATE_COMPLETED for s in sessions)
    modified = {key: s3.head_object(Bucket=bucket, Key=key)["LastModified"] for key in blobs}

    time.sleep(1.1)  # S3 keeps LastModified to the second
    again = stub(v1, server.address).UploadObjects(call).results
    assert [r.session.id for r in again if r.WhichOneof("result") == "session"] == [s.id for s in sessions]
    assert {key: s3.head_object(Bucket=bucket, Key=key)["LastModified"] for key in blobs} == modified

    with pytest.raises(grpc.RpcError) as empty:
        stub(v1, server.address).UploadObjects(pb.UploadObjectsRequest())
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
