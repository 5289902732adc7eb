"""A real full disk under the spool: a tmpfs too small for what arrives while S3 is away. The
kernel says ENOSPC, not the server's own --spool-limit; clients are told to wait, nothing
received is lost, and the upload completes byte-identical once S3 is back.

This test once failed one run in three under load: four streams had filled the disk with four
unfinished parts. Parts now reserve their room before their first byte (`Spool.reserve`)."""
import json
import os
import subprocess
import time

from conftest import object_sha256
from tcp_proxy import TCPProxy

MiB = 1 << 20


def spool_free(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def test_a_full_spool_disk_holds_the_upload_back_and_loses_nothing(cli, start_server, random_file, s3, bucket,
                                                                 s3_settings, tmp_path):
    path, digest = random_file(48 * MiB)
    data = tmp_path / "data"
    spool = data / "spool"
    spool.mkdir(parents=True)
    # Root is needed to mount; without it this test fails, it does not skip.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(spool)], check=True)
    upstream = s3_settings["endpoint"].rsplit(":", 1)
    s3_proxy = TCPProxy(upstream[0].removeprefix("http://"), int(upstream[1]))
    try:
        server = start_server("--s3-bucket", bucket, "--s3-max-attempts", "2", s3_endpoint=s3_proxy.endpoint,
                              data_dir=data)
        upload = cli.start("upload", str(path), "--key", "full/disk.bin", "--part-size", "5MiB", "--no-progress",
                           "--limit-rate", "16MiB", "--json", server=server.address)
        deadline = time.time() + 60
        while "session created" not in server.output() and time.time() < deadline:
            time.sleep(0.05)
        s3_proxy.down()  # parts cannot leave the spool, which fills its 16 MiB
        deadline = time.time() + 60
        while spool_free(spool) >= 5 * MiB and time.time() < deadline:
            assert upload.poll() is None, upload.stderr.read()
            time.sleep(0.1)
        # Each part admitted reserves its 5 MiB on the disk before its first byte, so a full
        # spool is one with no room left for a part (the fourth stream's is refused). Without
        # the reservation, four streams could fill it with four unfinished parts, none of which
        # could ever end: the upload never completed.
        assert spool_free(spool) < 5 * MiB, "the spool never filled"
        time.sleep(3)  # the refused writes reach the client, which waits and tries again
        assert upload.poll() is None, upload.stderr.read()
        s3_proxy.up()
        stdout, stderr = upload.communicate(timeout=300)
        assert upload.returncode == 0, stderr
        assert "no space left on the server's disk" in stderr, stderr  # the client was told, and waited
        assert json.loads(stdout)["state"] == "completed"
        assert object_sha256(s3, bucket, "full/disk.bin") == digest
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        s3_proxy.close()
        subprocess.run(["umount", "-l", str(spool)], check=False)
