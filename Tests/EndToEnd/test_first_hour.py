"""What a newcomer meets first: no trap in the journal, one way to name an upload, resume that
keeps how the upload was sent, a file changed mid-upload stopped at once, and help that leads."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from test_access import tokens_file
from test_cli import status, wait_until_acknowledged

MiB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uploader(cli, *args, env_server=None, state=None, timeout=120):
    """Runs the CLI without UPLOADER_SERVER (unless `env_server`), so the saved address counts."""
    binary = os.path.join(os.path.dirname(os.environ["UPLOADER_SERVER_BIN"]), "uploader")
    env = {k: v for k, v in os.environ.items() if k != "UPLOADER_SERVER"}
    env["UPLOADER_STATE_DIR"] = str(state or cli.state_dir)
    if env_server:
        env["UPLOADER_SERVER"] = env_server
    return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_wrong_server_is_named_and_resume_server_moves_the_upload(cli, start_server, random_file):
    path, digest = random_file(3 * MiB)
    wrong = f"127.0.0.1:{free_port()}"
    first = uploader(cli, "upload", str(path), "--key", "moved.bin", "--no-progress", "--server", wrong)
    assert first.returncode == 1
    assert f"cannot reach the server at {wrong}" in first.stderr and "--server HOST:PORT" in first.stderr
    upload_id = json.loads(uploader(cli, "status", "--json").stdout)[0]["id"]

    # A plain resume tries the saved address again, and says which, and how to pass another.
    again = uploader(cli, "resume", upload_id, "--no-progress")
    assert again.returncode == 1
    assert f"cannot reach the server at {wrong}" in again.stderr
    assert f"uploader resume {upload_id} --server HOST:PORT" in again.stderr

    server = start_server()
    moved = uploader(cli, "resume", upload_id, "--no-progress", "--server", server.address)
    assert moved.returncode == 0, moved.stderr
    assert f"to {server.address}" in moved.stderr
    row = json.loads(uploader(cli, "status", upload_id, "--json").stdout)
    assert row["state"] == "completed" and row["server"] == server.address and row["sha256"] == digest


def test_a_key_the_server_would_refuse_is_refused_before_anything_is_recorded(cli, start_server, random_file):
    path, _ = random_file(1 * MiB)
    server = start_server()
    refused = cli("upload", str(path), "--key", "../etc/passwd", "--no-progress", server=server.address, check=False)
    assert refused.returncode == 2
    assert "invalid object key" in refused.stderr and "Usage: uploader upload" in refused.stderr
    assert status(cli, server.address) == []


def test_an_upload_the_server_refuses_outright_leaves_no_row(cli, start_server, random_file, tmp_path):
    path, _ = random_file(1 * MiB)
    tokens = tokens_file(tmp_path / "tokens", {"alice": "alice-token"})
    server = start_server("--auth-tokens", str(tokens))
    refused = cli("upload", str(path), "--no-progress", "--token", "wrong", server=server.address, check=False)
    assert refused.returncode == 1
    assert "--token" in refused.stderr and "unauthenticated" not in refused.stderr
    assert status(cli, server.address) == []


def test_an_unknown_id_gets_the_same_answer_from_every_subcommand(cli, start_server, random_file):
    path, _ = random_file(1 * MiB)
    server = start_server()
    cli("upload", str(path), "--no-progress", server=server.address)  # the journal exists
    expected = f"no upload deadbeef00 in the journal at {cli.state_dir}"
    for args in (["resume", "deadbeef00"], ["abort", "deadbeef00"], ["status", "deadbeef00"],
                 ["verify", "deadbeef00"], ["forget", "deadbeef00"]):
        result = cli(*args, server=server.address, check=False)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "32 lowercase hex" not in result.stderr


def test_read_only_commands_create_nothing(cli, tmp_path):
    state = tmp_path / "never-made"
    unreachable = f"127.0.0.1:{free_port()}"
    listed = uploader(cli, "status", state=state)
    assert listed.returncode == 0 and "no uploads" in listed.stdout
    for args in (["status", "0123456789"], ["abort", "0123456789"], ["verify", "0123456789"],
                 ["forget", "--finished"]):
        result = uploader(cli, *args, "--server", unreachable, state=state)
        assert result.returncode in (0, 1), (args, result.stderr)
        assert "Could not establish" not in result.stderr and "unavailable" not in result.stderr
    assert not state.exists()


def test_resume_keeps_the_rate_limit_it_was_started_with(cli, start_server, random_file):
    path, digest = random_file(24 * MiB)
    server = start_server()
    upload = cli.start("upload", str(path), "--key", "slow.bin", "--limit-rate", "4MiB", "--no-progress",
                       server=server.address)
    pending = wait_until_acknowledged(cli, server.address, 1, process=upload)
    upload.send_signal(signal.SIGKILL)
    upload.wait()
    resumed = cli("resume", pending["id"], "--no-progress", server=server.address)
    assert "at most 4.0 MiB/s" in resumed.stderr, resumed.stderr
    assert f"resuming {pending['id']} at " in resumed.stderr and " of 24.0 MiB" in resumed.stderr
    assert status(cli, server.address, pending["id"])["sha256"] == digest


def test_a_file_overwritten_mid_upload_stops_at_once_and_leaves_nothing(cli, start_server, random_file, tmp_path,
                                                                      s3, bucket):
    source, _ = random_file(64 * MiB)
    path = tmp_path / "changing.bin"
    path.write_bytes(source.read_bytes())
    server = start_server("--s3-bucket", bucket)
    upload = cli.start("upload", str(path), "--key", "changing.bin", "--part-size", "8MiB", "--limit-rate", "8MiB",
                       "--no-progress", server=server.address)
    wait_until_acknowledged(cli, server.address, 1, process=upload)

    def overwrite():  # 1 MiB in the middle of part 6 (40-48 MiB), before it is sent
        with open(path, "r+b") as f:
            f.seek(44 * MiB)
            f.write(os.urandom(MiB))
    threading.Thread(target=overwrite).start()
    _, stderr = upload.communicate(timeout=120)
    assert upload.returncode == 1, stderr
    assert f"{path} changed during the upload: part 6, 40.0 MiB" in stderr, stderr
    # The part may first be reported missing (its commit failed after its stream moved on):
    # one attempt more, whose refusal re-reads the file once and stops.
    assert stderr.count("retrying in") <= 1, stderr
    assert "dataLoss" not in stderr and "failedPrecondition" not in stderr
    assert status(cli, server.address)[0]["state"] == "aborted"
    deadline = time.time() + 30
    while s3.list_multipart_uploads(Bucket=bucket).get("Uploads") and time.time() < deadline:
        time.sleep(0.2)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_help_leads_with_what_people_need(cli):
    upload_help = cli("upload", "--help", server="127.0.0.1:1").stdout
    options = [line.split()[0] for line in upload_help.splitlines() if line.startswith("  --")]
    assert options[0] == "--key", options[:3]
    server_help = subprocess.run([os.environ["UPLOADER_SERVER_BIN"], "--help"], capture_output=True,
                                 text=True).stdout
    options = [line.split()[0] for line in server_help.splitlines() if line.startswith("  --")]
    assert options[:4] == ["--listen", "--data-dir", "--s3-bucket", "--database"], options[:4]
    for command in ([], ["upload"], ["resume"], ["status"], ["verify"], ["abort"], ["forget"]):
        text = cli(*command, "--help", server="127.0.0.1:1").stdout
        assert not [line for line in text.splitlines() if line.startswith("-")], command
    assert not [line for line in server_help.splitlines() if line.startswith("-")]
    typo = cli("uplod", "x", server="127.0.0.1:1", check=False)
    assert typo.returncode == 2 and "did you mean 'upload'?" in typo.stderr


def test_verify_against_an_unreachable_server_says_what_to_check(cli):
    unreachable = f"127.0.0.1:{free_port()}"
    result = cli("verify", "0123456789abcdef0123456789abcdef", server=unreachable, check=False)
    assert result.returncode == 1
    assert f"the server at {unreachable}" in result.stderr and "check that uploader-server runs there" in result.stderr
    assert "Could not establish" not in result.stderr and "(unavailable)" not in result.stderr


def test_forget_clears_finished_uploads_and_keeps_one_in_progress(cli, start_server, random_file):
    path, _ = random_file(1 * MiB)
    server = start_server()
    cli("upload", str(path), "--key", "done.bin", "--no-progress", server=server.address)
    done = status(cli, server.address)[0]["id"]
    # One in progress: recorded with a session, not finished (a client killed mid-upload).
    big, _ = random_file(24 * MiB)
    upload = cli.start("upload", str(big), "--key", "busy.bin", "--limit-rate", "4MiB", "--no-progress",
                       server=server.address)
    busy = wait_until_acknowledged_id(cli, server.address, "busy.bin", upload)
    upload.send_signal(signal.SIGKILL)
    upload.wait()

    kept = cli("forget", busy, server=server.address, check=False)
    assert kept.returncode == 1 and "in progress" in kept.stderr and f"uploader abort {busy}" in kept.stderr
    assert "forgot 1 finished upload" in cli("forget", "--finished", server=server.address).stdout
    assert [row["id"] for row in status(cli, server.address)] == [busy]
    assert done not in cli("status", server=server.address).stdout


def wait_until_acknowledged_id(cli, server, key, process):
    """The id of the upload of `key` once the server has acknowledged some of it."""
    deadline = time.time() + 30
    while time.time() < deadline:
        rows = [row for row in status(cli, server) if row["key"] == key]
        if rows and rows[0]["committed_bytes"] > 0:
            return rows[0]["id"]
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.1)
    raise AssertionError(f"no progress on {key}")
