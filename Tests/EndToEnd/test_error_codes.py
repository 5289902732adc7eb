"""Every stable error code in the README's table, driven once end to end: a real server process
(with SeaweedFS, and PostgreSQL where the code needs it), an independent grpcio client, and the
gRPC status, the `uploader-error-code` trailer and the message checked against the table.

A code added to the table without a case here fails `test_every_code_in_the_readme_has_a_case`, and
a code added to `UploadError.Code` without a row in the table fails `test_the_readme_lists_every_code`."""
import hashlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid

import grpc
import pytest

from conftest import ROOT
from sessions_client import MiB
from tcp_proxy import TCPProxy

PART = 5 * MiB
TOKEN = "error-codes-token"


def readme_codes():
    """{error code: gRPC status name} from the README's error table."""
    table = {}
    with open(os.path.join(ROOT, "README.md")) as f:
        for line in f:
            match = re.match(r"\| .+ \| `([A-Z_]+)` \| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|$", line.strip())
            if match:
                for code in re.findall(r"`([A-Z_]+)`", match.group(2)):
                    table[code] = match.group(1)
    return table


class World:
    """What a case needs: the stubs, S3, and servers started for it."""

    def __init__(self, v1, start_server, s3, bucket, s3_settings, tmp_path):
        self.pb, self.grpc = v1
        self.start_server, self.s3, self.bucket = start_server, s3, bucket
        self.s3_settings, self.tmp_path = s3_settings, tmp_path
        self.proxies = []

    def server(self, *flags, s3_endpoint=None, local=False):
        """A server on the test's bucket, or on the local directory store (the embedded default)."""
        bucket = () if local else ("--s3-bucket", self.bucket)
        return self.start_server(*bucket, *flags, s3_endpoint=s3_endpoint)

    def stub(self, server):
        return self.grpc.ResumableUploadsStub(grpc.insecure_channel(server.address))

    def proxy(self, host, port):
        proxy = TCPProxy(host, port)
        self.proxies.append(proxy)
        return proxy

    def create(self, stub, size=PART + 10, **extra):
        return stub.CreateSession(self.pb.CreateSessionRequest(
            key=f"codes/{uuid.uuid4().hex}", size=size, part_size=PART, **extra))

    def stub_session(self, stub, session):
        """The server's view of `session` now."""
        return stub.GetSession(self.pb.GetSessionRequest(session_id=session.id))

    def wait_durable(self, stub, session, received, stream=None):
        """Waits until part 1 of `session` holds `received` durable bytes (or `stream` failed)."""
        until(lambda: self.stub_session(stub, session).parts[0].received_bytes >= received
              or (stream is not None and stream.error is not None), f"{received} durable bytes")
        if stream is not None and stream.error is not None:
            raise AssertionError(f"the stream failed: {stream.error.details()}")

    def chunk(self, session, part=1, offset=0, data=b"x", last=False, digest=b""):
        return self.pb.PartChunk(session_id=session.id, part_number=part, offset=offset, data=data, last=last,
                                 part_sha256=digest)


class Stream:
    """An UploadParts stream whose chunks the test sends one at a time, read on a thread."""

    def __init__(self, stub, metadata=None):
        self.chunks = queue.Queue()
        self.call = stub.UploadParts(iter(self.chunks.get, None), metadata=metadata)
        self.events = queue.Queue()
        self.error = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def send(self, chunk):
        self.chunks.put(chunk)

    def end(self):
        self.chunks.put(None)

    def wait_for(self, matches, timeout=30):
        """Waits for an event that `matches`; fails if the stream ends first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if matches(self.events.get(timeout=0.1)):
                    return
            except queue.Empty:
                if not self.reader.is_alive():
                    raise AssertionError(f"the stream ended: {self.error and self.error.details()}")
        raise AssertionError("timed out waiting for the stream's event")

    def outcome(self, timeout=30):
        """The error the stream ended with (None if it ended well)."""
        self.reader.join(timeout)
        assert not self.reader.is_alive(), "the stream did not end"
        return self.error

    def _read(self):
        try:
            for event in self.call:
                self.events.put(event)
        except grpc.RpcError as error:
            self.error = error


def fails(call):
    """The grpc.RpcError `call` raises (a response stream is read to its end)."""
    with pytest.raises(grpc.RpcError) as failure:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "ListFields"):
            list(result)
    return failure.value


def until(condition, what, timeout=20):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


CASES = {}


def case(code, message):
    """Registers the function that drives `code`; its error's details must contain `message`."""
    def register(function):
        CASES[code] = (function, message)
        return function
    return register


@case("INVALID_KEY", "segment")
def invalid_key(w):
    stub = w.stub(w.server())
    return fails(lambda: stub.CreateSession(w.pb.CreateSessionRequest(key="a/../b", size=10)))


@case("INVALID_REQUEST", "got part 0")
def invalid_request(w):
    stub = w.stub(w.server())
    session = w.create(stub)
    return fails(lambda: stub.UploadParts(iter([w.chunk(session, part=0)])))


@case("UNAUTHENTICATED", "requires a token")
def unauthenticated(w):
    tokens = w.tmp_path / "tokens"
    tokens.write_text(f"alice {hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    stub = w.stub(w.server("--auth-tokens", str(tokens)))
    return fails(lambda: stub.ListSessions(w.pb.ListSessionsRequest()))


@case("OBJECT_TOO_LARGE", "accepts at most")
def object_too_large(w):
    stub = w.stub(w.server("--max-object-size", "64MiB"))
    return fails(lambda: w.create(stub, size=65 * MiB))


@case("TOO_MANY_SESSIONS", "--max-sessions-per-principal")
def too_many_sessions(w):
    stub = w.stub(w.server("--max-sessions-per-principal", "1"))
    w.create(stub)
    return fails(lambda: w.create(stub))


@case("TOO_MANY_STREAMS", "--max-streams")
def too_many_streams(w):
    stub = w.stub(w.server("--max-streams", "1", "--ack-bytes", "64KiB"))
    session = w.create(stub)
    first = Stream(stub)
    first.send(w.chunk(session, data=b"x" * MiB))
    w.wait_durable(stub, session, MiB, first)
    try:
        return fails(lambda: stub.UploadParts(iter([w.chunk(session, part=2)])))
    finally:
        first.end()


@case("IDLE_TIMEOUT", "sent nothing")
def idle_timeout(w):
    stub = w.stub(w.server("--idle-stream-timeout", "1s"))
    silent = Stream(stub)
    return silent.outcome()


@case("STORAGE_UNAVAILABLE", "unreachable")
def storage_unavailable(w):
    upstream = urllib.parse.urlparse(w.s3_settings["endpoint"])
    s3 = w.proxy(upstream.hostname, upstream.port)
    stub = w.stub(w.server("--s3-max-attempts", "1", s3_endpoint=s3.endpoint))
    s3.down("refuse")
    return fails(lambda: w.create(stub))


@case("DATABASE_UNAVAILABLE", "database")
def database_unavailable(w):
    base = os.environ.get("UPLOADER_TEST_POSTGRES_URL")
    if not base:
        pytest.fail("UPLOADER_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL")
    schema = "codes_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", base, "-X", "-q", "-c", f"CREATE SCHEMA {schema}"], check=True, capture_output=True)
    url = urllib.parse.urlparse(base)
    database = w.proxy(url.hostname, url.port)
    through = url._replace(netloc=f"{url.username}@127.0.0.1:{database.port}").geturl()
    stub = w.stub(w.server("--database", f"{through}?search_path={schema}"))
    session = w.create(stub)
    database.down("refuse")
    return fails(lambda: stub.GetSession(w.pb.GetSessionRequest(session_id=session.id)))


@case("DRAINING", "shutting down")
def draining(w):
    server = w.server("--drain-timeout", "20s", "--ack-bytes", "64KiB")
    stub = w.stub(server)
    session = w.create(stub)
    stream = Stream(stub)
    stream.send(w.chunk(session, data=b"x" * MiB))
    w.wait_durable(stub, session, MiB, stream)
    server.process.send_signal(signal.SIGTERM)
    until(lambda: "draining" in server.output().lower() or server.process.poll() is not None, "the drain")
    # The stream may finish its part (in chunks below the 4 MiB message limit); it ends at the
    # part boundary.
    for offset in range(MiB, PART, MiB):
        stream.send(w.chunk(session, offset=offset, data=b"x" * MiB, last=offset + MiB == PART,
                            digest=hashlib.sha256(b"x" * PART).digest() if offset + MiB == PART else b""))
    # No new call reaches a draining server: the stream's own progress says the part is in.
    stream.wait_for(lambda event: event.progress.part_number == 1 and event.progress.received_bytes == PART)
    stream.send(w.chunk(session, part=2, data=b"y" * 10, last=True))
    return stream.outcome()


@case("STORAGE_REJECTED", "a directory of that name exists")
def storage_rejected(w):
    # The local directory store cannot put an object where a "directory" of objects is.
    stub = w.stub(w.server(local=True))
    data = b"z" * 10
    inner = stub.CreateSession(w.pb.CreateSessionRequest(key="folder/inner", size=len(data)))
    outer = stub.CreateSession(w.pb.CreateSessionRequest(key="folder", size=len(data)))
    for session in (inner, outer):
        list(stub.UploadParts(iter([w.pb.PartChunk(session_id=session.id, part_number=1, data=data, last=True,
                                                   part_sha256=hashlib.sha256(data).digest())])))
    digest = hashlib.sha256(data).digest()
    stub.CompleteSession(w.pb.CompleteSessionRequest(session_id=inner.id, sha256=digest, part_sha256s=[digest]))
    return fails(lambda: stub.CompleteSession(w.pb.CompleteSessionRequest(
        session_id=outer.id, sha256=digest, part_sha256s=[digest])))


@case("DIGEST_MISMATCH", "the part was reset, send it again")
def digest_mismatch(w):
    stub = w.stub(w.server())
    session = w.create(stub)
    return fails(lambda: stub.UploadParts(iter([w.chunk(session, part=2, data=b"y" * 10, last=True,
                                                         digest=bytes(32))])))


@case("SPOOL_FULL", "staging area is full")
def spool_full(w):
    stub = w.stub(w.server("--spool-limit", "6MiB", "--max-forwarded-parts", "0", "--ack-bytes", "64KiB"))
    first, second = w.create(stub), w.create(stub)
    holding = Stream(stub)  # reserves part 1's 5 MiB, and keeps it while the stream is open
    holding.send(w.chunk(first, data=b"x" * MiB))
    w.wait_durable(stub, first, MiB, holding)
    try:
        return fails(lambda: stub.UploadParts(iter([w.chunk(second)])))
    finally:
        holding.end()


@case("SESSION_NOT_FOUND", "no session")
def session_not_found(w):
    stub = w.stub(w.server())
    return fails(lambda: stub.GetSession(w.pb.GetSessionRequest(session_id="0" * 32)))


@case("OBJECT_MISSING", "not in the bucket any more")
def object_missing(w):
    stub = w.stub(w.server())
    session = w.create(stub, size=0)  # an empty object: completed with no part
    stub.CompleteSession(w.pb.CompleteSessionRequest(session_id=session.id, sha256=hashlib.sha256(b"").digest()))
    w.s3.delete_object(Bucket=w.bucket, Key=session.key)
    return fails(lambda: stub.VerifySession(w.pb.VerifySessionRequest(session_id=session.id)))


@case("OFFSET_GAP", "leaves a gap")
def offset_gap(w):
    stub = w.stub(w.server())
    session = w.create(stub)
    return fails(lambda: stub.UploadParts(iter([w.chunk(session, offset=4096)])))


@case("SESSION_CLOSED", "is aborted")
def session_closed(w):
    stub = w.stub(w.server())
    session = w.create(stub)
    stub.AbortSession(w.pb.AbortSessionRequest(session_id=session.id))
    return fails(lambda: stub.UploadParts(iter([w.chunk(session)])))


@case("PARTS_MISSING", "missing 2 part(s)")
def parts_missing(w):
    stub = w.stub(w.server())
    session = w.create(stub)
    return fails(lambda: stub.CompleteSession(w.pb.CompleteSessionRequest(
        session_id=session.id, sha256=bytes(32), part_sha256s=[bytes(32)] * 2)))


@case("IDEMPOTENCY_CONFLICT", "use a new key")
def idempotency_conflict(w):
    stub = w.stub(w.server())
    w.create(stub, idempotency_key="nightly-backup")
    return fails(lambda: w.create(stub, idempotency_key="nightly-backup"))  # another key, so another object


@case("SESSION_IN_PROGRESS", "continue it with UploadParts")
def session_in_progress(w):
    stub = w.stub(w.server())
    begun = w.create(stub, size=5, idempotency_key="photo-1")
    data = b"hello"
    return fails(lambda: stub.UploadObject(w.pb.UploadObjectRequest(
        session=w.pb.CreateSessionRequest(key=begun.key, size=5, idempotency_key="photo-1"),
        data=data, sha256=hashlib.sha256(data).digest())))


@case("PART_TAKEN_OVER", "taken over")
def part_taken_over(w):
    stub = w.stub(w.server("--ack-bytes", "64KiB"))
    session = w.create(stub)
    old = Stream(stub)
    old.send(w.chunk(session, data=b"x" * MiB))
    w.wait_durable(stub, session, MiB, old)
    new = Stream(stub)  # a reconnect: it continues where the durable bytes end
    new.send(w.chunk(session, offset=MiB, data=b"x" * MiB))
    w.wait_durable(stub, session, 2 * MiB, new)
    old.send(w.chunk(session, offset=MiB, data=b"x" * MiB))
    try:
        return old.outcome()
    finally:
        new.end()


@pytest.fixture
def world(v1, start_server, s3, bucket, s3_settings, tmp_path):
    w = World(v1, start_server, s3, bucket, s3_settings, tmp_path)
    yield w
    for proxy in w.proxies:
        proxy.close()


def test_the_readme_lists_every_code():
    with open(os.path.join(ROOT, "Sources/UploadCore/UploadError.swift")) as f:
        declared = set(re.findall(r'case \S+ = "([A-Z_]+)"', f.read()))
    assert len(declared) >= 20, f"UploadError.Code was not found: {declared}"
    # No request causes these on purpose; the README says so under the table.
    assert declared - set(readme_codes()) == {"CANCELLED", "INTERNAL"}


def test_every_code_in_the_readme_has_a_case():
    table = readme_codes()
    assert len(table) >= 18, f"the README's error table was not found or shrank: {table}"
    assert set(table) == set(CASES), f"codes without a case: {set(table) - set(CASES)}; cases for no code: {set(CASES) - set(table)}"


@pytest.mark.parametrize("code", sorted(CASES))
def test_error_code_end_to_end(world, code):
    drive, message = CASES[code]
    error = drive(world)
    assert error is not None, f"{code}: the call succeeded"
    status = readme_codes()[code]
    trailer = dict(error.trailing_metadata() or ()).get("uploader-error-code")
    assert (error.code().name, trailer) == (status, code), error.details()
    assert message.lower() in (error.details() or "").lower(), error.details()
