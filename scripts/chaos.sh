#!/usr/bin/env bash
# The full fault suite: every scenario of Tests/EndToEnd/chaos.py, 20 trials each by default,
# against a SeaweedFS started for the run; writes the table to docs/RELIABILITY.md.
#   scripts/chaos.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-20}
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
swift build --product uploader-server
swift build --product uploader
run_dir="$(pwd)/.chaos-run"
rm -rf "$run_dir"
trap '.venv/bin/python scripts/lib/seaweedfs.py stop "$run_dir/s3" || true' EXIT
# Not eval "$(...)": eval of an empty string succeeds, and a failed start would go unnoticed.
if ! s3_exports=$(.venv/bin/python scripts/lib/seaweedfs.py start "$run_dir/s3"); then
  echo "SeaweedFS did not start; its log:" >&2
  cat "$run_dir/s3/weed.log" >&2 || true
  exit 1
fi
eval "$s3_exports"
table="$run_dir/table.md"
status=0
.venv/bin/python Tests/EndToEnd/chaos.py --trials "$trials" --bin "$(swift build --show-bin-path)" --report "$table" || status=$?
{
  echo "# Reliability"
  echo
  echo "Written by \`scripts/chaos.sh $trials\` on $(date -u +%Y-%m-%d) ($(nproc) cores, debug build, SeaweedFS on"
  echo "loopback). Each trial uploads a 24 MiB random file with \`uploader upload\` (rate-limited to"
  echo "16 MiB/s, 64 MiB/s for the link scenarios, so faults land mid-upload), breaks something, and"
  echo "checks with boto3 that the object is byte-identical, that ListMultipartUploads is empty and"
  echo "that the spool holds nothing for the completed session. Extra bytes are what the client sent"
  echo "past the file's size through a counting TCP proxy: bytes in flight when the fault hit (in"
  echo "socket buffers and HTTP/2 windows, never acknowledged) plus gRPC framing."
  echo
  cat "$table"
  echo
  echo "Scenarios: the client killed with SIGKILL at a random moment, then \`uploader resume\`; the"
  echo "server killed with SIGKILL and restarted on the same data directory while the client"
  echo "reconnects by itself; a proxy that cuts the client's connection after a random 1-8 MiB, again"
  echo "and again; S3 unreachable for 10-20 s (a proxy between server and SeaweedFS refusing"
  echo "connections); one byte flipped in the client's stream (caught by the part's SHA-256, or by"
  echo "HTTP/2 framing); SIGTERM with a 1 s drain, then a restart; a spool limited to 12 MiB while S3"
  echo "is away, so the server answers RESOURCE_EXHAUSTED until parts can leave it."
} > docs/RELIABILITY.md
cat docs/RELIABILITY.md
exit $status
