"""Three replicas sharing PostgreSQL, behind HAProxy (round-robin per call, no stickiness):
kill any replica at any moment, freeze one (a zombie), stop the database, roll a deploy. Each
test proves its fault hit a running upload, and that the object is byte-identical with no
multipart upload left."""
import math
import os
import random
import subprocess
import sys
import time

import grpc
import json
import pytest

from conftest import object_sha256
from replicas import Cluster, free_port

MiB = 1 << 20
PART = 8 * MiB


@pytest.fixture
def cluster(tmp_path, s3, s3_settings, request):
    clusters = []

    def make(**kwargs):
        made = Cluster(tmp_path / f"cluster{len(clusters)}", s3, s3_settings, os.environ["UPLOADER_SERVER_BIN"], **kwargs)
        clusters.append(made)
        return made.start()

    yield make
    for made in clusters:
        made.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for made in clusters:
            print(made.logs())


def serving_status(health, address):
    """The replica's health status name, or UNREACHABLE."""
    pb2, pb2_grpc = health
    with grpc.insecure_channel(address) as channel:
        try:
            status = pb2_grpc.HealthStub(channel).Check(pb2.HealthCheckRequest(), timeout=2).status
        except grpc.RpcError:
            return "UNREACHABLE"
    return pb2.HealthCheckResponse.ServingStatus.Name(status)


def wait_running(upload, seconds, scrape=None):
    """Sleeps `seconds` while the upload runs (scraping metrics); False once it has ended."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if upload.poll() is not None:
            return False
        if scrape:
            scrape()
        time.sleep(0.1)
    return upload.poll() is None


def part_being_received(made, upload, timeout=60):
    """(replica, session, part) of a part some replica is receiving while `upload` runs."""
    deadline = time.time() + timeout
    while time.time() < deadline and upload.poll() is None:
        held = made.part_holding()
        if held:
            return held
        time.sleep(0.1)
    raise AssertionError("no part was being received" if upload.poll() is None else "the upload ended first")


def finish(upload, timeout=300):
    out, err = upload.communicate(timeout=timeout)
    assert upload.returncode == 0, f"uploader exited {upload.returncode}:\n{err[-4000:]}"
    return err


def check_object(s3, made, key, digest, size):
    assert object_sha256(s3, made.bucket, key) == digest
    assert s3.list_multipart_uploads(Bucket=made.bucket).get("Uploads", []) == []
    (session_id, state), = made.sql(f"SELECT id, state FROM sessions WHERE object_key = '{key}'")
    assert state == "completed"
    parts = made.sql(f"SELECT number, state, etag FROM parts WHERE session_id = '{session_id}' ORDER BY number")
    # One row per part, each committed once with its ETag.
    assert [int(p[0]) for p in parts] == list(range(1, math.ceil(size / PART) + 1))
    assert all(p[1] == "committed" and p[2] for p in parts)


# CI runs 2 trials; scripts/chaos.sh sets UPLOADER_REPLICA_TRIALS=20 and collects a JSON line per
# trial from UPLOADER_REPLICA_REPORT.
TRIALS = int(os.environ.get("UPLOADER_REPLICA_TRIALS", "2"))


@pytest.mark.parametrize("trial", range(1, TRIALS + 1))
def test_an_upload_survives_any_replica_killed_every_few_seconds(cluster, cli, random_file, s3, trial):
    made = cluster()
    started = time.time()
    size = 256 * MiB
    path, digest = random_file(size)
    key = f"killed-{trial}"
    rng = random.Random(trial)
    upload = cli.start("upload", str(path), "--key", key, "--parallel", "4", "--limit-rate", "20MiB",
                       server=made.address)
    kills = []
    while wait_running(upload, rng.uniform(2, 4), scrape=made.scrape):
        made.scrape()
        victim = rng.choice(made.replicas)
        victim.kill()
        kills.append(victim.name)
        victim.start()
    err = finish(upload)
    made.scrape()
    # The fault hit a running upload, more than once, and the client noticed.
    assert len(kills) >= 2, f"the upload ended after {len(kills)} kill(s): no evidence"
    assert "retrying" in err or "reconnect" in err.lower(), err[-2000:]
    check_object(s3, made, key, digest, size)
    resent = made.received_bytes() - size
    print(f"\nkills: {len(kills)} ({', '.join(kills)}); re-sent {resent / MiB:.1f} MiB, "
          f"{resent / MiB / len(kills):.1f} MiB per kill (a part is {PART // MiB} MiB)")
    # Each kill cuts the streams on one replica; a stream taken over by another node re-sends
    # at most its part, so 4 streams can cost at most 4 parts per kill.
    assert resent <= len(kills) * 4 * PART + PART
    if os.environ.get("UPLOADER_REPLICA_REPORT"):
        with open(os.environ["UPLOADER_REPLICA_REPORT"], "a") as report:
            report.write(json.dumps({"trial": trial, "kills": len(kills), "resent": resent,
                                     "seconds": time.time() - started}) + "\n")


def test_a_frozen_replica_is_fenced_when_it_wakes(cluster, cli, random_file, s3):
    made = cluster()
    size = 96 * MiB
    path, digest = random_file(size)
    upload = cli.start("upload", str(path), "--key", "zombie", "--parallel", "2", "--limit-rate", "8MiB",
                       server=made.address)
    for _ in range(20):
        zombie, session, number = part_being_received(made, upload)
        zombie.pause()
        # Frozen, the replica writes nothing more: the part must still be one it receives. One it
        # finished between the two looks would never be taken over (a full run once failed so).
        state, holder, generation = made.sql(
            f"SELECT state, holder_node, generation FROM parts WHERE session_id = '{session}' AND number = {number}")[0]
        if state == "receiving" and holder == zombie.name:
            break
        zombie.resume()
    else:
        raise AssertionError("no part stayed with its replica long enough to freeze it there")
    try:
        # The client gives up on the silent replica (HAProxy ends its call) and another takes the part.
        taken = None
        deadline = time.time() + 60
        while time.time() < deadline:
            rows = made.sql(f"SELECT holder_node, generation FROM parts WHERE session_id = '{session}' AND number = {number}")
            if rows and rows[0][0] != zombie.name and int(rows[0][1]) > int(generation):
                taken = rows[0]
                break
            time.sleep(0.2)
        assert taken, f"part {number} was not taken over from {zombie.name}"
        assert upload.poll() is None, "the upload ended while the zombie was frozen"
    finally:
        zombie.resume()
    finish(upload)
    check_object(s3, made, "zombie", digest, size)
    # Woken, the zombie's writes were refused by the generation fence, not applied.
    deadline = time.time() + 20
    while "stream fenced" not in zombie.output() and zombie.running() and time.time() < deadline:
        time.sleep(0.2)
    # (The part may have come back to it later through a claim of its own: that is a new writer.)
    assert "stream fenced" in zombie.output(), zombie.output()[-3000:]


def test_a_database_outage_pauses_uploads_and_health_says_so(cluster, cli, random_file, s3, health):
    made = cluster()
    size = 96 * MiB
    path, digest = random_file(size)
    upload = cli.start("upload", str(path), "--key", "db-outage", "--parallel", "2", "--limit-rate", "8MiB",
                       server=made.address)
    part_being_received(made, upload)
    pg_dir = os.environ["UPLOADER_TEST_POSTGRES_DIR"]
    postgres = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            "scripts", "lib", "postgres.py")
    subprocess.run([sys.executable, postgres, "pause", pg_dir], check=True, capture_output=True)
    try:
        not_serving = False
        deadline = time.time() + 10
        while time.time() < deadline and not not_serving:
            not_serving = serving_status(health, made.replicas[0].address) == "NOT_SERVING"
            time.sleep(0.5)
        assert not_serving, "health did not report NOT_SERVING while the database was down"
        assert upload.poll() is None, "the upload ended during the outage"
        time.sleep(max(0, deadline - time.time()))
    finally:
        subprocess.run([sys.executable, postgres, "resume", pg_dir], check=True, capture_output=True)
    err = finish(upload)
    assert "retrying" in err, err[-2000:]
    check_object(s3, made, "db-outage", digest, size)
    deadline = time.time() + 30
    while serving_status(health, made.replicas[0].address) != "SERVING" and time.time() < deadline:
        time.sleep(0.5)
    assert serving_status(health, made.replicas[0].address) == "SERVING"


def test_a_rolling_deploy_costs_only_reconnects(cluster, cli, random_file, s3):
    made = cluster()
    size = 128 * MiB
    path, digest = random_file(size)
    upload = cli.start("upload", str(path), "--key", "rolling", "--parallel", "4", "--limit-rate", "12MiB",
                       server=made.address)
    restarted = []
    for replica in made.replicas:
        if not wait_running(upload, 1.0):
            break
        replica.terminate()
        replica.start()
        restarted.append(replica.name)
    err = finish(upload)
    assert len(restarted) >= 2, f"the upload ended after {len(restarted)} restart(s): no evidence"
    check_object(s3, made, "rolling", digest, size)
    for replica in made.replicas:
        if replica.name in restarted:
            first_run = open(os.path.join(made.work, f"{replica.name}-1.log")).read()
            assert "draining" in first_run, first_run[-2000:]
    assert "giving up" not in err


def test_a_database_that_cannot_be_reached_stops_the_server_with_its_address(tmp_path):
    closed = f"postgres://uploader@127.0.0.1:{free_port()}/uploader"
    result = subprocess.run([os.environ["UPLOADER_SERVER_BIN"], "--listen", "127.0.0.1:0", "--data-dir",
                             str(tmp_path / "data"), "--database", closed], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"cannot reach the session database at {closed}" in result.stderr + result.stdout
    bad = subprocess.run([os.environ["UPLOADER_SERVER_BIN"], "--database", "mysql://x@y/z"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 64 and "--database" in bad.stderr
