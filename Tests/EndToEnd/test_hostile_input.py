"""Hostile and malformed input against one server process, from an independent grpcio client.

Every case expects one precise gRPC status (and a message saying why). An honest upload runs
alongside the whole battery; the last test checks that it completed byte-identical and that the
server stayed up and healthy."""
import hashlib
import importlib
import os
import sys
import threading
import time
import uuid

import grpc
import pytest

from conftest import ROOT, ServerProcess, make_s3_client, object_sha256
from sessions_client import MiB, LocalFile, chunks

MAX_OBJECT = 64 * MiB
PART = 5 * MiB
TOKENS = {"alice": "alice-secret-token", "bob": "bob-secret-token", "carol": "carol-secret-token"}
C = grpc.StatusCode


@pytest.fixture(scope="module")
def stubs(tmp_path_factory, health):
    out = tmp_path_factory.mktemp("stubs-hostile")
    from grpc_tools import protoc
    for proto in ["uploader/upload.proto", "uploader/v1/uploads.proto"]:
        assert protoc.main(["protoc", f"-I{ROOT}/Protos", f"--python_out={out}", f"--grpc_python_out={out}", proto]) == 0
    sys.path.insert(0, str(out))
    load = importlib.import_module
    return {
        "v0": (load("uploader.upload_pb2"), load("uploader.upload_pb2_grpc")),
        "v1": (load("uploader.v1.uploads_pb2"), load("uploader.v1.uploads_pb2_grpc")),
        "health": health,
    }


class Battery:
    """The server under attack, channels per principal, and the honest upload beside it."""

    def __init__(self, server, stubs, s3, bucket):
        self.server, self.stubs, self.s3, self.bucket = server, stubs, s3, bucket
        self.channel = grpc.insecure_channel(server.address, options=[("grpc.max_send_message_length", -1)])
        self.pb, v1_grpc = stubs["v1"]
        self.v0, v0_grpc = stubs["v0"]
        self.v1 = v1_grpc.ResumableUploadsStub(self.channel)
        self.original = v0_grpc.FileUploaderStub(self.channel)
        self.health = stubs["health"][1].HealthStub(self.channel)

    @staticmethod
    def auth(principal):
        return [("authorization", f"Bearer {TOKENS[principal]}")]

    def create(self, principal="alice", key=None, size=PART + 10, part_size=PART, **extra):
        return self.v1.CreateSession(
            self.pb.CreateSessionRequest(key=f"battery/{uuid.uuid4().hex}" if key is None else key, size=size, part_size=part_size, **extra),
            metadata=self.auth(principal))

    def chunk(self, session, part=1, offset=0, data=b"x", last=False, digest=b""):
        return self.pb.PartChunk(session_id=session, part_number=part, offset=offset, data=data, last=last,
                                 part_sha256=digest)


@pytest.fixture(scope="module")
def battery(tmp_path_factory, stubs, s3_settings):
    directory = tmp_path_factory.mktemp("hostile")
    tokens = directory / "tokens"
    tokens.write_text("".join(f"{p} {hashlib.sha256(t.encode()).hexdigest()}\n" for p, t in TOKENS.items()))
    s3 = make_s3_client(s3_settings["endpoint"], s3_settings)
    bucket = f"hostile-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=s3_settings["access_key"], AWS_SECRET_ACCESS_KEY=s3_settings["secret_key"],
               AWS_ENDPOINT_URL_S3=s3_settings["endpoint"])
    server = ServerProcess(
        ["--s3-bucket", bucket, "--auth-tokens", str(tokens), "--max-object-size", "64MiB",
         "--max-sessions-per-principal", "3", "--idle-stream-timeout", "2s"],
        directory / "data", env, directory / "server.log")
    battery = Battery(server, stubs, s3, bucket)
    alongside = HonestUpload(battery, directory)
    alongside.start()
    yield battery, alongside
    alongside.finish()
    server.stop()


class HonestUpload(threading.Thread):
    """bob uploads 24 MiB slowly while the battery runs, then finishes."""

    def __init__(self, battery, directory):
        super().__init__(daemon=True)
        self.battery = battery
        self.path = directory / "honest.bin"
        self.path.write_bytes(os.urandom(24 * MiB))
        self.file = LocalFile(self.path, PART)
        self.key = "honest/alongside.bin"
        self.done = threading.Event()
        self.error = None
        self.session = None

    def run(self):
        b = self.battery
        # Its own connection, as another client would have (grpcio shares them within a process).
        channel = grpc.insecure_channel(b.server.address, options=[("grpc.use_local_subchannel_pool", 1)])
        stub = b.stubs["v1"][1].ResumableUploadsStub(channel)
        try:
            self.session = b.create("bob", key=self.key, size=self.file.size)

            def paced():
                for chunk in chunks(b.pb, self.session.id, self.file, {}):
                    if not self.done.is_set():
                        time.sleep(0.15)
                    yield chunk

            for _ in stub.UploadParts(paced(), metadata=b.auth("bob")):
                pass
            stub.CompleteSession(b.pb.CompleteSessionRequest(
                session_id=self.session.id, sha256=self.file.sha256, part_sha256s=self.file.part_digests),
                metadata=b.auth("bob"))
        except Exception as error:  # reported by the last test
            self.error = error
        finally:
            channel.close()

    def finish(self):
        self.done.set()
        self.join(timeout=120)


def expect(code, call, contains):
    """The call fails with `code` and a message that says why (`contains`, case-insensitive)."""
    assert contains, "every hostile case checks the message it gets"
    with pytest.raises(grpc.RpcError) as failure:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "ListFields"):
            list(result)
    assert failure.value.code() == code, failure.value.details()
    assert contains.lower() in (failure.value.details() or "").lower()
    return failure.value


@pytest.fixture
def alice_session(battery):
    """alice's new sessions; aborted after the test, so her open-session limit is not reached."""
    b, _ = battery
    created = []

    def create():
        created.append(b.create("alice"))
        return created[-1]

    yield create
    for session in created:
        try:
            b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=session.id), metadata=b.auth("alice"))
        except grpc.RpcError:
            pass  # completed or aborted by the test


# --- who may call -------------------------------------------------------------------------------

def test_no_token(battery):
    b, _ = battery
    expect(C.UNAUTHENTICATED, lambda: b.v1.ListSessions(b.pb.ListSessionsRequest()), "requires a token")


def test_unknown_token(battery):
    b, _ = battery
    expect(C.UNAUTHENTICATED, lambda: b.v1.ListSessions(b.pb.ListSessionsRequest(),
                                                        metadata=[("authorization", "Bearer guess")]), "not valid")


def test_not_a_bearer_token(battery):
    b, _ = battery
    expect(C.UNAUTHENTICATED, lambda: b.v1.ListSessions(
        b.pb.ListSessionsRequest(), metadata=[("authorization", "Basic YWxpY2U6cHc=")]), "Bearer")


def test_original_contract_without_token(battery):
    b, _ = battery
    expect(C.UNAUTHENTICATED, lambda: b.original.Upload(iter([b.v0.UploadRequest(filename="x", chunk=b"1")])),
           "requires a token")


def test_health_needs_no_token(battery):
    b, _ = battery
    health_pb2 = b.stubs["health"][0]
    assert b.health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


# --- whose session ------------------------------------------------------------------------------

def test_unknown_session(battery):
    b, _ = battery
    expect(C.NOT_FOUND, lambda: b.v1.GetSession(b.pb.GetSessionRequest(session_id="0" * 32), metadata=b.auth("alice")),
           "no session " + "0" * 32)


def test_malformed_session_id(battery):
    b, _ = battery
    expect(C.NOT_FOUND, lambda: b.v1.GetSession(b.pb.GetSessionRequest(session_id="../../etc/passwd"),
                                                metadata=b.auth("alice")), "32 lowercase hex")


@pytest.mark.parametrize("rpc", ["get", "abort", "complete", "upload"])
def test_another_principals_session(battery, rpc, alice_session):
    b, _ = battery
    session = alice_session()
    calls = {
        "get": lambda: b.v1.GetSession(b.pb.GetSessionRequest(session_id=session.id), metadata=b.auth("bob")),
        "abort": lambda: b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=session.id), metadata=b.auth("bob")),
        "complete": lambda: b.v1.CompleteSession(b.pb.CompleteSessionRequest(
            session_id=session.id, sha256=bytes(32), part_sha256s=[bytes(32)] * 2), metadata=b.auth("bob")),
        "upload": lambda: b.v1.UploadParts(iter([b.chunk(session.id)]), metadata=b.auth("bob")),
    }
    error = expect(C.NOT_FOUND, calls[rpc], f"no session {session.id}")
    assert error.details() == f"no session {session.id}", "the same answer as for a session that does not exist"
    assert b.v1.GetSession(b.pb.GetSessionRequest(session_id=session.id), metadata=b.auth("alice")).state == b.pb.SESSION_STATE_OPEN
    b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=session.id), metadata=b.auth("alice"))


def test_listing_shows_only_your_sessions(battery, alice_session):
    b, _ = battery
    session = alice_session()
    listed = b.v1.ListSessions(b.pb.ListSessionsRequest(), metadata=b.auth("bob")).sessions
    assert session.id not in [s.id for s in listed]
    b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=session.id), metadata=b.auth("alice"))


# --- sizes and keys -----------------------------------------------------------------------------

def test_size_zero_is_an_empty_object(battery):
    b, _ = battery
    session = b.create("alice", key="battery/empty", size=0)
    assert session.part_count == 0
    done = b.v1.CompleteSession(b.pb.CompleteSessionRequest(session_id=session.id, sha256=hashlib.sha256(b"").digest()),
                                metadata=b.auth("alice"))
    assert done.session.state == b.pb.SESSION_STATE_COMPLETED
    assert b.s3.head_object(Bucket=b.bucket, Key="battery/empty")["ContentLength"] == 0


@pytest.mark.parametrize("size,contains", [(2**64 - 1, "not a possible object size"), (2**62, "at most"),
                                           (MAX_OBJECT + 1, "at most 67108864")])
def test_sizes_too_large(battery, size, contains):
    b, _ = battery
    expect(C.OUT_OF_RANGE, lambda: b.create("alice", size=size), contains)


def test_part_size_below_the_minimum(battery):
    b, _ = battery
    expect(C.INVALID_ARGUMENT, lambda: b.create("alice", part_size=1), "5 MiB minimum")


@pytest.mark.parametrize("key,contains", [
    ("../x", "'..' segment"), ("/abs", "starts with '/'"), ("a/../../b", "'..' segment"),
    ("nul\0byte", "control character"), ("k" * 2048, "limit is 1024"), ("", "empty")])
def test_bad_keys(battery, key, contains):
    b, _ = battery
    expect(C.INVALID_ARGUMENT, lambda: b.create("alice", key=key), contains)


def test_metadata_bomb_in_the_session(battery):
    b, _ = battery
    bomb = {f"k{i}": "v" * 1000 for i in range(1000)}
    expect(C.INVALID_ARGUMENT, lambda: b.create("alice", metadata=bomb), "the limit is 1978")


def test_metadata_bomb_in_the_headers(battery, stubs):
    b, _ = battery
    headers = b.auth("alice") + [(f"x-bomb-{i}", "v" * 1000) for i in range(64)]
    # HTTP/2 caps a header block at 16 KiB: the server closes that connection (GOAWAY) before any
    # handler runs. Other connections are not affected.
    with grpc.insecure_channel(b.server.address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
        bomber = stubs["v1"][1].ResumableUploadsStub(channel)
        expect(C.UNAVAILABLE, lambda: bomber.ListSessions(b.pb.ListSessionsRequest(), metadata=headers), "GOAWAY")


def test_too_many_open_sessions(battery):
    b, _ = battery
    opened = [b.create("carol") for _ in range(3)]
    expect(C.RESOURCE_EXHAUSTED, lambda: b.create("carol"), "--max-sessions-per-principal")
    b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=opened[0].id), metadata=b.auth("carol"))
    assert b.create("carol").state == b.pb.SESSION_STATE_OPEN


# --- chunks ---------------------------------------------------------------------------------------

def upload(b, session, *chunk_list):
    return lambda: b.v1.UploadParts(iter(chunk_list), metadata=b.auth("alice"))


def test_part_number_zero(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.INVALID_ARGUMENT, upload(b, s, b.chunk(s.id, part=0)), "got part 0")


def test_part_number_past_the_last(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.INVALID_ARGUMENT, upload(b, s, b.chunk(s.id, part=3)), "parts 1 to 2")


def test_offset_past_the_received_bytes(battery, alice_session):
    b, _ = battery
    s = alice_session()
    error = expect(C.FAILED_PRECONDITION, upload(b, s, b.chunk(s.id, offset=4096)), "leaves a gap")
    assert dict(error.trailing_metadata())["uploader-expected-offset"] == "0"


def test_offset_past_the_part(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.INVALID_ARGUMENT, upload(b, s, b.chunk(s.id, part=2, offset=11)), "runs past it")


def test_data_past_the_part_size(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.INVALID_ARGUMENT, upload(b, s, b.chunk(s.id, part=2, data=b"y" * 11)), "runs past it")


def test_wrong_part_sha256(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.DATA_LOSS, upload(b, s, b.chunk(s.id, part=2, data=b"y" * 10, last=True, digest=bytes(32))),
           "the part was reset")
    part = b.v1.GetSession(b.pb.GetSessionRequest(session_id=s.id), metadata=b.auth("alice")).parts[1]
    assert part.received_bytes == 0, "the corrupt part is not kept"


def test_part_sha256_of_the_wrong_length(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.INVALID_ARGUMENT, upload(b, s, b.chunk(s.id, digest=b"short")), "32 bytes")


def send_small_file(b, s, data):
    """Part 1 (5 MiB of zeros, in 1 MiB chunks) and part 2 (`data`)."""
    part1 = [b.chunk(s.id, part=1, offset=i * MiB, data=bytes(MiB), last=i == 4,
                     digest=hashlib.sha256(bytes(PART)).digest() if i == 0 else b"") for i in range(5)]
    part2 = [b.chunk(s.id, part=2, data=data, last=True, digest=hashlib.sha256(data).digest())]
    list(b.v1.UploadParts(iter(part1 + part2), metadata=b.auth("alice")))
    return [hashlib.sha256(bytes(PART)).digest(), hashlib.sha256(data).digest()], hashlib.sha256(bytes(PART) + data).digest()


def complete(b, s, sha256, digests):
    return lambda: b.v1.CompleteSession(b.pb.CompleteSessionRequest(session_id=s.id, sha256=sha256, part_sha256s=digests),
                                        metadata=b.auth("alice"))


def test_complete_with_missing_parts(battery, alice_session):
    b, _ = battery
    s = alice_session()
    expect(C.FAILED_PRECONDITION, complete(b, s, bytes(32), [bytes(32)] * 2), "missing 2 part(s): 1, 2")
    b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=s.id), metadata=b.auth("alice"))


def test_complete_with_wrong_digests(battery, alice_session):
    b, _ = battery
    s = alice_session()
    digests, whole = send_small_file(b, s, b"z" * 10)
    expect(C.DATA_LOSS, complete(b, s, whole, [digests[0], bytes(32)]), "part 2")
    expect(C.INVALID_ARGUMENT, complete(b, s, whole, digests[:1]), "listed 1 digests")
    # Nothing was lost: the right digests still complete it.
    assert complete(b, s, whole, digests)().session.state == b.pb.SESSION_STATE_COMPLETED


def test_complete_twice(battery, alice_session):
    b, _ = battery
    s = alice_session()
    digests, whole = send_small_file(b, s, b"w" * 10)
    first = complete(b, s, whole, digests)()
    second = complete(b, s, whole, digests)()
    assert first.session.etag == second.session.etag and second.session.state == b.pb.SESSION_STATE_COMPLETED
    assert object_sha256(b.s3, b.bucket, s.key) == hashlib.sha256(bytes(PART) + b"w" * 10).hexdigest()


def test_write_after_abort(battery, alice_session):
    b, _ = battery
    s = alice_session()
    b.v1.AbortSession(b.pb.AbortSessionRequest(session_id=s.id), metadata=b.auth("alice"))
    expect(C.FAILED_PRECONDITION, upload(b, s, b.chunk(s.id)), "is aborted")
    expect(C.FAILED_PRECONDITION, complete(b, s, bytes(32), [bytes(32)] * 2), "is aborted")


# --- streams --------------------------------------------------------------------------------------

def test_a_100_mib_message(battery, alice_session):
    b, _ = battery
    s = alice_session()
    # Past --max-message-size (4 MiB) the transport resets the stream (RST_STREAM CANCEL) before
    # buffering the message; grpcio reports that as CANCELLED.
    expect(C.CANCELLED, upload(b, s, b.chunk(s.id, data=bytes(100 * MiB))), "RST_STREAM")
    assert b.v1.GetSession(b.pb.GetSessionRequest(session_id=s.id), metadata=b.auth("alice")).parts[0].received_bytes == 0


def test_a_stream_that_never_sends(battery):
    b, _ = battery
    never = threading.Event()
    gave_up = threading.Event()

    def silent():
        never.wait(30)
        gave_up.set()
        return
        yield

    try:
        expect(C.DEADLINE_EXCEEDED, lambda: b.v1.UploadParts(silent(), metadata=b.auth("alice")), "sent nothing for 2")
        # The server ended the call while the client was still silent: not a clock, an order.
        assert not gave_up.is_set()
    finally:
        never.set()


def test_not_a_protobuf_message(battery):
    b, _ = battery
    raw = b.channel.stream_stream("/uploader.v1.ResumableUploads/UploadParts",
                                  request_serializer=lambda x: x, response_deserializer=lambda x: x)
    expect(C.INVALID_ARGUMENT, lambda: raw(iter([b"\xff\xff\xff\xff"]), metadata=b.auth("alice")),
           "a request message is malformed")


def test_unknown_method(battery):
    b, _ = battery
    raw = b.channel.unary_unary("/uploader.v1.ResumableUploads/DropTables",
                                request_serializer=lambda x: x, response_deserializer=lambda x: x)
    expect(C.UNIMPLEMENTED, lambda: raw(b"", metadata=b.auth("alice")), "isn't implemented")


# --- the original contract --------------------------------------------------------------------------

def raw_original(b):
    return b.channel.stream_unary("/uploader.FileUploader/Upload",
                                  request_serializer=lambda x: x, response_deserializer=b.v0.UploadResponse.FromString)


def test_invalid_utf8_filename(battery):
    b, _ = battery
    # field 1 (filename), length 2, bytes FF FE; field 2 (chunk), length 1, "x".
    message = b"\x0a\x02\xff\xfe" + b"\x12\x01x"
    expect(C.INVALID_ARGUMENT, lambda: raw_original(b)(iter([message]), metadata=b.auth("alice")), "invalidUTF8")


def test_original_contract_without_a_filename(battery):
    b, _ = battery
    expect(C.INVALID_ARGUMENT, lambda: b.original.Upload(iter([b.v0.UploadRequest(chunk=b"1")]),
                                                         metadata=b.auth("alice")), "empty")


def test_original_contract_changing_filename(battery):
    b, _ = battery
    messages = [b.v0.UploadRequest(filename="a.bin", chunk=b"1"), b.v0.UploadRequest(filename="b.bin", chunk=b"2")]
    expect(C.INVALID_ARGUMENT, lambda: b.original.Upload(iter(messages), metadata=b.auth("alice")), "changed filename")


def test_original_contract_path_traversal(battery):
    b, _ = battery
    expect(C.INVALID_ARGUMENT, lambda: b.original.Upload(iter([b.v0.UploadRequest(filename="../../etc/x", chunk=b"1")]),
                                                         metadata=b.auth("alice")), "'..' segment")


def test_original_contract_above_the_size_limit(battery):
    b, _ = battery
    messages = (b.v0.UploadRequest(filename="battery/too-big.bin", chunk=bytes(MiB)) for _ in range(65))
    expect(C.OUT_OF_RANGE, lambda: b.original.Upload(messages, metadata=b.auth("alice")), "the most this server accepts")


# --- afterwards ---------------------------------------------------------------------------------------

def test_after_the_battery_the_server_is_healthy_and_the_honest_upload_intact(battery):
    b, alongside = battery
    alongside.finish()
    assert alongside.error is None, alongside.error
    assert object_sha256(b.s3, b.bucket, alongside.key) == hashlib.sha256(alongside.path.read_bytes()).hexdigest()
    assert b.server.process.poll() is None, "the server is still running"
    health_pb2 = b.stubs["health"][0]
    assert b.health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    open_sessions = set()
    for principal in TOKENS:
        for s in b.v1.ListSessions(b.pb.ListSessionsRequest(page_size=1000), metadata=b.auth(principal)).sessions:
            if s.state == b.pb.SESSION_STATE_OPEN:
                open_sessions.add(s.key)
    # Multipart aborts run in the background, at once: give them a moment.
    deadline = time.time() + 20
    while True:
        uploads = b.s3.list_multipart_uploads(Bucket=b.bucket).get("Uploads", [])
        if {u["Key"] for u in uploads} <= open_sessions or time.time() > deadline:
            break
        time.sleep(0.1)
    assert {u["Key"] for u in uploads} <= open_sessions, "no multipart upload outlives its session"
