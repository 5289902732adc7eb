#!/usr/bin/env python3
"""Starts a SeaweedFS S3 server with SigV4 credentials on free loopback ports.

Usage: seaweedfs.py start DIR   -> prints shell `export` lines (endpoint, credentials, pid)
       seaweedfs.py stop DIR

Every SeaweedFS component also binds its port + 10000 for gRPC, so ports are picked with their
twins free. The Iceberg and Lance listeners are disabled (fixed ports otherwise), telemetry is
off, and readiness means a real S3 call (ListBuckets) succeeded: the S3 port accepts
connections several seconds before the filer can answer.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

ACCESS_KEY = "uploader-test"
SECRET_KEY = "uploader-test-secret"


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count):
    ports = []
    while len(ports) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in ports or port + 10000 in ports:
            continue
        if port_is_free(port) and port_is_free(port + 10000):
            ports.append(port)
    return ports


def start(directory):
    os.makedirs(directory, exist_ok=True)
    config = os.path.join(directory, "s3.json")
    with open(config, "w") as f:
        json.dump({"identities": [{"name": "test",
                                   "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    master, volume, filer, s3 = free_ports(4)
    data = os.path.join(directory, "data")
    os.makedirs(data, exist_ok=True)
    log = open(os.path.join(directory, "weed.log"), "w")
    weed = os.path.join(os.path.dirname(sys.executable), "weed")
    process = subprocess.Popen(
        [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
         f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
         "-s3", f"-s3.port={s3}", f"-s3.config={config}",
         "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
         "-volume.max=1000", "-master.volumeSizeLimitMB=256"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    with open(os.path.join(directory, "weed.pid"), "w") as f:
        f.write(str(process.pid))
    endpoint = f"http://127.0.0.1:{s3}"

    import boto3
    from botocore.config import Config
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
    deadline = time.time() + 90
    while True:
        if process.poll() is not None:
            sys.exit(f"SeaweedFS exited with {process.returncode}; see {directory}/weed.log")
        try:
            client.list_buckets()
            break
        except Exception as error:  # not ready yet
            if time.time() > deadline:
                process.kill()
                sys.exit(f"SeaweedFS did not answer S3 calls within 90 s ({error}); see {directory}/weed.log")
            time.sleep(0.5)
    print(f"export UPLOADER_TEST_S3_ENDPOINT={endpoint}")
    print(f"export UPLOADER_TEST_S3_ACCESS_KEY={ACCESS_KEY}")
    print(f"export UPLOADER_TEST_S3_SECRET_KEY={SECRET_KEY}")
    print(f"export UPLOADER_TEST_S3_PID={process.pid}")


def stop(directory):
    try:
        with open(os.path.join(directory, "weed.pid")) as f:
            pid = int(f.read())
    except FileNotFoundError:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    {"start": start, "stop": stop}[sys.argv[1]](sys.argv[2])
