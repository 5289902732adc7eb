"""The CLI on a packet-level link (scripts/lib/packet_link.py): the client in a network namespace
whose packets cross a relay that delays them, drops them at random and blacks the link out
without a word. Unlike a TCP proxy, the loss reaches the client's TCP, and a blackout sends no
FIN or RST, so these tests see what a flaky Wi-Fi or mobile link does to an upload.

Nothing is timed. Each test asserts what it can observe: connections the CLI reports and that
`ss` sees, the congestion control read back from the live sockets, bytes the server counted, and
the object's SHA-256. Files are small: CI has a budget, and a lossy path is slow by design."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, object_sha256
from test_long_link import wait_for_metrics_url
from test_operations import scrape

sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from packet_link import PacketLink  # noqa: E402

MiB = 1 << 20


@pytest.fixture(scope="module")
def link():
    """40 ms round trip, 100 Mbit/s, no loss until a test asks; the namespace defaults to cubic,
    as most client machines do. Needs root (namespaces and TUN devices): without it the tests
    fail, they do not skip."""
    with PacketLink(rtt_ms=40, mbit=100, loss=0, congestion_control="cubic") as link:
        yield link


@pytest.fixture
def lossy(link):
    def set(percent):
        link.set_loss(percent)
    yield set
    link.set_loss(0)


@pytest.fixture
def cli_inside(link, tmp_path):
    """Runs the uploader CLI inside the link's namespace: cli_inside(*args, server=...)."""
    binary = os.path.join(os.path.dirname(os.environ["UPLOADER_SERVER_BIN"]), "uploader")
    env = dict(os.environ, UPLOADER_STATE_DIR=str(tmp_path / "state"))

    def command(args, server):
        return [*link.inside, "env", f"UPLOADER_SERVER={server}", binary, *args]

    def run(*args, server, timeout=240):
        result = subprocess.run(command(args, server), env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"uploader {' '.join(args)}: {result.returncode}\n{result.stderr}"
        return result

    def start(*args, server):
        return subprocess.Popen(command(args, server), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    run.start = start
    return run


def serve(start_server, link, *args):
    """A server the namespace reaches: on the host side of the link."""
    return start_server("--allow-unauthenticated", *args, listen=f"{link.host}:0")


def stored(tmp_path, key):
    import hashlib
    return hashlib.sha256((tmp_path / "data0" / "store" / "objects" / key).read_bytes()).hexdigest()


def transport(result):
    return json.loads(result.stdout)["transport"]


def test_on_a_lossy_path_the_cli_opens_more_connections(link, lossy, cli_inside, start_server, random_file, tmp_path):
    # 2% loss at 40 ms holds a cubic connection to about 2.5 Mbit/s: more connections carry more,
    # so the tuner's first doubling pays. 40 MiB in 5 MiB parts leaves parts for the new streams.
    lossy(2)
    path, digest = random_file(40 * MiB)
    server = serve(start_server, link)
    result = cli_inside("upload", str(path), "--key", "lossy/grows.bin", "--congestion-control", "system",
                        "--json", "--verbose", "--no-progress", server=server.address)
    used = transport(result)
    assert used["connections_started"] == 4, used
    assert used["connections_peak"] > 4, f"{used}\n{result.stderr}"
    assert "connections: " in result.stderr, result.stderr
    assert stored(tmp_path, "lossy/grows.bin") == digest
    assert link.stats()["up"].get("dropped_loss", 0) > 0, "the link dropped nothing: the test proved nothing"


def test_pinned_connections_stay_pinned_on_a_lossy_path(link, lossy, cli_inside, start_server, random_file, tmp_path):
    lossy(2)
    path, digest = random_file(16 * MiB)
    server = serve(start_server, link)
    result = cli_inside("upload", str(path), "--key", "lossy/pinned.bin", "--connections", "2", "--part-size", "5MiB",
                        "--congestion-control", "system", "--json", "--no-progress", server=server.address)
    used = transport(result)
    assert (used["connections_started"], used["connections_peak"], used["connections_final"]) == (2, 2, 2), used
    assert used["connections_opened"] == 2, used
    # Pings every 10 s on both connections for the whole upload: the server accepts them (no
    # GOAWAY for too many pings), and random loss never looks like a dark link.
    assert "retrying" not in result.stderr and used["reconnects"] == 0, result.stderr
    assert stored(tmp_path, "lossy/pinned.bin") == digest


def connections_seen_by_ss(link, port):
    """The congestion control of every TCP connection from the namespace to `port`, read from the
    kernel by `ss -ti`."""
    out = subprocess.run([*link.inside, "ss", "-tin", "state", "established", f"dport = :{port}"],
                         capture_output=True, text=True, check=True).stdout
    algorithms = []
    for line in out.splitlines():
        words = line.split()
        if line.startswith("\t") or line.startswith(" "):
            algorithms += [w for w in words if w in ("bbr", "cubic", "reno")]
    return algorithms


@pytest.mark.parametrize("asked, expected", [(None, "bbr"), ("cubic", "cubic"), ("nosuchcc", "cubic")])
def test_the_congestion_control_is_the_one_on_the_socket(link, cli_inside, start_server, random_file, tmp_path,
                                                         asked, expected):
    """BBR by default; a named one when asked; an unknown one falls back, silently, to the
    namespace's default (cubic). What `--json` reports is what `ss` reads off the live sockets."""
    path, digest = random_file(6 * MiB)
    server = serve(start_server, link)
    port = server.address.rsplit(":", 1)[1]
    flags = ["--congestion-control", asked] if asked else []
    process = cli_inside.start("upload", str(path), "--key", f"cc/{asked}.bin", "--limit-rate", "1MiB", *flags,
                               "--json", "--no-progress", server=server.address)
    seen = []
    deadline = time.time() + 60
    while not seen and process.poll() is None and time.time() < deadline:
        seen = connections_seen_by_ss(link, port)
        time.sleep(0.2)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert seen and set(seen) == {expected}, f"ss saw {seen}"
    used = json.loads(stdout)["transport"]
    assert used["congestion_control"] == expected, used
    if asked == "nosuchcc":
        assert "nosuchcc is not available" in used["congestion_control_fallback"], used
    else:
        assert "congestion_control_fallback" not in used, used
    assert stored(tmp_path, f"cc/{asked}.bin") == digest


def test_a_silent_blackout_mid_upload_is_ridden_out(link, cli_inside, start_server, random_file, s3, bucket):
    """20 s of silence (no FIN, no RST) in the middle of an upload into S3: the server's pings
    (every 2 s here) free the dark client's streams; the CLI notices, reconnects when the link
    returns, says so, and sends again only what the server had not acknowledged: at most one
    acknowledgement interval (1 MiB here) per stream."""
    size = 24 * MiB
    path, digest = random_file(size)
    server = serve(start_server, link, "--s3-bucket", bucket, "--ack-bytes", "1MiB", "--keepalive", "2s",
                   "--metrics-listen", "127.0.0.1:0")
    metrics = wait_for_metrics_url(server)
    process = cli_inside.start("upload", str(path), "--key", "blackout/object.bin", "--connections", "4",
                               "--limit-rate", "3MiB", "--json", "--verbose", "--no-progress", server=server.address)
    deadline = time.time() + 60
    while scrape(metrics).get(("uploader_bytes_received_total", ()), 0) < 6 * MiB:
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.1)
    link.blackout(20)
    dark_until = time.time() + 19
    active = None
    while time.time() < dark_until and active != 0:
        active = scrape(metrics).get(("uploader_active_streams", ()))
        time.sleep(0.2)
    assert active == 0, f"{active} upload streams still open on the server after 19 s of silence"
    time.sleep(max(0, dark_until + 1 - time.time()))
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    assert link.stats()["up"].get("dropped_blackout", 0) > 0, "nothing was sent into the blackout"
    assert "reconnected to the server after" in stderr, stderr
    assert json.loads(stdout)["transport"]["reconnects"] >= 1, stdout
    assert object_sha256(s3, bucket, "blackout/object.bin") == digest
    samples = scrape(metrics)
    received = samples[("uploader_bytes_received_total", ())] + samples.get(("uploader_bytes_received_again_total", ()), 0)
    assert received - size <= 4 * (MiB + 256 * 1024), f"{received - size} bytes received twice"
