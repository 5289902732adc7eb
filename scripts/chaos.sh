#!/usr/bin/env bash
# The full fault suite: every scenario of Tests/EndToEnd/chaos.py, 20 trials each by default,
# against a SeaweedFS started for the run; writes the table to docs/RELIABILITY.md.
#   scripts/chaos.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-20}
# The table describes a commit: refuse to write it from a tree that is not one.
if [ -n "$(git status --porcelain)" ]; then
  echo "chaos.sh: the working tree has uncommitted changes; commit them first, so docs/RELIABILITY.md names the code it measured" >&2
  exit 1
fi
commit=$(git rev-parse --short HEAD)
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
  echo "Written by \`scripts/chaos.sh $trials\` at commit $commit on $(date -u +%Y-%m-%d) ($(nproc) cores, debug"
  echo "build, SeaweedFS on loopback). Each trial uploads a 24 MiB random file with \`uploader upload\`,"
  echo "breaks something once the client has sent a random 2-16 MiB (counted by a TCP proxy, not"
  echo "guessed from a sleep), and checks with boto3 that the object is byte-identical, that"
  echo "ListMultipartUploads is empty and that the spool holds nothing for the completed session."
  echo "A trial counts only if it proves its fault hit a running upload: the upload was still running"
  echo "when the fault fired, and the fault was seen (the client's reconnect line, a journal holding"
  echo "the unfinished upload before the resume, S3 connections refused during the outage, the flipped"
  echo "byte noticed and resent, RESOURCE_EXHAUSTED); otherwise it is invalid, and fails the suite."
  echo "Extra bytes are what the client sent past the file's size through the proxy: bytes in flight"
  echo "when the fault hit (in socket buffers and HTTP/2 windows, never acknowledged) plus gRPC"
  echo "framing; not clamped, so a negative value would show a measurement fault."
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
