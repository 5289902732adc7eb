#!/usr/bin/env python3
"""Loads the session database the way a big deployment would, and times what callers feel.

Usage: scripts/scale-probe.py --bin .build-release/release [--sessions 100000] [--callers 200]
                              [--seconds 20] [--expire 10000] [--replicas 1]

Starts a throwaway PostgreSQL (scripts/lib/postgres.py) and uploader-server replica(s) on it
(local directory store: the database is what is measured), with one token per caller. Inserts
`--sessions` sessions of 4 parts each with SQL: 60% of them belong to one principal ("bulk"),
so ListSessions can page deep, the rest are spread over the callers' principals; 90% are
completed and 10% open, as in a database that has run for a while. Then runs `--callers`
concurrent gRPC callers (grpcio's asyncio API, one process, a principal each) doing
CreateSession then GetSession for `--seconds`, and prints p50/p99 of each; then times a
ListSessions page at the start and 50,000 sessions deep; then marks `--expire` sessions expired
by time and times until the replicas' expiry loops have expired them all.

Prints a Markdown table; the numbers go into docs/SCALING.md.
"""
import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
sys.path.insert(0, os.path.join(ROOT, "Tests", "EndToEnd"))
import postgres  # noqa: E402
from replicas import free_port, psql  # noqa: E402


def stubs(directory):
    from grpc_tools import protoc
    os.makedirs(directory, exist_ok=True)
    assert protoc.main(["protoc", f"-I{ROOT}/Protos", f"--python_out={directory}", f"--grpc_python_out={directory}",
                        "uploader/v1/uploads.proto"]) == 0
    sys.path.insert(0, directory)
    import importlib
    return (importlib.import_module("uploader.v1.uploads_pb2"), importlib.import_module("uploader.v1.uploads_pb2_grpc"))


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def postgres_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and
            open(f"/proc/{p}/comm").read().strip() in ("postgres", "postmaster")]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def token(name):
    return "token-" + name


async def load(address, pb2, pb2_grpc, callers, seconds):
    import grpc
    creates, gets, errors = [], [], []
    stop = time.time() + seconds
    channels = [grpc.aio.insecure_channel(address) for _ in range(8)]

    async def caller(index):
        stub = pb2_grpc.ResumableUploadsStub(channels[index % len(channels)])
        metadata = (("authorization", f"Bearer {token(f'p{index}')}"),)
        while time.time() < stop:
            try:
                started = time.perf_counter()
                session = await stub.CreateSession(pb2.CreateSessionRequest(key=f"probe/{uuid.uuid4().hex}", size=1 << 20),
                                                   metadata=metadata)
                creates.append(time.perf_counter() - started)
                started = time.perf_counter()
                await stub.GetSession(pb2.GetSessionRequest(session_id=session.id), metadata=metadata)
                gets.append(time.perf_counter() - started)
            except grpc.aio.AioRpcError as error:
                errors.append(error.code().name)

    await asyncio.gather(*(caller(i) for i in range(callers)))
    for channel in channels:
        await channel.close()
    return creates, gets, errors


async def list_pages(address, pb2, pb2_grpc, depth):
    import grpc
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb2_grpc.ResumableUploadsStub(channel)
        metadata = (("authorization", f"Bearer {token('bulk')}"),)
        started = time.perf_counter()
        page = await stub.ListSessions(pb2.ListSessionsRequest(page_size=100), metadata=metadata)
        first = time.perf_counter() - started
        cursor, pages = page.next_page_token, 1
        while pages < depth // 1000 and cursor:
            page = await stub.ListSessions(pb2.ListSessionsRequest(page_size=1000, page_token=cursor), metadata=metadata)
            cursor, pages = page.next_page_token, pages + 1
        started = time.perf_counter()
        await stub.ListSessions(pb2.ListSessionsRequest(page_size=100, page_token=cursor), metadata=metadata)
        deep = time.perf_counter() - started
    return first, deep


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--expire", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=1)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="uploader-scale-", dir="/var/tmp")
    servers = []
    try:
        exports = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "postgres.py"), "start",
                                  os.path.join(work, "pg")], check=True, capture_output=True, text=True).stdout
        url = next(line.split("=", 1)[1] for line in exports.splitlines() if "POSTGRES_URL" in line)
        pb2, pb2_grpc = stubs(os.path.join(work, "stubs"))
        import hashlib
        tokens = os.path.join(work, "tokens.txt")
        with open(tokens, "w") as f:
            for name in ["bulk"] + [f"p{i}" for i in range(options.callers)]:
                f.write(f"{name} {hashlib.sha256(token(name).encode()).hexdigest()}\n")
        addresses = []
        for index in range(options.replicas):
            port = free_port()
            log = open(os.path.join(work, f"r{index}.log"), "w")
            servers.append(subprocess.Popen(
                [os.path.join(options.bin, "uploader-server"), "--listen", f"127.0.0.1:{port}",
                 "--data-dir", os.path.join(work, f"r{index}"), "--database", url, "--node-id", f"r{index}",
                 "--session-ttl", "8s", "--auth-tokens", tokens],
                stdout=log, stderr=subprocess.STDOUT))
            addresses.append(f"127.0.0.1:{port}")
            deadline = time.time() + 30
            while "listening on" not in open(os.path.join(work, f"r{index}.log")).read():
                assert time.time() < deadline, "the server did not start"
                time.sleep(0.1)
        far = int(time.time() * 1000) + 10 * 365 * 86400 * 1000
        started = time.time()
        psql(url, f"""
            INSERT INTO sessions (id, owner, object_key, size, part_size, part_count, storage_upload_id, state,
              created_at, updated_at, expires_at)
            SELECT md5(i::text), CASE WHEN i % 10 < 6 THEN 'bulk' ELSE 'p' || (i % {options.callers}) END,
              'seed/' || i, 32 << 20, 8 << 20, 4, 'seed-' || i, CASE WHEN i % 10 = 9 THEN 'open' ELSE 'completed' END,
              i, i, {far}
            FROM generate_series(1, {options.sessions}) i;
            INSERT INTO parts (session_id, number, size, state, updated_at)
            SELECT md5(i::text), n, 8 << 20, 'receiving', i FROM generate_series(1, {options.sessions}) i,
              generate_series(1, 4) n;
            ANALYZE;""")
        seeded = time.time() - started
        watched = {"server": [p.pid for p in servers], "PostgreSQL": postgres_pids(), "callers": [os.getpid()]}
        before = {name: cpu_seconds(pids) for name, pids in watched.items()}
        creates, gets, errors = asyncio.run(load(addresses[0], pb2, pb2_grpc, options.callers, options.seconds))
        watched["PostgreSQL"] = sorted(set(watched["PostgreSQL"]) | set(postgres_pids()))
        cpu = {name: cpu_seconds(pids) - before.get(name, 0) for name, pids in watched.items()}
        first, deep = asyncio.run(list_pages(addresses[0], pb2, pb2_grpc, 50_000))
        # Expiry: the seeded sessions have fake upload ids; the local store forgets unknown ones.
        psql(url, f"UPDATE sessions SET expires_at = 0, state = 'open' WHERE id IN "
                  f"(SELECT id FROM sessions WHERE object_key LIKE 'seed/%' LIMIT {options.expire})")
        started = time.time()
        while True:
            (left,), = psql(url, "SELECT COUNT(*) FROM sessions WHERE expires_at = 0 AND state = 'open'")
            if int(left) == 0 or time.time() - started > 600:
                break
            time.sleep(0.5)
        expiry = time.time() - started
        print(f"| measure | value |\n|---|---|")
        print(f"| sessions in the database | {options.sessions:,} seeded (+{len(creates):,} created), 4 parts each, 60% one principal's, 10% open (seeded in {seeded:.1f} s) |")
        print(f"| callers | {options.callers} concurrent, {options.seconds} s, {options.replicas} replica(s) |")
        print(f"| CreateSession | {len(creates) / options.seconds:.0f}/s, p50 {percentile(creates, 0.5):.1f} ms, p99 {percentile(creates, 0.99):.1f} ms |")
        print(f"| GetSession | p50 {percentile(gets, 0.5):.1f} ms, p99 {percentile(gets, 0.99):.1f} ms |")
        print(f"| errors | {len(errors)} {sorted(set(errors))} |")
        print(f"| CPU seconds in those {options.seconds} s | " + ", ".join(f"{name} {value:.1f}" for name, value in cpu.items()) + " |")
        print(f"| ListSessions, first page of 100 | {first * 1000:.1f} ms |")
        print(f"| ListSessions, a page of 100 50,000 deep | {deep * 1000:.1f} ms |")
        print(f"| expire {options.expire:,} sessions | {expiry:.1f} s ({'done' if int(left) == 0 else f'{left} left'}) |")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        postgres.stop(os.path.join(work, "pg"), "immediate")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
