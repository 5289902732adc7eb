"""Operating the server: health checks, graceful shutdown, configuration errors, JSON logs."""
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import grpc
import pytest

from conftest import ROOT, object_sha256
from test_cli import wait_until_acknowledged

MiB = 1 << 20


def test_health_check_reports_serving(health, start_server, bucket):
    pb2, pb2_grpc = health
    server = start_server("--s3-bucket", bucket)
    stub = pb2_grpc.HealthStub(grpc.insecure_channel(server.address))
    for service in ["", "uploader.FileUploader", "uploader.v1.ResumableUploads"]:
        assert stub.Check(pb2.HealthCheckRequest(service=service)).status == pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as failure:
        stub.Check(pb2.HealthCheckRequest(service="no.such.Service"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    first = next(stub.Watch(pb2.HealthCheckRequest(service="")))
    assert first.status == pb2.HealthCheckResponse.SERVING


def test_sigterm_drains_exits_0_and_the_upload_completes_after_restart(cli, start_server, random_file, s3, bucket):
    path, digest = random_file(48 * MiB)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server("--s3-bucket", bucket, "--drain-timeout", "2s", listen=f"127.0.0.1:{port}")
    upload = cli.start("upload", str(path), "--key", "drained.bin", "--limit-rate", "12MiB", "--no-progress",
                       server=server.address)
    acknowledged = wait_until_acknowledged(cli, server.address, 8 * MiB)["committed_bytes"]
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    # The drain timeout ended the running upload: the server did not wait for it to finish.
    assert upload.poll() is None, "the upload was over before the server stopped"
    assert "draining" in server.output()

    start_server("--s3-bucket", bucket, listen=f"127.0.0.1:{port}", data_dir=server.data_dir)
    stdout, stderr = upload.communicate(timeout=120)
    assert upload.returncode == 0, stderr
    assert object_sha256(s3, bucket, "drained.bin") == digest
    assert acknowledged < 48 * MiB, "the upload was complete before SIGTERM"
    assert "retrying in" in stderr, "the client did not reconnect to the restarted server"



@pytest.mark.parametrize("args, env, expected", [
    (["--session-ttl", "banana"], {}, "--session-ttl"),
    (["--listen", "nowhere"], {}, "--listen"),
    ([], {"UPLOADER_MAX_OBJECT_SIZE": "lots"}, "--max-object-size"),
    (["--s3-endpoint", "http://x"], {}, "--s3-bucket"),
    (["--log-format", "xml"], {}, "log-format"),
])
def test_bad_settings_are_named(tmp_path, args, env, expected):
    result = subprocess.run([os.environ["UPLOADER_SERVER_BIN"], "--data-dir", str(tmp_path), *args],
                            env=dict(os.environ, **env), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr


def test_json_logs_and_settings_from_the_environment(tmp_path):
    env = dict(os.environ, UPLOADER_LOG_FORMAT="json", UPLOADER_LISTEN="127.0.0.1:0", UPLOADER_DATA_DIR=str(tmp_path / "d"))
    process = subprocess.Popen([os.environ["UPLOADER_SERVER_BIN"]], env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        record = json.loads(line)
        assert record["level"] == "notice" and "listening on 127.0.0.1:" in record["message"]
        assert record["data_dir"] == str(tmp_path / "d")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_every_kind_of_setting_comes_from_the_environment(tmp_path):
    # A size, an option of the access group and a flag: the variable names come from the options.
    env = dict(os.environ, UPLOADER_LOG_FORMAT="json", UPLOADER_LISTEN="0.0.0.0:0", UPLOADER_DATA_DIR=str(tmp_path / "d"),
               UPLOADER_HTTP2_WINDOW="1MiB", UPLOADER_MAX_STREAMS="7", UPLOADER_ALLOW_UNAUTHENTICATED="1")
    process = subprocess.Popen([os.environ["UPLOADER_SERVER_BIN"]], env=env, stderr=subprocess.PIPE, text=True)
    try:
        record = json.loads(process.stderr.readline())
        assert "listening on 0.0.0.0:" in record["message"], record
        assert record["http2_window"] == "1MiB" and record["upload_streams"] == "7", record
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def scrape(url):
    from urllib.request import urlopen
    from prometheus_client.parser import text_string_to_metric_families
    text = urlopen(url, timeout=5).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_exactly_the_bytes_of_an_upload(cli, start_server, random_file, bucket):
    path, _ = random_file(20 * MiB)
    server = start_server("--s3-bucket", bucket, "--metrics-listen", "127.0.0.1:0")
    url = [line.split("metrics on ")[1].split()[0] for line in server.output().splitlines() if "metrics on " in line]
    deadline = time.time() + 10
    while not url and time.time() < deadline:
        time.sleep(0.1)
        url = [line.split("metrics on ")[1].split()[0] for line in server.output().splitlines() if "metrics on " in line]
    assert url, server.output()
    before = scrape(url[0])
    # 8 MiB parts, as asked: the default would shrink them towards 5 MiB to spread over more connections.
    cli("upload", str(path), "--part-size", "8MiB", "--no-progress", server=server.address)
    after = scrape(url[0])

    def delta(name, labels=()):
        return after.get((name, labels), 0) - before.get((name, labels), 0)

    assert delta("uploader_bytes_received_total") == 20 * MiB
    assert delta("uploader_bytes_committed_total") == 20 * MiB
    assert delta("uploader_parts_committed_total") == 3
    assert ("uploader_active_streams", ()) in after
    # The CLI declares each part's digest with its first byte, so every part went to S3 while it arrived.
    assert delta("uploader_parts_forwarded_total") == 3
    assert any(name == "uploader_object_store_request_duration_seconds_count" and ("operation", "ForwardPart") in labels
               for name, labels in after)
    # The gauges refresh with the health probe (every 5 s): poll until they show the session.
    deadline = time.time() + 30
    gauges = scrape(url[0])
    while gauges.get(("uploader_sessions", (("state", "completed"),))) != 1 and time.time() < deadline:
        time.sleep(0.2)
        gauges = scrape(url[0])
    assert gauges[("uploader_sessions", (("state", "completed"),))] == 1
    assert ("uploader_spool_bytes", ()) in gauges
