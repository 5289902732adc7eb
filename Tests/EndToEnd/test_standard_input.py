"""`uploader upload -`: standard input into a session of unknown size, with the server killed
mid-stream, the uploader killed mid-stream, and the sizes at the edges."""
import hashlib
import json
import os
import subprocess
import threading
import time

from conftest import object_sha256
from test_cli import free_port, status
from test_resumable_sessions import no_multipart_uploads

MiB = 1 << 20


def start_piped(cli, server, key, *extra):
    binary = os.path.join(os.path.dirname(os.environ["UPLOADER_SERVER_BIN"]), "uploader")
    state = cli.state_dir
    env = dict(os.environ, UPLOADER_STATE_DIR=str(state), UPLOADER_SERVER=server)
    return subprocess.Popen([binary, "upload", "-", "--key", key, "--no-progress", *extra], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def feed(process, size, seed, rate_mib_per_s):
    """Writes `size` deterministic bytes into the process's stdin at about `rate`; returns their sha256."""
    digest = hashlib.sha256()
    block = 1 * MiB

    def run():
        sent = 0
        start = time.time()
        while sent < size:
            n = min(block, size - sent)
            data = hashlib.shake_256(f"{seed}-{sent}".encode()).digest(n)
            digest.update(data)
            try:
                process.stdin.write(data)
            except BrokenPipeError:
                return
            sent += n
            ahead = sent / (rate_mib_per_s * MiB) - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
        process.stdin.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, digest


def finish(process, timeout=120):
    """Waits for the uploader (whose stdin the feeder closed) and returns its stdout and stderr."""
    process.wait(timeout=timeout)
    return process.stdout.read(), process.stderr.read()


def server_durable(cli, server, minimum, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        uploads = status(cli, server)
        if uploads and uploads[0].get("session_id"):
            row = json.loads(cli("status", uploads[0]["id"], "--json", server=server).stdout)
            if row["committed_bytes"] >= minimum:
                return row
        time.sleep(0.1)
    raise AssertionError("the stream made no progress")


def test_a_pipe_survives_a_server_kill(cli, start_server, s3, bucket):
    port = free_port()
    server = start_server("--s3-bucket", bucket, listen=f"127.0.0.1:{port}")
    upload = start_piped(cli, server.address, "pipe/killed.bin")
    writer, digest = feed(upload, 40 * MiB, "kill", rate_mib_per_s=10)
    server_durable(cli, server.address, 8 * MiB)
    server.kill()
    time.sleep(1)
    start_server("--s3-bucket", bucket, listen=f"127.0.0.1:{port}", data_dir=server.data_dir)
    writer.join(timeout=120)
    stdout, stderr = finish(upload)
    assert upload.returncode == 0, stderr.decode()
    assert b"retrying in" in stderr, stderr.decode()
    assert b"uploaded standard input to pipe/killed.bin (40.0 MiB" in stdout, stdout.decode()
    assert object_sha256(s3, bucket, "pipe/killed.bin") == digest.hexdigest()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_empty_and_exactly_one_part(cli, start_server, s3, bucket):
    server = start_server("--s3-bucket", bucket)
    for key, size in [("pipe/empty.bin", 0), ("pipe/one-part.bin", 8 * MiB), ("pipe/one-byte-more.bin", 8 * MiB + 1)]:
        upload = start_piped(cli, server.address, key)
        writer, digest = feed(upload, size, key, rate_mib_per_s=1000)
        writer.join(timeout=60)
        stdout, stderr = finish(upload, timeout=60)
        assert upload.returncode == 0, stderr.decode()
        assert object_sha256(s3, bucket, key) == digest.hexdigest(), key
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == size
    rows = {row["key"]: row for row in status(cli, server.address)}
    assert rows["pipe/one-part.bin"]["size"] == 8 * MiB and rows["pipe/one-part.bin"]["state"] == "completed"
    assert rows["pipe/empty.bin"]["size"] == 0


def test_a_dead_uploader_leaves_a_session_to_abort_not_to_resume(cli, start_server, s3, bucket):
    server = start_server("--s3-bucket", bucket)
    upload = start_piped(cli, server.address, "pipe/orphan.bin")
    writer, _ = feed(upload, 64 * MiB, "orphan", rate_mib_per_s=8)
    row = server_durable(cli, server.address, 4 * MiB)
    upload.kill()
    upload.wait()
    writer.join()

    row = status(cli, server.address, row["id"])
    assert row["resumable"] is False and row["file"] == "-"
    table = cli("status", server=server.address).stdout
    assert "not resumable" in table and f"uploader abort {row['id']}" in table
    refused = cli("resume", row["id"], server=server.address, check=False)
    assert refused.returncode == 1 and "standard input, which cannot be read again" in refused.stderr

    cli("abort", row["id"], server=server.address)
    assert no_multipart_uploads(s3, bucket)
    assert status(cli, server.address, row["id"])["state"] == "aborted"


def test_standard_input_needs_a_key(cli):
    result = cli("upload", "-", server="127.0.0.1:1", check=False)
    assert result.returncode == 2 and "needs --key" in result.stderr
