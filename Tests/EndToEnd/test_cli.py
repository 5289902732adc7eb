"""The uploader CLI as users run it, against the real server and SeaweedFS."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import object_sha256

MiB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(cli, server, upload_id=None):
    args = ["status", "--json"] + ([upload_id] if upload_id else [])
    return json.loads(cli(*args, server=server).stdout)


def wait_until_acknowledged(cli, server, minimum, timeout=30, process=None):
    deadline = time.time() + timeout
    uploads = []
    while time.time() < deadline:
        uploads = status(cli, server)
        if uploads and uploads[0]["committed_bytes"] >= minimum:
            return uploads[0]
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    ended = "" if process is None or process.poll() is None else f"; the uploader exited {process.returncode}: {process.stderr.read()[-2000:]}"
    raise AssertionError(f"the upload made no progress: {uploads}{ended}")


def test_client_killed_then_resumed(cli, start_server, random_file, s3, bucket):
    path, digest = random_file(64 * MiB)
    server = start_server("--s3-bucket", bucket)
    upload = cli.start("upload", str(path), "--key", "cli/killed.bin", "--limit-rate", "16MiB", "--no-progress",
                       server=server.address)
    pending = wait_until_acknowledged(cli, server.address, 8 * MiB)
    upload.send_signal(signal.SIGKILL)
    upload.wait()

    pending = status(cli, server.address)[0]
    assert pending["state"] == "uploading"
    assert 0 < pending["committed_bytes"] < 64 * MiB
    assert pending["sha256"] == digest

    human = cli("status", server=server.address).stdout
    assert pending["id"] in human and "uploading" in human and f"uploader resume {pending['id']}" in human

    result = cli("resume", pending["id"], "--json", server=server.address)
    done = json.loads(result.stdout)
    assert done["state"] == "completed" and done["committed_bytes"] == 64 * MiB
    assert object_sha256(s3, bucket, "cli/killed.bin") == digest
    assert status(cli, server.address, pending["id"])["state"] == "completed"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_file_modified_before_resume_is_refused(cli, start_server, random_file, tmp_path):
    source, _ = random_file(32 * MiB)
    path = tmp_path / "changing.bin"
    path.write_bytes(source.read_bytes())
    server = start_server()
    upload = cli.start("upload", str(path), "--limit-rate", "8MiB", "--no-progress", server=server.address)
    pending = wait_until_acknowledged(cli, server.address, 4 * MiB, process=upload)
    upload.send_signal(signal.SIGINT)
    _, stderr = upload.communicate(timeout=30)
    assert upload.returncode == 130
    assert f"uploader resume {pending['id']}" in stderr

    with open(path, "r+b") as f:
        f.seek(100)
        f.write(b"changed")
    result = cli("resume", pending["id"], server=server.address, check=False)
    assert result.returncode == 1
    assert "changed since the upload started" in result.stderr and "modified" in result.stderr


def test_upload_survives_a_server_restart(cli, start_server, random_file, s3, bucket):
    path, digest = random_file(48 * MiB)
    port = free_port()
    server = start_server("--s3-bucket", bucket, listen=f"127.0.0.1:{port}")
    upload = cli.start("upload", str(path), "--key", "cli/restart.bin", "--limit-rate", "12MiB", "--no-progress",
                       server=server.address)
    wait_until_acknowledged(cli, server.address, 8 * MiB)
    server.kill()
    time.sleep(1)
    start_server("--s3-bucket", bucket, listen=f"127.0.0.1:{port}", data_dir=server.data_dir)
    stdout, stderr = upload.communicate(timeout=120)
    assert upload.returncode == 0, stderr
    # A person's message: what happened, when the next try is, which try it is; no transport internals.
    assert re.search(r"the connection to the server was lost or refused; retrying in \d+\.\d s \(attempt 1\)", stderr), stderr
    assert "transient failure" not in stderr and "Channel" not in stderr, stderr
    assert "uploaded" in stdout
    assert object_sha256(s3, bucket, "cli/restart.bin") == digest


def test_several_servers_skip_one_that_cannot_be_reached(cli, start_server, random_file, s3, bucket):
    path, digest = random_file(24 * MiB)
    server = start_server("--s3-bucket", bucket)
    # Every connection starts at another server of the list: half of them at the dead one.
    servers = f"127.0.0.1:{free_port()},{server.address}"
    result = cli("upload", str(path), "--key", "cli/several.bin", "--parallel", "4", "--no-progress",
                 server=servers)
    assert "uploaded" in result.stdout
    assert object_sha256(s3, bucket, "cli/several.bin") == digest
    named = cli("status", server="127.0.0.1:1,localhost:2", check=False)
    assert named.returncode == 2 and "takes IPv4 addresses" in named.stderr, named.stderr


def test_usage_errors_exit_2_and_help_has_examples(cli):
    assert cli("upload", server="127.0.0.1:1", check=False).returncode == 2
    assert cli("upload", "x", "--part-size", "lots", server="127.0.0.1:1", check=False).returncode == 2
    assert cli("status", server="nonsense", check=False).returncode == 2
    refused = cli("upload", "x", "--parallel", "2", "--connections", "3", server="127.0.0.1:1", check=False)
    assert refused.returncode == 2 and "--connections (3) must not exceed --parallel (2)" in refused.stderr
    for flags, message in [(["--max-connections", "0"], "--max-connections must be from 1 to 256"),
                           (["--congestion-control", "b b r"], "is not an algorithm's name")]:
        refused = cli("upload", "x", *flags, server="127.0.0.1:1", check=False)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    for command in ["upload", "resume", "status", "abort"]:
        help_text = cli(command, "--help", server="127.0.0.1:1").stdout
        assert "Examples:" in help_text, command


def test_a_server_that_never_answers_is_named_and_the_upload_kept(cli, random_file):
    path, _ = random_file(1 * MiB)
    result = cli("upload", str(path), "--no-progress", server="127.0.0.1:1", check=False, timeout=60)
    assert result.returncode == 1
    assert "cannot reach the server at 127.0.0.1:1 (nothing answered in 5 tries)" in result.stderr, result.stderr
    upload_id = result.stderr.split("uploader resume ")[1].split()[0].strip("`,")
    assert status(cli, "127.0.0.1:1", upload_id)["state"] == "pending"


def test_connection_options_may_come_before_the_subcommand(cli, start_server, random_file, s3, bucket, tmp_path):
    path, digest = random_file(6 * MiB)
    server = start_server("--s3-bucket", bucket)
    binary = os.path.join(os.path.dirname(os.environ["UPLOADER_SERVER_BIN"]), "uploader")
    state = tmp_path / "before"
    # No UPLOADER_SERVER in the environment: the options before the subcommand must be used.
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPLOADER_")}
    uploaded = subprocess.run([binary, "--server", server.address, f"--state-dir={state}", "upload", str(path),
                               "--key", "before.bin", "--no-progress", "--json"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["schema_version"] == 1
    assert object_sha256(s3, bucket, "before.bin") == digest
    listed = subprocess.run([binary, "--state-dir", str(state), "--server", server.address, "status", "--json"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(row["schema_version"], row["key"], row["state"]) for row in rows] == [(1, "before.bin", "completed")]
    # Something else before the subcommand is still a usage error.
    wrong = subprocess.run([binary, "--parallel", "2", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "--parallel" in wrong.stderr


def test_shell_completion_scripts(cli):
    for shell in ["bash", "zsh", "fish"]:
        script = cli("--generate-completion-script", shell, server="127.0.0.1:1").stdout
        # fish names options without their dashes (-l 'server').
        option = "-l 'server'" if shell == "fish" else "--server"
        assert "upload" in script and "resume" in script and option in script, shell


def test_resume_of_an_upload_completed_by_a_client_that_died_before_recording_it(cli, start_server, random_file,
                                                                               s3, bucket):
    """The window between CompleteSession and the journal's `completed`: a client killed there
    leaves the journal saying uploading; resume finds the session completed and records it."""
    import sqlite3
    path, digest = random_file(6 * MiB)
    server = start_server("--s3-bucket", bucket)
    done = json.loads(cli("upload", str(path), "--key", "cli/window.bin", "--json", server=server.address).stdout)
    with sqlite3.connect(cli.state_dir / "journal.sqlite") as db:
        db.execute("UPDATE uploads SET state = 'uploading', finished_at = NULL WHERE id = ?", (done["id"],))
    recorded = lambda: sqlite3.connect(cli.state_dir / "journal.sqlite").execute(  # noqa: E731
        "SELECT state FROM uploads WHERE id = ?", (done["id"],)).fetchone()[0]
    assert recorded() == "uploading"

    resumed = json.loads(cli("resume", done["id"], "--json", server=server.address).stdout)
    assert resumed["state"] == "completed" and resumed["sha256"] == digest
    assert recorded() == "completed"
    assert object_sha256(s3, bucket, "cli/window.bin") == digest
