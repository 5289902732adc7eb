#!/usr/bin/env python3
"""Starts a throwaway PostgreSQL cluster under DIR on a free loopback port.

Usage: postgres.py start DIR   -> prints shell `export` lines (UPLOADER_TEST_POSTGRES_URL, pid dir)
       postgres.py stop DIR
       postgres.py pause DIR / resume DIR   (stop and start the same cluster: a database outage)

Debian's PostgreSQL refuses to run as root, so when run as root the cluster belongs to the
`postgres` user (initdb, pg_ctl through runuser). Installs Debian's `postgresql` when initdb is
missing. The cluster trusts local connections on loopback only; fsync is off (tests, not data).
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time

USER = "uploader"
DATABASE = "uploader"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binaries():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.geteuid() != 0:
            sys.exit("PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], stdout=sys.stderr, env=env).returncode:
            subprocess.run(["apt-get", "update", "-q"], check=True, stdout=sys.stderr, env=env)
            subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, stdout=sys.stderr, env=env)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        sys.exit("initdb not found after installing postgresql")
    return os.path.dirname(found[-1])


def as_owner(command, **kwargs):
    """Runs `command` as the cluster's owner: `postgres` when we are root, else ourselves."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    return subprocess.run(command, **kwargs)


def cluster(directory):
    return os.path.join(os.path.abspath(directory), "cluster")


def pg_ctl(directory, *arguments):
    return as_owner([os.path.join(binaries(), "pg_ctl"), "-D", cluster(directory), *arguments],
                    stdout=sys.stderr, stderr=sys.stderr)


def start(directory):
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    bin_dir = binaries()
    data = cluster(directory)
    if os.geteuid() == 0:
        # The owner must reach the directory: open the path down to it, own the cluster's place.
        path = directory
        while path != "/":
            os.chmod(path, os.stat(path).st_mode | 0o001)
            path = os.path.dirname(path)
        shutil.chown(directory, "postgres", "postgres")
    as_owner([os.path.join(bin_dir, "initdb"), "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8",
              "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    port = free_port()
    with open(os.path.join(data, "postgresql.conf"), "a") as f:
        f.write(f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\n"
                # fsync off: a test cluster need not survive the machine. synchronous_commit ON:
                # `pause` is an immediate shutdown, and with it off a commit still in PostgreSQL's
                # WAL buffers is lost, which no real outage does to a committed transaction.
                "fsync = off\nsynchronous_commit = on\nfull_page_writes = off\nmax_connections = 400\n")
    with open(os.path.join(directory, "port"), "w") as f:
        f.write(str(port))
    if pg_ctl(directory, "-l", os.path.join(data, "postgres.log"), "-w", "start").returncode != 0:
        sys.exit(f"PostgreSQL did not start; see {data}/postgres.log")
    as_owner([os.path.join(bin_dir, "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
             check=True, stderr=sys.stderr)
    print(f"export UPLOADER_TEST_POSTGRES_URL=postgres://{USER}@127.0.0.1:{port}/{DATABASE}")
    print(f"export UPLOADER_TEST_POSTGRES_DIR={directory}")


def stop(directory, mode="fast"):
    if os.path.isdir(cluster(directory)):
        pg_ctl(directory, "-m", mode, "-w", "stop")


def resume(directory):
    data = cluster(directory)
    deadline = time.time() + 30
    while pg_ctl(directory, "-l", os.path.join(data, "postgres.log"), "-w", "start").returncode != 0:
        if time.time() > deadline:
            sys.exit(f"PostgreSQL did not start again; see {data}/postgres.log")
        time.sleep(0.5)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop", "pause", "resume"):
        sys.exit(__doc__)
    action, where = sys.argv[1], sys.argv[2]
    if action == "start":
        start(where)
    elif action == "stop":
        stop(where, "immediate")
    elif action == "pause":
        stop(where, "immediate")
    else:
        resume(where)
