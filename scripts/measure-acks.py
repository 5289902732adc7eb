#!/usr/bin/env python3
"""Measures what durable acknowledgements cost: uploads the same file through the v1 protocol
into the local directory store with several --ack-bytes settings and prints the throughput.

Usage: .venv/bin/python scripts/measure-acks.py [SIZE_MIB] [SERVER_BINARY]
"""
import importlib
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "EndToEnd"))
from sessions_client import MiB, LocalFile, chunks  # noqa: E402

import grpc  # noqa: E402


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build", "debug", "uploader-server")
    work = tempfile.mkdtemp(prefix="measure-acks-", dir=os.environ.get("TMPDIR", "/var/tmp"))
    from grpc_tools import protoc
    protoc.main(["protoc", f"-I{ROOT}/Protos", f"--python_out={work}", f"--grpc_python_out={work}",
                 "uploader/v1/uploads.proto"])
    sys.path.insert(0, work)
    pb2 = importlib.import_module("uploader.v1.uploads_pb2")
    pb2_grpc = importlib.import_module("uploader.v1.uploads_pb2_grpc")
    path = os.path.join(work, "file")
    with open(path, "wb") as f:
        for _ in range(size):
            f.write(os.urandom(MiB))
    file = LocalFile(path, 64 * MiB)

    print(f"{size} MiB, 64 MiB parts, 1 MiB chunks, local directory store on {work}")
    print("| --ack-bytes | acks | time | throughput |")
    print("|---|---|---|---|")
    for ack in ["256KiB", "1MiB", "4MiB", "16MiB", "64MiB"]:
        times = []
        for attempt in range(3):
            data = os.path.join(work, f"data-{ack}-{attempt}")
            log = open(os.path.join(work, f"server-{ack}.log"), "w")
            server = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data-dir", data, "--ack-bytes", ack,
                                       "--ack-interval", "1h", "--log-level", "notice"], stdout=log, stderr=log)
            address = wait_for_address(server, os.path.join(work, f"server-{ack}.log"))
            stub = pb2_grpc.ResumableUploadsStub(grpc.insecure_channel(address))
            session = stub.CreateSession(pb2.CreateSessionRequest(key="f", size=file.size, part_size=file.part_size))
            start = time.perf_counter()
            acks = sum(1 for e in stub.UploadParts(chunks(pb2, session.id, file, {})) if e.WhichOneof("event") == "progress")
            times.append(time.perf_counter() - start)
            server.terminate()
            server.wait()
        best = sorted(times)[1]
        print(f"| {ack} | {acks} | {best:.2f} s | {size / best:.0f} MiB/s |")


def wait_for_address(server, log_path):
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log_path) as f:
            for line in f:
                if "listening on " in line:
                    return line.split("listening on ")[1].split()[0]
        time.sleep(0.05)
    raise SystemExit("server did not start")


if __name__ == "__main__":
    main()
