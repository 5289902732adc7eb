#!/usr/bin/env python3
"""The benchmark behind scripts/bench.sh: every tool uploads the same files to the same
SeaweedFS, alternating, repeated, on loopback or through emulated links; reports median
throughput, the ratio to s5cmd, and peak RSS of client (/usr/bin/time -v) and server (VmHWM);
replaces its sections of docs/BENCHMARKS.md."""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
MiB = 1 << 20
TUS_UPLOAD = os.path.join(ROOT, "scripts", "lib", "tus_upload.py")
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
import seaweedfs  # noqa: E402
from delay_line import DelayLine  # noqa: E402
from packet_link import PacketLink  # noqa: E402


def cpu_seconds(pids):
    """User + system CPU seconds used so far by `pids`."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def weed_pids():
    return [int(p) for p in subprocess.run(["pgrep", "-x", "weed"], capture_output=True, text=True).stdout.split()]


class Run:
    """One timed run: wall time, the client's peak RSS and CPU, and the CPU the upload server and
    the S3 server spent meanwhile."""

    def __init__(self, command, env, server_pid=None, during=None):
        watched = {"server": [server_pid] if server_pid else [], "s3": weed_pids()}
        before = {name: cpu_seconds(pids) for name, pids in watched.items()}
        start = time.perf_counter()
        stop = during() if during else None
        try:
            result = subprocess.run(["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True)
        finally:
            if stop:
                stop()
        self.seconds = time.perf_counter() - start
        self.stdout = result.stdout
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
        time.sleep(0.3)  # let the servers finish what the upload left behind
        self.rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", result.stderr).group(1))
        system = float(re.search(r"System time \(seconds\): ([\d.]+)", result.stderr).group(1))
        self.client_cpu = user + system
        self.server_cpu = cpu_seconds(watched["server"]) - before["server"]
        self.s3_cpu = cpu_seconds(watched["s3"]) - before["s3"]


class Server:
    def __init__(self, binary, args, env, work):
        self.log_path = os.path.join(work, f"server-{time.time_ns()}.log")
        self.process = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args], env=env,
                                        stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        self.address = None
        # The tus listener (HOST:PORT), when started with --http-listen.
        self.tus = None
        while self.address is None or ("--http-listen" in args and self.tus is None):
            with open(self.log_path) as f:
                log = f.read()
            match = re.search(r"listening on (\S+)", log)
            tus = re.search(r"tus uploads on https?://([^/]+)/", log)
            if match:
                self.address = match.group(1)
            if tus:
                self.tus = tus.group(1)
            if self.address and ("--http-listen" not in args or self.tus):
                break
            elif time.time() > deadline or self.process.poll() is not None:
                raise SystemExit(open(self.log_path).read())
            time.sleep(0.05)

    def peak_rss(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

    def stop(self):
        self.process.terminate()
        self.process.wait()


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    return f"{os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB RAM, Linux {platform.release()}"


class Link:
    """Where a tool connects: directly; through a packet-level link (`RTT_MS,MBIT[,LOSS_PCT]`,
    scripts/lib/packet_link.py: the tool runs in a network namespace whose packets are delayed,
    rate-limited and dropped below TCP); or through a TCP delay line (`tcp:RTT_MS,MBIT`,
    scripts/lib/delay_line.py: a proxy, which hides loss from TCP but reaches 1 Gbit/s)."""

    def __init__(self, spec, blackout=None):
        self.spec = spec
        self.tcp = spec.startswith("tcp:")
        self.blackout = blackout
        if spec == "loopback":
            self.rtt_ms, self.mbit, self.loss = 0, None, 0.0
        else:
            fields = spec.removeprefix("tcp:").split(",")
            self.rtt_ms = float(fields[0])
            self.mbit = float(fields[1]) if len(fields) > 1 and fields[1] else None
            self.loss = float(fields[2]) if len(fields) > 2 else 0.0
        self.lines = []
        self.packet = None

    @property
    def emulated(self):
        return self.spec != "loopback"

    @property
    def packets(self):
        return self.emulated and not self.tcp

    def title(self):
        if not self.emulated:
            return "loopback"
        rate = f"{self.mbit:g} Mbit/s" if self.mbit else "no rate limit"
        kind = "TCP delay line" if self.tcp else "packet link"
        loss = f", {self.loss:g}% loss each way" if self.loss else ""
        dark = f", {self.blackout[1]:g} s blackout every {self.blackout[0]:g} s" if self.blackout and self.packets else ""
        return f"{self.rtt_ms:g} ms round trip, {rate}{loss}{dark} ({kind})"

    def open(self):
        if self.packets and self.packet is None:
            # The namespace defaults to cubic, as most client machines do.
            self.packet = PacketLink(rtt_ms=self.rtt_ms, mbit=self.mbit or 1000, loss=self.loss)
        return self

    @property
    def inside(self):
        """The prefix that runs a client command on the far side of the link."""
        return self.open().packet.inside if self.packets else []

    def to(self, address):
        """`address` (HOST:PORT), or the address that reaches it through the link."""
        if not self.emulated:
            return address
        host, port = address.rsplit(":", 1)
        if self.packets:
            return self.open().packet.forward(host, port)
        line = DelayLine((host, int(port)), self.rtt_ms, self.mbit)
        self.lines.append(line)
        return line.address

    def blackouts(self):
        """For `Run(during=...)`: blacks the link out `blackout[0]` s into the run, for
        `blackout[1]` s, again every period; returns the function that stops it."""
        if not (self.packets and self.blackout):
            return None
        every, length = self.blackout
        done = threading.Event()

        def loop():
            while not done.wait(every):
                self.packet.blackout(length)
                if done.wait(length):
                    return
        threading.Thread(target=loop, daemon=True).start()
        return done.set

    def close(self):
        for line in self.lines:
            line.close()
        self.lines = []
        if self.packet:
            self.packet.close()
            self.packet = None


def cpu_medians(runs, kinds=("client_cpu", "server_cpu", "s3_cpu")):
    """The median CPU seconds of `runs` for each of `kinds`, as `client / server / SeaweedFS`."""
    return " / ".join(f"{statistics.median(getattr(r, k) for r in runs):.1f}" for k in kinds)


def s3_env(base, endpoint):
    """`base` with every S3 tool pointed at `endpoint`."""
    return dict(base, AWS_ENDPOINT_URL_S3=endpoint, RCLONE_CONFIG_BENCH_ENDPOINT=endpoint)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--sizes", default="64,1024", help="file sizes in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--link", action="append",
                        help="RTT_MS,MBIT[,LOSS_PCT]: run the tools through a packet-level link with this round "
                             "trip, rate and random loss each way (repeatable; 'tcp:RTT_MS,MBIT' for the TCP delay "
                             "line; 'loopback' for none; default: loopback)")
    parser.add_argument("--blackout", default=None,
                        help="EVERY_S:FOR_S: on packet links, drop every packet for FOR_S seconds, EVERY_S seconds "
                             "into each run and again every EVERY_S after each blackout")
    parser.add_argument("--clients", type=int, default=0,
                        help="also upload from this many uploader processes at once over each link, and record "
                             "the server's peak RSS")
    parser.add_argument("--server-args", default="", help="extra uploader-server flags, for example '--http2-window 2MiB'")
    parser.add_argument("--postgres", action="store_true",
                        help="instead of the tools: one upload per size with sessions in SQLite against PostgreSQL, "
                             "then --clients uploads of --client-size MiB at once to 1 replica and to --replicas")
    parser.add_argument("--first-byte", type=int, default=0, metavar="MIB",
                        help="also time the first byte of a MIB file reaching the server (a sparse file: "
                             "reading and hashing cost what they cost for any bytes)")
    parser.add_argument("--tools", default="",
                        help="on packet links, only the tools whose names contain one of these comma-separated words "
                             "(for example 'uploader' or 's5cmd,aws')")
    parser.add_argument("--files", action="append", metavar="COUNT:KIB",
                        help="instead of --sizes: a directory of COUNT files of KIB each, uploaded whole by every "
                             "tool (repeatable, for example 1000:40)")
    parser.add_argument("--transfers", default="",
                        help="with --files: also run uploader with each of these comma-separated --transfers")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--client-size", type=int, default=128, help="MiB per client in the --postgres run")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",") if s]
    blackout = tuple(float(x) for x in options.blackout.split(":")) if options.blackout else None
    links = [Link(spec, blackout) for spec in (options.link or ["loopback"])]
    work = tempfile.mkdtemp(prefix="uploader-bench-", dir="/var/tmp")
    s3dir = os.path.join(work, "s3")
    exports = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "seaweedfs.py"), "start", s3dir],
                             capture_output=True, text=True, check=True).stdout
    settings = dict(line.replace("export ", "").split("=", 1) for line in exports.splitlines())
    endpoint = settings["UPLOADER_TEST_S3_ENDPOINT"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=settings["UPLOADER_TEST_S3_ACCESS_KEY"],
               AWS_SECRET_ACCESS_KEY=settings["UPLOADER_TEST_S3_SECRET_KEY"], AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_S3=endpoint,
               RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other",
               RCLONE_CONFIG_BENCH_ENDPOINT=endpoint,
               RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=settings["UPLOADER_TEST_S3_ACCESS_KEY"],
               RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=settings["UPLOADER_TEST_S3_SECRET_KEY"],
               PATH=VENV_BIN + ":" + os.environ["PATH"])
    subprocess.run([os.path.join(VENV_BIN, "aws"), "--endpoint-url", endpoint, "s3", "mb", "s3://bench"],
                   env=env, check=True, capture_output=True)
    uploader = os.path.join(options.bin, "uploader")
    server_binary = os.path.join(options.bin, "uploader-server")
    sections = {}  # heading -> lines
    if options.postgres:
        try:
            measure_postgres(options, work, env, uploader, server_binary, sections)
        finally:
            seaweedfs.stop(s3dir)
            shutil.rmtree(work, ignore_errors=True)
        write_report(sections, options.repeat)
        return
    if options.files:
        try:
            for link in links:
                for spec in options.files:
                    count, kib = (int(x) for x in spec.split(":"))
                    heading = f"{count} files of {kib} KiB, {link.title()}"
                    print(f"==> {heading}", flush=True)
                    sections[heading] = measure_many(link, count, kib, work, env, endpoint, uploader, server_binary,
                                                     options.repeat, options.server_args.split(),
                                                     [int(t) for t in options.transfers.split(",") if t])
        finally:
            for link in links:
                link.close()
            seaweedfs.stop(s3dir)
            shutil.rmtree(work, ignore_errors=True)
        write_report(sections, options.repeat)
        return
    try:
        if options.first_byte:
            heading = f"Time to the first byte, {options.first_byte} MiB file, loopback"
            print(f"==> {heading}", flush=True)
            sections[heading] = measure_first_byte(options.first_byte, work, env, uploader, server_binary,
                                                   options.repeat, options.server_args.split())
        for link in links:
            for size in sizes:
                path = os.path.join(work, f"file-{size}")
                with open(path, "wb") as f:
                    for _ in range(size):
                        f.write(os.urandom(MiB))
                heading = f"{size} MiB, {link.title()}"
                print(f"==> {heading}", flush=True)
                if link.packets:
                    sections[heading] = measure_path(link, path, size, work, env, endpoint, uploader, server_binary,
                                                     options.repeat, options.server_args.split(),
                                                     [t for t in options.tools.split(",") if t])
                else:
                    sections[heading] = measure_tools(link, path, size, work, env, endpoint, uploader, server_binary,
                                                      options.repeat, options.server_args.split())
                if options.clients:
                    heading = f"{options.clients} clients at once, {size} MiB each, {link.title()}"
                    print(f"==> {heading}", flush=True)
                    sections[heading] = measure_clients(link, path, size, work, env, endpoint, uploader, server_binary,
                                                        options.clients, options.server_args.split())
                os.remove(path)
    finally:
        for link in links:
            link.close()
        seaweedfs.stop(s3dir)
        shutil.rmtree(work, ignore_errors=True)  # the bucket holds several GiB by now
    write_report(sections, options.repeat)


def measure_tools(link, path, size, work, env, endpoint, uploader, server_binary, repeat, server_args):
    """Every tool, alternating, `repeat` times; returns the section's lines."""
    ceiling_dir = tempfile.mkdtemp(prefix="uploader-ceiling-", dir="/dev/shm")
    s3_server = Server(server_binary, ["--data-dir", os.path.join(work, f"data-{time.time_ns()}"), "--s3-bucket", "bench",
                                       "--http-listen", "127.0.0.1:0", *server_args], env, work)
    local_server = Server(server_binary, ["--data-dir", ceiling_dir, *server_args], env, work)
    discard_dir = tempfile.mkdtemp(prefix="uploader-discard-", dir="/dev/shm")
    # Keeps nothing: what the server costs without a store (gRPC, spool on tmpfs, SHA-256).
    discard_server = Server(server_binary, ["--data-dir", discard_dir, "--discard-objects-for-benchmarks",
                                            *server_args], env, work)
    s3_address = link.to(endpoint.removeprefix("http://"))
    tool_env = s3_env(env, f"http://{s3_address}")
    server_address = link.to(s3_server.address)
    local_address = link.to(local_server.address)
    discard_address = link.to(discard_server.address)
    tus_address = link.to(s3_server.tus)
    state = os.path.join(work, f"state-{time.time_ns()}")
    tools = {
        "uploader --parallel 1": [uploader, "upload", path, "--key", "u1", "--parallel", "1", "--no-progress",
                                  "--server", server_address, "--state-dir", state],
        "uploader (default)": [uploader, "upload", path, "--key", "u4", "--no-progress",
                               "--server", server_address, "--state-dir", state],
        # The server reads the object back from S3 and hashes it before the upload is done.
        "uploader --verify": [uploader, "upload", path, "--key", "uv", "--verify", "--no-progress",
                              "--server", server_address, "--state-dir", state],
        "s5cmd": ["s5cmd", "--endpoint-url", f"http://{s3_address}", "cp", path, "s3://bench/s5"],
        "aws cli": ["aws", "--endpoint-url", f"http://{s3_address}", "s3", "cp", "--quiet", path, "s3://bench/aws"],
        "rclone": ["rclone", "copyto", "--ignore-times", path, "bench:bench/rclone"],
        # The tus door, with the tus project's own client: PATCHes of 8 MiB, one at a time.
        "tuspy through the tus door": [sys.executable, TUS_UPLOAD, path, f"http://{tus_address}/files/", "tus"],
        "uploader, local store on tmpfs": [
            uploader, "upload", path, "--key", "c", "--no-progress", "--server", local_address, "--state-dir", state],
        "uploader, server discards parts (gRPC ceiling)": [
            uploader, "upload", path, "--key", "d", "--no-progress", "--server", discard_address, "--state-dir", state],
    }
    results = {}
    try:
        for _ in range(repeat):
            for tool, command in tools.items():
                server = (local_server if tool.startswith("uploader, local")
                          else discard_server if tool.startswith("uploader, server discards") else s3_server)
                pid = server.process.pid if tool.startswith(("uploader", "tuspy")) else None
                run = Run(command, tool_env, pid)
                results.setdefault(tool, []).append(run)
                print(f"    {tool}: {run.seconds:.2f} s", flush=True)
                if tool.startswith("uploader, local"):
                    shutil.rmtree(os.path.join(ceiling_dir, "store"), ignore_errors=True)
        results["openssl dgst -sha256 (hashing floor)"] = [Run(["openssl", "dgst", "-sha256", path], env)
                                                           for _ in range(repeat)]
        server_rss = s3_server.peak_rss()
    finally:
        s3_server.stop()
        local_server.stop()
        discard_server.stop()
        link.close()
        shutil.rmtree(ceiling_dir, ignore_errors=True)
        shutil.rmtree(discard_dir, ignore_errors=True)
    s5 = statistics.median(r.seconds for r in results["s5cmd"])
    lines = ["| tool | median time | throughput | time vs s5cmd | client peak RSS | CPU s: client / server / SeaweedFS |",
             "|---|---|---|---|---|---|"]
    for tool, runs in results.items():
        median = statistics.median(r.seconds for r in runs)
        rss = max(r.rss for r in runs)
        cpu = cpu_medians(runs)
        lines.append(f"| {tool} | {median:.2f} s | {size / median:.0f} MiB/s | {median / s5:.2f}x | {rss / 1024:.0f} MiB | {cpu} |")
    lines += ["", f"Server peak RSS (VmHWM) over these runs, S3 store: {server_rss / 1024:.0f} MiB."]
    return lines


def measure_path(link, path, size, work, env, endpoint, uploader, server_binary, repeat, server_args, only=()):
    """Through a packet link: uploader with BBR (its default), uploader on the system's cubic (a
    kernel that does not allow BBR), s5cmd and aws cli, alternating; goodput and the connections
    uploader ended with."""
    server = Server(server_binary, ["--data-dir", os.path.join(work, f"data-{time.time_ns()}"), "--s3-bucket", "bench",
                                    "--http-listen", "127.0.0.1:0", *server_args], env, work)
    state = os.path.join(work, f"state-{time.time_ns()}")
    server_address = link.to(server.address)
    tus_address = link.to(server.tus)
    s3_address = link.to(endpoint.removeprefix("http://"))
    tool_env = s3_env(env, f"http://{s3_address}")
    uploader_flags = ["--no-progress", "--json", "--server", server_address, "--state-dir", state]
    tools = {
        "uploader (default: BBR, adaptive connections)": [uploader, "upload", path, "--key", "p-bbr", *uploader_flags],
        "uploader, cubic (BBR not allowed)": [uploader, "upload", path, "--key", "p-cubic",
                                              "--congestion-control", "system", *uploader_flags],
        "s5cmd": ["s5cmd", "--endpoint-url", f"http://{s3_address}", "cp", path, "s3://bench/s5"],
        "aws cli": ["aws", "--endpoint-url", f"http://{s3_address}", "s3", "cp", "--quiet", path, "s3://bench/aws"],
        "tuspy through the tus door (cubic)": [sys.executable, TUS_UPLOAD, path, f"http://{tus_address}/files/", "tus"],
    }
    if only:
        tools = {name: command for name, command in tools.items() if any(word in name for word in only)}
    results, connections = {}, {}
    try:
        for _ in range(repeat):
            for tool, command in tools.items():
                pid = server.process.pid if tool.startswith(("uploader", "tuspy")) else None
                run = Run([*link.inside, *command], tool_env, pid, during=link.blackouts)
                results.setdefault(tool, []).append(run)
                note = ""
                if tool.startswith("uploader"):
                    used = json.loads(run.stdout)["transport"]
                    connections.setdefault(tool, []).append(
                        f"{used['connections_peak']} ({used['congestion_control']})")
                    note = f", connections {connections[tool][-1]}, reconnects {used['reconnects']}"
                print(f"    {tool}: {run.seconds:.2f} s, {size * 8 * MiB / run.seconds / 1e6:.1f} Mbit/s{note}",
                      flush=True)
        server_rss = server.peak_rss()
    finally:
        server.stop()
        link.close()
    s5 = statistics.median(r.seconds for r in results["s5cmd"]) if "s5cmd" in results else float("nan")
    lines = ["| tool | median time | goodput | time vs s5cmd | connections at the most | client peak RSS | CPU s: client / server |",
             "|---|---|---|---|---|---|---|"]
    for tool, runs in results.items():
        median = statistics.median(r.seconds for r in runs)
        cpu = cpu_medians(runs, ("client_cpu", "server_cpu"))
        ratio = f"{median / s5:.2f}x" if "s5cmd" in results else "-"
        lines.append(f"| {tool} | {median:.1f} s | {size * 8 * MiB / median / 1e6:.1f} Mbit/s | {ratio} | "
                     f"{', '.join(connections.get(tool, ['-']))} | "
                     f"{max(r.rss for r in runs) / 1024:.0f} MiB | {cpu} |")
    lines += ["", f"Server peak RSS (VmHWM) over these runs: {server_rss / 1024:.0f} MiB."]
    return lines


def measure_many(link, count, kib, work, env, endpoint, uploader, server_binary, repeat, server_args, transfers):
    """A directory of `count` files of `kib` KiB each (random bytes), uploaded whole by every tool,
    alternating, each run under its own prefix; returns the section's lines."""
    directory = os.path.join(work, f"many-{count}x{kib}")
    os.makedirs(directory, exist_ok=True)
    for index in range(count):
        with open(os.path.join(directory, f"f{index:06d}"), "wb") as f:
            f.write(os.urandom(kib * 1024))
    server = Server(server_binary, ["--data-dir", os.path.join(work, f"data-{time.time_ns()}"), "--s3-bucket", "bench",
                                    *server_args], env, work)
    server_address = link.to(server.address)
    s3_address = link.to(endpoint.removeprefix("http://"))
    tool_env = s3_env(env, f"http://{s3_address}")
    inside = link.inside

    def tools(run):
        prefix = f"many{run}"
        state = os.path.join(work, f"state-many-{time.time_ns()}")
        uploader_flags = ["--no-progress", "--server", server_address, "--state-dir", state]
        found = {
            "uploader (default)": [uploader, "upload", directory, "--key-prefix", f"{prefix}/u/", *uploader_flags],
        }
        for count in transfers:
            found[f"uploader --transfers {count}"] = [uploader, "upload", directory, "--key-prefix",
                                                      f"{prefix}/t{count}/", "--transfers", str(count), *uploader_flags]
        found.update({
            "s5cmd": ["s5cmd", "--endpoint-url", f"http://{s3_address}", "cp", directory + "/*",
                      f"s3://bench/{prefix}/s5/"],
            "aws cli": ["aws", "--endpoint-url", f"http://{s3_address}", "s3", "cp", "--quiet", "--recursive",
                        directory, f"s3://bench/{prefix}/aws/"],
            "rclone": ["rclone", "copy", directory, f"bench:bench/{prefix}/rclone"],
        })
        return found

    # SeaweedFS grows its volumes on a bucket's first writes, and the tool that ran first paid for
    # it (uploader 4.98 s on a fresh SeaweedFS, 1.52 s once s5cmd had written there): one untimed
    # copy first, so every timed run meets the same store.
    subprocess.run(["s5cmd", "--endpoint-url", endpoint, "cp", directory + "/*", "s3://bench/warm-up/"],
                   env=env, check=True, capture_output=True)
    results = {}
    try:
        for run in range(repeat):
            for tool, command in tools(run).items():
                pid = server.process.pid if tool.startswith("uploader") else None
                result = Run([*inside, *command], tool_env, pid)
                results.setdefault(tool, []).append(result)
                print(f"    {tool}: {result.seconds:.2f} s", flush=True)
        server_rss = server.peak_rss()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    s5 = statistics.median(r.seconds for r in results["s5cmd"])
    lines = ["| tool | median time | files per second | time vs s5cmd | client peak RSS | CPU s: client / server / SeaweedFS |",
             "|---|---|---|---|---|---|"]
    for tool, runs in results.items():
        median = statistics.median(r.seconds for r in runs)
        cpu = cpu_medians(runs)
        lines.append(f"| {tool} | {median:.2f} s | {count / median:.0f} | {median / s5:.2f}x | "
                     f"{max(r.rss for r in runs) / 1024:.0f} MiB | {cpu} |")
    lines += ["", f"Server peak RSS (VmHWM) over these runs: {server_rss / 1024:.0f} MiB."]
    return lines


def measure_first_byte(size, work, env, uploader, server_binary, repeat, server_args):
    """Seconds from starting `uploader upload` of a `size` MiB file to the server's
    uploader_bytes_received_total leaving 0 (polled every 5 ms), `repeat` times."""
    path = os.path.join(work, f"sparse-{size}")
    with open(path, "wb") as f:
        f.truncate(size * MiB)
    times = []
    for run in range(repeat):
        server = Server(server_binary, ["--data-dir", os.path.join(work, f"data-fb-{time.time_ns()}"),
                                        "--s3-bucket", "bench", "--metrics-listen", "127.0.0.1:0", *server_args],
                        env, work)
        try:
            deadline = time.time() + 10
            while not (url := re.search(r"metrics on (\S+)", open(server.log_path).read())):
                if time.time() > deadline:
                    raise SystemExit("the server never said where its metrics are")
                time.sleep(0.02)
            start = time.perf_counter()
            upload = subprocess.Popen([uploader, "upload", path, "--key", f"first-byte-{run}", "--no-progress",
                                       "--server", server.address, "--state-dir", os.path.join(work, f"fb-{run}")],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while received_bytes(url.group(1)) == 0:
                if upload.poll() is not None:
                    raise SystemExit(f"the upload ended ({upload.returncode}) before the server saw a byte")
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
            upload.kill()
            upload.wait()
        finally:
            server.stop()
    os.remove(path)
    return ["| file | first byte at the server, median | max |", "|---|---|---|",
            f"| {size} MiB | {statistics.median(times):.3f} s | {max(times):.3f} s |", "",
            "From starting `uploader upload` to the server's `uploader_bytes_received_total` leaving 0 "
            "(polled every 5 ms): process start, journal, connection, CreateSession, the first part's "
            "SHA-256 (declared with its first chunk) and the first chunk."]


def received_bytes(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("uploader_bytes_received_total"):
                return float(line.split()[-1])
    return 0


def measure_clients(link, path, size, work, env, endpoint, uploader, server_binary, count, server_args):
    """`count` uploader processes at once against one fresh server, then `count` s5cmd processes at
    once against S3 through the same kind of link; returns the section's lines."""
    server = Server(server_binary, ["--data-dir", os.path.join(work, f"data-{time.time_ns()}"), "--s3-bucket", "bench",
                     *server_args], env, work)
    try:
        address = link.to(server.address)
        uploads = run_at_once([[uploader, "upload", path, "--key", f"many/{i}", "--no-progress", "--server", address,
                                "--state-dir", os.path.join(work, f"many-{time.time_ns()}-{i}")] for i in range(count)],
                              env)
        rss = server.peak_rss()
    finally:
        server.stop()
        link.close()
    try:
        s3_address = link.to(endpoint.removeprefix("http://"))
        s5 = run_at_once([["s5cmd", "--endpoint-url", f"http://{s3_address}", "cp", path, f"s3://bench/many-s5/{i}"]
                          for i in range(count)], env)
    finally:
        link.close()
    total = count * size
    return ["| tool | total | wall time | aggregate throughput | time vs s5cmd | server peak RSS |",
            "|---|---|---|---|---|---|",
            f"| {count} x uploader | {total} MiB | {uploads:.2f} s | {total / uploads:.0f} MiB/s | "
            f"{uploads / s5:.2f}x | {rss / 1024:.0f} MiB |",
            f"| {count} x s5cmd | {total} MiB | {s5:.2f} s | {total / s5:.0f} MiB/s | 1.00x | |",
            "", "One run of each, not repeated. Every upload succeeded (the run stops on any failure)."]


def write_random(path, size):
    with open(path, "wb") as f:
        for _ in range(size):
            f.write(os.urandom(MiB))


def measure_postgres(options, work, env, uploader, server_binary, sections):
    """Sessions in SQLite against PostgreSQL (one replica, alternating), then `--clients`
    uploads at once to one replica and to `--replicas` replicas sharing PostgreSQL."""
    pg_dir = os.path.join(work, "pg")
    exports = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "postgres.py"), "start", pg_dir],
                             capture_output=True, text=True, check=True).stdout
    url = next(line.split("=", 1)[1] for line in exports.splitlines() if "POSTGRES_URL" in line)
    servers = []
    try:
        for size in [int(s) for s in options.sizes.split(",")]:
            path = os.path.join(work, f"file-{size}")
            write_random(path, size)
            sqlite = Server(server_binary, ["--data-dir", os.path.join(work, "sqlite"), "--s3-bucket", "bench"], env, work)
            postgres = Server(server_binary, ["--data-dir", os.path.join(work, "pg-node"), "--s3-bucket", "bench",
                                              "--database", url], env, work)
            servers += [sqlite, postgres]
            results = {}
            for _ in range(options.repeat):
                for name, server in (("SQLite", sqlite), ("PostgreSQL", postgres)):
                    results.setdefault(name, []).append(Run(
                        [uploader, "upload", path, "--key", f"pg/{name}", "--no-progress", "--server", server.address,
                         "--state-dir", os.path.join(work, f"state-{time.time_ns()}")], env, server.process.pid))
            base = statistics.median(r.seconds for r in results["SQLite"])
            lines = ["| sessions in | median time | throughput | time vs SQLite | CPU s: client / server / SeaweedFS |",
                     "|---|---|---|---|---|"]
            for name, runs in results.items():
                median = statistics.median(r.seconds for r in runs)
                cpu = cpu_medians(runs)
                lines.append(f"| {name} | {median:.2f} s | {size / median:.0f} MiB/s | {median / base:.2f}x | {cpu} |")
            sections[f"{size} MiB, sessions in SQLite or PostgreSQL, one replica, loopback"] = lines
            os.remove(path)
        if options.clients:
            path = os.path.join(work, "client-file")
            write_random(path, options.client_size)
            rows = []
            for count in (1, options.replicas):
                replicas = [Server(server_binary, ["--data-dir", os.path.join(work, f"n{count}-{i}"), "--s3-bucket",
                                                   "bench", "--database", url, "--node-id", f"n{count}-{i}"], env, work)
                            for i in range(count)]
                servers += replicas
                addresses = ",".join(r.address for r in replicas)
                seconds = run_at_once([[uploader, "upload", path, "--key", f"many-{count}/{i}", "--no-progress",
                                        "--server", addresses,
                                        "--state-dir", os.path.join(work, f"many-{time.time_ns()}-{i}")]
                                       for i in range(options.clients)], env)
                rss = max(r.peak_rss() for r in replicas)
                total = options.clients * options.client_size
                rows.append(f"| {count} | {total} MiB | {seconds:.2f} s | {total / seconds:.0f} MiB/s | {rss / 1024:.0f} MiB |")
                for replica in replicas:
                    replica.stop()
            sections[f"{options.clients} clients at once, {options.client_size} MiB each, replicas on PostgreSQL, loopback"] = [
                "| replicas | total | wall time | aggregate throughput | peak RSS of one replica |",
                "|---|---|---|---|---|", *rows, "",
                f"Clients are given every replica (`--server A,B,C`), so their connections spread over them. "
                f"On {os.cpu_count()} cores shared by the clients, the replicas, PostgreSQL and SeaweedFS this shows "
                "what more replicas cost, not how they scale."]
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "lib", "postgres.py"), "stop", pg_dir],
                       capture_output=True)


def run_at_once(commands, env):
    """Runs `commands` at the same time; returns the wall time, or stops on any failure."""
    start = time.perf_counter()
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for command in commands]
    failures = [p.stderr.read() for p in processes if p.wait() != 0]
    seconds = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} of {len(commands)} uploads failed:\n{failures[0]}")
    return seconds


def write_report(sections, repeat):
    """Replaces the measured sections of docs/BENCHMARKS.md and keeps the others."""
    report_path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    kept = {}
    if os.path.exists(report_path):
        text = open(report_path).read()
        for block in text.split("\n## ")[1:]:
            heading, _, body = block.partition("\n")
            kept[heading.strip()] = body.strip("\n").splitlines()
    today = time.strftime("%Y-%m-%d")
    for heading, lines in sections.items():
        kept[heading] = [f"Measured {today}, {repeat} runs each where timed.", "", *lines]
    lines = [
        "# Benchmarks", "",
        f"Written by `scripts/bench.sh` on {machine()}.",
        "Every tool uploads the same random file to the same SeaweedFS bucket, alternating; median time. "
        "Release build of `uploader` and `uploader-server` (server with the S3 store, 8 MiB parts; the client "
        "hashes the file while it sends, and the time includes it). Peak RSS of the client from `/usr/bin/time -v`. "
        "CPU: median seconds of CPU (user + system) of the client, of `uploader-server`, and of SeaweedFS "
        "during the run; on 2 cores the sum bounds the time from below at half its value. "
        "\"local store on tmpfs\" is the embedded default store with its data directory in /dev/shm; "
        "\"server discards parts\" is a server that keeps nothing (a hidden flag, for this row only): "
        "gRPC and the spool on tmpfs, hashing as on the S3 path (that is, not at all: S3 verifies parts), "
        "so it is the ceiling the client and the gRPC path allow.", "",
        "Sections named after a round trip ran every tool through an emulated link. A \"TCP delay line\" "
        "(`scripts/bench.sh --link tcp:RTT_MS,MBIT`, `scripts/lib/delay_line.py`) is a TCP proxy in front of "
        "each server adding half the round trip in each direction and serialising at the rate, as the "
        "kernel here has no netem; it hides loss from the client's TCP. A \"packet link\" "
        "(`--link RTT_MS,MBIT[,LOSS_PCT]`, `scripts/lib/packet_link.py`) runs the client in a network "
        "namespace whose IP packets cross a relay that serialises them at the rate, delays them, drops "
        "them at random and, with `--blackout`, drops everything for a while without a word: the client's "
        "congestion control sees the path. The namespace defaults to cubic, as most client machines do. "
        "`uploader` crosses the link to `uploader-server`, which sits beside S3; s5cmd, aws cli and "
        "rclone cross it to S3. The relays run in Python on the same 2 cores, so their CPU is a cost "
        "every tool pays.", "",
    ]
    for heading, body in kept.items():
        lines += [f"## {heading}", "", *body, ""]
    report = "\n".join(lines)
    print(report)
    with open(report_path, "w") as f:
        f.write(report)


if __name__ == "__main__":
    main()
