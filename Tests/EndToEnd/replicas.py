"""Several uploader-server replicas sharing PostgreSQL (a fresh schema per cluster) and one
SeaweedFS bucket, behind HAProxy: what the replica tests and scripts/chaos.sh drive."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from haproxy import LoadBalancer  # noqa: E402


_handed_out = set()


def free_port():
    """A port nothing listens on now and that this process never handed out before. Replicas
    bind their ports only once they have started (and again after each restart), so the kernel
    may offer a port already given to one of them: once r3's metrics port was r2's gRPC port, and
    the test read HTTP/2 frames as metrics."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def psql(url, sql):
    """Runs `sql` with psql and returns its rows as lists of strings."""
    result = subprocess.run(["psql", url, "-X", "-q", "-t", "-A", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr}")
    return [line.split("|") for line in result.stdout.splitlines() if line]


class Replica:
    """One uploader-server with a fixed gRPC and metrics port, so a restart keeps its address."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.name = f"r{index + 1}"
        self.port = free_port()
        self.metrics_port = free_port()
        self.http_port = free_port() if cluster.tus else None
        self.data_dir = os.path.join(cluster.work, self.name)
        self.process = None
        self.log = None
        self.starts = 0
        # The last uploader_bytes_received_total seen from each run of this replica.
        self.received_by_run = []

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.starts += 1
        self.received_by_run.append(0)
        self.log_path = os.path.join(self.cluster.work, f"{self.name}-{self.starts}.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.cluster.s3_settings["access_key"],
                   AWS_SECRET_ACCESS_KEY=self.cluster.s3_settings["secret_key"],
                   AWS_ENDPOINT_URL_S3=self.cluster.s3_settings["endpoint"])
        self.process = subprocess.Popen(
            [self.cluster.server_bin, "--listen", self.address, "--data-dir", self.data_dir,
             "--metrics-listen", f"127.0.0.1:{self.metrics_port}", "--database", self.cluster.database,
             "--node-id", self.name, "--node-lapse", "6s", "--s3-bucket", self.cluster.bucket,
             "--drain-timeout", "10s", *self.cluster.extra,
             *(["--http-listen", f"127.0.0.1:{self.http_port}"] if self.http_port else [])],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            if "listening on" in self.output():
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not start listening:\n{self.output()[-3000:]}")

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def logs(self):
        """Every run's log, oldest first."""
        text = ""
        for run in range(1, self.starts + 1):
            with open(os.path.join(self.cluster.work, f"{self.name}-{run}.log")) as f:
                text += f"--- {self.name} run {run} ---\n" + f.read()
        return text

    def running(self):
        return self.process is not None and self.process.poll() is None

    def scrape(self):
        """Notes the replica's received-bytes counter (lost at kill -9, so it is read often)."""
        if not self.running():
            return
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=0.5) as response:
                for line in response.read().decode().splitlines():
                    if line.startswith("uploader_bytes_received_total"):
                        self.received_by_run[-1] = int(float(line.split()[-1]))
        except OSError:
            pass

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def terminate(self, timeout=30):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        self.log.close()

    def pause(self):
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


class Cluster:
    """`count` replicas on one fresh PostgreSQL schema and one bucket, behind HAProxy."""

    def __init__(self, work, s3, s3_settings, server_bin, count=3, extra=(), tus=False):
        self.work = str(work)
        os.makedirs(self.work, exist_ok=True)
        self.s3 = s3
        self.s3_settings = s3_settings
        self.server_bin = server_bin
        self.extra = list(extra)
        # Each replica also serves tus, and HAProxy balances it too (HTTP/1.1, round-robin per request).
        self.tus = tus
        base = os.environ["UPLOADER_TEST_POSTGRES_URL"]
        schema = "replicas_" + uuid.uuid4().hex[:12]
        psql(base, f"CREATE SCHEMA {schema}")
        self.database = base + ("&" if "?" in base else "?") + f"search_path={schema}"
        self.sql_url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
        self.bucket = "replicas-" + uuid.uuid4().hex[:8]
        s3.create_bucket(Bucket=self.bucket)
        self.replicas = [Replica(self, i) for i in range(count)]
        self.balancer_port = free_port()
        self.balancer = None

    def start(self):
        for replica in self.replicas:
            replica.start()
        self.balancer = LoadBalancer(
            os.path.join(self.work, "haproxy"), [(r.port, r.metrics_port) for r in self.replicas],
            port=self.balancer_port,
            http_backends=[(r.http_port, r.metrics_port) for r in self.replicas] if self.tus else None)
        self.balancer.start()
        return self

    @property
    def address(self):
        return self.balancer.address

    @property
    def tus_url(self):
        return f"http://127.0.0.1:{self.balancer.http_port}/files/"

    def sql(self, query):
        return psql(self.sql_url, query)

    def scrape(self):
        for replica in self.replicas:
            replica.scrape()

    def received_bytes(self):
        """Bytes every run of every replica received (as last scraped)."""
        return sum(sum(r.received_by_run) for r in self.replicas)

    def part_holding(self, state="receiving"):
        """(replica, session id, part number) of a part in `state` with received bytes, or None."""
        rows = self.sql(f"SELECT holder_node, session_id, number FROM parts WHERE state = '{state}' "
                        "AND received_bytes > 0 AND holder_node IS NOT NULL LIMIT 1")
        if not rows:
            return None
        holder, session, number = rows[0]
        return next(r for r in self.replicas if r.name == holder), session, int(number)

    def stop(self):
        for replica in self.replicas:
            if replica.running():
                replica.resume()
                replica.kill()
        if self.balancer:
            self.balancer.stop()

    def logs(self):
        return "\n".join(r.logs()[-6000:] for r in self.replicas if r.starts)
