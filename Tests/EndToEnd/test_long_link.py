"""Uploads through an emulated long link (scripts/lib/delay_line.py): the server's flow-control
window must let a client keep more than a loopback's worth of bytes in flight, or a long round
trip caps every connection at one window per round trip.

Nothing here is timed: the delay line counts the bytes each connection had on the emulated wire
at once, which a window of W bounds by W whatever the machine's speed."""
import contextlib
import hashlib
import os
import subprocess
import sys
import threading
import time

import grpc
import pytest

from conftest import ROOT, object_sha256
from test_operations import scrape

sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from delay_line import DelayLine  # noqa: E402

MiB = 1 << 20
# 300 ms: even a slow debug-build client sends 4 MiB within one round trip.
RTT_MS = 300


def send_original(proto, address, path, filename):
    pb2, pb2_grpc = proto

    def chunks():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(MiB), b""):
                yield pb2.UploadRequest(filename=filename, chunk=block)

    with grpc.insecure_channel(address) as channel:
        return pb2_grpc.FileUploaderStub(channel).Upload(chunks(), timeout=300)


@contextlib.contextmanager
def long_link(server):
    """A delay line of RTT_MS in front of `server`, closed afterwards."""
    host, port = server.address.rsplit(":", 1)
    link = DelayLine((host, int(port)), rtt_ms=RTT_MS)
    try:
        yield link
    finally:
        link.close()


def test_the_default_window_keeps_more_than_4_mib_in_flight(proto, start_server, random_file, tmp_path):
    path, digest = random_file(48 * MiB)
    with long_link(start_server()) as link:
        response = send_original(proto, link.address, path, "long/default.bin")
    assert response.success, response.message
    stored = tmp_path / "data0" / "store" / "objects" / "long" / "default.bin"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert link.most_in_flight() > 4 * MiB, f"at most {link.most_in_flight()} bytes in flight"


def test_the_window_flag_bounds_the_bytes_in_flight(proto, start_server, random_file):
    path, _ = random_file(8 * MiB)
    with long_link(start_server("--http2-window", "1MiB")) as link:
        response = send_original(proto, link.address, path, "long/small-window.bin")
    assert response.success, response.message
    # One window, plus at most one frame that was on its way when the window closed.
    assert 0 < link.most_in_flight() <= MiB + 64 * 1024, f"{link.most_in_flight()} bytes in flight"


@pytest.mark.parametrize("flags, connections", [([], 2), (["--connections", "1"], 1)])
def test_cli_streams_spread_over_their_connections_and_fill_them(cli, start_server, random_file, s3, bucket,
                                                                  flags, connections):
    path, digest = random_file(64 * MiB)
    key = f"long/cli-{connections}.bin"
    with long_link(start_server("--s3-bucket", bucket)) as link:
        cli("upload", str(path), "--key", key, "--parallel", "2", *flags, "--no-progress", server=link.address)
    assert object_sha256(s3, bucket, key) == digest
    busy = [n for n in link.in_flight_max if n > 2 * MiB]
    assert len(busy) == connections, f"bytes in flight per connection: {link.in_flight_max}"


def test_the_cli_keeps_within_the_servers_stream_credit(cli, start_server, random_file, tmp_path):
    """A 1 MiB receive budget grants the CLI's one stream 1 MiB: however long the round trip, the
    connection never has more than that (and its framing) on the wire, where the default credit
    lets it carry megabytes (the tests above)."""
    path, digest = random_file(8 * MiB)
    with long_link(start_server("--stream-credit", "1MiB")) as link:
        cli("upload", str(path), "--key", "long/credit.bin", "--parallel", "1", "--no-progress", server=link.address)
    stored = tmp_path / "data0" / "store" / "objects" / "long" / "credit.bin"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert MiB // 2 < link.most_in_flight() <= MiB + 64 * 1024, f"bytes in flight per connection: {link.in_flight_max}"


def test_bad_window_flags_are_refused_with_the_flag_named(tmp_path):
    binary = os.environ["UPLOADER_SERVER_BIN"]
    for args, expected in [
        (["--http2-window", "10KiB"], "--http2-window 10KiB is not a size from 64KiB to 1GiB"),
        (["--http2-window", "16MiB", "--receive-budget", "8MiB"], "--receive-budget 8MiB is not a size of at least one window"),
        (["--stream-credit", "100KiB"], "--stream-credit 100KiB is less than 512KiB"),
    ]:
        result = subprocess.run([binary, "--data-dir", str(tmp_path / "d"), *args], capture_output=True, text=True, timeout=30)
        assert result.returncode != 0
        assert expected in result.stderr, result.stderr


def test_the_receive_budget_limits_upload_streams(proto, start_server):
    # 2 MiB / 1 MiB: two upload streams at once; the third is refused and told which flags set the limit.
    server = start_server("--http2-window", "1MiB", "--receive-budget", "2MiB", "--metrics-listen", "127.0.0.1:0")
    metrics_url = wait_for_metrics_url(server)
    assert "upload_streams=2" in server.output() or '"upload_streams":"2"' in server.output(), server.output()
    pb2, pb2_grpc = proto
    gate = threading.Event()

    def held_chunks():
        yield pb2.UploadRequest(filename="budget/held.bin", chunk=b"x" * 1024)
        gate.wait(60)

    with grpc.insecure_channel(server.address) as channel:
        stub = pb2_grpc.FileUploaderStub(channel)
        held = [stub.Upload.future(held_chunks(), timeout=120) for _ in range(2)]
        try:
            deadline = time.time() + 30
            while scrape(metrics_url).get(("uploader_active_streams", ()), 0) < 2:
                assert time.time() < deadline, "the two held streams never became active"
                time.sleep(0.05)
            try:
                stub.Upload(iter([pb2.UploadRequest(filename="budget/third.bin", chunk=b"y")]), timeout=30)
                raise AssertionError("a third stream was admitted")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                assert "limit of 2 upload streams (--receive-budget / --http2-window)" in error.details()
        finally:
            gate.set()
        for call in held:
            assert call.result().success


def wait_for_metrics_url(server):
    deadline = time.time() + 10
    while time.time() < deadline:
        for line in server.output().splitlines():
            if "metrics on " in line:
                return line.split("metrics on ")[1].split()[0]
        time.sleep(0.05)
    raise AssertionError(f"no metrics address in the log:\n{server.output()}")
