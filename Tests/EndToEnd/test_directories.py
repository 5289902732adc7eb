"""`uploader upload DIR` and `uploader resume BATCH` against a real server and SeaweedFS: every
regular file, filters, symbolic links, one batch in the journal, a batch resumed after the
client was killed, with a file changed meanwhile reported and skipped, and a killed 1,000-file
batch whose resume writes no completed object again."""
import hashlib
import json
import os
import signal
import time

MiB = 1 << 20


def make_tree(root, sizes):
    """Files named by relative path with random bytes; returns {relative path: sha256 hex}."""
    digests = {}
    for relative, size in sizes.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        digests[relative] = hashlib.sha256(data).hexdigest()
    return digests


def keys(s3, bucket, prefix):
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def sha256_of(s3, bucket, key):
    return hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def kill_once_completed(cli, upload, server, count, timeout=120):
    """Kills the `uploader upload` process `upload` (SIGKILL) once the journal shows `count`
    completed files, or after `timeout` s; returns the journal's rows then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = json.loads(cli("status", "--json", server=server.address).stdout)
        if sum(row["state"] == "completed" for row in rows) >= count:
            break
        time.sleep(0.2)
    upload.send_signal(signal.SIGKILL)
    upload.wait()
    return json.loads(cli("status", "--json", server=server.address).stdout)


def test_a_directory_is_uploaded_with_filters_and_links_skipped(cli, start_server, s3, bucket, tmp_path):
    root = tmp_path / "photos"
    digests = make_tree(root, {"a.jpg": 10, "trip/b.jpg": 6 * MiB + 1, "trip/deep/c.png": 1000, "notes.tmp": 5,
                               "empty.txt": 0})
    os.symlink(root / "a.jpg", root / "link.jpg")
    os.mkfifo(root / "pipe")
    server = start_server("--s3-bucket", bucket)

    result = cli("upload", str(root), "--key-prefix", "trips/2026/", "--exclude", "*.tmp", "--json",
                 server=server.address)
    batch = json.loads(result.stdout)
    assert batch["files"] == 4 and batch["completed"] == 4 and batch["failed"] == []
    assert "skipped 1 symbolic link " in result.stderr and "entry that is not a regular file: pipe" in result.stderr
    expected = {f"trips/2026/{p}": d for p, d in digests.items() if p != "notes.tmp"}
    assert keys(s3, bucket, "trips/") == sorted(expected)
    for key, digest in expected.items():
        assert sha256_of(s3, bucket, key) == digest, key
    assert s3.head_object(Bucket=bucket, Key="trips/2026/trip/deep/c.png")["ContentType"] == "image/png"

    rows = json.loads(cli("status", "--json", server=server.address).stdout)
    assert {row["batch_id"] for row in rows} == {batch["batch_id"]}
    human = cli("status", server=server.address).stdout
    assert f"batch {batch['batch_id']}: 4 of 4 files completed" in human

    # Links followed on request; a default prefix of the directory's name.
    cli("upload", str(root), "--follow-symlinks", "--include", "*.jpg", server=server.address)
    assert keys(s3, bucket, "photos/") == ["photos/a.jpg", "photos/link.jpg", "photos/trip/b.jpg"]


def test_a_killed_batch_resumes_and_a_changed_file_is_skipped(cli, start_server, s3, bucket, tmp_path):
    root = tmp_path / "data"
    names = [f"part-{n}.bin" for n in range(6)]
    digests = make_tree(root, {name: 6 * MiB for name in names})
    server = start_server("--s3-bucket", bucket)
    upload = cli.start("upload", str(root), "--key-prefix", "b/", "--limit-rate", "8MiB", "--transfers", "2",
                       "--no-progress", server=server.address)
    rows = {row["file"]: row for row in kill_once_completed(cli, upload, server, 2, timeout=60)}
    assert len(rows) == 6
    batch_id = next(iter(rows.values()))["batch_id"]
    unfinished = sorted(f for f, row in rows.items() if row["state"] != "completed")
    assert 0 < len(unfinished) < 6, rows
    human = cli("status", server=server.address).stdout
    assert f"continue them all with `uploader resume {batch_id}`" in human

    # A file not started yet: one in flight at the kill may already be complete on the server.
    pending = sorted(f for f, row in rows.items() if row["state"] == "pending")
    assert pending, rows
    changed = pending[-1]
    with open(changed, "ab") as f:
        f.write(b"changed")
    result = cli("resume", batch_id, server=server.address, check=False)
    assert result.returncode == 1, result.stderr
    assert "1 file(s) failed" in result.stderr and changed in result.stderr and "changed since" in result.stderr
    assert "uploaded 5 of 6 files" in result.stdout
    for name in names:
        path = str(root / name)
        if path == changed:
            assert f"b/{name}" not in keys(s3, bucket, "b/")
        else:
            assert sha256_of(s3, bucket, f"b/{name}") == digests[name], name


def test_a_killed_batch_of_1000_files_resumes_without_sending_a_completed_file_again(cli, start_server, s3, bucket,
                                                                                     tmp_path):
    root = tmp_path / "many"
    names = [f"f{n:04d}" for n in range(1000)]
    digests = make_tree(root, {name: 1024 for name in names})
    server = start_server("--s3-bucket", bucket)
    upload = cli.start("upload", str(root), "--key-prefix", "m/", "--no-progress", server=server.address)
    rows = kill_once_completed(cli, upload, server, 200)
    assert len(rows) == 1000
    batch_id = rows[0]["batch_id"]
    done_before = {row["key"] for row in rows if row["state"] == "completed"}
    assert 200 <= len(done_before) < 1000, len(done_before)
    modified_before = {key: s3.head_object(Bucket=bucket, Key=key)["LastModified"] for key in done_before}

    # S3 keeps LastModified to the second: start the resume in a later second than every object
    # written before the kill, so that an object written again by the resume would show it.
    time.sleep(1.5)
    resumed_at = int(time.time())
    result = cli("resume", batch_id, server=server.address)
    assert f"batch {batch_id}: {len(done_before)} of 1000 files completed; resuming {1000 - len(done_before)}" \
        in result.stderr
    assert "uploaded 1000 of 1000 files" in result.stdout
    assert keys(s3, bucket, "m/") == sorted(f"m/{name}" for name in names)
    for key, modified in modified_before.items():
        now = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
        assert now == modified and now.timestamp() < resumed_at, (key, modified, now)
    for name in names[::97]:
        assert sha256_of(s3, bucket, f"m/{name}") == digests[name], name


def test_small_files_go_in_one_exchange_each_and_large_ones_as_sessions(cli, start_server, s3, bucket, tmp_path):
    from test_long_link import wait_for_metrics_url
    from test_operations import scrape
    root = tmp_path / "mixed"
    sizes = {f"small/{n:02d}.txt": 40_000 + n for n in range(30)}
    sizes.update({"empty.txt": 0, "limit.bin": MiB, "large.bin": 3 * MiB})
    digests = make_tree(root, sizes)
    server = start_server("--s3-bucket", bucket, "--metrics-listen", "127.0.0.1:0")
    url = wait_for_metrics_url(server)
    before = scrape(url)

    result = cli("upload", str(root), "--key-prefix", "x/", "--json", server=server.address)
    assert json.loads(result.stdout)["completed"] == len(sizes)
    after = scrape(url)

    def requests(operation):
        key = ("uploader_object_store_request_duration_seconds_count", (("operation", operation),))
        return after.get(key, 0) - before.get(key, 0)

    # Every file up to 1 MiB is one PutObject; only the 3 MiB file is a multipart upload.
    assert requests("PutObject") == 32
    assert requests("CreateUpload") == 1
    assert requests("CompleteUpload") == 1
    received = after[("uploader_bytes_received_total", ())] - before.get(("uploader_bytes_received_total", ()), 0)
    assert received == sum(sizes.values())
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    for relative, digest in digests.items():
        assert sha256_of(s3, bucket, f"x/{relative}") == digest, relative
    assert s3.head_object(Bucket=bucket, Key="x/small/00.txt")["ContentType"].startswith("text/plain")

    rows = json.loads(cli("status", "--json", server=server.address).stdout)
    small = next(row for row in rows if row["key"] == "x/small/07.txt")
    assert small["state"] == "completed" and small["session_id"]
    assert small["sha256"] == digests["small/07.txt"]


def test_a_file_over_the_servers_message_limit_goes_as_a_session(cli, start_server, s3, bucket, tmp_path):
    """The transport drops a message over --max-message-size as it drops a lost link: the CLI
    sends such a file (and larger ones after it) as a session, and the small ones still whole."""
    root = tmp_path / "limit"
    digests = make_tree(root, {"big.bin": 900_000, "small.bin": 40_000})
    from test_long_link import wait_for_metrics_url
    from test_operations import scrape
    server = start_server("--s3-bucket", bucket, "--max-message-size", "512KiB", "--metrics-listen", "127.0.0.1:0")
    url = wait_for_metrics_url(server)
    result = cli("upload", str(root), "--key-prefix", "l/", "--json", "--transfers", "1", server=server.address)
    assert json.loads(result.stdout)["completed"] == 2
    after = scrape(url)
    count = "uploader_object_store_request_duration_seconds_count"
    assert after.get((count, (("operation", "CreateUpload"),))) == 1
    assert after.get((count, (("operation", "PutObject"),))) == 1
    for name, digest in digests.items():
        assert sha256_of(s3, bucket, f"l/{name}") == digest, name
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_batch_of_small_files_survives_kill_9_of_the_server(cli, start_server, s3, bucket, tmp_path):
    """The server dies (SIGKILL) while a directory of small files goes whole, several to a call,
    and comes back on the same address and data: the CLI waits for it and every file lands once,
    with nothing left behind. --limit-rate holds the batch to about 3 s, so the kill meets it."""
    from test_cli import free_port
    root = tmp_path / "crash"
    digests = make_tree(root, {f"f{n:03d}": 20_000 for n in range(300)})
    address = f"127.0.0.1:{free_port()}"
    server = start_server("--s3-bucket", bucket, listen=address)
    upload = cli.start("upload", str(root), "--key-prefix", "k/", "--limit-rate", "2MiB", "--no-progress",
                       server=address)
    deadline = time.time() + 60
    done = []
    while time.time() < deadline and upload.poll() is None:
        done = [row for row in json.loads(cli("status", "--json", server=address).stdout) if row["state"] == "completed"]
        if len(done) >= 30:
            break
        time.sleep(0.1)
    assert 30 <= len(done) < 300 and upload.poll() is None, f"{len(done)} completed before the kill"
    server.kill()
    time.sleep(1)
    start_server("--s3-bucket", bucket, data_dir=server.data_dir, listen=address)
    out, err = upload.communicate(timeout=180)
    assert upload.returncode == 0, err[-3000:]
    assert "retrying in" in err, "the kill never reached the upload"
    assert "uploaded 300 of 300 files" in out
    assert keys(s3, bucket, "k/") == sorted(f"k/{name}" for name in digests)
    for name in list(digests)[::29]:
        assert sha256_of(s3, bucket, f"k/{name}") == digests[name], name
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    rows = json.loads(cli("status", "--json", server=address).stdout)
    assert sum(row["state"] == "completed" for row in rows) == 300
